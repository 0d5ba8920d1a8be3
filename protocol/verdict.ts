/**
 * The verdict of a comparison with the baseline and the words for the trainings left out of it:
 * one rule and one wording for the engine (its CLI tables and summaries) and the panels.
 */

export type Verdict = 'better' | 'worse' | 'no-difference' | 'inconclusive';
export const VERDICTS: readonly Verdict[] = ['better', 'worse', 'no-difference', 'inconclusive'];
/** Significance level of the verdict, on Holm-adjusted p-values. */
export const VERDICT_ALPHA = 0.05;
/** Fewest seed pairs a comparison needs for a verdict (a paired t-test needs 2; 3 gives it a chance). */
export const VERDICT_MIN_PAIRS = 3;

/**
 * `inconclusive` with fewer than VERDICT_MIN_PAIRS pairs or no p-value (e.g. all differences
 * equal), else `better` / `worse` when the adjusted p is under alpha (by the sign of the mean
 * difference), else `no-difference` (none detected at this number of seeds: not a proof of
 * equality). `lowerIsBetter`: the metric improves downwards (FD), so a negative difference is `better`.
 */
export function verdictOf(n: number, meanDiff: number | null, pAdjusted: number | null, alpha = VERDICT_ALPHA, lowerIsBetter = false): Verdict {
  if (n < VERDICT_MIN_PAIRS || pAdjusted === null || meanDiff === null) return 'inconclusive';
  const gain = lowerIsBetter ? -meanDiff : meanDiff; // a metric where lower is better (a GAN's FD)
  if (pAdjusted < alpha) return gain > 0 ? 'better' : gain < 0 ? 'worse' : 'no-difference';
  return 'no-difference';
}

/** Trainings left out of a result: diverged (NaN), failed, stopped early. */
export interface ExcludedCounts {
  nan: number;
  failed: number;
  earlyStopped: number;
}

/** "2 of 5 seeds diverged, 1 failed" ('' when none); `total`: the result's trainings that ended (not cancelled). */
export function excludedText(e: ExcludedCounts | null | undefined, total: number): string {
  if (!e) return '';
  const parts = [...(e.nan ? [`${e.nan} diverged`] : []), ...(e.failed ? [`${e.failed} failed`] : []), ...(e.earlyStopped ? [`${e.earlyStopped} stopped early`] : [])];
  if (!parts.length) return '';
  return `${parts[0].replace(/^(\d+)/, `$1 of ${total} seeds`)}${parts.length > 1 ? `, ${parts.slice(1).join(', ')}` : ''}`;
}
