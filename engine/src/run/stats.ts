/**
 * Statistics for comparing losses across seeds: mean and sample standard deviation, and a
 * paired comparison (the same seeds, hence the same initialisations and data orders, for both
 * losses) by a two-sided paired t-test with a t-based 95% confidence interval, a standardized
 * effect size (Cohen's d_z) with its exact 95% interval, an exact Wilcoxon signed-rank test as a
 * distribution-free second opinion, and Holm's adjustment over a run's comparisons.
 *
 * Distributions come from jstat: the Student t (p-values and quantiles, ~1e-8 relative of
 * SciPy), the normal and the chi-square. jstat's own non-central t underflows once the
 * non-centrality passes about 25 (its series starts at exp(-delta^2 / 2)); the d_z interval
 * needs it far beyond that (a consistent gain over 5 seeds has t of 30 or more), so its
 * distribution function is the one-dimensional integral over the chi distribution of jstat's
 * normal distribution function (`noncentralTCdf`).
 */
import { jStat } from 'jstat';
import type { FinalComparison } from '../../../protocol/evolve-events';

// ---------------------------------------------------------------- distributions (jstat)

/** Two-sided tail probability P(|T| >= |t|) of Student's t with df degrees of freedom. */
export function studentTTwoSided(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`studentT: df must be > 0, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  if (t === 0) return 1;
  // The lower tail at -|t|: no cancellation against 1 for small p-values.
  return Math.min(1, 2 * jStat.studentt.cdf(-Math.abs(t), df));
}

/** Quantile of Student's t: the t with P(T <= t) = p, 0 < p < 1. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  return jStat.studentt.inv(p, df);
}

/** P(Z >= z) for a standard normal. */
function normalUpperTail(z: number): number {
  return jStat.normal.cdf(-z, 0, 1);
}

/**
 * Distribution function P(T <= x) of the non-central t with df degrees of freedom and
 * non-centrality delta: T = (Z + delta) / sqrt(V / df) with V chi-square(df), so
 * P(T <= x) = E_W[Phi(x W / sqrt(df) - delta)] over the chi distribution of W = sqrt(V)
 * (density 2w f_chi2(w^2), finite at 0 for every df >= 1). Composite Simpson over
 * w in [0, sqrt(df) + 12], where the chi density has all but ~1e-30 of its mass; about 1e-10
 * absolute (tests: SciPy's nct.cdf).
 */
export function noncentralTCdf(x: number, df: number, delta: number): number {
  if (!(df > 0)) throw new Error(`noncentralT: df must be > 0, got ${df}`);
  const { w, weight } = chiQuadrature(df);
  let s = 0;
  const scale = x / Math.sqrt(df);
  for (let i = 0; i < w.length; i++) if (weight[i] !== 0) s += weight[i] * jStat.normal.cdf(scale * w[i] - delta, 0, 1);
  return Math.min(1, Math.max(0, s));
}

const QUADRATURE_POINTS = 1200;
const chiRules = new Map<number, { w: Float64Array; weight: Float64Array }>();

/** Simpson nodes on [0, sqrt(df) + 12] and their weights times the chi density (cached per df). */
function chiQuadrature(df: number): { w: Float64Array; weight: Float64Array } {
  let rule = chiRules.get(df);
  if (rule) return rule;
  const n = QUADRATURE_POINTS;
  const h = (Math.sqrt(df) + 12) / n;
  const w = new Float64Array(n + 1);
  const weight = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) {
    w[i] = i * h;
    const dens = i === 0 ? (df === 1 ? Math.sqrt(2 / Math.PI) : 0) : 2 * w[i] * jStat.chisquare.pdf(w[i] * w[i], df);
    weight[i] = ((i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * h * dens) / 3;
  }
  rule = { w, weight };
  if (chiRules.size > 64) chiRules.clear();
  chiRules.set(df, rule);
  return rule;
}

/**
 * Exact confidence interval of the non-centrality of a t statistic observed at t with df degrees
 * of freedom (Steiger and Fouladi's inversion): the deltas at which t is the (1 + level) / 2 and
 * (1 - level) / 2 quantile. P(T <= t; delta) decreases in delta, so each end is a bisection.
 */
export function noncentralityInterval(t: number, df: number, level = 0.95): [number, number] {
  const solve = (target: number): number => {
    // Bracket: P(T <= t; delta) - target changes sign between lo and hi.
    let lo = t - 10;
    let hi = t + 10;
    while (noncentralTCdf(t, df, lo) < target) lo -= 2 * (hi - lo);
    while (noncentralTCdf(t, df, hi) > target) hi += 2 * (hi - lo);
    for (let i = 0; i < 60 && hi - lo > 1e-8 * Math.max(1, Math.abs(lo)); i++) {
      const mid = 0.5 * (lo + hi);
      if (noncentralTCdf(t, df, mid) > target) lo = mid;
      else hi = mid;
    }
    return 0.5 * (lo + hi);
  };
  return [solve((1 + level) / 2), solve((1 - level) / 2)];
}

// ---------------------------------------------------------------- descriptive statistics

export interface MeanStd {
  n: number;
  mean: number;
  /** Sample standard deviation (divisor n - 1); null when n < 2. */
  std: number | null;
}

function checkFinite(xs: readonly number[], what: string): void {
  xs.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what}[${i}] is not a finite number: ${v}`);
  });
}

