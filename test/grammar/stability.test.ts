/**
 * Stability diagnostics (grammar/src/stability.ts): one minimal input per code with its exact
 * range and severity, the exact constant facts that replace the domain warnings' guesses, the
 * stable rewriter consulted, and a clean catalogue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { checkText, type Diagnostic } from '../../grammar/src/index';
import { float32Edges, STABILITY_CODES, zeroWhere } from '../../grammar/src/stability';

/** `⟦…⟧` marks the exact range (removed before checking). */
function strip(marked: string): { text: string; start: number; end: number } {
  const start = marked.indexOf('⟦');
  const end = marked.indexOf('⟧') - 1;
  return { text: marked.replace('⟦', '').replace('⟧', ''), start, end };
}

function diags(text: string, code?: string): Diagnostic[] {
  return checkText(text, { integrity: false }).diagnostics.filter((d) => !code || d.code === code);
}

/** One diagnostic of `code` exactly on the marked range; returns it. */
function one(marked: string, code: string): Diagnostic {
  const { text, start, end } = strip(marked);
  const hits = diags(text, code);
  assert.equal(hits.length, 1, `${code} in ${JSON.stringify(text)}: ${JSON.stringify(diags(text).map((d) => [d.code, d.message]))}`);
  assert.deepEqual(hits[0].range, { start, end }, `${code}: ${JSON.stringify(text.slice(hits[0].range.start, hits[0].range.end))} != ${JSON.stringify(text.slice(start, end))}`);
  return hits[0];
}

const CASES: [string, string, 'error' | 'warning', RegExp][] = [
  ['non-finite-everywhere', 'let pt = sum(y * p)\nloss a = -⟦log(0 * pt)⟧ + pt', 'error', /^log\(0 \* pt\) is -Infinity everywhere: its argument 0 \* pt is identically 0$/],
  ['unbounded-gradient', 'loss a = sum(⟦abs(y - p)^0.5⟧)', 'warning', /^abs\(y - p\)\^0\.5 has an infinite gradient where y = p /],
  ['float32-overflow', 'loss a = -sum(y * ⟦exp(logits)⟧)', 'warning', /^exp\(logits\) overflows float32 to Infinity where logits > 88\.72 \(logits is unbounded\)$/],
  ['float32-underflow', 'loss a = sum(y / ⟦exp(-logits^2)⟧)', 'warning', /^exp\(-logits\^2\) underflows to 0 in float32 where -logits\^2 < -103\.97, and y \/ exp\(-logits\^2\) is then Infinity$/],
  ['float32-cancellation', 'loss a = sum(y / ⟦(1 - p)⟧)', 'warning', /^1 - p cancels in float32 as p → 1: it is exactly 0 once p rounds to 1 \(within 2\.98e-8\), and y \/ \(1 - p\) is then Infinity$/],
];

test('every stability code has a case', () => {
  assert.deepEqual(STABILITY_CODES.filter((c) => !CASES.some((k) => k[0] === c)), []);
});

for (const [code, marked, severity, message] of CASES) {
  test(`${code}: ${JSON.stringify(marked)}`, () => {
    const d = one(marked, code);
    assert.equal(d.severity, severity);
    assert.match(d.message, message);
  });
}

test('real-world: sqrt(abs(y - p)) warns that the gradient is infinite where y = p', () => {
  const d = one('loss l = sum(⟦sqrt(abs(y - p))⟧)', 'domain-sqrt');
  assert.equal(d.severity, 'warning');
  assert.match(d.message, /infinite gradient.*abs\(y - p\) is 0 where y = p/);
  // The protected form and the power form, which the domain rules do not cover.
  assert.match(one('loss l = sum(⟦sqrt_abs(y - p)⟧)', 'unbounded-gradient').message, /^sqrt_abs\(y - p\) has an infinite gradient where y = p/);
  assert.match(one('loss l = sum(⟦abs(y - p)^0.5⟧)', 'unbounded-gradient').message, /where y = p/);
  // A power of at least 1 has a finite slope at 0; y alone carries no gradient.
  assert.deepEqual(diags('loss l = sum(abs(y - p)^1.5)', 'unbounded-gradient'), []);
  assert.deepEqual(diags('loss l = -sum(y * log(p)) + sum(y^0.5)', 'unbounded-gradient'), []);
});

