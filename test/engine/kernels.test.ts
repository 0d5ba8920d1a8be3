import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/src/backend';
import { registerWasmTrainingKernels, setFilterGradVariant, WASM_TRAINING_KERNELS } from '../../engine/src/kernels';
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
