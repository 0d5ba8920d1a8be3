import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { train, learningRate, type LossFn, type TrainOptions } from '../../engine/src/engines/tfjs/train';
import { Rng } from '../../engine/src/rng';
import type { Dataset, Split } from '../../engine/src/data/types';

/** K noisy prototype images per class: learnable in a few epochs. */
function blobs(seed: number, k: number, shape: [number, number, number], nTrain: number, nVal: number, nTest: number, noise = 0.35): Dataset {
  const rng = new Rng(seed);
  const d = shape[0] * shape[1] * shape[2];
  const protos = Array.from({ length: k }, () => Float32Array.from({ length: d }, () => (rng.next() < 0.5 ? 0.15 : 0.85)));
  const split = (n: number): Split => {
    const x = new Float32Array(n * d);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = rng.int(k);
      labels[i] = c;
      for (let j = 0; j < d; j++) x[i * d + j] = Math.min(1, Math.max(0, protos[c][j] + noise * rng.normal()));
    }
    return { x, labels, n };
  };
  return { name: 'blobs', shape, numClasses: k, train: split(nTrain), val: split(nVal), test: split(nTest) };
}

const ce: LossFn = (y, logits) => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;

function base(ds: Dataset, extra: Partial<TrainOptions> = {}): TrainOptions {
  return { model: { kind: 'mlp', hidden: [32] }, dataset: ds, loss: ce, epochs: 3, batchSize: 32, lr: 3e-3, seed: 7, ...extra };
}

test('learning-rate schedule: linear warm-up then cosine to 0', () => {
  assert.equal(learningRate(0, 100, 1, 0.1, 'cosine'), 0.1);
  assert.equal(learningRate(9, 100, 1, 0.1, 'cosine'), 1);
  assert.equal(learningRate(10, 100, 1, 0.1, 'cosine'), 1);
  assert.ok(Math.abs(learningRate(55, 100, 1, 0.1, 'cosine') - 0.5) < 1e-12);
  assert.ok(learningRate(99, 100, 1, 0.1, 'cosine') < 1e-3);
  assert.equal(learningRate(50, 100, 2, 0.1, 'constant'), 2);
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`MLP learns separable blobs on ${backend}`, async () => {
    await initBackend(backend);
    const ds = blobs(1, 4, [6, 6, 1], 320, 80, 80);
    const r = await train(base(ds, { epochs: 4 }));
    assert.equal(r.status, 'completed');
    assert.equal(r.history.length, 4);
    assert.ok(r.history[3].trainLoss < r.history[0].trainLoss, 'loss decreases');
    assert.ok(r.bestValAcc > 0.9, `val acc ${r.bestValAcc}`);
    assert.ok(r.testAcc !== null && r.testAcc > 0.85, `test acc ${r.testAcc}`);
    assert.equal(r.testWeights, 'best');
  });
}

