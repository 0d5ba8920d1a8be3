import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import {
  createProtocolConnection,
  CompletionRequest,
  DidChangeConfigurationNotification,
  DocumentFormattingRequest,
  HoverRequest,
  InitializeRequest,
  InlayHintRequest,
  RequestType,
  StreamMessageReader,
  StreamMessageWriter,
  PublishDiagnosticsNotification,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { DerivativeRequest, type DerivativeParams, type DerivativeResult } from '../../protocol/lsp';
import { range, startServer } from './helpers';

const derivativeType = new RequestType<DerivativeParams, DerivativeResult, void>(DerivativeRequest.method);

const FILE = ['param gamma = 2 in [0, 5]', 'let pt = sum(y * p)', 'loss ce = -log(pt)', '', 'loss focal = -(1 - pt)^gamma * log(pt)<|>', 'let v = p * gamma'].join('\n');

test('inlay hints: let types, off by default, on through workspace/configuration, refreshed on change', async () => {
  const c = await startServer({ settings: {} });
  try {
    const { uri } = await c.openDoc(FILE);
    const hints = () => c.conn.sendRequest(InlayHintRequest.type, { textDocument: { uri }, range: range(0, 0, 10, 0) });
    assert.deepEqual(await hints(), []);
    c.settings = { inlayHints: { types: true } };
    await c.conn.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    await c.waitFor(() => c.inlayRefreshes > 0, 'inlay hint refresh');
    assert.deepEqual(await hints(), [
      { position: { line: 1, character: 6 }, label: ': scalar', kind: 1, paddingLeft: false, paddingRight: false },
      { position: { line: 5, character: 5 }, label: ': vector', kind: 1, paddingLeft: false, paddingRight: false },
    ]);
    // Only hints in the range asked for.
    assert.equal((await c.conn.sendRequest(InlayHintRequest.type, { textDocument: { uri }, range: range(4, 0, 5, 3) }))!.length, 0);
  } finally {
    await c.dispose();
  }
});

test('inlay hints from initializationOptions when the client has no workspace/configuration', async () => {
  const c = await startServer({ capabilities: {}, initializationOptions: { 'lossmith.inlayHints.types': true } });
  try {
    const { uri } = await c.openDoc(FILE);
    const h = await c.conn.sendRequest(InlayHintRequest.type, { textDocument: { uri }, range: range(0, 0, 10, 0) });
    assert.deepEqual(h!.map((x) => x.label), [': scalar', ': vector']);
    assert.equal(c.configurationRequests, 0);
  } finally {
    await c.dispose();
  }
});

test('lossmith/derivative: by name, by position, first loss; curve with classes and param overrides; losses and params', async () => {
  const c = await startServer();
  try {
    const { uri, position } = await c.openDoc(FILE);
    const byPos = await c.conn.sendRequest(derivativeType, { uri, position, classes: 2, points: 3 });
    assert.equal(byPos.loss, 'focal');
    assert.equal(byPos.version, 1);
    assert.deepEqual(byPos.losses, ['ce', 'focal']);
    assert.deepEqual(byPos.lossInfos, [
      { name: 'ce', range: range(2, 0, 2, 18), nameRange: range(2, 5, 2, 7) },
      { name: 'focal', range: range(4, 0, 4, 38), nameRange: range(4, 5, 4, 10) },
    ]);
    assert.deepEqual(byPos.params, [{ name: 'gamma', value: 2, lo: 0, hi: 5, range: range(0, 0, 0, 25), nameRange: range(0, 6, 0, 11) }]);
    assert.equal(byPos.text, '-(1 - pt)^gamma * log(pt)');
    assert.deepEqual(byPos.derivatives.map((d) => d.wrt), ['logits', 'p']);
    assert.equal(byPos.derivatives[0].text, 'p * (gamma * log(pt) * (1 - pt)^(gamma - 1) - (1 - pt)^gamma / pt) * (y - pt)');
    assert.ok(byPos.latex.includes('\\gamma') || byPos.latex.includes('gamma'));
    assert.deepEqual(byPos.curve!.pt, [0.001, 0.5, 0.999]);
    assert.equal(byPos.curve!.classes, 2);
    const focal = (pt: number, g: number) => -((1 - pt) ** g) * Math.log(pt);
    assert.ok(Math.abs(byPos.curve!.loss[1]! - focal(0.5, 2)) < 1e-12);
    const overridden = await c.conn.sendRequest(derivativeType, { uri, loss: 'focal', params: { gamma: 0 }, points: 3 });
    assert.ok(Math.abs(overridden.curve!.loss[1]! - focal(0.5, 0)) < 1e-12);
    assert.equal(overridden.curve!.classes, 10);
    const first = await c.conn.sendRequest(derivativeType, { uri });
    assert.equal(first.loss, 'ce');
    assert.equal(first.derivatives[0].text, 'p * (pt - y) / pt');
    assert.equal(first.curve!.pt.length, 199);
    const before = await c.conn.sendRequest(derivativeType, { uri, position: { line: 3, character: 0 } });
    assert.equal(before.loss, 'ce');
    const missing = await c.conn.sendRequest(derivativeType, { uri, loss: 'nope' });
    assert.equal(missing.error, "no loss named 'nope'");
    await assert.rejects(c.conn.sendRequest(derivativeType, { uri: 'file:///not/open.loss' }), /not open/);
  } finally {
    await c.dispose();
  }
});

test('requests after a change answer from the newest version', async () => {
  const c = await startServer({ debounceMs: 10000 });
  try {
    const { uri } = await c.openDoc('loss a = -sum(y * log(p))');
    await c.change(uri, 'loss b = -sum(y * log(p))\nloss c = sum(abs(y - p))');
    const r = await c.conn.sendRequest(derivativeType, { uri });
    assert.deepEqual([r.version, r.losses], [2, ['b', 'c']]);
  } finally {
    await c.dispose();
  }
});

test('bad input: binary garbage, long lines, a 10,000-line file; no workspace; every request answers', async () => {
  const c = await startServer({ rootUri: null });
  try {
    let garbage = '';
    let seed = 7;
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      garbage += String.fromCharCode(seed % 0xd7ff);
    }
    const huge = Array.from({ length: 10000 }, (_, i) => (i % 10 === 0 ? `let a${i} = sum(y * p) + ${i}` : i % 10 === 5 ? `loss l${i} = -log(a${i - 5})` : i % 2 ? `# comment ${i}` : `param q${i} = ${i}`)).join('\n');
    const long = 'loss x = ' + Array.from({ length: 20000 }, () => 'p').join(' + ') + ' + (((((';
    for (const text of [garbage, long, huge, '\u0000\uffff\ud800', 'loss = = = (((']) {
      const { uri } = await c.openDoc(text);
      const d = await c.diagnostics(uri, 1, 120000);
      assert.ok(Array.isArray(d));
      const position = { line: 0, character: 3 };
      await c.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
      await c.conn.sendRequest(CompletionRequest.type, { textDocument: { uri }, position });
      await c.conn.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
      await c.close(uri);
    }
    assert.equal(c.server.failures, 0);
  } finally {
    await c.dispose();
  }
});

