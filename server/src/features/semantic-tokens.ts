/** Semantic tokens (full, delta and range) from the token stream, the comments and the name resolution. */
import type { SemanticTokens, SemanticTokensDelta, SemanticTokensLegend } from 'vscode-languageserver';
import { overloads } from '../../../grammar/src/index';
import type { Analysis, Occurrence } from '../documents';
import { lineAndCharacter } from '../convert';
import { tokenName, tokenEnd } from './tokens';

export const TOKEN_TYPES = ['keyword', 'function', 'parameter', 'variable', 'number', 'operator', 'comment'] as const;
export const TOKEN_MODIFIERS = ['declaration', 'readonly', 'defaultLibrary'] as const;
export const LEGEND: SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

type TokenType = (typeof TOKEN_TYPES)[number];
type Modifier = (typeof TOKEN_MODIFIERS)[number];
const T = (t: TokenType): number => TOKEN_TYPES.indexOf(t);
const M = (...m: Modifier[]): number => m.reduce((acc, x) => acc | (1 << TOKEN_MODIFIERS.indexOf(x)), 0);

interface Tok {
  start: number;
  length: number;
  type: number;
  mods: number;
}

const OPERATORS = new Set(['Plus', 'Minus', 'Star', 'Slash', 'Caret', 'Equals']);

function classifyName(o: Occurrence | undefined, name: string): [number, number] | undefined {
  if (!o) return overloads(name).length ? [T('function'), M('defaultLibrary')] : undefined;
  switch (o.kind) {
    case 'call':
      return o.builtin ? [T('function'), M('defaultLibrary')] : [T('function'), 0];
    case 'unresolved':
      return overloads(name).length ? [T('function'), M('defaultLibrary')] : undefined;
    case 'definition':
    case 'reference': {
      const decl = o.kind === 'definition' ? M('declaration') : 0;
      switch (o.symbol.kind) {
        case 'input':
          return [T('variable'), M('readonly', 'defaultLibrary')];
        case 'param':
          return [T('parameter'), decl | M('readonly')];
        case 'let':
          return [T('variable'), decl];
        case 'loss':
          return [T('function'), decl];
      }
    }
  }
  return undefined;
}

/** Every semantic token overlapping [from, to), in order. */
export function collectTokens(a: Analysis, from = 0, to = Infinity): Tok[] {
  const out: Tok[] = [];
  const toks = a.check.parse.tokens;
  const occ = a.occurrences;
  let oi = 0;
  const comments = a.program.comments;
  let ci = 0;
  const pushComment = (upTo: number): void => {
    while (ci < comments.length && comments[ci].range.start < upTo) {
      const c = comments[ci++];
      if (c.range.end > from && c.range.start < to) out.push({ start: c.range.start, length: c.range.end - c.range.start, type: T('comment'), mods: 0 });
    }
  };
  for (const t of toks) {
    const start = t.startOffset;
    const end = tokenEnd(t);
    pushComment(start);
    if (end <= from) continue;
    if (start >= to) break;
    const n = tokenName(t);
    let cls: [number, number] | undefined;
    if (n === 'Param' || n === 'Let' || n === 'Loss' || n === 'In' || n === 'Task') cls = [T('keyword'), 0];
    else if (n === 'NumberLiteral') cls = [T('number'), 0];
    else if (OPERATORS.has(n)) cls = [T('operator'), 0];
    else if (n === 'Identifier') {
      while (oi < occ.length && occ[oi].range.start < start) oi++;
      const o = oi < occ.length && occ[oi].range.start === start ? occ[oi] : undefined;
      cls = classifyName(o, t.image);
    }
    if (cls) out.push({ start, length: end - start, type: cls[0], mods: cls[1] });
  }
  pushComment(Infinity);
  return out;
}

export function encode(a: Analysis, toks: Tok[]): SemanticTokens {
  const data: number[] = [];
  let prevLine = 0;
  let prevChar = 0;
  for (const t of toks) {
    const p = lineAndCharacter(a.index, t.start);
    // Tokens never span lines (comments end at the line break).
    const dl = p.line - prevLine;
    const dc = dl === 0 ? p.character - prevChar : p.character;
    data.push(dl, dc, t.length, t.type, t.mods);
    prevLine = p.line;
    prevChar = p.character;
  }
  return { data };
}

/**
 * Full results carry a resultId; a delta request against the last one gets one edit (the
 * changed middle between the common prefix and suffix of the encoded arrays) instead of the
 * whole array: typing in a 1000-line file sends a few numbers, not some 20,000.
 */
export class SemanticTokensDeltas {
  private readonly last = new Map<string, { id: string; data: number[] }>();
  private counter = 0;

  /** A full result, remembered for the next delta. */
  full(uri: string, data: number[]): SemanticTokens {
    const id = String(++this.counter);
    this.last.set(uri, { id, data });
    return { resultId: id, data };
  }

  /** Edits from `previousResultId` to `data`, or a full result when that is not the last one sent. */
  delta(uri: string, previousResultId: string, data: number[]): SemanticTokens | SemanticTokensDelta {
    const prev = this.last.get(uri);
    if (!prev || prev.id !== previousResultId) return this.full(uri, data);
    const old = prev.data;
    let start = 0;
    while (start < old.length && start < data.length && old[start] === data[start]) start++;
    let end = 0;
    while (end < old.length - start && end < data.length - start && old[old.length - 1 - end] === data[data.length - 1 - end]) end++;
    const id = String(++this.counter);
    this.last.set(uri, { id, data });
    const deleteCount = old.length - start - end;
    const inserted = data.slice(start, data.length - end);
    return { resultId: id, edits: deleteCount === 0 && inserted.length === 0 ? [] : [{ start, deleteCount, data: inserted }] };
  }

  forget(uri: string): void {
    this.last.delete(uri);
  }
}