/** Mean and sample standard deviation (n - 1). Throws on an empty or non-finite input. */
export function meanStd(xs: readonly number[]): MeanStd {
  if (xs.length === 0) throw new Error('meanStd: no values');
  checkFinite(xs, 'meanStd: value');
  const n = xs.length;
  const mean = xs.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { n, mean, std: null };
  // Two-pass with correction term for accuracy.
  let ss = 0;
  let comp = 0;
  for (const v of xs) {
    ss += (v - mean) ** 2;
    comp += v - mean;
  }
  const variance = (ss - (comp * comp) / n) / (n - 1);
  return { n, mean, std: Math.sqrt(Math.max(0, variance)) };
}

// ---------------------------------------------------------------- Wilcoxon signed-rank

export interface WilcoxonResult {
  test: 'Wilcoxon signed-rank';
  /** 'exact' (permutation distribution of the signs, given the ranks, ties included) or 'normal' (n > 200). */
  method: 'exact' | 'normal';
  /** Number of non-zero differences used. */
  n: number;
  /** Differences equal to zero (dropped, Wilcoxon's convention and SciPy's default). */
  zeros: number;
  /** Whether some |differences| were tied (mid-ranks were used). */
  ties: boolean;
  /** Sum of the ranks of the positive differences. */
  wPlus: number;
  wMinus: number;
  /** min(W+, W-), the usual reported statistic. */
  statistic: number;
  /** Two-sided p-value; 1 when there are no non-zero differences. */
  pValue: number;
}

/**
 * Wilcoxon signed-rank test on paired differences. Zero differences are dropped; tied absolute
 * values get mid-ranks. For n <= 200 the p-value is exact: the null distribution of W+ is the
 * distribution over the 2^n equally likely sign patterns of the actual (mid-)ranks, so it stays
 * exact with ties (without ties it equals the classical tables and SciPy's method='exact').
 * Two-sided p = min(1, 2 min(P(W+ <= w), P(W+ >= w))). `scale` sets the tolerance (1e-12 * scale)
 * under which differences count as zero or as tied (floating-point noise in accuracies).
 */