test('a handler that throws answers with an empty result and logs; the server stays up', async () => {
  const c = await startServer();
  try {
    const { uri } = await c.openDoc('loss a = -sum(y * log(p))');
    // Make the document store fail once, as a bug inside a feature would.
    const store = c.server.store;
    const original = store.get.bind(store);
    store.get = () => {
      store.get = original;
      throw new Error('boom');
    };
    const bad = await c.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: 15 } });
    assert.equal(bad, null);
    assert.equal(c.server.failures, 1);
    await c.waitFor(() => c.logs.some((l) => l.includes('hover failed: Error: boom')), 'the failure logged');
    const ok = await c.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: 15 } });
    assert.ok(ok);
  } finally {
    await c.dispose();
  }
});

function spawnServer(args: string[]): Promise<PublishDiagnosticsParams> {
  const main = path.resolve(__dirname, '..', '..', 'server', 'src', 'main.js');
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'lossmith.js');
  const child = spawn(process.execPath, args[0] === 'lsp' ? [bin, ...args] : [main, ...args], { stdio: args.includes('--node-ipc') ? ['pipe', 'pipe', 'pipe', 'ipc'] : 'pipe' });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no diagnostics from the spawned server')), 20000);
    const conn = args.includes('--node-ipc')
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports
        createProtocolConnection(new (require('vscode-languageserver-protocol/node').IPCMessageReader)(child), new (require('vscode-languageserver-protocol/node').IPCMessageWriter)(child))
      : createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
      clearTimeout(timer);
      conn.dispose();
      child.kill();
      resolve(p);
    });
    conn.listen();
    conn
      .sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, workspaceFolders: null, capabilities: {} })
      .then(() => {
        conn.sendNotification('initialized', {});
        conn.sendNotification('textDocument/didOpen', { textDocument: { uri: 'file:///x.loss', languageId: 'lossmith', version: 1, text: 'loss a = -sum(y * log(q))' } });
      })
      .catch(reject);
  });
}

test('the server runs as a process: --stdio, --node-ipc, and `lossmith lsp --stdio`', async () => {
  for (const args of [['--stdio'], ['--node-ipc'], ['lsp', '--stdio']]) {
    const p = await spawnServer(args);
    assert.deepEqual(p.diagnostics.map((d) => d.code), ['no-prediction-dependence', 'domain-log', 'unknown-name'], args.join(' '));
  }
});
