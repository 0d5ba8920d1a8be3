import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../../../engine/src/rng';
import {
  applyImbalance,
  applyLabelNoise,
  classCounts,
  loadDataset,
  loadDatasetSync,
  loadEmbeddedMnist,
  longTailCounts,
  mnistDigitsDir,
  stratifiedSplitIndices,
  stratifiedSubset,
  type Split,
} from '../../../engine/src/data';

// Images per digit in the mnist package's JSON files (10,000 in all).
const PER_DIGIT = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

function imageKeys(s: Split, ppi: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.n; i++) {
    // A cheap exact fingerprint of an image and its label.
    let h1 = 0;
    let h2 = 0;
    for (let k = 0; k < ppi; k++) {
      const v = Math.round(s.x[i * ppi + k] * 1000);
      h1 = (Math.imul(h1, 31) + v) | 0;
      h2 = (Math.imul(h2 ^ v, 0x01000193) + k) | 0;
    }
    out.push(`${s.labels[i]}:${h1}:${h2}`);
  }
  return out;
}

test('embedded mnist: 10,000 real digits split 70/10/20 per class, disjoint, deterministic', () => {
  const ds = loadEmbeddedMnist();
  assert.equal(ds.name, 'mnist');
  assert.deepEqual(ds.shape, [28, 28, 1]);
  assert.equal(ds.numClasses, 10);
  assert.equal(ds.train.n + ds.val.n + ds.test.n, 10000);
  const tr = classCounts(ds.train.labels, 10);
  const va = classCounts(ds.val.labels, 10);
  const te = classCounts(ds.test.labels, 10);
  for (let d = 0; d < 10; d++) {
    assert.equal(te[d], Math.round(0.2 * PER_DIGIT[d]), `test count of digit ${d}`);
    assert.equal(va[d], Math.round(0.1 * PER_DIGIT[d]), `val count of digit ${d}`);
    assert.equal(tr[d] + va[d] + te[d], PER_DIGIT[d]);
  }
  assert.deepEqual([ds.train.n, ds.val.n, ds.test.n], [7001, 999, 2000]);
  for (const s of [ds.train, ds.val, ds.test]) {
    assert.equal(s.x.length, s.n * 784);
    for (const v of s.x) assert.ok(v >= 0 && v <= 1);
  }
  // The three splits partition the package's images exactly (as a multiset).
  const got = [...imageKeys(ds.train, 784), ...imageKeys(ds.val, 784), ...imageKeys(ds.test, 784)].sort();
  const raw: Split = { x: new Float32Array(10000 * 784), labels: new Int32Array(10000), n: 10000 };
  let at = 0;
  for (let d = 0; d < 10; d++) {
    const data = JSON.parse(fs.readFileSync(path.join(mnistDigitsDir(), `${d}.json`), 'utf8')).data as number[];
    raw.x.set(data, at * 784);
    raw.labels.fill(d, at, at + data.length / 784);
    at += data.length / 784;
  }
  assert.deepEqual(got, imageKeys(raw, 784).sort());
  // Classes are interleaved (not sorted by digit) in every split.
  assert.notDeepEqual(Array.from(ds.train.labels.subarray(0, 20)), Array.from(ds.train.labels.subarray(0, 20)).sort());
  // Cached: the same parsed arrays are returned.
  assert.equal(loadEmbeddedMnist(), ds);
  assert.equal(loadDatasetSync('mnist').train, ds.train);
});

