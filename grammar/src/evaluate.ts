/**
 * The float64 numeric evaluator: the oracle every other implementation (tfjs lowering,
 * exports, symbolic derivatives) is checked against. Values are scalars, vectors over classes,
 * and (task segmentation) per-pixel values of one image: Pixels, a scalar (field) or a vector
 * over classes (map) at each pixel.
 */
import type { Expr, LetStmt } from './ast';
import { builtinById, INPUT_NAMES, OPERATOR_IDS, resolveCall, SCALAR_INPUT_VIEWS, softmaxF, type Builtin } from './builtins';
import type { Model } from './semantics';

/** A per-pixel value of one image (task segmentation): a field (numbers) or a map (vectors over classes). */
export class Pixels {
  constructor(readonly at: (number | Float64Array)[]) {}
}

export type Value = number | Float64Array | Pixels;

export type Env = (name: string) => Value | undefined;

export class EvalError extends Error {}

function applyElementwise(b: Builtin & { shape: 'elementwise' }, args: (number | Float64Array)[]): number | Float64Array {
  let n = -1;
  for (const a of args) if (typeof a !== 'number') n = Math.max(n, a.length);
  if (n < 0) return b.fn(...(args as number[]));
  const out = new Float64Array(n);
  const xs = new Array<number>(args.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < args.length; j++) {
      const a = args[j];
      xs[j] = typeof a === 'number' ? a : a[i];
    }
    out[i] = b.fn(...xs);
  }
  return out;
}

export function applyBuiltin(b: Builtin, args: Value[]): Value {
  if (b.shape === 'pixel-reduction') {
    const [x] = args;
    if (!(x instanceof Pixels)) throw new EvalError(`${b.name} reduces over pixels: its argument has no pixel axis`);
    const n = x.at.length;
    const first = x.at[0];
    if (typeof first === 'number' || first === undefined) return b.fn(Float64Array.from(x.at as number[]));
    // A map: the reduction per class.
    const out = new Float64Array(first.length);
    const col = new Float64Array(n);
    for (let c = 0; c < out.length; c++) {
      for (let i = 0; i < n; i++) col[i] = (x.at[i] as Float64Array)[c];
      out[c] = b.fn(col);
    }
    return out;
  }
  // Per pixel: every other builtin applies at each pixel, the values without a pixel axis broadcast.
  let pixels = -1;
  for (const a of args) if (a instanceof Pixels) pixels = a.at.length;
  if (pixels >= 0) {
    const out = new Array<number | Float64Array>(pixels);
    const at = new Array<number | Float64Array>(args.length);
    for (let i = 0; i < pixels; i++) {
      for (let j = 0; j < args.length; j++) {
        const a = args[j];
        at[j] = a instanceof Pixels ? a.at[i] : a;
      }
      out[i] = applyBuiltin(b, at) as number | Float64Array;
    }
    return new Pixels(out);
  }
  const plain = args as (number | Float64Array)[];
  switch (b.shape) {
    case 'elementwise':
      return applyElementwise(b, plain);
    case 'reduction':
    case 'map': {
      const [vec, ...rest] = plain;
      const v = typeof vec === 'number' ? Float64Array.of(vec) : vec;
      const consts = rest.map((r) => (typeof r === 'number' ? r : NaN));
      return b.fn(v, ...consts);
    }
  }
}

/** Evaluate an expression; names come from `env`. Throws EvalError on unresolvable input. */
export function evalExpr(e: Expr, env: Env): Value {
  switch (e.kind) {
    case 'Number':
      return e.value;
    case 'Name': {
      const v = env(e.name);
      if (v === undefined) throw new EvalError(`unbound name ${e.name}`);
      return v;
    }
    case 'Unary':
      return applyBuiltin(builtinById('neg'), [evalExpr(e.operand, env)]);
    case 'Binary':
      return applyBuiltin(builtinById(OPERATOR_IDS[e.op]), [evalExpr(e.left, env), evalExpr(e.right, env)]);
    case 'Call': {
      const b = resolveCall(e.callee, e.args.length);
      if (!b) throw new EvalError(`unknown function ${e.callee}/${e.args.length}`);
      return applyBuiltin(b, e.args.map((a) => evalExpr(a, env)));
    }
    case 'Missing':
      throw new EvalError('incomplete expression');
  }
}

