import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { createModel, type ModelSpec } from '../../engine/src/engines/tfjs/models';
import { Rng } from '../../engine/src/rng';

const SPECS: [ModelSpec, [number, number, number]][] = [
  [{ kind: 'mlp', hidden: [16, 8] }, [6, 6, 1]],
  [{ kind: 'convnet' }, [8, 8, 3]],
  [{ kind: 'convnet', width: 0.5 }, [9, 7, 1]],
  [{ kind: 'resnet9', width: 0.5 }, [8, 8, 3]],
  [{ kind: 'lenet', width: 0.5 }, [9, 7, 3]],
];

function input(n: number, shape: [number, number, number], seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  const size = n * shape[0] * shape[1] * shape[2];
  return tf.tensor4d(Float32Array.from({ length: size }, () => rng.next()), [n, ...shape]);
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`models: forward shape and gradients on ${backend}`, async () => {
    await initBackend(backend);
    for (const [spec, shape] of SPECS) {
      const m = createModel(spec, shape, 5, 3);
      const before = tf.memory().numTensors;
      const x = input(4, shape, 1);
      const y = m.apply(x, false);
      assert.deepEqual(y.shape, [4, 5], spec.kind);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.apply(x, true))) as tf.Scalar, m.trainableVariables);
      assert.equal(Object.keys(grads).length, m.trainableVariables.length);
      for (const v of m.trainableVariables) {
        const g = grads[v.name];
        assert.deepEqual(g.shape, v.shape);
        assert.ok(Array.from(g.dataSync()).every(Number.isFinite), `${spec.kind} ${v.name}`);
      }
      tf.dispose([x, y, value, ...Object.values(grads)]);
      assert.equal(tf.memory().numTensors, before, `${spec.kind}: no leak`);
      m.dispose();
    }
  });
}

test('models: gradients on wasm match cpu (ConvNet, ResNet9, LeNet)', async () => {
  await initBackend('wasm');
  for (const [spec, shape] of SPECS.slice(1)) {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const m = createModel(spec, shape, 5, 3);
      const x = input(6, shape, 2);
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(m.apply(x, true, { rng: new Rng(1) }))) as tf.Scalar, m.trainableVariables);
      const out = m.trainableVariables.map((v) => grads[v.name].dataSync().slice());
      tf.dispose([x, ...Object.values(grads)]);
      m.dispose();
      return out;
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    ref.forEach((r, i) => {
      let num = 0;
      let den = 0;
      r.forEach((v, j) => { num = Math.max(num, Math.abs(v - got[i][j])); den = Math.max(den, Math.abs(v)); });
      assert.ok(num <= 1e-4 * den + 1e-6, `${spec.kind} var ${i}: ${num} vs scale ${den}`);
    });
  }
});

test('models: same seed, same initial weights; different seed differs; width scales', async () => {
  await initBackend('cpu');
  const a = createModel({ kind: 'convnet' }, [8, 8, 1], 10, 42);
  const b = createModel({ kind: 'convnet' }, [8, 8, 1], 10, 42);
  const c = createModel({ kind: 'convnet' }, [8, 8, 1], 10, 43);
  a.trainableVariables.forEach((v, i) => assert.deepEqual(v.dataSync(), b.trainableVariables[i].dataSync()));
  assert.notDeepEqual(a.trainableVariables[0].dataSync(), c.trainableVariables[0].dataSync());
  const w2 = createModel({ kind: 'convnet', width: 2 }, [8, 8, 1], 10, 42);
  assert.equal(w2.trainableVariables[0].shape[3], 24);
  assert.ok(w2.numParams() > 3 * a.numParams());
  const mlp = createModel({ kind: 'mlp' }, [28, 28, 1], 10, 1);
  assert.equal(mlp.numParams(), 784 * 256 + 256 + 256 * 10 + 10);
  // LeNet: conv5x5-8, pool, conv5x5-16, pool (28 -> 14 -> 7), dense 128, dense; the torch
  // engine's LeNet has the same count (engine/torch/tests/test_models.py).
  const lenet = createModel({ kind: 'lenet' }, [28, 28, 1], 10, 1);
  assert.equal(lenet.numParams(), 5 * 5 * 1 * 8 + 8 + 5 * 5 * 8 * 16 + 16 + 7 * 7 * 16 * 128 + 128 + 128 * 10 + 10);
  assert.deepEqual(lenet.trainableVariables.map((v) => v.shape), [[5, 5, 1, 8], [8], [5, 5, 8, 16], [16], [784, 128], [128], [128, 10], [10]]);
  // pooling floors odd sizes (9x7 -> 4x3 -> 2x1), as Keras' MaxPooling2D and torch's max_pool2d
  const odd = createModel({ kind: 'lenet' }, [9, 7, 1], 10, 1);
  assert.deepEqual(odd.trainableVariables[4].shape, [2 * 1 * 16, 128]);
  assert.throws(() => createModel({ kind: 'lenet' }, [3, 8, 1], 10, 1), /at least 4x4/);
  for (const m of [a, b, c, w2, mlp, lenet, odd]) m.dispose();
});

test('models: eval mode is deterministic, training mode updates BN statistics unless told not to', async () => {
  await initBackend('wasm');
  const m = createModel({ kind: 'resnet9', width: 0.5 }, [8, 8, 3], 4, 1);
  const x = input(8, [8, 8, 3], 5);
  const e1 = m.apply(x, false).dataSync();
  const e2 = m.apply(x, false).dataSync();
  assert.deepEqual(e1, e2);
  const stats0 = m.stateVariables.map((v) => v.dataSync().slice());
  m.apply(x, true, { updateStats: false }).dispose();
  m.stateVariables.forEach((v, i) => assert.deepEqual(v.dataSync(), stats0[i]));
  m.apply(x, true).dispose();
  assert.notDeepEqual(m.stateVariables[0].dataSync(), stats0[0]);
  x.dispose();
  m.dispose();
});
