/**
 * Formatting through the grammar's `formatProgram` (keeps comments, idempotent). No edits when
 * the file (or, for range formatting, the statements in the range) has syntax errors. Edits
 * are minimal: the changed lines only.
 */
import { TextEdit, type Range } from 'vscode-languageserver';
import { formatProgram, parse } from '../../../grammar/src/index';
import type { Analysis } from '../documents';
import { LineIndex, toOffsetRange, toRange, lineOf } from '../convert';

export function formatDocument(a: Analysis): TextEdit[] {
  if (a.hasSyntaxErrors) return [];
  const formatted = formatProgram(a.text, a.program, false);
  if (formatted === undefined || formatted === a.text) return [];
  return [minimalEdit(a, 0, a.text.length, formatted)];
}

/** Format the statements (and comments) on the lines the range touches. */
export function formatRange(a: Analysis, range: Range): TextEdit[] {
  const r = toOffsetRange(a.index, range);
  const touched = [...a.program.statements.map((s) => s.range), ...a.program.comments.map((c) => c.range)].filter(
    (x) => x.end >= r.start && x.start <= Math.max(r.end, r.start),
  );
  if (touched.length === 0) return [];
  const firstLine = lineOf(a.index, Math.min(...touched.map((x) => x.start)));
  let lastLine = lineOf(a.index, Math.max(...touched.map((x) => x.end)));
  // Statements overlapping the extended lines are included whole.
  let start = a.index.lineStart(firstLine);
  let end = lineEndOffset(a, lastLine);
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of a.program.statements) {
      if (s.range.end > start && s.range.start < end && (s.range.start < start || s.range.end > end)) {
        start = Math.min(start, a.index.lineStart(lineOf(a.index, s.range.start)));
        lastLine = Math.max(lastLine, lineOf(a.index, s.range.end));
        end = Math.max(end, lineEndOffset(a, lastLine));
        changed = true;
      }
    }
  }
  const slice = a.text.slice(start, end);
  const parsed = parse(slice);
  if (parsed.errors.length > 0) return [];
  const formatted = formatProgram(slice, parsed.program, false);
  if (formatted === undefined) return [];
  const replacement = formatted.replace(/\n$/, '');
  if (replacement === slice) return [];
  return [minimalEdit(a, start, end, replacement)];
}

function lineEndOffset(a: Analysis, line: number): number {
  const next = line + 1 < a.index.lineCount ? a.index.lineStart(line + 1) : a.text.length;
  let e = next;
  while (e > 0 && e > a.index.lineStart(line) && (a.text.charCodeAt(e - 1) === 10 || a.text.charCodeAt(e - 1) === 13)) e--;
  return e;
}

/** One edit replacing only the lines of [start, end) that change. */
function minimalEdit(a: Analysis, start: number, end: number, replacement: string): TextEdit {
  const oldLines = a.text.slice(start, end).split('\n');
  const newLines = replacement.split('\n');
  let head = 0;
  while (head < oldLines.length - 1 && head < newLines.length - 1 && oldLines[head] === newLines[head]) head++;
  let tail = 0;
  while (
    tail < oldLines.length - 1 - head &&
    tail < newLines.length - 1 - head &&
    oldLines[oldLines.length - 1 - tail] === newLines[newLines.length - 1 - tail]
  )
    tail++;
  let from = start;
  for (let i = 0; i < head; i++) from += oldLines[i].length + 1;
  let to = end;
  for (let i = 0; i < tail; i++) to -= oldLines[oldLines.length - 1 - i].length + 1;
  const newText = newLines.slice(head, newLines.length - tail).join('\n');
  return TextEdit.replace(toRange(a.index, { start: from, end: to }), newText);
}

export { LineIndex };
