/**
 * Segmentation trainings on the tfjs engine (seg/): the U-Net's shapes and seeded weights, and
 * tiny trainings on digits-clutter (24x24 canvases, a few dozen images, F = 4) of the
 * examples/segmentation losses: completion, history and metric ranges, determinism, tensors
 * not leaking, learning (cross-entropy per pixel beats an all-background prediction by far), the
 * distance maps of the boundary loss, a non-finite loss, cancellation, and the compile error
 * coming before any data is loaded.
 *
 * On the wasm backend: tfjs's pure-JS cpu backend computes convolution filter gradients about
 * 30 times slower than the forward pass (a U-Net step of 32 40x40 images takes over a minute),
 * while wasm runs them on XNNPACK through the engine's training kernels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { engine } from '../../engine/src/engines/tfjs/index';
import { createUNet, instanceNorm, trainSegmentation, unetPadding, type SegRunOutcome } from '../../engine/src/engines/tfjs/seg';
import { loadSegmentation } from '../../engine/src/data/segmentation';
import { segMetrics } from '../../engine/src/data/seg-metrics';
import type { Progress, SegTask, TaskContext } from '../../engine/src/compute/types';

const SEG_DIR = path.join(__dirname, '..', '..', '..', 'examples', 'segmentation');
const source = (file: string): string => fs.readFileSync(path.join(SEG_DIR, file), 'utf8');

/** A tiny task: 24x24 canvases, 64 / 32 / 32 images, F = 4, 2 epochs of 4 steps of 16. */
function tinyTask(file: string, lossName: string, over: Partial<SegTask> = {}): SegTask {
  return {
    kind: 'segmentation',
    lossSource: source(file),
    lossName,
    backend: 'wasm',
    dataset: { spec: 'digits-clutter', seed: 3 },
    seg: { size: 24, train: 64, val: 32, test: 32, filters: 4 },
    lr: 3e-3,
    batchSize: 16,
    epochs: 2,
    seed: 1,
    ...over,
  };
}

function context(onProgress: (p: Progress) => void = () => {}, signal = new AbortController().signal): TaskContext {
  return { signal, progress: onProgress };
}

function assertFiniteRun(r: SegRunOutcome, epochs: number): void {
  assert.equal(r.status, 'completed', r.reason);
  assert.equal(r.history.length, epochs);
  r.history.forEach((h, i) => {
    assert.equal(h.epoch, i + 1);
    for (const v of [h.loss, h.valDice, h.valIou, h.ms]) assert.ok(typeof v === 'number' && Number.isFinite(v), JSON.stringify(h));
    assert.ok(h.valDice! >= 0 && h.valDice! <= 1 && h.valIou! >= 0 && h.valIou! <= h.valDice! + 1e-12, JSON.stringify(h));
  });
  const m = r.metrics;
  assert.ok(m.dice !== null && m.dice >= 0 && m.dice <= 1, JSON.stringify(m));
  assert.ok(m.iou !== null && m.iou >= 0 && m.iou <= 1, JSON.stringify(m));
  assert.ok(m.hd95 !== null && Number.isFinite(m.hd95) && m.hd95 >= 0, JSON.stringify(m));
  assert.equal(r.bestValDice, Math.max(...r.history.map((h) => h.valDice!)));
}

