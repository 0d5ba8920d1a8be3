/**
 * What the Runs view says about a run (pure, no vscode; tested): the item's description, its
 * tooltip (Markdown) and its screen-reader label. A finished compare run says its verdicts in the
 * description ('done · 1 better, 1 inconclusive · …') and each comparison in the tooltip; an
 * evolution keeps its search's progress in the description and lists the verdicts of its final
 * re-training against CE in the tooltip.
 */
import type { VerdictSummary } from '../../../media/src/shared/verdict';

export interface RunItem {
  /** Run id, or the manager's key while queued. */
  id: string;
  kind: 'compare' | 'evolve';
  status: string;
  label: string;
  /** What it trained: 'lenet · none, cutout' (compare), the surrogate model (evolve); from config.json. */
  setup?: string;
  dir?: string;
  created: string;
  progress?: number;
  detail?: string;
  /** The engine and device in a few words ('torch cuda:0', 'wasm (CPU)') and in full. */
  backend?: string | null;
  compute?: string | null;
  /** A finished run's verdicts (see RunProgress). */
  verdicts?: VerdictSummary | null;
  error?: string;
}

export const escapeMd = (s: string): string => s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');

const kindName = (r: RunItem): string => (r.kind === 'evolve' ? 'Evolution' : 'Evaluation');

/**
 * A compare run's verdicts in a few words: one comparison as 'better +0.40 pp' ('no difference
 * -0.05 pp', 'inconclusive'), several as their counts ('1 better, 2 no difference').
 */
export function verdictOutcome(r: RunItem): string | undefined {
  if (r.kind !== 'compare' || !r.verdicts?.short) return undefined;
  const tested = r.verdicts.lines.filter((l) => !/^[^:]*\(baseline\):/.test(l));
  if (tested.length !== 1) return r.verdicts.short;
  // 'better (+0.40 pp, …)'; a GAN comparison's 'better (FD -67.9, …)', a segmentation one's 'better (Dice +2.10 pp, …)'.
  const m = /^.*?: ([a-z][a-z -]*?)(?: \(((?:Dice )?[-+]?\d+(?:\.\d+)? pp|FD [-+]?\d+(?:\.\d+)?)|\s*\(|;|$)/.exec(tested[0]);
  if (!m) return r.verdicts.short;
  return m[2] ? `${m[1]} ${m[2]}` : m[1];
}

/** The row's label: what ran (losses, model, augmentations) and, once known, its verdict: 'focal vs ce · lenet · none — better +0.40 pp'. */
export function runRowLabel(r: RunItem): string {
  const outcome = verdictOutcome(r);
  return `${r.label}${r.setup ? ` · ${r.setup}` : ''}${outcome ? ` — ${outcome}` : ''}`;
}

/** The item's description: status (or percentage while running), progress (the verdicts are in the label), engine, when it started (`when`, formatted by the caller). */
export function runDescription(r: RunItem, live: boolean, when: string): string {
  const outcome = verdictOutcome(r) ? undefined : r.detail;
  return [live && r.status === 'running' ? `${Math.round((r.progress ?? 0) * 100)}%` : r.status, outcome, r.backend, when].filter(Boolean).join(' · ');
}

/** The tooltip as Markdown (text from files escaped). */
export function runTooltip(r: RunItem): string {
  const out = [`**${kindName(r)}**: ${escapeMd(r.label)}`, '', `- status: ${r.status}`];
  if (r.setup) out.push(`- trained: ${escapeMd(r.setup)}`);
  const started = r.created ? new Date(r.created) : undefined;
  if (started && !Number.isNaN(started.getTime())) out.push(`- started: ${escapeMd(started.toLocaleString())}`);
  out.push(`- run: \`${r.id}\``);
  if (r.detail) out.push(`- ${escapeMd(r.detail)}`);
  if (r.verdicts?.lines.length) out.push(r.kind === 'evolve' ? '- final re-training against CE (Holm-adjusted):' : '- verdicts (Holm-adjusted):', ...r.verdicts.lines.map((l) => `  - ${escapeMd(l)}`));
  if (r.compute ?? r.backend) out.push(`- engine: ${escapeMd((r.compute ?? r.backend) as string)}`);
  if (r.error) out.push(`- error: ${escapeMd(r.error)}`);
  return out.join('\n') + '\n';
}

/** The label a screen reader reads. */
export function runAccessibleLabel(r: RunItem): string {
  return `${kindName(r)} ${r.label}${r.setup ? ` (${r.setup})` : ''}, ${r.status}${r.detail ? `, ${r.detail}` : ''}${r.verdicts?.lines.length ? `; ${r.verdicts.lines.join('; ')}` : ''}`;
}
