/**
 * Deterministic dataset splitting and training-set transformations: stratified splits, a
 * stratified `maxTrain` subset, long-tailed class imbalance and symmetric label noise.
 * Every random draw goes through the Rng passed in; none of these functions mutates its input.
 */
import { Rng } from '../rng';
import type { Split } from './types';

/** Number of samples of each class (labels must be in [0, numClasses)). */
export function classCounts(labels: Int32Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

/** Indices of each class, in ascending order. */
export function indicesByClass(labels: Int32Array, numClasses: number): number[][] {
  const out: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) out[labels[i]].push(i);
  return out;
}

/** Copies the listed samples (in the listed order) into a new Split. */
export function takeSamples(split: Split, idx: ArrayLike<number>, pixelsPerImage: number): Split {
  const n = idx.length;
  const x = new Float32Array(n * pixelsPerImage);
  const labels = new Int32Array(n);
  const clean = split.cleanLabels ? new Int32Array(n) : undefined;
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    x.set(split.x.subarray(i * pixelsPerImage, (i + 1) * pixelsPerImage), k * pixelsPerImage);
    labels[k] = split.labels[i];
    if (clean) clean[k] = split.cleanLabels![i];
  }
  const out: Split = { x, labels, n };
  if (clean) out.cleanLabels = clean;
  return out;
}

/**
 * Stratified split of sample indices into parts with the given fractions (which must sum to 1).
 * Within each class the indices are shuffled, then part p gets round(fraction_p * n_c) of them
 * (the first part takes the rounding remainder, so every sample lands in exactly one part).
 * Each part's index list is finally shuffled so classes are interleaved.
 */
export function stratifiedSplitIndices(
  labels: Int32Array,
  numClasses: number,
  fractions: number[],
  rng: Rng,
): number[][] {
  const total = fractions.reduce((s, f) => s + f, 0);
  if (fractions.some((f) => !(f >= 0)) || Math.abs(total - 1) > 1e-9) {
    throw new Error(`split fractions must be >= 0 and sum to 1, got [${fractions.join(', ')}]`);
  }
  const parts: number[][] = fractions.map(() => []);
  for (const cls of indicesByClass(labels, numClasses)) {
    rng.shuffle(cls);
    const sizes = fractions.map((f) => Math.round(f * cls.length));
    const rest = sizes.slice(1).reduce((s, v) => s + v, 0);
    sizes[0] = cls.length - rest;
    if (sizes[0] < 0) throw new Error('internal: negative split size');
    let at = 0;
    for (let p = 0; p < fractions.length; p++) {
      for (let k = 0; k < sizes[p]; k++) parts[p].push(cls[at++]);
    }
  }
  for (const p of parts) rng.shuffle(p);
  return parts;
}

/**
 * Stratified subset of at most `max` samples: class c keeps a share proportional to its count
 * (largest-remainder rounding, ties to the lower class index), chosen at random by `rng`.
 * Returns the split unchanged if it already has at most `max` samples.
 */
export function stratifiedSubset(
  split: Split,
  numClasses: number,
  max: number,
  pixelsPerImage: number,
  rng: Rng,
): Split {
  if (!Number.isInteger(max) || max < 1) throw new Error(`maxTrain must be a positive integer, got ${max}`);
  if (split.n <= max) return split;
  const byClass = indicesByClass(split.labels, numClasses);
  const quotas = byClass.map((c) => (c.length * max) / split.n);
  const take = quotas.map(Math.floor);
  let left = max - take.reduce((s, v) => s + v, 0);
  const order = quotas
    .map((q, c) => ({ c, r: q - Math.floor(q) }))
    .sort((u, v) => v.r - u.r || u.c - v.c);
  for (const { c } of order) {
    if (left === 0) break;
    if (take[c] < byClass[c].length) {
      take[c]++;
      left--;
    }
  }
  const keep: number[] = [];
  byClass.forEach((cls, c) => {
    rng.shuffle(cls);
    for (let k = 0; k < take[c]; k++) keep.push(cls[k]);
  });
  keep.sort((a, b) => a - b); // keep the original (already shuffled) order
  return takeSamples(split, keep, pixelsPerImage);
}

/**
 * Target per-class counts of a long-tailed training set with imbalance ratio k (>= 1):
 * class c keeps floor(n * k^(-c/(C-1))) samples (at least 1), where n is the size of the
 * smallest class, so that every target is achievable and head/tail = k up to rounding.
 * (Cao et al. 2019, "LDAM"; Cui et al. 2019, class-balanced loss, use the same profile.)
 */
export function longTailCounts(available: number[], ratio: number): number[] {
  if (!(ratio >= 1) || !Number.isFinite(ratio)) throw new Error(`imbalance ratio must be a finite number >= 1, got ${ratio}`);
  const C = available.length;
  const n = Math.min(...available);
  return available.map((_, c) => (C === 1 ? n : Math.max(1, Math.floor(n * Math.pow(ratio, -c / (C - 1)) + 1e-9))));
}

/** Long-tailed subset of a training split (see longTailCounts); samples chosen at random. */
export function applyImbalance(
  split: Split,
  numClasses: number,
  ratio: number,
  pixelsPerImage: number,
  rng: Rng,
): Split {
  const byClass = indicesByClass(split.labels, numClasses);
  const targets = longTailCounts(byClass.map((c) => c.length), ratio);
  const keep: number[] = [];
  byClass.forEach((cls, c) => {
    rng.shuffle(cls);
    for (let k = 0; k < targets[c]; k++) keep.push(cls[k]);
  });
  keep.sort((a, b) => a - b);
  return takeSamples(split, keep, pixelsPerImage);
}

/**
 * Symmetric label noise: exactly round(rate * n) samples, chosen uniformly without
 * replacement, get a label drawn uniformly from the *other* numClasses-1 classes (so the
 * realised noise rate is exactly the requested one, up to rounding). The returned split shares
 * the image array with the input and records the original labels in `cleanLabels`.
 */
export function applyLabelNoise(split: Split, numClasses: number, rate: number, rng: Rng): Split {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`label noise rate must be in [0, 1], got ${rate}`);
  if (numClasses < 2) throw new Error('label noise needs at least 2 classes');
  const clean = split.cleanLabels ?? split.labels;
  const labels = Int32Array.from(split.labels);
  const count = Math.round(rate * split.n);
  const order = new Int32Array(split.n);
  for (let i = 0; i < split.n; i++) order[i] = i;
  // Partial Fisher-Yates: the first `count` entries are a uniform random subset.
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(split.n - i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (let k = 0; k < count; k++) {
    const i = order[k];
    const r = rng.int(numClasses - 1);
    labels[i] = r >= split.labels[i] ? r + 1 : r;
  }
  return { x: split.x, labels, n: split.n, cleanLabels: Int32Array.from(clean) };
}
