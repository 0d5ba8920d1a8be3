/** Folding: runs of two or more comment lines, and statements spanning several lines. */
import { FoldingRange, FoldingRangeKind } from 'vscode-languageserver';
import type { Analysis } from '../documents';
import { lineOf } from '../convert';

export function foldingRanges(a: Analysis): FoldingRange[] {
  const out: FoldingRange[] = [];
  const idx = a.index;
  // Comment lines: comments that start their line (only white space before them).
  let runStart = -1;
  let runEnd = -1;
  const flush = (): void => {
    if (runStart >= 0 && runEnd > runStart) out.push({ startLine: runStart, endLine: runEnd, kind: FoldingRangeKind.Comment });
    runStart = runEnd = -1;
  };
  for (const c of a.program.comments) {
    const line = lineOf(idx, c.range.start);
    const ownLine = a.text.slice(idx.lineStart(line), c.range.start).trim() === '';
    if (!ownLine) {
      flush();
      continue;
    }
    if (runStart >= 0 && line === runEnd + 1) runEnd = line;
    else {
      flush();
      runStart = runEnd = line;
    }
  }
  flush();
  for (const s of a.program.statements) {
    const first = lineOf(idx, s.range.start);
    const last = lineOf(idx, s.range.end);
    if (last > first) out.push({ startLine: first, endLine: last, kind: FoldingRangeKind.Region });
  }
  out.sort((x, y) => x.startLine - y.startLine || x.endLine - y.endLine);
  return out;
}
