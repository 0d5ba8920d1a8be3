import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  holmAdjust,
  meanStd,
  noncentralTCdf,
  pairedComparison,
  studentTQuantile,
  studentTTwoSided,
  verdictOf,
  wilcoxonSignedRank,
} from '../../engine/src/run/stats';

/*
 * Reference values: SciPy 1.17.1 (scipy.stats.ttest_rel with .confidence_interval(0.95),
 * scipy.stats.t.ppf / t.sf, scipy.stats.wilcoxon, scipy.special.erfc), computed independently
 * in Python, plus two published textbook examples. The t distribution is jstat's: its p-values and
 * quantiles agree with SciPy to about 3e-8 relative (5e-8 asserted), far below any reported digit.
 *  - Student's sleep data (Cushny & Peebles; R's `sleep`): paired t = -4.0621, df = 9,
 *    p = 0.002833, 95% CI (-2.4598858, -0.7001142)  [R: t.test(extra ~ group, paired = TRUE)];
 *  - Darwin's Zea mays differences (Fisher 1935), SciPy's wilcoxon docs: W = 24, exact p = 0.041259765625.
 */

function close(actual: number | null | undefined, expected: number, rel = 1e-10, what = ''): void {
  assert.ok(actual !== null && actual !== undefined, `${what}: got ${actual}`);
  const err = Math.abs(actual - expected);
  assert.ok(err <= rel * Math.max(Math.abs(expected), 1e-300), `${what}: ${actual} vs ${expected} (rel err ${err / Math.abs(expected)})`);
}

test('Student t: quantiles and tails against SciPy', () => {
  // [df, t.ppf(0.975, df), 2 t.sf(2.5, df), 2 t.sf(50, df)]
  const ref: [number, number, number, number][] = [
    [1, 12.706204736174694, 0.24223788318168682, 0.012730698201945594],
    [2, 4.302652729749462, 0.12961172022151082, 0.00039976015988808057],
    [3, 3.1824463052837078, 0.08770664700806556, 1.761715204127197e-5],
    [5, 2.5705818356363146, 0.05449009934237626, 6.047757626601225e-8],
    [9, 2.262157162798205, 0.033861827682985735, 2.5689529108747976e-12],
    [19, 2.0930240544083087, 0.02174041116839744, 1.2440279578064896e-21],
    [29, 2.045229642132703, 0.018325344338426086, 1.0748623985572444e-29],
    [100, 1.9839715185235518, 0.014045789124077172, 1.4472163679761465e-72],
    [1000, 1.9623390808264083, 0.012578567801090807, 2.758672412325172e-274],
  ];
  for (const [df, q, p25, p50] of ref) {
    close(studentTQuantile(0.975, df), q, 5e-8, `t.ppf(0.975, ${df})`);
    close(studentTTwoSided(2.5, df), p25, 5e-8, `tail(2.5, ${df})`);
    close(studentTTwoSided(-2.5, df), p25, 5e-8, `tail(-2.5, ${df})`);
    close(studentTTwoSided(50, df), p50, 5e-8, `tail(50, ${df})`);
  }
  close(studentTTwoSided(1e-3, 4), 0.99925000015625, 5e-8, 'tail(1e-3, 4)');
  close(studentTTwoSided(0.3, 7), 0.7728900504021342, 5e-8, 'tail(0.3, 7)');
  close(studentTQuantile(0.995, 3), 5.840909309733355, 5e-8, 't.ppf(0.995, 3)');
  close(studentTQuantile(0.025, 6), -2.4469118511449794, 5e-8, 't.ppf(0.025, 6)');
  assert.equal(studentTQuantile(0.5, 4), 0);
  assert.equal(studentTTwoSided(Infinity, 3), 0);
  assert.equal(studentTTwoSided(0, 3), 1);
});

test('meanStd: sample standard deviation (n - 1)', () => {
  assert.deepEqual(meanStd([2, 4, 4, 4, 5, 5, 7, 9]), { n: 8, mean: 5, std: Math.sqrt(32 / 7) });
  assert.deepEqual(meanStd([3]), { n: 1, mean: 3, std: null });
  assert.deepEqual(meanStd([0.1, 0.1, 0.1]).std, 0);
  // Large offset: the two-pass formula keeps precision.
  close(meanStd([1e9 + 1, 1e9 + 2, 1e9 + 3]).std!, 1, 1e-12, 'offset std');
  assert.throws(() => meanStd([]), /no values/);
  assert.throws(() => meanStd([1, NaN]), /not a finite number/);
});

