/**
 * Tokens of the loss DSL (chevrotain token types). Comments and white space are skipped but kept
 * in groups. `tokenize` is a hand-written scanner that gives exactly what `lossLexer` (the
 * chevrotain lexer built from the same patterns) gives, several times faster, and linear on
 * garbage (chevrotain tries every pattern at every bad character: 5 MB of random bytes took
 * seconds). A test compares the two on random input.
 */
import { createToken, Lexer, type ILexingError, type IToken, TokenType } from 'chevrotain';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\r\n]*/, group: 'comments' });

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
const keyword = (name: string, word: string): TokenType =>
  createToken({ name, pattern: new RegExp(word), longer_alt: Identifier });
export const Param = keyword('Param', 'param');
export const Let = keyword('Let', 'let');
export const Loss = keyword('Loss', 'loss');
export const In = keyword('In', 'in');
export const Task = keyword('Task', 'task');

export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/,
});

export const AdditiveOperator = createToken({ name: 'AdditiveOperator', pattern: Lexer.NA });
export const Plus = createToken({ name: 'Plus', pattern: /\+/, categories: AdditiveOperator });
export const Minus = createToken({ name: 'Minus', pattern: /-/, categories: AdditiveOperator });
export const MultiplicativeOperator = createToken({ name: 'MultiplicativeOperator', pattern: Lexer.NA });
export const Star = createToken({ name: 'Star', pattern: /\*/, categories: MultiplicativeOperator });
export const Slash = createToken({ name: 'Slash', pattern: /\//, categories: MultiplicativeOperator });
export const Caret = createToken({ name: 'Caret', pattern: /\^/ });
export const Equals = createToken({ name: 'Equals', pattern: /=/ });
export const Comma = createToken({ name: 'Comma', pattern: /,/ });
export const LParen = createToken({ name: 'LParen', pattern: /\(/ });
export const RParen = createToken({ name: 'RParen', pattern: /\)/ });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/ });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/ });

export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  Param,
  Let,
  Loss,
  In,
  Task,
  Identifier,
  NumberLiteral,
  AdditiveOperator,
  Plus,
  Minus,
  MultiplicativeOperator,
  Star,
  Slash,
  Caret,
  Equals,
  Comma,
  LParen,
  RParen,
  LBracket,
  RBracket,
];

export const KEYWORDS = ['param', 'let', 'loss', 'in', 'task'] as const;

export const lossLexer = new Lexer(allTokens, {
  positionTracking: 'onlyOffset',
  ensureOptimizations: false,
});

export interface Lexed {
  /** Every token but comments and white space, in order. */
  tokens: IToken[];
  /** The comments, in order. */
  comments: IToken[];
  /** Runs of characters no token starts with (offset and length; `parse` writes the messages). */
  errors: ILexingError[];
}

const KEYWORD_TYPES = new Map<string, TokenType>([
  ['param', Param],
  ['let', Let],
  ['loss', Loss],
  ['in', In],
  ['task', Task],
]);

/** Single-character tokens by character code. */
const SINGLE: (TokenType | undefined)[] = [];
for (const [c, t] of [['+', Plus], ['-', Minus], ['*', Star], ['/', Slash], ['^', Caret], ['=', Equals], [',', Comma], ['(', LParen], [')', RParen], ['[', LBracket], [']', RBracket]] as const) SINGLE[c.charCodeAt(0)] = t;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdPart = (c: number): boolean => isIdStart(c) || isDigit(c);
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0xfeff;

/** The length of a NumberLiteral at `i` (0 if none): (\d+\.?\d*|\.\d+)([eE][+-]?\d+)? */
function numberLength(text: string, i: number): number {
  let j = i;
  const n = text.length;
  if (isDigit(text.charCodeAt(j))) {
    while (j < n && isDigit(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) === 46) {
      j++;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
    }
  } else if (text.charCodeAt(j) === 46 && isDigit(text.charCodeAt(j + 1))) {
    j++;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
  } else return 0;
  const e = text.charCodeAt(j);
  if (e === 101 || e === 69) {
    let k = j + 1;
    const sign = text.charCodeAt(k);
    if (sign === 43 || sign === 45) k++;
    if (isDigit(text.charCodeAt(k))) {
      while (k < n && isDigit(text.charCodeAt(k))) k++;
      j = k;
    }
  }
  return j - i;
}

/** Can a token (or white space) start at `i`? */
function startsToken(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return isSpace(c) || c === 35 || isIdStart(c) || SINGLE[c] !== undefined || numberLength(text, i) > 0;
}

/** A token as chevrotain's lexer makes it with `positionTracking: 'onlyOffset'`. */
const token = (tokenType: TokenType, image: string, startOffset: number): IToken => ({ image, startOffset, tokenTypeIdx: tokenType.tokenTypeIdx!, tokenType }) as IToken;

/** Tokens, comments and bad characters of a text: what `lossLexer.tokenize` gives, faster. */
export function tokenize(text: string): Lexed {
  const tokens: IToken[] = [];
  const comments: IToken[] = [];
  const errors: ILexingError[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 35) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== 10 && text.charCodeAt(j) !== 13) j++;
      comments.push(token(Comment, text.slice(i, j), i));
      i = j;
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdPart(text.charCodeAt(j))) j++;
      const image = text.slice(i, j);
      tokens.push(token((j - i <= 5 && KEYWORD_TYPES.get(image)) || Identifier, image, i));
      i = j;
      continue;
    }
    const single = SINGLE[c];
    if (single) {
      tokens.push(token(single, text[i], i));
      i++;
      continue;
    }
    const len = numberLength(text, i);
    if (len > 0) {
      tokens.push(token(NumberLiteral, text.slice(i, i + len), i));
      i += len;
      continue;
    }
    // A run of characters no token starts with: one error, as chevrotain reports it.
    let j = i + 1;
    while (j < n && !startsToken(text, j)) j++;
    errors.push({ offset: i, length: j - i, line: undefined, column: undefined, message: 'unexpected character' });
    i = j;
  }
  return { tokens, comments, errors };
}
