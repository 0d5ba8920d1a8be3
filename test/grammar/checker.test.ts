import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { capDiagnostics, checkText, ISSUE_CODES, LineIndex, MAX_NESTING, type IssueCode } from '../../grammar/src/index';

/**
 * One minimal input per issue code. `⟦…⟧` marks the exact range the diagnostic must cover
 * (the markers are removed before checking).
 */
const CASES: [IssueCode, string, string?][] = [
  ['syntax-error', 'loss a = 1 ⟦2⟧'],
  ['unexpected-character', 'loss a = sum(y * p) ⟦$⟧'],
  ['unknown-name', 'loss a = sum(y * ⟦pp⟧)'],
  ['wrong-arity', 'loss a = ⟦clamp(sum(y * p), 1)⟧'],
  ['type-mismatch', 'loss a = sum(⟦sum(y * p)⟧)'],
  ['not-constant', 'loss a = sum(y * log_t(p, ⟦sum(p)⟧))'],
  ['use-before-definition', 'loss a = sum(y * p) * ⟦k⟧\nlet k = 2'],
  ['loss-reference', 'loss a = -sum(y * log(p))\nloss b = ⟦a⟧ * 2'],
  ['vector-loss', 'loss a = ⟦-y * log(p)⟧'],
  ['duplicate-name', 'let k = 1\nlet ⟦k⟧ = 2\nloss a = -sum(y * log(p)) * k'],
  ['shadowed-name', 'let ⟦exp⟧ = 1\nloss a = -sum(y * log(p)) * exp'],
  ['unused-binding', 'let ⟦k⟧ = 1\nloss a = -sum(y * log(p))'],
  ['param-out-of-range', 'param g = ⟦7⟧ in [0, 5]\nloss a = -sum(y * log(p)) * g'],
  ['bad-range', 'param g = 1 ⟦in [5, 0]⟧\nloss a = -sum(y * log(p)) * g'],
  ['domain-log', 'loss a = -sum(p * ⟦log(y)⟧)'],
  ['domain-sqrt', 'loss a = sum(y * ⟦sqrt(p - 0.5)⟧)'],
  ['domain-div', 'loss a = sum(⟦y / (p - 0.5)⟧)'],
  ['domain-pow', 'loss a = sum(y * ⟦(p - 0.5)^0.5⟧)'],
  ['domain-log1p', 'loss a = -sum(y * ⟦log1p(-p - 0.5)⟧)'],
  ['domain-log_t', 'loss a = -sum(p * ⟦log_t(y, 1.5)⟧)'],
  ['non-finite', 'loss ⟦a⟧ = sum(y * log(p - 0.3)) + sum(y*p)'],
  ['flat-loss', 'loss ⟦a⟧ = sum(y * p) - sum(y * p) + sum(y) * sum(p)'],
  ['extremum-in-middle', 'loss ⟦a⟧ = (sum(y * p) - 0.5)^2'],
  ['oscillating-loss', 'loss ⟦a⟧ = sum(y * sin(20 * p))'],
  ['loss-rises', 'loss ⟦a⟧ = sum(y * p)'],
  ['no-target-dependence', 'loss ⟦a⟧ = -sum(log(p))'],
  ['no-prediction-dependence', 'loss ⟦a⟧ = sum(y * y)'],
  ['unknown-task', 'task ⟦gna⟧\nloss a_g = -d_fake'],
  ['duplicate-task', 'task gan\n⟦task gan⟧\nloss a_g = -d_fake\nloss a_d = d_fake - d_real'],
  ['task-not-first', 'let k = 1\n⟦task gan⟧\nloss a_g = -d_fake * k\nloss a_d = d_fake - d_real'],
  ['gan-pair', 'task gan\nloss ⟦a_g⟧ = -d_fake'],
  ['non-finite-everywhere', 'let pt = sum(y * p)\nloss a = -⟦log(0 * pt)⟧ + pt'],
  ['unbounded-gradient', 'loss a = sum(⟦abs(y - p)^0.5⟧)'],
  ['float32-overflow', 'loss a = -sum(y * ⟦exp(logits)⟧)'],
  ['float32-underflow', 'loss a = sum(y / ⟦exp(-logits^2)⟧)'],
  ['float32-cancellation', 'loss a = sum(y / ⟦(1 - p)⟧)'],
  // The parenthesis that opens level MAX_NESTING + 1 (more in test/grammar/limits.test.ts).
  ['nested-too-deep', `loss a = ${'('.repeat(MAX_NESTING)}⟦(⟧p${')'.repeat(MAX_NESTING + 1)}`],
];

/** Codes the checker never gives itself: `capDiagnostics` (the CLI, the server) adds them. */
const CAP_CODES: IssueCode[] = ['too-many-problems'];

function strip(marked: string): { text: string; start: number; end: number } {
  const start = marked.indexOf('⟦');
  const end = marked.indexOf('⟧') - 1;
  return { text: marked.replace('⟦', '').replace('⟧', ''), start, end };
}

test('every issue code has a case', () => {
  const covered = new Set([...CASES.map((c) => c[0]), ...CAP_CODES]);
  assert.deepEqual(ISSUE_CODES.filter((c) => !covered.has(c)), []);
});

