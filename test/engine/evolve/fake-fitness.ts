/**
 * A fake surrogate for search tests: a deterministic fitness from the loss text (so a search
 * with it is reproducible), some failures, and a delay so that evaluations overlap and finish
 * out of order. Not a test file itself.
 */
import type { EvalJob, EvalOutcome, Evaluate } from '../../../engine/src/evolve/search';

export function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export function fakeEvaluate(opts: { maxDelayMs?: number; calls?: EvalJob[] } = {}): Evaluate {
  return async (job: EvalJob): Promise<EvalOutcome> => {
    opts.calls?.push(job);
    const h = hash(job.source + '|' + job.augment);
    const delay = (h >>> 3) % (opts.maxDelayMs ?? 20);
    await new Promise((r) => setTimeout(r, delay));
    if (job.source.includes('log_softmax')) return { status: 'completed', fitness: job.stage === 1 ? 0.8 : 0.9, wallMs: delay };
    if (h % 10 === 0) return { status: 'nan', fitness: null, wallMs: delay, reason: 'loss is NaN' };
    const base = 0.5 + ((h >>> 8) % 1000) / 2000; // 0.5 .. 1.0
    return { status: 'completed', fitness: job.stage === 1 ? base * 0.95 : base, wallMs: delay };
  };
}
