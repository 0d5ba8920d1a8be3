import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { parse, printParenthesized, printExpr, LineIndex, checkText } from '../../grammar/src/index';
import { clearStatementCache } from '../../grammar/src/parser';
import { Rng } from '../../engine/src/rng';

/** Parse one expression through a loss statement and print it fully parenthesised. */
function paren(src: string): string {
  const r = parse(`loss x = ${src}`);
  assert.deepEqual(r.errors, [], `errors in ${src}`);
  const s = r.program.statements[0];
  assert.equal(s.kind, 'Loss');
  return printParenthesized((s as { expr: Parameters<typeof printParenthesized>[0] }).expr);
}

const precedence: [string, string][] = [
  ['a + b * c', '(a + (b * c))'],
  ['a * b + c', '((a * b) + c)'],
  ['a - b - c', '((a - b) - c)'],
  ['a / b / c', '((a / b) / c)'],
  ['a ^ b ^ c', '(a ^ (b ^ c))'],
  ['-x^2', '(-(x ^ 2))'],
  ['-x * y', '((-x) * y)'],
  ['2^-1', '(2 ^ (-1))'],
  ['-(1 - pt)^gamma * log(pt)', '((-((1 - pt) ^ gamma)) * log(pt))'],
  ['(a + b) * c', '((a + b) * c)'],
  ['f(a, b + c)', 'f(a, (b + c))'],
  ['a * -b', '(a * (-b))'],
  ['--a', '(-(-a))'],
  ['+a', 'a'],
  ['1e-7 + .5', '(1e-7 + .5)'],
  ['sum(y * log(p))', 'sum((y * log(p)))'],
  ['a - -b ^ 2', '(a - (-(b ^ 2)))'],
  ['x ^ y * z', '((x ^ y) * z)'],
];

for (const [src, want] of precedence) {
  test(`precedence: ${src}`, () => assert.equal(paren(src), want));
}

test('canonical printer round-trips and is minimal', () => {
  for (const [src] of precedence) {
    const r = parse(`loss x = ${src}`);
    const e = (r.program.statements[0] as { expr: Parameters<typeof printExpr>[0] }).expr;
    const once = printExpr(e);
    const again = parse(`loss x = ${once}`);
    assert.deepEqual(again.errors, []);
    const e2 = (again.program.statements[0] as { expr: Parameters<typeof printExpr>[0] }).expr;
    assert.equal(printExpr(e2), once, `print(parse(print(${src})))`);
    assert.equal(printParenthesized(e2), printParenthesized(e));
  }
  const s = parse('loss x = (a)*(b)+((c))').program.statements[0];
  assert.ok(s.kind === 'Loss');
  if (s.kind === 'Loss') assert.equal(printExpr(s.expr), 'a * b + c');
});

test('statements, params with ranges, comments', () => {
  const src = '# header\nparam gamma = -2.5e-1 in [-1, 5]  # tail\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)\n';
  const r = parse(src);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.program.statements.map((s) => `${s.kind}:${s.name}`), ['Param:gamma', 'Let:pt', 'Loss:focal']);
  const prm = r.program.statements[0];
  assert.equal(prm.kind, 'Param');
  if (prm.kind === 'Param') {
    assert.equal(prm.value, -0.25);
    assert.deepEqual([prm.bounds?.lo, prm.bounds?.hi], [-1, 5]);
    assert.equal(src.slice(prm.nameRange.start, prm.nameRange.end), 'gamma');
    assert.equal(src.slice(prm.valueRange.start, prm.valueRange.end), '-2.5e-1');
  }
  assert.deepEqual(r.program.comments.map((c) => c.text), ['# header', '# tail']);
  const loss = r.program.statements[2];
  assert.equal(src.slice(loss.range.start, loss.range.end), 'loss focal = -(1 - pt)^gamma * log(pt)');
});

/** [input, [[message fragment, exact text under the range or '' for an empty range, line]...]] */
const syntaxCases: [string, [string, string, number][]][] = [
  ['loss a = 1 +', [['expected an expression', '', 0]]],
  ['loss a = log(p', [["expected ')'", '', 0]]],
  ['loss = 1', [['expected a name', '=', 0]]],
  ['let a 1', [["expected '='", '1', 0]]],
  ['loss a = 1 2', [["unexpected '2'", '2', 0]]],
  [') let a = 1', [["unexpected ')'", ')', 0]]],
  ['loss a = f(1,,2)', [['expected an expression', ',', 0]]],
  ['loss a = 1 $ 2', [['unexpected character "$"', '$', 0]]],
  ['param g = x', [['expected a number', 'x', 0]]],
  ['param g = 1 in [0 5]', [["expected ','", '5', 0]]],
];

