import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../engine/src/rng';
import type { Batch } from '../../../engine/src/augment/types';
import {
  cutmix,
  cutmixBox,
  cutout,
  defaultCutoutSize,
  flipcrop,
  mixup,
  none,
  parseAugment,
  randaugment,
  RANDAUGMENT_OPS,
  type CutmixInfo,
  type MixInfo,
} from '../../../engine/src/augment';

/** n images of h x w x c with distinct values (image i, flat index k) -> (i * 100 + k + 1) / 1000. */
function makeBatch(n: number, h: number, w: number, c: number, numClasses = 3): Batch {
  const ppi = h * w * c;
  const x = Float32Array.from({ length: n * ppi }, (_, j) => ((Math.floor(j / ppi) * 100 + (j % ppi) + 1) / 1000));
  const y = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) y[i * numClasses + (i % numClasses)] = 1;
  return { x, y, n, shape: [h, w, c], numClasses };
}

const img = (b: Batch, i: number) => {
  const ppi = b.shape[0] * b.shape[1] * b.shape[2];
  return Array.from(b.x.subarray(i * ppi, (i + 1) * ppi));
};

test('none returns its input; augmentations never mutate the input batch', () => {
  const b = makeBatch(4, 4, 4, 3);
  assert.equal(none(b, new Rng(1)), b);
  const copy = Float32Array.from(b.x);
  const ycopy = Float32Array.from(b.y);
  for (const spec of ['flipcrop', 'cutout', 'mixup', 'cutmix', 'randaugment:3:10']) {
    const out = parseAugment(spec).augment(b, new Rng(7));
    assert.equal(out.x.length, b.x.length, spec);
    assert.equal(out.y.length, b.y.length, spec);
    assert.deepEqual(out.shape, b.shape);
    assert.deepEqual(b.x, copy, `${spec} mutated x`);
    assert.deepEqual(b.y, ycopy, `${spec} mutated y`);
    for (const v of out.x) assert.ok(v >= 0 && v <= 1, `${spec}: value ${v}`);
    for (let i = 0; i < out.n; i++) {
      const s = out.y.subarray(i * 3, i * 3 + 3).reduce((a, v) => a + v, 0);
      assert.ok(Math.abs(s - 1) < 1e-6, `${spec}: target row ${i} sums to ${s}`);
    }
  }
});

test('flipcrop: exact output on a 3x3 image for every flip/offset combination', () => {
  // One 3x3 single-channel image 1..9 (scaled) with pad 1: the crop window's top-left (ox, oy)
  // in padded coordinates is in {0,1,2}^2. Expected outputs written out by hand for a few.
  const b: Batch = { x: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9], (v) => v / 10), y: Float32Array.from([1]), n: 1, shape: [3, 3, 1], numClasses: 1 };
  const expected: Record<string, number[]> = {
    'noflip,0,0': [0, 0, 0, 0, 1, 2, 0, 4, 5],
    'noflip,1,1': [1, 2, 3, 4, 5, 6, 7, 8, 9],
    'noflip,2,1': [2, 3, 0, 5, 6, 0, 8, 9, 0],
    'flip,1,1': [3, 2, 1, 6, 5, 4, 9, 8, 7],
    'flip,0,2': [0, 6, 5, 0, 9, 8, 0, 0, 0],
  };
  const seen = new Set<string>();
  for (let seed = 0; seed < 400 && seen.size < Object.keys(expected).length; seed++) {
    const probe = new Rng(seed);
    const flip = probe.next() < 0.5;
    const oy = probe.int(3);
    const ox = probe.int(3);
    const key = `${flip ? 'flip' : 'noflip'},${ox},${oy}`;
    const out = flipcrop(1)(b, new Rng(seed));
    if (expected[key]) {
      seen.add(key);
      assert.deepEqual(Array.from(out.x, (v) => Math.round(v * 10)), expected[key], key);
    }
    assert.equal(out.y, b.y);
  }
  assert.equal(seen.size, Object.keys(expected).length);
});

