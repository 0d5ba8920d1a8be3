/**
 * The DSL-to-tfjs compiler: a loss of a checked model becomes a LossFn
 * (y [N,K], logits [N,K]) -> per-sample loss [N], in float32, differentiable by tfjs; a loss of
 * a `task gan` file becomes a GanLossFn ({d_real, d_fake, grad_norm} each [N]) -> [N] through
 * the same lowering (`compileGanLoss`); a loss of a `task segmentation` file becomes an
 * ImageLossFn (y, logits, dist [N,P,K], pixels flattened) -> per-image loss [N]
 * (`compileImageLoss`), its pixel reductions on axis -2.
 *
 * - Every builtin goes through the lowering table (lowering.ts), total over BuiltinId.
 * - Per-sample scalars are [N,1] so they broadcast against vectors [N,K]; the result is
 *   reshaped to [N].
 * - params are constants (defaults from the file, overridable); C = K; p = softmax(logits);
 *   each `let` the loss uses is computed once per call (memoised), others not at all.
 * - No eval / new Function: the AST is walked on every call (it is tiny next to a network).
 * - Numerics: the loss is compiled in its stable form (`stabilize` in grammar/src/stable.ts, the
 *   rewrites the exporters share: `log(p)` as log_softmax(logits), `1 - pt` as the other classes'
 *   total, ...), equal in exact arithmetic and finite where float32 p underflows or rounds to 1;
 *   softmax(logits) and log_softmax(logits) are computed once per call. Constant subexpressions
 *   are folded in float64 with the grammar's own numeric functions.
 */
import * as tf from '@tensorflow/tfjs';
import {
  builtinById,
  anyInputSpec,
  INPUT_NAMES,
  taskOfInput,
  trainedInputs,
  transitiveNames,
  builtinIdOf,
  checkText,
  children,
  stabilize,
  type BuiltinId,
  type Diagnostic,
  type Expr,
  type LetStmt,
  type Model,
  type ParamStmt,
} from '../../../../grammar/src/index';
import { LineIndex } from '../../../../grammar/src/text';
import { TF, type TVal } from './lowering';
import type { LossFn } from './train';

export class CompileError extends Error {
  constructor(message: string, readonly diagnostics: Diagnostic[] = []) {
    super(message);
    this.name = 'CompileError';
  }
}

interface Env {
  /** [N,K]; task segmentation: [N,P,K]. */
  y?: tf.Tensor;
  logits?: tf.Tensor;
  /** Task segmentation: the signed distance maps [N,P,K] and the pixel count P. */
  image?: { dist?: tf.Tensor; pixels: number };
  /** Task gan: d_real, d_fake, grad_norm as [N,1]. */
  gan?: Partial<Record<string, tf.Tensor2D>>;
  k: number;
  p?: tf.Tensor;
  logp?: tf.Tensor;
  lets: Map<string, TVal>;
}

type Plan = {
  params: Map<string, number>;
  lets: Map<string, LetStmt>;
  /** The inputs a training of the loss's task supplies. */
  inputs: ReadonlySet<string>;
};


/** The inputs of a GAN loss, per sample: the discriminator's outputs and the penalty's gradient norm. */
export interface GanInputs {
  d_real: tf.Tensor1D;
  d_fake: tf.Tensor1D;
  /** Needed only by losses that read grad_norm (gradient penalties). */
  grad_norm?: tf.Tensor1D;
}

/** A GAN loss compiled: per-sample inputs [N] -> per-sample loss [N]. */
export type GanLossFn = ((inputs: GanInputs) => tf.Tensor1D) & { readonly reads: ReadonlySet<string> };

function idOf(e: Expr): BuiltinId {
  const id = builtinIdOf(e);
  if (id) return id;
  if (e.kind === 'Call') throw new CompileError(`unknown function ${e.callee} with ${e.args.length} argument${e.args.length === 1 ? '' : 's'}`);
  throw new CompileError(`internal: ${e.kind} is not a call`);
}

const argsOf = children;