test("paired t-test: Student's sleep data (published values)", () => {
  const drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
  const drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
  const r = pairedComparison(drug1, drug2);
  assert.equal(r.test, 'paired t-test');
  assert.equal(r.n, 10);
  assert.equal(r.df, 9);
  close(r.meanDiff, -1.58, 1e-12, 'mean');
  // Published (R) values to the printed digits, and SciPy's to 1e-10.
  close(r.t!, -4.0621, 1e-5, 't (R)');
  close(r.pValue!, 0.002833, 1e-4, 'p (R)');
  close(r.ci95![0], -2.4598858, 1e-7, 'ci lo (R)');
  close(r.ci95![1], -0.7001142, 1e-7, 'ci hi (R)');
  close(r.t!, -4.062127683382037, 1e-10, 't');
  close(r.pValue!, 0.002832890197384273, 5e-8, 'p');
  close(r.ci95![0], -2.459885763276983, 5e-8, 'ci lo');
  close(r.ci95![1], -0.7001142367230175, 5e-8, 'ci hi');
  assert.equal(r.note, null);
  // Wilcoxon: one zero difference dropped, the 9 others all negative (with ties): exact p = 2 / 2^9.
  assert.equal(r.wilcoxon.zeros, 1);
  assert.equal(r.wilcoxon.n, 9);
  assert.equal(r.wilcoxon.ties, true);
  assert.equal(r.wilcoxon.wPlus, 0);
  assert.equal(r.wilcoxon.pValue, 2 / 512);
});

test('paired t-test against scipy.stats.ttest_rel', () => {
  // Five seeds, accuracies of loss A and cross-entropy.
  let r = pairedComparison([0.912, 0.905, 0.921, 0.909, 0.915], [0.903, 0.899, 0.915, 0.907, 0.904]);
  close(r.meanDiff, 0.006800000000000006, 1e-12, 'mean');
  close(r.stdDiff!, 0.003420526275297417, 1e-10, 'sd');
  close(r.t!, 4.445299063132171, 1e-10, 't');
  close(r.pValue!, 0.011287627197703223, 5e-8, 'p');
  close(r.ci95![0], 0.002552855669053186, 5e-8, 'ci lo');
  close(r.ci95![1], 0.011047144330946826, 5e-8, 'ci hi');
  close(r.wilcoxon.pValue, 0.0625, 1e-15, 'wilcoxon p'); // scipy.stats.wilcoxon(..., method='exact')
  assert.equal(r.wilcoxon.statistic, 0);
  close(r.a.mean, 0.9124, 1e-12, 'mean a');
  close(r.b.std!, meanStd([0.903, 0.899, 0.915, 0.907, 0.904]).std!, 1e-15, 'std b');

  // Two seeds.
  r = pairedComparison([1, 2], [0, 0.5]);
  assert.equal(r.df, 1);
  close(r.t!, 5, 1e-12, 't');
  close(r.pValue!, 0.1256659163780024, 5e-8, 'p');
  close(r.ci95![0], -1.9265511840436735, 5e-8, 'ci lo');
  close(r.ci95![1], 4.4265511840436735, 5e-8, 'ci hi');
  close(r.wilcoxon.pValue, 0.5, 1e-15, 'wilcoxon p');

  // Thirty seeds (numpy default_rng(7), rounded to 4 decimals).
  const a = [0.8, 0.806, 0.7945, 0.7822, 0.7909, 0.7802, 0.8012, 0.8268, 0.7902, 0.7876, 0.8098, 0.8071, 0.8021, 0.7814, 0.7994,
    0.8139, 0.7731, 0.7908, 0.762, 0.7742, 0.7632, 0.7953, 0.7747, 0.8054, 0.8031, 0.7963, 0.7497, 0.7892, 0.799, 0.8023];
  const b = [0.8123, 0.8078, 0.8013, 0.7873, 0.7773, 0.7853, 0.7985, 0.815, 0.793, 0.7857, 0.8057, 0.8035, 0.8114, 0.7776, 0.7828,
    0.8264, 0.7615, 0.7866, 0.7654, 0.7512, 0.7526, 0.8043, 0.771, 0.7966, 0.802, 0.7865, 0.7474, 0.7795, 0.7816, 0.8061];
  r = pairedComparison(a, b);
  assert.equal(r.df, 29);
  close(r.meanDiff, 0.0029466666666666825, 1e-9, 'mean');
  close(r.stdDiff!, 0.009075990810671994, 1e-9, 'sd');
  close(r.t!, 1.7782695426312352, 1e-9, 't');
  close(r.pValue!, 0.08584706962666715, 5e-8, 'p');
  close(r.ci95![0], -0.0004423639991983624, 1e-6, 'ci lo (near 0: the error is relative to the interval width)');
  close(r.ci95![1], 0.006335697332531727, 5e-8, 'ci hi');
});

