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
 *
 * Depth: no expression deeper than MAX_NESTING levels is ever built (limits.ts). Before a
 * statement is parsed, one pass over its tokens measures how deep parentheses, calls, unary
 * operators and `^` nest (the parser's recursion); after, a statement long enough to hold a
 * deeper tree is measured again on the tree (chains such as `a + b + c + ...` nest without
 * recursing in the parser). Past the limit the statement gets one `nested-too-deep` error at
 * the token or operator that crossed it, and its expression becomes one Missing node.
 */
import { EmbeddedActionsParser, IToken, TokenType, IRecognitionException, type IOrAlt } from 'chevrotain';
import * as T from './lexer';
import type { Comment, Expr, LetStmt, LossStmt, ParamStmt, Program, Range, Statement, TaskDecl } from './ast';
import { TASK_NAMES } from './builtins';
import { MAX_NESTING } from './limits';

export interface SyntaxProblem {
  code: 'syntax-error' | 'unexpected-character' | 'nested-too-deep';
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
      // A number inserted by recovery has no text: NaN, not Number('') = 0 (a spurious range error).
      return { value: ok(n.startOffset) ? sign * Number(n.image) : NaN, range: first ? this.span(this.range(first), r) : r };
    });
    // Without a value on recovery the rule gave undefined, and `param g = x in [0, 1]` an internal error.
  }, { recoveryValueFunc: () => ({ value: NaN, range: { start: this.lastEnd, end: this.lastEnd } }) });

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
              let end = calleeRange.end;
              if (ok(rp.startOffset)) end = this.range(rp).end;
              else for (const a of args) end = Math.max(end, a.range.end); // a loop: a spread of 100,000 arguments overflows
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
  // A file with more statements than the cache holds evicts its own first statements before the
  // next parse comes back to them: no hits, only the cost of keys.
  const cached = segments.length <= STATEMENT_CACHE_MAX;
  for (const seg of segments) {
    const start = seg[0].startOffset;
    const last = seg[seg.length - 1];
    const key = cached ? text.slice(start, last.startOffset + last.image.length) : '';
    const hit = cached ? statementCache.get(key) : undefined;
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
    // Too deep a tree is an error: the per-statement path reports it.
    if (st.kind !== 'Param' && seg.length > MAX_NESTING && treeCrossing(st.expr)) return undefined;
    if (!cached) {
      out.push(st);
      continue;
    }
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
    get: () => (tokens ??= T.tokenize(text).tokens),
  }) as ParseResult;
}

// ---------------------------------------------------------------- depth (limits.ts)

const TOKENS_TOO_DEEP = `nested too deep: more than ${MAX_NESTING} levels of parentheses, calls and operators; split the expression with 'let'`;
const TREE_TOO_DEEP = `nested too deep: more than ${MAX_NESTING} operators in a chain or inside one another; split the expression with 'let'`;

/**
 * Past this nesting, a broken statement is parsed without recovery: chevrotain's recovery walks
 * the grammar on top of the parse's own recursion, and overflowed the stack near 100 nested
 * calls with an error inside (`clamp(clamp(...(, 0, 1), 0, 1)`); without recovery it parses as
 * deep as MAX_NESTING with room to spare.
 */
const RECOVERY_NESTING = 48;

/**
 * Broken statements per file parsed again with recovery (for their partial trees). Past it, a
 * broken statement keeps its name and its first error only: chevrotain's recovery costs tens of
 * microseconds per error (exceptions thrown through every rule, expected-token paths), and a
 * 5 MB file of broken lines took twenty seconds.
 */
const RECOVERY_BUDGET = 2000;

interface Nesting {
  /** The deepest level the tokens reach. */
  deepest: number;
  /** The token that crosses MAX_NESTING (`name(` for a call), if any. */
  crossing?: Range;
}

/**
 * How deep the tokens of one statement nest, as the parser would recurse: parentheses and
 * calls, unary operators and `^` (each holds the rest of its operand). Tokens that cannot occur
 * inside an expression end nothing, so the count never falls short in broken input.
 */
