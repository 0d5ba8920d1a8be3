/**
 * The checker's integrity check, run per loss on a pruned copy of the file.
 *
 * `checkText` with the integrity check evaluates, for every loss, every `let` of the file at
 * 1000 points, so its cost grows with (losses x lets): about 1.5 minutes for a 1000-line file.
 * The server instead runs `checkText` without it (fast) and, for each loss name, runs the
 * checker with it on a compact text holding only what that loss's integrity depends on: the
 * statements defining the names it uses (through its lets), every statement with its own name,
 * and `# lossmith:` suppression comments, with line adjacency kept (so suppressions apply as in
 * the whole file). The results are exactly the whole-file results (a test checks this) and are
 * cached by the compact text, so an edit re-checks only the losses it touches. The work runs in
 * slices that yield to the event loop and stops when the document changes.
 */
import {
  checkText,
  transitiveNames,
  type CheckResult,
  type Diagnostic as GDiagnostic,
  type IssueCode,
  type Statement,
  type LossStmt,
} from '../../grammar/src/index';

export const INTEGRITY_CODES: ReadonlySet<IssueCode> = new Set<IssueCode>(['non-finite', 'flat-loss', 'extremum-in-middle', 'oscillating-loss', 'loss-rises']);

interface CachedIssue {
  /** Which of the same-named losses (in order) it belongs to. */
  k: number;
  code: IssueCode;
  severity: GDiagnostic['severity'];
  message: string;
}

export interface IntegrityJob {
  name: string;
  key: string;
  losses: LossStmt[];
}

const SUPPRESSION = /lossmith:/i;

/** One job per distinct loss name: the compact text its integrity check runs on. */
export function integrityJobs(check: CheckResult, text: string): IntegrityJob[] {
  const model = check.model;
  const statements = model.program.statements;
  const byName = new Map<string, LossStmt[]>();
  for (const l of model.losses) {
    if (!l.name) continue;
    const arr = byName.get(l.name) ?? [];
    arr.push(l);
    byName.set(l.name, arr);
  }
  const suppressions = model.program.comments.filter((c) => SUPPRESSION.test(c.text));
  const jobs: IntegrityJob[] = [];
  for (const [name, losses] of byName) {
    const names = new Set<string>([name]);
    for (const l of losses) for (const n of transitiveNames(l.expr, model)) names.add(n);
    const items: { start: number; end: number }[] = [];
    for (const s of statements) if (s.name && names.has(s.name)) items.push(s.range);
    for (const c of suppressions) items.push(c.range);
    items.sort((a, b) => a.start - b.start);
    jobs.push({ name, key: compact(text, items), losses });
  }
  return jobs;
}

/** Join source slices, keeping whether neighbours share a line, sit on adjacent lines, or further apart. */
function compact(text: string, items: { start: number; end: number }[]): string {
  let out = '';
  let prevEnd = -1;
  for (const it of items) {
    if (it.start < prevEnd) continue; // a comment inside a kept statement is already in its slice
    if (prevEnd >= 0) {
      let nl = 0;
      for (let i = prevEnd; i < it.start && nl < 2; i++) if (text.charCodeAt(i) === 10) nl++;
      out += nl === 0 ? ' ' : nl === 1 ? '\n' : '\n\n';
    }
    out += text.slice(it.start, it.end);
    prevEnd = it.end;
  }
  return out;
}

/** Integrity issues of one job, computed by the checker on the compact text. */
function computeJob(job: IntegrityJob): CachedIssue[] {
  const res = checkText(job.key);
  const pruned = res.model.losses.filter((l) => l.name === job.name);
  const out: CachedIssue[] = [];
  for (const d of res.diagnostics) {
    if (!INTEGRITY_CODES.has(d.code)) continue;
    const k = pruned.findIndex((l) => l.nameRange.start === d.range.start && l.nameRange.end === d.range.end);
    if (k < 0) continue;
    out.push({ k, code: d.code, severity: d.severity, message: d.message });
  }
  return out;
}

function materialise(job: IntegrityJob, issues: CachedIssue[]): GDiagnostic[] {
  const out: GDiagnostic[] = [];
  for (const i of issues) {
    const l: Statement | undefined = job.losses[i.k];
    if (!l) continue;
    out.push({ code: i.code, severity: i.severity, message: i.message, range: { start: l.nameRange.start, end: l.nameRange.end } });
  }
  return out;
}

/** Merge integrity diagnostics into the fast ones in the checker's order (stable by range). */
export function mergeDiagnostics(fast: GDiagnostic[], integrity: GDiagnostic[]): GDiagnostic[] {
  if (integrity.length === 0) return fast;
  const all = [...fast, ...integrity];
  all.sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
  return all;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class IntegrityRunner {
  private readonly cache = new Map<string, CachedIssue[]>();
  /** Time slice before yielding to other messages, ms. */
  sliceMs = 15;
  maxEntries = 20000;
  /** Counters for tests and benchmarks. */
  computed = 0;
  reused = 0;

  /** Synchronously: every diagnostic of the file (used by tests and as an oracle). */
  runSync(check: CheckResult, text: string): GDiagnostic[] {
    const extra: GDiagnostic[] = [];
    for (const job of integrityJobs(check, text)) extra.push(...materialise(job, this.issues(job)));
    return mergeDiagnostics(check.diagnostics, extra);
  }

  /** Cached issues of a job, if known. */
  peek(job: IntegrityJob): CachedIssue[] | undefined {
    return this.cache.get(job.key);
  }

  private issues(job: IntegrityJob): CachedIssue[] {
    const hit = this.cache.get(job.key);
    if (hit) {
      this.reused++;
      // refresh recency
      this.cache.delete(job.key);
      this.cache.set(job.key, hit);
      return hit;
    }
    let issues: CachedIssue[];
    try {
      issues = computeJob(job);
    } catch {
      issues = [];
    }
    this.computed++;
    this.cache.set(job.key, issues);
    if (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return issues;
  }

  /**
   * Every diagnostic of the file, in slices; resolves to undefined when `current()` turns false
   * (the document changed) before the work is done.
   */
  async run(check: CheckResult, text: string, current: () => boolean): Promise<GDiagnostic[] | undefined> {
    let jobs: IntegrityJob[];
    try {
      jobs = integrityJobs(check, text);
    } catch {
      return check.diagnostics;
    }
    const extra: GDiagnostic[] = [];
    let sliceStart = Date.now();
    for (const job of jobs) {
      if (!this.cache.has(job.key) && Date.now() - sliceStart >= this.sliceMs) {
        await yieldToEventLoop();
        if (!current()) return undefined;
        sliceStart = Date.now();
      }
      extra.push(...materialise(job, this.issues(job)));
    }
    return mergeDiagnostics(check.diagnostics, extra);
  }
}