test('ConvNet learns on wasm and ResNet9 trains on wasm (SGD + Nesterov)', async () => {
  await initBackend('wasm');
  const ds = blobs(2, 3, [8, 8, 1], 192, 60, 60);
  const r = await train(base(ds, { model: { kind: 'convnet' }, epochs: 6, lr: 1e-2, warmup: 0 }));
  assert.equal(r.status, 'completed');
  assert.ok(r.bestValAcc > 0.8, `convnet val acc ${r.bestValAcc}`);
  const r2 = await train(base(ds, {
    model: { kind: 'resnet9', width: 0.5 }, epochs: 2, lr: 0.05,
    optimizer: { kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  }));
  assert.equal(r2.status, 'completed');
  assert.ok(r2.history.every((h) => Number.isFinite(h.trainLoss)));
});

test('no tensor leak across steps (plain and SAM) on wasm', async () => {
  await initBackend('wasm');
  const ds = blobs(3, 3, [8, 8, 1], 96, 30, 30);
  for (const sam of [undefined, { rho: 0.05 }, { rho: 0.2, perturbLoss: ce }]) {
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    // testWith 'final': no best-weights snapshot, whose copies would change the count once.
    await train(base(ds, { model: { kind: 'convnet', width: 0.5 }, epochs: 2, batchSize: 16, sam, testWith: 'final', onStep: () => counts.push(tf.memory().numTensors) }));
    assert.ok(counts.length >= 10);
    assert.ok(counts.slice(1).every((c) => c === counts[1]), `tensor counts ${counts.join(',')}`);
    assert.equal(tf.memory().numTensors, before, 'everything freed after train()');
  }
});

test('deterministic: same seed twice gives identical history on cpu', async () => {
  await initBackend('cpu');
  const ds = blobs(4, 3, [6, 6, 1], 96, 30, 30);
  const strip = (r: Awaited<ReturnType<typeof train>>) => r.history.map(({ ms: _ms, ...h }) => h);
  const opts = base(ds, { model: { kind: 'convnet', width: 0.5 }, epochs: 2, batchSize: 16 });
  const a = await train(opts);
  const b = await train(opts);
  assert.deepEqual(strip(a), strip(b));
  assert.equal(a.testAcc, b.testAcc);
  const c = await train({ ...opts, seed: 8 });
  assert.notDeepEqual(strip(a), strip(c));
});

test('SAM and AACE-style steps run and differ from plain training', async () => {
  await initBackend('wasm');
  const ds = blobs(5, 3, [6, 6, 1], 96, 30, 30);
  const strip = (r: Awaited<ReturnType<typeof train>>) => r.history.map((h) => h.trainLoss);
  const plain = await train(base(ds, { epochs: 2 }));
  const sam = await train(base(ds, { epochs: 2, sam: { rho: 0.05 } }));
  const asam = await train(base(ds, { epochs: 2, sam: { rho: 0.5, adaptive: true } }));
  // AACE perturbation loss: -log(1 - p_true).
  const aace: LossFn = (y, logits) => tf.neg(tf.log(tf.sub(1 + 1e-6, tf.sum(tf.mul(y, tf.softmax(logits)), 1)))) as tf.Tensor1D;
  const aaceRun = await train(base(ds, { epochs: 2, sam: { rho: 0.2, perturbLoss: aace } }));
  for (const r of [sam, asam, aaceRun]) {
    assert.equal(r.status, 'completed');
    assert.ok(strip(r).every(Number.isFinite));
  }
  // First-epoch loss is measured at the unperturbed weights; the steps differ, so later epochs differ.
  assert.notDeepEqual(strip(plain), strip(sam));
  assert.notDeepEqual(strip(plain), strip(asam));
  assert.notDeepEqual(strip(plain), strip(aaceRun));
  assert.notDeepEqual(strip(sam), strip(aaceRun));
});

test('NaN loss stops with status nan and keeps finished epochs', async () => {
  await initBackend('wasm');
  const ds = blobs(6, 3, [6, 6, 1], 64, 20, 20);
  let calls = 0;
  const nanLater: LossFn = (y, logits) => {
    calls++;
    const l = ce(y, logits);
    return calls > 5 ? (tf.mul(l, NaN) as tf.Tensor1D) : l;
  };
  const r = await train(base(ds, { loss: nanLater, epochs: 5, batchSize: 32 })); // 2 steps per epoch
  assert.equal(r.status, 'nan');
  assert.equal(r.history.length, 2);
  assert.match(r.reason ?? '', /NaN/);
  assert.ok(r.testAcc !== null, 'tested with the best finished weights');
  const always: LossFn = (y, logits) => tf.mul(ce(y, logits), NaN) as tf.Tensor1D;
  const r2 = await train(base(ds, { loss: always }));
  assert.equal(r2.status, 'nan');
  assert.equal(r2.history.length, 0);
  assert.equal(r2.testAcc, null);
});

test('early stop on low training accuracy; cancellation keeps finished epochs', async () => {
  await initBackend('wasm');
  const ds = blobs(7, 3, [6, 6, 1], 64, 20, 20);
  const r = await train(base(ds, { epochs: 5, earlyStop: { minTrainAcc: 1.01, afterEpochs: 2 } }));
  assert.equal(r.status, 'early-stopped');
  assert.equal(r.history.length, 2);
  const ac = new AbortController();
  const steps: number[] = [];
  const r2 = await train(base(ds, {
    epochs: 5, signal: ac.signal,
    onStep: (s) => steps.push(s.step),
    onEpoch: (s) => { if (s.epoch === 2) setImmediate(() => ac.abort()); },
  }));
  assert.equal(r2.status, 'cancelled');
  assert.equal(r2.history.length, 2);
  assert.equal(r2.testAcc, null);
  assert.ok(steps.length >= 4);
});

test('real digits (mnist package) train on wasm', async () => {
  const dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const perClass = 60;
  const xs: number[] = [];
  const labels: number[] = [];
  for (let c = 0; c < 10; c++) {
    const data: number[] = JSON.parse(fs.readFileSync(path.join(dir, `${c}.json`), 'utf8')).data;
    for (let i = 0; i < perClass; i++) {
      for (let j = 0; j < 784; j++) xs.push(data[i * 784 + j]);
      labels.push(c);
    }
  }
  // Deterministic interleave: sample i of class c at position i*10+c; first 400 train, rest val/test.
  const n = perClass * 10;
  const order = Array.from({ length: n }, (_, p) => (p % 10) * perClass + Math.floor(p / 10));
  const take = (from: number, to: number): Split => {
    const m = to - from;
    const x = new Float32Array(m * 784);
    const l = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const src = order[from + i];
      for (let j = 0; j < 784; j++) x[i * 784 + j] = xs[src * 784 + j];
      l[i] = labels[src];
    }
    return { x, labels: l, n: m };
  };
  const ds: Dataset = { name: 'digits', shape: [28, 28, 1], numClasses: 10, train: take(0, 400), val: take(400, 500), test: take(500, 600) };
  await initBackend('wasm');
  // Short run: BN momentum 0.9 so the moving statistics used at evaluation converge.
  const r = await train({ model: { kind: 'convnet', bnMomentum: 0.9 }, dataset: ds, loss: ce, epochs: 5, stepsPerEpoch: 25, batchSize: 50, lr: 1e-2, warmup: 0.05, seed: 1 });
  assert.equal(r.status, 'completed');
  assert.ok(r.bestValAcc > 0.45, `digits val acc ${r.bestValAcc}`);
});
