import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { checkText, formatProgram, nameTypes, parse, printExpr, toLatex, differentiate } from '../../grammar/src/index';

function format(text: string): string | undefined {
  const r = parse(text);
  return formatProgram(text, r.program, r.errors.length > 0);
}

test('formatter: canonical spacing, comments kept, blank lines collapsed, idempotent', () => {
  const messy = '#c1\n\n\n   param   g=2   in [ 0 ,5]#tail\nlet  pt=sum( y*p ) \n\n# mid\nloss f = -(1-pt)^g*log( pt )   # end\nloss h = 1 +\n  2 * sum(y*p) # inner\n  + 3\n';
  const want = '#c1\n\nparam g = 2 in [0, 5]  #tail\nlet pt = sum(y * p)\n\n# mid\nloss f = -(1 - pt)^g * log(pt)  # end\nloss h = 1 + 2 * sum(y * p) + 3  # inner\n';
  const once = format(messy);
  assert.equal(once, want);
  assert.equal(format(once!), once);
});

test('formatter keeps every comment of every catalogue file and is idempotent there', () => {
  const dir = path.join(__dirname, '..', '..', '..', 'examples');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.loss'))) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    const out = format(text)!;
    assert.equal(out, text, `${f} is not in canonical form`);
    const before = parse(text).program.comments.map((c) => c.text.trim());
    const after = parse(out).program.comments.map((c) => c.text.trim());
    assert.deepEqual(after, before);
  }
});

test('formatter refuses files with syntax errors', () => {
  assert.equal(format('loss a = 1 +'), undefined);
});

test('numbers keep their spelling; params keep theirs', () => {
  assert.equal(format('param eps = 1e-7 in [0,1E-3]\nloss a = sum(y*p)*eps + .5'), 'param eps = 1e-7 in [0, 1E-3]\nloss a = sum(y * p) * eps + .5\n');
});

test('LaTeX: vectors carry the class index, Greek params, fractions and sums', () => {
  const m = checkText('param gamma = 2\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)\nloss ce = -sum(y * log(p))').model;
  const nt = nameTypes(m);
  assert.equal(toLatex(m.losses[0].expr, { nameType: nt }), '-{\\left(1 - p_t\\right)}^{\\gamma} \\, \\log\\left(p_t\\right)');
  assert.equal(toLatex(m.losses[1].expr, { nameType: nt }), '-\\sum_k y_k \\, \\log\\left(p_k\\right)');
  assert.equal(toLatex(differentiate(m, 'ce', 'p'), { nameType: nt }), '-\\frac{y_k}{p_k}');
});

test('printExpr parenthesises only where needed', () => {
  const cases: [string, string][] = [
    ['(a*b)*c', 'a * b * c'],
    ['a*(b*c)', 'a * (b * c)'],
    ['a-(b-c)', 'a - (b - c)'],
    ['(a^b)^c', '(a^b)^c'],
    ['(-a)^2', '(-a)^2'],
    ['-(a^2)', '-a^2'],
    ['-(-(a))', '-(-a)'],
    ['a/(b*c)', 'a / (b * c)'],
  ];
  for (const [src, want] of cases) {
    const s = parse(`loss x = ${src}`).program.statements[0];
    assert.ok(s.kind === 'Loss');
    if (s.kind === 'Loss') assert.equal(printExpr(s.expr), want, src);
  }
});
