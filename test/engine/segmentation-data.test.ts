import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { PNG } from 'pngjs';
import { Rng } from '../../engine/src/rng';
import { loadEmbeddedMnist } from '../../engine/src/data/mnist';
import {
  CLUTTER_INK_THRESHOLD,
  digitsInClutter,
  distanceTransform,
  loadSegmentation,
  loadSegmentationFolder,
  SEG_DATASETS,
  signedDistanceMaps,
  type SegSplit,
} from '../../engine/src/data/segmentation';
import { hd95, regionBoundary, segMetrics } from '../../engine/src/data/seg-metrics';

// ---------------------------------------------------------------------------------------------
// digits-clutter
// ---------------------------------------------------------------------------------------------

test('digits-clutter: shapes, classes, and the same seed gives identical arrays', () => {
  const a = digitsInClutter({ train: 60, val: 20, test: 20, seed: 7 });
  const b = digitsInClutter({ train: 60, val: 20, test: 20, seed: 7 });
  const c = digitsInClutter({ train: 60, val: 20, test: 20, seed: 8 });
  assert.equal(a.height, 40);
  assert.equal(a.width, 40);
  assert.equal(a.channels, 1);
  assert.equal(a.classes, 2);
  assert.deepEqual(a.classNames, ['background', 'digit']);
  for (const s of ['train', 'val', 'test'] as const) {
    assert.equal(a[s].images.length, a[s].n * 40 * 40);
    assert.equal(a[s].masks.length, a[s].n * 40 * 40);
    assert.deepEqual(a[s].images, b[s].images);
    assert.deepEqual(a[s].masks, b[s].masks);
    assert.deepEqual(a[s].sources, b[s].sources);
    assert.notDeepEqual(a[s].images, c[s].images);
    for (const v of a[s].images) assert.ok(v >= 0 && v <= 1);
    for (const v of a[s].masks) assert.ok(v === 0 || v === 1);
  }
  const small = digitsInClutter({ train: 3, val: 0, test: 1, seed: 1, size: 20 });
  assert.equal(small.height, 20);
  assert.equal(small.train.images.length, 3 * 400);
  assert.equal(small.val.n, 0);
  assert.throws(() => digitsInClutter({ train: 1, val: 1, test: 1, seed: 1, size: 12 }), /size must be a whole number >= 14/);
  assert.throws(() => digitsInClutter({ train: -1, val: 1, test: 1, seed: 1 }), /train must be a whole number >= 0/);
});

test('digits-clutter: splits draw their targets from disjoint parts of the 10,000 digits', () => {
  const mnist = loadEmbeddedMnist();
  const nTrain = mnist.train.n;
  const nVal = mnist.val.n;
  const ds = digitsInClutter({ train: 1500, val: 1500, test: 1500, seed: 3 });
  const ranges = { train: [0, nTrain], val: [nTrain, nTrain + nVal], test: [nTrain + nVal, 10000] } as const;
  const seen = new Map<number, string>();
  for (const s of ['train', 'val', 'test'] as const) {
    const src = ds[s].sources!;
    const [lo, hi] = ranges[s];
    for (const g of src) {
      assert.ok(g >= lo && g < hi, `${s} source ${g} outside [${lo}, ${hi})`);
      const other = seen.get(g);
      assert.ok(other === undefined || other === s, `digit ${g} is a target in ${other} and ${s}`);
      seen.set(g, s);
    }
    // Targets cycle through the whole pool before repeating.
    const pool = hi - lo;
    assert.equal(new Set(src.subarray(0, Math.min(pool, src.length))).size, Math.min(pool, src.length));
  }
  // val has 999 digits: 1,500 images use each at least once and none more than twice.
  const counts = new Map<number, number>();
  for (const g of ds.val.sources!) counts.set(g, (counts.get(g) ?? 0) + 1);
  assert.equal(counts.size, nVal);
  assert.ok([...counts.values()].every((k) => k === 1 || k === 2));
});

