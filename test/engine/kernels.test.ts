import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { registerWasmTrainingKernels, setFilterGradVariant, setInputGradMode, WASM_TRAINING_KERNELS } from '../../engine/src/engines/tfjs/kernels';
import { batchNorm, ParamStore, setFusedBatchNorm, swish } from '../../engine/src/engines/tfjs/models/layers';
import { Rng } from '../../engine/src/rng';

function rand(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1));
}

/** max |a-b| / max |b| */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
type Case = [number[], number[], number | [number, number], Pad];
const CASES: Case[] = [
  [[2, 7, 7, 3], [3, 3, 3, 4], 1, 'same'],
  [[2, 8, 8, 3], [3, 3, 3, 5], 2, 'same'],
  [[2, 9, 9, 3], [3, 3, 3, 5], 2, 'valid'],
  [[3, 10, 9, 4], [5, 3, 4, 2], [2, 3], 'valid'],
  [[2, 8, 8, 8], [3, 3, 8, 16], 1, 'valid'],
  [[2, 8, 8, 16], [3, 3, 16, 16], 1, 'same'],
  [[2, 8, 8, 3], [3, 3, 3, 4], 1, [[0, 0], [1, 2], [0, 1], [0, 0]]],
  [[2, 9, 8, 3], [3, 3, 3, 4], 2, [[0, 0], [2, 1], [1, 0], [0, 0]]],
  [[2, 6, 6, 3], [1, 1, 3, 4], 1, [[0, 0], [2, 1], [1, 2], [0, 0]]], // pad > k-1: negative inner padding
  [[2, 8, 8, 4], [1, 1, 4, 6], 2, 'same'],
  [[2, 8, 8, 12], [3, 3, 12, 24], 2, 'same'],
  [[1, 5, 5, 2], [5, 5, 2, 3], 1, 'same'],
  [[2, 28, 28, 1], [3, 3, 1, 12], 2, 'same'], // the ConvNet's strided layers (pad 0 top, 1 bottom)
  [[2, 14, 14, 24], [3, 3, 24, 48], 2, 'same'],
  [[2, 11, 10, 3], [4, 5, 3, 4], [3, 2], 'same'],
  [[2, 12, 12, 3], [2, 2, 3, 4], 3, 'valid'], // kernel smaller than the stride: phases with no tap
  [[2, 9, 9, 3], [3, 3, 3, 4], 2, [[0, 0], [3, 0], [0, 3], [0, 0]]], // pad beyond the kernel: upsampling fallback
];

async function convGrads(backend: string, [xs, ws, s, p]: Case): Promise<[Float32Array, Float32Array]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(rand(xs, 1), xs as [number, number, number, number]);
    const w = tf.tensor4d(rand(ws, 2), ws as [number, number, number, number]);
    const dy = tf.conv2d(x, w, s, p);
    const dyv = tf.tensor(rand(dy.shape, 3), dy.shape);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p), dyv)))([x, w]);
    return [gx.dataSync() as Float32Array, gw.dataSync() as Float32Array] as [Float32Array, Float32Array];
  });
}

test('registerWasmTrainingKernels is idempotent and supplies the kernels', async () => {
  await initBackend('wasm');
  registerWasmTrainingKernels();
  registerWasmTrainingKernels();
  for (const k of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(k, 'wasm'), k);
});

for (const variant of ['dy-filter', 'x-filter', 'auto'] as const) {
  test(`conv2d input and filter gradients match cpu (filter variant ${variant})`, async () => {
    await initBackend('wasm');
    setFilterGradVariant(variant);
    try {
      for (const c of CASES) {
        const ref = await convGrads('cpu', c);
        await tf.setBackend('wasm');
        const before = tf.memory().numTensors;
        const got = await convGrads('wasm', c);
        assert.equal(tf.memory().numTensors, before, 'no tensor leak');
        const ex = relErr(got[0], ref[0]);
        const ew = relErr(got[1], ref[1]);
        assert.ok(ex < 1e-5, `dx ${JSON.stringify(c)}: ${ex}`);
        assert.ok(ew < 1e-5, `dW ${JSON.stringify(c)}: ${ew}`);
      }
    } finally {
      setFilterGradVariant('auto');
    }
  });
}