function tokenNesting(seg: IToken[]): Nesting {
  if (seg.length <= RECOVERY_NESTING) return { deepest: 0 };
  let deepest = 0;
  const outer: number[] = []; // base and prefix of each enclosing parenthesis, in pairs
  let base = 0; // levels opened by the enclosing parentheses (and the operators before them)
  let prefix = 0; // unary operators and '^' open at this parenthesis level
  let operand = false; // the previous token ends an operand
  for (let i = 0; i < seg.length; i++) {
    const t = seg[i];
    const tt = t.tokenType;
    if (tt === T.LParen) {
      outer.push(base, prefix);
      base += prefix + 1;
      prefix = 0;
      if (base > deepest) deepest = base;
      if (base > MAX_NESTING) {
        const prev = seg[i - 1];
        const start = operand && prev.tokenType === T.Identifier ? prev.startOffset : t.startOffset;
        return { deepest, crossing: { start, end: t.startOffset + 1 } };
      }
      operand = false;
    } else if (tt === T.RParen) {
      if (outer.length > 0) {
        prefix = outer.pop()!;
        base = outer.pop()!;
      }
      operand = true;
    } else if (tt === T.Caret || ((tt === T.Minus || tt === T.Plus) && !operand)) {
      prefix++;
      if (base + prefix > deepest) deepest = base + prefix;
      if (base + prefix > MAX_NESTING) return { deepest, crossing: { start: t.startOffset, end: t.startOffset + t.image.length } };
      operand = false;
    } else if (tt === T.Identifier || tt === T.NumberLiteral) {
      operand = true;
    } else if (tt === T.Plus || tt === T.Minus || tt === T.Star || tt === T.Slash || tt === T.Comma) {
      // A binary operator or the next argument ends the unary operators and powers before it.
      prefix = 0;
      operand = false;
    } else operand = false;
  }
  return { deepest };
}

function childAt(e: Expr, i: number): Expr | undefined {
  switch (e.kind) {
    case 'Unary':
      return i === 0 ? e.operand : undefined;
    case 'Binary':
      return i === 0 ? e.left : i === 1 ? e.right : undefined;
    case 'Call':
      return e.args[i];
    default:
      return undefined;
  }
}

/**
 * The first node, in the order the parser completes them, whose tree is more than MAX_NESTING
 * levels deep (a leaf is 0), or undefined. Iterative: the tree may be as deep as it is long.
 */
function treeCrossing(root: Expr): Expr | undefined {
  const stack: Expr[] = [root];
  const next: number[] = [0];
  const deepest: number[] = [0];
  while (stack.length > 0) {
    const top = stack.length - 1;
    const child = childAt(stack[top], next[top]);
    if (child) {
      next[top]++;
      stack.push(child);
      next.push(0);
      deepest.push(0);
      continue;
    }
    const h = next[top] === 0 ? 0 : deepest[top] + 1;
    if (h > MAX_NESTING) return stack[top];
    stack.pop();
    next.pop();
    deepest.pop();
    if (top > 0 && h > deepest[top - 1]) deepest[top - 1] = h;
  }
  return undefined;
}

/** The first offset at or after `from` that is neither white space nor in a comment. */
function skipBlank(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 35 /* # */) {
      while (i < text.length && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
    } else if (c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0xfeff) i++;
    else break;
  }
  return i;
}

/** The operator of a node: `+` between its operands, the `-` of a negation, `name(` of a call. */
function operatorRange(text: string, e: Expr): Range {
  if (e.kind === 'Binary') {
    const at = skipBlank(text, e.left.range.end);
    if (text[at] === e.op) return { start: at, end: at + 1 };
  } else if (e.kind === 'Unary') {
    return { start: e.range.start, end: e.range.start + 1 };
  } else if (e.kind === 'Call') {
    const at = skipBlank(text, e.calleeRange.end);
    if (text[at] === '(') return { start: e.calleeRange.start, end: at + 1 };
  }
  return e.range;
}

/** A statement whose expression was not parsed (too deep): its name, and one Missing node for the rest. */
function statementWithoutExpr(seg: IToken[]): Statement | undefined {
  const [kw, id, eq] = seg;
  if (!id || id.tokenType !== T.Identifier) return undefined;
  const last = seg[seg.length - 1];
  const end = last.startOffset + last.image.length;
  const nameRange = { start: id.startOffset, end: id.startOffset + id.image.length };
  const first = eq && eq.tokenType === T.Equals ? seg[3] : seg[2];
  const missing: Range = { start: first ? first.startOffset : end, end };
  const range = { start: kw.startOffset, end };
  if (kw.tokenType === T.Param) return { kind: 'Param', name: id.image, nameRange, value: NaN, valueRange: missing, range };
  return { kind: kw.tokenType === T.Let ? 'Let' : 'Loss', name: id.image, nameRange, expr: { kind: 'Missing', range: missing }, range };
}

