/** Cursor look-ups over the token stream (comments excluded; they are in program.comments). */
import type { ParseResult } from '../../../grammar/src/index';
import type { Analysis } from '../documents';

type IToken = ParseResult['tokens'][number];

export type TokenName =
  | 'Param' | 'Let' | 'Loss' | 'In' | 'Task' | 'Identifier' | 'NumberLiteral' | 'Plus' | 'Minus' | 'Star' | 'Slash' | 'Caret'
  | 'Equals' | 'Comma' | 'LParen' | 'RParen' | 'LBracket' | 'RBracket';

export const KEYWORD_TOKENS = new Set(['Param', 'Let', 'Loss', 'In', 'Task']);
export const STATEMENT_KEYWORDS = new Set(['Param', 'Let', 'Loss', 'Task']);

export function tokenName(t: IToken): string {
  return t.tokenType.name;
}

export function tokenEnd(t: IToken): number {
  return t.startOffset + t.image.length;
}

/** Index of the last token starting before `offset` (-1 if none). */
export function lastTokenBefore(tokens: IToken[], offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].startOffset < offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The keyword token under the cursor, if any. */
export function keywordAt(a: Analysis, offset: number): { text: string; range: { start: number; end: number } } | undefined {
  const toks = a.check.parse.tokens;
  const i = lastTokenBefore(toks, offset + 1);
  if (i < 0) return undefined;
  const t = toks[i];
  if (!KEYWORD_TOKENS.has(tokenName(t)) || offset > tokenEnd(t)) return undefined;
  return { text: t.image, range: { start: t.startOffset, end: tokenEnd(t) } };
}

/** Is the offset inside a comment (after its '#')? */
export function inComment(a: Analysis, offset: number): boolean {
  for (const c of a.program.comments) {
    if (c.range.start < offset && offset <= c.range.end) return true;
    if (c.range.start >= offset) break;
  }
  return false;
}

export interface CallContext {
  callee: string;
  calleeStart: number;
  /** Index of the argument the cursor is in (commas at depth 0 before the cursor). */
  activeParameter: number;
  /** Arguments written so far, counting the one being typed. */
  argCount: number;
}

/** The innermost call whose argument list contains the cursor. */
export function enclosingCall(a: Analysis, offset: number): CallContext | undefined {
  const toks = a.check.parse.tokens;
  let i = lastTokenBefore(toks, offset);
  let depth = 0;
  let commas = 0;
  for (; i >= 0; i--) {
    const t = toks[i];
    const n = tokenName(t);
    if (STATEMENT_KEYWORDS.has(n)) return undefined;
    if (n === 'RParen') {
      if (tokenEnd(t) <= offset) depth++;
    } else if (n === 'LParen') {
      if (depth === 0) {
        const prev = toks[i - 1];
        if (prev && tokenName(prev) === 'Identifier' && tokenEnd(prev) === t.startOffset) {
          // Count the arguments after the cursor too, to find the overload being written.
          let after = 0;
          let d = 0;
          let anyAfter = false;
          for (let j = lastTokenBefore(toks, offset) + 1; j < toks.length; j++) {
            const u = toks[j];
            const m = tokenName(u);
            if (STATEMENT_KEYWORDS.has(m)) break;
            if (m === 'LParen') d++;
            else if (m === 'RParen') {
              if (d === 0) break;
              d--;
            } else if (m === 'Comma' && d === 0) after++;
            anyAfter = true;
          }
          const anyBefore = lastTokenBefore(toks, offset) > i;
          const argCount = anyBefore || anyAfter ? commas + after + 1 : 0;
          return { callee: prev.image, calleeStart: prev.startOffset, activeParameter: commas, argCount };
        }
        // A parenthesised sub-expression: keep looking outwards, commas inside it do not count.
        commas = 0;
      } else depth--;
    } else if (n === 'Comma' && depth === 0) commas++;
  }
  return undefined;
}