test('strided input gradient: phase split and zero-upsampling agree with cpu and with each other', async () => {
  await initBackend('wasm');
  try {
    for (const c of CASES.filter((k) => k[2] !== 1)) {
      const ref = await convGrads('cpu', c);
      setInputGradMode('upsample');
      const up = await convGrads('wasm', c);
      setInputGradMode('phase');
      const ph = await convGrads('wasm', c);
      assert.ok(relErr(up[0], ref[0]) < 1e-5, `upsample ${JSON.stringify(c)}`);
      assert.ok(relErr(ph[0], ref[0]) < 1e-5, `phase ${JSON.stringify(c)}: ${relErr(ph[0], ref[0])}`);
      assert.ok(relErr(ph[0], up[0]) < 1e-5, `phase vs upsample ${JSON.stringify(c)}`);
    }
  } finally {
    setInputGradMode('phase');
  }
});

test('BatchMatMul with transposes matches cpu', async () => {
  await initBackend('wasm');
  const shapes: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[2, 7, 5], [2, 3, 7], true, true],
    [[4, 6, 5], [4, 6, 9], true, false],
    [[64, 784], [256, 784], false, true],
  ];
  for (const [as, bs, ta, tb] of shapes) {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => tf.matMul(tf.tensor(rand(as, 4), as), tf.tensor(rand(bs, 5), bs), ta, tb).dataSync());
    };
    const ref = await run('cpu');
    const before = (await tf.setBackend('wasm'), tf.memory().numTensors);
    const got = await run('wasm');
    assert.equal(tf.memory().numTensors, before);
    const e = relErr(got, ref);
    assert.ok(e < 1e-5, `${as} x ${bs} ta=${ta} tb=${tb}: ${e}`);
  }
});

test('other training gradients used by the models match cpu on wasm', async () => {
  // batch-norm moments, swish, global average pool, max-pool, dropout-style mask, residual add
  const f = (x: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const n = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-3)));
    const s = tf.mul(n, tf.sigmoid(n));
    const p = tf.maxPool(s as tf.Tensor4D, 2, 2, 'same');
    const r = tf.add(p, tf.avgPool(s as tf.Tensor4D, 2, 2, 'same'));
    return tf.sum(tf.mul(tf.mean(r, [1, 2]), tf.tensor(rand([2, 5], 9), [2, 5])));
  };
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => tf.grad(f)(tf.tensor(rand([2, 6, 6, 5], 8), [2, 6, 6, 5])).dataSync());
  };
  await initBackend('wasm');
  const ref = await run('cpu');
  const got = await run('wasm');
  assert.ok(relErr(got, ref) < 1e-5, `${relErr(got, ref)}`);
});

