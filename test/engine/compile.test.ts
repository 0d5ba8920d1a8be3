/**
 * The tfjs lowering against the float64 oracle: for every builtin's test loss and every
 * catalogue loss, value and tf.grad gradient with respect to the logits equal the float64
 * evaluator's value and the symbolic gradient (evaluated in float64), at 50 random points
 * (one-hot and soft y, K = 3 and 7), on the cpu and the wasm backends.
 *
 * Error measure, per point: |v32 - v64| / max(|v64|, 0.01) for the value and
 * ||g32 - g64||_2 / max(||g64||_2, 0.01) for the gradient (relative, and absolute only for
 * quantities below 0.01, where float32 cannot resolve cancellation-prone sums near 0). The
 * reference is evaluated at the float32-rounded inputs. Tolerance 1e-4 everywhere, except the
 * entries listed in LOOSER with the reason. Set LOSSMITH_COMPILE_REPORT=1 to print the table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BUILTINS, checkText, differentiate, evalExpr, sampleEnv, toVector, type BuiltinId, type Model } from '../../grammar/src/index';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { CompileError, compileLoss, compileSource } from '../../engine/src/engines/tfjs/compile';
import { TF } from '../../engine/src/engines/tfjs/lowering';
import { Rng } from '../../engine/src/rng';
import { BUILTIN_LOSSES } from '../helpers/builtin-losses';
import { randomSample, type Sample } from '../helpers/gradcheck';

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');
const TOL = 1e-4;
/** Below this magnitude errors are absolute (float32 cannot resolve cancellation near 0). */
const FLOOR = 1e-2;
/** Documented exceptions: tolerance and why. */
const LOOSER: Record<string, { tol: number; why: string }> = {};

interface Case {
  label: string;
  source: string;
  loss: string;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const id of Object.keys(BUILTIN_LOSSES) as BuiltinId[]) {
    if (!BUILTIN_LOSSES[id]) continue; // a segmentation builtin (test/grammar/segmentation.test.ts)
    out.push({ label: `builtin ${id}`, source: `loss l = ${BUILTIN_LOSSES[id]}\n`, loss: 'l' });
  }
  for (const f of fs.readdirSync(EXAMPLES).filter((n) => n.endsWith('.loss')).sort()) {
    const source = fs.readFileSync(path.join(EXAMPLES, f), 'utf8');
    for (const l of checkText(source).model.losses) out.push({ label: `${f}#${l.name}`, source, loss: l.name });
  }
  return out;
}

function points(seed: number): Sample[][] {
  const rng = new Rng(seed);
  const batches: Sample[][] = [];
  for (const k of [3, 7]) {
    const b: Sample[] = [];
    for (let i = 0; i < 25; i++) b.push(randomSample(rng, { classes: k, soft: i % 2 === 1, scale: 2 }));
    batches.push(b);
  }
  return batches;
}

