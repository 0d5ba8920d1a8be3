/**
 * The one-dimensional view every loss-function paper plots: the loss and its gradient as
 * functions of the true-class probability pt in (0, 1), the other classes sharing 1 - pt
 * evenly; and the seed system's integrity check on that curve (two classes).
 */
import type { Expr, LossStmt } from './ast';
import { differentiate } from './derivative';
import { batchEnv, envPlan, evalBatch, evalExpr, Pixels, sampleEnv, type BatchValue, type EnvPlan, type Value } from './evaluate';
import type { Model } from './semantics';

export interface CurveOptions {
  classes?: number;
  points?: number;
  params?: Record<string, number>;
  /** Also compute dL/dz_true from the symbolic derivative (default true). */
  gradient?: boolean;
  /** Grid ends (default 0.001 .. 0.999). */
  lo?: number;
  hi?: number;
}

export interface CurveAxes {
  x: string;
  xLong: string;
  grad: string;
  gradTrue: string;
  gradOther: string;
}

export interface Curve {
  classes: number;
  /**
   * The x axis: classification's true-class probability pt; for a GAN file (task gan) the
   * discriminator's probability on generated samples, D(G(z)) = sigmoid(d_fake), the axis of
   * the GAN papers' generator-loss plots, with d_real and grad_norm at their view values; for
   * task segmentation the probability every pixel of a 5%-foreground image gives its true class.
   */
  pt: number[];
  /**
   * What the axis and the two gradients are (absent: classification's pt, ∂L/∂z of the true and
   * of another class): the axis's short and long names, the gradient axis, each gradient.
   */
  axes?: CurveAxes;
  loss: number[];
  /** dL/dz of the true class (null where not computed). */
  gradTrue: number[] | null;
  /** dL/dz of one other class. */
  gradOther: number[] | null;
}

/** The sample at true-class probability pt: class 0 is the target. */
export function viewPoint(pt: number, classes: number): { logits: number[]; y: number[]; p: number[] } {
  const rest = (1 - pt) / (classes - 1);
  const p = [pt, ...new Array(classes - 1).fill(rest)];
  return { p, logits: p.map((v) => Math.log(v)), y: [1, ...new Array(classes - 1).fill(0)] };
}

/** Per-sample scalars of a batched evaluation; NaN where it fails or is not scalar. */
function scalars(f: () => BatchValue, n: number): number[] {
  try {
    const v = f();
    if (v.vector) return new Array(n).fill(NaN);
    return Array.from(v.data);
  } catch {
    return new Array(n).fill(NaN);
  }
}

export function curve(model: Model, lossName: string, opts: CurveOptions = {}): Curve {
  const classes = Math.max(2, Math.floor(opts.classes ?? 10));
  const n = Math.max(2, Math.floor(opts.points ?? 199));
  const lo = opts.lo ?? 0.001;
  const hi = opts.hi ?? 0.999;
  const loss = model.losses.find((l) => l.name === lossName);
  if (!loss) throw new Error(`no loss named '${lossName}'`);
  if (model.task === 'gan') return ganCurve(model, loss, n, lo, hi, opts);
  if (model.task === 'segmentation') return imageCurve(model, loss, Math.min(n, IMAGE_POINTS), lo, hi, classes, opts);
  let grad: Expr | undefined;
  if (opts.gradient !== false) {
    try {
      grad = differentiate(model, lossName, 'logits');
    } catch {
      grad = undefined;
    }
  }
  const plan = envPlan(model, grad ? [loss.expr, grad] : [loss.expr]);
  const pts: number[] = [];
  const logits = new Float64Array(n * classes);
  const y = new Float64Array(n * classes);
  const p = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) {
    const pt = lo + ((hi - lo) * i) / (n - 1);
    pts.push(pt);
    const v = viewPoint(pt, classes);
    logits.set(v.logits, i * classes);
    y.set(v.y, i * classes);
    p.set(v.p, i * classes);
  }
  const env = batchEnv(plan, { n, classes, logits, y, p }, opts.params);
  const values = scalars(() => evalBatch(loss.expr, env), n);
  let gT: number[] = [];
  let gO: number[] = [];
  if (grad) {
    let g: BatchValue | undefined;
    try {
      g = evalBatch(grad, env);
    } catch {
      g = undefined;
    }
    for (let i = 0; i < n; i++) {
      gT.push(g ? (g.vector ? g.data[i * classes] : g.data[i]) : NaN);
      gO.push(g ? (g.vector ? g.data[i * classes + 1] : g.data[i]) : NaN);
    }
  } else {
    gT = [];
    gO = [];
  }
  return { classes, pt: pts, loss: values, gradTrue: grad ? gT : null, gradOther: grad ? gO : null };
}

