/**
 * Every catalogue loss (examples/*.loss) and its gradient with respect to the logits, in float32,
 * at extreme margins, in both engines, against a high-precision reference of the loss AS WRITTEN:
 *
 *  - points (test/helpers/extremes.ts): 10 classes, one-hot targets; 68 with the true logit
 *    leading the others (uniform in [-1, 1]) by m in -100 ... +100, and 12 with logits up to
 *    +-1e4 (the true logit at +-1e4, all logits uniform in [-1e4, 1e4], a lead of 5 at that scale);
 *  - reference: test/fixtures/stable-reference.json, the written loss and its symbolic gradient
 *    evaluated in mpmath with as many digits as the point needs (up to thousands: 1 - pt at a
 *    lead of 1e4), rounded to doubles (make_stable_reference.py; the test fails, naming the
 *    losses, when a catalogue loss no longer matches its fixture);
 *  - engines: the tfjs lowering (compileLoss, float32, cpu and wasm backends) and the exported
 *    PyTorch module run by a Python with torch (float32, class-index targets), both through the
 *    stable rewrites of grammar/src/stable.ts;
 *  - tolerance, mixed: |v - ref| / max(|ref|, 1e-2) <= 1e-4 for the value, and
 *    ||g - ref||_2 / max(||ref||_2, 1e-2) <= 1e-4 for the gradient: relative, and absolute
 *    (1e-6) below 0.01, where float32's rounding of O(1) intermediates (6e-8 each) is all that
 *    is left of a value near 0;
 *  - every value and gradient is finite, except where the reference itself is beyond float32's
 *    largest number (3.4e38): there the engine must say so with a non-finite number, and the loss
 *    must be listed in BY_DEFINITION with the reason.
 *
 * The worst errors per loss and engine are printed (the tables quoted in docs/export.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { exportLoss } from '../../grammar/src/export/index';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { compileLoss } from '../../engine/src/engines/tfjs/compile';
import { findTorchPython, skipUnless } from '../export/python';
import { catalogueCases, CLASSES, extremePoints, FIXTURE, refNumber, type CatalogueCase, type ExtremePoint, type Fixture } from '../helpers/extremes';

const TOL = 1e-4;
const FLOOR = 1e-2;
const F32_MAX = 3.4028234663852886e38;

/** Losses whose exact value or gradient leaves float32's range at some points, and why. */
const BY_DEFINITION: Record<string, string> = {
  'baikal.loss#baikal':
    'Baikal is -sum(log p) + 1 / pt: 1 / pt exceeds float32\'s largest number (3.4e38) once the target trails the largest logit by about 87 (10 classes) (margins -100 and the +-1e4 points where the target is not on top); the reference (mpmath) is finite, float64 overflows only beyond a trail of about 709',
};

interface Outcome {
  value: number[];
  grad: number[][];
}

interface Row {
  label: string;
  engine: string;
  value: number;
  grad: number;
  worstAt: string;
  overflow: string[];
  failures: string[];
}

const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Fixture;
const cases = catalogueCases();
const points = extremePoints();

function norm(v: number[]): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

function referenceOf(c: CatalogueCase): Fixture['losses'][number] {
  const ref = fixture.losses.find((l) => l.file === c.file && l.loss === c.loss);
  if (!ref) throw new Error(`${c.file}#${c.loss}: no reference; regenerate: node out/test/fixtures/make-stable-reference.js`);
  return ref;
}

/** Errors of one engine's outcome for one loss against the reference. */
function judge(c: CatalogueCase, engine: string, got: Outcome): Row {
  const ref = referenceOf(c);
  const label = `${c.file}#${c.loss}`;
  const row: Row = { label, engine, value: 0, grad: 0, worstAt: '', overflow: [], failures: [] };
  let worst = -1;
  points.forEach((pt, i) => {
    const rv = refNumber(ref.value[i]);
    const rg = ref.grad[i].map(refNumber);
    const v = got.value[i];
    const g = got.grad[i];
    const beyond = !(Math.abs(rv) <= F32_MAX) || !rg.every((x) => Math.abs(x) <= F32_MAX);
    if (beyond) {
      row.overflow.push(pt.label);
      const saysSo = !Number.isFinite(v) || !g.every(Number.isFinite);
      if (!saysSo) row.failures.push(`${pt.label}: the exact value is beyond float32 (${rv}) but ${engine} gives a finite ${v}`);
      return;
    }
    if (!Number.isFinite(v) || !g.every(Number.isFinite)) {
      row.failures.push(`${pt.label}: not finite (value ${v}, gradient [${g.map((x) => x.toPrecision(3)).join(', ')}]); reference ${rv}`);
      return;
    }
    const ev = Math.abs(v - rv) / Math.max(Math.abs(rv), FLOOR);
    const eg = norm(g.map((x, k) => x - rg[k])) / Math.max(norm(rg), FLOOR);
    row.value = Math.max(row.value, ev);
    row.grad = Math.max(row.grad, eg);
    if (Math.max(ev, eg) > worst) {
      worst = Math.max(ev, eg);
      row.worstAt = pt.label;
    }
    if (!(ev <= TOL && eg <= TOL)) row.failures.push(`${pt.label}: value err ${ev.toExponential(2)} (${v} vs ${rv}), gradient err ${eg.toExponential(2)}`);
  });
  if (row.overflow.length && !BY_DEFINITION[label]) row.failures.push(`not finite in float32 by definition at ${row.overflow.join(', ')}, but not explained in BY_DEFINITION`);
  return row;
}

