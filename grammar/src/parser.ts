/**
 * Parser of the loss DSL: chevrotain embedded actions that build the AST directly, with error
 * recovery on, so that broken input still yields a partial tree and every syntax error is
 * reported. `parse` never throws.
 *
 * program   := statement*       (split at the statement keywords first: see `parse`)
 * statement := 'param' NAME '=' signed ('in' '[' signed ',' signed ']')?
 *            | 'let' NAME '=' expr
 *            | 'loss' NAME '=' expr
 * expr      := term (('+' | '-') term)*
 * term      := unary (('*' | '/') unary)*
 * unary     := '-' unary | '+' unary | power
 * power     := primary ('^' unary)?          right-associative; binds tighter than unary minus
 * primary   := NUMBER | NAME | NAME '(' (expr (',' expr)*)? ')' | '(' expr ')'
 */
import { EmbeddedActionsParser, IToken, TokenType, IRecognitionException, ILexingError, type IOrAlt } from 'chevrotain';
import * as T from './lexer';
import type { Comment, Expr, LetStmt, LossStmt, ParamStmt, Program, Range, Statement } from './ast';

export interface SyntaxProblem {
  code: 'syntax-error' | 'unexpected-character';
  message: string;
  range: Range;
}

export interface ParseResult {
  program: Program;
  errors: SyntaxProblem[];
  /** Every non-comment token, for semantic highlighting and cursor look-ups. */
  tokens: IToken[];
}

interface Partial {
  kind: 'Param' | 'Let' | 'Loss';
  name: string;
  nameRange: Range;
  start: number;
}

const ok = (n: number): boolean => Number.isFinite(n);
const missingAt = (at: number): Expr => ({ kind: 'Missing', range: { start: at, end: at } });

class LossParser extends EmbeddedActionsParser {
  private partial: Partial | undefined;
  /** End offset of the last token actually consumed from the input. */
  private lastEnd = 0;
  // OR alternatives are built once per parser, not on every call (chevrotain's advice: the
  // arrays and closures were a third of the parse time on a 1000-line file).
  private statementAlts?: IOrAlt<Statement | undefined>[];
  private unaryAlts?: IOrAlt<Expr>[];
  private primaryAlts?: IOrAlt<Expr>[];