test('flipcrop: flips about half the images, offsets uniform over [0, 2*pad]', () => {
  // pad 0: output is the image or its mirror; count mirrors over 2000 single-row images.
  const b: Batch = { x: Float32Array.from({ length: 2000 * 2 }, (_, j) => (j % 2 === 0 ? 0.25 : 0.75)), y: new Float32Array(2000), n: 2000, shape: [1, 2, 1], numClasses: 1 };
  const out = flipcrop(0)(b, new Rng(3));
  let flips = 0;
  for (let i = 0; i < 2000; i++) if (out.x[2 * i] === 0.75) flips++;
  // Binomial(2000, 1/2): sd 22.4; 5 sd either side.
  assert.ok(Math.abs(flips - 1000) < 112, `flips = ${flips}`);
  assert.throws(() => flipcrop(-1), /padding must be an integer >= 0/);
});

test('cutout: one size x size zero square centred on a random pixel, clipped; default half the side', () => {
  assert.equal(defaultCutoutSize(32, 32), 16);
  assert.equal(defaultCutoutSize(28, 28), 14);
  assert.equal(defaultCutoutSize(4, 4), 2);
  const ones: Batch = { x: new Float32Array(3 * 16 * 2).fill(1), y: Float32Array.from([1, 1, 1]), n: 3, shape: [4, 4, 2], numClasses: 1 };
  const rng = new Rng(11);
  const probe = new Rng(rng.state());
  const out = cutout(3)(ones, rng);
  for (let i = 0; i < 3; i++) {
    const cy = probe.int(4);
    const cx = probe.int(4);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const inside = y >= cy - 1 && y < cy + 2 && x >= cx - 1 && x < cx + 2;
        for (let k = 0; k < 2; k++) assert.equal(out.x[i * 32 + (y * 4 + x) * 2 + k], inside ? 0 : 1, `image ${i} (${x},${y})`);
      }
    }
  }
  // Default size on 8x8 is 4: an interior centre zeroes exactly 16 pixels.
  const b8: Batch = { x: new Float32Array(64).fill(1), y: Float32Array.from([1]), n: 1, shape: [8, 8, 1], numClasses: 1 };
  let sawFull = false;
  for (let seed = 0; seed < 50; seed++) {
    const zeros = cutout()(b8, new Rng(seed)).x.filter((v) => v === 0).length;
    assert.ok(zeros >= 4 && zeros <= 16); // clipped at a corner: at least 2x2 remains inside
    if (zeros === 16) sawFull = true;
  }
  assert.ok(sawFull);
});

test('mixup: x and y are the lambda-mix with a permutation of the batch', () => {
  const b = makeBatch(5, 2, 2, 3);
  let info: MixInfo | undefined;
  const out = mixup(0.4, (m) => (info = m))(b, new Rng(5));
  assert.ok(info);
  const { lambda, perm } = info!;
  assert.ok(lambda > 0 && lambda < 1);
  assert.deepEqual(Array.from(perm).sort(), [0, 1, 2, 3, 4]);
  for (let i = 0; i < 5; i++) {
    const a = img(b, i);
    const p = img(b, perm[i]);
    img(out, i).forEach((v, k) => assert.equal(v, Math.fround(lambda * a[k] + (1 - lambda) * p[k])));
    for (let c = 0; c < 3; c++) {
      assert.equal(out.y[i * 3 + c], Math.fround(lambda * b.y[i * 3 + c] + (1 - lambda) * b.y[perm[i] * 3 + c]));
    }
  }
  // Same Rng state, same result.
  assert.deepEqual(mixup(0.4)(b, new Rng(5)).x, out.x);
  assert.throws(() => mixup(0), /alpha must be a finite number > 0/);
});

test('mixup lambda ~ Beta(alpha, alpha): mean 1/2, variance 1/(4(2 alpha + 1))', () => {
  for (const alpha of [0.2, 1]) {
    const rng = new Rng(alpha === 1 ? 1 : 2);
    const xs = Array.from({ length: 4000 }, () => {
      let l = 0;
      mixup(alpha, (i) => (l = i.lambda))(makeBatch(2, 1, 1, 1), rng);
      return l;
    });
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const v = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
    const trueVar = 1 / (4 * (2 * alpha + 1));
    // Standard error of the mean is sqrt(trueVar / 4000) < 0.008; allow 5 of them.
    assert.ok(Math.abs(mean - 0.5) < 0.04, `alpha ${alpha}: mean ${mean}`);
    assert.ok(Math.abs(v - trueVar) < 0.15 * trueVar, `alpha ${alpha}: variance ${v} vs ${trueVar}`);
  }
});