test('non-central t and the effect size d_z with its exact interval, against SciPy', () => {
  // scipy.stats.nct.cdf(x, df, nc); jstat's own non-central t is wrong past nc ~ 25 (3e-27 for the second).
  const ref: [number, number, number, number][] = [
    [2.5, 4, 1.0, 0.8481123997552868], [30, 4, 28, 0.4805727261699736], [40, 29, 38, 0.6145202900171728],
    [-20, 4, -18, 0.4811333932988808], [-3, 1, -1, 0.2698974013894366], [8, 9, 12, 0.02713216547173664],
  ];
  for (const [x, df, nc, p] of ref) assert.ok(Math.abs(noncentralTCdf(x, df, nc) - p) < 1e-8, `nct.cdf(${x}, ${df}, ${nc})`);
  // d_z = mean / sd of the differences; interval: brentq on nct.cdf(t, n-1, delta) = 0.975 / 0.025, over sqrt(n).
  let r = pairedComparison([0.912, 0.905, 0.921, 0.909, 0.915], [0.903, 0.899, 0.915, 0.907, 0.904]);
  close(r.dz!, 1.9879981770959327, 1e-12, 'dz');
  close(r.dzCi95![0], 0.3755999317293367, 1e-6, 'dz lo');
  close(r.dzCi95![1], 3.5486816311763802, 1e-6, 'dz hi');
  r = pairedComparison([1, 2], [0, 0.5]);
  close(r.dzCi95![0], -0.45228518252537725, 1e-6, 'dz lo (n = 2)');
  close(r.dzCi95![1], 8.081492463344478, 1e-6, 'dz hi (n = 2)');
  // A consistent gain: t = 184, far past where jstat's non-central t works.
  r = pairedComparison([0.0131, 0.0129, 0.013, 0.0132, 0.0128], [0, 0, 0, 0, 0]);
  close(r.dz!, 82.21921916437793, 1e-9, 'dz (large)');
  close(r.dzCi95![0], 28.60357243901391, 1e-4, 'dz lo (large)');
  close(r.dzCi95![1], 137.23623169410376, 1e-4, 'dz hi (large)');
  // No spread, or one pair: no standardized effect.
  assert.equal(pairedComparison([0.9], [0.8]).dz, null);
  assert.equal(pairedComparison([0.9, 0.8], [0.8, 0.7]).dzCi95, null);
});

test('paired comparison edge cases: n = 1, identical differences, all zero, bad input', () => {
  let r = pairedComparison([0.9], [0.8]);
  assert.equal(r.n, 1);
  close(r.meanDiff, 0.1, 1e-12, 'mean');
  assert.equal(r.pValue, null);
  assert.equal(r.ci95, null);
  assert.equal(r.t, null);
  assert.equal(r.df, null);
  assert.equal(r.stdDiff, null);
  assert.match(r.note!, /n = 1.*no t-test/);
  assert.equal(r.wilcoxon.pValue, 1);

  // All differences equal and non-zero (up to floating-point noise: 0.9-0.8 vs 0.7-0.6).
  r = pairedComparison([0.9, 0.7, 0.5, 0.3], [0.8, 0.6, 0.4, 0.2]);
  assert.equal(r.stdDiff, 0);
  assert.equal(r.t, Infinity);
  assert.equal(r.pValue, 0);
  assert.deepEqual(r.ci95, [r.meanDiff, r.meanDiff]);
  assert.match(r.note!, /identical.*degenerate.*Wilcoxon p-value \(0\.125\)/);
  assert.equal(r.wilcoxon.pValue, 2 / 16);
  assert.equal(pairedComparison([1, 2], [2, 3]).t, -Infinity);

  // All zero.
  r = pairedComparison([0.3, 0.5, 0.1 + 0.2], [0.3, 0.5, 0.3]);
  assert.equal(r.t, 0);
  assert.equal(r.pValue, 1);
  assert.deepEqual(r.ci95, [0, 0]);
  assert.equal(r.wilcoxon.pValue, 1);
  assert.equal(r.wilcoxon.zeros, 3);
  assert.match(r.note!, /all differences are zero/);

  assert.throws(() => pairedComparison([1, 2], [1]), /pairs must match/);
  assert.throws(() => pairedComparison([], []), /no pairs/);
  assert.throws(() => pairedComparison([1, Infinity], [1, 2]), /not a finite number/);
});

