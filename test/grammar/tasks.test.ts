/**
 * Tasks (TASKS in grammar/src/builtins.ts): the `task` line, the inputs each task gives its
 * losses, GAN files' pairs, and the GAN and IoU-balanced catalogue checked against independent
 * PyTorch references (float64 values and autograd gradients) and against their own exports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import {
  checkText,
  curve,
  differentiate,
  evalExpr,
  exportLoss,
  formatProgram,
  lossReport,
  parse,
  sampleEnv,
  TASKS,
  toVector,
} from '../../grammar/src/index';
import { findTorchPython, skipUnless } from '../export/python';
import { tmpDir } from '../helpers/tmp';

const ROOT = path.join(__dirname, '..', '..', '..');
const GAN_DIR = path.join(ROOT, 'examples', 'gan');

test('the task line: parsed apart from the statements, formatted back, malformed ones are one syntax error', () => {
  const text = '# a GAN\ntask gan\n\nloss ns_g = softplus(-d_fake)\nloss ns_d = softplus(-d_real) + softplus(d_fake)\n';
  const r = parse(text);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.program.tasks?.map((t) => [t.name, text.slice(t.range.start, t.range.end)]), [['gan', 'task gan']]);
  assert.equal(r.program.statements.length, 2);
  assert.equal(formatProgram(text, r.program, false), text);
  for (const bad of ['task\nloss a = sum(y * p)', 'task gan gan\nloss a_g = -d_fake', 'task 3']) {
    const e = parse(bad).errors;
    assert.equal(e.length, 1, bad);
    assert.match(e[0].message, /^expected one task name after 'task' \(classification, gan, segmentation\)$/);
  }
  // No task line: classification, as before.
  assert.equal(checkText('loss ce = -sum(y * log(p))').model.task, 'classification');
  assert.equal(checkText('task classification\nloss ce = -sum(y * log(p))').model.task, 'classification');
});

test("inputs follow the task: a GAN file's names are unknown in classification and the other way round, with the fix", () => {
  const cls = checkText('loss a = sum(y * p) + d_fake');
  const d = cls.diagnostics.find((x) => x.code === 'unknown-name')!;
  assert.equal(d.message, "'d_fake' is an input of task gan, not of this file's task (classification): start the file with 'task gan'");
  const gan = checkText('task gan\nloss a_g = -d_fake + sum(p)\nloss a_d = d_fake - d_real');
  assert.equal(gan.diagnostics.find((x) => x.code === 'unknown-name')!.message, "'p' is an input of task classification, not of this file's task (gan)");
  const shadow = checkText('task gan\nlet d_real = 1\nloss a_g = -d_fake\nloss a_d = d_fake - d_real');
  assert.ok(shadow.diagnostics.some((x) => x.code === 'shadowed-name' && x.severity === 'error'));
  // A discriminator's loss that ignores the real samples, a generator's that ignores the fakes.
  const deps = checkText('task gan\nloss a_g = -d_real\nloss a_d = d_fake');
  assert.deepEqual(
    deps.diagnostics.filter((x) => x.code.startsWith('no-')).map((x) => x.message),
    [
      "the generator's loss 'a_g' does not depend on d_fake, the discriminator's output on generated samples",
      "the discriminator's loss 'a_d' does not depend on d_real, its output on real samples",
    ],
  );
  const bad = checkText('task gan\nloss g = -d_fake');
  assert.match(bad.diagnostics.find((x) => x.code === 'gan-pair')!.message, /NAME_g .* or NAME_d .*'g' is neither/);
  const unknown = checkText('task gna\nloss a = sum(y * log(p))');
  assert.equal(unknown.diagnostics.find((x) => x.code === 'unknown-task')!.message, "unknown task 'gna'; the tasks are classification, gan, segmentation: did you mean 'gan'?");
  // An unknown task falls back to classification: the rest of the file still checks.
  assert.deepEqual(unknown.diagnostics.filter((x) => x.code === 'unknown-name'), []);
});

test('derivatives, the report and the 1-D view of a GAN loss are with respect to d_fake and d_real', () => {
  const { model } = checkText(fs.readFileSync(path.join(GAN_DIR, 'non-saturating.loss'), 'utf8'));
  assert.equal(TASKS.gan.wrt.join(','), 'd_fake,d_real');
  const r = lossReport(model, 'ns_d', { points: 5 });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.derivatives.map((d) => [d.wrt, d.text]), [['d_fake', 'sigmoid(d_fake)'], ['d_real', '-sigmoid(-d_real)']]);
  assert.equal(r.latex, '\\operatorname{softplus}\\left(-D(x)\\right) + \\operatorname{softplus}\\left(D(G(z))\\right)');
  const c = curve(model, 'ns_g', { points: 3, lo: 0.1, hi: 0.9 });
  assert.deepEqual(c.axes, { x: 'D(G(z))', xLong: "the discriminator's probability on generated samples D(G(z)) = sigmoid(d_fake)", grad: '∂L/∂d', gradTrue: '∂L/∂d_fake', gradOther: '∂L/∂d_real' });
  // L_G = -log D(G(z)); dL/d d_fake = -(1 - D(G(z))).
  c.pt.forEach((x, i) => {
    assert.ok(Math.abs(c.loss[i] + Math.log(x)) < 1e-12, `${x}`);
    assert.ok(Math.abs(c.gradTrue![i] + (1 - x)) < 1e-12, `${x}`);
    assert.equal(c.gradOther![i], 0);
  });
});

/** Every loss of the GAN catalogue and the IoU-balanced loss, with its independent PyTorch reference. */
const REFERENCES: Record<string, string> = {
  minimax_d: 'F.softplus(-dr) + F.softplus(df)',
  minimax_g: 'torch.log(1 - torch.sigmoid(df))',
  ns_d: '-torch.log(torch.sigmoid(dr)) - torch.log(1 - torch.sigmoid(df))',
  ns_g: '-torch.log(torch.sigmoid(df))',
  lsgan_d: '0.5 * (dr - 1) ** 2 + 0.5 * (df - 0) ** 2',
  lsgan_g: '0.5 * (df - 1) ** 2',
  wgan_d: 'df - dr',
  wgan_g: '-df',
  wgan_gp_d: 'df - dr + 10 * (gn - 1) ** 2',
  wgan_gp_g: '-df',
  hinge_d: 'F.relu(1 - dr) + F.relu(1 + df)',
  hinge_g: '-df',
  iou_balanced: 'iou ** 1.5 * F.cross_entropy(z, t, reduction="none")',
};