test('stratifiedSplitIndices: partition, per-class rounding, deterministic per seed', () => {
  const labels = Int32Array.from({ length: 103 }, (_, i) => (i < 50 ? 0 : i < 80 ? 1 : 2)); // 50 / 30 / 23
  const a = stratifiedSplitIndices(labels, 3, [0.7, 0.1, 0.2], new Rng(5));
  const b = stratifiedSplitIndices(labels, 3, [0.7, 0.1, 0.2], new Rng(5));
  const c = stratifiedSplitIndices(labels, 3, [0.7, 0.1, 0.2], new Rng(6));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual([...a[0], ...a[1], ...a[2]].sort((x, y) => x - y), Array.from({ length: 103 }, (_, i) => i));
  const count = (idx: number[]) => classCounts(Int32Array.from(idx.map((i) => labels[i])), 3);
  assert.deepEqual(count(a[1]), [5, 3, 2]); // round(0.1 * [50, 30, 23])
  assert.deepEqual(count(a[2]), [10, 6, 5]); // round(0.2 * [50, 30, 23]) = 10, 6, 4.6 -> 5
  assert.deepEqual(count(a[0]), [35, 21, 16]);
  assert.throws(() => stratifiedSplitIndices(labels, 3, [0.5, 0.1], new Rng(1)), /sum to 1/);
});

function toySplit(perClass: number[]): Split {
  const n = perClass.reduce((s, v) => s + v, 0);
  const labels = new Int32Array(n);
  let at = 0;
  perClass.forEach((m, c) => {
    labels.fill(c, at, at + m);
    at += m;
  });
  // One "pixel" per image holding its index, so we can track which samples were kept.
  return { x: Float32Array.from({ length: n }, (_, i) => i), labels, n };
}

test('stratifiedSubset: proportional per-class quotas, sample identity preserved', () => {
  const s = toySplit([60, 30, 10]);
  const sub = stratifiedSubset(s, 3, 10, 1, new Rng(1));
  assert.equal(sub.n, 10);
  assert.deepEqual(classCounts(sub.labels, 3), [6, 3, 1]);
  for (let i = 0; i < sub.n; i++) assert.equal(s.labels[sub.x[i]], sub.labels[i]);
  assert.equal(new Set(sub.x).size, 10);
  // Largest remainder: 7 of [60, 30, 10] -> quotas 4.2, 2.1, 0.7 -> 4, 2, 1.
  assert.deepEqual(classCounts(stratifiedSubset(s, 3, 7, 1, new Rng(1)).labels, 3), [4, 2, 1]);
  assert.equal(stratifiedSubset(s, 3, 500, 1, new Rng(1)), s);
  assert.throws(() => stratifiedSubset(s, 3, 0, 1, new Rng(1)), /maxTrain must be a positive integer/);
});

test('long-tailed imbalance: class c keeps floor(n * k^(-c/(C-1))) of its samples', () => {
  // n = 100 (smallest class), k = 10, C = 5: 100, 56.23, 31.62, 17.78, 10.
  assert.deepEqual(longTailCounts([100, 120, 100, 130, 100], 10), [100, 56, 31, 17, 10]);
  assert.deepEqual(longTailCounts([50, 50], 100), [50, 1]); // floor(0.5) -> at least 1
  assert.deepEqual(longTailCounts([7, 8, 9], 1), [7, 7, 7]);
  assert.throws(() => longTailCounts([5, 5], 0.5), /imbalance ratio must be a finite number >= 1/);
  const s = toySplit([100, 120, 100, 130, 100]);
  const im = applyImbalance(s, 5, 10, 1, new Rng(2));
  assert.deepEqual(classCounts(im.labels, 5), [100, 56, 31, 17, 10]);
  for (let i = 0; i < im.n; i++) assert.equal(s.labels[im.x[i]], im.labels[i]);
  // Seeded: same seed same subset, different seed different subset.
  assert.deepEqual(applyImbalance(s, 5, 10, 1, new Rng(2)).x, im.x);
  assert.notDeepEqual(applyImbalance(s, 5, 10, 1, new Rng(3)).x, im.x);
});

