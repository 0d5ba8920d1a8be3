/**
 * Statistics for comparing losses across seeds: mean and sample standard deviation, and a
 * paired comparison (the same seeds, hence the same initialisations and data orders, for both
 * losses) by a two-sided paired t-test with a t-based 95% confidence interval, plus an exact
 * Wilcoxon signed-rank test as a distribution-free second opinion.
 *
 * The Student t distribution is computed here from the regularised incomplete beta function
 * (continued fraction, modified Lentz, to ~1e-15 relative; Lanczos log-gamma), not with jstat:
 * jstat's incomplete beta stops at a relative change of 3e-7, which puts its p-values off by
 * about 5e-8 relative (df 9, t 2: 0.07655282002 vs the exact 0.07655282377). Tests compare
 * against SciPy 1.17 to 1e-10.
 */

// ---------------------------------------------------------------- special functions

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Gamma(x) for x > 0 (Lanczos, g = 7, n = 9; reflection below 0.5). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new Error(`logGamma: x must be > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (Numerical Recipes' betacf, tight tolerance). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) return h;
  }
  throw new Error(`incomplete beta: continued fraction did not converge (a=${a}, b=${b}, x=${x})`);
}

/**
 * Regularised incomplete beta I_x(a, b). `y` = 1 - x may be passed separately to avoid
 * cancellation when x is close to 1.
 */
export function incompleteBeta(x: number, a: number, b: number, y = 1 - x): number {
  if (!(a > 0 && b > 0)) throw new Error(`incompleteBeta: a and b must be > 0, got ${a}, ${b}`);
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(y);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, y)) / b;
}

/** Two-sided tail probability P(|T| >= |t|) of Student's t with df degrees of freedom. */
export function studentTTwoSided(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`studentT: df must be > 0, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  const t2 = t * t;
  // P(|T| >= t) = I_{df/(df+t^2)}(df/2, 1/2)
  return incompleteBeta(df / (df + t2), df / 2, 0.5, t2 / (df + t2));
}

/** Cumulative distribution P(T <= t) of Student's t. */
export function studentTCdf(t: number, df: number): number {
  const tail = studentTTwoSided(t, df) / 2;
  return t < 0 ? tail : 1 - tail;
}

/** Quantile of Student's t: the t with P(T <= t) = p, 0 < p < 1 (bisection to machine precision). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  // Find t > 0 with two-sided tail 2(1-p), using the tail directly for precision.
  const target = 2 * (1 - p);
  let lo = 0;
  let hi = 1;
  while (studentTTwoSided(hi, df) > target) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid === lo || mid === hi) break;
    if (studentTTwoSided(mid, df) > target) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
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

/** P(Z >= z) for a standard normal. */
function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * Complementary error function: 1 - (Maclaurin series of erf) for x < 2, Laplace's continued
 * fraction (modified Lentz) for x >= 2; about 1e-13 relative or better.
 */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf series: 2/sqrt(pi) * sum (-1)^k x^(2k+1) / (k! (2k+1))
    let term = x;
    let sum = x;
    for (let k = 1; k < 200; k++) {
      term *= (-x * x) / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction: erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  const TINY = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 10000; k++) {
    const a = k / 2;
    d = x + a * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = x + a / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = c * d;
    f *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
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
      ...base, df: null, stdDiff: null, se: null, t: null, pValue: null, ci95: null,
      note: 'only one pair (n = 1): no variance estimate, so no t-test and no confidence interval',
    };
  }
  const df = n - 1;
  const allEqual = d.every((v) => Math.abs(v - d[0]) <= tol);
  if (allEqual) {
    const mean = ms.mean;
    if (Math.abs(mean) <= tol) {
      return {
        ...base, meanDiff: 0, df, stdDiff: 0, se: 0, t: 0, pValue: 1, ci95: [0, 0],
        note: 'all differences are zero: the two are identical on every seed',
      };
    }
    return {
      ...base, df, stdDiff: 0, se: 0, t: mean > 0 ? Infinity : -Infinity, pValue: 0, ci95: [mean, mean],
      note:
        `all ${n} differences are identical (${mean}): zero variance makes the t-test degenerate (t infinite, p = 0 in the limit); ` +
        `identical gaps usually mean the seeds do not vary the runs, so quote the Wilcoxon p-value (${wilcoxon.pValue}) instead`,
    };
  }
  const std = ms.std!;
  const se = std / Math.sqrt(n);
  const t = ms.mean / se;
  const q = studentTQuantile(0.975, df);
  return {
    ...base, df, stdDiff: std, se, t, pValue: studentTTwoSided(t, df), ci95: [ms.mean - q * se, ms.mean + q * se],
    note: null,
  };
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