test('digits-clutter: foreground is 1-5% of the pixels, present in every image', () => {
  const ds = digitsInClutter({ train: 2000, val: 200, test: 200, seed: 11 });
  let fg = 0;
  for (const v of ds.train.masks) fg += v;
  const frac = fg / ds.train.masks.length;
  assert.ok(frac > 0.01 && frac < 0.05, `foreground fraction ${frac}`);
  for (let i = 0; i < ds.train.n; i++) {
    let k = 0;
    for (let p = i * 1600; p < (i + 1) * 1600; p++) k += ds.train.masks[p];
    assert.ok(k > 0, `image ${i} has no foreground`);
  }
  assert.match(ds.description, /% of the training pixels/);
});

/** The target digit of source index g, downscaled 2x2 like the generator (float32 values). */
function downscaledTarget(g: number): Float32Array {
  const m = loadEmbeddedMnist();
  const [split, i] = g < m.train.n ? [m.train, g] : g < m.train.n + m.val.n ? [m.val, g - m.train.n] : [m.test, g - m.train.n - m.val.n];
  const out = new Float32Array(196);
  for (let y = 0; y < 14; y++) {
    for (let x = 0; x < 14; x++) {
      const p = i * 784 + 2 * y * 28 + 2 * x;
      out[y * 14 + x] = (split.x[p] + split.x[p + 1] + split.x[p + 28] + split.x[p + 29]) / 4;
    }
  }
  return out;
}

function bbox(mask: ArrayLike<number>, H: number, W: number): [number, number] {
  let y0 = H;
  let x0 = W;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (mask[y * W + x]) { y0 = Math.min(y0, y); x0 = Math.min(x0, x); }
  return [y0, x0];
}

test('digits-clutter: the mask is exactly the target ink >= 0.35, the image is at least the target, clutter is background', () => {
  const S = 40;
  const ds = digitsInClutter({ train: 200, val: 0, test: 0, seed: 5 });
  let clutterImages = 0;
  for (let i = 0; i < ds.train.n; i++) {
    const target = downscaledTarget(ds.train.sources![i]);
    const tmask = Array.from(target, (v) => (v >= CLUTTER_INK_THRESHOLD ? 1 : 0));
    const mask = ds.train.masks.subarray(i * S * S, (i + 1) * S * S);
    const img = ds.train.images.subarray(i * S * S, (i + 1) * S * S);
    // The target's placement follows from the two bounding boxes.
    const [my, mx] = bbox(mask, S, S);
    const [ty, tx] = bbox(tmask, 14, 14);
    const oy = my - ty;
    const ox = mx - tx;
    assert.ok(oy >= 0 && ox >= 0 && oy + 14 <= S && ox + 14 <= S);
    const expected = new Int32Array(S * S);
    for (let y = 0; y < 14; y++) {
      for (let x = 0; x < 14; x++) {
        expected[(oy + y) * S + ox + x] = tmask[y * 14 + x];
        assert.ok(img[(oy + y) * S + ox + x] >= target[y * 14 + x], 'clutter is merged by max');
      }
    }
    assert.deepEqual(mask, expected);
    // Clutter: strong ink outside the mask.
    let strongBackground = 0;
    for (let p = 0; p < S * S; p++) if (!mask[p] && img[p] >= 0.5) strongBackground++;
    if (strongBackground >= 10) clutterImages++;
  }
  assert.ok(clutterImages >= 0.95 * ds.train.n, `only ${clutterImages} of ${ds.train.n} images have visible clutter`);
});

// ---------------------------------------------------------------------------------------------
// Distance transforms
// ---------------------------------------------------------------------------------------------

function randomMask(rng: Rng, H: number, W: number, C: number, density = 1): Int32Array {
  const m = new Int32Array(H * W);
  for (let i = 0; i < H * W; i++) m[i] = rng.next() < density ? rng.int(C) : 0;
  return m;
}

/** Distance of each pixel of X to the nearest pixel not in X (0 outside X; Infinity if none). */
function bruteEdt(inside: ArrayLike<number>, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  for (let i = 0; i < H * W; i++) {
    if (!inside[i]) continue;
    let best = Infinity;
    for (let j = 0; j < H * W; j++) {
      if (inside[j]) continue;
      best = Math.min(best, Math.hypot(Math.floor(i / W) - Math.floor(j / W), (i % W) - (j % W)));
    }
    out[i] = best;
  }
  return out;
}

