/**
 * The stable rewrites (grammar/src/stable.ts), row by row: each row of STABLE_REWRITES has losses
 * where it applies, and for each the stable model equals the written one in the float64 evaluator
 * (value and symbolic gradient with respect to the logits, relative 1e-9 with a floor of 1e-12,
 * at 60 random points: 3 and 7 classes, one-hot and soft targets) — and, where the simplifier
 * reaches the same form, the two symbolic derivatives print the same. Side conditions: losses
 * where a row must not apply. And the API the editor uses (stableRewriteAt, stableForm).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkText,
  differentiate,
  evalExpr,
  evalLoss,
  parse,
  printExpr,
  printStatement,
  sampleEnv,
  stabilize,
  stableContext,
  stableForm,
  stableRewriteAt,
  STABLE_REWRITES,
  toVector,
  walk,
  type Expr,
  type Model,
} from '../../grammar/src/index';
import { Rng } from '../../engine/src/rng';
import { randomSample } from '../helpers/gradcheck';

/** Losses (named `l`) where each row applies. */
const APPLIES: Record<string, string[]> = {
  'log-softmax': ['loss l = -sum(y * log(p))', 'let q = p\nloss l = -sum(y * log(q))', 'loss l = -sum(y * log(softmax(2 * logits)))'],
  'log-weighted-sum': [
    'let pt = sum(y * p)\nloss l = -log(pt)',
    'loss l = -log(sum(p * y)) * sum(y * logits)',
    'param eps = 0.1 in [0, 1]\nlet q = (1 - eps) * y + eps / C\nloss l = -log(sum(q * p))',
    'loss l = -log(sum((y + 1) * p))',
  ],
  'complement-sum': ['let pt = sum(y * p)\nloss l = sum(y * logits) * (1 - pt)', 'loss l = (1 - sum(p * y)) * 3'],
  'log1m-softmax': ['loss l = -sum((1 - y) * log(1 - p))', 'loss l = -sum((1 - y) * log1p(-p))', 'loss l = -sum(y * log(1 - softmax(logits / 2)))'],
  'log-shifted-complement': ['param rho = 1.5 in [1, 2]\nloss l = -sum((1 - y) * log(rho - p))', 'param rho = 1 in [1, 2]\nloss l = -sum((1 - y) * log(rho - p))'],
  'normalize-weighted': ['let q = (1 - y) * p\nloss l = sum(logits * (q / sum(q)))', 'loss l = sum(logits * (y * p / sum(y * p)))'],
  softmax: ['loss l = sum(y * (exp(2 * logits) / sum(exp(2 * logits))))'],
  log1p: ['loss l = sum(y * log(1 + p))', 'loss l = sum(y * log(logits^2 + 1))'],
  expm1: ['loss l = 1 - exp(-sum(y * logits)^2)', 'loss l = exp(sum(y * p)) - 1'],
  'power-of-probability': ['param q = 0.7 in [0.01, 1]\nlet pt = sum(y * p)\nloss l = (1 - pt^q) / q', 'loss l = sum(y * p^0.5)', 'param gamma = 2 in [0, 5]\nlet pt = sum(y * p)\nloss l = -(1 - pt)^gamma * log(pt)'],
  'divide-by-probability': ['loss l = sum(y / p)', 'loss l = 1 / sum(y * p)', 'loss l = -sum(log(p) - y / p)'],
};

/** Losses where a row must not apply (its side condition fails). */
const NOT: Record<string, string[]> = {
  'log-weighted-sum': ['loss l = log(sum(p * p))', 'loss l = -log(sum((y - 0.5) * p))'],
  'complement-sum': ['loss l = 1 - sum((y + 1) * p)', 'loss l = 1 - sum(p * p)'],
  'log-shifted-complement': ['param c = 1.5 in [0, 2]\nloss l = sum(y * log(c - p))', 'loss l = sum(y * log(sum(y * logits) - p))'],
  'normalize-weighted': ['loss l = sum(logits * (y * p / sum((1 - y) * p)))'],
  softmax: ['loss l = sum(y * (exp(logits) / sum(exp(2 * logits))))'],
  'power-of-probability': ['loss l = sum(y * p^2)', 'loss l = sum(y * p^sum(y * logits))', 'loss l = sum(y * logits^0.5)'],
  'divide-by-probability': ['loss l = sum((logits - 1) / p)', 'loss l = sum((y - 0.5) / p)'],
};