/** The GAN view: loss and its gradients against sigmoid(d_fake); see Curve.pt. */
function ganCurve(model: Model, loss: LossStmt, n: number, lo: number, hi: number, opts: CurveOptions): Curve {
  const grads: (Expr | undefined)[] = (['d_fake', 'd_real'] as const).map((wrt) => {
    if (opts.gradient === false) return undefined;
    try {
      return differentiate(model, loss.name, wrt);
    } catch {
      return undefined;
    }
  });
  const plan = envPlan(model, [loss.expr, ...grads.filter((g): g is Expr => g !== undefined)]);
  const xs: number[] = [];
  const dFake = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = lo + ((hi - lo) * i) / (n - 1);
    xs.push(x);
    dFake[i] = Math.log(x) - Math.log1p(-x);
  }
  const empty = new Float64Array(n);
  const env = batchEnv(plan, { n, classes: 1, logits: empty, y: empty, p: empty, inputs: { d_fake: dFake } }, opts.params);
  const [gFake, gReal] = grads.map((g) => (g ? scalars(() => evalBatch(g, env), n) : null));
  return {
    classes: 1,
    pt: xs,
    axes: { x: 'D(G(z))', xLong: "the discriminator's probability on generated samples D(G(z)) = sigmoid(d_fake)", grad: '∂L/∂d', gradTrue: '∂L/∂d_fake', gradOther: '∂L/∂d_real' },
    loss: scalars(() => evalBatch(loss.expr, env), n),
    gradTrue: gFake,
    gradOther: gReal,
  };
}

/** Points of the segmentation view (each one an image evaluated per pixel). */
const IMAGE_POINTS = 61;

/**
 * The image of the segmentation view: VIEW_SIDE × VIEW_SIDE pixels, class 1 on a 5-pixel plus
 * at the centre (5% foreground, the unbalanced case segmentation losses are written for), class
 * 0 elsewhere; its signed distance maps as the runs compute them (negative inside a region).
 */
export const VIEW_SIDE = 10;

export function viewImage(classes: number): { target: number[]; dist: Float64Array } {
  const side = VIEW_SIDE;
  const c0 = side / 2;
  const target = Array.from({ length: side * side }, (_, i) => {
    const r = Math.floor(i / side);
    const c = i % side;
    return Math.abs(r - c0) + Math.abs(c - c0) <= 1 ? 1 : 0;
  });
  const dist = new Float64Array(side * side * classes);
  for (let k = 0; k < classes; k++) {
    const inside = (i: number): boolean => target[i] === k;
    if (!target.some((_, i) => inside(i))) continue;
    for (let i = 0; i < side * side; i++) {
      // Distance to the nearest pixel of the other side (brute force: 100 pixels).
      let best = Infinity;
      for (let j = 0; j < side * side; j++) {
        if (inside(j) === inside(i)) continue;
        best = Math.min(best, Math.hypot(Math.floor(i / side) - Math.floor(j / side), (i % side) - (j % side)));
      }
      if (!Number.isFinite(best)) best = 0;
      dist[i * classes + k] = inside(i) ? -(best - 1) : best;
    }
  }
  return { target, dist };
}

/**
 * The segmentation view: the loss of the view image (viewImage) when every pixel gives its true
 * class probability pt (the other classes sharing 1 - pt), against pt; the gradients are by the
 * true class's logit at a foreground pixel and at a background pixel, the contrast an
 * unbalanced-segmentation loss is about.
 */
function imageCurve(model: Model, loss: LossStmt, n: number, lo: number, hi: number, classes: number, opts: CurveOptions): Curve {
  let grad: Expr | undefined;
  if (opts.gradient !== false) {
    try {
      grad = differentiate(model, loss.name, 'logits');
    } catch {
      grad = undefined;
    }
  }
  const plan = envPlan(model, grad ? [loss.expr, grad] : [loss.expr]);
  const { target, dist } = viewImage(classes);
  const pixels = target.length;
  const fg = target.indexOf(1);
  const bg = target.indexOf(0);
  const xs: number[] = [];
  const values: number[] = [];
  const gT: number[] = [];
  const gO: number[] = [];
  for (let i = 0; i < n; i++) {
    const pt = lo + ((hi - lo) * i) / (n - 1);
    xs.push(pt);
    const rest = (1 - pt) / (classes - 1);
    const logits = new Float64Array(pixels * classes);
    const y = new Float64Array(pixels * classes);
    for (let j = 0; j < pixels; j++) {
      for (let k = 0; k < classes; k++) logits[j * classes + k] = Math.log(k === target[j] ? pt : rest);
      y[j * classes + target[j]] = 1;
    }
    try {
      const env = sampleEnv(model, { logits, y, pixels, dist }, opts.params, plan);
      const get = (name: string): Value | undefined => env.get(name);
      const v = evalExpr(loss.expr, get);
      values.push(typeof v === 'number' ? v : NaN);
      if (grad) {
        const g = evalExpr(grad, get);
        const at = (j: number): number => (g instanceof Pixels ? ((g.at[j] as Float64Array)[target[j]] ?? NaN) : NaN);
        gT.push(at(fg));
        gO.push(at(bg));
      }
    } catch {
      values.push(NaN);
      if (grad) {
        gT.push(NaN);
        gO.push(NaN);
      }
    }
  }
  return {
    classes,
    pt: xs,
    axes: {
      x: 'pt',
      xLong: `pt, the true-class probability at every pixel of a ${VIEW_SIDE}×${VIEW_SIDE} image with 5% foreground, ${classes} classes`,
      grad: '∂L/∂z',
      gradTrue: '∂L/∂z (true class, foreground pixel)',
      gradOther: '∂L/∂z (true class, background pixel)',
    },
    loss: values,
    gradTrue: grad ? gT : null,
    gradOther: grad ? gO : null,
  };
}

