/** Which loss the preview follows (pure; mirrors the server's rule so the client can skip requests). */
import type { LossInfo, WirePosition } from '../../../protocol/lsp';

const before = (a: WirePosition, b: WirePosition): boolean => a.line < b.line || (a.line === b.line && a.character <= b.character);

/** The loss under or nearest before `pos`, else the first; undefined when there is none. */
export function lossAt(losses: readonly LossInfo[], pos: WirePosition): string | undefined {
  let best: string | undefined;
  for (const l of losses) if (before(l.range.start, pos)) best = l.name;
  return best ?? losses[0]?.name;
}

/** Keep only overrides for params the file still declares. */
export function keepKnown(overrides: Record<string, number>, names: readonly string[]): Record<string, number> {
  const known = new Set(names);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(overrides)) if (known.has(k)) out[k] = v;
  return out;
}