test('symmetric label noise: exactly round(r*n) labels changed, always to another class, uniformly', () => {
  const s = toySplit([1000, 1000, 1000, 1000, 1000]);
  const noisy = applyLabelNoise(s, 5, 0.3, new Rng(9));
  assert.equal(noisy.x, s.x);
  assert.deepEqual(noisy.cleanLabels, s.labels);
  let changed = 0;
  // transition[c][c'] counts among changed samples.
  const trans = Array.from({ length: 5 }, () => new Array(5).fill(0));
  for (let i = 0; i < s.n; i++) {
    if (noisy.labels[i] !== s.labels[i]) {
      changed++;
      trans[s.labels[i]][noisy.labels[i]]++;
    }
  }
  assert.equal(changed, 1500);
  // Each of the 20 off-diagonal cells expects 1500/20 = 75; Pearson chi-square with 15 df
  // (20 cells minus 5 row constraints) should be far below its 0.999 quantile (37.7).
  const rowTotals = trans.map((r) => r.reduce((a, b) => a + b, 0));
  let chi2 = 0;
  for (let c = 0; c < 5; c++) {
    assert.equal(trans[c][c], 0);
    for (let d = 0; d < 5; d++) {
      if (d === c) continue;
      const e = rowTotals[c] / 4;
      chi2 += (trans[c][d] - e) ** 2 / e;
    }
  }
  assert.ok(chi2 < 37.7, `chi2 = ${chi2}`);
  // Chosen samples spread over classes (each row near 300 of 1000).
  for (const r of rowTotals) assert.ok(r > 230 && r < 370, `row total ${r}`);
  assert.equal(applyLabelNoise(s, 5, 0, new Rng(1)).labels.filter((l, i) => l !== s.labels[i]).length, 0);
  const all = applyLabelNoise(s, 5, 1, new Rng(1));
  assert.equal(all.labels.filter((l, i) => l === s.labels[i]).length, 0);
  assert.throws(() => applyLabelNoise(s, 5, 1.5, new Rng(1)), /label noise rate must be in \[0, 1\]/);
});

test('loadDataset options touch only the training split, in order maxTrain -> imbalance -> noise, seeded', async () => {
  const base = loadEmbeddedMnist();
  const ds = await loadDataset('mnist', { maxTrain: 2000, imbalance: 10, labelNoise: 0.2, seed: 4 });
  assert.equal(ds.val, base.val);
  assert.equal(ds.test, base.test);
  assert.equal(base.train.n, 7001); // the cached base is not mutated
  assert.equal(base.info?.transforms.length, 0);
  // maxTrain 2000 keeps per class round-ish(2000 * n_c / 7001); the smallest is digit 5 (604 -> 173);
  // imbalance then keeps floor(173 * 10^(-c/9)).
  const sub = stratifiedSubset(base.train, 10, 2000, 784, Rng.derive(4, 'data', 'maxTrain'));
  const nMin = Math.min(...classCounts(sub.labels, 10));
  const expected = Array.from({ length: 10 }, (_, c) => Math.max(1, Math.floor(nMin * Math.pow(10, -c / 9) + 1e-9)));
  assert.deepEqual(ds.info?.trainClassCounts, expected);
  assert.deepEqual(classCounts(ds.train.cleanLabels!, 10), expected);
  const flipped = ds.train.labels.filter((l, i) => l !== ds.train.cleanLabels![i]).length;
  assert.equal(flipped, Math.round(0.2 * ds.train.n));
  assert.deepEqual(ds.info?.transforms, [
    'maxTrain 2000 (stratified, seed 4)',
    'imbalance ratio 10 (long-tailed, seed 4)',
    'labelNoise 0.2 (symmetric, seed 4)',
  ]);
  const again = loadDatasetSync('mnist', { maxTrain: 2000, imbalance: 10, labelNoise: 0.2, seed: 4 });
  assert.deepEqual(again.train.labels, ds.train.labels);
  assert.deepEqual(again.train.x, ds.train.x);
  const other = loadDatasetSync('mnist', { maxTrain: 2000, imbalance: 10, labelNoise: 0.2, seed: 5 });
  assert.notDeepEqual(other.train.labels, ds.train.labels);
  // No options: the base dataset itself.
  assert.equal(loadDatasetSync('mnist', { seed: 3 }), base);
  await assert.rejects(loadDataset('mnist', { labelNoise: -0.1 }), /label noise rate/);
  await assert.rejects(loadDataset('mnist', { imbalance: 0.5 }), /imbalance ratio/);
});