test('fused batch norm (wasm) equals the composed ops (cpu, and wasm with fusion off): output, gradients, moving statistics', async () => {
  await initBackend('wasm');
  // C = 12 and 24 use the 4-channel blocks, C = 5 and 7 their remainder loops; a large offset
  // checks the two-pass variance.
  const cases: [number[], number][] = [[[4, 6, 6, 12], 0], [[3, 5, 5, 7], 0], [[2, 4, 4, 5], 100], [[64, 24], 0.5]];
  for (const [shape, offset] of cases) {
    const C = shape[shape.length - 1];
    const run = async (backend: string, fused: boolean) => {
      await tf.setBackend(backend);
      setFusedBatchNorm(fused);
      const store = new ParamStore(new Rng(1));
      const bn = batchNorm(store, 'bn', C, 0.9);
      const [gamma, beta] = store.trainable;
      gamma.assign(tf.tensor1d(rand([C], 11).map((v) => 1 + 0.5 * v)));
      beta.assign(tf.tensor1d(rand([C], 12)));
      const x = tf.add(tf.tensor(rand(shape, 13), shape), offset);
      const w = tf.tensor(rand(shape, 14), shape);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn(x, { training: true, rng: new Rng(0), updateStats: true }), w)) as tf.Scalar, store.trainable);
      const gx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(bn(xi, { training: true, rng: new Rng(0), updateStats: false }), w)))(x);
      const out = {
        value: value.dataSync()[0],
        gx: gx.dataSync() as Float32Array,
        dgamma: grads[gamma.name].dataSync() as Float32Array,
        dbeta: grads[beta.name].dataSync() as Float32Array,
        movingMean: store.state[0].dataSync() as Float32Array,
        movingVar: store.state[1].dataSync() as Float32Array,
      };
      tf.dispose([value, gx, ...Object.values(grads)]);
      const leaked = tf.memory().numTensors - before;
      tf.dispose([x, w, ...store.trainable, ...store.state]);
      setFusedBatchNorm(true);
      return { ...out, leaked };
    };
    const ref = await run('cpu', true); // cpu has no fused kernels: the composed ops
    const plain = await run('wasm', false);
    const fused = await run('wasm', true);
    // float64 reference of the same formulas.
    const X = rand(shape, 13).map((v) => v + offset);
    const Wt = rand(shape, 14);
    const G = rand([C], 11).map((v) => 1 + 0.5 * v);
    const Bt = rand([C], 12);
    const M = X.length / C;
    const mean = new Float64Array(C);
    const vr = new Float64Array(C);
    for (let i = 0; i < X.length; i++) mean[i % C] += X[i] / M;
    for (let i = 0; i < X.length; i++) vr[i % C] += (X[i] - mean[i % C]) ** 2 / M;
    const xhat = Array.from(X, (v, i) => (v - mean[i % C]) / Math.sqrt(vr[i % C] + 1e-3));
    const f64 = { value: 0, gx: new Float64Array(X.length), dgamma: new Float64Array(C), dbeta: new Float64Array(C), movingMean: mean.map((m) => 0.1 * m), movingVar: vr.map((v) => 0.9 + 0.1 * v * (M / (M - 1))) };
    xhat.forEach((h, i) => {
      f64.value += (G[i % C] * h + Bt[i % C]) * Wt[i];
      f64.dbeta[i % C] += Wt[i];
      f64.dgamma[i % C] += Wt[i] * h;
    });
    xhat.forEach((h, i) => {
      const c = i % C;
      f64.gx[i] = (G[c] / Math.sqrt(vr[c] + 1e-3) / M) * (M * Wt[i] - f64.dbeta[c] - h * f64.dgamma[c]);
    });
    // The fused kernels accumulate in float64: as close to the reference as float32 storage allows;
    // the composed float32 ops lose digits to x - mean when the mean is large.
    const tol = offset > 10 ? 1e-4 : 2e-5;
    for (const [got, t] of [[fused, 1e-5], [plain, tol], [ref, tol]] as const) {
      assert.equal(got.leaked, 0);
      assert.ok(Math.abs(got.value - f64.value) <= t * Math.max(1, Math.abs(f64.value)), `value ${shape}: ${got.value} vs ${f64.value}`);
      for (const k of ['gx', 'dgamma', 'dbeta', 'movingMean', 'movingVar'] as const) assert.ok(relErr(got[k], f64[k]) < t, `${k} ${shape} (${got === fused ? 'fused' : 'composed'}): ${relErr(got[k], f64[k])}`);
    }
  }
});

test('swish: fused gradient (wasm) and the composed one (cpu) equal the float64 derivative x -> x * sigmoid(x)', async () => {
  await initBackend('wasm');
  const shape = [3, 5, 5, 7];
  const xs = rand(shape, 21).map((v) => 6 * v); // [-6, 6]: both tails of the sigmoid
  const ws = rand(shape, 22);
  const f64 = Array.from(xs, (x, i) => {
    const s = 1 / (1 + Math.exp(-x));
    return ws[i] * (s + x * s * (1 - s));
  });
  for (const [backend, fused] of [['wasm', true], ['wasm', false], ['cpu', true]] as const) {
    await tf.setBackend(backend);
    setFusedBatchNorm(fused);
    const before = tf.memory().numTensors;
    const g = tf.tidy(() => {
      const w = tf.tensor(ws, shape);
      const ctx = { training: true, rng: new Rng(0), updateStats: false };
      return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(swish(x, ctx), w)))(tf.tensor(xs, shape)).dataSync() as Float32Array;
    });
    setFusedBatchNorm(true);
    assert.equal(tf.memory().numTensors, before, 'no leak');
    assert.ok(relErr(g, f64) < 2e-6, `${backend} fused=${fused}: ${relErr(g, f64)}`);
  }
});
