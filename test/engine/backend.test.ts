import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, listBackends, wasmBinaryDir } from '../../engine/src/engines/tfjs/backend';

test('listBackends reports every backend, native ones with a plain reason when missing', async () => {
  const list = await listBackends({ backendsDir: path.join(os.tmpdir(), 'lossmith-no-backends', 'node_modules') });
  assert.deepEqual(list.map((b) => b.name), ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
  for (const b of list.slice(0, 2)) {
    if (!b.available) assert.match(b.reason ?? '', /not installed|failed to load|already loaded/);
  }
  assert.equal(list.find((b) => b.name === 'wasm')!.available, true);
  assert.equal(list.find((b) => b.name === 'cpu')!.available, true);
});

test('initBackend: wasm, cpu, auto', async () => {
  const w = await initBackend('wasm');
  assert.equal(w.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(w.device, 'cpu');
  assert.ok(w.threads >= 1);
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'training kernels registered');
  const c = await initBackend('cpu');
  assert.equal(c.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  const a = await initBackend('auto');
  assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm'].includes(a.name));
  assert.equal(tf.getBackend(), a.name === 'wasm' ? 'wasm' : 'tensorflow');
});

test('initBackend: a missing native backend throws with the reason', async () => {
  const st = (await listBackends()).find((b) => b.name === 'tensorflow-gpu')!;
  if (st.available) return; // installed on this machine: nothing to check
  await assert.rejects(initBackend('tensorflow-gpu'), /not installed/);
});

test('wasm binaries are found, and a wasmDir override is honoured', () => {
  const dir = wasmBinaryDir();
  assert.ok(dir && dir.endsWith('dist'));
  assert.equal(wasmBinaryDir({ wasmDir: '/opt/x' }), '/opt/x');
});
