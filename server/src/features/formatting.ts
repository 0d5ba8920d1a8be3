/**
 * Formatting through the grammar's `formatProgram` (keeps comments, idempotent). No edits when
 * the file (or, for range formatting, the statements in the range) has syntax errors. Edits
 * are minimal: the changed lines only.
 */
import { TextEdit, type Range } from 'vscode-languageserver';
import { formatProgram, parse, type Program } from '../../../grammar/src/index';
import type { Analysis } from '../documents';
import { LineIndex, toOffsetRange, toRange, lineOf } from '../convert';

export function formatDocument(a: Analysis): TextEdit[] {
  if (a.hasSyntaxErrors) return [];
  const formatted = formatChunked(a.text, a.program);
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

/**
 * `formatProgram` on the whole text, computed chunk by chunk: the grammar's formatter finds the
 * line of each item by counting from the start of the text (quadratic: 6 s on 10,000 lines), so
 * the file is cut between items on different lines and each piece formatted alone. Pieces join
 * as the whole-file formatter would: one blank line where there were blank lines, else none.
 */
export function formatChunked(text: string, program: Program, chunkItems = 64): string | undefined {
  const items = [...program.statements.map((s) => s.range), ...program.comments.map((c) => c.range)].sort((x, y) => x.start - y.start);
  if (items.length <= chunkItems) return formatProgram(text, program, false);
  const pieces: string[] = [];
  let chunkStart = 0; // index into items
  let maxEnd = items[0].end;
  const flush = (endIdx: number): string | undefined => {
    const slice = text.slice(items[chunkStart].start, maxEndOf(chunkStart, endIdx));
    const parsed = parse(slice);
    if (parsed.errors.length) return undefined;
    return formatProgram(slice, parsed.program, false);
  };
  const maxEndOf = (from: number, to: number): number => {
    let m = 0;
    for (let i = from; i <= to; i++) m = Math.max(m, items[i].end);
    return m;
  };
  for (let i = 1; i <= items.length; i++) {
    const atEnd = i === items.length;
    let newlines = 0;
    if (!atEnd) {
      if (items[i].start < maxEnd) {
        maxEnd = Math.max(maxEnd, items[i].end);
        continue; // inside a statement (a comment within it)
      }
      for (let k = maxEnd; k < items[i].start && newlines < 2; k++) if (text.charCodeAt(k) === 10) newlines++;
    }
    if (atEnd || (newlines > 0 && i - chunkStart >= chunkItems)) {
      const piece = flush(i - 1);
      if (piece === undefined) return formatProgram(text, program, false);
      pieces.push(piece);
      if (!atEnd) {
        if (newlines >= 2) pieces.push('\n');
        chunkStart = i;
        maxEnd = items[i].end;
      }
    } else if (!atEnd) maxEnd = Math.max(maxEnd, items[i].end);
  }
  return pieces.join('');
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
