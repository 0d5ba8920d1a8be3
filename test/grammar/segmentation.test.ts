/**
 * Task segmentation (TASKS in grammar/src/builtins.ts): the pixel axis in the types (field, map),
 * the pixel reductions sum_px and mean_px, per-image evaluation, derivatives, and the
 * segmentation catalogue (examples/segmentation) checked against independent PyTorch references
 * on [N, C, H, W] tensors (float64 values and autograd gradients) and against its own exports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { checkText, differentiate, evalExpr, evalLoss, exportLoss, Pixels, printExpr, sampleEnv, type Value } from '../../grammar/src/index';
import { findTorchPython, skipUnless } from '../export/python';
import { tmpDir } from '../helpers/tmp';

const ROOT = path.join(__dirname, '..', '..', '..');
const SEG_DIR = path.join(ROOT, 'examples', 'segmentation');

const errors = (text: string) => checkText(text).diagnostics.filter((d) => d.severity === 'error');

test('types: y, p, logits and dist are maps over pixels and classes; sum reduces classes, sum_px pixels; a loss must be one number per image', () => {
  const { model } = checkText('task segmentation\nlet pt = sum(y * p)\nlet area = sum_px(y)\nlet inter = sum_px(p * y)\nloss l = mean(inter / area) + mean_px(pt) + P * C\n');
  const types = Object.fromEntries(model.lets.map((l) => [l.name, model.types.get(l.expr)]));
  assert.deepEqual(types, { pt: 'field', area: 'vector', inter: 'vector' });
  assert.equal(model.types.get(model.losses[0].expr), 'scalar');
  assert.deepEqual(errors('task segmentation\nloss l = mean(sum_px(p * y))'), []);
  // Not one number: the error names the type and the reduction that fixes it.
  const cases: [string, string, string][] = [
    ['sum_px(p * y)', 'a vector over classes', 'sum('],
    ['sum(p * y)', 'a field over pixels', 'mean_px('],
    ['p * y', 'a map over pixels and classes', 'mean_px(sum('],
  ];
  for (const [expr, words, open] of cases) {
    const e = errors(`task segmentation\nloss l = ${expr}`);
    assert.equal(e.length, 1, expr);
    assert.equal(e[0].code, 'vector-loss');
    assert.match(e[0].message, new RegExp(`^loss 'l' is ${words}; a loss must be one number per image \\(wrap it in ${open.replace(/\(/g, '\\(')}\\.\\.\\.`), expr);
    assert.equal((e[0].data as { fix: { open: string } }).fix.open, open);
  }
  // Pixel reductions need a pixel axis: not in classification, not of a vector.
  assert.equal(errors('loss l = sum_px(-sum(y * log(p)))')[0].message, "sum_px reduces over pixels: it expects a field or map (task segmentation) as 'x', got a scalar");
  assert.equal(errors('task segmentation\nloss l = mean(sum_px(sum_px(p)))')[0].message, "sum_px reduces over pixels: it expects a field or map (task segmentation) as 'x', got a vector over classes");
  assert.equal(errors('task segmentation\nloss l = mean_px(log_t(pt_, p))\nlet pt_ = 1')[0].code, 'use-before-definition');
  assert.match(errors('task segmentation\nloss l = mean_px(sum(log_t(p, p)))')[0].message, /log_t expects a scalar constant as 't', got a map over pixels and classes/);
  // The inputs belong to the task: dist and P are unknown in classification, with the fix.
  assert.equal(errors('loss l = sum(y * dist)')[0].message, "'dist' is an input of task segmentation, not of this file's task (classification): start the file with 'task segmentation'");
  // A loss that ignores the target (and its distance map) or the prediction is warned about.
  const w = checkText('task segmentation\nloss a = mean_px(sum(p * p))\nloss b = mean_px(sum(dist * p))').diagnostics.filter((d) => d.code.startsWith('no-'));
  assert.deepEqual(w.map((d) => d.message), ["loss 'a' does not depend on the target y (or its distance map dist)"]);
});

/** An image of `pixels` pixels and C classes: logits, a one-hot target and a distance map, pixel-major. */
function image(rnd: () => number, pixels: number, C: number): { logits: number[]; y: number[]; dist: number[]; t: number[] } {
  const logits = Array.from({ length: pixels * C }, () => (rnd() - 0.5) * 8);
  const t = Array.from({ length: pixels }, () => Math.floor(rnd() * C));
  const y = t.flatMap((k) => Array.from({ length: C }, (_, c) => (c === k ? 1 : 0)));
  const dist = Array.from({ length: pixels * C }, () => (rnd() - 0.5) * 10);
  return { logits, y, dist, t };
}

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