test('cutmix box: reference rand_bbox arithmetic, clipped', () => {
  // lambda 0.75 -> cut side floor(4 * 0.5) = 2; centre (0, 3) -> x [0, 1), y [2, 4).
  assert.deepEqual(cutmixBox(4, 4, 0.75, 0, 3), { x0: 0, x1: 1, y0: 2, y1: 4 });
  // lambda 0 -> the whole image when centred.
  assert.deepEqual(cutmixBox(4, 4, 0, 2, 2), { x0: 0, x1: 4, y0: 0, y1: 4 });
  // lambda 1 -> empty box.
  const e = cutmixBox(32, 32, 1, 10, 10);
  assert.equal((e.x1 - e.x0) * (e.y1 - e.y0), 0);
});

test('cutmix: pasted box from the permuted partner, targets mixed by the pasted area', () => {
  const b = makeBatch(6, 4, 4, 3);
  let info: CutmixInfo | null = null;
  const out = cutmix(1, 1, (m) => (info = m))(b, new Rng(21));
  assert.ok(info);
  const { perm, box, lambdaAdjusted } = info as CutmixInfo;
  assert.equal(lambdaAdjusted, 1 - ((box.x1 - box.x0) * (box.y1 - box.y0)) / 16);
  for (let i = 0; i < 6; i++) {
    const self = img(b, i);
    const partner = img(b, perm[i]);
    const got = img(out, i);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const inBox = x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1;
        for (let k = 0; k < 3; k++) {
          const j = (y * 4 + x) * 3 + k;
          assert.equal(got[j], inBox ? partner[j] : self[j]);
        }
      }
    }
    for (let c = 0; c < 3; c++) {
      assert.equal(out.y[i * 3 + c], Math.fround(lambdaAdjusted * b.y[i * 3 + c] + (1 - lambdaAdjusted) * b.y[perm[i] * 3 + c]));
    }
  }
  // prob 0: never applied.
  let called: CutmixInfo | null | undefined;
  assert.equal(cutmix(1, 0, (m) => (called = m))(b, new Rng(1)), b);
  assert.equal(called, null);
  // Over many batches the mean pasted fraction is E[1 - lambda_adj] (a bit under 1/2 because of clipping).
  const rng = new Rng(8);
  let s = 0;
  const cm = cutmix(1, 1, (m) => (s += 1 - m!.lambdaAdjusted));
  for (let t = 0; t < 2000; t++) cm(makeBatch(2, 8, 8, 1), rng);
  assert.ok(s / 2000 > 0.2 && s / 2000 < 0.5, `mean pasted area ${s / 2000}`);
});

test('randaugment: N ops per image chosen by the Rng, magnitude scales each op', () => {
  const b = makeBatch(6, 6, 6, 3);
  // Replay the draws: op index, then a sign for signed ops, per op per image.
  const rng = new Rng(33);
  const probe = new Rng(rng.state());
  const chosen: string[][] = [];
  const out = randaugment(2, 7, (_i, ops) => chosen.push(ops))(b, rng);
  assert.equal(chosen.length, 6);
  for (let i = 0; i < 6; i++) {
    let cur = Float32Array.from(img(b, i));
    for (let k = 0; k < 2; k++) {
      const op = RANDAUGMENT_OPS[probe.int(RANDAUGMENT_OPS.length)];
      const sign = op.signed ? (probe.next() < 0.5 ? -1 : 1) : 1;
      assert.equal(op.name, chosen[i][k]);
      cur = Float32Array.from(op.apply(cur, { h: 6, w: 6, c: 3 }, 0.7, sign));
    }
    assert.deepEqual(img(out, i), Array.from(cur));
  }
  assert.equal(out.y, b.y);
  // Magnitude 0: every op with a magnitude is the identity (on 8-bit-representable values).
  const q = makeBatch(1, 5, 5, 1);
  q.x = Float32Array.from(q.x, (v) => Math.round(v * 255) / 255);
  for (const op of RANDAUGMENT_OPS) {
    if (['autocontrast', 'equalize'].includes(op.name)) continue;
    for (const sign of [-1, 1]) {
      assert.deepEqual(op.apply(q.x, { h: 5, w: 5, c: 1 }, 0, sign), q.x, `${op.name} at magnitude 0`);
    }
  }
  // N = 0 is the identity.
  assert.deepEqual(randaugment(0, 9)(b, new Rng(1)).x, b.x);
  assert.throws(() => randaugment(2, 11), /magnitude M must be in \[0, 10\]/);
  // Full-magnitude ops at known values: translate 45% of 6 px -> 3 px (rounded from 2.7).
  const tx = RANDAUGMENT_OPS.find((o) => o.name === 'translateX')!;
  const row = Float32Array.from([1, 2, 3, 4, 5, 6], (v) => v / 10);
  assert.deepEqual(Array.from(tx.apply(row, { h: 1, w: 6, c: 1 }, 1, 1), (v) => Math.round(v * 10)), [0, 0, 0, 1, 2, 3]);
  const post = RANDAUGMENT_OPS.find((o) => o.name === 'posterize')!;
  assert.deepEqual(Array.from(post.apply(Float32Array.from([200 / 255]), { h: 1, w: 1, c: 1 }, 1, 1), (v) => Math.round(v * 255)), [192]); // 4 bits
  const sol = RANDAUGMENT_OPS.find((o) => o.name === 'solarize')!;
  assert.deepEqual(Array.from(sol.apply(Float32Array.from([0.2, 0.6]), { h: 1, w: 2, c: 1 }, 0.5, 1)), [Math.fround(0.2), Math.fround(1 - Math.fround(0.6))]); // threshold 128
});

