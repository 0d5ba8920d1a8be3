import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodeActionRequest,
  DefinitionRequest,
  DocumentFormattingRequest,
  DocumentHighlightRequest,
  DocumentRangeFormattingRequest,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  type CodeAction,
  type Diagnostic,
  type Position,
  type TextEdit,
} from 'vscode-languageserver-protocol/node';
import { applyEdits, range, startServer, type TestClient } from './helpers';

const OPTS = { tabSize: 2, insertSpaces: true };

test('formatting: the whole document, minimal edits, idempotent, keeps comments; none with syntax errors', async () => {
  const c = await startServer();
  try {
    const src = ['# Focal', 'param   gamma=2 in [0,5]', 'let pt = sum( y*p )   # true class', '', '', '', 'loss focal = -(1-pt)^gamma*log(pt)', ''].join('\n');
    const { uri, text } = await c.openDoc(src);
    const edits = (await c.conn.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: OPTS })) as TextEdit[];
    const formatted = ['# Focal', 'param gamma = 2 in [0, 5]', 'let pt = sum(y * p)  # true class', '', 'loss focal = -(1 - pt)^gamma * log(pt)', ''].join('\n');
    assert.equal(applyEdits(text, edits), formatted);
    // Only the changed lines are replaced: the first line is untouched.
    assert.deepEqual(edits.map((e) => e.range), [range(1, 0, 6, 34)]);
    await c.change(uri, formatted);
    assert.deepEqual(await c.conn.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: OPTS }), []);
    await c.change(uri, 'loss a = log(\nlet   b = 1');
    assert.deepEqual(await c.conn.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: OPTS }), []);
  } finally {
    await c.dispose();
  }
});

test('range formatting touches only the statements in the range', async () => {
  const c = await startServer();
  try {
    const { uri, text } = await c.openDoc(['let a  =  1', 'let b=2*a', 'loss c = sum(y*p)*b', 'loss d =log( b )'].join('\n'));
    const edits = (await c.conn.sendRequest(DocumentRangeFormattingRequest.type, { textDocument: { uri }, range: range(1, 2, 2, 3), options: OPTS })) as TextEdit[];
    assert.equal(applyEdits(text, edits), ['let a  =  1', 'let b = 2 * a', 'loss c = sum(y * p) * b', 'loss d =log( b )'].join('\n'));
    assert.deepEqual(edits.map((e) => e.range), [range(1, 0, 2, 19)]);
  } finally {
    await c.dispose();
  }
});

const NAV = ['param <|>gamma = 2 in [0, 5]', 'let pt = sum(y * p)', 'loss focal = -(1 - pt)^<|>gamma * log(<|>pt)', 'loss f2 = (1 - pt)^gamma'].join('\n');

test('definition, references (includeDeclaration), document highlights', async () => {
  const c = await startServer();
  try {
    const { uri, positions } = await c.openDoc(NAV);
    const [defPos, usePos, ptPos] = positions;
    assert.deepEqual(await c.conn.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: usePos }), { uri, range: range(0, 6, 0, 11) });
    assert.deepEqual(await c.conn.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: ptPos }), { uri, range: range(1, 4, 1, 6) });
    // Inputs and builtins have no definition in the file.
    assert.equal(await c.conn.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: { line: 1, character: 13 } }), null);
    const refs = async (position: Position, includeDeclaration: boolean) =>
      (await c.conn.sendRequest(ReferencesRequest.type, { textDocument: { uri }, position, context: { includeDeclaration } }))!.map((l) => l.range);
    assert.deepEqual(await refs(defPos, true), [range(0, 6, 0, 11), range(2, 23, 2, 28), range(3, 19, 3, 24)]);
    assert.deepEqual(await refs(usePos, false), [range(2, 23, 2, 28), range(3, 19, 3, 24)]);
    const hl = await c.conn.sendRequest(DocumentHighlightRequest.type, { textDocument: { uri }, position: ptPos });
    assert.deepEqual(
      hl!.map((h) => [h.range, h.kind]),
      [
        [range(1, 4, 1, 6), 3],
        [range(2, 19, 2, 21), 2],
        [range(2, 35, 2, 37), 2],
        [range(3, 15, 3, 17), 2],
      ],
    );
  } finally {
    await c.dispose();
  }
});