test('distanceTransform: exact, against brute force on random masks up to 12x12', () => {
  const rng = new Rng(42);
  for (let trial = 0; trial < 300; trial++) {
    const H = 1 + rng.int(12);
    const W = 1 + rng.int(12);
    const density = [0.05, 0.3, 0.7, 0.95][trial % 4];
    const inside = Array.from({ length: H * W }, () => (rng.next() < density ? 1 : 0));
    const got = distanceTransform(inside, H, W);
    const want = bruteEdt(inside, H, W);
    for (let i = 0; i < H * W; i++) {
      if (want[i] === Infinity) assert.equal(got[i], Infinity);
      else assert.ok(Math.abs(got[i] - want[i]) < 1e-9, `${H}x${W} pixel ${i}: ${got[i]} vs ${want[i]}`);
    }
  }
  // Nothing inside: all 0; everything inside: no outside pixel, Infinity.
  assert.deepEqual(Array.from(distanceTransform([0, 0, 0, 0], 2, 2)), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(distanceTransform([1, 1, 1, 1], 2, 2)), [Infinity, Infinity, Infinity, Infinity]);
});

test('signedDistanceMaps: one_hot2dist against brute force, several classes, an empty class', () => {
  const rng = new Rng(9);
  for (let trial = 0; trial < 60; trial++) {
    const H = 1 + rng.int(12);
    const W = 1 + rng.int(12);
    const C = 2 + rng.int(3);
    const n = 2;
    // Class C-1 never drawn: always empty.
    const masks = randomMask(rng, n * H, W, C - 1, [0.1, 0.5, 1][trial % 3]);
    const got = signedDistanceMaps(masks, n, H, W, C);
    assert.equal(got.length, n * H * W * C);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) {
        const inside = Array.from(masks.subarray(i * H * W, (i + 1) * H * W), (v): number => (v === c ? 1 : 0));
        const count = inside.reduce((s: number, v) => s + v, 0);
        const dIn = bruteEdt(inside, H, W);
        const dOut = bruteEdt(inside.map((v) => 1 - v), H, W);
        for (let p = 0; p < H * W; p++) {
          const want = count === 0 || count === H * W ? 0 : inside[p] ? -(dIn[p] - 1) : dOut[p];
          const v = got[(i * H * W + p) * C + c];
          assert.ok(Math.abs(v - want) < 1e-5, `class ${c} pixel ${p}: ${v} vs ${want}`);
          if (c === C - 1) assert.equal(v, 0);
        }
      }
    }
  }
});