export interface Point {
  /** Over the classes; in task segmentation over pixels and classes (pixel-major, `pixels` × C). */
  logits: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Task segmentation: the number of pixels P of the image. */
  pixels?: number;
  /** Task segmentation: the signed distance map (`pixels` × C, as logits); zeros when not given. */
  dist?: ArrayLike<number>;
  /** Per-sample scalar inputs (iou; d_real, d_fake, grad_norm): each defaults to its view value. */
  inputs?: Record<string, number>;
}

/** Softmax in float64 (the builtin's own implementation). */
export function softmax(z: ArrayLike<number>): Float64Array {
  return softmaxF(Float64Array.from(z));
}

/** Which params and lets (in order) an evaluation needs; compute once, reuse per sample. */
export interface EnvPlan {
  params: { name: string; value: number }[];
  lets: { name: string; expr: Expr }[];
}

/** The plan for evaluating `exprs` (every definition when `exprs` is omitted). */
export function envPlan(model: Model, exprs?: Expr[]): EnvPlan {
  const plan: EnvPlan = { params: [], lets: [] };
  if (!exprs) {
    for (const prm of model.params) {
      if (!INPUT_NAMES.has(prm.name) && model.symbols.get(prm.name)?.stmt === prm) plan.params.push({ name: prm.name, value: prm.value });
    }
    for (const l of model.lets) {
      if (!INPUT_NAMES.has(l.name) && model.symbols.get(l.name)?.stmt === l) plan.lets.push({ name: l.name, expr: l.expr });
    }
    return plan;
  }
  // Only what the expressions use, found through the symbol table: linear in what is needed,
  // not in the size of the file.
  const names = new Set<string>();
  const addNames = (e: Expr): void => {
    const stack = [e];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.kind === 'Name') names.add(n.name);
      else if (n.kind === 'Unary') stack.push(n.operand);
      else if (n.kind === 'Binary') stack.push(n.left, n.right);
      else if (n.kind === 'Call') stack.push(...n.args);
    }
  };
  const lets: LetStmt[] = [];
  const seen = new Set<string>();
  for (const e of exprs) {
    addNames(e);
    for (const n of letsNeeded(model, e)) {
      if (seen.has(n)) continue;
      seen.add(n);
      const st = model.symbols.get(n)?.stmt;
      if (st && st.kind === 'Let' && !INPUT_NAMES.has(n)) lets.push(st);
    }
  }
  for (const l of lets) addNames(l.expr);
  lets.sort((x, y) => x.range.start - y.range.start);
  for (const l of lets) plan.lets.push({ name: l.name, expr: l.expr });
  for (const n of names) {
    const st = model.symbols.get(n)?.stmt;
    if (st && st.kind === 'Param' && !INPUT_NAMES.has(n)) plan.params.push({ name: n, value: st.value });
  }
  plan.params.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return plan;
}


/**
 * The environment of one sample: inputs, params (defaults unless overridden) and the lets of
 * the plan evaluated in order. `p` may be given directly (for derivatives with respect to p).
 * Inputs cannot be redefined, and the first definition of a name wins (as in the checker).
 */
export function sampleEnv(
  model: Model,
  point: Point & { p?: ArrayLike<number> },
  params: Record<string, number> = {},
  plan: EnvPlan = envPlan(model),
): Map<string, Value> {
  const env = new Map<string, Value>();
  if (model.task === 'segmentation') {
    setImageInputs(env, point);
  } else {
    const logits = Float64Array.from(point.logits);
    env.set('logits', logits);
    env.set('y', Float64Array.from(point.y));
    env.set('p', point.p ? Float64Array.from(point.p) : softmax(logits));
    env.set('C', logits.length);
  }
  for (const i of SCALAR_INPUT_VIEWS) env.set(i.name, point.inputs?.[i.name] ?? i.view);
  for (const prm of plan.params) env.set(prm.name, params[prm.name] ?? prm.value);
  const get: Env = (n) => env.get(n);
  for (const l of plan.lets) {
    try {
      env.set(l.name, evalExpr(l.expr, get));
    } catch {
      // An unevaluable let leaves its name unbound; uses of it fail with EvalError.
    }
  }
  return env;
}