  constructor(recovery = true) {
    super(T.allTokens, { recoveryEnabled: recovery, maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  /** CONSUME with an explicit occurrence index (chevrotain needs one per repeated token in a rule). */
  private tok(t: TokenType, idx = 0): IToken {
    return this.consume(idx, t);
  }

  private range(token: IToken): Range {
    if (ok(token.startOffset)) {
      const r = { start: token.startOffset, end: token.startOffset + token.image.length };
      if (r.end > this.lastEnd) this.lastEnd = r.end;
      return r;
    }
    return { start: this.lastEnd, end: this.lastEnd };
  }

  private span(a: Range, b: Range): Range {
    return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
  }

  private recoverStatement = (): Statement | undefined => {
    const p = this.partial;
    this.partial = undefined;
    if (!p) return undefined;
    const range = { start: p.start, end: Math.max(p.nameRange.end, this.lastEnd) };
    const missing: Expr = { kind: 'Missing', range: { start: range.end, end: range.end } };
    if (p.kind === 'Param') {
      return { kind: 'Param', name: p.name, nameRange: p.nameRange, value: NaN, valueRange: missing.range, range };
    }
    return { kind: p.kind, name: p.name, nameRange: p.nameRange, expr: missing, range };
  };

  /** Whole-file fast path for clean input; `parse` falls back to one statement at a time. */
  public statements = this.RULE('statements', (): Statement[] => {
    const out: Statement[] = [];
    this.MANY(() => {
      const st = this.SUBRULE(this.statement);
      this.ACTION(() => {
        if (st) out.push(st);
      });
    });
    return out;
  });

  public statement = this.RULE(
    'statement',
    (): Statement | undefined => {
      this.ACTION(() => {
        this.partial = undefined;
      });
      const s = this.OR(
        (this.statementAlts ??= [
          { ALT: () => this.SUBRULE(this.paramStmt) },
          { ALT: () => this.SUBRULE(this.letStmt) },
          { ALT: () => this.SUBRULE(this.lossStmt) },
        ]),
      );
      this.ACTION(() => {
        this.partial = undefined;
      });
      return s;
    },
    { recoveryValueFunc: () => this.recoverStatement() },
  );

  private header(kw: TokenType, kind: Partial['kind']): { start: number; name: string; nameRange: Range } {
    const k = this.tok(kw);
    const id = this.tok(T.Identifier);
    let result = { start: 0, name: '', nameRange: { start: 0, end: 0 } };
    this.ACTION(() => {
      const start = this.range(k).start;
      const nameRange = this.range(id);
      result = { start, name: id.image ?? '', nameRange };
      if (ok(id.startOffset)) this.partial = { kind, name: result.name, nameRange, start };
    });
    this.tok(T.Equals);
    return result;
  }

  private paramStmt = this.RULE('paramStmt', (): ParamStmt => {
    const h = this.header(T.Param, 'Param');
    const v = this.SUBRULE(this.signedNumber);
    let bounds: ParamStmt['bounds'];
    this.OPTION(() => {
      const inTok = this.tok(T.In);
      this.tok(T.LBracket);
      const lo = this.SUBRULE2(this.signedNumber);
      this.tok(T.Comma);
      const hi = this.SUBRULE3(this.signedNumber);
      const rb = this.tok(T.RBracket);
      this.ACTION(() => {
        bounds = { lo: lo.value, hi: hi.value, range: this.span(this.range(inTok), this.range(rb)) };
      });
    });
    return this.ACTION(() => {
      const end = bounds ? bounds.range.end : v.range.end;
      return {
        kind: 'Param' as const,
        name: h.name,
        nameRange: h.nameRange,
        value: v.value,
        valueRange: v.range,
        ...(bounds ? { bounds } : {}),
        range: { start: h.start, end },
      };
    });
  });

  private letStmt = this.RULE('letStmt', (): LetStmt => {
    const h = this.header(T.Let, 'Let');
    const e = this.SUBRULE(this.expr);
    return this.ACTION(() => ({
      kind: 'Let' as const,
      name: h.name,
      nameRange: h.nameRange,
      expr: e,
      range: { start: h.start, end: Math.max(e.range.end, h.nameRange.end) },
    }));
  });

  private lossStmt = this.RULE('lossStmt', (): LossStmt => {
    const h = this.header(T.Loss, 'Loss');
    const e = this.SUBRULE(this.expr);
    return this.ACTION(() => ({
      kind: 'Loss' as const,
      name: h.name,
      nameRange: h.nameRange,
      expr: e,
      range: { start: h.start, end: Math.max(e.range.end, h.nameRange.end) },
    }));
  });

  private signedNumber = this.RULE('signedNumber', (): { value: number; range: Range } => {
    let sign = 1;
    let first: IToken | undefined;
    this.OPTION(() => {
      first = this.tok(T.Minus);
      this.ACTION(() => {
        sign = -1;
      });
    });
    const n = this.tok(T.NumberLiteral);
    return this.ACTION(() => {
      const r = this.range(n);
      return { value: sign * Number(n.image), range: first ? this.span(this.range(first), r) : r };
    });
  });

  private expr = this.RULE('expr', (): Expr => {
    let left = this.SUBRULE(this.term);
    this.MANY(() => {
      const op = this.tok(T.AdditiveOperator);
      const right = this.SUBRULE2(this.term);
      this.ACTION(() => {
        left = { kind: 'Binary', op: op.image === '+' ? '+' : '-', left, right, range: this.span(left.range, right.range) };
      });
    });
    return left;
  }, { recoveryValueFunc: (): Expr => missingAt(this.lastEnd) });

  private term = this.RULE('term', (): Expr => {
    let left = this.SUBRULE(this.unary);
    this.MANY(() => {
      const op = this.tok(T.MultiplicativeOperator);
      const right = this.SUBRULE2(this.unary);
      this.ACTION(() => {
        left = { kind: 'Binary', op: op.image === '*' ? '*' : '/', left, right, range: this.span(left.range, right.range) };
      });
    });
    return left;
  }, { recoveryValueFunc: (): Expr => missingAt(this.lastEnd) });

  private unary = this.RULE('unary', (): Expr =>
    this.OR((this.unaryAlts ??= [
      {
        ALT: () => {
          const m = this.tok(T.Minus);
          const operand = this.SUBRULE(this.unary);
          return this.ACTION((): Expr => ({ kind: 'Unary', op: '-', operand, range: this.span(this.range(m), operand.range) }));
        },
      },
      {
        ALT: () => {
          this.tok(T.Plus);
          return this.SUBRULE2(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.power) },
    ])),
    { recoveryValueFunc: (): Expr => missingAt(this.lastEnd) },
  );

  private power = this.RULE('power', (): Expr => {
    let base = this.SUBRULE(this.primary);
    this.OPTION(() => {
      this.tok(T.Caret);
      const exponent = this.SUBRULE(this.unary);
      this.ACTION(() => {
        base = { kind: 'Binary', op: '^', left: base, right: exponent, range: this.span(base.range, exponent.range) };
      });
    });
    return base;
  }, { recoveryValueFunc: (): Expr => missingAt(this.lastEnd) });

  private primary = this.RULE(
    'primary',
    (): Expr =>
      this.OR((this.primaryAlts ??= [
        {
          ALT: () => {
            const n = this.tok(T.NumberLiteral);
            return this.ACTION((): Expr => ({ kind: 'Number', value: Number(n.image), text: n.image, range: this.range(n) }));
          },
        },
        {
          GATE: () => this.LA(2).tokenType === T.LParen,
          ALT: () => {
            const id = this.tok(T.Identifier);
            this.tok(T.LParen);
            const args: Expr[] = [];
            this.MANY_SEP({
              SEP: T.Comma,
              DEF: () => {
                const a = this.SUBRULE(this.expr);
                this.ACTION(() => {
                  args.push(a);
                });
              },
            });
            const rp = this.tok(T.RParen);
            return this.ACTION((): Expr => {
              const calleeRange = this.range(id);
              const end = ok(rp.startOffset) ? this.range(rp).end : Math.max(calleeRange.end, ...args.map((a) => a.range.end));
              return { kind: 'Call', callee: id.image, calleeRange, args, range: { start: calleeRange.start, end } };
            });
          },
        },
        {
          ALT: () => {
            const id = this.tok(T.Identifier, 1);
            return this.ACTION((): Expr => ({ kind: 'Name', name: id.image, range: this.range(id) }));
          },
        },
        {
          ALT: () => {
            const lp = this.tok(T.LParen, 1);
            const inner = this.SUBRULE2(this.expr);
            const rp = this.tok(T.RParen, 1);
            return this.ACTION((): Expr => {
              // Parentheses are not kept as nodes; the range grows to include them.
              const end = ok(rp.startOffset) ? this.range(rp).end : inner.range.end;
              return { ...inner, range: { start: this.range(lp).start, end } } as Expr;
            });
          },
        },
      ])),
    { recoveryValueFunc: (): Expr => missingAt(this.lastEnd) },
  );

  resetLastEnd(): void {
    this.lastEnd = 0;
    this.partial = undefined;
  }
}

let parserInstance: LossParser | undefined;
let strictInstance: LossParser | undefined;
function getParser(): LossParser {
  if (!parserInstance) parserInstance = new LossParser();
  return parserInstance;
}
/** Without recovery: faster on clean input, the first error ends it. */
function getStrictParser(): LossParser {
  if (!strictInstance) strictInstance = new LossParser(false);
  return strictInstance;
}

function describeToken(t: IToken): string {
  if (t.tokenType.name === 'EOF') return 'end of file';
  return `'${t.image}'`;
}

function syntaxMessage(e: IRecognitionException): string {
  const t = e.token;
  const found = describeToken(t);
  switch (e.name) {
    case 'MismatchedTokenException': {
      const m = /Expecting token of type --> (\w+) <--/.exec(e.message);
      const expected = m ? tokenDescription(m[1]) : 'something else';
      return `expected ${expected} but found ${found}`;
    }
    case 'NoViableAltException':
      return `expected an expression but found ${found}`;
    case 'NotAllInputParsedException':
      return `unexpected ${found} after the end of the statement`;
    case 'EarlyExitException':
      return `unexpected ${found}`;
    default:
      return `unexpected ${found}`;
  }
}

function tokenDescription(name: string): string {
  const map: Record<string, string> = {
    Identifier: 'a name',
    NumberLiteral: 'a number',
    Equals: "'='",
    RParen: "')'",
    LParen: "'('",
    RBracket: "']'",
    LBracket: "'['",
    Comma: "','",
    In: "'in'",
    EOF: 'end of file',
  };
  return map[name] ?? name;
}

/**
 * Clean statements of recent parses by their exact source text (first to last token), with the
 * offset they were parsed at. A statement found at the same offset is re-used as is (the AST is
 * never mutated); found elsewhere, it is copied with its ranges moved. Bounded: past
 * STATEMENT_CACHE_MAX entries the older half goes (hits move an entry to the young end).
 */
const statementCache = new Map<string, { at: number; stmt: Statement }>();
/** Room for a few large open files; an evolution parsing thousands of candidates stays small. */
const STATEMENT_CACHE_MAX = 8_000;

/** Every clean statement of a file whose segments all start with a keyword, or undefined at the first syntax error. */
function strictStatements(text: string, segments: IToken[][]): Statement[] | undefined {
  const strict = getStrictParser();
  const out: Statement[] = [];
  for (const seg of segments) {
    const start = seg[0].startOffset;
    const last = seg[seg.length - 1];
    const key = text.slice(start, last.startOffset + last.image.length);
    const hit = statementCache.get(key);
    if (hit) {
      // Moved statements are remembered at their new offset: the next parse re-uses them as is.
      const now = hit.at === start ? hit : { at: start, stmt: shiftStatement(hit.stmt, start - hit.at) };
      statementCache.delete(key);
      statementCache.set(key, now);
      out.push(now.stmt);
      continue;
    }
    strict.resetLastEnd();
    strict.input = seg;
    let st: Statement | undefined;
    try {
      st = strict.statement();
    } catch {
      return undefined;
    }
    if (strict.errors.length > 0 || !st) return undefined;
    if (statementCache.size >= STATEMENT_CACHE_MAX) {
      let drop = statementCache.size >> 1;
      for (const k of statementCache.keys()) {
        if (drop-- <= 0) break;
        statementCache.delete(k);
      }
    }
    statementCache.set(key, { at: start, stmt: st });
    out.push(st);
  }
  return out;
}

const shiftRange = (r: Range, d: number): Range => ({ start: r.start + d, end: r.end + d });

function shiftExpr(e: Expr, d: number): Expr {
  switch (e.kind) {
    case 'Number':
    case 'Name':
    case 'Missing':
      return { ...e, range: shiftRange(e.range, d) };
    case 'Unary':
      return { ...e, operand: shiftExpr(e.operand, d), range: shiftRange(e.range, d) };
    case 'Binary':
      return { ...e, left: shiftExpr(e.left, d), right: shiftExpr(e.right, d), range: shiftRange(e.range, d) };
    case 'Call':
      return { ...e, args: e.args.map((a) => shiftExpr(a, d)), calleeRange: shiftRange(e.calleeRange, d), range: shiftRange(e.range, d) };
  }
}

/** A copy of a statement with every range moved by `d`. */
export function shiftStatement(s: Statement, d: number): Statement {
  if (s.kind === 'Param') {
    return {
      ...s,
      nameRange: shiftRange(s.nameRange, d),
      valueRange: shiftRange(s.valueRange, d),
      ...(s.bounds ? { bounds: { ...s.bounds, range: shiftRange(s.bounds.range, d) } } : {}),
      range: shiftRange(s.range, d),
    };
  }
  return { ...s, nameRange: shiftRange(s.nameRange, d), expr: shiftExpr(s.expr, d), range: shiftRange(s.range, d) };
}

/** Forget the statements of earlier parses (benchmarks measure cold parses). */
export function clearStatementCache(): void {
  statementCache.clear();
}

/**
 * The parse result with `tokens` computed again on first use (lexing is under a millisecond for
 * 1000 lines): an editor keeps one parse per version alive, and not holding every token object
 * between keystrokes keeps them out of the old generation.
 */
function withLazyTokens(r: Omit<ParseResult, 'tokens'>, text: string): ParseResult {
  let tokens: IToken[] | undefined;
  return Object.defineProperty(r, 'tokens', {
    enumerable: true,
    get: () => (tokens ??= T.lossLexer.tokenize(text).tokens),
  }) as ParseResult;
}

/** Parse a `.loss` file. Never throws: errors come back in `errors`. */
export function parse(text: string): ParseResult {
  const errors: SyntaxProblem[] = [];
  const lexed = T.lossLexer.tokenize(text);
  for (const le of lexed.errors as ILexingError[]) {
    const start = le.offset;
    const len = Math.max(1, le.length);
    const bad = text.slice(start, start + len);
    errors.push({
      code: 'unexpected-character',
      message: `unexpected character${len > 1 ? 's' : ''} ${JSON.stringify(bad.length > 20 ? bad.slice(0, 20) + '…' : bad)}`,
      range: { start, end: start + len },
    });
  }
  const comments: Comment[] = ((lexed.groups.comments ?? []) as IToken[]).map((t) => ({
    text: t.image,
    range: { start: t.startOffset, end: t.startOffset + t.image.length },
  }));
  const parser = getParser();
  const statements: Statement[] = [];
  const recognitionErrors: IRecognitionException[] = [];
  // Keywords never occur inside an expression, so the token stream splits exactly into one
  // segment per statement: a broken statement cannot swallow the ones after it.
  const segments: IToken[][] = [];
  let current: IToken[] = [];
  for (const t of lexed.tokens) {
    if ((t.tokenType === T.Param || t.tokenType === T.Let || t.tokenType === T.Loss) && current.length > 0) {
      segments.push(current);
      current = [];
    }
    current.push(t);
  }
  if (current.length > 0) segments.push(current);
  // Fast path: a file without lexical errors whose statements all start with a keyword parses
  // statement by statement with the strict parser, re-using the statements of earlier parses
  // whose source text is unchanged (an editor re-parses after every keystroke; see
  // `cachedStatement`); any syntax error sends it through the per-statement path below.
  if (lexed.errors.length === 0 && segments.every((seg) => seg[0].tokenType === T.Param || seg[0].tokenType === T.Let || seg[0].tokenType === T.Loss)) {
    const all = strictStatements(text, segments);
    if (all) return withLazyTokens({ program: { statements: all, comments }, errors }, text);
  }
  for (const seg of segments) {
    const head = seg[0].tokenType;
    if (head !== T.Param && head !== T.Let && head !== T.Loss) {
      const first = seg[0];
      const last = seg[seg.length - 1];
      errors.push({
        code: 'syntax-error',
        message: `unexpected '${first.image}': a statement starts with 'param', 'let' or 'loss'`,
        range: { start: first.startOffset, end: last.startOffset + last.image.length },
      });
      continue;
    }
    parser.resetLastEnd();
    parser.input = seg;
    try {
      const s = parser.statement();
      if (s) statements.push(s);
    } catch (e) {
      errors.push({ code: 'syntax-error', message: `internal parser error: ${String(e)}`, range: { start: seg[0].startOffset, end: seg[0].startOffset } });
    }
    // One report per broken statement is enough: drop "unexpected input after the statement"
    // when the statement already has an error.
    const errs = parser.errors;
    recognitionErrors.push(...errs.filter((e, i) => !(e.name === 'NotAllInputParsedException' && i > 0)));
  }
  const lexErrorAt = (lexed.errors as ILexingError[]).map((le) => le.offset);
  for (const e of recognitionErrors) {
    const t = e.token;
    const before = (e as { previousToken?: IToken }).previousToken ?? (ok(t.startOffset) ? lexed.tokens[lexed.tokens.indexOf(t) - 1] : undefined);
    // A token that only looks misplaced because the lexer dropped a bad character before it
    // was already reported as that character.
    if (before && ok(before.startOffset) && ok(t.startOffset) && lexErrorAt.some((o) => o >= before.startOffset + before.image.length && o < t.startOffset)) continue;
    let range: Range;
    const startsStatement = t.tokenType === T.Param || t.tokenType === T.Let || t.tokenType === T.Loss;
    const prevTok = (e as { previousToken?: IToken }).previousToken;
    if (startsStatement && e.name !== 'NotAllInputParsedException' && prevTok && ok(prevTok.startOffset)) {
      // The statement before was cut short: point at where it stops, not at the next keyword.
      range = { start: prevTok.startOffset, end: prevTok.startOffset + prevTok.image.length };
    } else if (ok(t.startOffset) && t.tokenType.name !== 'EOF') range = { start: t.startOffset, end: t.startOffset + t.image.length };
    else {
      // At end of input or at a token inserted by recovery: point just after the previous token.
      const prev = (e as { previousToken?: IToken }).previousToken;
      const at = prev && ok(prev.startOffset) ? prev.startOffset + prev.image.length : text.length;
      range = { start: at, end: at };
    }
    errors.push({ code: 'syntax-error', message: syntaxMessage(e), range });
  }
  errors.sort((a, b) => a.range.start - b.range.start);
  return withLazyTokens({ program: { statements, comments }, errors }, text);
}