test('U-Net: logits [N, H, W, K] for sides divisible by 4 and not, seeded weights', async () => {
  await initBackend('wasm');
  assert.deepEqual(unetPadding(24), [0, 0]);
  assert.deepEqual(unetPadding(23), [0, 1]);
  assert.deepEqual(unetPadding(22), [1, 1]);
  assert.deepEqual(unetPadding(21), [1, 2]);
  const before = tf.memory().numTensors;
  for (const [H, W, ch, K] of [[24, 24, 1, 2], [23, 30, 3, 3], [13, 17, 1, 2], [4, 5, 2, 4]]) {
    const net = createUNet({ channels: ch, classes: K, filters: 4, seed: 5 });
    const out = tf.tidy(() => net.apply(tf.randomUniform([2, H, W, ch], 0, 1, 'float32', 1) as tf.Tensor4D));
    assert.deepEqual(out.shape, [2, H, W, K], `${H}x${W}x${ch} -> ${K}`);
    assert.ok(Array.from(out.dataSync()).every(Number.isFinite));
    out.dispose();
    net.dispose();
  }
  // The same seed gives the same weights; another seed others.
  const a = createUNet({ channels: 1, classes: 2, filters: 4, seed: 5 });
  const b = createUNet({ channels: 1, classes: 2, filters: 4, seed: 5 });
  const c = createUNet({ channels: 1, classes: 2, filters: 4, seed: 6 });
  assert.equal(a.vars.length, 10 * 3 + 2 * 2 + 2); // 10 3x3 convs (kernel, IN scale and shift), 2 up-convs and the head (kernel, bias)
  assert.equal(a.size, b.size);
  a.vars.forEach((v, i) => assert.deepEqual(v.dataSync(), b.vars[i].dataSync(), v.name));
  assert.notDeepEqual(a.vars[0].dataSync(), c.vars[0].dataSync());
  // He uniform: the first conv's weights lie within sqrt(6 / 9) and spread over it.
  const w0 = Array.from(a.vars[0].dataSync());
  const limit = Math.sqrt(6 / 9);
  assert.ok(w0.every((w) => Math.abs(w) <= limit) && Math.max(...w0.map(Math.abs)) > limit / 2);
  for (const n of [a, b, c]) n.dispose();
  // Instance normalisation: zero mean and unit variance per image and channel (at scale 1, shift 0).
  const { mean, variance } = tf.tidy(() => {
    const x = tf.add(tf.mul(tf.randomNormal([3, 6, 5, 4], 0, 1, 'float32', 2), tf.tensor1d([1, 10, 0.5, 3])), 7) as tf.Tensor4D;
    const m = tf.moments(instanceNorm(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D), [1, 2]);
    return { mean: m.mean.dataSync(), variance: m.variance.dataSync() };
  });
  mean.forEach((v) => assert.ok(Math.abs(v) < 1e-5, `mean ${v}`));
  variance.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-3, `variance ${v}`));
  assert.equal(tf.memory().numTensors, before, 'the U-Net leaves no tensors behind');
  assert.throws(() => createUNet({ channels: 1, classes: 2, filters: 0, seed: 1 }), /filters must be a whole number >= 1/);
});

test('dice.loss: a tiny training completes with finite history and metrics, twice the same, no tensor leaks', async () => {
  await initBackend('wasm');
  const task = tinyTask('dice.loss', 'dice');
  const before = tf.memory().numTensors;
  const atEpoch: number[] = [];
  const kinds: string[] = [];
  const r1 = await trainSegmentation(task, 'wasm', context((p) => {
    kinds.push(p.kind);
    if (p.kind === 'seg-epoch') atEpoch.push(tf.memory().numTensors);
  }));
  assertFiniteRun(r1, 2);
  assert.equal(r1.steps, 2 * 4); // one pass of 64 images at 16 per epoch
  assert.deepEqual(r1.dataset, { name: 'digits-clutter', height: 24, width: 24, channels: 1, classes: 2, train: 64, val: 32, test: 32, foreground: r1.dataset.foreground });
  assert.ok(r1.dataset.foreground > 0.01 && r1.dataset.foreground < 0.2, `foreground ${r1.dataset.foreground}`);
  assert.deepEqual(kinds.filter((k) => k === 'seg-epoch').length, 2);
  assert.ok(kinds.includes('step'));
  assert.equal(atEpoch[0], atEpoch[1], `tensors at the end of each epoch: ${atEpoch}`);
  assert.equal(tf.memory().numTensors, before, 'no tensors left after the training');
  // The same task again, through the engine (backend progress first): the same numbers to the last digit.
  const seen: Progress[] = [];
  const r2 = await engine.segment!(task, context((p) => seen.push(p)));
  assert.equal(seen[0].kind, 'backend');
  assert.equal(r2.backend.name, 'wasm');
  assert.equal(r2.pid, process.pid);
  assert.deepEqual(r2.metrics, r1.metrics);
  assert.deepEqual(r2.history.map(({ ms: _ms, ...h }) => h), r1.history.map(({ ms: _ms, ...h }) => h));
  assert.equal(r2.bestValDice, r1.bestValDice);
});