test('signedDistanceMaps: sign convention and values of the reference code (scipy)', () => {
  // A 1x7 row with class 1 on pixels 2..4: outside 2, 1 | boundary 0, centre -1, boundary 0 | 1, 2.
  const row = signedDistanceMaps(Int32Array.from([0, 0, 1, 1, 1, 0, 0]), 1, 1, 7, 2);
  assert.deepEqual(Array.from({ length: 7 }, (_, p) => row[p * 2 + 1]), [2, 1, 0, -1, 0, 1, 2]);
  assert.deepEqual(Array.from({ length: 7 }, (_, p) => row[p * 2]), [-1, 0, 1, 2, 1, 0, -1]);
  // Values printed by Kervadec et al.'s one_hot2dist (scipy 1.17 distance_transform_edt).
  const m = Int32Array.from([0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 2, 0, 0, 1, 1, 2, 2, 2, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0]);
  const ref = [
    [-0.414214, 0, 1, 1, 0, -0.414214, 0, 1, 1.414214, 1.414214, 1, 0, 0, 1, 1, 1.414214, 1.414214, 1, -0.414214, 0, 0, 1, 1, 0, -1.236068, -1, -0.414214, 0, 0, -0.414214],
    [1.414214, 1, 0, 0, 1, 2, 1, 0, -0.414214, 0, 1, 2, 1, 0, 0, 1, 1.414214, 2.236068, 1.414214, 1, 1, 1.414214, 2.236068, 2.828427, 2.236068, 2, 2, 2.236068, 2.828427, 3.605551],
    [3.605551, 2.828427, 2.236068, 1.414214, 1, 1.414214, 3.162278, 2.236068, 1.414214, 1, 0, 1, 3, 2, 1, 0, -0.414214, 0, 3, 2, 1, 0, 0, 1, 3.162278, 2.236068, 1.414214, 1, 1, 1.414214],
    new Array(30).fill(0),
  ];
  const got = signedDistanceMaps(m, 1, 5, 6, 4);
  for (let c = 0; c < 4; c++) for (let p = 0; p < 30; p++) assert.ok(Math.abs(got[p * 4 + c] - ref[c][p]) < 1e-5, `class ${c} pixel ${p}`);
  // Inside <= 0 with 0 exactly on the inner boundary; outside > 0 with 1 next to the region.
  const rng = new Rng(4);
  const masks = randomMask(rng, 3 * 10, 10, 3, 0.6);
  const sd = signedDistanceMaps(masks, 3, 10, 10, 3);
  for (let i = 0; i < 3; i++) {
    for (let c = 0; c < 3; c++) {
      const region = Array.from(masks.subarray(i * 100, (i + 1) * 100), (v): number => (v === c ? 1 : 0));
      const k = region.reduce((s: number, v) => s + v, 0);
      if (k === 0 || k === 100) continue;
      for (let p = 0; p < 100; p++) {
        const v = sd[(i * 100 + p) * 3 + c];
        const y = Math.floor(p / 10);
        const x = p % 10;
        const nbrs = [[y - 1, x], [y + 1, x], [y, x - 1], [y, x + 1]].filter(([a, b]) => a >= 0 && a < 10 && b >= 0 && b < 10);
        const touches = nbrs.some(([a, b]) => region[a * 10 + b] !== region[p]);
        if (region[p]) {
          assert.ok(v <= 0);
          if (touches) assert.equal(v, 0);
        } else {
          assert.ok(v > 0);
          if (touches) assert.equal(v, 1);
        }
      }
    }
  }
  // A class covering the whole image has no boundary: 0.
  assert.deepEqual(Array.from(signedDistanceMaps(new Int32Array(4), 1, 2, 2, 2)), new Array(8).fill(0));
  assert.throws(() => signedDistanceMaps(Int32Array.from([0, 3]), 1, 1, 2, 2), /class 3, expected 0\.\.1/);
  assert.throws(() => signedDistanceMaps(new Int32Array(3), 1, 1, 2, 2), /expected n\*H\*W = 2/);
});

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

/** MedPy's hd95 by brute force: boundaries from the definition, all pairwise distances. */
function bruteHd95(a: number[], b: number[], H: number, W: number): number {
  const na = a.reduce((s: number, v) => s + v, 0);
  const nb = b.reduce((s: number, v) => s + v, 0);
  if (na === 0 && nb === 0) return 0;
  if (na === 0 || nb === 0) return Math.hypot(H, W);
  const boundary = (r: number[]) => {
    const pts: [number, number][] = [];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (!r[y * W + x]) continue;
        // Eroded away unless all four neighbours are inside the image and the region.
        const interior = [[y - 1, x], [y + 1, x], [y, x - 1], [y, x + 1]].every(([u, v]) => u >= 0 && u < H && v >= 0 && v < W && r[u * W + v]);
        if (!interior) pts.push([y, x]);
      }
    }
    return pts;
  };
  const pa = boundary(a);
  const pb = boundary(b);
  const directed = (from: [number, number][], to: [number, number][]) => from.map(([y, x]) => Math.min(...to.map(([u, v]) => Math.hypot(y - u, x - v))));
  const d = [...directed(pa, pb), ...directed(pb, pa)].sort((s, t) => s - t);
  const pos = 0.95 * (d.length - 1);
  const lo = Math.floor(pos);
  return d[lo] + (d[Math.min(lo + 1, d.length - 1)] - d[lo]) * (pos - lo);
}