export function wilcoxonSignedRank(diffs: readonly number[], scale?: number): WilcoxonResult {
  checkFinite(diffs, 'wilcoxon: difference');
  const tol = 1e-12 * (scale ?? Math.max(1e-300, ...diffs.map(Math.abs)));
  const nz = diffs.filter((d) => Math.abs(d) > tol);
  const zeros = diffs.length - nz.length;
  const n = nz.length;
  if (n === 0) {
    return { test: 'Wilcoxon signed-rank', method: 'exact', n: 0, zeros, ties: false, wPlus: 0, wMinus: 0, statistic: 0, pValue: 1 };
  }
  const order = nz.map((d, i) => ({ a: Math.abs(d), pos: d > 0, i })).sort((u, v) => u.a - v.a);
  // Doubled mid-ranks (integers): a tie group occupying ranks r+1..r+k gets 2r + k + 1 each.
  const rank2 = new Array<number>(n);
  let ties = false;
  for (let s = 0; s < n; ) {
    let e = s + 1;
    while (e < n && order[e].a - order[s].a <= tol) e++;
    if (e - s > 1) ties = true;
    for (let k = s; k < e; k++) rank2[k] = s + e + 1;
    s = e;
  }
  let w2 = 0;
  for (let k = 0; k < n; k++) if (order[k].pos) w2 += rank2[k];
  const total2 = n * (n + 1);
  const wPlus = w2 / 2;
  const wMinus = (total2 - w2) / 2;
  let pValue: number;
  let method: 'exact' | 'normal';
  if (n <= 200) {
    method = 'exact';
    // dist[s] = P(2 W+ = s) under random signs.
    let dist = new Float64Array(total2 + 1);
    dist[0] = 1;
    let reach = 0;
    for (let k = 0; k < n; k++) {
      const r = rank2[k];
      const next = new Float64Array(total2 + 1);
      for (let s = 0; s <= reach; s++) {
        if (dist[s] === 0) continue;
        next[s] += 0.5 * dist[s];
        next[s + r] += 0.5 * dist[s];
      }
      reach += r;
      dist = next;
    }
    let lower = 0;
    let upper = 0;
    for (let s = 0; s <= total2; s++) {
      if (s <= w2) lower += dist[s];
      if (s >= w2) upper += dist[s];
    }
    pValue = Math.min(1, 2 * Math.min(lower, upper));
  } else {
    method = 'normal';
    const mean = n * (n + 1) / 4;
    // Variance with the tie correction: sum of squared ranks / 4.
    let sumSq = 0;
    for (const r of rank2) sumSq += (r / 2) ** 2;
    const sd = Math.sqrt(sumSq / 4);
    const z = (Math.abs(wPlus - mean) - 0.5) / sd; // continuity correction
    pValue = Math.min(1, z <= 0 ? 1 : 2 * normalUpperTail(z));
  }
  return { test: 'Wilcoxon signed-rank', method, n, zeros, ties, wPlus, wMinus, statistic: Math.min(wPlus, wMinus), pValue };
}

// ---------------------------------------------------------------- paired comparison

export interface PairedComparison {
  test: 'paired t-test';
  /** Number of pairs (seeds). */
  n: number;
  /** n - 1, or null when n = 1. */
  df: number | null;
  /** mean(a - b): positive means a is larger. */
  meanDiff: number;
  /** Sample standard deviation of the differences, or null when n = 1. */
  stdDiff: number | null;
  /** Standard error of the mean difference, or null when n = 1. */
  se: number | null;
  /** t statistic; +-Infinity when the differences are all equal and non-zero, 0 when all zero. */
  t: number | null;
  /** Two-sided p-value of H0: mean difference 0; null when n = 1. */
  pValue: number | null;
  /** t-based 95% confidence interval of the mean difference; null when n = 1. */
  ci95: [number, number] | null;
  /**
   * Standardized effect size, Cohen's d_z = meanDiff / stdDiff (the mean difference in units of
   * its seed-to-seed spread); null when n = 1 or the differences do not vary.
   */
  dz: number | null;
  /** Exact 95% interval of d_z (non-central t inverted, divided by sqrt(n)); null with dz. */
  dzCi95: [number, number] | null;
  /** Exact Wilcoxon signed-rank test on the same differences (secondary, distribution-free). */
  wilcoxon: WilcoxonResult;
  a: MeanStd;
  b: MeanStd;
  /** Caveat in words when the t-test is degenerate or unavailable, else null. */
  note: string | null;
}

/**
 * Paired comparison of two metrics measured on the same seeds (a[i] and b[i] from seed i).
 *
 * - n = 1: no variance estimate, so no test and no interval (pValue, ci95, t, df, stdDiff null).
 * - All differences equal (within 1e-12 of the data's magnitude):
 *   - all zero: t = 0, p = 1, ci95 = [0, 0];
 *   - equal and non-zero: the sample variance is 0, t is infinite and the t-test's p-value is 0
 *     (its limit), with ci95 = [d, d]. Identical gaps on every seed usually mean the seeds do not
 *     vary what they should (or a coarse metric), so `note` says so and the Wilcoxon p-value
 *     (2 / 2^n at best) is the one to quote.
 */
