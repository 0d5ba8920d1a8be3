/**
 * Fuzz: 10,000 inputs made by mutating the catalogue files (deleting, duplicating and swapping
 * tokens and spans, inserting random bytes). Parser, checker, derivative and printer must never
 * throw and never hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { checkText, differentiate, formatProgram, printExpr, lossReport } from '../../grammar/src/index';
import { DerivativeError } from '../../grammar/src/derivative';
import { Rng } from '../../engine/src/rng';

const dir = path.join(__dirname, '..', '..', '..', 'examples');
const seeds = fs.readdirSync(dir).filter((f) => f.endsWith('.loss')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
const TOKEN = /[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\S/g;
const JUNK = ['(', ')', ',', '^', '-', '*', '/', '+', '=', '[', ']', 'in', 'param', 'let', 'loss', 'sum(', 'log(', '1e309', '-0', '#', '\n', '\u0000', '\uffff', '💥', 'i0e(', 'tempered_softmax(', 'p', 'y', 'logits', 'C'];

export function mutate(rng: Rng, src: string): string {
  let s = src;
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const tokens = [...s.matchAll(TOKEN)];
    const op = rng.int(7);
    if (tokens.length === 0) return s + JUNK[rng.int(JUNK.length)];
    const t = tokens[rng.int(tokens.length)];
    const at = t.index ?? 0;
    const end = at + t[0].length;
    switch (op) {
      case 0: // delete a token
        s = s.slice(0, at) + s.slice(end);
        break;
      case 1: // duplicate a token
        s = s.slice(0, end) + ' ' + t[0] + s.slice(end);
        break;
      case 2: {
        // swap two tokens
        const u = tokens[rng.int(tokens.length)];
        const ua = u.index ?? 0;
        if (ua === at) break;
        const [a, b] = ua < at ? [u, t] : [t, u];
        const aa = a.index ?? 0;
        const ba = b.index ?? 0;
        s = s.slice(0, aa) + b[0] + s.slice(aa + a[0].length, ba) + a[0] + s.slice(ba + b[0].length);
        break;
      }
      case 3: // insert junk
        s = s.slice(0, at) + JUNK[rng.int(JUNK.length)] + s.slice(at);
        break;
      case 4: {
        // random bytes
        const bytes = Array.from({ length: 1 + rng.int(6) }, () => String.fromCharCode(rng.int(256)));
        s = s.slice(0, at) + bytes.join('') + s.slice(at);
        break;
      }
      case 5: {
        // delete a random span
        const a = rng.int(s.length + 1);
        const b = Math.min(s.length, a + rng.int(40));
        s = s.slice(0, a) + s.slice(b);
        break;
      }
      case 6: {
        // duplicate a random span elsewhere
        const a = rng.int(s.length + 1);
        const b = Math.min(s.length, a + rng.int(60));
        const c = rng.int(s.length + 1);
        s = s.slice(0, c) + s.slice(a, b) + s.slice(c);
        break;
      }
    }
  }
  return s;
}

test('10,000 mutated catalogue files: nothing throws or hangs', () => {
  const rng = new Rng(20261123);
  let withErrors = 0;
  let derived = 0;
  let slowest = 0;
  for (let i = 0; i < 10000; i++) {
    const src = mutate(rng, seeds[rng.int(seeds.length)]);
    const t0 = performance.now();
    try {
      const r = checkText(src);
      if (r.diagnostics.some((d) => d.severity === 'error')) withErrors++;
      // Derivatives and reports of every loss that has a name, errors or not.
      for (const l of r.model.losses) {
        try {
          printExpr(differentiate(r.model, l.name, i % 2 ? 'logits' : 'p'));
          derived++;
        } catch (e) {
          // Only the derivative's own refusal is allowed (a call it cannot resolve in a broken file).
          assert.ok(e instanceof DerivativeError, String((e as Error).stack));
        }
        if (i % 50 === 0) lossReport(r.model, l.name, { points: 21 });
      }
      formatProgram(src, r.parse.program, r.parse.errors.length > 0);
    } catch (e) {
      assert.fail(`threw on input ${JSON.stringify(src)}: ${(e as Error).stack}`);
    }
    slowest = Math.max(slowest, performance.now() - t0);
    // A hang guard, not a speed goal: one input may never take half a minute (generous: the machine may be loaded).
    assert.ok(slowest < 30000, `input ${i} took ${slowest} ms: ${JSON.stringify(src)}`);
  }
  assert.ok(withErrors > 1000, `the mutations should break many files (${withErrors})`);
  assert.ok(derived > 1000, `many losses should still differentiate (${derived})`);
});
