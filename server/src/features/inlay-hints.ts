/** Inlay hints: the inferred type of each let after its name (`: scalar` / `: vector`). */
import { InlayHint, InlayHintKind, type Range } from 'vscode-languageserver';
import type { Analysis } from '../documents';
import { toOffsetRange, toPosition } from '../convert';

export function inlayHints(a: Analysis, range: Range): InlayHint[] {
  const r = toOffsetRange(a.index, range);
  const out: InlayHint[] = [];
  for (const sym of a.model.definitions) {
    const s = sym.stmt;
    if (!s || s.kind !== 'Let' || !s.name || !sym.type) continue;
    if (s.nameRange.end < r.start || s.nameRange.start > r.end) continue;
    out.push({ position: toPosition(a.index, s.nameRange.end), label: `: ${sym.type}`, kind: InlayHintKind.Type, paddingLeft: false, paddingRight: false });
  }
  return out;
}
