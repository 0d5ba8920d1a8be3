/**
 * Limits that keep every pass safe on any input: how deep an expression may nest, and how many
 * diagnostics a file reports.
 *
 * Nesting: the parser refuses to build an expression deeper than `MAX_NESTING` levels (see
 * `parser.ts`: a `nested-too-deep` error where the limit is crossed, the statement's expression
 * replaced by a Missing node), so no later pass (semantics, intervals, derivative, simplifier,
 * evaluator, printers, exporters, the tfjs lowering) ever recurses deeper than that over one
 * expression. A chain of lets that, written out, nests deeper than `MAX_INLINED_NESTING` is
 * refused the same way by `semantics.ts` (passes that follow lets by name recurse through them).
 *
 * Diagnostics: the CLI and the language server report at most `MAX_DIAGNOSTICS` per file, the
 * most severe first, and say how many more there are (`capDiagnostics`).
 */
import type { Diagnostic, Severity } from './checker';

/**
 * Deepest nesting of parentheses, calls and operators in one expression. A long chain of
 * operators (`a + b + c + ...`) nests too: its tree is as deep as it is long. The parser
 * (chevrotain, five rules per parenthesis) overflows Node's default stack near 310 nested
 * parentheses: 200 leaves room for the callers' frames.
 */
export const MAX_NESTING = 200;

/** Deepest nesting of an expression with the lets it uses written out in place. */
export const MAX_INLINED_NESTING = 1000;

/**
 * Work one simplification may do, in characters of the structural keys it builds (its time
 * follows them: about 30 ms per million here). The derivative of a tower `pt ^ pt ^ ... ^ pt`
 * of 48 levels costs 31 million (72,000 operations simplified, about a second), of 64 levels 55
 * million (171,000 operations, 2.5 s, and growing as the fifth power of the depth). Past the
 * limit `simplify` keeps its input and a derivative says it is too large to show, instead of
 * hover, preview and `derive` working for minutes.
 */
export const MAX_SIMPLIFY_WORK = 40_000_000;

/** Diagnostics reported per file by the CLI and the language server. */
export const MAX_DIAGNOSTICS = 1000;

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2, hint: 3 };
const ORDER: Severity[] = ['error', 'warning', 'info', 'hint'];

/**
 * At most `max` diagnostics (errors first, then warnings, infos and hints, each in the given
 * order) plus one `too-many-problems` diagnostic that counts the rest, at the first one left out.
 * The kept ones stay in the given order; the count comes last. Fewer than `max + 1`: unchanged.
 */
export function capDiagnostics(diags: readonly Diagnostic[], max = MAX_DIAGNOSTICS): Diagnostic[] {
  if (diags.length <= max) return diags as Diagnostic[];
  const bySeverity: number[][] = [[], [], [], []];
  diags.forEach((d, i) => bySeverity[RANK[d.severity] ?? 0].push(i));
  const keep = new Uint8Array(diags.length);
  let room = max;
  for (const group of bySeverity) {
    for (const i of group) {
      if (room === 0) break;
      keep[i] = 1;
      room--;
    }
  }
  const out: Diagnostic[] = [];
  const hidden = [0, 0, 0, 0];
  let firstHidden: Diagnostic | undefined;
  diags.forEach((d, i) => {
    if (keep[i]) out.push(d);
    else {
      hidden[RANK[d.severity] ?? 0]++;
      firstHidden ??= d;
    }
  });
  const total = diags.length - out.length;
  const parts = ORDER.map((s, i) => (hidden[i] ? `${hidden[i]} ${s}${hidden[i] === 1 ? '' : 's'}` : '')).filter(Boolean);
  out.push({
    code: 'too-many-problems',
    severity: ORDER[hidden.findIndex((n) => n > 0)],
    message: `${total} more problem${total === 1 ? '' : 's'} not shown (${parts.join(', ')}); only the first ${max} ${max === 1 ? 'is' : 'are'} reported`,
    range: { ...firstHidden!.range },
    data: { hidden: total },
  });
  return out;
}
