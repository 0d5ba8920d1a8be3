/**
 * The exported PyTorch code, run with a real PyTorch (Debian's python3-torch), against Lossmith:
 * for every builtin's test loss (BUILTIN_LOSSES) and every catalogue loss (examples/*.loss), at
 * 100 random points (K = 3 and 7 classes; per K: 17 hard targets given as class indices, 17 as
 * one-hot floats, 16 soft targets):
 *
 *  1. float64 PyTorch value and autograd gradient vs the float64 evaluator and the symbolic
 *     gradient (stop_gradient is a constant there, as in autograd): relative error
 *     |v - v64| / max(|v64|, 1e-6), and ||g - g64||_2 / max(||g64||_2, 1e-6) for the gradient,
 *     must be <= 1e-5;
 *  2. float32 PyTorch vs the same float64 reference, and vs the tfjs lowering (float32, cpu
 *     backend): tolerance 1e-4 with a floor of 1e-2 (as the lowering's own test).
 *
 * Inputs are float32-representable so the same points serve every comparison. One Python
 * process runs every case. LOSSMITH_EXPORT_REPORT=1 prints the per-loss table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { checkText, differentiate, evalExpr, sampleEnv, toVector, type BuiltinId, type Model } from '../../grammar/src/index';
import { exportLoss } from '../../grammar/src/export/index';
import { Rng } from '../../engine/src/rng';
import { BUILTIN_LOSSES } from '../helpers/builtin-losses';
import { randomSample } from '../helpers/gradcheck';
import { findTorchPython, skipUnless } from './python';

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');
const TOL64 = 1e-5;
const FLOOR64 = 1e-6;
const TOL32 = 1e-4;
const FLOOR32 = 1e-2;

interface Case {
  label: string;
  source: string;
  file: string;
  loss: string;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const id of Object.keys(BUILTIN_LOSSES) as BuiltinId[]) {
    if (!BUILTIN_LOSSES[id]) continue; // a segmentation builtin (test/grammar/segmentation.test.ts)
    out.push({ label: `builtin ${id}`, source: `loss l = ${BUILTIN_LOSSES[id]}\n`, file: `builtin-${id}.loss`, loss: 'l' });
  }
  for (const f of fs.readdirSync(EXAMPLES).filter((n) => n.endsWith('.loss')).sort()) {
    const source = fs.readFileSync(path.join(EXAMPLES, f), 'utf8');
    for (const l of checkText(source).model.losses) out.push({ label: `${f}#${l.name}`, source, file: `examples/${f}`, loss: l.name });
  }
  return out;
}

type TargetForm = 'index' | 'onehot' | 'soft';

interface Batch {
  form: TargetForm;
  logits: number[][];
  /** The distribution y (one-hot for index/onehot, soft otherwise). */
  y: number[][];
  /** What PyTorch receives: class indices, or y. */
  target: number[] | number[][];
}

function batches(seed: number): Batch[] {
  const rng = new Rng(seed);
  const out: Batch[] = [];
  for (const k of [3, 7]) {
    for (const [form, n] of [['index', 17], ['onehot', 17], ['soft', 16]] as const) {
      const logits: number[][] = [];
      const y: number[][] = [];
      for (let i = 0; i < n; i++) {
        const s = randomSample(rng, { classes: k, soft: form === 'soft', scale: 2 });
        logits.push(s.logits.map(Math.fround));
        y.push(s.y.map(Math.fround));
      }
      const target = form === 'index' ? y.map((r) => r.indexOf(1)) : y;
      out.push({ form, logits, y, target });
    }
  }
  return out;
}