test('cross-entropy per pixel learns: validation Dice rises, test Dice well above thresholding the ink', async () => {
  await initBackend('wasm');
  // All background scores 0; marking every pixel with target-level ink (the clutter too) about
  // 0.42 on these images. Measured (wasm): validation Dice 0.33 after epoch 1, 0.65 after 8, test 0.60.
  const seg = { size: 24, train: 384, val: 32, test: 64, filters: 8 };
  const r = await trainSegmentation(tinyTask('cross-entropy-pixel.loss', 'ce_pixel', { seg, epochs: 8 }), 'wasm', context());
  assertFiniteRun(r, 8);
  const ds = loadSegmentation('digits-clutter', { seed: 3, ...seg });
  const ink = segMetrics(Int32Array.from(ds.test.images, (v) => (v >= 0.35 ? 1 : 0)), ds.test.masks, ds.test.n, 24, 24, 2).dice;
  assert.ok(ink > 0.3 && ink < 0.5, `ink baseline ${ink}`);
  const dice = r.history.map((h) => h.valDice!);
  assert.ok(dice[7] > dice[0] + 0.15, `validation Dice by epoch ${dice}`);
  assert.ok(r.metrics.dice! > ink + 0.08, `test Dice ${r.metrics.dice} vs ${ink} for the ink`);
});

test('boundary.loss (reads the distance maps) trains with finite numbers', async () => {
  await initBackend('wasm');
  const r = await trainSegmentation(tinyTask('boundary.loss', 'boundary', { params: { alpha: 0.3 } }), 'wasm', context());
  assertFiniteRun(r, 2);
});

test("a loss that overflows ends as 'nan' with a reason, without a step applied", async () => {
  await initBackend('wasm');
  // Finite in float64 everywhere (so it passes the checker), exp(100) overflows float32 at p = 1/2.
  const task = { ...tinyTask('dice.loss', 'dice'), lossSource: 'task segmentation\nloss bad = exp(200 * mean_px(sum(y * p)))', lossName: 'bad' };
  const r = await trainSegmentation(task, 'wasm', context());
  assert.equal(r.status, 'nan');
  assert.match(r.reason!, /loss is Infinity at step 0/);
  assert.equal(r.steps, 0);
  assert.deepEqual(r.history, []);
  assert.deepEqual(r.metrics, { dice: null, iou: null, hd95: null });
  assert.equal(r.bestValDice, null);
});

test("an abort after the first epoch ends as 'cancelled' before the next step", async () => {
  await initBackend('wasm');
  const ac = new AbortController();
  const r = await trainSegmentation(tinyTask('dice.loss', 'dice', { epochs: 5 }), 'wasm', context((p) => {
    if (p.kind === 'seg-epoch' && p.epoch.epoch === 1) ac.abort();
  }, ac.signal));
  // No step after the abort: exactly the first epoch's 4 steps (no timing: speed is the bench's).
  assert.equal(r.status, 'cancelled');
  assert.equal(r.reason, 'cancelled');
  assert.equal(r.history.length, 1);
  assert.equal(r.steps, 4);
  assert.deepEqual(r.metrics, { dice: null, iou: null, hd95: null });
});

test('a compile error rejects with its message before any data is loaded', async () => {
  await initBackend('wasm');
  // The dataset does not exist: loading it first would fail with "no such folder" instead.
  const task = tinyTask('dice.loss', 'no_such_loss', { dataset: { spec: 'no/such/folder', seed: 1 } });
  await assert.rejects(trainSegmentation(task, 'wasm', context()), (e: Error) => e.name === 'CompileError' && /no_such_loss/.test(e.message));
  // A valid loss on the same missing folder fails on the data (the order is the compile's doing).
  await assert.rejects(trainSegmentation({ ...task, lossName: 'dice' }, 'wasm', context()), /no such folder/);
});
