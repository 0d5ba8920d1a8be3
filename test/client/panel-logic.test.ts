/** Pure parts of the client: the preview's HTML and CSP, which loss the preview follows, catalogue texts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { describeExample } from '../../client/src/catalogue-text';
import { keepKnown, lossAt } from '../../client/src/panels/pick-loss';
import { contentSecurityPolicy, makeNonce, previewHtml } from '../../client/src/panels/preview-html';
import type { LossInfo } from '../../protocol/lsp';

const opts = (nonce: string) => ({
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  nonce,
  scriptUri: 'https://x/dist/media/preview.js',
  styleUri: 'https://x/dist/media/preview.css',
  katexStyleUri: 'https://x/dist/media/katex/katex.min.css',
});

test('nonces are 32 alphanumeric characters and differ per load', () => {
  const a = makeNonce((n) => crypto.randomBytes(n));
  const b = makeNonce((n) => crypto.randomBytes(n));
  assert.match(a, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(a, b);
});

test('the CSP allows only nonce scripts and bundled styles and fonts, nothing remote or inline', () => {
  const csp = contentSecurityPolicy('https://src', 'abc123');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123'(;|$)/);
  assert.match(csp, /style-src https:\/\/src(;|$)/);
  assert.match(csp, /font-src https:\/\/src(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|http:/);
});

test('the page has the CSP meta, one script carrying the nonce, and labelled controls', () => {
  const nonce = makeNonce((n) => crypto.randomBytes(n));
  const html = previewHtml(opts(nonce));
  assert.ok(html.includes('http-equiv="Content-Security-Policy"'));
  const scripts = html.match(/<script[^>]*>/g) ?? [];
  assert.equal(scripts.length, 1);
  assert.ok(scripts[0].includes(`nonce="${nonce}"`));
  assert.doesNotMatch(html, /style="/);
  assert.doesNotMatch(html, /\son\w+="/);
  for (const id of ['loss-select', 'classes']) assert.ok(html.includes(`<label for="${id}">`), id);
  assert.throws(() => previewHtml(opts('short')));
  assert.throws(() => previewHtml(opts('"><script>alert(1)</script>aaaaaaaaaaaaaaaaaaa')));
});

const info = (name: string, line: number, endLine = line): LossInfo => ({
  name,
  range: { start: { line, character: 0 }, end: { line: endLine, character: 40 } },
  nameRange: { start: { line, character: 5 }, end: { line, character: 5 + name.length } },
});

test('the preview follows the loss under or before the cursor, else the first', () => {
  const losses = [info('a', 2), info('b', 5, 6), info('c', 9)];
  assert.equal(lossAt(losses, { line: 0, character: 0 }), 'a');
  assert.equal(lossAt(losses, { line: 2, character: 10 }), 'a');
  assert.equal(lossAt(losses, { line: 6, character: 3 }), 'b');
  assert.equal(lossAt(losses, { line: 8, character: 0 }), 'b');
  assert.equal(lossAt(losses, { line: 50, character: 0 }), 'c');
  assert.equal(lossAt([], { line: 0, character: 0 }), undefined);
});

test('overrides for params the file no longer declares are dropped', () => {
  assert.deepEqual(keepKnown({ gamma: 1, old: 2 }, ['gamma', 'eps']), { gamma: 1 });
});

test('every catalogue file has a one-line description and a body without its header', () => {
  const dir = path.join(__dirname, '..', '..', '..', 'examples');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.loss'));
  assert.ok(files.length >= 10);
  for (const f of files) {
    const item = describeExample(f, fs.readFileSync(path.join(dir, f), 'utf8'));
    assert.ok(item.description.length > 3 && !item.description.startsWith('#'), f);
    assert.match(item.body, /^# .+\n(param|let|loss) /, f);
    assert.match(item.body, /\bloss \w+ =/, f);
  }
  const it = describeExample('x.loss', '# X: a loss\n# more\n\nparam a = 1\nloss x = a * -sum(y * log(p))\n');
  assert.deepEqual([it.name, it.description, it.body], ['x', 'X: a loss', '# X: a loss\nparam a = 1\nloss x = a * -sum(y * log(p))']);
});