test('Wilcoxon signed-rank: exact p-values (SciPy, textbook, brute-force enumeration with ties)', () => {
  // Darwin's data (SciPy docs): W = 24, p = 0.041259765625.
  let w = wilcoxonSignedRank([6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]);
  assert.equal(w.statistic, 24);
  assert.equal(w.method, 'exact');
  close(w.pValue, 0.041259765625, 1e-14, 'darwin');
  // scipy.stats.wilcoxon(d, method='exact'): statistic 15, p = 0.232421875.
  w = wilcoxonSignedRank([1.5, -0.3, 2.2, 0.7, -1.1, 3.4, 0.9, -2.6, 1.8, 0.4]);
  assert.equal(w.statistic, 15);
  close(w.pValue, 0.232421875, 1e-14, 'n10');
  // With ties: exact permutation distribution of the mid-ranks, checked by enumerating all 2^n
  // sign patterns in Python (W+ = 41.5, p = 0.0234375; and W+ = 40, p = 0.0390625 with a zero dropped).
  w = wilcoxonSignedRank([1, -1, 2, 2, 3, -0.5, 4, 4, 4]);
  assert.equal(w.wPlus, 41.5);
  assert.equal(w.ties, true);
  close(w.pValue, 0.0234375, 1e-14, 'ties');
  w = wilcoxonSignedRank([0.01, 0.02, -0.02, 0.03, 0.03, 0.03, -0.01, 0.05, 0, 0.04]);
  assert.equal(w.wPlus, 40);
  assert.equal(w.zeros, 1);
  close(w.pValue, 0.0390625, 1e-14, 'ties 2');
  // n > 200: normal approximation with tie and continuity corrections, as
  // scipy.stats.wilcoxon(d, method='approx', correction=True): statistic 19313, p = 0.04663372358859303.
  const big = Array.from({ length: 300 }, (_, i) => (((i * 7919) % 151) - 70) / 50);
  w = wilcoxonSignedRank(big);
  assert.equal(w.method, 'normal');
  assert.equal(w.n, 298);
  assert.equal(w.statistic, 19313);
  close(w.pValue, 0.04663372358859303, 1e-10, 'approx');
  assert.deepEqual(wilcoxonSignedRank([0, 0]).pValue, 1);
});

test("Holm's adjustment: hand-computed values (R's p.adjust(p, 'holm')), nulls outside the family, capped at 1", () => {
  const close = (a: (number | null)[], b: (number | null)[]): void =>
    a.forEach((v, i) => (b[i] === null ? assert.equal(v, null) : assert.ok(Math.abs((v as number) - (b[i] as number)) < 1e-12, `${i}: ${v} vs ${b[i]}`)));
  // p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02
  close(holmAdjust([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02]);
  // p.adjust(c(0.01, 0.04), "holm") = 0.02 0.04; a comparison without a test is not in the family
  close(holmAdjust([0.01, null, 0.04]), [0.02, null, 0.04]);
  close(holmAdjust([0.6, 0.7]), [1, 1]);
  close(holmAdjust([0.02]), [0.02]);
  assert.deepEqual(holmAdjust([]), []);
  // ties keep the monotone step-down: p.adjust(c(0.01, 0.01, 0.2), "holm") = 0.03 0.03 0.2
  close(holmAdjust([0.01, 0.01, 0.2]), [0.03, 0.03, 0.2]);
});

test('verdicts: better / worse by the sign under adjusted p < 0.05, no-difference otherwise, inconclusive under 3 pairs or without a test', () => {
  assert.equal(verdictOf(5, 0.012, 0.01), 'better');
  assert.equal(verdictOf(5, -0.006, 0.03), 'worse');
  assert.equal(verdictOf(5, 0.02, 0.05), 'no-difference');
  assert.equal(verdictOf(3, -0.01, 0.2), 'no-difference');
  assert.equal(verdictOf(2, 0.05, 0.001), 'inconclusive');
  assert.equal(verdictOf(0, null, null), 'inconclusive');
  assert.equal(verdictOf(5, 0, null), 'inconclusive');
});