/** The syntax problem of a recognition error of the parser (undefined: already reported as a bad character). */
function recognitionProblem(text: string, e: IRecognitionException, seg: IToken[], lexErrorAt: number[]): SyntaxProblem | undefined {
  const t = e.token;
  const prevTok = (e as { previousToken?: IToken }).previousToken;
  const before = prevTok ?? (ok(t.startOffset) ? seg[seg.indexOf(t) - 1] : undefined);
  // A token that only looks misplaced because the lexer dropped a bad character before it
  // was already reported as that character.
  if (before && ok(before.startOffset) && ok(t.startOffset) && lexErrorAt.some((o) => o >= before.startOffset + before.image.length && o < t.startOffset)) return undefined;
  let range: Range;
  const startsStatement = t.tokenType === T.Param || t.tokenType === T.Let || t.tokenType === T.Loss;
  if (startsStatement && e.name !== 'NotAllInputParsedException' && prevTok && ok(prevTok.startOffset)) {
    // The statement before was cut short: point at where it stops, not at the next keyword.
    range = { start: prevTok.startOffset, end: prevTok.startOffset + prevTok.image.length };
  } else if (ok(t.startOffset) && t.tokenType.name !== 'EOF') range = { start: t.startOffset, end: t.startOffset + t.image.length };
  else {
    // At end of input or at a token inserted by recovery: point just after the previous token.
    const at = prevTok && ok(prevTok.startOffset) ? prevTok.startOffset + prevTok.image.length : text.length;
    range = { start: at, end: at };
  }
  return { code: 'syntax-error', message: syntaxMessage(e), range };
}

