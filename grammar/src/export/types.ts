/**
 * Types shared by the export templates and the exporter. Pure TypeScript (no Node APIs), so the
 * exporter runs in the language server, the CLI and the browser alike.
 */
import type { BuiltinId } from '../builtins';

export type ExportTarget = 'pytorch' | 'jax' | 'keras';

export const EXPORT_TARGETS: readonly ExportTarget[] = ['pytorch', 'jax', 'keras'];

/**
 * What an emitted Python expression holds:
 *  - `const`: a Python number or a 0-d tensor (numbers, params, C and arithmetic of those);
 *  - `scalar`: one value per sample, shape [..., 1] (keepdim), broadcasting against vectors;
 *  - `vector`: one value per class, shape [..., C];
 *  - task segmentation, where a sample is an image of P pixels (flattened): `field`, one value
 *    per pixel, shape [N, P, 1]; `map`, per pixel and class, [N, P, C] (`scalar` is [N, 1, 1]
 *    and `vector` [N, 1, C] there, so that every kind broadcasts against every other).
 */
export type Kind = 'const' | 'scalar' | 'vector' | 'field' | 'map';

/** Python precedence levels used for parenthesisation (higher binds tighter). */
export const PREC = { add: 10, mul: 20, unary: 30, pow: 40, atom: 100 } as const;

/** An emitted Python expression. */
export interface Code {
  code: string;
  kind: Kind;
  /** Precedence of the outermost operator (PREC.atom for names, calls and literals). */
  prec: number;
}

/** What a template may ask of the exporter while it emits one call. */
export interface TemplateContext {
  /** Marks a helper function (and its dependencies) as used; returns the name to call. */
  use(helper: string): string;
  /**
   * The argument as a tensor: `const` arguments are converted to the logits' dtype (and device);
   * others are returned as they are, parenthesised when their precedence is below `min`.
   */
  tensor(a: Code, min?: number): string;
}

/** A template returns a call (an atom) as a string, or a Code with its own precedence. */
export type Template = (a: Code[], cx: TemplateContext) => string | { code: string; prec: number };

/** One template per builtin: a missing entry fails to compile. */
export type TemplateTable = { [K in BuiltinId]: Template };

/** A helper function emitted into the module when used. */
export interface Helper {
  /** Python source, ending with a newline. */
  code: string;
  /** Other helpers it calls. */
  deps?: string[];
  /** Extra imports it needs (full import lines). */
  imports?: string[];
}

/** Everything the exporter needs to know about one target library. */
export interface TargetSpec {
  target: ExportTarget;
  /** Human-readable name, for the header. */
  label: string;
  /** Import lines always present. */
  imports: string[];
  table: TemplateTable;
  /** Helpers by name, in the order they are emitted. */
  helpers: Record<string, Helper>;
  /** Convert a `const` expression to a tensor of the dtype (and device) of `ref` (the logits, or a GAN file's first input). */
  tensor(code: string, ref: string): string;
  /** A per-sample scalar input [...] as a tensor [..., 1]. */
  column(name: string): string;
  /** Lines at the start of every function body (e.g. converting logits to a tensor). */
  prologue: string[];
  /** Lines turning `target` into y, when y is used. */
  targetLines(): string[];
  /** C, the number of classes, as a Python expression usable in arithmetic. */
  classes: string;
  softmax(z: string): string;
  logSoftmax(z: string): string;
  /** Turn the final per-sample value ([..., 1] scalar or const) into shape [...]; `ref` [..., *] gives the batch shape. */
  finish(e: Code, ref: string): string;
  /** Names the emitted module itself defines or imports (never used for user identifiers). */
  reserved: string[];
  /** A usage example for the docstring, given the function name. */
  usage(fn: string): string[];
  /** Task segmentation: the inputs are images; inside the function, pixels are flattened to [N, P, C]. */
  image: ImageSpec;
}

/** How a target library's segmentation inputs are laid out and flattened. */
export interface ImageSpec {
  /** The layout of logits (and dist, and a soft target), for the docstring, e.g. `[N, C, H, W]`. */
  layout: string;
  /** The layout of a target given as class indices, e.g. `[N, H, W]`. */
  indexLayout: string;
  /** `name` (logits or dist, in `layout`) flattened to [N, P, C]. */
  flatten(name: string): string;
  /** Lines turning `target` into y [N, P, C], once logits is [N, P, C]. */
  targetLines(): string[];
  /** P, the number of pixels, once logits is [N, P, C]. */
  pixels: string;
  /** The final per-image value ([N, 1, 1] scalar or const) as shape [N]; `ref` is [N, P, C]. */
  finish(e: Code, ref: string): string;
  usage(fn: string): string[];
}
