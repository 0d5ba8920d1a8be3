import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkText } from '../../../grammar/src/index';
import { Rng } from '../../../engine/src/rng';
import {
  canonicalKey,
  crossover,
  depth,
  genomeFromSource,
  inputsUsed,
  mutate,
  mutateKind,
  negate,
  printGenome,
  randomGenome,
  size,
  withinLimits,
  type FunctionSet,
  type Genome,
  type MutationKind,
} from '../../../engine/src/evolve/genome';
import { binaryOp, classify, SEED_BINARY, SEED_UNARY, unaryOp } from '../../../engine/src/evolve/ops';

const FS: FunctionSet = { unary: SEED_UNARY, binary: SEED_BINARY, terminals: ['y', 'p', 1, -1] };
const LIMITS = { maxDepth: 6, maxSize: 20 };

function assertValid(g: Genome, what: string): void {
  const text = printGenome(g);
  const res = checkText(text, { integrity: false });
  const errors = res.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors.map((d) => d.message), [], `${what}: ${text}`);
  // Round trip: the text reads back as a genome that prints the same.
  assert.equal(printGenome(genomeFromSource(text, 'candidate')), text, what);
}

test('function set: the seed system has 27 unary and 7 binary operators, all recognised in place', () => {
  assert.equal(SEED_UNARY.length, 27);
  assert.equal(SEED_BINARY.length, 7);
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    const g = randomGenome(rng, FS, LIMITS);
    for (const kind of ['op'] as const) {
      const m = mutateKind(g, kind, rng, FS);
      if (m) assert.match(m.detail, /->/);
    }
  }
  // Each operator prints to a shape that classify() maps back to the same operator.
  const x = genomeFromSource('loss l = sum(y * p)').expr;
  for (const u of SEED_UNARY) {
    const c = classify(unaryOp(u).make(x));
    assert.equal(c.kind, 'unary', u);
    assert.equal((c as { op: string }).op, u);
  }
  for (const b of SEED_BINARY) {
    const c = classify(binaryOp(b).make(x, x));
    assert.equal(c.kind, 'binary', b);
    assert.equal((c as { op: string }).op, b);
  }
});

test('random genomes are valid, read y and p, and stay within the limits', () => {
  const rng = new Rng(11);
  for (let i = 0; i < 500; i++) {
    const g = randomGenome(rng, FS, LIMITS);
    assertValid(g, 'random');
    const used = inputsUsed(g);
    assert.ok(used.has('y') && used.has('p'), printGenome(g));
    assert.ok(withinLimits(g, LIMITS));
  }
});

test('property: every mutation kind and crossover yields a valid AST (thousands of draws)', () => {
  const kinds: Exclude<MutationKind, 'crossover'>[] = ['op', 'rewire', 'arity', 'insert', 'delete', 'const'];
  const seen = new Set<string>();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (s1, s2) => {
      const rng = new Rng(s1);
      let g = randomGenome(rng, FS, LIMITS);
      // A chain of mutations, so deep and odd shapes get mutated too.
      for (let i = 0; i < 6; i++) {
        const m = mutate(g, rng, FS);
        seen.add(m.kind);
        assertValid(m.genome, `${m.kind} (${m.detail})`);
        g = m.genome;
      }
      for (const k of kinds) {
        const m = mutateKind(g, k, rng, FS);
        if (m) assertValid(m.genome, `${k} (${m.detail})`);
      }
      const other = randomGenome(new Rng(s2), FS, LIMITS);
      const x = crossover(g, other, rng);
      seen.add(x.kind);
      assertValid(x.genome, `crossover (${x.detail})`);
      assertValid(negate(x.genome), 'negate');
    }),
    { numRuns: 400, seed: 20261123 },
  );
  for (const k of [...kinds, 'crossover']) assert.ok(seen.has(k) || k !== 'crossover', `kind ${k} drawn`);
});

test('property: mutations of hand-written seeds (free form, params, lets) stay valid DSL', () => {
  const seeds = [
    'param gamma = 2 in [0, 5]\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)',
    'param eps = 0.1 in [0, 1]\nloss ls = -sum(((1 - eps) * y + eps / C) * log_softmax(logits))',
    'loss baikal = -sum(y * (log(p) - 1 / p))',
  ].map((s) => genomeFromSource(s));
  let valid = 0;
  let total = 0;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 }), (s, which) => {
      const rng = new Rng(s);
      const m = mutate(seeds[which], rng, FS);
      const text = printGenome(m.genome);
      const res = checkText(text, { integrity: false });
      // Free-form mutations may produce type errors (a vector where a scalar is needed): the
      // checker rule rejects those; the text must still parse without syntax errors.
      assert.ok(!res.diagnostics.some((d) => d.code === 'syntax-error' || d.code === 'unexpected-character'), text);
      total++;
      if (!res.diagnostics.some((d) => d.severity === 'error')) valid++;
    }),
    { numRuns: 600, seed: 7 },
  );
  assert.ok(valid / total > 0.5, `most free-form mutations are valid (${valid}/${total})`);
});

test('seeds: a sum over y and p becomes the default form; lets are inlined and params kept', () => {
  const ce = genomeFromSource('loss ce = sum(-y * log(p))');
  assert.equal(ce.form, 'sum');
  assert.equal(printGenome(ce), 'loss candidate = sum(-y * log(p))\n');
  const focal = genomeFromSource('param gamma = 2 in [0, 5]\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)');
  assert.equal(focal.form, 'free');
  assert.deepEqual(focal.params, [{ name: 'gamma', value: 2, lo: 0, hi: 5 }]);
  assert.equal(printGenome(focal), 'param gamma = 2 in [0, 5]\nloss candidate = -(1 - sum(y * p))^gamma * log(sum(y * p))\n');
});

test('canonical key: commutative operands in any order are the same loss', () => {
  const a = genomeFromSource('loss a = sum(y * p + max(p, y))');
  const b = genomeFromSource('loss b = sum(max(y, p) + p * y)');
  const c = genomeFromSource('loss c = sum(y - p)');
  const d = genomeFromSource('loss d = sum(p - y)');
  assert.equal(canonicalKey(a), canonicalKey(b));
  assert.notEqual(canonicalKey(c), canonicalKey(d));
});

test('limits: depth and size are measured on the expression', () => {
  const g = genomeFromSource('loss l = sum(exp(-y * log(p)))');
  assert.equal(depth(g.expr), 4);
  assert.equal(size(g.expr), 6);
  assert.ok(!withinLimits(g, { maxDepth: 3, maxSize: 20 }));
  assert.ok(!withinLimits(g, { maxDepth: 6, maxSize: 5 }));
  // A seed beyond the limits may keep its size in its children.
  assert.ok(withinLimits(g, { maxDepth: 3, maxSize: 5 }, g));
});

test('determinism: the same Rng seed gives the same genomes and mutations', () => {
  const run = (): string[] => {
    const rng = new Rng(99);
    const out: string[] = [];
    let g = randomGenome(rng, FS, LIMITS);
    for (let i = 0; i < 50; i++) {
      g = mutate(g, rng, FS).genome;
      out.push(printGenome(g));
    }
    return out;
  };
  assert.deepEqual(run(), run());
});
