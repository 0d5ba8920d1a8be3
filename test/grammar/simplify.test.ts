/**
 * The simplifier: constant folding through every builtin's float64 implementation, the forms
 * evolved losses used to print (`log10(-1)`, `p - -1`, `y - y + ...`), and a property test:
 * simplify(e) evaluates equal to e (float64, 1e-9 relative) wherever e is finite, over random
 * expressions from the search's own generator and function set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTINS, build, checkText, evalExpr, printExpr, simplify, softmax, type Expr, type Value } from '../../grammar/src/index';
import { Rng } from '../../engine/src/rng';
import { randomExpr, type FunctionSet } from '../../engine/src/evolve/genome';
import { SEED_BINARY, SEED_UNARY } from '../../engine/src/evolve/ops';

const CTX = { nameType: (n: string) => (n === 'y' || n === 'p' || n === 'logits' ? ('vector' as const) : 'scalar' as const) };

function parseExpr(t: string): Expr {
  const r = checkText(`param g = 2 in [0, 5]\nloss a = ${t}`, { integrity: false });
  return r.model.losses[0].expr;
}

const simp = (t: string): string => printExpr(simplify(parseExpr(t), CTX));

test('folding: constants through any builtin, protected operators included', () => {
  const cases: [string, string][] = [
    ['sum(y * log10(-1) * p)', `${Math.log10(1 + 1e-7)} * sum(p * y)`],
    ['sum(y * ln(-1))', String(Math.log(1 + 1e-7))],
    ['pdiv(1, 2) * sum(y * p)', `${1 / (2 + 1e-7)} * sum(p * y)`],
    ['aq(3, 4) * sum(y * p)', `${3 / Math.sqrt(17)} * sum(p * y)`],
    ['reciprocal(-1) * g', `-(${-1 / (-1 + 1e-7)} * g)`],
    ['sqrt(2) * g', `${Math.SQRT2} * g`],
    ['exp(1) * g', `${Math.E} * g`],
    ['max(-1, 2) * min(3, -4) * g', '-(8 * g)'],
    ['clamp(5, 0, 1) + g', '1 + g'],
    ['sigmoid(0) * g', '0.5 * g'],
    ['stop_gradient(3) * g', '3 * g'],
    ['log_t(1, 0.5) + g', 'g'],
  ];
  for (const [input, expected] of cases) assert.equal(simp(input), expected, input);
});

test('folding: every elementwise builtin folds constant arguments where its value is finite', () => {
  const samples: Record<number, number[][]> = { 1: [[0.3], [-0.7], [2]], 2: [[0.3, 0.6], [-0.7, 1.5]], 3: [[0.5, 0, 1], [2, -1, 1]] };
  let folded = 0;
  for (const b of BUILTINS) {
    if (b.shape !== 'elementwise' || !b.callable) continue;
    for (const xs of samples[b.args.length] ?? []) {
      const v = b.fn(...xs);
      const e = simplify(build.call(b.name, ...xs.map((x) => build.num(x))), CTX);
      if (!Number.isFinite(v)) {
        assert.equal(e.kind === 'Number', false, `${b.name}(${xs}) = ${v} must stay written`);
        continue;
      }
      const got = e.kind === 'Number' ? e.value : e.kind === 'Unary' && e.operand.kind === 'Number' ? -e.operand.value : NaN;
      assert.equal(got, v, `${b.name}(${xs.join(', ')}) -> ${printExpr(e)}`);
      folded++;
    }
  }
  assert.ok(folded > 100, `${folded}`);
});

test('what evolved losses printed: p - -1, y - y + ..., x^-1, doubled negations', () => {
  assert.equal(simp('sum(y * (p - -1))'), 'sum(y * (p + 1))');
  assert.equal(simp('sum(p - -1)'), '1 + C');
  assert.equal(simp('sum(y - y + p * y)'), 'sum(p * y)');
  assert.equal(simp('sum(y * p ^ -1)'), 'sum(y / p)');
  assert.equal(simp('sum(-(-(y * p)))'), 'sum(p * y)');
  assert.equal(simp('sum(y * p - -1 * y)'), 'sum(p * y) + 1');
  assert.equal(simp('sum(2^y)'), 'sum(2^y)');
  assert.equal(simp('sum(y) * g - g'), '0');
});

test('undefined constants stay written (the checker reports them) and never print as names', () => {
  assert.equal(simp('log(0) * sum(y * p)'), 'log(0) * sum(p * y)');
  assert.equal(simp('sqrt(-1) * g'), 'g * sqrt(-1)');
  assert.equal(simp('g / 0'), 'g / 0');
  assert.equal(simp('g * 0^-1'), 'g / 0');
  // A coefficient that overflows has no text: the input comes back unchanged.
  assert.equal(simp('sum(1e200 * 1e200 * p * y)'), 'sum(1e200 * 1e200 * p * y)');
  // Every printed form parses back without errors.
  for (const t of ['log(0) * sum(y * p)', 'g / 0', 'g * 0^-1', 'sum(y * log10(-1) * p)']) {
    const back = checkText(`param g = 2\nloss a = ${simp(t)}`, { integrity: false });
    assert.deepEqual(back.diagnostics.filter((d) => d.severity === 'error' && d.code !== 'non-finite-everywhere').map((d) => d.message), [], t);
  }
});

// ---------------------------------------------------------------- property test

const FS: FunctionSet = { unary: SEED_UNARY, binary: [...SEED_BINARY, 'div', 'pow'], terminals: ['y', 'p', 'logits', 1, -1, 0.5, 2] };

function envAt(rng: Rng, classes: number): (name: string) => Value | undefined {
  const logits = Float64Array.from({ length: classes }, () => rng.normal() * 2);
  const y = new Float64Array(classes);
  if (rng.next() < 0.5) y[rng.int(classes)] = 1;
  else {
    let s = 0;
    for (let i = 0; i < classes; i++) s += (y[i] = rng.next());
    for (let i = 0; i < classes; i++) y[i] /= s;
  }
  const p = softmax(logits);
  const vals: Record<string, Value> = { y, p, logits, C: classes, g: 2 };
  return (n) => vals[n];
}

const scalar = (v: Value): number => (typeof v === 'number' ? v : (v as Float64Array).reduce((a, b) => a + b, 0));

test('property: simplify(e) evaluates equal to e wherever e is finite (random search expressions)', () => {
  const rng = new Rng(20251206);
  let compared = 0;
  for (let i = 0; i < 600; i++) {
    const body = randomExpr(rng, FS, 2 + (i % 5));
    // sum takes a vector: a body reading no input is not a loss (the search redraws those).
    if (!['y', 'p', 'logits'].some((n) => printExpr(body).match(new RegExp(`\\b${n}\\b`)))) continue;
    const e = build.call('sum', body);
    let s: Expr;
    try {
      s = simplify(e, CTX);
    } catch (err) {
      assert.fail(`simplify threw on ${printExpr(e)}: ${String(err)}`);
    }
    for (let k = 0; k < 5; k++) {
      const env = envAt(rng, 2 + rng.int(9));
      const a = scalar(evalExpr(e, env));
      if (!Number.isFinite(a)) continue;
      const b = scalar(evalExpr(s, env));
      const tol = 1e-9 * Math.max(1, Math.abs(a));
      assert.ok(Math.abs(a - b) <= tol, `${printExpr(e)}\n  simplified ${printExpr(s)}\n  ${a} != ${b}`);
      compared++;
    }
  }
  assert.ok(compared > 1500, `${compared}`);
});
