/**
 * Task segmentation on tfjs: every segmentation catalogue loss compiled to tfjs on [N, P, K]
 * images (compileImageLoss) equals the float64 evaluator per image, in value and in its
 * tf.grad gradient by the logits (the symbolic derivative evaluated in float64), within 1e-4
 * relative (absolute below 0.01), on the cpu backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { checkText, differentiate, evalExpr, Pixels, sampleEnv } from '../../grammar/src/index';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { CompileError, compileImageLoss, compileLoss } from '../../engine/src/engines/tfjs/compile';
import { Rng } from '../../engine/src/rng';

const SEG_DIR = path.join(__dirname, '..', '..', '..', 'examples', 'segmentation');

test('segmentation catalogue on tfjs: values and gradients per image equal the float64 evaluator', async () => {
  await initBackend('cpu');
  const rng = new Rng(99);
  const N = 4;
  const P = 30;
  const K = 3;
  const logits = Float32Array.from({ length: N * P * K }, () => (rng.next() - 0.5) * 10);
  const y = new Float32Array(N * P * K);
  for (let i = 0; i < N * P; i++) y[i * K + Math.floor(rng.next() * K)] = 1;
  const dist = Float32Array.from({ length: N * P * K }, () => (rng.next() - 0.5) * 12);
  let worst = 0;
  for (const f of fs.readdirSync(SEG_DIR).filter((x) => x.endsWith('.loss')).sort()) {
    const { model } = checkText(fs.readFileSync(path.join(SEG_DIR, f), 'utf8'));
    for (const loss of model.losses) {
      const fn = compileImageLoss(model, loss.name);
      assert.equal(fn.reads.has('dist'), f === 'boundary.loss', f);
      const z = tf.tensor3d(logits, [N, P, K]);
      const yt = tf.tensor3d(y, [N, P, K]);
      const dt = tf.tensor3d(dist, [N, P, K]);
      const v32 = fn(yt, z, dt).dataSync();
      const g32 = tf.grad((x: tf.Tensor) => tf.sum(fn(yt, x as tf.Tensor3D, dt)))(z).dataSync();
      const dz = differentiate(model, loss.name, 'logits');
      for (let i = 0; i < N; i++) {
        const part = (a: Float32Array): number[] => Array.from(a.subarray(i * P * K, (i + 1) * P * K));
        const env = sampleEnv(model, { logits: part(logits), y: part(y), dist: part(dist), pixels: P });
        const v64 = evalExpr(loss.expr, (n) => env.get(n)) as number;
        const g64 = (evalExpr(dz, (n) => env.get(n)) as Pixels).at.flatMap((r) => Array.from(r as Float64Array));
        const ev = Math.abs(v32[i] - v64) / Math.max(Math.abs(v64), 1e-2);
        let num = 0;
        let den = 0;
        for (let j = 0; j < P * K; j++) {
          num += (g32[i * P * K + j] - g64[j]) ** 2;
          den += g64[j] ** 2;
        }
        const eg = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-2);
        worst = Math.max(worst, ev, eg);
        assert.ok(ev < 1e-4, `${loss.name} image ${i}: value ${v32[i]} vs ${v64}`);
        assert.ok(eg < 1e-4, `${loss.name} image ${i}: gradient error ${eg}`);
      }
      tf.dispose([z, yt, dt]);
    }
  }
  assert.ok(worst < 1e-4);
});

test('a segmentation loss is compiled for images only, and a classification loss not for images', () => {
  const seg = checkText('task segmentation\nloss d = mean_px(-sum(y * log(p)))').model;
  assert.throws(() => compileLoss(seg, 'd'), (e: unknown) => e instanceof CompileError && /'task segmentation' loss: it trains in the segmentation loop \(compileImageLoss\)/.test((e as Error).message));
  const cls = checkText('loss ce = -sum(y * log(p))').model;
  assert.throws(() => compileImageLoss(cls, 'ce'), /not a segmentation loss/);
});