/** Verifies, before any tensor exists, that every node lowers (unknown names, missing lowering). */
function validate(e: Expr, plan: Plan, seen: Set<string>): void {
  switch (e.kind) {
    case 'Number':
      return;
    case 'Missing':
      throw new CompileError('incomplete expression (syntax error)');
    case 'Name': {
      if (plan.inputs.has(e.name) || plan.params.has(e.name)) return;
      if (INPUT_NAMES.has(e.name)) {
        const why = anyInputSpec(e.name)?.untrained;
        throw new CompileError(
          why
            ? `'${e.name}' is ${why}, so this loss can be checked, previewed and exported but not trained here`
            : `'${e.name}' is an input of task ${taskOfInput(e.name)}, not of this loss's task`,
        );
      }
      const l = plan.lets.get(e.name);
      if (!l) throw new CompileError(`unknown name '${e.name}'`);
      if (seen.has(e.name)) throw new CompileError(`'${e.name}' refers to itself`);
      seen.add(e.name);
      validate(l.expr, plan, seen);
      seen.delete(e.name);
      return;
    }
    default: {
      const id = idOf(e);
      if (typeof (TF as Record<string, unknown>)[id] !== 'function') throw new CompileError(`no tfjs lowering for builtin '${id}'`);
      for (const a of argsOf(e)) validate(a, plan, seen);
    }
  }
}

function logits(env: Env): tf.Tensor {
  if (!env.logits) throw new CompileError('internal: no logits in this task');
  return env.logits;
}

function logp(env: Env): tf.Tensor {
  return (env.logp ??= tf.logSoftmax(logits(env)));
}

const ofLogits = (e: Expr): boolean => e.kind === 'Name' && e.name === 'logits';

function lower(e: Expr, env: Env, plan: Plan): TVal {
  switch (e.kind) {
    case 'Number':
      return e.value;
    case 'Missing':
      throw new CompileError('incomplete expression');
    case 'Name': {
      if (env.gan) {
        const g = env.gan[e.name];
        if (g) return g;
        if (plan.inputs.has(e.name)) throw new Error(`the GAN loss reads ${e.name}, which the training did not supply`);
      } else {
        switch (e.name) {
          case 'y':
            return env.y!;
          case 'logits':
            return logits(env);
          case 'p':
            return (env.p ??= tf.softmax(logits(env)));
          case 'C':
            return env.k;
          case 'P':
            if (env.image) return env.image.pixels;
            break;
          case 'dist':
            if (env.image) {
              if (!env.image.dist) throw new Error(`the loss reads dist, which the training did not supply`);
              return env.image.dist;
            }
            break;
        }
      }
      const prm = plan.params.get(e.name);
      if (prm !== undefined) return prm;
      const memo = env.lets.get(e.name);
      if (memo !== undefined) return memo;
      const l = plan.lets.get(e.name);
      if (!l) throw new CompileError(`unknown name '${e.name}'`);
      const v = lower(l.expr, env, plan);
      env.lets.set(e.name, v);
      return v;
    }
    default: {
      const id = idOf(e);
      const args = argsOf(e);
      if (id === 'log_softmax' && ofLogits(args[0])) return logp(env);
      if (id === 'softmax' && ofLogits(args[0])) return (env.p ??= tf.softmax(logits(env)));
      const vals = args.map((a) => lower(a, env, plan));
      const b = builtinById(id);
      if (b.shape === 'elementwise' && vals.every((v) => typeof v === 'number')) {
        return b.fn(...(vals as number[]));
      }
      return TF[id](vals, { classes: env.k });
    }
  }
}

/**
 * Compiles `lossName` of a model (from checkText) into a LossFn. `params` override the file's
 * param defaults (unknown names throw). Throws CompileError for an unknown loss, a name that
 * does not resolve, or a builtin without a lowering.
 */
