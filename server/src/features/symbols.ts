/** The outline: params, lets and losses with their kinds, types and ranges. */
import { DocumentSymbol, SymbolKind } from 'vscode-languageserver';
import { printExpr } from '../../../grammar/src/index';
import type { Analysis } from '../documents';
import { toRange } from '../convert';

export function documentSymbols(a: Analysis): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const sym of a.model.definitions) {
    const s = sym.stmt;
    if (!s || !s.name) continue;
    let kind: SymbolKind;
    let detail: string;
    if (s.kind === 'Param') {
      kind = SymbolKind.Constant;
      detail = `param = ${Number.isFinite(s.value) ? s.value : '?'}${s.bounds ? ` in [${s.bounds.lo}, ${s.bounds.hi}]` : ''}`;
    } else if (s.kind === 'Let') {
      kind = SymbolKind.Variable;
      detail = `let: ${sym.type ?? 'unknown'}`;
    } else {
      kind = SymbolKind.Function;
      detail = `loss = ${truncate(printExpr(s.expr), 60)}`;
    }
    out.push({ name: s.name, kind, detail, range: toRange(a.index, s.range), selectionRange: toRange(a.index, s.nameRange) });
  }
  return out;
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}
