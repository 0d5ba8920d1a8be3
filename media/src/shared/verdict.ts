/**
 * The verdict of a comparison with the baseline and the trainings left out of it, as the panels
 * and the Runs view say them (pure; tested): the `verdict`, `pAdjusted` (PairedTestJson) and
 * `excluded` (CompareResultJson) of protocol/run-events.ts validated, and their words; the rule
 * and the words of exclusions are protocol/verdict.ts's, the engine's too. All three are absent in runs recorded before them: the parsers give null, the texts '—'.
 */
import type { CompareResultJson } from '../../../protocol/run-events';
import { VERDICT_ALPHA, VERDICT_MIN_PAIRS, VERDICTS, type Verdict } from '../../../protocol/verdict';
import { pp, pValue } from './format';
import { isFiniteNum, isInt, isObj } from './validate';

export type Excluded = NonNullable<CompareResultJson['excluded']>;
export { excludedText, VERDICT_ALPHA, VERDICT_MIN_PAIRS, VERDICTS, type Verdict } from '../../../protocol/verdict';

/** The verdict in words (the CLI writes the protocol's 'no-difference'). */
export const VERDICT_WORDS: Record<Verdict, string> = { better: 'better', worse: 'worse', 'no-difference': 'no difference', inconclusive: 'inconclusive' };

export function parseVerdict(x: unknown): Verdict | null {
  return VERDICTS.find((v) => v === x) ?? null;
}

export function parseExcluded(x: unknown): Excluded | null {
  if (!isObj(x) || !isInt(x.nan, 0, 1e6) || !isInt(x.failed, 0, 1e6) || !isInt(x.earlyStopped, 0, 1e6)) return null;
  return { nan: x.nan, failed: x.failed, earlyStopped: x.earlyStopped };
}

/** What a comparison with the baseline says (a result row's fields that the verdict texts read). */
export interface VerdictFacts {
  verdict: Verdict | null;
  n: number;
  meanDiff: number | null;
  pAdjusted: number | null;
  /** Cohen's d_z and its exact 95% interval (absent or null in runs recorded before it, and without spread). */
  dz?: number | null;
  dzCi95?: [number, number] | null;
}

/** A [lo, hi] pair of finite numbers from the wire, else null. */
export function parseInterval(x: unknown): [number, number] | null {
  return Array.isArray(x) && x.length === 2 && x.every(isFiniteNum) ? [x[0], x[1]] : null;
}

/** "1.99 [0.38, 3.55]": d_z with its interval, '—' without one. */
export function dzText(f: Pick<VerdictFacts, 'dz' | 'dzCi95'>): string {
  if (f.dz == null) return '—';
  return `${f.dz.toFixed(2)}${f.dzCi95 ? ` [${f.dzCi95[0].toFixed(2)}, ${f.dzCi95[1].toFixed(2)}]` : ''}`;
}

/** Why the verdict is what it is (the verdict cell's tooltip). */
export function verdictReason(f: VerdictFacts, baseline: string): string {
  const pa = `p (Holm) ${pValue(f.pAdjusted)}`;
  switch (f.verdict) {
    case 'better':
    case 'worse':
      // pValue writes '< 0.001' itself.
      return `${f.verdict} than ${baseline} (${pp(f.meanDiff)}): ${pa}${f.pAdjusted !== null && f.pAdjusted >= 0.001 ? ` < ${VERDICT_ALPHA}` : ''}`;
    case 'no-difference':
      return `no difference from ${baseline} detected: ${pa} ≥ ${VERDICT_ALPHA} (not a proof of equality)`;
    case 'inconclusive':
      return f.n < VERDICT_MIN_PAIRS ? `inconclusive: ${f.n} seed pair${f.n === 1 ? '' : 's'}, the verdict needs ${VERDICT_MIN_PAIRS}` : 'inconclusive: no test (the paired differences give no p-value)';
    default:
      return 'no verdict: this run was recorded before verdicts';
  }
}

/** "p_adj = 0.030", "p_adj < 0.001" (as the CLI writes them). */
const pIs = (name: string, p: number): string => `${name} ${p < 0.001 ? '< 0.001' : `= ${pValue(p)}`}`;

/** "better (+1.20 pp, p_adj = 0.010)", "inconclusive (2 seed pairs)" (the Runs view's tooltip). */
export function verdictPhrase(f: VerdictFacts): string {
  if (!f.verdict) return '—';
  if (f.verdict === 'inconclusive') return `inconclusive (${f.n} seed pair${f.n === 1 ? '' : 's'})`;
  return `${VERDICT_WORDS[f.verdict]} (${pp(f.meanDiff)}${f.pAdjusted === null ? '' : `, ${pIs('p_adj', f.pAdjusted)}`})`;
}

/** "1 better, 1 inconclusive": how many comparisons got each verdict, in VERDICTS order ('' for none). */
export function verdictCounts(verdicts: readonly (Verdict | null)[]): string {
  return VERDICTS.map((v) => [v, verdicts.filter((x) => x === v).length] as const)
    .filter(([, k]) => k > 0)
    .map(([v, k]) => `${k} ${VERDICT_WORDS[v]}`)
    .join(', ');
}

/** A finished run's verdicts for the Runs view. */
export interface VerdictSummary {
  /** "1 better, 1 inconclusive" (the description). */
  short: string;
  /** One line per comparison (the tooltip). */
  lines: string[];
}

/**
 * "worse than CE, -0.62 pp, p_adj = 0.030": a row of an evolution's final re-training, in the words
 * of the CLI (engine/src/commands/evolve-commands.ts finalVerdictText). `excluded`: seeds left out
 * because a training did not finish.
 */
export function finalVerdictPhrase(f: VerdictFacts, excluded: number): string {
  if (!f.verdict) return '—';
  const skipped = excluded ? ` (${excluded} seed${excluded === 1 ? '' : 's'} left out: a training did not finish)` : '';
  if (f.meanDiff === null) return `inconclusive: no seed where both finished${skipped}`;
  const words: Record<Verdict, string> = { better: 'better than CE', worse: 'worse than CE', 'no-difference': 'no difference from CE detected', inconclusive: 'inconclusive' };
  const dz = f.dz != null && f.dzCi95 ? `, d_z = ${dzText(f)}` : '';
  return `${words[f.verdict]}, ${pp(f.meanDiff)}${dz}${f.pAdjusted !== null ? `, ${pIs('p_adj', f.pAdjusted)}` : ''}${skipped}`;
}

/** The legend of a run recorded before Holm's adjustment and the verdicts. */
export const NO_VERDICTS_LEGEND = 'This run was recorded before Holm-adjusted p-values and verdicts: its p-values are not adjusted for multiple comparisons.';

/** The one-line legend of Holm's adjustment and the verdict rule, as under the CLI's table; `scope`: what Holm's adjustment runs over ('this run', 'the transfer ladder'). */
export function verdictLegend(comparisons: number, scope = 'this run'): string {
  return (
    `p (Holm): the paired t-test's p adjusted with Holm's method over all ${comparisons} comparison${comparisons === 1 ? '' : 's'} of ${scope}. ` +
    `Verdict: better/worse when p (Holm) < ${VERDICT_ALPHA}, no difference when none was detected, inconclusive under ${VERDICT_MIN_PAIRS} seed pairs. ` +
    'Only completed trainings count: diverged (NaN), failed and early-stopped ones are left out of the means and the pairs.'
  );
}