test('per-image evaluation: the evaluator and the symbolic derivative agree with direct sums and finite differences', () => {
  const text = fs.readFileSync(path.join(SEG_DIR, 'dice.loss'), 'utf8');
  const { model } = checkText(text);
  const rnd = rng(7);
  const P = 12;
  const C = 3;
  const img = image(rnd, P, C);
  const point = { logits: img.logits, y: img.y, pixels: P, dist: img.dist };
  // Direct: 1 - mean_c (2 Σ p y + 1) / (Σ p + Σ y + 1).
  const p: number[][] = [];
  for (let i = 0; i < P; i++) {
    const row = img.logits.slice(i * C, i * C + C);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    p.push(e.map((v) => v / s));
  }
  let dice = 0;
  for (let c = 0; c < C; c++) {
    let inter = 0;
    let sp = 0;
    let sy = 0;
    for (let i = 0; i < P; i++) {
      inter += p[i][c] * img.y[i * C + c];
      sp += p[i][c];
      sy += img.y[i * C + c];
    }
    dice += (2 * inter + 1) / (sp + sy + 1);
  }
  const direct = 1 - dice / C;
  assert.ok(Math.abs(evalLoss(model, 'dice', point) - direct) < 1e-14);
  // The gradient with respect to the logits: a map, checked against central differences.
  const g = differentiate(model, 'dice', 'logits');
  const env = sampleEnv(model, point);
  const gv = evalExpr(g, (n) => env.get(n));
  assert.ok(gv instanceof Pixels);
  const flat = (gv as Pixels).at.flatMap((r) => Array.from(r as Float64Array));
  assert.equal(flat.length, P * C);
  for (let k = 0; k < P * C; k++) {
    const h = 1e-6;
    const up = img.logits.slice();
    const down = img.logits.slice();
    up[k] += h;
    down[k] -= h;
    const fd = (evalLoss(model, 'dice', { ...point, logits: up }) - evalLoss(model, 'dice', { ...point, logits: down })) / (2 * h);
    assert.ok(Math.abs(flat[k] - fd) < 1e-8, `d/dlogits[${k}]: ${flat[k]} vs ${fd}`);
  }
  // The derivative reads in the file's terms, with the pixel sums it needs.
  assert.equal(printExpr(differentiate(model, 'dice', 'p')), '((2 * intersection + s) / (sum_px(p) + sum_px(y) + s) - 2 * y) / (C * (sum_px(p) + sum_px(y) + s))');
});

test('the simplifier takes constants out of pixel reductions: sum_px of a constant is P times it, its mean itself', () => {
  const { model, diagnostics } = checkText('task segmentation\nparam a = 2\nloss l = sum_px(a * sum(y * p)) + mean_px(mean(p))\n');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  // By p at one pixel and class: a * y from the first term, 1 / (C P) from the second.
  assert.equal(printExpr(differentiate(model, 'l', 'p')), 'a * y + 1 / (C * P)');
  // The raw adjoint of a scalar loss by a map is reduced by nothing; a constant summed over the
  // pixels is P times it: d/dp of sum_px(a) * ... is never written as sum_px(1).
  const k = checkText('task segmentation\nparam a = 2\nloss l = mean_px(sum(p)) * a + sum_px(sum(y * p))\n').model;
  assert.equal(printExpr(differentiate(k, 'l', 'p')), 'a / P + y');
});