test('unbounded-gradient: a param exponent says for which values; log_t below t = 1', () => {
  const d = one('param g = 2 in [0, 5]\nloss l = sum(⟦abs(y - p)^g⟧)', 'unbounded-gradient');
  assert.match(d.message, / when 0 < g < 1$/);
  assert.deepEqual(diags('param g = 2 in [1, 5]\nloss l = sum(abs(y - p)^g)', 'unbounded-gradient'), []);
  assert.match(one('loss l = -sum(⟦log_t(abs(y - p), 0.5)⟧)', 'unbounded-gradient').message, /x\^-t/);
});

test('exact facts replace the domain warnings: -Infinity everywhere, not "can reach 0"', () => {
  const t1 = 'let pt = sum(y * p)\nloss a = -log(0 * pt) + pt';
  assert.deepEqual(diags(t1, 'domain-log'), []);
  const t2 = 'let pt = sum(y * p)\nloss a = -⟦log(pt - pt)⟧ + pt';
  const d = one(t2, 'non-finite-everywhere');
  assert.equal(d.message, 'log(pt - pt) is -Infinity everywhere: its argument pt - pt is identically 0');
  assert.deepEqual(diags(strip(t2).text, 'domain-log'), []);
  // Wholly outside the domain, a constant argument, a zero denominator, 0 to a negative power.
  assert.equal(one('loss a = sum(y * ⟦log(-p)⟧)', 'non-finite-everywhere').message, 'log(-p) is NaN everywhere: its argument -p lies in (-1, 0)');
  assert.equal(one('loss a = sum(y * ⟦sqrt(-1)⟧) + sum(y * p)', 'non-finite-everywhere').message, 'sqrt(-1) is NaN everywhere');
  assert.match(one('loss a = sum(⟦y / (p - p)⟧)', 'non-finite-everywhere').message, /its denominator p - p is identically 0/);
  assert.match(one('loss a = sum(y * ⟦(p - p)^-1⟧)', 'non-finite-everywhere').message, /Infinity everywhere/);
  // sqrt of an identically 0 argument: finite, with an infinite gradient everywhere.
  const s = one('loss a = sum(y * ⟦sqrt(p - p)⟧) + sum(y * p)', 'unbounded-gradient');
  assert.equal(s.severity, 'error');
  assert.equal(s.message, 'sqrt(p - p) has an infinite gradient everywhere: its argument p - p is identically 0');
  assert.deepEqual(diags('loss a = sum(y * sqrt(p - p)) + sum(y * p)', 'domain-sqrt'), []);
});

test('an exactly constant valid argument drops the domain warning (it was a false alarm)', () => {
  const t = 'loss a = -sum(y * log(p)) + sum(y * log(y - y + 1))';
  assert.deepEqual(diags(t).map((d) => d.code), []);
});

test('the stable rewriter is consulted: forms it rewrites get no float32 warning', () => {
  for (const t of [
    'let pt = sum(y * p)\nloss a = -log(1 - pt) + pt', // complement-sum
    'let pt = sum(y * p)\nparam g = 0.5 in [0, 5]\nloss a = -(1 - pt)^g * log(pt)', // complement-sum under a power
    'loss a = -sum(y * log(exp(logits) / sum(exp(logits))))', // softmax
    'loss a = -sum(y * log(1 - p))', // log1m-softmax
  ]) {
    assert.deepEqual(diags(t).filter((d) => d.code.startsWith('float32-')).map((d) => d.message), [], t);
  }
  // ... and forms it cannot rewrite still warn: 1 - max(p) is no weighted sum.
  one('loss a = -log(⟦1 - max(p)⟧) + sum(y * p)', 'float32-cancellation');
  // An overflow the rewrite keeps (log1p(exp(x)) still overflows) still warns.
  one('loss a = sum(y * log(1 + ⟦exp(logits)⟧))', 'float32-overflow');
});

