/**
 * Code actions for the stability diagnostics (guards keyed on their codes) and the stable
 * rewrites at the cursor (`refactor.rewrite`, from STABLE_REWRITES rows marked quickFix), over a
 * real client and server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodeActionRequest, type CodeAction, type Diagnostic } from 'vscode-languageserver-protocol/node';
import { applyEdits, startServer, type TestClient } from './helpers';

async function fixes(c: TestClient, text: string, code: string): Promise<{ actions: CodeAction[]; text: string; uri: string; diagnostic: Diagnostic }> {
  const { uri, text: t } = await c.openDoc(text);
  const diags = await c.diagnostics(uri);
  const diagnostic = diags.find((d) => d.code === code);
  assert.ok(diagnostic, `no ${code} in ${JSON.stringify(diags)}`);
  const actions = (await c.conn.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range: diagnostic.range, context: { diagnostics: [diagnostic], only: ['quickfix'] } })) as CodeAction[];
  return { actions, text: t, uri, diagnostic };
}

async function rewrites(c: TestClient, textWithCursor: string, only?: string[]): Promise<{ actions: CodeAction[]; text: string; uri: string }> {
  const { uri, text, positions } = await c.openDoc(textWithCursor);
  const at = positions[0];
  const actions = (await c.conn.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range: { start: at, end: at }, context: { diagnostics: [], ...(only ? { only } : {}) } })) as CodeAction[];
  return { actions, text, uri };
}

const apply = (r: { actions: CodeAction[]; text: string; uri: string }, i = 0): string => applyEdits(r.text, r.actions[i].edit!.changes![r.uri]);

test('unbounded-gradient: guards keep the argument away from 0', async () => {
  const c = await startServer();
  try {
    const pw = await fixes(c, 'loss a = sum(abs(y - p)^0.5)', 'unbounded-gradient');
    assert.deepEqual(pw.actions.map((a) => [a.title, a.isPreferred]), [
      ['Guard: max(abs(y - p), 1e-7)^0.5', true],
      ["Allow 'unbounded-gradient' here (# lossmith: allow unbounded-gradient)", undefined],
    ]);
    assert.equal(apply(pw), 'loss a = sum(max(abs(y - p), 1e-7)^0.5)');
    const paren = await fixes(c, 'loss a = sum(((y - p)^2)^0.25)', 'unbounded-gradient');
    assert.equal(apply(paren), 'loss a = sum(max((y - p)^2, 1e-7)^0.25)');
    const sa = await fixes(c, 'loss a = sum(sqrt_abs(y - p))', 'unbounded-gradient');
    assert.equal(sa.actions[0].title, 'Guard: sqrt(max(abs(y - p), 1e-7))');
    assert.equal(apply(sa), 'loss a = sum(sqrt(max(abs(y - p), 1e-7)))');
    const lt = await fixes(c, 'loss a = -sum(log_t(abs(y - p), 0.5))', 'unbounded-gradient');
    assert.equal(apply(lt), 'loss a = -sum(log_t(max(abs(y - p), 1e-7), 0.5))');
    // An infinite gradient everywhere gets no guard, only nothing (it is an error: no allow either).
    const ev = await fixes(c, 'loss a = sum(y * sqrt(p - p)) + sum(y * p)', 'unbounded-gradient');
    assert.deepEqual(ev.actions, []);
  } finally {
    await c.dispose();
  }
});

test('float32-cancellation: a guard; overflow and exact facts have none but allow', async () => {
  const c = await startServer();
  try {
    const cn = await fixes(c, 'loss a = sum(y / (1 - p))', 'float32-cancellation');
    assert.equal(cn.actions[0].title, 'Guard: max(1 - p, 1e-7)');
    assert.equal(apply(cn), 'loss a = sum(y / max(1 - p, 1e-7))');
    const ov = await fixes(c, 'loss a = -sum(y * exp(logits))', 'float32-overflow');
    assert.deepEqual(ov.actions.map((a) => a.title), ["Allow 'float32-overflow' here (# lossmith: allow float32-overflow)"]);
    const nf = await fixes(c, 'let pt = sum(y * p)\nloss a = -log(0 * pt) + pt', 'non-finite-everywhere');
    assert.deepEqual(nf.actions, []);
  } finally {
    await c.dispose();
  }
});

test('stable rewrites at the cursor: the innermost rewritable expression, as refactor.rewrite', async () => {
  const c = await startServer();
  try {
    const lp = await rewrites(c, 'loss a = -sum(y * lo<|>g(p))');
    assert.deepEqual(lp.actions.map((a) => [a.title, a.kind]), [['Rewrite stably: log(p) → log_softmax(logits)', 'refactor.rewrite']]);
    assert.equal(apply(lp), 'loss a = -sum(y * log_softmax(logits))');
    const cs = await rewrites(c, 'let pt = sum(y * p)\nloss a = -(1 <|>- pt)^2 * log(pt)');
    assert.equal(cs.actions[0].title, 'Rewrite stably: 1 - sum(w * p) → sum((1 - w) * p)');
    assert.equal(apply(cs), 'let pt = sum(y * p)\nloss a = -sum((1 - y) * p)^2 * log(pt)');
    const sm = await rewrites(c, 'loss a = -sum(y * log(exp(logits) <|>/ sum(exp(logits))))');
    assert.equal(apply(sm), 'loss a = -sum(y * log(softmax(logits)))');
    // The rewrite of an operator into an operator keeps its grouping.
    const em = await rewrites(c, 'loss a = sum(y * p) * (1 <|>- exp(-sum(y * p)))');
    assert.equal(em.actions[0].title, 'Rewrite stably: 1 - exp(x) → -expm1(x)');
    assert.equal(apply(em), 'loss a = sum(y * p) * (-expm1(-sum(y * p)))');
    // Rows that read badly as an edit are not offered; nothing rewritable, nothing offered.
    assert.deepEqual((await rewrites(c, 'let pt = sum(y * p)\nloss a = -lo<|>g(pt)')).actions, []);
    assert.deepEqual((await rewrites(c, 'loss a = -sum(y * log_soft<|>max(logits))')).actions, []);
    // `only` filters by kind.
    assert.deepEqual((await rewrites(c, 'loss a = -sum(y * lo<|>g(p))', ['quickfix'])).actions, []);
    assert.equal((await rewrites(c, 'loss a = -sum(y * lo<|>g(p))', ['refactor'])).actions.length, 1);
  } finally {
    await c.dispose();
  }
});
