/**
 * Fuzz, the part inside `npm test` (a few seconds): 1,000 inputs of every kind of
 * test/helpers/fuzz-inputs.ts (mutated catalogue files, deep nesting around and past the limit,
 * long chains, chains of lets, random bytes, spliced files). Parser, checker, derivative and
 * formatter never throw or hang, never report an internal error, and every diagnostic lies inside
 * the text. `npm run fuzz` (scripts/fuzz.js, in CI after `npm test`) runs 100,000 of them and
 * the huge files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz, FUZZ_KINDS } from '../helpers/fuzz-inputs';

test('1,000 fuzz inputs of every kind: nothing throws, hangs or reports an internal error', () => {
  const stats = fuzz(1000, 20261123, { integrityEvery: 10 });
  assert.equal(stats.inputs, 1000);
  for (const k of FUZZ_KINDS) assert.ok(stats.byKind[k] > 0, `no input of kind ${k}`);
  assert.ok(stats.withErrors > 250, `the inputs should break many files (${stats.withErrors})`);
  assert.ok(stats.derived > 250, `many losses should still differentiate (${stats.derived})`);
  // A hang guard, not a speed goal (generous: the machine may be loaded).
  assert.ok(stats.slowest.ms < 30000, `an input took ${stats.slowest.ms} ms (${stats.slowest.kind})`);
});
