/**
 * Fuzz against the running server: 2,000 seeded random edits (insertions, deletions of random
 * spans, garbage bytes) sent as incremental didChange on a catalogue-like file, each followed
 * by hover, completion and formatting requests (and, every tenth edit, the other requests).
 * The server must answer every request without error and never log a handler failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodeActionRequest,
  CompletionRequest,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  FoldingRangeRequest,
  HoverRequest,
  InlayHintRequest,
  ReferencesRequest,
  RequestType,
  SemanticTokensRequest,
  SignatureHelpRequest,
  type Position,
  type TextEdit,
} from 'vscode-languageserver-protocol/node';
import { checkText } from '../../grammar/src/index';
import { DerivativeRequest, type DerivativeParams, type DerivativeResult } from '../../protocol/lsp';
import { applyEdits, startServer } from './helpers';
import { uniform } from '../helpers/uniform';

const derivativeType = new RequestType<DerivativeParams, DerivativeResult, void>(DerivativeRequest.method);

const CATALOGUE = [
  '# Focal loss (Lin et al., 2017)',
  'param gamma = 2 in [0, 5]',
  'let pt = sum(y * p)',
  'loss focal = -(1 - pt)^gamma * log(pt)',
  '',
  '# Label smoothing',
  'param eps = 0.1 in [0, 0.5]',
  'let q = (1 - eps) * y + eps / C',
  'loss ls = -sum(q * log(p))',
  '',
  'param t1 = 0.8 in [0, 0.99]',
  'param t2 = 1.2 in [1, 4]',
  'let qt = tempered_softmax(logits, t2)',
  'loss bi_tempered = sum(y * (log_t(y, t1) - log_t(qt, t1))) - sum(y^(2 - t1) - qt^(2 - t1)) / (2 - t1)',
  'loss poly1 = -log(pt) + 1 * (1 - pt)',
  'loss gce = (1 - pt^0.7) / 0.7   # lossmith: allow loss-rises',
  'loss mae = sum(abs(y - p))',
].join('\n');

const PIECES = ['param', 'let', 'loss', ' ', '\n', '=', '(', ')', ',', '+', '-', '*', '/', '^', 'log(', 'sum(', 'max(', 'p', 'y', 'pt', 'gamma', '1e-7', '0.5', 'in [0, 1]', '#', '# lossmith: allow flat-loss', 'clamp(p, 1e-7, 1)', 'stop_gradient(', '\r\n', '\t'];

const mulberry32 = uniform;

function positionOf(text: string, offset: number): Position {
  let line = 0;
  let last = 0;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) {
    line++;
    last = i + 1;
  }
  return { line, character: offset - last };
}

test('fuzz: 2,000 random edits, every request answered, the server stays up', { timeout: 180000 }, async () => {
  const rnd = mulberry32(20240611);
  const int = (n: number): number => Math.floor(rnd() * n);
  const c = await startServer({ debounceMs: 150 });
  try {
    const { uri } = await c.openDoc(CATALOGUE);
    let text = CATALOGUE;
    for (let step = 0; step < 2000; step++) {
      // Pick an edit.
      const kind = rnd();
      let start = int(text.length + 1);
      let end = start;
      let insert = '';
      if (kind < 0.45) {
        const n = 1 + int(4);
        for (let i = 0; i < n; i++) insert += PIECES[int(PIECES.length)];
      } else if (kind < 0.8) {
        end = Math.min(text.length, start + 1 + int(text.length > 3000 ? 400 : 12));
      } else if (kind < 0.95) {
        const n = 1 + int(8);
        for (let i = 0; i < n; i++) insert += String.fromCharCode(int(0x10000));
        end = Math.min(text.length, start + int(3));
      } else {
        // Replace with a fresh copy of the catalogue: keeps the file catalogue-like over time.
        start = 0;
        end = text.length;
        insert = CATALOGUE;
      }
      // Never split a surrogate pair's offsets differently from the client: LSP counts UTF-16 units, as JS does.
      const r = { start: positionOf(text, start), end: positionOf(text, end) };
      await c.edit(uri, r, insert);
      text = text.slice(0, start) + insert + text.slice(end);
      assert.equal(c.text(uri), text);

      const at = positionOf(text, int(text.length + 1));
      const td = { textDocument: { uri } };
      const [hover, completion, formatting] = await Promise.all([
        c.conn.sendRequest(HoverRequest.type, { ...td, position: at }),
        c.conn.sendRequest(CompletionRequest.type, { ...td, position: at }),
        c.conn.sendRequest(DocumentFormattingRequest.type, { ...td, options: { tabSize: 2, insertSpaces: true } }),
      ]);
      assert.ok(hover === null || typeof hover === 'object');
      assert.ok(completion === null || typeof completion === 'object');
      const edits = formatting as TextEdit[];
      assert.ok(Array.isArray(edits));
      if (edits.length > 0) {
        const formatted = applyEdits(text, edits);
        // Formatting is only offered for files without syntax errors, and gives one back.
        assert.equal(checkText(formatted, { integrity: false }).parse.errors.length, 0, `step ${step}`);
      }
      if (step % 10 === 0) {
        await Promise.all([
          c.conn.sendRequest(SemanticTokensRequest.type, td),
          c.conn.sendRequest(DocumentSymbolRequest.type, td),
          c.conn.sendRequest(FoldingRangeRequest.type, td),
          c.conn.sendRequest(SignatureHelpRequest.type, { ...td, position: at }),
          c.conn.sendRequest(ReferencesRequest.type, { ...td, position: at, context: { includeDeclaration: true } }),
          c.conn.sendRequest(InlayHintRequest.type, { ...td, range: { start: { line: 0, character: 0 }, end: positionOf(text, text.length) } }),
          c.conn.sendRequest(CodeActionRequest.type, { ...td, range: { start: at, end: at }, context: { diagnostics: [] } }),
          c.conn.sendRequest(derivativeType, { uri, position: at, points: 5 }),
        ]);
      }
    }
    // The last version is analysed and published.
    const d = await c.diagnostics(uri, c.version(uri), 60000);
    assert.ok(Array.isArray(d));
    assert.equal(c.server.failures, 0, c.logs.join('\n'));
  } finally {
    await c.dispose();
  }
});