export function pairedComparison(a: readonly number[], b: readonly number[]): PairedComparison {
  if (a.length !== b.length) throw new Error(`pairedComparison: ${a.length} values vs ${b.length}: pairs must match`);
  if (a.length === 0) throw new Error('pairedComparison: no pairs');
  checkFinite(a, 'pairedComparison: a');
  checkFinite(b, 'pairedComparison: b');
  const n = a.length;
  const d = a.map((v, i) => v - b[i]);
  const scale = Math.max(1e-300, ...a.map(Math.abs), ...b.map(Math.abs));
  const tol = 1e-12 * scale;
  const ms = meanStd(d);
  const wilcoxon = wilcoxonSignedRank(d, scale);
  const base = { test: 'paired t-test' as const, n, meanDiff: ms.mean, wilcoxon, a: meanStd(a), b: meanStd(b) };
  if (n === 1) {
    return {
      ...base, df: null, stdDiff: null, se: null, t: null, pValue: null, ci95: null, dz: null, dzCi95: null,
      note: 'only one pair (n = 1): no variance estimate, so no t-test and no confidence interval',
    };
  }
  const df = n - 1;
  const allEqual = d.every((v) => Math.abs(v - d[0]) <= tol);
  if (allEqual) {
    const mean = ms.mean;
    if (Math.abs(mean) <= tol) {
      return {
        ...base, meanDiff: 0, df, stdDiff: 0, se: 0, t: 0, pValue: 1, ci95: [0, 0], dz: null, dzCi95: null,
        note: 'all differences are zero: the two are identical on every seed',
      };
    }
    return {
      ...base, df, stdDiff: 0, se: 0, t: mean > 0 ? Infinity : -Infinity, pValue: 0, ci95: [mean, mean], dz: null, dzCi95: null,
      note:
        `all ${n} differences are identical (${mean}): zero variance makes the t-test degenerate (t infinite, p = 0 in the limit); ` +
        `identical gaps usually mean the seeds do not vary the runs, so quote the Wilcoxon p-value (${wilcoxon.pValue}) instead`,
    };
  }
  const std = ms.std!;
  const se = std / Math.sqrt(n);
  const t = ms.mean / se;
  const q = studentTQuantile(0.975, df);
  const rootN = Math.sqrt(n);
  const [lo, hi] = noncentralityInterval(t, df);
  return {
    ...base, df, stdDiff: std, se, t, pValue: studentTTwoSided(t, df), ci95: [ms.mean - q * se, ms.mean + q * se],
    dz: ms.mean / std, dzCi95: [lo / rootN, hi / rootN],
    note: null,
  };
}

/** The fields of a comparison that an evolve summary keeps (final re-training, transfer ladder). */
export function comparisonJson(c: PairedComparison): FinalComparison {
  return { meanDiff: c.meanDiff, pValue: c.pValue, ci95: c.ci95, dz: c.dz, dzCi95: c.dzCi95, n: c.n };
}

/**
 * Holm's step-down adjustment (Holm 1979) of a family of p-values, controlling the family-wise
 * error rate: sorted ascending, p_(i) becomes max over j <= i of min(1, (m - j + 1) p_(j)).
 * Nulls (comparisons without a test) are not part of the family and stay null; the order of
 * the input is kept.
 */
export function holmAdjust(ps: readonly (number | null)[]): (number | null)[] {
  const idx = ps.map((p, i) => [p, i] as const).filter((x): x is readonly [number, number] => x[0] !== null && Number.isFinite(x[0]));
  idx.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const m = idx.length;
  const out: (number | null)[] = ps.map(() => null);
  let running = 0;
  idx.forEach(([p, i], j) => {
    running = Math.max(running, Math.min(1, (m - j) * p));
    out[i] = running;
  });
  return out;
}

export { verdictOf, type Verdict } from '../../../protocol/verdict';
