/**
 * Printers: canonical expression text (minimal parentheses, one space around binary
 * operators), fully parenthesised text (for precedence tests), and the file formatter, which
 * keeps every comment and blank-line grouping and is idempotent.
 */
import type { Expr, Program, Statement } from './ast';
import { formatNumber } from './build';
import { LineIndex } from './text';

// Precedence levels: + - (1) < * / (2) < unary minus (3) < ^ (4) < atoms (5).
function prec(e: Expr): number {
  switch (e.kind) {
    case 'Binary':
      return e.op === '+' || e.op === '-' ? 1 : e.op === '*' || e.op === '/' ? 2 : 4;
    case 'Unary':
      return 3;
    case 'Number':
      return e.value < 0 || Object.is(e.value, -0) ? 3 : 5;
    default:
      return 5;
  }
}

function numberText(e: Expr & { kind: 'Number' }): string {
  // Parsed numbers keep their spelling; synthesised ones print shortest.
  if (e.text && Number(e.text) === e.value) return e.text;
  return formatNumber(e.value);
}

/** Canonical text of an expression. */
export function printExpr(e: Expr): string {
  const wrap = (x: Expr, min: number): string => (prec(x) < min ? `(${printExpr(x)})` : printExpr(x));
  switch (e.kind) {
    case 'Number':
      return numberText(e);
    case 'Name':
      return e.name;
    case 'Missing':
      return '?';
    case 'Unary': {
      const inner = e.operand;
      // "- -x" would read as a typo: parenthesise a nested negation.
      if (inner.kind === 'Unary' || (inner.kind === 'Number' && prec(inner) === 3)) return `-(${printExpr(inner)})`;
      return `-${wrap(inner, 3)}`;
    }
    case 'Binary': {
      const p = prec(e);
      if (e.op === '^') return `${wrap(e.left, 5)}^${wrap(e.right, 3)}`;
      // Left-associative: the right operand needs a strictly higher level.
      return `${wrap(e.left, p)} ${e.op} ${wrap(e.right, p + 1)}`;
    }
    case 'Call':
      return `${e.callee}(${e.args.map(printExpr).join(', ')})`;
  }
}

/** Every operator application in parentheses: `a + b * c` prints `(a + (b * c))`. */
export function printParenthesized(e: Expr): string {
  switch (e.kind) {
    case 'Number':
      return numberText(e);
    case 'Name':
      return e.name;
    case 'Missing':
      return '?';
    case 'Unary':
      return `(-${printParenthesized(e.operand)})`;
    case 'Binary':
      return `(${printParenthesized(e.left)} ${e.op} ${printParenthesized(e.right)})`;
    case 'Call':
      return `${e.callee}(${e.args.map(printParenthesized).join(', ')})`;
  }
}

export function printStatement(s: Statement): string {
  switch (s.kind) {
    case 'Param': {
      const n = (v: number, text?: string): string => text ?? formatNumber(v);
      const bounds = s.bounds ? ` in [${n(s.bounds.lo)}, ${n(s.bounds.hi)}]` : '';
      return `param ${s.name} = ${n(s.value)}${bounds}`;
    }
    case 'Let':
      return `let ${s.name} = ${printExpr(s.expr)}`;
    case 'Loss':
      return `loss ${s.name} = ${printExpr(s.expr)}`;
  }
}

/**
 * Format a whole file. Returns undefined when the file has syntax errors (a formatter must not
 * guess at broken code). Comments keep their place: on their own line before a statement, or
 * at the end of the statement's last line; at most one blank line separates groups.
 */
export function formatProgram(text: string, program: Program, hasErrors: boolean): string | undefined {
  if (hasErrors) return undefined;
  const index = new LineIndex(text);
  const lineOf = (offset: number): number => index.position(offset).line;
  interface Item {
    start: number;
    end: number;
    text: string;
    kind: 'stmt' | 'comment';
    startLine: number;
    endLine: number;
  }
  const items: Item[] = [];
  for (const s of program.statements) {
    items.push({ start: s.range.start, end: s.range.end, text: printParamWithSource(s, text), kind: 'stmt', startLine: lineOf(s.range.start), endLine: lineOf(s.range.end) });
  }
  for (const t of program.tasks ?? []) {
    items.push({ start: t.range.start, end: t.range.end, text: `task ${t.name}`, kind: 'stmt', startLine: lineOf(t.range.start), endLine: lineOf(t.range.end) });
  }
  for (const c of program.comments) {
    items.push({ start: c.range.start, end: c.range.end, text: c.text.replace(/\s+$/, ''), kind: 'comment', startLine: lineOf(c.range.start), endLine: lineOf(c.range.start) });
  }
  items.sort((a, b) => a.start - b.start);
  const lines: string[] = [];
  let prevEndLine = -1;
  let lastStmtEndLine = -1;
  let lastStmt: Item | undefined;
  for (const it of items) {
    if (it.kind === 'comment' && lastStmt && it.start > lastStmt.start && (it.startLine === lastStmtEndLine || it.start < lastStmt.end)) {
      // Trailing comment (or one inside a multi-line statement): attach to the statement's line.
      lines[lines.length - 1] += `  ${it.text}`;
      prevEndLine = Math.max(prevEndLine, it.startLine);
      continue;
    }
    if (lines.length > 0 && it.startLine - prevEndLine > 1) lines.push('');
    lines.push(it.text);
    prevEndLine = it.endLine;
    if (it.kind === 'stmt') {
      lastStmt = it;
      lastStmtEndLine = it.endLine;
    } else lastStmt = undefined;
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** Params keep the spelling of their numbers (1e-7 stays 1e-7). */
function printParamWithSource(s: Statement, text: string): string {
  if (s.kind !== 'Param') return printStatement(s);
  const src = (r: { start: number; end: number }): string => text.slice(r.start, r.end).replace(/\s+/g, '');
  const value = src(s.valueRange);
  let out = `param ${s.name} = ${value}`;
  if (s.bounds) {
    const inner = text.slice(s.bounds.range.start, s.bounds.range.end);
    const m = /\[\s*([^,\]]+?)\s*,\s*([^\]]+?)\s*\]/.exec(inner);
    out += m ? ` in [${m[1].replace(/\s+/g, '')}, ${m[2].replace(/\s+/g, '')}]` : ` in [${formatNumber(s.bounds.lo)}, ${formatNumber(s.bounds.hi)}]`;
  }
  return out;
}
