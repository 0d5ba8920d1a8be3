/** Finite-difference checks of symbolic gradients against the float64 evaluator. */
import {
  differentiate,
  evalExpr,
  sampleEnv,
  softmax,
  toVector,
  type Model,
  type Value,
} from '../../grammar/src/index';
import { Rng } from '../../engine/src/rng';

export interface Sample {
  logits: number[];
  y: number[];
}

export function randomSample(rng: Rng, opts: { soft?: boolean; classes?: number; scale?: number } = {}): Sample {
  const c = opts.classes ?? 2 + rng.int(5);
  const scale = opts.scale ?? 2;
  const logits = Array.from({ length: c }, () => rng.normal() * scale);
  let y: number[];
  if (opts.soft) {
    const g = Array.from({ length: c }, () => rng.gamma(0.5) + 1e-3);
    const s = g.reduce((a, b) => a + b, 0);
    y = g.map((v) => v / s);
  } else {
    y = new Array(c).fill(0);
    y[rng.int(c)] = 1;
  }
  return { logits, y };
}

function scalar(v: Value): number {
  if (typeof v !== 'number') throw new Error('loss is not scalar');
  return v;
}

export function lossValue(model: Model, loss: string, s: Sample & { p?: number[] }): number {
  const env = sampleEnv(model, s);
  const l = model.losses.find((x) => x.name === loss)!;
  return scalar(evalExpr(l.expr, (n) => env.get(n)));
}

export interface GradCheck {
  relErr: number;
  symbolic: number[];
  numeric: number[];
  /** True when one-sided differences disagree: the point sits on a kink. */
  kink: boolean;
}

/** Compare the symbolic gradient with respect to logits (or p) to Richardson-extrapolated central differences. */
export function checkGradient(model: Model, loss: string, s: Sample, wrt: 'logits' | 'p', grad = differentiate(model, loss, wrt)): GradCheck {
  const c = s.logits.length;
  const base: Sample & { p?: number[] } = wrt === 'p' ? { ...s, p: Array.from(softmax(s.logits)) } : s;
  const env = sampleEnv(model, base);
  const symbolic = Array.from(toVector(evalExpr(grad, (n) => env.get(n)), c));
  const numeric: number[] = [];
  let kink = false;
  const f = (k: number, d: number): number => {
    if (wrt === 'logits') {
      const z = s.logits.slice();
      z[k] += d;
      return lossValue(model, loss, { logits: z, y: s.y });
    }
    const p = base.p!.slice();
    p[k] += d;
    return lossValue(model, loss, { logits: s.logits, y: s.y, p });
  };
  for (let k = 0; k < c; k++) {
    const x = wrt === 'logits' ? s.logits[k] : base.p![k];
    const h = 1e-4 * Math.max(1e-2, Math.abs(x));
    const f0 = f(k, 0);
    const d1 = (f(k, h) - f(k, -h)) / (2 * h);
    const d2 = (f(k, h / 2) - f(k, -h / 2)) / h;
    numeric.push((4 * d2 - d1) / 3);
    const right = (f(k, h) - f0) / h;
    const left = (f0 - f(k, -h)) / h;
    const tol = 1e-3 * Math.max(1, Math.abs(right), Math.abs(left));
    if (Math.abs(right - left) > tol + 2 * Math.abs(d1) * 1e-2 && Math.abs(right - left) > 10 * Math.abs(d2 - d1) + 1e-6) kink = true;
  }
  let num2 = 0;
  let den2 = 0;
  for (let k = 0; k < c; k++) {
    num2 += (symbolic[k] - numeric[k]) ** 2;
    den2 += symbolic[k] ** 2;
  }
  const relErr = Math.sqrt(num2) / Math.max(Math.sqrt(den2), 1e-8);
  return { relErr, symbolic, numeric, kink };
}
