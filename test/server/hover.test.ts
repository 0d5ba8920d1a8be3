import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HoverRequest, type Hover, type MarkupContent } from 'vscode-languageserver-protocol/node';
import { resolveCall } from '../../grammar/src/index';
import { startServer, type TestClient } from './helpers';

const log = resolveCall('log', 1)!;

async function hoverAt(c: TestClient, textWithCursor: string): Promise<Hover | null> {
  const { uri, position } = await c.openDoc(textWithCursor);
  return c.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
}
const value = (h: Hover | null): string => (h!.contents as MarkupContent).value;

const FOCAL = ['param gamma = 2 in [0, 5]', 'let pt = sum(y * p)', 'loss focal = -(1 - pt)^gamma * log(pt)'];

test('hover on a builtin: signature and doc in markdown, range = the callee', async () => {
  const c = await startServer();
  try {
    const h = await hoverAt(c, 'loss a = -sum(y * lo<|>g(p))');
    assert.equal((h!.contents as MarkupContent).kind, 'markdown');
    assert.deepEqual(h!.range, { start: { line: 0, character: 18 }, end: { line: 0, character: 21 } });
    assert.equal(
      value(h),
      [
        '```lossmith',
        'log(x) -> same as x',
        '```',
        '',
        log.doc.summary,
        '',
        '`' + log.doc.formula + '`',
        '',
        '*Category:* elementary',
      ].join('\n'),
    );
  } finally {
    await c.dispose();
  }
});

test('hover on an overloaded builtin puts the overload used first', async () => {
  const c = await startServer();
  try {
    const two = value(await hoverAt(c, 'loss a = sum(y * m<|>ax(p, 0.1))'));
    assert.ok(two.startsWith('```lossmith\nmax(a, b) -> scalar or vector (broadcast)\nmax(v: vector) -> scalar\n```'), two);
    const one = value(await hoverAt(c, 'loss a = <|>max(p) + sum(y * p)'));
    assert.ok(one.startsWith('```lossmith\nmax(v: vector) -> scalar\nmax(a, b) -> scalar or vector (broadcast)\n```'), one);
  } finally {
    await c.dispose();
  }
});

test('hover on inputs, params, lets and keywords', async () => {
  const c = await startServer();
  try {
    assert.equal(value(await hoverAt(c, 'loss a = -sum(<|>y * log(p))')), '```lossmith\n(input) y: vector\n```\n\nTarget distribution over classes: one-hot, or soft under label smoothing, mixup or cutmix. Sums to 1.');
    const prm = await hoverAt(c, [FOCAL[0], FOCAL[1], 'loss focal = -(1 - pt)^gam<|>ma * log(pt)'].join('\n'));
    assert.equal(value(prm), '```lossmith\nparam gamma = 2 in [0, 5]\n```\n\n(param) `gamma`: scalar\n\nDefault 2, range [0, 5].\n\nUsed 1 time.');
    assert.deepEqual(prm!.range, { start: { line: 2, character: 23 }, end: { line: 2, character: 28 } });
    assert.equal(value(await hoverAt(c, [FOCAL[0], 'let <|>pt = sum(y * p)', FOCAL[2]].join('\n'))), '```lossmith\nlet pt = sum(y * p)\n```\n\n(let) `pt`: scalar\n\nUsed 2 times.');
    assert.equal(value(await hoverAt(c, 'let q = <|>p * 2\nloss a = sum(y * q)')), '```lossmith\n(input) p: vector\n```\n\nPredicted probabilities, p = softmax(logits). Strictly inside (0, 1), sums to 1.');
    assert.ok(value(await hoverAt(c, 'par<|>am g = 1')).includes('Declares a tunable hyperparameter'));
    assert.equal(await hoverAt(c, 'loss a = 1<|>2 + sum(y*p)'), null);
    assert.equal(await hoverAt(c, '# a comm<|>ent'), null);
  } finally {
    await c.dispose();
  }
});

test('hover on a loss: derivatives and the 1-D view at pt = 0.1, 0.5, 0.9 (C from the setting)', async () => {
  const c = await startServer({ settings: { hover: { classes: 10 } } });
  try {
    const h = value(await hoverAt(c, 'loss <|>ce = -sum(y * log(p))'));
    const ln = (x: number): string => String(Number((-Math.log(x)).toPrecision(4)));
    assert.equal(
      h,
      [
        '```lossmith',
        'loss ce = -sum(y * log(p))',
        '```',
        '',
        '**∂L/∂logits** = `p - y`',
        '',
        '**∂L/∂p** = `-(y / p)`',
        '',
        '| pt | L | ∂L/∂z_true |',
        '|---:|---:|---:|',
        `| 0.1 | ${ln(0.1)} | -0.9 |`,
        `| 0.5 | ${ln(0.5)} | -0.5 |`,
        `| 0.9 | ${ln(0.9)} | -0.1 |`,
        '',
        '*C = 10, params at their defaults; the other classes share 1 − pt.*',
      ].join('\n'),
    );
    // A broken loss: no derivative, no crash.
    assert.ok(value(await hoverAt(c, 'loss <|>bad = log(')).includes('no derivative'));
  } finally {
    await c.dispose();
  }
});

test('hover in plain text for clients without markdown', async () => {
  const c = await startServer({ capabilities: { textDocument: { hover: { contentFormat: ['plaintext'] } } } });
  try {
    const h = await hoverAt(c, 'loss a = -sum(y * lo<|>g(p))');
    assert.equal((h!.contents as MarkupContent).kind, 'plaintext');
    assert.ok(!value(h).includes('```'));
    assert.ok(value(h).startsWith('log(x) -> same as x'));
  } finally {
    await c.dispose();
  }
});