export function compileLoss(written: Model, lossName: string, params: Record<string, number> = {}): LossFn {
  if (written.task !== 'classification') {
    throw new CompileError(`loss '${lossName}' is a 'task ${written.task}' loss: it trains in the ${written.task} loop (${written.task === 'gan' ? 'compileGanLoss' : 'compileImageLoss'}), not as a classification loss`);
  }
  const { loss, plan } = prepare(written, lossName, params);

  return (y, logits) =>
    tf.tidy(() => {
      const [n, k] = logits.shape;
      if (y.shape[0] !== n || y.shape[1] !== k) throw new Error(`loss ${lossName}: y is [${y.shape}] but logits are [${logits.shape}]`);
      const env: Env = { y: tf.cast(y, 'float32'), logits: tf.cast(logits, 'float32'), k, lets: new Map() };
      return perSample(lower(loss.expr, env, plan), n, lossName);
    });
}

/** A lowered value as the per-sample loss [N] (a constant is filled in); [N,1] or, per image, [N,1,1]. */
function perSample(v: TVal, n: number, lossName: string, rank = 2): tf.Tensor1D {
  if (typeof v === 'number') return tf.fill([n], v) as tf.Tensor1D;
  if (v.shape.length !== rank || v.shape[0] !== n || v.shape.slice(1).some((d) => d !== 1)) {
    throw new Error(`loss ${lossName} is not one number per ${rank === 2 ? 'sample' : 'image'} (shape [${v.shape}])`);
  }
  return tf.reshape(v, [n]) as tf.Tensor1D;
}

/** A segmentation loss compiled: (y, logits, dist) [N,P,K] (pixels flattened) -> per-image loss [N]. */
export type ImageLossFn = ((y: tf.Tensor3D, logits: tf.Tensor3D, dist?: tf.Tensor3D) => tf.Tensor1D) & { readonly reads: ReadonlySet<string> };

/**
 * Compiles `lossName` of a `task segmentation` model into an ImageLossFn: the same lowering on
 * [N,P,K] tensors (class reductions on the last axis, pixel reductions on axis -2), in the
 * stable form. `reads` says whether it needs dist (the trainer computes the maps only then).
 */
export function compileImageLoss(written: Model, lossName: string, params: Record<string, number> = {}): ImageLossFn {
  if (written.task !== 'segmentation') throw new CompileError(`loss '${lossName}' is not a segmentation loss (the file has no 'task segmentation' line)`);
  const { loss, plan, model } = prepare(written, lossName, params);
  const reads = new Set([...transitiveNames(loss.expr, model)].filter((n) => plan.inputs.has(n)));
  const fn = (y: tf.Tensor3D, logitsT: tf.Tensor3D, dist?: tf.Tensor3D): tf.Tensor1D =>
    tf.tidy(() => {
      const [n, pixels, k] = logitsT.shape;
      const same = (t: tf.Tensor3D | undefined, name: string): void => {
        if (t && (t.shape[0] !== n || t.shape[1] !== pixels || t.shape[2] !== k)) throw new Error(`loss ${lossName}: ${name} is [${t.shape}] but logits are [${logitsT.shape}]`);
      };
      same(y, 'y');
      same(dist, 'dist');
      const env: Env = {
        y: tf.cast(y, 'float32'),
        logits: tf.cast(logitsT, 'float32'),
        image: { pixels, ...(dist ? { dist: tf.cast(dist, 'float32') } : {}) },
        k,
        lets: new Map(),
      };
      return perSample(lower(loss.expr, env, plan), n, lossName, 3);
    });
  return Object.assign(fn, { reads });
}

/**
 * Compiles `lossName` of a `task gan` model (NAME_g or NAME_d) into a GanLossFn over the
 * per-sample discriminator outputs, in the stable form like a classification loss. `reads`
 * names the inputs it uses (a loss that reads grad_norm needs the gradient penalty's double
 * backward pass).
 */
