/**
 * The hand-written scanner (`tokenize`) against chevrotain's lexer built from the same token
 * patterns (`lossLexer`), the oracle: the same tokens, comments and bad-character runs on random
 * text made of the language's pieces and of arbitrary characters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossLexer, tokenize } from '../../grammar/src/lexer';
import { Rng } from '../../engine/src/rng';

type IToken = ReturnType<typeof tokenize>['tokens'][number];

const PIECES = ['param', 'let', 'loss', 'in', 'lossy', 'in2', 'letx', '_a1', 'x', '2.5e-3', '.5', '1.', '1e', '1e+', '1E5', '0.', '..', '.', '#', '# c', '\n', '\r\n', '\t', ' ', '\u00a0', '\ufeff', '\u000b', '\f', '(', ')', '[', ']', '+', '-', '*', '/', '^', '=', ',', '$', '@', '!', '~', '💥', 'é', '\u0000', '\ud800'];

const shape = (ts: IToken[]): [string, number, string][] => ts.map((t) => [t.image, t.startOffset, t.tokenType.name]);

test('tokenize gives what chevrotain gives: tokens, comments, bad characters (20,000 random texts)', () => {
  const rng = new Rng(5);
  for (let k = 0; k < 20000; k++) {
    const parts: string[] = [];
    const n = rng.int(40);
    for (let i = 0; i < n; i++) parts.push(rng.next() < 0.25 ? String.fromCharCode(rng.int(k % 2 ? 0x10000 : 300)) : PIECES[rng.int(PIECES.length)]);
    const text = parts.join('');
    const want = lossLexer.tokenize(text);
    const got = tokenize(text);
    assert.deepEqual(shape(got.tokens), shape(want.tokens), JSON.stringify(text));
    assert.deepEqual(shape(got.comments), shape((want.groups.comments ?? []) as IToken[]), JSON.stringify(text));
    assert.deepEqual(
      got.errors.map((e) => [e.offset, e.length]),
      want.errors.map((e) => [e.offset, e.length]),
      JSON.stringify(text),
    );
    for (const t of got.tokens) assert.equal(t.tokenTypeIdx, t.tokenType.tokenTypeIdx);
  }
});

// Its speed on garbage is measured by `npm run fuzz` (5 MB of random bytes) and `npm run bench -- grammar`, not asserted here.
test('tokenize takes 2 MB of random bytes: every character a token, white space or part of an error run', { timeout: 120_000 }, () => {
  const rng = new Rng(9);
  const text = Array.from({ length: 2 * 1024 * 1024 }, () => String.fromCharCode(rng.int(256))).join('');
  const r = tokenize(text);
  assert.ok(r.errors.length > 100000 && r.tokens.length > 100000);
  // Nothing dropped: tokens, comments and error runs never overlap and stay inside the text.
  const spans = [...r.tokens.map((t) => [t.startOffset, t.startOffset + t.image.length]), ...r.comments.map((t) => [t.startOffset, t.startOffset + t.image.length]), ...r.errors.map((e) => [e.offset, e.offset + e.length])].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], `overlap at ${spans[i][0]}`);
  assert.ok(spans[spans.length - 1][1] <= text.length);
});
