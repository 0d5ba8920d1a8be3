/** Go to definition, find references, document highlight, rename (params and lets). */
import {
  DocumentHighlight,
  DocumentHighlightKind,
  Location,
  ResponseError,
  ErrorCodes,
  TextEdit,
  type Position,
  type Range,
  type WorkspaceEdit,
} from 'vscode-languageserver';
import { overloads, type SymbolInfo, type Range as GRange } from '../../../grammar/src/index';
import type { Analysis, Occurrence } from '../documents';
import { toOffset, toRange } from '../convert';
import { keywordAt } from './tokens';

const KEYWORDS = new Set(['param', 'let', 'loss', 'in', 'task']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The user-defined symbol under the cursor (definition or resolved use). */
function symbolAt(a: Analysis, offset: number): { symbol: SymbolInfo; occ: Occurrence } | undefined {
  const o = a.occurrenceAt(offset);
  if (!o || (o.kind !== 'definition' && o.kind !== 'reference')) return undefined;
  return { symbol: o.symbol, occ: o };
}

/** Definition and uses of a symbol, in source order: [range, isDefinition]. */
function occurrencesOf(a: Analysis, symbol: SymbolInfo): [GRange, boolean][] {
  const out: [GRange, boolean][] = [];
  if (symbol.nameRange) out.push([symbol.nameRange, true]);
  for (const r of a.model.references) if (r.symbol === symbol) out.push([r.range, false]);
  out.sort((x, y) => x[0].start - y[0].start);
  return out;
}

export function definition(a: Analysis, pos: Position): Location | null {
  const hit = symbolAt(a, toOffset(a.index, pos));
  if (!hit || !hit.symbol.nameRange) return null;
  return Location.create(a.uri, toRange(a.index, hit.symbol.nameRange));
}

export function references(a: Analysis, pos: Position, includeDeclaration: boolean): Location[] {
  const hit = symbolAt(a, toOffset(a.index, pos));
  if (!hit) return [];
  return occurrencesOf(a, hit.symbol)
    .filter(([, isDef]) => includeDeclaration || !isDef)
    .map(([r]) => Location.create(a.uri, toRange(a.index, r)));
}

export function documentHighlights(a: Analysis, pos: Position): DocumentHighlight[] {
  const hit = symbolAt(a, toOffset(a.index, pos));
  if (!hit) return [];
  return occurrencesOf(a, hit.symbol).map(([r, isDef]) => DocumentHighlight.create(toRange(a.index, r), isDef ? DocumentHighlightKind.Write : DocumentHighlightKind.Read));
}

/** The range and current name to rename, or an error saying why the cursor's name cannot be renamed. */
export function prepareRename(a: Analysis, pos: Position): { range: Range; placeholder: string } {
  const offset = toOffset(a.index, pos);
  const kw = keywordAt(a, offset);
  const o = a.occurrenceAt(offset);
  if (!o) {
    if (kw) throw new ResponseError(ErrorCodes.InvalidRequest, `'${kw.text}' is a keyword and cannot be renamed`);
    throw new ResponseError(ErrorCodes.InvalidRequest, 'Place the cursor on a param or let name to rename it');
  }
  if (o.kind === 'call' || o.kind === 'unresolved') {
    if (overloads(o.name).length) throw new ResponseError(ErrorCodes.InvalidRequest, `'${o.name}' is a builtin function and cannot be renamed`);
    throw new ResponseError(ErrorCodes.InvalidRequest, `'${o.name}' is not defined in this file`);
  }
  const kind = o.symbol.kind;
  if (kind === 'input') throw new ResponseError(ErrorCodes.InvalidRequest, `'${o.name}' is an input and cannot be renamed`);
  if (kind === 'loss') throw new ResponseError(ErrorCodes.InvalidRequest, `'${o.name}' is a loss; only params and lets can be renamed (run configurations refer to losses by name)`);
  return { range: toRange(a.index, o.range), placeholder: o.name };
}

export function rename(a: Analysis, pos: Position, newName: string): WorkspaceEdit {
  prepareRename(a, pos);
  const hit = symbolAt(a, toOffset(a.index, pos))!;
  const name = newName.trim();
  if (!NAME.test(name)) throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is not a valid name (letters, digits and _, not starting with a digit)`);
  if (name === hit.symbol.name) return { changes: { [a.uri]: [] } };
  if (KEYWORDS.has(name)) throw new ResponseError(ErrorCodes.InvalidParams, `'${name}' is a keyword`);
  if (['y', 'p', 'logits', 'C'].includes(name)) throw new ResponseError(ErrorCodes.InvalidParams, `'${name}' is an input`);
  if (overloads(name).length) throw new ResponseError(ErrorCodes.InvalidParams, `'${name}' is the name of a builtin function`);
  if (a.program.statements.some((s) => s.name === name)) throw new ResponseError(ErrorCodes.InvalidParams, `'${name}' is already defined in this file`);
  if (a.occurrences.some((o) => o.kind === 'unresolved' && o.name === name)) throw new ResponseError(ErrorCodes.InvalidParams, `'${name}' is already used in this file`);
  const edits = occurrencesOf(a, hit.symbol).map(([r]) => TextEdit.replace(toRange(a.index, r), name));
  return { changes: { [a.uri]: edits } };
}