/**
 * The integrity check of a segmentation loss (the seed system's rules, on the segmentation
 * view): on `points` values of pt in (0, 1) for the 5%-foreground view image (two classes),
 * the loss must be finite, not flat, without its extremum at pt = 0.5 and turn at most once.
 */
export function imageIntegrity(model: Model, lossName: string, params?: Record<string, number>, points = IMAGE_POINTS): IntegrityResult {
  const loss = model.losses.find((l) => l.name === lossName);
  if (!loss) throw new Error(`no loss named '${lossName}'`);
  const c = imageCurve(model, loss, points, 0.5 / points, 1 - 0.5 / points, 2, { gradient: false, ...(params ? { params } : {}) });
  return judgeCurve(c.loss);
}

export type IntegrityCode = 'non-finite' | 'flat-loss' | 'extremum-in-middle' | 'oscillating-loss' | 'loss-rises';

export interface IntegrityResult {
  ok: boolean;
  problems: { code: IntegrityCode; message: string }[];
  /** Values on the grid (two classes, pt = (i + 0.5)/points). */
  values: number[];
  /** Number of direction changes. */
  turns: number;
  direction: 'decreasing' | 'increasing' | 'mixed' | 'flat';
  /** The seed system's phenotype: the curve scaled to [0, 1], sign-flipped if it rises. */
  phenotype: number[] | null;
}

/**
 * The seed system's integrity check (Morgan & Hougen): on a 1000-point two-class grid of the
 * true-class probability the loss must be finite, must not be flat, must not have its extremum
 * near pt = 0.5 (index 490..510), must turn at most once; a net rise is reported.
 */
export function integrityCheck(model: Model, lossOrName: LossStmt | string, params?: Record<string, number>, points = 1000): IntegrityResult {
  // A statement is checked as itself (a duplicate name must not borrow the first one's verdict).
  const loss = typeof lossOrName === 'string' ? model.losses.find((l) => l.name === lossOrName) : lossOrName;
  if (!loss) throw new Error(`no loss named '${String(lossOrName)}'`);
  const plan = envPlan(model, [loss.expr]);
  // The verdict depends only on the loss's text, the lets it uses and the params: cache it,
  // so that re-checking a large file after an edit re-runs only the losses that changed.
  const key = integrityKey(loss.expr, plan, params, points);
  const hit = INTEGRITY_CACHE.get(key);
  if (hit) {
    cacheStats.hits++;
    INTEGRITY_CACHE.delete(key);
    INTEGRITY_CACHE.set(key, hit);
    return hit;
  }
  const logits = new Float64Array(points * 2);
  const y = new Float64Array(points * 2);
  const p = new Float64Array(points * 2);
  for (let i = 0; i < points; i++) {
    const pt = (i + 0.5) / points;
    const v = viewPoint(pt, 2);
    logits.set(v.logits, i * 2);
    y.set(v.y, i * 2);
    p.set(v.p, i * 2);
  }
  const values = scalars(() => evalBatch(loss.expr, batchEnv(plan, { n: points, classes: 2, logits, y, p }, params)), points);
  const result = judgeCurve(values);
  cacheStats.misses++;
  INTEGRITY_CACHE.set(key, result);
  if (INTEGRITY_CACHE.size > INTEGRITY_CACHE_SIZE) INTEGRITY_CACHE.delete(INTEGRITY_CACHE.keys().next().value as string);
  return result;
}

/** Forget cached integrity verdicts (benchmarks measure the cold cost). */
export function clearIntegrityCache(): void {
  INTEGRITY_CACHE.clear();
}

const cacheStats = { hits: 0, misses: 0 };

/** How many integrity checks were answered from the cache and how many computed, so far. */
export function integrityCacheStats(): { hits: number; misses: number } {
  return { ...cacheStats };
}

