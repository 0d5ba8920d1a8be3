/** Markdown documentation of builtins, inputs and keywords (shared by hover, completion and signature help). */
import { anyInputSpec, overloads, signature, taskOfInput, TASK_NAMES, type Builtin } from '../../../grammar/src/index';

export const KEYWORD_DOCS: Record<string, string> = {
  param: 'Declares a tunable hyperparameter: `param gamma = 2 in [0, 5]` (default, optional range).',
  let: 'Names an expression for reuse in later statements: `let pt = sum(y * p)`.',
  loss: 'Defines a loss: one number per sample, e.g. `loss ce = -sum(y * log(p))`.',
  in: "Gives a param's range: `param gamma = 2 in [0, 5]`.",
  task: `Declares what the file's losses are for, before any statement: ${TASK_NAMES.map((t) => '`task ' + t + '`').join(', ')} (none: classification). The task decides the inputs the losses read.`,
};

export function builtinDoc(b: Builtin): string {
  const parts = [b.doc.summary, '', '`' + b.doc.formula + '`'];
  if (b.doc.reference) parts.push('', `*Reference:* ${b.doc.reference}`);
  return parts.join('\n');
}

/** Overloads of a name, fewest arguments first (`max(v)` before `max(a, b)`). */
export function sortedOverloads(name: string): Builtin[] {
  return [...overloads(name)].sort((a, b) => a.args.length - b.args.length);
}

/** Hover/completion markdown of a builtin name: its signatures, then each overload's doc. */
export function builtinMarkdown(name: string, arity?: number): string | undefined {
  const all = sortedOverloads(name);
  if (all.length === 0) return undefined;
  const preferred = arity !== undefined ? all.find((b) => b.args.length === arity) : undefined;
  const ordered = preferred ? [preferred, ...all.filter((b) => b !== preferred)] : all;
  const sigs = ordered.map((b) => signature(b)).join('\n');
  const docs = ordered.map((b) => (ordered.length > 1 ? `**${signature(b)}**  \n` : '') + builtinDoc(b));
  return ['```lossmith', sigs, '```', '', docs.join('\n\n---\n\n'), '', `*Category:* ${ordered[0].category}`].join('\n');
}

export function inputMarkdown(name: string): string | undefined {
  const i = anyInputSpec(name);
  if (!i) return undefined;
  const task = taskOfInput(name);
  return ['```lossmith', `(input${task === 'classification' ? '' : ` of task ${task}`}) ${i.name}: ${i.type}`, '```', '', i.doc].join('\n');
}

/** Markdown to plain text for clients without markdown support. */
export function plain(md: string): string {
  return md
    .replace(/^```\w*\n?/gm, '')
    .replace(/\*\*/g, '')
    .replace(/(^|[^\\])\*([^*]+)\*/g, '$1$2')
    .replace(/`/g, '');
}

/** Compact number text for tables. */
export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return String(Number(v.toPrecision(4)));
  return v.toExponential(3).replace(/\.?0+e/, 'e');
}
