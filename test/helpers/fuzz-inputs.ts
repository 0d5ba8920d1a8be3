/**
 * Fuzz inputs for the DSL core and the checks every input must pass. Shared by the small fuzz
 * inside `npm test` (test/grammar/fuzz.test.ts), the 100,000-input run of `npm run fuzz`
 * (scripts/fuzz.js) and the grammar benchmark.
 *
 * Kinds: mutated catalogue files (tokens and spans deleted, duplicated, swapped, random bytes
 * inserted); deep nesting around the limit and far past it (parentheses, unary operators, calls,
 * `^`, mixed, sometimes unclosed or broken inside); long chains (`^`, `-`, `+`, `*`, `/`, calls,
 * argument lists); chains of lets; random bytes; catalogue files with deep or broken parts
 * spliced in; and, on request, huge files (a generated file of many lines, megabytes of bytes).
 *
 * Every input: parse + check never throw, no internal error, every diagnostic's range lies inside
 * the text, every code is a known one, one error at most per statement (plus the text before the
 * first), and a loss of a mutated catalogue file differentiates or is refused with a
 * DerivativeError.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkText, differentiate, formatProgram, ISSUE_CODES, lossReport, MAX_NESTING, printExpr, type CheckResult } from '../../grammar/src/index';
import { DerivativeError } from '../../grammar/src/derivative';
import { Rng } from '../../engine/src/rng';

const examples = path.join(__dirname, '..', '..', '..', 'examples');
let seedFiles: string[] | undefined;
/** The catalogue's files (the other tasks' too: examples/gan, examples/detection), the seeds of the mutations. */
export function catalogue(): string[] {
  return (seedFiles ??= ['', 'gan', 'detection'].flatMap((sub) =>
    fs.readdirSync(path.join(examples, sub)).filter((f) => f.endsWith('.loss')).map((f) => fs.readFileSync(path.join(examples, sub, f), 'utf8')),
  ));
}

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

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];

/** A depth: mostly near the limit, sometimes far past it, sometimes small. */
function depth(rng: Rng): number {
  const r = rng.next();
  if (r < 0.5) return MAX_NESTING - 3 + rng.int(7);
  if (r < 0.8) return 1 + rng.int(MAX_NESTING);
  return MAX_NESTING + rng.int(5000);
}

const OPENERS: [string, string][] = [
  ['(', ')'],
  ['-', ''],
  ['+', ''],
  ['log(', ')'],
  ['exp(-', ')'],
  ['sum(y * ', ')'],
  ['max(p, ', ')'],
  ['2^', ''],
  ['p^(', ')'],
  ['-(', ')'],
  ['clamp(', ', 0, 1)'],
  ['stop_gradient(', ')'],
];

function deepNesting(rng: Rng): string {
  const n = depth(rng);
  const mixed = rng.next() < 0.3;
  const one = pick(rng, OPENERS);
  let open = '';
  const closes: string[] = [];
  for (let i = 0; i < n; i++) {
    const [o, c] = mixed ? pick(rng, OPENERS) : one;
    open += o;
    closes.push(c);
  }
  let inner = pick(rng, ['p', 'pt', '1', 'y', 'sum(y * p)', '', '$', ')', 'p +']);
  const r = rng.next();
  if (r < 0.1) closes.length = rng.int(closes.length + 1); // unclosed
  else if (r < 0.15) inner += pick(rng, JUNK);
  const body = open + inner + closes.reverse().join('');
  return `let pt = sum(y * p)\nloss deep = ${body}\nloss after = -sum(y * log(p))\n`;
}

const CHAINS: [string, string][] = [
  ['^', 'p'],
  ['^', '2'],
  [' - ', 'p'],
  [' + ', 'pt'],
  [' * ', 'p'],
  [' / ', 'pt'],
  ['-', 'p'],
  [', ', 'p'],
  ['+-', '1'],
];

function longChain(rng: Rng): string {
  const n = depth(rng);
  const [op, operand] = pick(rng, CHAINS);
  const chain = Array(n + 1).fill(operand).join(op);
  const wrap = pick(rng, ['sum(y * X)', 'X', 'max(X)', 'log(X)', '(X', 'sum(y * log(p)) + X']);
  return `let pt = sum(y * p)\nloss chain = ${wrap.replace('X', chain)}\n`;
}

/** A chain of lets, each using the one before: long ones (around and past the written-out limit) when `long`. */
function letChain(rng: Rng, long: boolean): string {
  const n = long ? (rng.next() < 0.5 ? 900 + rng.int(300) : 1 + rng.int(3000)) : 1 + rng.int(60);
  const shape = pick(rng, ['a + p', 'a * p', 'log(a)', '-a', 'exp(-a)', 'a^2', 'max(a, p)', 'a + zz']);
  const lines = ['let a0 = p'];
  for (let i = 0; i < n; i++) lines.push(`let a${i + 1} = ${shape.replace(/\ba\b/g, `a${i}`)}`);
  lines.push(`loss l = sum(y * a${n})`);
  return lines.join('\n');
}

function randomBytes(rng: Rng, length: number, wide = false): string {
  const out: string[] = [];
  for (let i = 0; i < length; i++) out.push(String.fromCharCode(wide ? rng.int(0x10000) : rng.int(256)));
  return out.join('');
}