test('rename params and lets; prepareRename rejects inputs, builtins, keywords, losses; invalid or used names are refused', async () => {
  const c = await startServer();
  try {
    const { uri, text, positions } = await c.openDoc(NAV);
    const prep = await c.conn.sendRequest(PrepareRenameRequest.type, { textDocument: { uri }, position: positions[1] });
    assert.deepEqual(prep, { range: range(2, 23, 2, 28), placeholder: 'gamma' });
    const edit = await c.conn.sendRequest(RenameRequest.type, { textDocument: { uri }, position: positions[2], newName: 'q' });
    assert.equal(applyEdits(text, edit!.changes![uri]), NAV.replace(/<\|>/g, '').replace(/\bpt\b/g, 'q'));
    const rejects = async (position: Position, message: RegExp) => {
      await assert.rejects(c.conn.sendRequest(PrepareRenameRequest.type, { textDocument: { uri }, position }), message);
    };
    await rejects({ line: 1, character: 13 }, /'y' is an input/);
    await rejects({ line: 1, character: 10 }, /'sum' is a builtin function/);
    await rejects({ line: 1, character: 1 }, /'let' is a keyword/);
    await rejects({ line: 2, character: 7 }, /'focal' is a loss/);
    const refused = async (newName: string, message: RegExp) => {
      await assert.rejects(c.conn.sendRequest(RenameRequest.type, { textDocument: { uri }, position: positions[0], newName }), message);
    };
    await refused('2x', /not a valid name/);
    await refused('pt', /already defined/);
    await refused('focal', /already defined/);
    await refused('log', /builtin function/);
    await refused('p', /is an input/);
    await refused('loss', /keyword/);
  } finally {
    await c.dispose();
  }
});

async function fixes(c: TestClient, textWithCursor: string, code: string): Promise<{ actions: CodeAction[]; text: string; uri: string; diagnostic: Diagnostic }> {
  const { uri, text } = await c.openDoc(textWithCursor);
  const diags = await c.diagnostics(uri);
  const diagnostic = diags.find((d) => d.code === code);
  assert.ok(diagnostic, `no ${code} in ${JSON.stringify(diags)}`);
  const actions = (await c.conn.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range: diagnostic.range, context: { diagnostics: [diagnostic] } })) as CodeAction[];
  return { actions, text, uri, diagnostic };
}