test('parseAugment: names, parameters, defaults, chaining, errors', () => {
  assert.equal(parseAugment('none').name, 'none');
  assert.equal(parseAugment('').name, 'none');
  assert.equal(parseAugment('flipcrop').name, 'flipcrop:4');
  assert.equal(parseAugment('flipcrop:2').name, 'flipcrop:2');
  assert.equal(parseAugment('cutout').name, 'cutout');
  assert.equal(parseAugment('cutout:8').name, 'cutout:8');
  assert.equal(parseAugment('mixup').name, 'mixup:1');
  assert.equal(parseAugment('mixup:0.2').name, 'mixup:0.2');
  assert.equal(parseAugment('cutmix').name, 'cutmix:1:1');
  assert.equal(parseAugment('cutmix:1:0.5').name, 'cutmix:1:0.5');
  assert.equal(parseAugment('randaugment').name, 'randaugment:2:9');
  assert.equal(parseAugment('RandAugment:3:5').name, 'randaugment:3:5');
  assert.equal(parseAugment(' flipcrop + cutout:8 ').name, 'flipcrop:4+cutout:8');
  assert.equal(parseAugment('none+mixup').name, 'mixup:1');
  // A chain applies its parts in order with the same Rng.
  const b = makeBatch(3, 4, 4, 1);
  const chained = parseAugment('flipcrop:1+cutout:2').augment(b, new Rng(4));
  const r = new Rng(4);
  const manual = cutout(2)(flipcrop(1)(b, r), r);
  assert.deepEqual(chained.x, manual.x);
  assert.throws(() => parseAugment('autoaugment'), /unknown augmentation 'autoaugment'.*known: none, flipcrop/);
  assert.throws(() => parseAugment('mixup:abc'), /alpha must be a number, got 'abc'/);
  assert.throws(() => parseAugment('cutout:2.5'), /size must be an integer/);
  assert.throws(() => parseAugment('randaugment:2:9:1'), /at most 2 parameters/);
  assert.throws(() => parseAugment('none:1'), /at most 0 parameters/);
  assert.throws(() => parseAugment('flipcrop+'), /empty part/);
  assert.throws(() => parseAugment('cutmix:1:2'), /probability must be in \[0, 1\]/);
});

test('malformed batches are rejected', () => {
  const b = makeBatch(2, 4, 4, 1);
  const bad = { ...b, n: 3 };
  for (const spec of ['flipcrop', 'cutout', 'mixup', 'cutmix', 'randaugment']) {
    assert.throws(() => parseAugment(spec).augment(bad, new Rng(1)), /batch: x has 32 values, expected n\*h\*w\*c = 3\*4\*4\*1/, spec);
  }
  assert.throws(() => mixup()({ ...b, numClasses: 4 }, new Rng(1)), /y has 6 values, expected n\*numClasses = 2\*4/);
});