/** Every loss of the segmentation catalogue with its independent PyTorch reference (z [N, C, H, W], t [N, H, W], dist [N, C, H, W]). */
const REFERENCES: Record<string, string> = {
  dice: `p = z.softmax(1); y = F.one_hot(t, C).permute(0, 3, 1, 2).double()
inter = (p * y).sum((2, 3)); den = p.sum((2, 3)) + y.sum((2, 3))
ref = 1 - ((2 * inter + 1) / (den + 1)).mean(1)`,
  generalized_dice: `p = z.softmax(1); y = F.one_hot(t, C).permute(0, 3, 1, 2).double()
w = 1 / (y.sum((2, 3)) ** 2 + 1e-5)
ref = 1 - 2 * (w * (p * y).sum((2, 3))).sum(1) / ((w * (p + y).sum((2, 3))).sum(1) + 1e-5)`,
  tversky: `p = z.softmax(1); y = F.one_hot(t, C).permute(0, 3, 1, 2).double()
tp = (p * y).sum((2, 3)); fp = (p * (1 - y)).sum((2, 3)); fn = ((1 - p) * y).sum((2, 3))
ref = 1 - ((tp + 1) / (tp + 0.3 * fp + 0.7 * fn + 1)).mean(1)`,
  focal_pixel: `logpt = -F.cross_entropy(z, t, reduction="none"); pt = logpt.exp()
ref = (-(1 - pt) ** 2 * logpt).mean((1, 2))`,
  ce_pixel: `ref = F.cross_entropy(z, t, reduction="none").mean((1, 2))`,
  boundary: `p = z.softmax(1); y = F.one_hot(t, C).permute(0, 3, 1, 2).double()
w = 1 / (y.sum((2, 3)) ** 2 + 1e-5)
gdl = 1 - 2 * (w * (p * y).sum((2, 3))).sum(1) / ((w * (p + y).sum((2, 3))).sum(1) + 1e-5)
ref = 0.5 * gdl + 0.5 * torch.einsum("nchw,nchw->n", p, dist) / (z.shape[2] * z.shape[3])`,
};

const python = findTorchPython();