test('segMetrics: dice, iou and hd95 against brute force on random masks', () => {
  const rng = new Rng(2024);
  for (let trial = 0; trial < 40; trial++) {
    const H = 2 + rng.int(9);
    const W = 2 + rng.int(9);
    const C = 2 + rng.int(3);
    const n = 1 + rng.int(4);
    const target = randomMask(rng, n * H, W, C, [0.2, 0.6, 1][trial % 3]);
    // Predictions: the target with some pixels changed (so classes overlap), sometimes noise.
    const pred = Int32Array.from(target, (v) => (rng.next() < (trial % 2 ? 0.2 : 0.7) ? rng.int(C) : v));
    const got = segMetrics(pred, target, n, H, W, C);
    assert.equal(got.perImage.length, n);
    const sums = { dice: 0, iou: 0, hd95: 0 };
    for (let i = 0; i < n; i++) {
      const want = { dice: 0, iou: 0, hd95: 0 };
      for (let c = 1; c < C; c++) {
        const a = Array.from(pred.subarray(i * H * W, (i + 1) * H * W), (v): number => (v === c ? 1 : 0));
        const b = Array.from(target.subarray(i * H * W, (i + 1) * H * W), (v): number => (v === c ? 1 : 0));
        const inter = a.filter((v, p) => v && b[p]).length;
        const union = a.filter((v, p) => v || b[p]).length;
        const sa = a.reduce((s: number, v) => s + v, 0);
        const sb = b.reduce((s: number, v) => s + v, 0);
        want.dice += union === 0 ? 1 : (2 * inter) / (sa + sb);
        want.iou += union === 0 ? 1 : inter / union;
        want.hd95 += bruteHd95(a, b, H, W);
      }
      for (const k of ['dice', 'iou', 'hd95'] as const) {
        want[k] /= C - 1;
        assert.ok(Math.abs(got.perImage[i][k] - want[k]) < 1e-9, `trial ${trial} image ${i} ${k}: ${got.perImage[i][k]} vs ${want[k]}`);
        sums[k] += want[k];
      }
    }
    for (const k of ['dice', 'iou', 'hd95'] as const) assert.ok(Math.abs(got[k] - sums[k] / n) < 1e-9);
  }
});

test('hd95: edge cases and a value computed with MedPy\'s definition in scipy', () => {
  const H = 9;
  const W = 11;
  const empty = new Uint8Array(H * W);
  const one = new Uint8Array(H * W);
  one[3 * W + 4] = 1;
  assert.equal(hd95(empty, empty, H, W), 0);
  assert.equal(hd95(one, empty, H, W), Math.hypot(H, W));
  assert.equal(hd95(empty, one, H, W), Math.hypot(H, W));
  assert.equal(hd95(one, one, H, W), 0);
  const other = new Uint8Array(H * W);
  other[7 * W + 8] = 1; // (3, 4) -> (7, 8): distance sqrt(32)
  assert.ok(Math.abs(hd95(one, other, H, W) - Math.sqrt(32)) < 1e-12);
  // a: rows 1-4 x cols 2-6 plus a stray pixel at (6, 9); b: rows 2-6 x cols 1-4. scipy/MedPy: 2.23606797749979.
  const a = new Uint8Array(H * W);
  const b = new Uint8Array(H * W);
  for (let y = 1; y < 5; y++) for (let x = 2; x < 7; x++) a[y * W + x] = 1;
  a[6 * W + 9] = 1;
  for (let y = 2; y < 7; y++) for (let x = 1; x < 5; x++) b[y * W + x] = 1;
  assert.ok(Math.abs(hd95(a, b, H, W) - 2.23606797749979) < 1e-12);
  assert.equal(hd95(a, b, H, W), hd95(b, a, H, W));
  // Boundary: pixels on the image edge or next to the outside; a full 3x3 image keeps its centre.
  assert.deepEqual(Array.from(regionBoundary(new Uint8Array(9).fill(1), 3, 3)), [1, 1, 1, 1, 0, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(regionBoundary(Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 0, 1]), 3, 3)), [1, 1, 1, 1, 1, 1, 1, 0, 1]);
  const sq = regionBoundary(new Uint8Array(25).fill(1), 5, 5);
  assert.equal(sq.reduce((s: number, v) => s + v, 0), 16);
  // Per image: empty vs empty is perfect; a missed region costs the diagonal.
  const m = segMetrics(Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0]), Int32Array.from([0, 0, 0, 0, 0, 1, 0, 0]), 2, 2, 2, 2);
  assert.deepEqual(m.perImage[0], { dice: 1, iou: 1, hd95: 0 });
  assert.deepEqual(m.perImage[1], { dice: 0, iou: 0, hd95: Math.hypot(2, 2) });
  assert.equal(m.dice, 0.5);
  assert.throws(() => segMetrics(new Int32Array(4), new Int32Array(4), 1, 2, 2, 1), /C must be >= 2/);
  assert.throws(() => segMetrics(new Int32Array(4), new Int32Array(3), 1, 2, 2, 2), /expected n\*H\*W = 4/);
  assert.throws(() => segMetrics(Int32Array.from([0, 0, 0, 5]), new Int32Array(4), 1, 2, 2, 2), /class 5 \(pred\)/);
});