interface Errs {
  value: number;
  grad: number;
  skipped: number;
  n: number;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function measure(model: Model, c: Case, batches: Sample[][]): Errs {
  const fn = compileLoss(model, c.loss);
  const grad = differentiate(model, c.loss, 'logits');
  const lossExpr = model.losses.find((l) => l.name === c.loss)!.expr;
  const e: Errs = { value: 0, grad: 0, skipped: 0, n: 0 };
  for (const batch of batches) {
    const k = batch[0].logits.length;
    const z32 = batch.map((s) => s.logits.map(Math.fround));
    const y32 = batch.map((s) => s.y.map(Math.fround));
    const logits = tf.tensor2d(z32);
    const y = tf.tensor2d(y32);
    const [v, g] = tf.tidy(() => {
      const value = fn(y as tf.Tensor2D, logits as tf.Tensor2D);
      const gr = tf.grad((z: tf.Tensor) => tf.sum(fn(y as tf.Tensor2D, z as tf.Tensor2D)))(logits);
      return [value.dataSync().slice(), gr.dataSync().slice()];
    });
    tf.dispose([logits, y]);
    batch.forEach((_, i) => {
      const env = sampleEnv(model, { logits: z32[i], y: y32[i] });
      const v64 = evalExpr(lossExpr, (n) => env.get(n)) as number;
      const g64 = Array.from(toVector(evalExpr(grad, (n) => env.get(n)), k));
      if (!Number.isFinite(v64) || !g64.every(Number.isFinite)) {
        e.skipped++;
        return;
      }
      e.n++;
      e.value = Math.max(e.value, Math.abs(v[i] - v64) / Math.max(Math.abs(v64), FLOOR));
      const g32 = Array.from(g.slice(i * k, (i + 1) * k));
      const diff = g32.map((x, j) => x - g64[j]);
      const r = norm(diff) / Math.max(norm(g64), FLOOR);
      e.grad = Math.max(e.grad, Number.isNaN(r) ? Infinity : r);
    });
  }
  return e;
}

test('the lowering table covers every builtin', () => {
  for (const b of BUILTINS) assert.equal(typeof (TF as Record<string, unknown>)[b.id], 'function', b.id);
  assert.equal(Object.keys(TF).length, BUILTINS.length);
});

test('a missing lowering fails to compile, before any training', () => {
  const saved = TF.erf;
  delete (TF as Partial<typeof TF>).erf;
  try {
    assert.throws(() => compileSource('loss l = sum(y * erf(logits))', 'l'), (e: unknown) => e instanceof CompileError && /no tfjs lowering for builtin 'erf'/.test((e as Error).message));
  } finally {
    TF.erf = saved;
  }
});

test('compileSource lists the diagnostics of a broken file; unknown loss and params are errors', () => {
  assert.throws(
    () => compileSource('let a = sum(y * pp)\nloss l = a + foo(1)\n', 'l'),
    (e: unknown) => e instanceof CompileError && /2 errors|errors:/.test((e as Error).message) && /1:\d+ error/.test((e as Error).message) && /2:\d+ error/.test((e as Error).message),
  );
  assert.throws(() => compileSource('loss ce = -sum(y * log_softmax(logits))', 'focal'), /no loss named 'focal' \(this file has: ce\)/);
  assert.throws(() => compileSource('param g = 2\nloss l = -sum(y * log_softmax(g * logits))', 'l', { gamma: 1 }), /unknown param 'gamma'/);
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`tfjs value and gradient equal the float64 evaluator and symbolic gradient (${backend})`, async () => {
    await initBackend(backend);
    const batches = points(20240611);
    const report: string[] = [];
    const failures: string[] = [];
    const before = tf.memory().numTensors;
    for (const c of cases()) {
      const { model, diagnostics } = checkText(c.source, { integrity: false });
      assert.deepEqual(diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), [], c.label);
      const e = measure(model, c, batches);
      const tol = LOOSER[c.label]?.tol ?? TOL;
      report.push(`${c.label.padEnd(36)} value ${e.value.toExponential(1)}  grad ${e.grad.toExponential(1)}  (${e.n} points${e.skipped ? `, ${e.skipped} non-finite in float64 skipped` : ''})`);
      if (!(e.value <= tol && e.grad <= tol)) failures.push(`${c.label}: value err ${e.value}, grad err ${e.grad} > ${tol}`);
      if (e.n < 40) failures.push(`${c.label}: only ${e.n} finite points`);
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor leak');
    if (process.env.LOSSMITH_COMPILE_REPORT) console.log(`[${backend}]\n` + report.join('\n'));
    assert.deepEqual(failures, []);
  });
}

test('params override defaults; lets are computed once; constants fold; per-sample shapes', async () => {
  await initBackend('cpu');
  const src = 'param g = 2\nlet s = sum(y * p)\nloss a = g * (1 - s) + 0 * s\nloss b = 3 * 2\nloss c = -log(sum(y * p))';
  const { model } = checkText(src, { integrity: false });
  const y = tf.tensor2d([[1, 0, 0], [0.5, 0.5, 0]]);
  const z = tf.tensor2d([[1, 2, 3], [0, 0, 200]]);
  const a1 = compileLoss(model, 'a')(y as tf.Tensor2D, z as tf.Tensor2D);
  const a2 = compileLoss(model, 'a', { g: 4 })(y as tf.Tensor2D, z as tf.Tensor2D);
  assert.deepEqual(a1.shape, [2]);
  const [x1, x2] = [a1.arraySync(), a2.arraySync()];
  assert.ok(Math.abs(x2[0] - 2 * x1[0]) < 1e-6);
  const b = compileLoss(model, 'b')(y as tf.Tensor2D, z as tf.Tensor2D);
  assert.deepEqual(b.arraySync(), [6, 6]);
  // log(sum(y * p)) stays finite where float32 p underflows (logit gap 200).
  const c = compileLoss(model, 'c')(y as tf.Tensor2D, z as tf.Tensor2D).arraySync();
  assert.ok(Math.abs(c[1] - 200) < 1e-3, String(c[1]));
  tf.dispose([y, z, a1, a2, b]);
});
