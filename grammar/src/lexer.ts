/** Tokens of the loss DSL (chevrotain). Comments and white space are skipped but kept in groups. */
import { createToken, Lexer, TokenType } from 'chevrotain';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\r\n]*/, group: 'comments' });

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
const keyword = (name: string, word: string): TokenType =>
  createToken({ name, pattern: new RegExp(word), longer_alt: Identifier });
export const Param = keyword('Param', 'param');
export const Let = keyword('Let', 'let');
export const Loss = keyword('Loss', 'loss');
export const In = keyword('In', 'in');

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

export const KEYWORDS = ['param', 'let', 'loss', 'in'] as const;

export const lossLexer = new Lexer(allTokens, {
  positionTracking: 'onlyOffset',
  ensureOptimizations: false,
});