/** Rows whose rewrite keeps the simplified symbolic derivative's text (a symbolic check). */
const SAME_DERIVATIVE_TEXT = ['loss l = -sum(y * log(p))', 'loss l = sum(y * log(1 + p))', 'loss l = -sum(y * log(softmax(2 * logits)))'];

function model(src: string, clean = true): Model {
  const r = checkText(src, { integrity: false });
  if (clean) assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), [], src);
  return r.model;
}

function appliedIds(m: Model): Set<string> {
  return new Set(stabilize(m).applied.map((a) => a.rewrite.id));
}

const TOL = 1e-9;
const FLOOR = 1e-12;

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), FLOOR);
}

/** Worst relative difference between the written and the stable model, value and gradient. */
function compare(src: string): { value: number; grad: number; n: number } {
  const written = model(src);
  const stable = stabilize(written).model;
  const gw = differentiate(written, 'l', 'logits');
  const gs = differentiate(stable, 'l', 'logits');
  const rng = new Rng(src.length * 7919);
  const out = { value: 0, grad: 0, n: 0 };
  for (let i = 0; i < 60; i++) {
    const s = randomSample(rng, { classes: i % 2 ? 3 : 7, soft: i % 3 === 0, scale: 2 });
    const vw = evalLoss(written, 'l', s);
    if (!Number.isFinite(vw)) continue;
    const vs = evalLoss(stable, 'l', s);
    const ew = sampleEnv(written, s);
    const es = sampleEnv(stable, s);
    const dw = toVector(evalExpr(gw, (n) => ew.get(n)), s.logits.length);
    const ds = toVector(evalExpr(gs, (n) => es.get(n)), s.logits.length);
    if (!dw.every(Number.isFinite)) continue;
    out.n++;
    out.value = Math.max(out.value, rel(vs, vw));
    let num = 0;
    let den = 0;
    dw.forEach((x, k) => {
      num += (ds[k] - x) ** 2;
      den += x * x;
    });
    out.grad = Math.max(out.grad, Math.sqrt(num) / Math.max(Math.sqrt(den), FLOOR));
  }
  return out;
}

test('every rewrite of the table has losses where it applies, and a unique id and title', () => {
  const ids = STABLE_REWRITES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(Object.keys(APPLIES).sort(), [...ids].sort());
  for (const r of STABLE_REWRITES) {
    assert.match(r.title, / → /, r.id);
    assert.ok(r.why.length > 20 && r.when.length > 5, r.id);
  }
});

for (const r of STABLE_REWRITES) {
  test(`rewrite ${r.id} (${r.title}): equal value and gradient in float64 where it applies`, () => {
    for (const src of APPLIES[r.id]) {
      const ids = appliedIds(model(src));
      assert.ok(ids.has(r.id), `${r.id} did not apply to: ${src} (applied: ${[...ids].join(', ')})`);
      const d = compare(src);
      assert.ok(d.n >= 40, `${src}: only ${d.n} points where the written loss is finite`);
      assert.ok(d.value <= TOL && d.grad <= TOL, `${src}: value ${d.value}, gradient ${d.grad}`);
    }
    for (const src of NOT[r.id] ?? []) {
      assert.ok(!appliedIds(model(src, false)).has(r.id), `${r.id} must not apply to: ${src}`);
    }
  });
}

test('symbolic check: where the simplifier meets, the two derivatives print the same', () => {
  for (const src of SAME_DERIVATIVE_TEXT) {
    const written = model(src);
    const stable = stabilize(written).model;
    assert.ok(stabilize(written).applied.length > 0, src);
    // With respect to the logits only: the stable form reads the logits where the written one reads p.
    assert.equal(printExpr(differentiate(stable, 'l', 'logits')), printExpr(differentiate(written, 'l', 'logits')), src);
  }
});