const INTEGRITY_CACHE_SIZE = 4096;
const INTEGRITY_CACHE = new Map<string, IntegrityResult>();

/**
 * The cache key: the loss and the lets it uses with their names replaced by their order of first
 * use, and the params by their values. Losses equal up to names (`-log(pt1)` with `let pt1 = ...`
 * and `-log(pt2)` with an equal `pt2`, as in a generated or evolved file) share one verdict.
 */
function integrityKey(e: Expr, plan: EnvPlan, params: Record<string, number> | undefined, points: number): string {
  const lets = new Map(plan.lets.map((l) => [l.name, l.expr]));
  const values = new Map(plan.params.map((p) => [p.name, params?.[p.name] ?? p.value]));
  const canon = new Map<string, string>();
  const pending: Expr[] = [];
  const nameKey = (n: string): string => {
    let k = canon.get(n);
    if (k === undefined) {
      const letExpr = lets.get(n);
      if (letExpr) {
        k = `$${canon.size}`;
        pending.push(letExpr);
      } else k = values.has(n) ? `#${values.get(n)}` : n;
      canon.set(n, k);
    }
    return k;
  };
  const key = (x: Expr): string => {
    switch (x.kind) {
      case 'Number':
        return `#${x.value}`;
      case 'Name':
        return nameKey(x.name);
      case 'Unary':
        return `-(${key(x.operand)})`;
      case 'Binary':
        return `(${key(x.left)}${x.op}${key(x.right)})`;
      case 'Call':
        return `${x.callee}(${x.args.map(key).join(',')})`;
      case 'Missing':
        return '?';
    }
  };
  const parts = [String(points), key(e)];
  // Each let once, in order of first use (a work list: chains of lets can be long).
  for (let i = 0; i < pending.length; i++) parts.push(key(pending[i]));
  return parts.join(';');
}

export function judgeCurve(values: number[]): IntegrityResult {
  const points = values.length;
  const problems: IntegrityResult['problems'] = [];
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    const pt = (bad + 0.5) / points;
    problems.push({ code: 'non-finite', message: `the loss is ${values[bad]} at pt = ${pt.toPrecision(3)} on the two-class grid` });
    return { ok: false, problems, values, turns: 0, direction: 'mixed', phenotype: null };
  }
  let min = Infinity;
  let max = -Infinity;
  let argmin = 0;
  let argmax = 0;
  values.forEach((v, i) => {
    if (v < min) {
      min = v;
      argmin = i;
    }
    if (v > max) {
      max = v;
      argmax = i;
    }
  });
  const span = max - min;
  const scale = Math.max(Math.abs(max), Math.abs(min), 1e-300);
  if (span <= 1e-12 * scale || span === 0) {
    problems.push({ code: 'flat-loss', message: 'the loss does not change with the true-class probability' });
    return { ok: false, problems, values, turns: 0, direction: 'flat', phenotype: null };
  }
  const tol = span * 1e-12;
  let zeroSteps = 0;
  let turns = 0;
  let lastSign = 0;
  for (let i = 1; i < points; i++) {
    const d = values[i] - values[i - 1];
    const s = Math.abs(d) <= tol ? 0 : Math.sign(d);
    if (s === 0) {
      zeroSteps++;
      continue;
    }
    if (lastSign !== 0 && s !== lastSign) turns++;
    lastSign = s;
  }
  const lo = Math.floor(points * 0.49);
  const hi = Math.ceil(points * 0.51);
  if (zeroSteps > 10) problems.push({ code: 'flat-loss', message: `the loss is flat on ${zeroSteps} of ${points - 1} steps of the true-class probability` });
  if ((argmin >= lo && argmin <= hi && argmin !== 0 && argmin !== points - 1) || (argmax >= lo && argmax <= hi && argmax !== 0 && argmax !== points - 1)) {
    problems.push({ code: 'extremum-in-middle', message: `the loss has its ${argmin >= lo && argmin <= hi ? 'minimum' : 'maximum'} near pt = 0.5, where the prediction is undecided` });
  }
  if (turns > 1) problems.push({ code: 'oscillating-loss', message: `the loss changes direction ${turns} times as the true-class probability rises (at most once is expected)` });
  const first = values[0];
  const last = values[points - 1];
  const rises = last > first;
  if (rises) problems.push({ code: 'loss-rises', message: 'the loss rises as the true-class probability rises: minimising it pushes predictions away from the target' });
  const direction = turns === 0 ? (rises ? 'increasing' : 'decreasing') : 'mixed';
  // Phenotype: normalised to [0, 1], oriented so that it falls with pt.
  const phenotype = values.map((v) => (rises ? (max - v) / span : (v - min) / span));
  const fatal = problems.some((p) => p.code !== 'loss-rises');
  return { ok: !fatal, problems, values, turns, direction, phenotype };
}