/** Parse a `.loss` file. Never throws: errors come back in `errors`. */
export function parse(text: string): ParseResult {
  // Chevrotain's recognition exceptions are Errors, and each captured a stack trace that nothing
  // reads: two thirds of the time on a file of 180,000 broken lines.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return parseText(text);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function parseText(text: string): ParseResult {
  const errors: SyntaxProblem[] = [];
  const lexed = T.tokenize(text);
  const lexErrors: SyntaxProblem[] = lexed.errors.map((le) => {
    const start = le.offset;
    const len = Math.max(1, le.length);
    const bad = text.slice(start, start + len);
    return {
      code: 'unexpected-character',
      message: `unexpected character${len > 1 ? 's' : ''} ${JSON.stringify(bad.length > 20 ? bad.slice(0, 20) + '…' : bad)}`,
      range: { start, end: start + len },
    };
  });
  const comments: Comment[] = lexed.comments.map((t) => ({
    text: t.image,
    range: { start: t.startOffset, end: t.startOffset + t.image.length },
  }));
  const parser = getParser();
  const statements: Statement[] = [];
  // Keywords never occur inside an expression, so the token stream splits exactly into one
  // segment per statement: a broken statement cannot swallow the ones after it.
  const segments: IToken[][] = [];
  let current: IToken[] = [];
  for (const t of lexed.tokens) {
    if ((t.tokenType === T.Param || t.tokenType === T.Let || t.tokenType === T.Loss || t.tokenType === T.Task) && current.length > 0) {
      segments.push(current);
      current = [];
    }
    current.push(t);
  }
  if (current.length > 0) segments.push(current);
  // `task NAME` lines are not statements: they go to `program.tasks` (the checker judges them).
  const tasks: TaskDecl[] = [];
  const taskErrors: SyntaxProblem[] = [];
  if (segments.some((seg) => seg[0].tokenType === T.Task)) {
    const rest: IToken[][] = [];
    for (const seg of segments) {
      if (seg[0].tokenType !== T.Task) {
        rest.push(seg);
        continue;
      }
      const kw = seg[0];
      const end = (t: IToken) => t.startOffset + t.image.length;
      if (seg.length === 2 && seg[1].tokenType === T.Identifier) {
        tasks.push({ name: seg[1].image, nameRange: { start: seg[1].startOffset, end: end(seg[1]) }, range: { start: kw.startOffset, end: end(seg[1]) } });
      } else {
        const at = seg.length === 1 ? { start: kw.startOffset, end: end(kw) } : { start: seg[1].startOffset, end: end(seg[seg.length - 1]) };
        taskErrors.push({ code: 'syntax-error', message: `expected one task name after 'task' (${TASK_NAMES.join(', ')})`, range: at });
      }
    }
    segments.length = 0;
    segments.push(...rest);
  }
  const nesting = segments.map(tokenNesting);
  // Fast path: a file without lexical errors whose statements all start with a keyword parses
  // statement by statement with the strict parser, re-using the statements of earlier parses
  // whose source text is unchanged (an editor re-parses after every keystroke; see
  // `cachedStatement`); any syntax error sends it through the per-statement path below.
  if (lexErrors.length === 0 && !nesting.some((n) => n.crossing) && segments.every((seg) => seg[0].tokenType === T.Param || seg[0].tokenType === T.Let || seg[0].tokenType === T.Loss)) {
    const all = strictStatements(text, segments);
    if (all && taskErrors.length === 0) return withLazyTokens({ program: { statements: all, comments, ...(tasks.length ? { tasks } : {}) }, errors }, text);
  }
  // One error per statement: the first. Garbage (random bytes, a pasted binary) gives one error
  // per statement keyword it happens to contain, not one per token. Bad characters belong to
  // the statement they stand in (before the first statement: to the first).
  let nextLexError = 0;
  let recovered = 0;
  if (segments.length === 0 && lexErrors.length > 0) errors.push(lexErrors[0]);
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const until = i + 1 < segments.length ? segments[i + 1][0].startOffset : Infinity;
    const problems: SyntaxProblem[] = [];
    const lexErrorAt: number[] = [];
    for (; nextLexError < lexErrors.length && lexErrors[nextLexError].range.start < until; nextLexError++) {
      problems.push(lexErrors[nextLexError]);
      lexErrorAt.push(lexErrors[nextLexError].range.start);
    }
    const head = seg[0].tokenType;
    const deep = nesting[i].crossing;
    if (head !== T.Param && head !== T.Let && head !== T.Loss) {
      const first = seg[0];
      const last = seg[seg.length - 1];
      problems.push({
        code: 'syntax-error',
        message: `unexpected '${first.image}': a statement starts with 'param', 'let' or 'loss'`,
        range: { start: first.startOffset, end: last.startOffset + last.image.length },
      });
    } else if (deep) {
      // Not parsed at all: the parser would recurse past the limit.
      problems.push({ code: 'nested-too-deep', message: TOKENS_TOO_DEEP, range: deep });
      const s = statementWithoutExpr(seg);
      if (s) statements.push(s);
    } else {
      // Without recovery first; a broken statement again with recovery, for its partial tree,
      // unless it nests deeply (see RECOVERY_NESTING) or the file's budget is spent: then it
      // keeps its name only.
      let p = getStrictParser();
      let s: Statement | undefined;
      for (;;) {
        p.resetLastEnd();
        p.input = seg;
        try {
          s = p.statement();
        } catch (e) {
          problems.push({ code: 'syntax-error', message: `internal parser error: ${String(e)}`, range: { start: seg[0].startOffset, end: seg[0].startOffset } });
        }
        if (p === parser || p.errors.length === 0) break;
        if (nesting[i].deepest > RECOVERY_NESTING || recovered >= RECOVERY_BUDGET) {
          s = statementWithoutExpr(seg);
          break;
        }
        recovered++;
        p = parser;
      }
      if (s && s.kind !== 'Param' && seg.length > MAX_NESTING) {
        const node = treeCrossing(s.expr);
        if (node) {
          problems.push({ code: 'nested-too-deep', message: TREE_TOO_DEEP, range: operatorRange(text, node) });
          s = { ...s, expr: { kind: 'Missing', range: s.expr.range } };
        }
      }
      if (s) statements.push(s);
      for (const e of p.errors) {
        const p = recognitionProblem(text, e, seg, lexErrorAt);
        if (p) problems.push(p);
      }
    }
    let first: SyntaxProblem | undefined;
    for (const p of problems) if (!first || p.range.start < first.range.start) first = p;
    if (first) errors.push(first);
  }
  errors.push(...taskErrors);
  errors.sort((a, b) => a.range.start - b.range.start);
  return withLazyTokens({ program: { statements, comments, ...(tasks.length ? { tasks } : {}) }, errors }, text);
}