for (const [src, want] of syntaxCases) {
  test(`syntax error: ${JSON.stringify(src)}`, () => {
    const r = parse(src);
    const idx = new LineIndex(src);
    assert.equal(r.errors.length, want.length, JSON.stringify(r.errors));
    r.errors.forEach((e, i) => {
      assert.ok(e.message.includes(want[i][0]), `${e.message} should include ${want[i][0]}`);
      assert.equal(src.slice(e.range.start, e.range.end), want[i][1]);
      assert.equal(idx.position(e.range.start).line, want[i][2]);
    });
  });
}

test('three separate errors give three diagnostics, and later statements still parse', () => {
  const src = ['let a = 1 +', 'let b = )', 'loss c = log(p', 'loss ok = -sum(y * log_softmax(logits))'].join('\n');
  const r = checkText(src);
  const syntax = r.diagnostics.filter((d) => d.code === 'syntax-error');
  assert.equal(syntax.length, 3);
  assert.deepEqual(syntax.map((d) => new LineIndex(src).position(d.range.start).line), [0, 1, 2]);
  assert.ok(r.model.losses.some((l) => l.name === 'ok' && l.expr.kind === 'Unary'));
});

test('empty, comment-only and whitespace files parse cleanly', () => {
  for (const src of ['', '   \n\n', '# only a comment', '#\n#\n']) {
    const r = parse(src);
    assert.deepEqual(r.errors, []);
    assert.equal(r.program.statements.length, 0);
  }
});

test('line index converts offsets both ways, with CRLF', () => {
  const t = 'ab\r\ncd\nef';
  const i = new LineIndex(t);
  assert.deepEqual(i.position(0), { line: 0, character: 0 });
  assert.deepEqual(i.position(4), { line: 1, character: 0 });
  assert.deepEqual(i.position(8), { line: 2, character: 1 });
  assert.equal(i.offset({ line: 1, character: 1 }), 5);
  assert.equal(i.offset({ line: 9, character: 0 }), t.length);
});

test('statements re-used from earlier parses: across random edits the parse equals a cold parse, and unchanged statements keep their identity', () => {
  const dir = path.join(__dirname, '..', '..', '..', 'examples');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.loss')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  const pieces = [' + 1', '0.5', 'pt', '\n', '# c\n', 'let q = sum(y * p)\n', 'loss z = -log(sum(y * p))\n', ')', '(', '*', 'log(', ' ', 'param k = 2 in [0, 3]\n'];
  const rng = new Rng(11);
  let cleanHits = 0;
  for (const original of files) {
    let text = original;
    for (let step = 0; step < 60; step++) {
      if (step % 3 === 0) text = original; // random edits break a file quickly: start over often
      const at = rng.int(text.length + 1);
      text = rng.next() < 0.6 ? text.slice(0, at) + pieces[rng.int(pieces.length)] + text.slice(at) : text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + rng.int(4)));
      const warm = parse(text);
      clearStatementCache();
      const cold = parse(text);
      assert.deepEqual(warm.program, cold.program, text);
      assert.deepEqual(warm.errors, cold.errors, text);
      // Re-parse the same text: every statement comes back as the same object.
      const again = parse(text);
      if (warm.errors.length === 0) {
        cleanHits++;
        again.program.statements.forEach((s, i) => assert.equal(s, cold.program.statements[i]));
      }
    }
  }
  assert.ok(cleanHits > 100, `clean parses: ${cleanHits}`);
  // An edit early in a file moves the statements after it: same shape, shifted ranges.
  const a = parse('let pt = sum(y * p)\nloss f = -log(pt)\n');
  const b = parse('# x\nlet pt = sum(y * p)\nloss f = -log(pt)\n');
  assert.deepEqual(b.program.statements.map((s) => s.range), a.program.statements.map((s) => ({ start: s.range.start + 4, end: s.range.end + 4 })));
  assert.equal((b.program.statements[1] as { expr: { range: { start: number } } }).expr.range.start, (a.program.statements[1] as { expr: { range: { start: number } } }).expr.range.start + 4);
});