// ---------------------------------------------------------------------------------------------
// Folders of PNGs
// ---------------------------------------------------------------------------------------------

/** Writes a PNG from per-pixel [r, g, b] (colorType 2) or gray values (colorType 0), 8 or 16 bits. */
function writePng(file: string, W: number, H: number, px: (i: number) => number | [number, number, number], opts: { bitDepth?: 8 | 16 } = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const first = px(0);
  const rgb = Array.isArray(first);
  if (opts.bitDepth === 16) {
    const data = new Uint16Array(W * H);
    for (let i = 0; i < W * H; i++) data[i] = px(i) as number;
    const png = new PNG({ width: W, height: H, colorType: 0, inputColorType: 0, bitDepth: 16, inputHasAlpha: false });
    png.data = Buffer.from(data.buffer);
    fs.writeFileSync(file, PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 16, inputHasAlpha: false }));
    return;
  }
  const png = new PNG({ width: W, height: H });
  for (let i = 0; i < W * H; i++) {
    const v = px(i);
    const [r, g, b] = Array.isArray(v) ? v : [v, v, v];
    png.data[4 * i] = r;
    png.data[4 * i + 1] = g;
    png.data[4 * i + 2] = b;
    png.data[4 * i + 3] = 255;
  }
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: rgb ? 2 : 0 }));
}

