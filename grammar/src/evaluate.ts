/**
 * The float64 numeric evaluator: the oracle every other implementation (tfjs lowering,
 * exports, symbolic derivatives) is checked against. Values are scalars or vectors over classes.
 */
import type { Expr } from './ast';
import { builtinById, OPERATOR_IDS, resolveCall, softmaxF, type Builtin } from './builtins';
import type { Model } from './semantics';

export type Value = number | Float64Array;

export type Env = (name: string) => Value | undefined;

export class EvalError extends Error {}

function applyElementwise(b: Builtin & { shape: 'elementwise' }, args: Value[]): Value {
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
  switch (b.shape) {
    case 'elementwise':
      return applyElementwise(b, args);
    case 'reduction':
    case 'map': {
      const [vec, ...rest] = args;
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
  logits: ArrayLike<number>;
  y: ArrayLike<number>;
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
  let needed: Set<string> | undefined;
  let names: Set<string> | undefined;
  if (exprs) {
    needed = new Set<string>();
    names = new Set<string>();
    const addNames = (e: Expr): void => {
      const stack = [e];
      while (stack.length) {
        const n = stack.pop()!;
        if (n.kind === 'Name') names!.add(n.name);
        else if (n.kind === 'Unary') stack.push(n.operand);
        else if (n.kind === 'Binary') stack.push(n.left, n.right);
        else if (n.kind === 'Call') stack.push(...n.args);
      }
    };
    for (const e of exprs) {
      addNames(e);
      for (const n of letsNeeded(model, e)) needed.add(n);
    }
    for (const l of model.lets) if (needed.has(l.name)) addNames(l.expr);
  }
  const plan: EnvPlan = { params: [], lets: [] };
  for (const prm of model.params) {
    if (INPUT_NAMES_SET.has(prm.name) || model.symbols.get(prm.name)?.stmt !== prm) continue;
    if (names && !names.has(prm.name)) continue;
    plan.params.push({ name: prm.name, value: prm.value });
  }
  for (const l of model.lets) {
    if (INPUT_NAMES_SET.has(l.name) || model.symbols.get(l.name)?.stmt !== l) continue;
    if (needed && !needed.has(l.name)) continue;
    plan.lets.push({ name: l.name, expr: l.expr });
  }
  return plan;
}

const INPUT_NAMES_SET = new Set(['y', 'p', 'logits', 'C']);

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
  const logits = Float64Array.from(point.logits);
  env.set('logits', logits);
  env.set('y', Float64Array.from(point.y));
  env.set('p', point.p ? Float64Array.from(point.p) : softmax(logits));
  env.set('C', logits.length);
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
  if (typeof v !== 'number') throw new EvalError(`loss ${lossName} is a vector; wrap it in sum(...)`);
  return v;
}

/** Broadcast a value to a vector of length n. */
export function toVector(v: Value, n: number): Float64Array {
  if (typeof v === 'number') return new Float64Array(n).fill(v);
  return v;
}
