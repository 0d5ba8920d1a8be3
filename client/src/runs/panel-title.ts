/**
 * The tab titles of the run panels (pure; tested): what ran and when it started, so that two
 * evaluations of the same losses never share a title and no title is a raw run id:
 * "focal vs ce · Dec 6, 14:53:32", "Evolution (none) · Dec 6, 14:53:32".
 */

/** When a run started, from its id (`YYYYMMDD-HHMMSS-mmm-xxxx`, UTC; store/run-store.ts makeRunId). */
export function runStart(runId: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-(\d{3})-/.exec(runId);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number);
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  return Number.isNaN(t.getTime()) ? undefined : t;
}

/** "Dec 6, 14:53:32" in the local time zone (`timeZone` for tests). */
export function startText(d: Date, timeZone?: string): string {
  return d.toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', ...(timeZone ? { timeZone } : {}) });
}

/** The title of a run's panel: its label (else its kind) and its start (else nothing: never the id). */
export function runPanelTitle(kind: 'compare' | 'evolve', label: string, runId: string, timeZone?: string): string {
  const what = !label ? (kind === 'evolve' ? 'Evolution' : 'Evaluation') : kind === 'evolve' ? label.charAt(0).toUpperCase() + label.slice(1) : label;
  const start = runStart(runId);
  return start ? `${what} · ${startText(start, timeZone)}` : what;
}