test('a hazard in a let points at its fatal use', () => {
  const src = 'let r = 1 - max(p)\nloss a = -log(r) + sum(y * p)';
  const d = one('let r = ⟦1 - max(p)⟧\nloss a = -log(r) + sum(y * p)', 'float32-cancellation');
  assert.match(d.message, /and log\(r\) is then -Infinity$/);
  assert.equal(d.related?.length, 1);
  assert.equal(src.slice(d.related![0].range.start, d.related![0].range.end), 'log(r)');
});

test('a harmless cancellation is silent: (1 - p)^2, a numerator, a clamp', () => {
  for (const t of ['loss a = sum((1 - p)^2 * y)', 'loss a = sum(y * (1 - p) / (1 + p))', 'loss a = -sum(y * log(clamp(1 - p, 1e-7, 1)))']) {
    assert.deepEqual(diags(t).filter((d) => d.code.startsWith('float32-')).map((d) => d.message), [], t);
  }
});

test('float32 edges come from the builtins\' float64 implementations', () => {
  const e = float32Edges();
  assert.ok(Math.abs(e.exp.overHi! - Math.log(3.4028234663852886e38)) < 1e-9);
  assert.ok(Math.abs(e.exp.underLo! - -103.972) < 1e-3);
  assert.equal(e.exp.overLo, undefined);
  assert.ok(e.cosh.overHi! > 89 && e.cosh.overLo! < -89);
  assert.ok(e.erfc.underHi! > 10 && e.erfc.underHi! < 10.1);
  for (const name of ['log', 'sqrt', 'tanh', 'sigmoid', 'softplus', 'ln', 'log10', 'abs']) assert.equal(e[name]?.overHi, undefined, name);
});

test('overflow of sinh reaches both infinities; a bounded argument does not overflow', () => {
  assert.match(one('loss a = sum(y * ⟦sinh(logits)⟧)', 'float32-overflow').message, /to ±Infinity where logits > 89\.42 or logits < -89\.42/);
  assert.deepEqual(diags('loss a = sum(y * exp(p)) - sum(y * exp(tanh(logits) * 80))', 'float32-overflow'), []);
  assert.match(one('loss a = sum(y * ⟦exp(tanh(logits) * 90)⟧)', 'float32-overflow').message, /reaches \(-90, 90\)/);
});

test('zeroWhere says where an expression is 0', () => {
  const expr = (t: string) => checkText(`loss a = ${t}`, { integrity: false }).model.losses[0].expr;
  assert.equal(zeroWhere(expr('abs(y - p)')), 'y = p');
  assert.equal(zeroWhere(expr('p + -y')), 'p = y');
  assert.equal(zeroWhere(expr('p + 0.5')), 'p = -0.5');
  assert.equal(zeroWhere(expr('2 * square(y - p)')), 'y = p');
  assert.equal(zeroWhere(expr('p * y')), 'p = 0 or y = 0');
  assert.equal(zeroWhere(expr('exp(p)')), undefined);
});

test('suppression comments allow stability warnings; the catalogue has none', () => {
  const t = '# lossmith: allow float32-overflow\nloss a = -sum(y * exp(logits))';
  assert.equal(checkText(t, { integrity: false }).diagnostics.find((d) => d.code === 'float32-overflow')!.severity, 'info');
  const dir = path.join(__dirname, '..', '..', '..', 'examples');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.loss'))) {
    const codes = new Set<string>(STABILITY_CODES);
    const hits = diags(fs.readFileSync(path.join(dir, f), 'utf8')).filter((d) => codes.has(d.code));
    assert.deepEqual(hits.map((d) => d.message), [], f);
  }
});

test('never throws, also on broken and odd input', () => {
  for (const t of ['loss a = log(', 'loss a = sqrt(p - ) + exp(', 'let r = 1 - r\nloss a = log(r)', 'loss a = log(1e999 - p)', 'loss a = (p - p)^(p - p)', 'loss a = exp(exp(exp(logits)))']) {
    assert.ok(Array.isArray(checkText(t).diagnostics), t);
  }
});