function report(rows: Row[]): string {
  const e = (x: number): string => x.toExponential(1).padStart(8);
  return (
    `${'loss'.padEnd(36)} ${'engine'.padEnd(12)} value err  grad err  worst at\n` +
    rows
      .map((r) => `${r.label.padEnd(36)} ${r.engine.padEnd(12)} ${e(r.value)}  ${e(r.grad)}  ${r.worstAt}${r.overflow.length ? `  (${r.overflow.length} points beyond float32 by definition)` : ''}`)
      .join('\n')
  );
}

function check(rows: Row[]): void {
  const failures = rows.flatMap((r) => r.failures.map((f) => `${r.label} [${r.engine}] ${f}`));
  assert.deepEqual(failures, []);
}

const oneHot = (p: ExtremePoint): number[] => Array.from({ length: CLASSES }, (_, k) => (k === p.target ? 1 : 0));

test('the reference fixture is current: the same points, every catalogue loss as written', () => {
  assert.deepEqual(fixture.points, points, 'regenerate: node out/test/fixtures/make-stable-reference.js');
  const stale = cases.filter((c) => fixture.losses.find((l) => l.file === c.file && l.loss === c.loss)?.key !== c.key).map((c) => `${c.file}#${c.loss}`);
  assert.deepEqual(stale, [], 'these losses changed since the reference was computed: node out/test/fixtures/make-stable-reference.js');
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`tfjs (${backend}, float32): every catalogue loss and gradient finite and within 1e-4 of the exact values at margins -100..100 and logits up to 1e4`, async () => {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    const rows: Row[] = [];
    const z = tf.tensor2d(points.map((p) => p.logits));
    const y = tf.tensor2d(points.map(oneHot));
    for (const c of cases) {
      const fn = compileLoss(c.model, c.loss);
      const [v, g] = tf.tidy(() => {
        const value = fn(y as tf.Tensor2D, z as tf.Tensor2D).dataSync().slice();
        const grad = tf.grad((zz: tf.Tensor) => tf.sum(fn(y as tf.Tensor2D, zz as tf.Tensor2D)))(z).dataSync().slice();
        return [value, grad];
      });
      rows.push(judge(c, `tfjs ${backend}`, { value: Array.from(v), grad: points.map((_, i) => Array.from(g.slice(i * CLASSES, (i + 1) * CLASSES))) }));
    }
    tf.dispose([z, y]);
    assert.equal(tf.memory().numTensors, before, 'no tensor leak');
    console.log(report(rows));
    check(rows);
  });
}

const DRIVER = String.raw`
import importlib, json, math, sys, traceback
import torch
torch.set_num_threads(1)
spec = json.load(open(sys.argv[1]))
sys.path.insert(0, spec["dir"])
num = lambda v: v if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
out = []
for case in spec["cases"]:
    try:
        fn = getattr(importlib.import_module(case["module"]), case["function"])
        logits = torch.tensor(spec["logits"], dtype=torch.float32, requires_grad=True)
        target = torch.tensor(spec["target"], dtype=torch.int64)
        value = fn(logits, target)
        (grad,) = torch.autograd.grad(value.sum(), logits, allow_unused=True)
        if grad is None:
            grad = torch.zeros_like(logits)
        out.append({"value": [num(float(v)) for v in value.detach().tolist()], "grad": [[num(float(v)) for v in r] for r in grad.tolist()]})
    except Exception:
        out.append({"error": traceback.format_exc()})
json.dump(out, open(sys.argv[2], "w"))
`;

const python = findTorchPython();

test('exported PyTorch (float32): every catalogue loss and gradient finite and within 1e-4 of the exact values at margins -100..100 and logits up to 1e4', { skip: skipUnless(python, 'a python3 with torch'), timeout: 300_000 }, () => {
  assert.ok(python, 'CI=true: no python3 with torch found');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lossmith-extremes-'));
  const specCases = cases.map((c, i) => {
    const r = exportLoss(c.model, c.loss, { target: 'pytorch', file: `examples/${c.file}`, source: c.source });
    const module = `lossmith_extreme_${i}`;
    fs.writeFileSync(path.join(dir, `${module}.py`), r.code);
    return { module, function: r.functionName };
  });
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ dir, cases: specCases, logits: points.map((p) => p.logits), target: points.map((p) => p.target) }));
  fs.writeFileSync(path.join(dir, 'driver.py'), DRIVER);
  const run = spawnSync(python!, [path.join(dir, 'driver.py'), path.join(dir, 'spec.json'), path.join(dir, 'out.json')], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(run.status, 0, `python driver failed:\n${run.stderr}`);
  const results = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')) as ({ error: string } | { value: (number | string)[]; grad: (number | string)[][] })[];
  const num = (v: number | string): number => (typeof v === 'number' ? v : refNumber(v as 'inf'));
  const rows: Row[] = [];
  const errors: string[] = [];
  cases.forEach((c, i) => {
    const r = results[i];
    if ('error' in r) {
      errors.push(`${c.file}#${c.loss}: ${r.error}`);
      return;
    }
    rows.push(judge(c, 'torch', { value: r.value.map(num), grad: r.grad.map((g) => g.map(num)) }));
  });
  console.log(report(rows));
  assert.deepEqual(errors, []);
  check(rows);
  fs.rmSync(dir, { recursive: true, force: true });
});
