/**
 * The only place that converts between the grammar's UTF-16 offsets and LSP positions and
 * ranges, and between the checker's diagnostics and LSP diagnostics.
 */
import type { Diagnostic as GDiagnostic, Range as GRange, Severity } from '../../grammar/src/index';
import { LineIndex } from '../../grammar/src/index';
import {
  Diagnostic,
  DiagnosticSeverity,
  DiagnosticTag,
  DiagnosticRelatedInformation,
  Position,
  Range,
} from 'vscode-languageserver';

export { LineIndex };

export function toPosition(index: LineIndex, offset: number): Position {
  const p = index.position(offset);
  return Position.create(p.line, p.character);
}

export function toRange(index: LineIndex, r: GRange): Range {
  return Range.create(toPosition(index, r.start), toPosition(index, Math.max(r.start, r.end)));
}

/** Offset of an LSP position; positions past a line's end clamp to the end of that line (before its line break). */
export function toOffset(index: LineIndex, pos: Position): number {
  if (!pos || typeof pos.line !== 'number' || typeof pos.character !== 'number') return 0;
  const line = Math.floor(pos.line);
  if (line < 0) return 0;
  if (line >= index.lineCount) return index.text.length;
  const start = index.lineStart(line);
  const end = line + 1 < index.lineCount ? index.lineStart(line + 1) : index.text.length;
  let contentEnd = end;
  while (contentEnd > start && (index.text.charCodeAt(contentEnd - 1) === 10 || index.text.charCodeAt(contentEnd - 1) === 13)) contentEnd--;
  return Math.min(start + Math.max(0, Math.floor(pos.character)), contentEnd);
}

export function toOffsetRange(index: LineIndex, r: Range): GRange {
  const a = toOffset(index, r.start);
  const b = toOffset(index, r.end);
  return { start: Math.min(a, b), end: Math.max(a, b) };
}

export function lineOf(index: LineIndex, offset: number): number {
  return index.position(offset).line;
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toSeverity(s: Severity): DiagnosticSeverity {
  return SEVERITY[s] ?? DiagnosticSeverity.Error;
}

/** A checker diagnostic as an LSP diagnostic (`code` = issue code, `data` = the checker's facts). */
export function toDiagnostic(index: LineIndex, uri: string, d: GDiagnostic, relatedSupport = true): Diagnostic {
  const out: Diagnostic = {
    range: toRange(index, d.range),
    severity: toSeverity(d.severity),
    code: d.code,
    source: 'lossmith',
    message: d.message,
  };
  if (d.related && d.related.length) {
    if (relatedSupport) {
      out.relatedInformation = d.related.map((r) => DiagnosticRelatedInformation.create({ uri, range: toRange(index, r.range) }, r.message));
    } else {
      out.message += d.related.map((r) => ` (${r.message}: line ${index.position(r.range.start).line + 1})`).join('');
    }
  }
  if (d.tags && d.tags.includes('unnecessary')) out.tags = [DiagnosticTag.Unnecessary];
  if (d.data) out.data = d.data;
  return out;
}

export function rangeContains(r: GRange, offset: number): boolean {
  return r.start <= offset && offset <= r.end;
}

export function rangesOverlap(a: GRange, b: GRange): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** Position key for encoding semantic tokens: absolute line and character of an offset. */
export function lineAndCharacter(index: LineIndex, offset: number): { line: number; character: number } {
  return index.position(offset);
}