/** The inputs of one image (task segmentation): y, logits, p and dist per pixel, C and P. */
function setImageInputs(env: Map<string, Value>, point: Point & { p?: ArrayLike<number> }): void {
  const n = point.pixels;
  if (!n || n < 1 || point.logits.length % n !== 0) throw new EvalError(`an image of task segmentation needs its pixel count (got ${String(n)} for ${point.logits.length} values)`);
  const classes = point.logits.length / n;
  const rows = (src: ArrayLike<number> | undefined, f?: (row: Float64Array) => Float64Array): Pixels => {
    const at: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const row = new Float64Array(classes);
      if (src) for (let c = 0; c < classes; c++) row[c] = src[i * classes + c];
      at.push(f ? f(row) : row);
    }
    return new Pixels(at);
  };
  env.set('logits', rows(point.logits));
  env.set('y', rows(point.y));
  env.set('p', point.p ? rows(point.p) : rows(point.logits, softmaxF));
  env.set('dist', rows(point.dist));
  env.set('C', classes);
  env.set('P', n);
}

/** The lets an expression needs, directly or through other lets. */
export function letsNeeded(model: Model, e: Expr): Set<string> {
  const out = new Set<string>();
  const visit = (x: Expr): void => {
    const stack = [x];
    while (stack.length) {
      const n = stack.pop()!;
      switch (n.kind) {
        case 'Name': {
          if (out.has(n.name)) break;
          const s = model.symbols.get(n.name);
          if (s && s.stmt && s.stmt.kind === 'Let') {
            out.add(n.name);
            visit(s.stmt.expr);
          }
          break;
        }
        case 'Unary':
          stack.push(n.operand);
          break;
        case 'Binary':
          stack.push(n.left, n.right);
          break;
        case 'Call':
          stack.push(...n.args);
          break;
        default:
          break;
      }
    }
  };
  visit(e);
  return out;
}

/** Per-sample value of a loss (must be scalar). */
export function evalLoss(model: Model, lossName: string, point: Point, params?: Record<string, number>): number {
  const loss = model.losses.find((l) => l.name === lossName);
  if (!loss) throw new EvalError(`no loss named ${lossName}`);
  const env = sampleEnv(model, point, params, envPlan(model, [loss.expr]));
  const v = evalExpr(loss.expr, (n) => env.get(n));
  if (typeof v !== 'number') throw new EvalError(`loss ${lossName} is not one number per ${model.task === 'segmentation' ? 'image' : 'sample'}; reduce it (sum, mean_px)`);
  return v;
}

/** Broadcast a value to a vector of length n. */
export function toVector(v: Value, n: number): Float64Array {
  if (typeof v === 'number') return new Float64Array(n).fill(v);
  if (v instanceof Pixels) throw new EvalError('a per-pixel value where a vector over classes was expected');
  return v;
}

// ---------------------------------------------------------------- batched evaluation

/**
 * A value for n samples at once: a per-sample scalar (length n) or a vector over C classes
 * per sample (length n*C, sample-major). The same builtin implementations as the per-sample
 * evaluator, applied in loops without per-sample allocation; used where one loss is evaluated
 * on many points (the integrity grid, the 1-D view).
 */
export interface BatchValue {
  vector: boolean;
  data: Float64Array;
}

export interface BatchEnv {
  n: number;
  classes: number;
  get(name: string): BatchValue | undefined;
}