export function compileGanLoss(written: Model, lossName: string, params: Record<string, number> = {}): GanLossFn {
  if (written.task !== 'gan') throw new CompileError(`loss '${lossName}' is not a GAN loss (the file has no 'task gan' line)`);
  const { loss, plan, model } = prepare(written, lossName, params);
  const reads = new Set([...transitiveNames(loss.expr, model)].filter((n) => plan.inputs.has(n)));
  const fn = (inputs: GanInputs): tf.Tensor1D =>
    tf.tidy(() => {
      const n = inputs.d_real.shape[0];
      const gan: Partial<Record<string, tf.Tensor2D>> = {};
      for (const [name, t] of Object.entries(inputs) as [string, tf.Tensor1D | undefined][]) {
        if (!t) continue;
        if (t.shape.length !== 1 || t.shape[0] !== n) throw new Error(`loss ${lossName}: ${name} is [${t.shape}], expected [${n}]`);
        gan[name] = tf.reshape(tf.cast(t, 'float32'), [n, 1]) as tf.Tensor2D;
      }
      return perSample(lower(loss.expr, { gan, k: 1, lets: new Map() }, plan), n, lossName);
    });
  return Object.assign(fn, { reads });
}

/** The stable form of `lossName` and its plan (params, lets, the task's inputs), validated. */
function prepare(written: Model, lossName: string, params: Record<string, number>): { loss: Model['losses'][number]; plan: Plan; model: Model } {
  const writtenLoss = written.losses.find((l) => l.name === lossName);
  if (!writtenLoss) {
    const names = written.losses.map((l) => l.name);
    throw new CompileError(`no loss named '${lossName}'${names.length ? ` (this file has: ${names.join(', ')})` : ' (this file defines no loss)'}`);
  }
  const first = (m: Model, s: ParamStmt | LetStmt): boolean => m.symbols.get(s.name)?.stmt === s && !INPUT_NAMES.has(s.name);
  const plan: Plan = { params: new Map(), lets: new Map(), inputs: trainedInputs(written.task) };
  for (const p of written.params) if (first(written, p)) plan.params.set(p.name, p.value);
  for (const [name, v] of Object.entries(params)) {
    if (!plan.params.has(name)) {
      throw new CompileError(`unknown param '${name}'${plan.params.size ? ` (params: ${[...plan.params.keys()].join(', ')})` : ' (this file has no params)'}`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new CompileError(`param '${name}' must be a finite number, got ${v}`);
    plan.params.set(name, v);
  }
  // The stable form, its side conditions checked with the param values this loss runs with.
  const model = stabilize(written, Object.keys(params).length ? { params: Object.fromEntries(plan.params) } : {}).model;
  const loss = model.losses[written.losses.indexOf(writtenLoss)];
  for (const l of model.lets) if (first(model, l)) plan.lets.set(l.name, l);
  validate(loss.expr, plan, new Set());
  return { loss, plan, model };
}

function describe(text: string, d: Diagnostic): string {
  const pos = new LineIndex(text).position(d.range.start);
  return `${pos.line + 1}:${pos.character + 1} ${d.severity} ${d.code}: ${d.message}`;
}

/**
 * Checks `text` and compiles `lossName`. Any error diagnostic (syntax, unknown name, type,
 * arity) makes it throw a CompileError listing them with line:column; warnings do not.
 */
export function compileSource(text: string, lossName: string, params?: Record<string, number>): LossFn {
  return compileLoss(checkedModel(text, lossName), lossName, params);
}

/** compileSource for a loss of a `task segmentation` file. */
export function compileImageSource(text: string, lossName: string, params?: Record<string, number>): ImageLossFn {
  return compileImageLoss(checkedModel(text, lossName), lossName, params);
}

/** compileSource for a loss of a `task gan` file. */
export function compileGanSource(text: string, lossName: string, params?: Record<string, number>): GanLossFn {
  return compileGanLoss(checkedModel(text, lossName), lossName, params);
}

function checkedModel(text: string, lossName: string): Model {
  const { model, diagnostics } = checkText(text, { integrity: false });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    throw new CompileError(
      `cannot compile loss '${lossName}': the file has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n` +
        errors.map((d) => '  ' + describe(text, d)).join('\n'),
      errors,
    );
  }
  return model;
}
