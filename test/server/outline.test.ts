import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DocumentSymbolRequest,
  FoldingRangeRequest,
  SemanticTokensRangeRequest,
  SemanticTokensRequest,
  SemanticTokensDeltaRequest,
  type SemanticTokensDelta,
  type DocumentSymbol,
  type SemanticTokensLegend,
} from 'vscode-languageserver-protocol/node';
import { range, startServer } from './helpers';

test('document symbols: params, lets, losses with kinds, details and ranges', async () => {
  const c = await startServer();
  try {
    const { uri } = await c.openDoc(['param gamma = 2 in [0, 5]', 'let pt = sum(y * p)', 'loss focal = -(1 - pt)^gamma *', '  log(pt)', 'let v = p * 2', 'loss s = sum(y * v)'].join('\n'));
    const syms = (await c.conn.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })) as DocumentSymbol[];
    assert.deepEqual(
      syms.map((s) => [s.name, s.kind, s.detail, s.range, s.selectionRange]),
      [
        ['gamma', 14, 'param = 2 in [0, 5]', range(0, 0, 0, 25), range(0, 6, 0, 11)],
        ['pt', 13, 'let: scalar', range(1, 0, 1, 19), range(1, 4, 1, 6)],
        ['focal', 12, 'loss = -(1 - pt)^gamma * log(pt)', range(2, 0, 3, 9), range(2, 5, 2, 10)],
        ['v', 13, 'let: vector', range(4, 0, 4, 13), range(4, 4, 4, 5)],
        ['s', 12, 'loss = sum(y * v)', range(5, 0, 5, 19), range(5, 5, 5, 6)],
      ],
    );
  } finally {
    await c.dispose();
  }
});

function decode(data: number[], legend: SemanticTokensLegend, lines: string[]): string[] {
  const out: string[] = [];
  let line = 0;
  let ch = 0;
  for (let i = 0; i < data.length; i += 5) {
    line += data[i];
    ch = data[i] === 0 ? ch + data[i + 1] : data[i + 1];
    const text = lines[line].slice(ch, ch + data[i + 2]);
    const mods = legend.tokenModifiers.filter((_, k) => data[i + 4] & (1 << k));
    out.push(`${line}:${text}:${legend.tokenTypes[data[i + 3]]}${mods.length ? '.' + mods.join('.') : ''}`);
  }
  return out;
}

test('semantic tokens (full and range) with their legend', async () => {
  const c = await startServer();
  try {
    const lines = ['# focal', 'param g = 2 in [0, 5]', 'let pt = sum(y * p)  # true class', 'loss f = -(1 - pt)^g * log(pt) + nope'];
    const { uri } = await c.openDoc(lines.join('\n'));
    const legend = c.initializeResult.capabilities.semanticTokensProvider!.legend;
    assert.deepEqual(legend, { tokenTypes: ['keyword', 'function', 'parameter', 'variable', 'number', 'operator', 'comment'], tokenModifiers: ['declaration', 'readonly', 'defaultLibrary'] });
    const full = await c.conn.sendRequest(SemanticTokensRequest.type, { textDocument: { uri } });
    assert.deepEqual(decode(full!.data, legend, lines), [
      '0:# focal:comment',
      '1:param:keyword',
      '1:g:parameter.declaration.readonly',
      '1:=:operator',
      '1:2:number',
      '1:in:keyword',
      '1:0:number',
      '1:5:number',
      '2:let:keyword',
      '2:pt:variable.declaration',
      '2:=:operator',
      '2:sum:function.defaultLibrary',
      '2:y:variable.readonly.defaultLibrary',
      '2:*:operator',
      '2:p:variable.readonly.defaultLibrary',
      '2:# true class:comment',
      '3:loss:keyword',
      '3:f:function.declaration',
      '3:=:operator',
      '3:-:operator',
      '3:1:number',
      '3:-:operator',
      '3:pt:variable',
      '3:^:operator',
      '3:g:parameter.readonly',
      '3:*:operator',
      '3:log:function.defaultLibrary',
      '3:pt:variable',
      '3:+:operator',
    ]);
    const part = await c.conn.sendRequest(SemanticTokensRangeRequest.type, { textDocument: { uri }, range: range(2, 0, 2, 10) });
    assert.deepEqual(decode(part!.data, legend, lines), ['2:let:keyword', '2:pt:variable.declaration', '2:=:operator', '2:sum:function.defaultLibrary']);
  } finally {
    await c.dispose();
  }
});

test('semantic tokens delta: an edit sends one small edit against the last result; an unknown previous id gets a full result', async () => {
  const c = await startServer();
  try {
    const lines = Array.from({ length: 200 }, (_, i) => (i % 2 ? `loss f${i} = -log(pt${i - 1})` : `let pt${i} = sum(y * p)`));
    const { uri } = await c.openDoc(lines.join('\n'));
    const provider = c.initializeResult.capabilities.semanticTokensProvider!;
    assert.deepEqual(provider.full, { delta: true });
    const first = await c.conn.sendRequest(SemanticTokensRequest.type, { textDocument: { uri } });
    assert.ok(first!.resultId);
    // Rename one let on line 100 (and its use on 101): only the tokens of those lines change.
    const edited = [...lines];
    edited[100] = 'let longer_name = sum(y * p)';
    edited[101] = 'loss f101 = -log(longer_name)';
    await c.change(uri, edited.join('\n'));
    const d = (await c.conn.sendRequest(SemanticTokensDeltaRequest.type, { textDocument: { uri }, previousResultId: first!.resultId! })) as SemanticTokensDelta;
    assert.ok('edits' in d && d.resultId && d.resultId !== first!.resultId);
    assert.equal(d.edits.length, 1);
    const e = d.edits[0];
    // The tokens of the two edited lines (their starts shift after the longer name), not the file's.
    assert.ok((e.data?.length ?? 0) <= 70 && e.deleteCount <= 70 && first!.data.length > 5000, JSON.stringify(e));
    // Applying the edit gives exactly the full result of the new text.
    const applied = [...first!.data];
    applied.splice(e.start, e.deleteCount, ...(e.data ?? []));
    const full = await c.conn.sendRequest(SemanticTokensRequest.type, { textDocument: { uri } });
    assert.deepEqual(applied, full!.data);
    // No change since the last result: no edits. A stale id: a full result.
    const same = (await c.conn.sendRequest(SemanticTokensDeltaRequest.type, { textDocument: { uri }, previousResultId: full!.resultId! })) as SemanticTokensDelta;
    assert.deepEqual(same.edits, []);
    const stale = await c.conn.sendRequest(SemanticTokensDeltaRequest.type, { textDocument: { uri }, previousResultId: first!.resultId! });
    assert.ok(stale && 'data' in stale && stale.data.length === full!.data.length);
  } finally {
    await c.dispose();
  }
});

test('folding: runs of comment lines and multi-line statements', async () => {
  const c = await startServer();
  try {
    const { uri } = await c.openDoc(['# Focal loss', '# Lin et al. 2017', '#', 'param g = 2', '# single', 'loss f = -(1 - sum(y * p))^g *', '  log(sum(y * p))', 'let a = 1 # trailing', '# next'].join('\n'));
    const folds = await c.conn.sendRequest(FoldingRangeRequest.type, { textDocument: { uri } });
    assert.deepEqual(folds, [
      { startLine: 0, endLine: 2, kind: 'comment' },
      { startLine: 5, endLine: 6, kind: 'region' },
    ]);
  } finally {
    await c.dispose();
  }
});