function bApply(b: Builtin, args: BatchValue[], n: number, c: number): BatchValue {
  switch (b.shape) {
    case 'pixel-reduction':
      // Batches are of samples over classes; an image's pixels go through the per-image evaluator.
      throw new EvalError(`${b.name}: task segmentation losses are evaluated per image`);
    case 'elementwise': {
      const vector = args.some((a) => a.vector);
      const len = vector ? n * c : n;
      const out = new Float64Array(len);
      const k = args.length;
      const xs = new Array<number>(k);
      const fn = b.fn;
      if (k === 1) {
        const a = args[0].data;
        for (let i = 0; i < len; i++) out[i] = fn(a[i]);
        return { vector, data: out };
      }
      for (let i = 0; i < len; i++) {
        const sample = vector ? (i / c) | 0 : i;
        for (let j = 0; j < k; j++) {
          const a = args[j];
          xs[j] = a.vector ? a.data[i] : a.data[sample];
        }
        out[i] = fn(...xs);
      }
      return { vector, data: out };
    }
    case 'reduction':
    case 'map': {
      const [v, ...rest] = args;
      const out = new Float64Array(b.shape === 'map' ? n * c : n);
      for (let s = 0; s < n; s++) {
        const consts = rest.map((r) => (r.vector ? NaN : r.data[s]));
        const row = v.vector ? v.data.subarray(s * c, s * c + c) : Float64Array.of(v.data[s]);
        if (b.shape === 'reduction') out[s] = b.fn(row, ...consts);
        else out.set(b.fn(row, ...consts), s * c);
      }
      return { vector: b.shape === 'map', data: out };
    }
  }
}

export function evalBatch(e: Expr, env: BatchEnv): BatchValue {
  switch (e.kind) {
    case 'Number':
      return { vector: false, data: new Float64Array(env.n).fill(e.value) };
    case 'Name': {
      const v = env.get(e.name);
      if (!v) throw new EvalError(`unbound name ${e.name}`);
      return v;
    }
    case 'Unary':
      return bApply(builtinById('neg'), [evalBatch(e.operand, env)], env.n, env.classes);
    case 'Binary':
      return bApply(builtinById(OPERATOR_IDS[e.op]), [evalBatch(e.left, env), evalBatch(e.right, env)], env.n, env.classes);
    case 'Call': {
      const b = resolveCall(e.callee, e.args.length);
      if (!b) throw new EvalError(`unknown function ${e.callee}/${e.args.length}`);
      return bApply(b, e.args.map((a) => evalBatch(a, env)), env.n, env.classes);
    }
    case 'Missing':
      throw new EvalError('incomplete expression');
  }
}

/**
 * The batched environment of n samples given as flat arrays (sample-major, C classes each):
 * inputs, the plan's params and lets. A let that cannot be evaluated stays unbound.
 */
export function batchEnv(
  plan: EnvPlan,
  samples: { n: number; classes: number; logits: Float64Array; y: Float64Array; p?: Float64Array; inputs?: Record<string, Float64Array> },
  params: Record<string, number> = {},
): BatchEnv {
  const { n, classes } = samples;
  const vars = new Map<string, BatchValue>();
  let p = samples.p;
  if (!p) {
    p = new Float64Array(n * classes);
    for (let s = 0; s < n; s++) p.set(softmaxF(samples.logits.subarray(s * classes, s * classes + classes)), s * classes);
  }
  vars.set('logits', { vector: true, data: samples.logits });
  vars.set('y', { vector: true, data: samples.y });
  vars.set('p', { vector: true, data: p });
  vars.set('C', { vector: false, data: new Float64Array(n).fill(classes) });
  for (const i of SCALAR_INPUT_VIEWS) vars.set(i.name, { vector: false, data: samples.inputs?.[i.name] ?? new Float64Array(n).fill(i.view) });
  for (const prm of plan.params) vars.set(prm.name, { vector: false, data: new Float64Array(n).fill(params[prm.name] ?? prm.value) });
  const env: BatchEnv = { n, classes, get: (name) => vars.get(name) };
  for (const l of plan.lets) {
    try {
      vars.set(l.name, evalBatch(l.expr, env));
    } catch {
      // unbound
    }
  }
  return env;
}