for (const [code, marked] of CASES) {
  test(`${code}: ${JSON.stringify(marked)}`, () => {
    const { text, start, end } = strip(marked);
    const r = checkText(text);
    const hits = r.diagnostics.filter((d) => d.code === code);
    assert.ok(hits.length >= 1, `no ${code} in ${JSON.stringify(r.diagnostics.map((d) => [d.code, d.message]))}`);
    const exact = hits.find((d) => d.range.start === start && d.range.end === end);
    assert.ok(exact, `${code} ranges ${JSON.stringify(hits.map((h) => text.slice(h.range.start, h.range.end)))} != ${JSON.stringify(text.slice(start, end))}`);
  });
}

test('too-many-problems: a count of the diagnostics left out, at the first one left out', () => {
  const text = 'loss a = sum(y * p) + u1\nloss b = sum(y * p) + u2\nloss c = sum(y * p) + u3';
  const all = checkText(text).diagnostics.filter((d) => d.code === 'unknown-name');
  const capped = capDiagnostics(all, 1);
  assert.deepEqual(capped.map((d) => d.code), ['unknown-name', 'too-many-problems']);
  assert.equal(capped[1].message, '2 more problems not shown (2 errors); only the first 1 is reported');
  assert.deepEqual(capped[1].range, all[1].range);
});

test('did-you-mean suggestions, including transpositions', () => {
  const r = checkText('loss a = -sum(y * lgo(p))');
  const d = r.diagnostics.find((x) => x.code === 'unknown-name')!;
  assert.match(d.message, /did you mean 'log'/);
  assert.ok((d.data!.suggestions as string[]).includes('log'));
  const r2 = checkText('param gamma = 2\nloss a = -(1 - sum(y*p))^gama * sum(y * log(p))');
  assert.match(r2.diagnostics.find((x) => x.code === 'unknown-name')!.message, /did you mean 'gamma'/);
});

test('duplicate names point at the first definition', () => {
  const text = 'let k = 1\nlet k = 2\nloss a = -sum(y * log(p)) * k';
  const d = checkText(text).diagnostics.find((x) => x.code === 'duplicate-name')!;
  assert.equal(d.related!.length, 1);
  assert.equal(new LineIndex(text).position(d.related![0].range.start).line, 0);
});

test('severities: type problems are errors, domain and curve problems warnings, unused is tagged', () => {
  const r = checkText('let k = 1\nloss a = -sum(p * log(y))');
  const unused = r.diagnostics.find((d) => d.code === 'unused-binding')!;
  assert.equal(unused.severity, 'warning');
  assert.deepEqual(unused.tags, ['unnecessary']);
  assert.equal(r.diagnostics.find((d) => d.code === 'domain-log')!.severity, 'warning');
  assert.equal(checkText('loss a = y').diagnostics.find((d) => d.code === 'vector-loss')!.severity, 'error');
});

test('no domain warnings where the interval analysis proves safety', () => {
  const clean = [
    'loss a = -sum(y * log(p))',
    'let pt = sum(y * p)\nloss a = -log(pt) * (1 - pt)^2',
    'loss a = -sum(y * log(1 - p + 1e-7)) + sum(y * sqrt(p))',
    'loss a = -sum(y * log(clamp(p, 1e-7, 1)))',
    'loss a = sum(y * (1 - p) / (1 + p))',
  ];
  for (const t of clean) {
    const ds = checkText(t).diagnostics.filter((d) => d.code.startsWith('domain-'));
    assert.deepEqual(ds.map((d) => d.message), [], t);
  }
});

test('suppression comments turn allowed warnings into infos', () => {
  const t = '# lossmith: allow loss-rises\nloss a = sum(y * p)';
  const d = checkText(t).diagnostics.find((x) => x.code === 'loss-rises')!;
  assert.equal(d.severity, 'info');
  const t2 = 'loss a = sum(y * p)  # lossmith: allow loss-rises, flat-loss';
  assert.equal(checkText(t2).diagnostics.find((x) => x.code === 'loss-rises')!.severity, 'info');
  assert.equal(checkText('loss a = sum(y * p)').diagnostics.find((x) => x.code === 'loss-rises')!.severity, 'warning');
});

test('the catalogue checks clean (only intended infos)', () => {
  const dir = path.join(__dirname, '..', '..', '..', 'examples');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.loss'))) {
    const r = checkText(fs.readFileSync(path.join(dir, f), 'utf8'));
    const loud = r.diagnostics.filter((d) => d.severity !== 'info');
    assert.deepEqual(loud.map((d) => `${d.code}: ${d.message}`), [], f);
  }
});

test('checker never throws on odd input', () => {
  for (const t of ['\u0000', 'loss', 'loss a', 'loss a =', 'param', 'param x = 1 in', 'let = = =', 'loss a = ((((', ')))))', 'loss a = f(', 'loss a = 1e999 * p', 'param a = 1e400\nloss b = a * sum(y*p)']) {
    const r = checkText(t);
    assert.ok(Array.isArray(r.diagnostics));
  }
});