test('the catalogue in stable form: AACE, dual focal, focal, GCE, Baikal read as documented', () => {
  const fs = require('fs') as typeof import('fs');
  const path = require('path') as typeof import('path');
  const dir = path.join(__dirname, '..', '..', '..', 'examples');
  const stableText = (file: string): string[] => {
    const s = stabilize(model(fs.readFileSync(path.join(dir, file), 'utf8'))).model;
    return [...s.lets, ...s.losses].map(printStatement);
  };
  assert.ok(stableText('aace.loss').includes('let t = stop_gradient(softmax(log(1 - y) + logits))'));
  assert.deepEqual(stableText('dual-focal.loss'), [
    'loss dual_focal = -sum(y * log_softmax(logits) + (1 - y) * (log1m_softmax(logits) + softplus(log(rho - 1) - log1m_softmax(logits))) - alpha * abs(y - p)^gamma)',
  ]);
  assert.ok(stableText('taylor-ce.loss').includes('let r = sum((1 - y) * p)'));
  for (const [file, absent] of [['focal.loss', /\bpt\b/], ['gce.loss', /\^/], ['baikal.loss', / \/ /]] as const) {
    const loss = stableText(file).at(-1)!;
    assert.doesNotMatch(loss, absent, `${file}: ${loss}`);
  }
});

test('stabilize leaves the model as written; names, params and statement ranges are kept', () => {
  const src = 'param gamma = 2 in [0, 5]\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)\n';
  const m = model(src);
  const before = m.program.statements.map(printStatement);
  const { model: s } = stabilize(m);
  assert.deepEqual(m.program.statements.map(printStatement), before);
  assert.equal(s.params, m.params);
  assert.deepEqual(s.losses.map((l) => [l.name, l.range]), m.losses.map((l) => [l.name, l.range]));
  assert.equal(s.symbols.get('focal')?.stmt, s.losses[0]);
  assert.equal(stabilize(m), stabilize(m), 'memoised');
  // Param values given: the side conditions use them.
  const c = model('param c = 1.5 in [0, 2]\nloss l = sum(y * log(c - p))');
  assert.ok(!stabilize(c).applied.some((a) => a.rewrite.id === 'log-shifted-complement'));
  assert.ok(stabilize(c, { params: { c: 1.5 } }).applied.some((a) => a.rewrite.id === 'log-shifted-complement'));
});

test('editor API: the rewrite at a node (quick fix) and the stable form of a subexpression (diagnostics)', () => {
  const src = 'let pt = sum(y * p)\nloss a = -sum(y * log(p))\nloss b = -log(1 - pt)\n';
  const m = model(src);
  const cx = stableContext(m);
  const calls: Expr[] = [];
  for (const l of m.losses) walk(l.expr, (n) => void (n.kind === 'Call' && n.callee === 'log' && calls.push(n)));
  const [logP, logOneMinus] = calls;
  const at = stableRewriteAt(logP, cx)!;
  assert.equal(at.rewrite.id, 'log-softmax');
  assert.equal(printExpr(at.replacement), 'log_softmax(logits)');
  // A quick fix's text checks clean where the table says it reads well.
  const fixed = `loss a = -sum(y * ${printExpr(at.replacement)})`;
  assert.equal(parse(fixed).errors.length, 0);
  assert.deepEqual(checkText(fixed).diagnostics.filter((d) => d.severity !== 'info').map((d) => d.code), []);
  // log(1 - pt) is not rewritable as it stands (its argument first becomes the others' total) ...
  assert.equal(stableRewriteAt(logOneMinus, cx), null);
  // ... but its stable form is: "is this fragile form rewritable?"
  const f = stableForm(logOneMinus, m);
  assert.deepEqual(f.applied.map((r) => r.id), ['complement-sum', 'log-weighted-sum']);
  assert.equal(printExpr(f.expr), '-softplus(logsumexp(log(y) + log_softmax(logits)) - logsumexp(log(1 - y) + log_softmax(logits)))');
  assert.deepEqual(stableForm(m.losses[0].expr.kind === 'Unary' ? m.losses[0].expr.operand : m.losses[0].expr, m).applied.map((r) => r.id), ['log-softmax']);
  // Already stable: nothing to do.
  assert.deepEqual(stableForm(model('loss c = -sum(y * log_softmax(logits))').losses[0].expr, m).applied, []);
});