test('code actions keyed on issue codes: vector-loss, unknown-name, domain-log, domain-sqrt', async () => {
  const c = await startServer();
  try {
    const v = await fixes(c, 'loss a = -y * log(p)', 'vector-loss');
    assert.deepEqual(v.actions.map((a) => [a.title, a.kind, a.isPreferred]), [['Wrap in sum(...)', 'quickfix', true]]);
    assert.deepEqual(v.actions[0].diagnostics, [v.diagnostic]);
    assert.equal(applyEdits(v.text, v.actions[0].edit!.changes![v.uri]), 'loss a = sum(-y * log(p))');

    const u = await fixes(c, 'let pt = sum(y * p)\nlet pts = 2\nloss a = -log(ptx) + pts', 'unknown-name');
    assert.deepEqual(u.actions.map((a) => [a.title, a.isPreferred]), [["Change to 'pt'", undefined], ["Change to 'pts'", undefined]]);
    assert.equal(applyEdits(u.text, u.actions[1].edit!.changes![u.uri]), 'let pt = sum(y * p)\nlet pts = 2\nloss a = -log(pts) + pts');
    const u1 = await fixes(c, 'loss a = logsumexq(logits) - sum(y * logits)', 'unknown-name');
    assert.equal(u1.actions.length, 1);
    assert.equal(u1.actions[0].title, "Change to 'logsumexp'");
    assert.equal(u1.actions[0].isPreferred, true);

    const l = await fixes(c, 'let pt = sum(y * p)\nloss a = -log(pt - 0.1)', 'domain-log');
    assert.deepEqual(l.actions.map((a) => a.title).slice(0, 2), ['Guard: log(clamp(pt - 0.1, 1e-7, 1))', 'Guard: log(max(pt - 0.1, 1e-7))']);
    assert.equal(applyEdits(l.text, l.actions[0].edit!.changes![l.uri]), 'let pt = sum(y * p)\nloss a = -log(clamp(pt - 0.1, 1e-7, 1))');
    assert.equal(applyEdits(l.text, l.actions[1].edit!.changes![l.uri]), 'let pt = sum(y * p)\nloss a = -log(max(pt - 0.1, 1e-7))');
    assert.equal(l.actions[2].title, "Allow 'domain-log' here (# lossmith: allow domain-log)");
    assert.equal(applyEdits(l.text, l.actions[2].edit!.changes![l.uri]), 'let pt = sum(y * p)\n# lossmith: allow domain-log\nloss a = -log(pt - 0.1)');

    const s = await fixes(c, 'let pt = sum(y * p)\nloss a = sqrt(pt - 0.5) - sum(y * log(p))', 'domain-sqrt');
    assert.deepEqual(s.actions.map((a) => [a.title, a.isPreferred]).slice(0, 1), [['Guard: sqrt(max(pt - 0.5, 1e-7))', true]]);
    assert.equal(applyEdits(s.text, s.actions[0].edit!.changes![s.uri]), 'let pt = sum(y * p)\nloss a = sqrt(max(pt - 0.5, 1e-7)) - sum(y * log(p))');
  } finally {
    await c.dispose();
  }
});

test('code actions: unused-binding removes the whole line(s), param-out-of-range clamps the default', async () => {
  const c = await startServer();
  try {
    const u = await fixes(c, 'param a = 1\nlet unused = sum(y *\n  p)  # note\nloss ce = -sum(y * log(p)) * a\n', 'unused-binding');
    assert.equal(u.actions[0].title, "Remove unused 'unused'");
    assert.equal(u.actions[0].isPreferred, true);
    assert.equal(applyEdits(u.text, u.actions[0].edit!.changes![u.uri]), 'param a = 1\nloss ce = -sum(y * log(p)) * a\n');
    const last = await fixes(c, 'loss ce = -sum(y * log(p))\nparam b = 2', 'unused-binding');
    assert.equal(applyEdits(last.text, last.actions[0].edit!.changes![last.uri]), 'loss ce = -sum(y * log(p))');

    const r = await fixes(c, 'param g = 7 in [0, 5]\nloss f = -(1 - sum(y * p))^g * log(sum(y * p))', 'param-out-of-range');
    assert.deepEqual(r.actions.map((a) => [a.title, a.isPreferred]), [['Set the default to 5 (within [0, 5])', true]]);
    assert.equal(applyEdits(r.text, r.actions[0].edit!.changes![r.uri]), 'param g = 5 in [0, 5]\nloss f = -(1 - sum(y * p))^g * log(sum(y * p))');
    const neg = await fixes(c, 'param g = -1 in [0.5, 5]\nloss f = -(1 - sum(y * p))^g * log(sum(y * p))', 'param-out-of-range');
    assert.equal(applyEdits(neg.text, neg.actions[0].edit!.changes![neg.uri]).split('\n')[0], 'param g = 0.5 in [0.5, 5]');
    // A stale diagnostic (the text changed since) gets no fix; `only` filters by kind.
    await c.change(r.uri, 'param g = 2 in [0, 5]\nloss f = -(1 - sum(y * p))^g * log(sum(y * p))');
    assert.deepEqual(await c.conn.sendRequest(CodeActionRequest.type, { textDocument: { uri: r.uri }, range: r.diagnostic.range, context: { diagnostics: [r.diagnostic] } }), []);
    assert.deepEqual(await c.conn.sendRequest(CodeActionRequest.type, { textDocument: { uri: u.uri }, range: u.diagnostic.range, context: { diagnostics: [u.diagnostic], only: ['refactor'] } }), []);
  } finally {
    await c.dispose();
  }
});
