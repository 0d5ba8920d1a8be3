/**
 * Quick fixes keyed on the checker's issue codes. Each action carries the diagnostic it fixes.
 * Only diagnostics the current analysis still has (same code and range) are fixed.
 *
 * Besides, a `refactor.rewrite` action at the cursor writes out the stable form of the innermost
 * expression the stable rewriter (grammar/src/stable.ts) rewrites, for its rows that read well as
 * an edit (`quickFix`): `log(p)` → `log_softmax(logits)`, `1 - pt` → `sum((1 - y) * p)`, ...
 * The engines and exporters apply these rewrites anyway; the action puts them in the source.
 */
import { CodeAction, CodeActionKind, TextEdit, type CodeActionParams, type Diagnostic, type Range as LspRange } from 'vscode-languageserver';
import { printExpr, stableContext, stableRewriteAt, walk, type Diagnostic as GDiagnostic, type Expr, type Range } from '../../../grammar/src/index';
import type { Analysis } from '../documents';
import { toOffsetRange, toRange, lineOf } from '../convert';

export const GUARD_EPS = '1e-7';

export function codeActions(a: Analysis, params: CodeActionParams, serverDiagnostics: GDiagnostic[]): CodeAction[] {
  const only = params.context.only;
  const wants = (kind: string): boolean => !only || only.some((k) => kind.startsWith(k));
  const out: CodeAction[] = [];
  if (wants(CodeActionKind.QuickFix)) {
    for (const d of params.context.diagnostics) {
      if (typeof d.code !== 'string') continue;
      const r = toOffsetRange(a.index, d.range);
      const g = serverDiagnostics.find((x) => x.code === d.code && x.range.start === r.start && x.range.end === r.end);
      if (!g) continue;
      out.push(...fixesFor(a, g, d));
    }
  }
  if (wants(CodeActionKind.RefactorRewrite)) out.push(...stableRewriteActions(a, params.range));
  return out;
}

function action(a: Analysis, title: string, diag: Diagnostic, edits: TextEdit[], preferred = false): CodeAction {
  return {
    title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diag],
    ...(preferred ? { isPreferred: true } : {}),
    edit: { changes: { [a.uri]: edits } },
  };
}

function fixesFor(a: Analysis, g: GDiagnostic, d: Diagnostic): CodeAction[] {
  const src = (r: { start: number; end: number }): string => a.text.slice(r.start, r.end);
  const replace = (r: { start: number; end: number }, text: string): TextEdit => TextEdit.replace(toRange(a.index, r), text);
  const out: CodeAction[] = [];
  switch (g.code) {
    case 'vector-loss': {
      // The checker names the reduction that makes the loss one number (LOSS_REDUCTION).
      const fix = (g.data?.fix ?? { open: 'sum(', close: ')' }) as { open: string; close: string };
      out.push(action(a, `Wrap in ${fix.open}...${fix.close}`, d, [replace(g.range, `${fix.open}${src(g.range)}${fix.close}`)], true));
      break;
    }
    case 'unknown-name': {
      const suggestions = Array.isArray(g.data?.suggestions) ? (g.data!.suggestions as string[]) : [];
      for (const s of suggestions) out.push(action(a, `Change to '${s}'`, d, [replace(g.range, s)], suggestions.length === 1));
      break;
    }
    case 'domain-log':
    case 'domain-sqrt': {
      const call = callAt(a, g.range);
      if (!call || call.args.length !== 1) break;
      const arg = call.args[0];
      const x = src(arg.range);
      if (g.code === 'domain-log') {
        out.push(action(a, `Guard: ${call.callee}(clamp(${x}, ${GUARD_EPS}, 1))`, d, [replace(arg.range, `clamp(${x}, ${GUARD_EPS}, 1)`)]));
        out.push(action(a, `Guard: ${call.callee}(max(${x}, ${GUARD_EPS}))`, d, [replace(arg.range, `max(${x}, ${GUARD_EPS})`)]));
      } else {
        // sqrt has no natural upper bound: only keep the argument away from 0 and below.
        out.push(action(a, `Guard: sqrt(max(${x}, ${GUARD_EPS}))`, d, [replace(arg.range, `max(${x}, ${GUARD_EPS})`)], true));
      }
      break;
    }
    case 'unbounded-gradient': {
      // Keep the argument away from the point where the slope is infinite (not for the
      // "everywhere" errors: an identically-zero argument needs rethinking, not a guard).
      if (g.severity === 'error') break;
      const node = nodeAt(a, g.range);
      if (node?.kind === 'Binary' && node.op === '^') {
        const base = `max(${unwrap(src(node.left.range))}, ${GUARD_EPS})`;
        out.push(action(a, `Guard: ${base}^${src(node.right.range)}`, d, [replace(node.left.range, base)], true));
      } else if (node?.kind === 'Call' && node.callee === 'sqrt_abs' && node.args.length === 1) {
        const x = src(node.args[0].range);
        out.push(action(a, `Guard: sqrt(max(abs(${x}), ${GUARD_EPS}))`, d, [replace(node.range, `sqrt(max(abs(${x}), ${GUARD_EPS}))`)], true));
      } else if (node?.kind === 'Call' && node.args.length >= 1) {
        const x = src(node.args[0].range);
        const rest = node.args.slice(1).map((k) => `, ${src(k.range)}`).join('');
        out.push(action(a, `Guard: ${node.callee}(max(${x}, ${GUARD_EPS})${rest})`, d, [replace(node.args[0].range, `max(${x}, ${GUARD_EPS})`)], true));
      }
      break;
    }
    case 'float32-cancellation': {
      // A difference that cancels to 0 in float32, kept away from it where 0 is fatal.
      const x = unwrap(src(g.range));
      out.push(action(a, `Guard: max(${x}, ${GUARD_EPS})`, d, [replace(g.range, `max(${x}, ${GUARD_EPS})`)]));
      break;
    }
    case 'unused-binding': {
      const st = g.data?.statement as { start: number; end: number } | undefined;
      if (!st || typeof st.start !== 'number') break;
      const name = a.text.slice(g.range.start, g.range.end);
      out.push(action(a, `Remove unused '${name}'`, d, [TextEdit.del(toRange(a.index, removalRange(a, st)))], true));
      break;
    }
    case 'param-out-of-range': {
      const lo = Number(g.data?.lo);
      const hi = Number(g.data?.hi);
      const value = Number(g.data?.value);
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) break;
      const clamped = value < lo ? lo : value > hi ? hi : value;
      out.push(action(a, `Set the default to ${clamped} (within [${lo}, ${hi}])`, d, [replace(g.range, String(clamped))], true));
      break;
    }
    default:
      break;
  }
  if (g.severity === 'warning' || g.severity === 'info') {
    const stmt = a.statementAt(g.range.start);
    if (stmt) {
      const line = lineOf(a.index, stmt.range.start);
      const lineStart = a.index.lineStart(line);
      const indent = /^[ \t]*/.exec(a.text.slice(lineStart, stmt.range.start))?.[0] ?? '';
      if (a.text.slice(lineStart, stmt.range.start).trim() === '') {
        out.push(action(a, `Allow '${g.code}' here (# lossmith: allow ${g.code})`, d, [TextEdit.insert(toRange(a.index, { start: lineStart, end: lineStart }).start, `${indent}# lossmith: allow ${g.code}\n`)]));
      }
    }
  }
  return out;
}