const DRIVER = String.raw`
import importlib, json, math, sys, traceback
import torch
torch.set_num_threads(1)
spec = json.load(open(sys.argv[1]))
sys.path.insert(0, spec["dir"])
out = []
for case in spec["cases"]:
    res = {"error": None, "runs": []}
    try:
        mod = importlib.import_module(case["module"])
        fn = getattr(mod, case["function"])
        for b in spec["batches"]:
            for dtype in (torch.float64, torch.float32):
                logits = torch.tensor(b["logits"], dtype=dtype, requires_grad=True)
                if b["form"] == "index":
                    target = torch.tensor(b["target"], dtype=torch.int64)
                else:
                    target = torch.tensor(b["target"], dtype=dtype)
                value = fn(logits, target)
                assert tuple(value.shape) == (len(b["logits"]),), "shape %s" % (tuple(value.shape),)
                (grad,) = torch.autograd.grad(value.sum(), logits, allow_unused=True)
                if grad is None:
                    grad = torch.zeros_like(logits)
                res["runs"].append({"value": [float(v) for v in value.detach().tolist()],
                                    "grad": [[float(v) for v in r] for r in grad.tolist()]})
    except Exception:
        res["error"] = traceback.format_exc()
    out.append(res)
json.dump(out, open(sys.argv[2], "w"), allow_nan=True)
`;

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function relErr(got: number, want: number, floor: number): number {
  const r = Math.abs(got - want) / Math.max(Math.abs(want), floor);
  return Number.isNaN(r) ? Infinity : r;
}

function relErrVec(got: number[], want: number[], floor: number): number {
  const r = norm(got.map((g, i) => g - want[i])) / Math.max(norm(want), floor);
  return Number.isNaN(r) ? Infinity : r;
}

interface Row {
  label: string;
  n: number;
  skipped: number;
  v64: number;
  g64: number;
  v32: number;
  g32: number;
  tfjsV: number;
  tfjsG: number;
}

const python = findTorchPython();