test('segmentation catalogue: values and gradients equal to PyTorch references (float64), and so do their exports', { skip: skipUnless(python, 'a python3 with torch'), timeout: 300_000 }, () => {
  assert.ok(python, 'CI=true: no python3 with torch');
  const files = fs.readdirSync(SEG_DIR).filter((f) => f.endsWith('.loss')).sort();
  assert.deepEqual(files, ['boundary.loss', 'cross-entropy-pixel.loss', 'dice.loss', 'focal-pixel.loss', 'generalized-dice.loss', 'tversky.loss']);
  const dir = tmpDir('lossmith-segmentation-');
  const rnd = rng(2024);
  const N = 3;
  const H = 4;
  const W = 5;
  const C = 3;
  const P = H * W;
  const imgs = Array.from({ length: N }, () => image(rnd, P, C));
  // To PyTorch's layout: [N, C, H, W] from pixel-major [P, C] (pixel i = h * W + w).
  const nchw = (rows: number[][]): number[][][][] => rows.map((r) => Array.from({ length: C }, (_, c) => Array.from({ length: H }, (_, h) => Array.from({ length: W }, (_, w) => r[(h * W + w) * C + c]))));
  const z = nchw(imgs.map((m) => m.logits));
  const dist = nchw(imgs.map((m) => m.dist));
  const t = imgs.map((m) => Array.from({ length: H }, (_, h) => Array.from({ length: W }, (_, w) => m.t[h * W + w])));

  const cases: { name: string; module: string; fn: string; args: string[]; value: number[]; grad: number[] }[] = [];
  for (const f of files) {
    const text = fs.readFileSync(path.join(SEG_DIR, f), 'utf8');
    const { model, diagnostics } = checkText(text);
    assert.deepEqual(diagnostics.filter((d) => d.severity !== 'hint'), [], f);
    assert.equal(model.task, 'segmentation');
    for (const loss of model.losses) {
      assert.ok(REFERENCES[loss.name], `no reference for ${loss.name}`);
      const ex = exportLoss(model, loss.name, { target: 'pytorch', file: f, source: text });
      const args = /^def \w+\(([^*)]*)/m.exec(ex.code)![1].split(',').map((a) => a.trim()).filter(Boolean);
      const dz = differentiate(model, loss.name, 'logits');
      const value: number[] = [];
      const grad: number[] = [];
      for (const m of imgs) {
        const env = sampleEnv(model, { logits: m.logits, y: m.y, pixels: P, dist: m.dist });
        const get = (n: string): Value | undefined => env.get(n);
        value.push(evalExpr(loss.expr, get) as number);
        const g = evalExpr(dz, get) as Pixels;
        grad.push(...g.at.flatMap((r) => Array.from(r as Float64Array)));
      }
      const module = path.join(dir, `${loss.name}_export.py`);
      fs.writeFileSync(module, ex.code);
      cases.push({ name: loss.name, module, fn: ex.functionName, args, value, grad });
    }
  }
  assert.equal(cases.length, 6);
  const driver = `
import importlib.util, json, sys
import torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
spec = json.load(open(sys.argv[1]))
out = {}
for c in spec["cases"]:
    z = torch.tensor(spec["z"], requires_grad=True)
    t = torch.tensor(spec["t"])
    dist = torch.tensor(spec["dist"])
    C = z.shape[1]
    scope = {"torch": torch, "F": F, "z": z, "t": t, "dist": dist, "C": C}
    exec(spec["references"][c["name"]], scope)
    ref = scope["ref"]
    ref.sum().backward()
    m = importlib.util.spec_from_file_location(c["name"], c["module"])
    mod = importlib.util.module_from_spec(m)
    m.loader.exec_module(mod)
    inputs = {"logits": z.detach(), "target": t, "dist": dist}
    exported = getattr(mod, c["fn"])(*[inputs[a] for a in c["args"]])
    soft = getattr(mod, c["fn"])(*[(F.one_hot(t, C).permute(0, 3, 1, 2).double() if a == "target" else inputs[a]) for a in c["args"]])
    out[c["name"]] = {
        "ref": ref.tolist(),
        "export": exported.tolist(),
        "export_soft": soft.tolist(),
        "grad": z.grad.permute(0, 2, 3, 1).reshape(-1).tolist(),
    }
json.dump(out, open(sys.argv[2], "w"))
`;
  fs.writeFileSync(path.join(dir, 'driver.py'), driver);
  const specFile = path.join(dir, 'spec.json');
  const outFile = path.join(dir, 'out.json');
  fs.writeFileSync(specFile, JSON.stringify({ references: REFERENCES, cases: cases.map((c) => ({ name: c.name, module: c.module, fn: c.fn, args: c.args })), z, t, dist }));
  const run = spawnSync(python!, [path.join(dir, 'driver.py'), specFile, outFile], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(fs.readFileSync(outFile, 'utf8')) as Record<string, Record<string, number[]>>;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-10 * Math.max(1, Math.abs(b));
  for (const c of cases) {
    const o = out[c.name];
    assert.equal(o.ref.length, N);
    c.value.forEach((v, i) => {
      assert.ok(close(v, o.ref[i]), `${c.name} value ${i}: ${v} vs ${o.ref[i]}`);
      assert.ok(close(o.export[i], o.ref[i]), `${c.name} export ${i}: ${o.export[i]} vs ${o.ref[i]}`);
      assert.ok(close(o.export_soft[i], o.ref[i]), `${c.name} export (one-hot target) ${i}: ${o.export_soft[i]} vs ${o.ref[i]}`);
    });
    assert.equal(c.grad.length, o.grad.length);
    c.grad.forEach((v, i) => assert.ok(close(v, o.grad[i]), `${c.name} d/dlogits ${i}: ${v} vs ${o.grad[i]}`));
  }
});
