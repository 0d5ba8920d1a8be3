/**
 * Quick fixes keyed on the checker's issue codes. Each action carries the diagnostic it fixes.
 * Only diagnostics the current analysis still has (same code and range) are fixed.
 */
import { CodeAction, CodeActionKind, TextEdit, type CodeActionParams, type Diagnostic } from 'vscode-languageserver';
import { walk, type Diagnostic as GDiagnostic, type Expr } from '../../../grammar/src/index';
import type { Analysis } from '../documents';
import { toOffsetRange, toRange, lineOf } from '../convert';

export const GUARD_EPS = '1e-7';

export function codeActions(a: Analysis, params: CodeActionParams, serverDiagnostics: GDiagnostic[]): CodeAction[] {
  const only = params.context.only;
  if (only && !only.some((k) => CodeActionKind.QuickFix.startsWith(k) || k === CodeActionKind.QuickFix)) return [];
  const out: CodeAction[] = [];
  for (const d of params.context.diagnostics) {
    if (typeof d.code !== 'string') continue;
    const r = toOffsetRange(a.index, d.range);
    const g = serverDiagnostics.find((x) => x.code === d.code && x.range.start === r.start && x.range.end === r.end);
    if (!g) continue;
    out.push(...fixesFor(a, g, d));
  }
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
    case 'vector-loss':
      out.push(action(a, 'Wrap in sum(...)', d, [replace(g.range, `sum(${src(g.range)})`)], true));
      break;
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