test('exported PyTorch equals the float64 evaluator and symbolic gradient (1e-5), and tfjs (float32)', { skip: skipUnless(python, 'a python3 with torch'), timeout: 900_000 }, async () => {
  assert.ok(python, 'CI=true: no python3 with torch found (tried /usr/bin/python3, python3, python); install python3-torch');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lossmith-export-'));
  const all = cases();
  const bs = batches(20250101);
  const models: Model[] = [];
  const specCases = all.map((c, i) => {
    const { model, diagnostics } = checkText(c.source, { integrity: false });
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), [], c.label);
    models.push(model);
    const r = exportLoss(model, c.loss, { target: 'pytorch', file: c.file, source: c.source });
    const module = `lossmith_case_${i}`;
    fs.writeFileSync(path.join(dir, `${module}.py`), r.code);
    return { module, function: r.functionName };
  });
  const specFile = path.join(dir, 'spec.json');
  const outFile = path.join(dir, 'out.json');
  fs.writeFileSync(specFile, JSON.stringify({ dir, cases: specCases, batches: bs.map((b) => ({ form: b.form, logits: b.logits, target: b.target })) }));
  fs.writeFileSync(path.join(dir, 'driver.py'), DRIVER);
  const run = spawnSync(python!, [path.join(dir, 'driver.py'), specFile, outFile], { encoding: 'utf8', timeout: 800_000 });
  assert.equal(run.status, 0, `python driver failed:\n${run.stderr}`);
  const results = JSON.parse(fs.readFileSync(outFile, 'utf8').replace(/\bNaN\b/g, 'null').replace(/-?Infinity\b/g, 'null')) as {
    error: string | null;
    runs: { value: (number | null)[]; grad: (number | null)[][] }[];
  }[];

  // tfjs lowering, when it exists (engine/src/compile.ts).
  let compileLoss: ((m: Model, l: string) => (y: tf.Tensor2D, z: tf.Tensor2D) => tf.Tensor1D) | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    compileLoss = require('../../engine/src/engines/tfjs/compile').compileLoss;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await require('../../engine/src/engines/tfjs/backend').initBackend('cpu');
  } catch {
    compileLoss = undefined;
  }

  const rows: Row[] = [];
  const failures: string[] = [];
  const num = (v: number | null): number => (v === null ? NaN : v);
  all.forEach((c, ci) => {
    const res = results[ci];
    if (res.error) {
      failures.push(`${c.label}: python error\n${res.error}`);
      return;
    }
    const model = models[ci];
    const lossExpr = model.losses.find((l) => l.name === c.loss)!.expr;
    const grad = differentiate(model, c.loss, 'logits');
    const row: Row = { label: c.label, n: 0, skipped: 0, v64: 0, g64: 0, v32: 0, g32: 0, tfjsV: 0, tfjsG: 0 };
    const fn = compileLoss?.(model, c.loss);
    bs.forEach((b, bi) => {
      const r64 = res.runs[2 * bi];
      const r32 = res.runs[2 * bi + 1];
      let tv: Float32Array | undefined;
      let tg: Float32Array | undefined;
      if (fn) {
        const z = tf.tensor2d(b.logits);
        const y = tf.tensor2d(b.y);
        [tv, tg] = tf.tidy(() => {
          const v = fn(y as tf.Tensor2D, z as tf.Tensor2D).dataSync() as Float32Array;
          const g = tf.grad((zz: tf.Tensor) => tf.sum(fn(y as tf.Tensor2D, zz as tf.Tensor2D)))(z).dataSync() as Float32Array;
          return [v.slice(), g.slice()];
        });
        tf.dispose([z, y]);
      }
      const k = b.logits[0].length;
      b.logits.forEach((logits, i) => {
        const env = sampleEnv(model, { logits, y: b.y[i] });
        const v64 = evalExpr(lossExpr, (n) => env.get(n)) as number;
        const g64 = Array.from(toVector(evalExpr(grad, (n) => env.get(n)), k));
        if (!Number.isFinite(v64) || !g64.every(Number.isFinite)) {
          row.skipped++;
          return;
        }
        row.n++;
        row.v64 = Math.max(row.v64, relErr(num(r64.value[i]), v64, FLOOR64));
        row.g64 = Math.max(row.g64, relErrVec(r64.grad[i].map(num), g64, FLOOR64));
        row.v32 = Math.max(row.v32, relErr(num(r32.value[i]), v64, FLOOR32));
        row.g32 = Math.max(row.g32, relErrVec(r32.grad[i].map(num), g64, FLOOR32));
        if (tv && tg) {
          // PyTorch (float64) against tfjs (float32): float32 tolerance.
          row.tfjsV = Math.max(row.tfjsV, relErr(num(r64.value[i]), tv[i], FLOOR32));
          row.tfjsG = Math.max(row.tfjsG, relErrVec(r64.grad[i].map(num), Array.from(tg.slice(i * k, (i + 1) * k)), FLOOR32));
        }
      });
    });
    rows.push(row);
    if (!(row.v64 <= TOL64 && row.g64 <= TOL64)) failures.push(`${c.label}: float64 value err ${row.v64}, grad err ${row.g64} > ${TOL64}`);
    if (!(row.v32 <= TOL32 && row.g32 <= TOL32)) failures.push(`${c.label}: float32 value err ${row.v32}, grad err ${row.g32} > ${TOL32}`);
    if (fn && !(row.tfjsV <= TOL32 && row.tfjsG <= TOL32)) failures.push(`${c.label}: vs tfjs value err ${row.tfjsV}, grad err ${row.tfjsG} > ${TOL32}`);
    if (row.n < 80) failures.push(`${c.label}: only ${row.n} finite points`);
  });
  if (process.env.LOSSMITH_EXPORT_REPORT) {
    const e = (x: number): string => x.toExponential(1).padStart(8);
    console.log(
      `${'loss'.padEnd(34)}   f64 value  f64 grad  f32 value  f32 grad  tfjs value  tfjs grad  points\n` +
        rows.map((r) => `${r.label.padEnd(34)} ${e(r.v64)}  ${e(r.g64)}  ${e(r.v32)}  ${e(r.g32)}  ${fn(r.tfjsV)}  ${fn(r.tfjsG)}  ${r.n}${r.skipped ? ` (+${r.skipped} non-finite skipped)` : ''}`).join('\n'),
    );
    function fn(x: number): string {
      return compileLoss ? e(x).padStart(10) : '       n/a';
    }
  }
  if (!compileLoss) console.log('engine/src/compile.ts not present: compared with the float64 evaluator only');
  assert.deepEqual(failures, []);
  fs.rmSync(dir, { recursive: true, force: true });
});