function withTmp(fn: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lossmith-seg-'));
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** CRC-32 of PNG chunks (zlib.crc32 is not in every Node 20). */
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG written byte by byte (pngjs cannot write palette or 1-bit files): rows of packed samples. */
function rawPng(file: string, W: number, H: number, colorType: number, depth: number, rows: number[][], plte?: number[][]): void {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const raw = Buffer.from(rows.flatMap((r) => [0, ...r])); // filter type 0 per row
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      ...(plte ? [chunk('PLTE', Buffer.from(plte.flat()))] : []),
      chunk('IDAT', zlib.deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

/** Image k's gray value at pixel i, and its 0/255 mask (a vertical bar at column k % W; image 9's is empty). */
const grayAt = (k: number, i: number) => (k * 20 + i) % 256;
const barAt = (k: number, i: number, W: number) => (k !== 9 && i % W === k % W ? 255 : 0);

function splitKeys(s: SegSplit, px: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < s.n; i++) keys.push(String(Math.round(s.images[i * px] * 255)));
  return keys.sort();
}

test('loadSegmentationFolder: flat layout, grayscale, 0/255 masks, seeded split', () => {
  withTmp((dir) => {
    const W = 5;
    const H = 6;
    for (let k = 0; k < 10; k++) {
      writePng(path.join(dir, 'images', `img${k}.png`), W, H, (i) => grayAt(k, i));
      writePng(path.join(dir, 'masks', `img${k}.png`), W, H, (i) => barAt(k, i, W));
    }
    fs.writeFileSync(path.join(dir, 'images', 'README.txt'), 'not an image');
    const ds = loadSegmentationFolder(dir, { seed: 1 });
    assert.equal(ds.height, H);
    assert.equal(ds.width, W);
    assert.equal(ds.channels, 1);
    assert.equal(ds.classes, 2);
    assert.deepEqual(ds.classNames, ['background', 'class 1']);
    assert.deepEqual([ds.train.n, ds.val.n, ds.test.n], [8, 1, 1]);
    assert.equal(ds.train.images.length, 8 * H * W);
    // Every image lands in exactly one split; pixels and masks travel together.
    const all = [ds.train, ds.val, ds.test].flatMap((s) => splitKeys(s, H * W)).sort();
    assert.deepEqual(all, Array.from({ length: 10 }, (_, k) => String(grayAt(k, 0))).sort());
    for (const s of [ds.train, ds.val, ds.test]) {
      for (let j = 0; j < s.n; j++) {
        const k = Math.round(s.images[j * H * W] * 255) / 20;
        for (let i = 0; i < H * W; i++) {
          assert.ok(Math.abs(s.images[j * H * W + i] - grayAt(k, i) / 255) < 1e-7);
          assert.equal(s.masks[j * H * W + i], barAt(k, i, W) / 255);
        }
      }
    }
    // Same seed, same split; the split depends on the seed.
    const again = loadSegmentationFolder(dir, { seed: 1 });
    assert.deepEqual(again.val.images, ds.val.images);
    const keysBySeed = new Set(Array.from({ length: 6 }, (_, s) => splitKeys(loadSegmentationFolder(dir, { seed: s + 2 }).val, H * W).join()));
    assert.ok(keysBySeed.size > 1);
    assert.deepEqual([loadSegmentationFolder(dir, { seed: 1, valFraction: 0.2 }).train.n], [6]);
    // Through the one entry point, relative to cwd.
    const viaSpec = loadSegmentation(path.basename(dir), { seed: 1, cwd: path.dirname(dir) });
    assert.deepEqual(viaSpec.test.masks, ds.test.masks);
  });
});

test('loadSegmentationFolder: train/val/test subfolders, RGB images, class-index masks, carved test', () => {
  withTmp((dir) => {
    const W = 4;
    const H = 3;
    const write = (split: string, k: number, rgb: boolean) => {
      writePng(path.join(dir, split, 'images', `${split}${k}.png`), W, H, (i) => (rgb ? [k, i, 200] : k));
      writePng(path.join(dir, split, 'masks', `${split}${k}.png`), W, H, (i) => (i + k) % 4);
    };
    for (let k = 0; k < 3; k++) write('train', k, k !== 1); // one gray image among RGB ones
    write('val', 10, true);
    write('test', 20, false);
    const ds = loadSegmentationFolder(dir, { seed: 0 });
    assert.equal(ds.channels, 3);
    assert.equal(ds.classes, 4);
    assert.deepEqual(ds.classNames, ['background', 'class 1', 'class 2', 'class 3']);
    assert.deepEqual([ds.train.n, ds.val.n, ds.test.n], [3, 1, 1]);
    assert.equal(ds.val.images.length, H * W * 3);
    // RGB stays RGB (NHWC); a gray image gets R = G = B.
    assert.deepEqual(Array.from(ds.val.images.subarray(3, 6), (v) => Math.round(v * 255)), [10, 1, 200]);
    assert.deepEqual(Array.from(ds.test.images.subarray(0, 6), (v) => Math.round(v * 255)), [20, 20, 20, 20, 20, 20]);
    assert.deepEqual(Array.from(ds.test.masks), Array.from({ length: H * W }, (_, i) => (i + 20) % 4));
    // Without val/: val is carved out of train by seed (at least one image).
    fs.rmSync(path.join(dir, 'val'), { recursive: true });
    for (let k = 3; k < 10; k++) write('train', k, true);
    const carved = loadSegmentationFolder(dir, { seed: 0 });
    assert.deepEqual([carved.train.n, carved.val.n, carved.test.n], [9, 1, 1]);
    assert.match(carved.description, /val 10% of the train\/ folder by seed 0/);
  });
});

test('loadSegmentationFolder: palette masks give their palette indices, 1-bit masks their bits', () => {
  withTmp((dir) => {
    // 4x2: palette (VOC-like colours) indices 0, 1, 2, 1 / 2, 2, 0, 0.
    const plte = [[0, 0, 0], [128, 0, 0], [0, 128, 0]];
    writePng(path.join(dir, 'images', 'p.png'), 4, 2, (i) => i * 30);
    rawPng(path.join(dir, 'masks', 'p.png'), 4, 2, 3, 8, [[0, 1, 2, 1], [2, 2, 0, 0]], plte);
    const ds = loadSegmentationFolder(dir, { seed: 0, valFraction: 0 });
    assert.equal(ds.classes, 3);
    assert.deepEqual(Array.from(ds.train.masks), [0, 1, 2, 1, 2, 2, 0, 0]);
    // A 1-bit grayscale mask: bits 1,0,1,1 / 0,0,0,1 packed high bit first.
    rawPng(path.join(dir, 'masks', 'p.png'), 4, 2, 0, 1, [[0b10110000], [0b00010000]]);
    const bits = loadSegmentationFolder(dir, { seed: 0, valFraction: 0 });
    assert.equal(bits.classes, 2);
    assert.deepEqual(Array.from(bits.train.masks), [1, 0, 1, 1, 0, 0, 0, 1]);
  });
});

test('loadSegmentationFolder and loadSegmentation: one-line errors naming the file', () => {
  withTmp((dir) => {
    const oneLine = (fn: () => unknown, re: RegExp) =>
      assert.throws(fn, (e: Error) => {
        assert.match(e.message, re);
        assert.ok(!e.message.includes('\n'), e.message);
        return true;
      });
    const img = (name: string, W = 4, H = 4) => writePng(path.join(dir, 'images', name), W, H, (i) => i);
    const mask = (name: string, W = 4, H = 4, v = (i: number) => i % 2, bitDepth: 8 | 16 = 8) =>
      writePng(path.join(dir, 'masks', name), W, H, v, { bitDepth });
    oneLine(() => loadSegmentationFolder(path.join(dir, 'nope'), { seed: 0 }), /nope: no such folder/);
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /: no images\/ folder \(expected/);
    img('a.png');
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /: no masks\/ folder/);
    mask('a.png');
    img('b.png');
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /images\/b\.png: image without a mask \(expected .*masks\/b\.png\)/);
    mask('b.png', 4, 5);
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /masks\/b\.png: mask is 4x5 but its image .*images\/b\.png is 4x4/);
    mask('b.png', 4, 4, (i) => 300, 16);
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /masks\/b\.png: mask value 300 at x=0, y=0 is >= 256/);
    writePng(path.join(dir, 'masks', 'b.png'), 4, 4, (i) => [i, 0, 0]);
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /masks\/b\.png: colour \(1, 0, 0\) at x=1, y=0: a mask holds one class index/);
    img('b.png', 5, 4);
    mask('b.png', 5, 4);
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /images\/b\.png: 5x4, but .*images\/a\.png is 4x4: all images must share one size/);
    img('b.png');
    mask('b.png', 4, 4, () => 0);
    mask('a.png', 4, 4, () => 0);
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /every mask is all 0/);
    mask('c.png');
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /masks\/c\.png: mask without an image/);
    fs.rmSync(path.join(dir, 'masks', 'c.png'));
    fs.writeFileSync(path.join(dir, 'images', 'c.jpg'), 'x');
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /images\/c\.jpg: only PNG images and masks are read/);
    fs.rmSync(path.join(dir, 'images', 'c.jpg'));
    fs.writeFileSync(path.join(dir, 'masks', 'b.png'), 'not a png');
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /masks\/b\.png: cannot read as PNG/);
    oneLine(() => loadSegmentationFolder(dir, { seed: 0, valFraction: 0.5 }), /valFraction must be in \[0, 0\.5\)/);
    fs.rmSync(path.join(dir, 'images'), { recursive: true });
    fs.rmSync(path.join(dir, 'masks'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'val'));
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /no train\/ folder beside val\//);
    fs.mkdirSync(path.join(dir, 'train', 'images'), { recursive: true });
    oneLine(() => loadSegmentationFolder(dir, { seed: 0 }), /train: no masks\/ folder/);
    oneLine(() => loadSegmentation('no-such-thing', { seed: 0, cwd: dir }), /segmentation dataset 'no-such-thing': not a built-in name \(digits-clutter\) and no such folder/);
  });
  assert.deepEqual(Object.keys(SEG_DATASETS), ['digits-clutter']);
  const builtin = loadSegmentation('digits-clutter', { seed: 1, train: 4, val: 2, test: 2 });
  assert.deepEqual([builtin.train.n, builtin.val.n, builtin.test.n], [4, 2, 2]);
});