/** The expression node whose range is exactly `r`. */
function nodeAt(a: Analysis, r: Range): Expr | undefined {
  let found: Expr | undefined;
  for (const s of a.program.statements) {
    if (s.kind === 'Param' || s.range.end < r.start || s.range.start > r.end) continue;
    walk(s.expr, (e) => {
      if (!found && e.range.start === r.start && e.range.end === r.end) found = e;
    });
  }
  return found;
}

/** `(x)` as `x` when the parentheses wrap all of it (a node's range includes its parentheses). */
function unwrap(text: string): string {
  const t = text.trim();
  if (!t.startsWith('(') || !t.endsWith(')')) return t;
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '(') depth++;
    else if (t[i] === ')') depth--;
    if (depth === 0 && i < t.length - 1) return t;
  }
  return t.slice(1, -1).trim();
}

/**
 * The stable form of the innermost expression around the cursor that a quick-fix row of
 * STABLE_REWRITES rewrites, as a `refactor.rewrite` action.
 */
function stableRewriteActions(a: Analysis, range: LspRange): CodeAction[] {
  const r = toOffsetRange(a.index, range);
  const stmt = a.statementAt(r.start);
  if (!stmt || stmt.kind === 'Param' || r.end > stmt.range.end) return [];
  // The nodes containing the selection, outermost first.
  const chain: Expr[] = [];
  walk(stmt.expr, (e) => {
    if (e.range.start <= r.start && r.end <= e.range.end && e.range.end > e.range.start) chain.push(e);
  });
  const cx = stableContext(a.model);
  for (let i = chain.length - 1; i >= 0; i--) {
    const node = chain[i];
    const hit = stableRewriteAt(node, cx);
    if (!hit || !hit.rewrite.quickFix) continue;
    let text = printExpr(hit.replacement);
    // An operator in place of a node inside another operator keeps its grouping in parentheses
    // (a node's range includes its own); a whole expression or a call argument needs none.
    const parent = chain[i - 1];
    if (parent && parent.kind !== 'Call' && (hit.replacement.kind === 'Binary' || hit.replacement.kind === 'Unary')) text = `(${text})`;
    return [
      {
        title: `Rewrite stably: ${hit.rewrite.title}`,
        kind: CodeActionKind.RefactorRewrite,
        edit: { changes: { [a.uri]: [TextEdit.replace(toRange(a.index, node.range), text)] } },
      },
    ];
  }
  return [];
}

/** The call node whose range is exactly `r`. */
function callAt(a: Analysis, r: { start: number; end: number }): (Expr & { kind: 'Call' }) | undefined {
  let found: (Expr & { kind: 'Call' }) | undefined;
  for (const s of a.program.statements) {
    if (s.kind === 'Param' || s.range.end < r.start || s.range.start > r.end) continue;
    walk(s.expr, (e) => {
      if (!found && e.kind === 'Call' && e.range.start === r.start && e.range.end === r.end) found = e;
    });
  }
  return found;
}

/**
 * Whole lines when the statement has its lines to itself (a trailing comment goes with it),
 * else the statement and the blanks after it.
 */
function removalRange(a: Analysis, st: { start: number; end: number }): { start: number; end: number } {
  const first = lineOf(a.index, st.start);
  const last = lineOf(a.index, st.end);
  const lineStart = a.index.lineStart(first);
  const nextLineStart = last + 1 < a.index.lineCount ? a.index.lineStart(last + 1) : a.text.length;
  const before = a.text.slice(lineStart, st.start);
  const after = a.text.slice(st.end, nextLineStart);
  const afterOk = /^\s*(#.*)?\s*$/.test(after);
  if (before.trim() === '' && afterOk) {
    // The whole lines; at the end of a file without a final newline, take the newline before instead.
    if (nextLineStart === a.text.length && !/\n$/.test(a.text) && lineStart > 0) return { start: lineStart - 1, end: a.text.length };
    return { start: lineStart, end: nextLineStart };
  }
  let end = st.end;
  while (end < a.text.length && (a.text[end] === ' ' || a.text[end] === '\t')) end++;
  return { start: st.start, end };
}