const python = findTorchPython();

test('GAN and IoU-balanced catalogue: values and gradients equal to PyTorch references (float64), and so do their exports', { skip: skipUnless(python, 'a python3 with torch'), timeout: 300_000 }, () => {
  assert.ok(python, 'CI=true: no python3 with torch');
  const files = [...fs.readdirSync(GAN_DIR).filter((f) => f.endsWith('.loss')).map((f) => path.join(GAN_DIR, f)), path.join(ROOT, 'examples', 'detection', 'iou-balanced.loss')];
  assert.equal(files.length, 7);
  const dir = tmpDir('lossmith-tasks-');
  // Points: discriminator outputs over a wide range (hinge kinks avoided), grad norms, IoUs.
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const N = 24;
  const dr = Array.from({ length: N }, () => (rnd() - 0.5) * 16);
  const df = Array.from({ length: N }, () => (rnd() - 0.5) * 16);
  const gn = Array.from({ length: N }, () => rnd() * 3);
  const iou = Array.from({ length: N }, () => 0.05 + 0.95 * rnd());
  const C = 4;
  const z = Array.from({ length: N }, () => Array.from({ length: C }, () => (rnd() - 0.5) * 12));
  const t = Array.from({ length: N }, (_, i) => i % C);
  for (const v of [...dr, ...df]) assert.ok(Math.abs(Math.abs(v) - 1) > 1e-3);

  const cases: { name: string; module: string; fn: string; args: string[]; ours: { value: number[]; grads: Record<string, number[]> } }[] = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const { model, diagnostics } = checkText(text);
    assert.deepEqual(diagnostics.filter((d) => d.severity !== 'hint' && d.code !== 'unused-binding'), [], file);
    for (const loss of model.losses) {
      assert.ok(REFERENCES[loss.name], `no reference for ${loss.name}`);
      const ex = exportLoss(model, loss.name, { target: 'pytorch', file: path.basename(file), source: text });
      const args = /^def \w+\(([^*)]*)/m.exec(ex.code)![1].split(',').map((a) => a.trim()).filter(Boolean);
      const value: number[] = [];
      const grads: Record<string, number[]> = {};
      const wrts = model.task === 'gan' ? ['d_fake', 'd_real'] : ['logits'];
      const dexprs = wrts.map((w) => differentiate(model, loss.name, w as 'd_fake' | 'd_real' | 'logits'));
      for (let i = 0; i < N; i++) {
        const y = Array.from({ length: C }, (_, k) => (k === t[i] ? 1 : 0));
        const env = sampleEnv(model, { logits: z[i], y, inputs: { d_real: dr[i], d_fake: df[i], grad_norm: gn[i], iou: iou[i] } });
        const get = (n: string) => env.get(n);
        value.push(evalExpr(loss.expr, get) as number);
        wrts.forEach((w, k) => {
          const g = evalExpr(dexprs[k], get);
          (grads[w] ??= []).push(...(typeof g === 'number' ? [g] : Array.from(toVector(g, C))));
        });
      }
      const module = path.join(dir, `${loss.name}_export.py`);
      fs.writeFileSync(module, ex.code);
      cases.push({ name: loss.name, module, fn: ex.functionName, args, ours: { value, grads } });
    }
  }
  assert.equal(cases.length, 13);
  const driver = `
import importlib.util, json, sys
import torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
spec = json.load(open(sys.argv[1]))
REF = spec["references"]
out = {}
for c in spec["cases"]:
    dr = torch.tensor(spec["dr"], requires_grad=True)
    df = torch.tensor(spec["df"], requires_grad=True)
    gn = torch.tensor(spec["gn"])
    iou = torch.tensor(spec["iou"])
    z = torch.tensor(spec["z"], requires_grad=True)
    t = torch.tensor(spec["t"])
    ref = eval(REF[c["name"]])
    ref.sum().backward()
    m = importlib.util.spec_from_file_location(c["name"], c["module"])
    mod = importlib.util.module_from_spec(m)
    m.loader.exec_module(mod)
    inputs = {"logits": z, "target": t, "d_real": dr, "d_fake": df, "grad_norm": gn, "iou": iou}
    exported = getattr(mod, c["fn"])(*[inputs[a] for a in c["args"]])
    out[c["name"]] = {
        "ref": ref.tolist(),
        "export": exported.tolist(),
        "d_real": dr.grad.tolist() if dr.grad is not None else None,
        "d_fake": df.grad.tolist() if df.grad is not None else None,
        "logits": z.grad.reshape(-1).tolist() if z.grad is not None else None,
    }
json.dump(out, open(sys.argv[2], "w"))
`;
  fs.writeFileSync(path.join(dir, 'driver.py'), driver);
  const specFile = path.join(dir, 'spec.json');
  const outFile = path.join(dir, 'out.json');
  fs.writeFileSync(specFile, JSON.stringify({ references: REFERENCES, cases: cases.map((c) => ({ name: c.name, module: c.module, fn: c.fn, args: c.args })), dr, df, gn, iou, z, t }));
  const run = spawnSync(python!, [path.join(dir, 'driver.py'), specFile, outFile], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(fs.readFileSync(outFile, 'utf8')) as Record<string, Record<string, number[] | null>>;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-10 * Math.max(1, Math.abs(b));
  let worst = 0;
  for (const c of cases) {
    const o = out[c.name];
    c.ours.value.forEach((v, i) => {
      assert.ok(close(v, o.ref![i]), `${c.name} value ${i}: ${v} vs ${o.ref![i]}`);
      assert.ok(close(o.export![i], o.ref![i]), `${c.name} export ${i}: ${o.export![i]} vs ${o.ref![i]}`);
      worst = Math.max(worst, Math.abs(v - o.ref![i]) / Math.max(1, Math.abs(o.ref![i])));
    });
    for (const [w, g] of Object.entries(c.ours.grads)) {
      const ref = o[w] ?? new Array(g.length).fill(0);
      g.forEach((v, i) => assert.ok(close(v, ref[i]), `${c.name} d/d${w} ${i}: ${v} vs ${ref[i]}`));
    }
  }
  assert.ok(worst < 1e-12, `worst relative difference ${worst}`);
});