function spliced(rng: Rng): string {
  const base = pick(rng, catalogue());
  const at = rng.int(base.length + 1);
  const piece = pick(rng, [deepNesting, longChain, (r: Rng) => randomBytes(r, 1 + r.int(200)), (r: Rng) => mutate(r, pick(r, catalogue()))])(rng);
  return base.slice(0, at) + piece + base.slice(at);
}

export type FuzzKind = 'mutated' | 'deep' | 'chain' | 'lets' | 'bytes' | 'spliced';
export const FUZZ_KINDS: FuzzKind[] = ['mutated', 'deep', 'chain', 'lets', 'bytes', 'spliced'];

/** The i-th input of a run: its kind (by a fixed mix) and its text. */
export function fuzzInput(rng: Rng, i: number): { kind: FuzzKind; text: string } {
  const r = i % 20;
  if (r < 10) return { kind: 'mutated', text: mutate(rng, pick(rng, catalogue())) };
  if (r < 13) return { kind: 'deep', text: deepNesting(rng) };
  if (r < 15) return { kind: 'chain', text: longChain(rng) };
  if (r < 16) return { kind: 'lets', text: letChain(rng, i % 100 === 15) };
  if (r < 18) return { kind: 'bytes', text: randomBytes(rng, rng.int(4096), rng.next() < 0.3) };
  return { kind: 'spliced', text: spliced(rng) };
}

const KNOWN = new Set<string>(ISSUE_CODES);

/** The checks of one input; throws an Error naming the broken invariant. */
export function checkInput(text: string, opts: { integrity?: boolean; derive?: boolean } = {}): CheckResult & { derived: number } {
  const r = checkText(text, { integrity: opts.integrity ?? false });
  const fail = (what: string): never => {
    throw new Error(`${what} on input ${JSON.stringify(text.length > 2000 ? text.slice(0, 2000) + '…' : text)}`);
  };
  for (const d of r.diagnostics) {
    if (/internal/.test(d.message)) fail(`internal error '${d.message}'`);
    if (!(d.range.start >= 0 && d.range.start <= d.range.end && d.range.end <= text.length)) fail(`range ${JSON.stringify(d.range)} outside the text (${text.length})`);
    if (!KNOWN.has(d.code)) fail(`unknown code ${d.code}`);
  }
  // One syntax error at most per statement, and one for the text before the first.
  const keywords = r.parse.errors.length > 1 ? r.parse.tokens.filter((t) => t.image === 'param' || t.image === 'let' || t.image === 'loss' || t.image === 'task').length : 0;
  if (r.parse.errors.length > keywords + 1) fail(`${r.parse.errors.length} syntax errors for ${keywords} statements`);
  for (const s of r.parse.program.statements) if (!(s.range.start >= 0 && s.range.end <= text.length)) fail(`statement range ${JSON.stringify(s.range)}`);
  let derived = 0;
  if (opts.derive) {
    for (const l of r.model.losses) {
      try {
        printExpr(differentiate(r.model, l.name, l.range.start % 2 ? 'logits' : 'p'));
        derived++;
      } catch (e) {
        // Only the derivative's own refusal is allowed (a call it cannot resolve in a broken file).
        if (!(e instanceof DerivativeError)) fail(`derivative threw ${(e as Error).stack}`);
      }
    }
    formatProgram(text, r.parse.program, r.parse.errors.length > 0);
  }
  return { ...r, derived };
}

export interface FuzzStats {
  inputs: number;
  ms: number;
  byKind: Record<FuzzKind, number>;
  withErrors: number;
  /** Losses differentiated. */
  derived: number;
  slowest: { ms: number; kind: FuzzKind; length: number };
}

/**
 * `count` inputs from `seed`: every one through `checkInput` (the full check with the integrity
 * check on every `integrityEvery`-th; derivatives, the report and the formatter on mutated
 * catalogue files). Throws at the first broken invariant.
 */
export function fuzz(count: number, seed: number, opts: { integrityEvery?: number; onProgress?: (done: number) => void } = {}): FuzzStats {
  const rng = new Rng(seed);
  const byKind = Object.fromEntries(FUZZ_KINDS.map((k) => [k, 0])) as Record<FuzzKind, number>;
  const stats: FuzzStats = { inputs: 0, ms: 0, byKind, withErrors: 0, derived: 0, slowest: { ms: 0, kind: 'mutated', length: 0 } };
  const every = opts.integrityEvery ?? 10;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const { kind, text } = fuzzInput(rng, i);
    const t = performance.now();
    const mutated = kind === 'mutated';
    const r = checkInput(text, { integrity: i % every === 0, derive: mutated });
    if (mutated && i % 50 === 0) for (const l of r.model.losses) lossReport(r.model, l.name, { points: 21 });
    const ms = performance.now() - t;
    if (ms > stats.slowest.ms) stats.slowest = { ms, kind, length: text.length };
    if (r.diagnostics.some((d) => d.severity === 'error')) stats.withErrors++;
    stats.derived += r.derived;
    byKind[kind]++;
    stats.inputs++;
    if (opts.onProgress && (i + 1) % 10000 === 0) opts.onProgress(i + 1);
  }
  stats.ms = performance.now() - t0;
  return stats;
}
