/**
 * The TextMate grammar is generated from the builtin table: it must list exactly the table's
 * callable names and inputs, and give keywords, builtins, inputs, params, numbers, operators and
 * comments distinct scopes. A small tokenizer applies the grammar's `match` rules the way
 * TextMate does (first rule matching at the current position wins).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BUILTINS, INPUT_NAMES } from '../../grammar/src/index';
import { KEYWORDS } from '../../grammar/src/lexer';

const root = path.join(__dirname, '..', '..', '..');
const grammar = JSON.parse(fs.readFileSync(path.join(root, 'grammar/syntaxes/loss.tmLanguage.json'), 'utf8'));

interface Rule {
  match: string;
  name?: string;
  captures?: Record<string, { name: string }>;
}

function rules(): Rule[] {
  const out: Rule[] = [];
  const add = (p: { include?: string; patterns?: unknown[]; match?: string }): void => {
    if (p.include) add(grammar.repository[p.include.slice(1)]);
    else if (p.patterns) for (const q of p.patterns) add(q as Rule);
    else if (p.match) out.push(p as Rule);
  };
  for (const p of grammar.patterns) add(p);
  return out;
}

/** Tokens of one line as [text, scope] (whitespace and unmatched characters skipped). */
function tokenize(line: string): [string, string][] {
  const compiled = rules().map((r) => ({ r, re: new RegExp(r.match.replace(/\$/g, '$'), 'yd') }));
  const out: [string, string][] = [];
  let i = 0;
  outer: while (i < line.length) {
    for (const { r, re } of compiled) {
      re.lastIndex = i;
      const m = re.exec(line);
      if (!m || m[0].length === 0) continue;
      if (r.captures && !r.name) {
        const idx = (m as RegExpExecArray & { indices: [number, number][] }).indices;
        for (const [g, c] of Object.entries(r.captures)) {
          const span = idx[Number(g)];
          if (span) out.push([line.slice(span[0], span[1]), c.name.replace('$1', m[1] ?? '')]);
        }
        i += m[0].length;
        continue outer;
      }
      if (r.name) out.push([m[0], r.name.replace('$1', m[1] ?? '')]);
      i += m[0].length;
      continue outer;
    }
    i++;
  }
  return out;
}

const listed = (ruleMatch: string): string[] => {
  const m = /^\\b\(\?:(.*)\)\\b$/.exec(ruleMatch);
  assert.ok(m, `unexpected rule shape ${ruleMatch}`);
  return m[1].split('|').map((s) => s.replace(/\\(.)/g, '$1'));
};

test('the committed grammar is what scripts/gen-tmlanguage.js generates', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/gen-tmlanguage.js'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('builtin rules list exactly the callable builtins, by category', () => {
  const fromGrammar = grammar.repository.builtin.patterns.flatMap((p: Rule) => listed(p.match)).sort();
  const fromTable = [...new Set(BUILTINS.filter((b) => b.callable).map((b) => b.name))].sort();
  assert.deepEqual(fromGrammar, fromTable);
  for (const p of grammar.repository.builtin.patterns as Rule[]) {
    const cat = /^support\.function\.builtin\.([\w-]+)\.loss$/.exec(p.name ?? '')?.[1];
    assert.ok(cat, p.name);
    for (const name of listed(p.match)) assert.equal(BUILTINS.find((b) => b.name === name && b.callable)?.category, cat, name);
  }
});

test('input rule lists exactly the inputs; keywords come from the lexer', () => {
  assert.deepEqual(listed(grammar.repository.input.match).sort(), [...INPUT_NAMES].sort());
  const kw = rules().flatMap((r) => (r.match.includes('param|let|loss') ? /\(([a-z|]+)\)/.exec(r.match)![1].split('|') : r.match === '\\bin\\b' ? ['in'] : []));
  assert.deepEqual([...new Set(kw)].sort(), [...KEYWORDS].sort());
});

test('distinct scopes for keywords, params, builtins, inputs, numbers, operators and comments', () => {
  const toks = tokenize('param gamma = 2.0 in [0, 5]  # focusing');
  assert.deepEqual(toks, [
    ['param', 'storage.type.param.loss'],
    ['gamma', 'variable.parameter.loss'],
    ['=', 'keyword.operator.assignment.loss'],
    ['2.0', 'constant.numeric.decimal.loss'],
    ['in', 'keyword.operator.word.in.loss'],
    ['[', 'punctuation.section.brackets.begin.loss'],
    ['0', 'constant.numeric.decimal.loss'],
    [',', 'punctuation.separator.comma.loss'],
    ['5', 'constant.numeric.decimal.loss'],
    [']', 'punctuation.section.brackets.end.loss'],
    ['# focusing', 'comment.line.number-sign.loss'],
  ]);
  const loss = tokenize('loss focal = -(1 - pt)^gamma * log(pt) + 1e-3 * logsumexp(logits)');
  const scopeOf = (text: string): string | undefined => loss.find(([t]) => t === text)?.[1];
  assert.equal(scopeOf('loss'), 'storage.type.loss.loss');
  assert.equal(scopeOf('focal'), 'entity.name.function.loss.loss');
  assert.equal(scopeOf('log'), 'support.function.builtin.elementary.loss');
  assert.equal(scopeOf('logsumexp'), 'support.function.builtin.reduction.loss');
  assert.equal(scopeOf('logits'), 'variable.language.input.loss');
  assert.equal(scopeOf('^'), 'keyword.operator.arithmetic.power.loss');
  assert.equal(scopeOf('*'), 'keyword.operator.arithmetic.loss');
  assert.equal(scopeOf('1e-3'), 'constant.numeric.decimal.loss');
  assert.equal(scopeOf('pt'), 'variable.other.loss');
  const letToks = tokenize('let pt = sum(y * p)');
  assert.deepEqual(letToks.slice(0, 2), [
    ['let', 'storage.type.let.loss'],
    ['pt', 'variable.other.constant.let.loss'],
  ]);
  assert.ok(letToks.some(([t, s]) => t === 'y' && s === 'variable.language.input.loss'));
  // Names that merely contain a builtin or an input are plain identifiers.
  assert.deepEqual(tokenize('lossy'), [['lossy', 'variable.other.loss']]);
  assert.deepEqual(tokenize('py'), [['py', 'variable.other.loss']]);
});

test('every builtin of the table is highlighted as a builtin in a call', () => {
  for (const b of BUILTINS.filter((x) => x.callable)) {
    const toks = tokenize(`loss a = ${b.name}(p)`);
    const first = BUILTINS.find((x) => x.callable && x.name === b.name)!;
    assert.equal(toks.find(([t]) => t === b.name)?.[1], `support.function.builtin.${first.category}.loss`, b.name);
  }
});
