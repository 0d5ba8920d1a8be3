/**
 * The builtin table: the single source of truth for every function and operator of the DSL.
 * Each entry holds its name and signature, hover documentation, LaTeX form, float64 numeric
 * implementation (the oracle), symbolic derivative rule, and interval rule with domain
 * warnings. Hover, completion, checking, differentiation, evaluation, printing (and, in the
 * engine, the tfjs lowering) all read it; nothing else lists the functions.
 *
 * A derivative rule is a required field, so adding a function without one fails to compile.
 */
import type { Expr } from './ast';
import { add, call, div, mul, neg, num, pow, sub } from './build';
import * as I from './interval';
import type { Interval } from './interval';
import * as S from './special';

/**
 * The type of a value: which of the two axes it has. `vector` is over classes; `field` is over
 * the pixels of an image and `map` over pixels and classes (task segmentation); `scalar` has
 * neither. Operators broadcast over the union of their arguments' axes.
 */
export type Ty = 'scalar' | 'vector' | 'field' | 'map';

/** Has a class axis (vector, map). */
export function hasClassAxis(t: Ty | undefined): boolean {
  return t === 'vector' || t === 'map';
}

/** Has a pixel axis (field, map). */
export function hasPixelAxis(t: Ty | undefined): boolean {
  return t === 'field' || t === 'map';
}

/** The type with these axes. */
export function tyWith(classes: boolean, pixels: boolean): Ty {
  return classes ? (pixels ? 'map' : 'vector') : pixels ? 'field' : 'scalar';
}

/** The type of an elementwise result: the union of the arguments' axes. */
export function joinTy(a: Ty, b: Ty): Ty {
  return tyWith(hasClassAxis(a) || hasClassAxis(b), hasPixelAxis(a) || hasPixelAxis(b));
}

/** What a type is, in words, for messages and hover. */
export const TY_WORDS: Readonly<Record<Ty, string>> = {
  scalar: 'a scalar',
  vector: 'a vector over classes',
  field: 'a field over pixels',
  map: 'a map over pixels and classes',
};

/**
 * `const`: must not depend on the inputs (a number, a param, or arithmetic of those);
 * `vector`: has a class axis; `pixels`: has a pixel axis.
 */
export type ArgKind = 'any' | 'vector' | 'pixels' | 'const';

export interface ArgSpec {
  name: string;
  kind: ArgKind;
}

export type Category =
  | 'operator'
  | 'elementary'
  | 'protected'
  | 'special'
  | 'reduction'
  | 'pixel-reduction'
  | 'probability'
  | 'tempered'
  | 'utility';

export interface Doc {
  /** One sentence: what it is and what it is for. */
  summary: string;
  /** The formula in plain text (e.g. `softplus(x) = log(1 + exp(x))`). */
  formula: string;
  /** Where it comes from, when it has a source worth citing. */
  reference?: string;
}

/**
 * Derivative rule, in one of two forms:
 * - `partials`: for elementwise functions, the partial derivative with respect to each
 *   argument (null for `const` arguments or where it is zero), as expressions in the
 *   arguments `a` and the function's own value `self`;
 * - `vjp`: for vector functions, the adjoint of each argument given the adjoint `adj` of the result.
 */
export type DerivativeRule =
  | { partials: (a: Expr[], self: Expr) => (Expr | null)[] }
  | { vjp: (a: Expr[], adj: Expr, self: Expr) => (Expr | null)[] };

interface Common {
  /** Unique key of the entry (overloads share `name`: `max` reduces, `max2` is binary max). */
  id: string;
  /** The name written in the DSL. */
  name: string;
  /** Operator symbol for entries that are written as operators. */
  operator?: '+' | '-' | '*' | '/' | '^' | 'neg';
  /** Entries that only exist as operators are not callable by name. */
  callable: boolean;
  args: ArgSpec[];
  category: Category;
  doc: Doc;
  latex: (a: string[]) => string;
  derivative: DerivativeRule;
  /** Elementwise bounds of the result, given the bounds of the arguments. */
  range: (a: Interval[]) => Interval;
  /** A domain warning for these argument bounds, if any. */
  domain?: (a: Interval[]) => string | undefined;
}

export interface ElementwiseBuiltin extends Common {
  shape: 'elementwise';
  fn: (...x: number[]) => number;
}

export interface ReductionBuiltin extends Common {
  shape: 'reduction';
  fn: (v: Float64Array, ...consts: number[]) => number;
}

export interface MapBuiltin extends Common {
  shape: 'map';
  fn: (v: Float64Array, ...consts: number[]) => Float64Array;
}

/** A reduction over the pixel axis (task segmentation): a field gives a scalar, a map a vector over classes. */
export interface PixelReductionBuiltin extends Common {
  shape: 'pixel-reduction';
  fn: (v: Float64Array) => number;
}

export type Builtin = ElementwiseBuiltin | ReductionBuiltin | MapBuiltin | PixelReductionBuiltin;

/**
 * The type of `b`'s result given its arguments' types. An unknown argument (already reported)
 * makes a reduction's or map's result unknown (no second error down the chain); an elementwise
 * result has at least the known arguments' axes (unknown when those are none).
 */
export function resultTy(b: Builtin, args: readonly (Ty | undefined)[]): Ty | undefined {
  const a0 = args[0];
  if (b.shape !== 'elementwise' && a0 === undefined) return undefined;
  switch (b.shape) {
    case 'reduction':
      return tyWith(false, hasPixelAxis(a0));
    case 'map':
      return tyWith(true, hasPixelAxis(a0));
    case 'pixel-reduction':
      return tyWith(hasClassAxis(a0), false);
    case 'elementwise':
      return joinTys(args);
  }
}

/** The union of the axes of `ts` (an operator's or elementwise call's result); see resultTy. */
export function joinTys(ts: readonly (Ty | undefined)[]): Ty | undefined {
  let t: Ty = 'scalar';
  let unknown = false;
  for (const x of ts) {
    if (x === undefined) unknown = true;
    else t = joinTy(t, x);
  }
  return unknown && t === 'scalar' ? undefined : t;
}

/** Guard used by the protected operators of the seed system's search space. */
export const EPS = 1e-7;
const SQRT_PI_2 = 2 / Math.sqrt(Math.PI);
const LN10 = Math.LN10;

const x = (n = 'x'): ArgSpec => ({ name: n, kind: 'any' });
const c = (n: string): ArgSpec => ({ name: n, kind: 'const' });
const v = (n = 'v'): ArgSpec => ({ name: n, kind: 'vector' });
const px = (n = 'x'): ArgSpec => ({ name: n, kind: 'pixels' });

const op = (name: string, a: string[]): string => `\\operatorname{${name.replace(/_/g, '\\_')}}\\left(${a.join(', ')}\\right)`;
const fnLatex = (tex: string) => (a: string[]): string => `${tex}\\left(${a.join(', ')}\\right)`;

const step = (e: Expr): Expr => call('step', e);
const sign = (e: Expr): Expr => call('sign', e);
const abs = (e: Expr): Expr => call('abs', e);

function elementwise<const N extends string, const I extends string = N>(
  spec: Omit<ElementwiseBuiltin, 'shape' | 'callable' | 'id' | 'derivative' | 'name'> & {
    name: N;
    id?: I;
    callable?: boolean;
    d: (a: Expr[], self: Expr) => (Expr | null)[];
  },
): ElementwiseBuiltin & { readonly id: I } {
  const { d, ...rest } = spec;
  return { ...rest, id: (spec.id ?? spec.name) as I, callable: spec.callable ?? true, shape: 'elementwise', derivative: { partials: d } };
}

/** Vector entries (reductions and maps) keep their literal id, for BuiltinId. */
function vector<const I extends string>(b: (ReductionBuiltin | MapBuiltin) & { id: I }): (ReductionBuiltin | MapBuiltin) & { readonly id: I } {
  return b;
}

/** Pixel reductions keep their literal id, for BuiltinId. */
function pixelReduction<const I extends string>(b: PixelReductionBuiltin & { id: I }): PixelReductionBuiltin & { readonly id: I } {
  return b;
}

function unary<const N extends string>(
  name: N,
  category: Category,
  doc: Doc,
  latex: (a: string[]) => string,
  fn: (x: number) => number,
  d: (x: Expr, self: Expr) => Expr | null,
  range: (a: Interval) => Interval,
  domain?: (a: Interval) => string | undefined,
): ElementwiseBuiltin & { readonly id: N } {
  return elementwise({
    name,
    category,
    args: [x()],
    doc,
    latex,
    fn,
    d: (a, self) => [d(a[0], self)],
    range: (a) => range(a[0]),
    ...(domain ? { domain: (a: Interval[]) => domain(a[0]) } : {}),
  });
}

const logDomain = (what: string) => (a: Interval): string | undefined => {
  if (I.reachesNegative(a)) return `${what} of an argument that can be negative (NaN)`;
  if (I.reachesNonPositive(a)) return `${what} of an argument that can reach 0 (-Infinity, infinite gradient)`;
  return undefined;
};

const monotone = (f: (x: number) => number) => (a: Interval): Interval => I.increasing(a, f);
const within = (lo: number, hi: number, loOpen = false, hiOpen = false) => (): Interval => I.iv(lo, hi, loOpen, hiOpen);
const sigm = (t: number): number => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));
const softplusF = (t: number): number => Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t)));

function reduceDoc(summary: string, formula: string): Doc {
  return { summary, formula };
}

/** Stable softmax of a vector, float64. */
export function softmaxF(u: Float64Array): Float64Array {
  let m = -Infinity;
  for (const t of u) m = Math.max(m, t);
  const out = new Float64Array(u.length);
  let s = 0;
  for (let i = 0; i < u.length; i++) {
    out[i] = Math.exp(u[i] - m);
    s += out[i];
  }
  for (let i = 0; i < u.length; i++) out[i] /= s;
  return out;
}

/**
 * log(1 - softmax(z)_k) per class, float64, finite where softmax(z)_k rounds to 1: log1p(-p_k) where
 * p_k <= 1/2, and at the one class that can be above 1/2 (the largest logit) the log of the
 * other classes' total relative to it, lo - log1p(exp(lo)) with lo = logsumexp_{j≠k}(z_j - z_k).
 */
export function log1mSoftmaxF(z: Float64Array): Float64Array {
  const l = logsumexpF(z);
  const out = new Float64Array(z.length);
  for (let k = 0; k < z.length; k++) {
    const lp = z[k] - l;
    if (lp <= -Math.LN2) {
      out[k] = Math.log1p(-Math.exp(lp));
      continue;
    }
    let m = -Infinity;
    for (let j = 0; j < z.length; j++) if (j !== k) m = Math.max(m, z[j] - z[k]);
    let s = 0;
    for (let j = 0; j < z.length; j++) if (j !== k) s += Math.exp(z[j] - z[k] - m);
    const lo = m === -Infinity ? -Infinity : m + Math.log(s);
    out[k] = lo - Math.log1p(Math.exp(lo));
  }
  return out;
}

function logsumexpF(u: Float64Array): number {
  let m = -Infinity;
  for (const t of u) m = Math.max(m, t);
  if (m === -Infinity) return -Infinity;
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (const t of u) s += Math.exp(t - m);
  return m + Math.log(s);
}

const LIST = [
  // ---------------------------------------------------------------- operators
  elementwise({
    name: '+', id: 'add', operator: '+', callable: false, category: 'operator', args: [x('a'), x('b')],
    doc: { summary: 'Addition; a scalar broadcasts over a vector.', formula: 'a + b' },
    latex: (a) => `${a[0]} + ${a[1]}`,
    fn: (a, b) => a + b,
    d: () => [num(1), num(1)],
    range: (a) => I.add(a[0], a[1]),
  }),
  elementwise({
    name: '-', id: 'sub', operator: '-', callable: false, category: 'operator', args: [x('a'), x('b')],
    doc: { summary: 'Subtraction; a scalar broadcasts over a vector.', formula: 'a - b' },
    latex: (a) => `${a[0]} - ${a[1]}`,
    fn: (a, b) => a - b,
    d: () => [num(1), num(-1)],
    range: (a) => I.sub(a[0], a[1]),
  }),
  elementwise({
    name: '*', id: 'mul', operator: '*', callable: false, category: 'operator', args: [x('a'), x('b')],
    doc: { summary: 'Elementwise multiplication; a scalar broadcasts over a vector.', formula: 'a * b' },
    latex: (a) => `${a[0]} \\cdot ${a[1]}`,
    fn: (a, b) => a * b,
    d: (a) => [a[1], a[0]],
    range: (a) => I.mul(a[0], a[1]),
  }),
  elementwise({
    name: '/', id: 'div', operator: '/', callable: false, category: 'operator', args: [x('a'), x('b')],
    doc: { summary: 'Elementwise division; a scalar broadcasts over a vector.', formula: 'a / b' },
    latex: (a) => `\\frac{${a[0]}}{${a[1]}}`,
    fn: (a, b) => a / b,
    d: (a) => [div(num(1), a[1]), neg(div(a[0], pow(a[1], num(2))))],
    range: (a) => I.div(a[0], a[1]),
    domain: (a) => (I.contains(a[1], 0) ? 'division by an argument that can be 0' : undefined),
  }),
  elementwise({
    name: '^', id: 'pow', operator: '^', callable: false, category: 'operator', args: [x('a'), x('b')],
    doc: { summary: 'Power, right-associative; binds tighter than unary minus (`-x^2` is `-(x^2)`).', formula: 'a ^ b' },
    latex: (a) => `{${a[0]}}^{${a[1]}}`,
    fn: (a, b) => Math.pow(a, b),
    d: (a, self) => [mul(a[1], pow(a[0], sub(a[1], num(1)))), mul(self, call('log', a[0]))],
    range: (a) => I.pow(a[0], a[1]),
    domain: (a) => {
      const [b, e] = a;
      const integerExp = e.lo === e.hi && Number.isInteger(e.lo);
      if (I.reachesNegative(b) && !integerExp) return 'power of a base that can be negative with a non-integer exponent (NaN)';
      if (I.contains(b, 0) && e.lo < 0) return 'power of a base that can be 0 with a negative exponent (Infinity)';
      return undefined;
    },
  }),
  unary('neg', 'operator',
    { summary: 'Negation (also written as unary minus).', formula: 'neg(x) = -x' },
    (a) => `-${a[0]}`, (t) => -t, () => num(-1), I.negate),

  // ---------------------------------------------------------------- elementary
  unary('log', 'elementary',
    { summary: 'Natural logarithm. Undefined at 0 and below: prefer log_softmax(logits) to log(p) when you can.', formula: 'log(x) = ln x' },
    fnLatex('\\log'), Math.log, (t) => div(num(1), t), monotone(Math.log), logDomain('log')),
  unary('exp', 'elementary',
    { summary: 'Exponential. Overflows float32 above about 88.7.', formula: 'exp(x) = e^x' },
    fnLatex('\\exp'), Math.exp, (_t, self) => self, monotone(Math.exp)),
  unary('sqrt', 'elementary',
    { summary: 'Square root. NaN below 0 and an infinite derivative at 0; see sqrt_abs for the protected form.', formula: 'sqrt(x) = √x' },
    (a) => `\\sqrt{${a[0]}}`, Math.sqrt, (_t, self) => div(num(0.5), self), monotone(Math.sqrt),
    (a) => (I.reachesNegative(a) ? 'sqrt of an argument that can be negative (NaN)' : I.reachesNonPositive(a) ? 'sqrt of an argument that can reach 0 (infinite gradient)' : undefined)),
  unary('abs', 'elementary',
    { summary: 'Absolute value; its derivative is sign(x) (0 at the kink).', formula: 'abs(x) = |x|' },
    (a) => `\\left|${a[0]}\\right|`, Math.abs, (t) => sign(t), (a) => I.evenIncreasing(a, Math.abs)),
  unary('sign', 'elementary',
    { summary: 'Sign: -1, 0 or 1. Its derivative is 0.', formula: 'sign(x)' },
    fnLatex('\\operatorname{sign}'), Math.sign, () => null, (a) => I.increasing(a, Math.sign)),
  unary('step', 'elementary',
    { summary: 'Heaviside step, 1 where x >= 0 and 0 below; the derivative of max(x, 0). Its derivative is 0.', formula: 'step(x) = [x >= 0]' },
    fnLatex('\\operatorname{step}'), (t) => (t >= 0 ? 1 : 0), () => null, (a) => I.increasing(a, (t) => (t >= 0 ? 1 : 0))),
  unary('square', 'elementary',
    { summary: 'Square.', formula: 'square(x) = x^2' },
    (a) => `{\\left(${a[0]}\\right)}^{2}`, (t) => t * t, (t) => mul(num(2), t), (a) => I.evenIncreasing(a, (t) => t * t)),
  unary('log1p', 'elementary',
    { summary: 'log(1 + x), accurate for small x.', formula: 'log1p(x) = ln(1 + x)' },
    fnLatex('\\operatorname{log1p}'), Math.log1p, (t) => div(num(1), add(num(1), t)), monotone(Math.log1p),
    (a) => logDomain('log1p')(I.add(a, I.point(1)))),
  unary('expm1', 'elementary',
    { summary: 'exp(x) - 1, accurate for small x.', formula: 'expm1(x) = e^x - 1' },
    fnLatex('\\operatorname{expm1}'), Math.expm1, (t) => call('exp', t), monotone(Math.expm1)),
  unary('sin', 'elementary', { summary: 'Sine.', formula: 'sin(x)' }, fnLatex('\\sin'), Math.sin, (t) => call('cos', t), within(-1, 1)),
  unary('cos', 'elementary', { summary: 'Cosine.', formula: 'cos(x)' }, fnLatex('\\cos'), Math.cos, (t) => neg(call('sin', t)), within(-1, 1)),
  unary('tanh', 'elementary', { summary: 'Hyperbolic tangent.', formula: 'tanh(x)' }, fnLatex('\\tanh'), Math.tanh, (t) => call('dtanh', t), monotone(Math.tanh)),
  unary('sinh', 'elementary', { summary: 'Hyperbolic sine (seed-system operator).', formula: 'sinh(x) = (e^x - e^-x)/2' }, fnLatex('\\sinh'), Math.sinh, (t) => call('cosh', t), monotone(Math.sinh)),
  unary('cosh', 'elementary', { summary: 'Hyperbolic cosine.', formula: 'cosh(x) = (e^x + e^-x)/2' }, fnLatex('\\cosh'), Math.cosh, (t) => call('sinh', t), (a) => I.evenIncreasing(a, Math.cosh)),
  unary('asinh', 'elementary', { summary: 'Inverse hyperbolic sine (seed-system operator).', formula: 'asinh(x) = ln(x + √(x²+1))' }, fnLatex('\\operatorname{asinh}'), Math.asinh,
    (t) => div(num(1), call('sqrt', add(num(1), pow(t, num(2))))), monotone(Math.asinh)),
  unary('atan', 'elementary', { summary: 'Inverse tangent (seed-system operator).', formula: 'atan(x)' }, fnLatex('\\arctan'), Math.atan,
    (t) => div(num(1), add(num(1), pow(t, num(2)))), monotone(Math.atan)),
  unary('sigmoid', 'elementary', { summary: 'Logistic sigmoid.', formula: 'sigmoid(x) = 1 / (1 + e^-x)' }, fnLatex('\\sigma'), sigm, (t) => call('dsigmoid', t), monotone(sigm)),
  unary('softplus', 'elementary', { summary: 'Softplus, a smooth max(x, 0); computed stably.', formula: 'softplus(x) = ln(1 + e^x)' }, fnLatex('\\operatorname{softplus}'), softplusF,
    (t) => call('sigmoid', t), monotone(softplusF)),
  unary('erf', 'special', { summary: 'Error function.', formula: 'erf(x) = 2/√π ∫₀ˣ e^(-t²) dt' }, fnLatex('\\operatorname{erf}'), S.erf,
    (t) => mul(num(SQRT_PI_2), call('exp', neg(pow(t, num(2))))), monotone(S.erf)),
  unary('erfc', 'special', { summary: 'Complementary error function, accurate in the tail.', formula: 'erfc(x) = 1 - erf(x)' }, fnLatex('\\operatorname{erfc}'), S.erfc,
    (t) => mul(num(-SQRT_PI_2), call('exp', neg(pow(t, num(2))))), (a) => I.decreasing(a, S.erfc)),

  // ---------------------------------------------------------------- protected (seed system)
  unary('ln', 'protected',
    { summary: 'Protected natural log of |x| (seed-system operator): finite everywhere.', formula: `ln(x) = log(|x| + ${EPS})`, reference: 'Morgan & Hougen, NLFS search space' },
    fnLatex('\\ln'), (t) => Math.log(Math.abs(t) + EPS), (t) => div(sign(t), add(abs(t), num(EPS))), (a) => I.evenIncreasing(a, (t) => Math.log(Math.abs(t) + EPS))),
  unary('log10', 'protected',
    { summary: 'Protected base-10 log of |x| (seed-system operator).', formula: `log10(x) = log10(|x| + ${EPS})`, reference: 'Morgan & Hougen, NLFS search space' },
    fnLatex('\\log_{10}'), (t) => Math.log10(Math.abs(t) + EPS), (t) => div(sign(t), mul(num(LN10), add(abs(t), num(EPS)))), (a) => I.evenIncreasing(a, (t) => Math.log10(Math.abs(t) + EPS))),
  unary('reciprocal', 'protected',
    { summary: 'Protected reciprocal (seed-system operator).', formula: `reciprocal(x) = 1 / (x + ${EPS})`, reference: 'Morgan & Hougen, NLFS search space' },
    (a) => `\\frac{1}{${a[0]} + \\epsilon}`, (t) => 1 / (t + EPS), (t) => neg(div(num(1), pow(add(t, num(EPS)), num(2)))), (a) => I.reciprocal(I.add(a, I.point(EPS)))),
  unary('inv1p_abs', 'protected',
    { summary: 'Bounded reciprocal 1/(1+|x|) (seed-system operator), in (0, 1].', formula: 'inv1p_abs(x) = 1 / (1 + |x|)', reference: 'Morgan & Hougen, NLFS search space' },
    (a) => `\\frac{1}{1 + \\left|${a[0]}\\right|}`, (t) => 1 / (1 + Math.abs(t)), (t) => neg(div(sign(t), pow(add(num(1), abs(t)), num(2)))), () => I.iv(0, 1, true)),
  unary('softsign', 'protected',
    { summary: 'Softsign x/(1+|x|) (seed-system operator), in (-1, 1).', formula: 'softsign(x) = x / (1 + |x|)', reference: 'Morgan & Hougen, NLFS search space' },
    (a) => `\\frac{${a[0]}}{1 + \\left|${a[0]}\\right|}`, (t) => t / (1 + Math.abs(t)), (t) => div(num(1), pow(add(num(1), abs(t)), num(2))), monotone((t) => t / (1 + Math.abs(t)))),
  unary('sqrt_abs', 'protected',
    { summary: 'Square root of |x| (seed-system operator); infinite derivative at 0.', formula: 'sqrt_abs(x) = √|x|', reference: 'Morgan & Hougen, NLFS search space' },
    (a) => `\\sqrt{\\left|${a[0]}\\right|}`, (t) => Math.sqrt(Math.abs(t)), (t, self) => div(sign(t), mul(num(2), self)), (a) => I.evenIncreasing(a, (t) => Math.sqrt(Math.abs(t)))),
  unary('dtanh', 'protected',
    { summary: 'Derivative of tanh (seed-system operator), in (0, 1].', formula: 'dtanh(x) = 1 - tanh(x)^2', reference: 'Morgan & Hougen, NLFS search space' },
    (a) => `\\operatorname{sech}^2\\left(${a[0]}\\right)`, (t) => 1 - Math.tanh(t) ** 2, (t, self) => mul(mul(num(-2), call('tanh', t)), self), () => I.iv(0, 1, true)),
  unary('dsigmoid', 'protected',
    { summary: 'Derivative of the sigmoid (seed-system operator), in (0, 1/4].', formula: 'dsigmoid(x) = sigmoid(x) (1 - sigmoid(x))', reference: 'Morgan & Hougen, NLFS search space' },
    (a) => `\\sigma'\\left(${a[0]}\\right)`, (t) => sigm(t) * (1 - sigm(t)), (t, self) => mul(self, sub(num(1), mul(num(2), call('sigmoid', t)))), () => I.iv(0, 0.25, true)),
  elementwise({
    name: 'pdiv', category: 'protected', args: [x('a'), x('b')],
    doc: { summary: 'Protected division (seed-system binary operator).', formula: `pdiv(a, b) = a / (b + ${EPS})`, reference: 'Morgan & Hougen, NLFS search space' },
    latex: (a) => `\\frac{${a[0]}}{${a[1]} + \\epsilon}`,
    fn: (a, b) => a / (b + EPS),
    d: (a) => [div(num(1), add(a[1], num(EPS))), neg(div(a[0], pow(add(a[1], num(EPS)), num(2))))],
    range: (a) => I.div(a[0], I.add(a[1], I.point(EPS))),
  }),
  elementwise({
    name: 'aq', category: 'protected', args: [x('a'), x('b')],
    doc: { summary: 'Analytic quotient: a smooth, bounded stand-in for division (seed system, EvoMAL).', formula: 'aq(a, b) = a / √(1 + b²)', reference: 'Ni et al. 2013; EvoMAL (Raymond et al., TPAMI 2023)' },
    latex: (a) => `\\frac{${a[0]}}{\\sqrt{1 + {${a[1]}}^{2}}}`,
    fn: (a, b) => a / Math.sqrt(1 + b * b),
    d: (a) => [
      div(num(1), call('sqrt', add(num(1), pow(a[1], num(2))))),
      neg(div(mul(a[0], a[1]), pow(add(num(1), pow(a[1], num(2))), num(1.5)))),
    ],
    range: (a) => I.mul(a[0], I.iv(0, 1, true)),
  }),
  elementwise({
    name: 'max', id: 'max2', category: 'elementary', args: [x('a'), x('b')],
    doc: { summary: 'Elementwise maximum of two arguments (`max(x, 0)` is ReLU). With one vector argument, max reduces instead.', formula: 'max(a, b)' },
    latex: (a) => `\\max\\left(${a[0]}, ${a[1]}\\right)`,
    fn: (a, b) => Math.max(a, b),
    d: (a) => [step(sub(a[0], a[1])), sub(num(1), step(sub(a[0], a[1])))],
    range: (a) => I.iv(Math.max(a[0].lo, a[1].lo), Math.max(a[0].hi, a[1].hi), a[0].lo >= a[1].lo ? a[0].loOpen : a[1].loOpen, a[0].hi >= a[1].hi ? a[0].hiOpen : a[1].hiOpen),
  }),
  elementwise({
    name: 'min', id: 'min2', category: 'elementary', args: [x('a'), x('b')],
    doc: { summary: 'Elementwise minimum of two arguments. With one vector argument, min reduces instead.', formula: 'min(a, b)' },
    latex: (a) => `\\min\\left(${a[0]}, ${a[1]}\\right)`,
    fn: (a, b) => Math.min(a, b),
    d: (a) => [step(sub(a[1], a[0])), sub(num(1), step(sub(a[1], a[0])))],
    range: (a) => I.iv(Math.min(a[0].lo, a[1].lo), Math.min(a[0].hi, a[1].hi), a[0].lo <= a[1].lo ? a[0].loOpen : a[1].loOpen, a[0].hi <= a[1].hi ? a[0].hiOpen : a[1].hiOpen),
  }),
  elementwise({
    name: 'clamp', category: 'elementary', args: [x('x'), x('lo'), x('hi')],
    doc: { summary: 'Clamp x into [lo, hi]; the gradient passes where lo <= x <= hi. Use it to guard log and sqrt: log(clamp(x, 1e-7, 1)).', formula: 'clamp(x, lo, hi) = min(max(x, lo), hi)' },
    latex: (a) => `\\operatorname{clamp}\\left(${a.join(', ')}\\right)`,
    fn: (t, lo, hi) => Math.min(Math.max(t, lo), hi),
    d: (a) => [
      mul(step(sub(a[0], a[1])), step(sub(a[2], a[0]))),
      sub(num(1), step(sub(a[0], a[1]))),
      sub(num(1), step(sub(a[2], a[0]))),
    ],
    range: (a) => I.intersect(I.hull(a[0], I.hull(a[1], a[2])), I.iv(a[1].lo, a[2].hi, a[1].loOpen, a[2].hiOpen)),
  }),

  // ---------------------------------------------------------------- Bessel
  unary('i0', 'special',
    { summary: 'Modified Bessel function of the first kind, order 0 (even, >= 1). Overflows float32 near |x| = 92: prefer i0e.', formula: 'i0(x) = Σ_k (x/2)^(2k) / (k!)²', reference: 'Abramowitz & Stegun 9.6; Cephes i0' },
    fnLatex('I_0'), S.i0, (t) => call('i1', t), (a) => I.evenIncreasing(a, S.i0)),
  unary('i1', 'special',
    { summary: 'Modified Bessel function of the first kind, order 1 (odd).', formula: "i1(x) = i0'(x)", reference: 'Abramowitz & Stegun 9.6; Cephes i1' },
    fnLatex('I_1'), S.i1, (t) => sub(call('i0', t), call('i1x', t)), monotone(S.i1)),
  unary('i0e', 'special',
    { summary: 'Exponentially scaled i0, in (0, 1]; stable for any x. log i0(x) = |x| + log(i0e(x)). Kink at 0 (one-sided slopes -1, +1).', formula: 'i0e(x) = exp(-|x|) i0(x)', reference: 'Cephes i0e; TensorFlow bessel_i0e' },
    fnLatex('I_0^{e}'), S.i0e, (t, self) => sub(call('i1e', t), mul(sign(t), self)), (a) => I.decreasing(I.evenIncreasing(a, Math.abs), S.i0e)),
  unary('i1e', 'special',
    { summary: 'Exponentially scaled i1, bounded; stable for any x.', formula: 'i1e(x) = exp(-|x|) i1(x)', reference: 'Cephes i1e; TensorFlow bessel_i1e' },
    fnLatex('I_1^{e}'), S.i1e, (t, self) => sub(sub(call('i0e', t), mul(sign(t), self)), call('i1ex', t)), within(-0.25, 0.25)),
  unary('i1x', 'special',
    { summary: 'i1(x)/x, equal to 1/2 at 0 (appears in the derivative of i1).', formula: 'i1x(x) = i1(x) / x' },
    (a) => `\\frac{I_1\\left(${a[0]}\\right)}{${a[0]}}`, S.i1OverX, (t) => div(sub(call('i0', t), mul(num(2), call('i1x', t))), t), (a) => I.evenIncreasing(a, S.i1OverX)),
  unary('i1ex', 'special',
    { summary: 'i1e(x)/x, equal to 1/2 at 0 (appears in the derivative of i1e).', formula: 'i1ex(x) = i1e(x) / x' },
    (a) => `\\frac{I_1^{e}\\left(${a[0]}\\right)}{${a[0]}}`, S.i1eOverX,
    (t, self) => div(sub(sub(call('i0e', t), mul(sign(t), call('i1e', t))), mul(num(2), self)), t), within(0, 0.5)),
  unary('j0', 'special',
    { summary: 'Bessel function of the first kind, order 0.', formula: 'j0(x) = Σ_k (-1)^k (x/2)^(2k) / (k!)²', reference: 'Abramowitz & Stegun 9.1; Cephes j0' },
    fnLatex('J_0'), S.j0, (t) => neg(call('j1', t)), within(-0.41, 1)),
  unary('j1', 'special',
    { summary: 'Bessel function of the first kind, order 1.', formula: "j1(x) = -j0'(x)", reference: 'Abramowitz & Stegun 9.1; Cephes j1' },
    fnLatex('J_1'), S.j1, (t) => sub(call('j0', t), call('j1x', t)), within(-0.59, 0.59)),
  unary('j1x', 'special',
    { summary: 'j1(x)/x, equal to 1/2 at 0 (appears in the derivative of j1).', formula: 'j1x(x) = j1(x) / x' },
    (a) => `\\frac{J_1\\left(${a[0]}\\right)}{${a[0]}}`, S.j1OverX, (t) => div(sub(call('j0', t), mul(num(2), call('j1x', t))), t), within(-0.14, 0.5)),

  // ---------------------------------------------------------------- tempered (bi-tempered loss)
  elementwise({
    name: 'log_t', category: 'tempered', args: [x('x'), c('t')],
    doc: { summary: 'Tempered logarithm; log at t = 1, bounded below for t < 1.', formula: 'log_t(x, t) = (x^(1-t) - 1) / (1 - t)', reference: 'Amid et al., Robust bi-tempered logistic loss, NeurIPS 2019' },
    latex: (a) => `\\log_{${a[1]}}\\left(${a[0]}\\right)`,
    fn: S.logT,
    d: (a) => [pow(a[0], neg(a[1])), null],
    range: (a) => I.increasing(a[0], (t) => S.logT(t, a[1].lo)),
    domain: (a) => (I.reachesNegative(a[0]) ? 'log_t of an argument that can be negative (NaN)' : I.reachesNonPositive(a[0]) && a[1].hi >= 1 ? 'log_t of an argument that can reach 0 (-Infinity)' : undefined),
  }),
  elementwise({
    name: 'exp_t', category: 'tempered', args: [x('x'), c('t')],
    doc: { summary: 'Tempered exponential; exp at t = 1, heavy-tailed for t > 1.', formula: 'exp_t(x, t) = [1 + (1 - t) x]_+^(1/(1-t))', reference: 'Amid et al., Robust bi-tempered logistic loss, NeurIPS 2019' },
    latex: (a) => `\\exp_{${a[1]}}\\left(${a[0]}\\right)`,
    fn: S.expT,
    d: (a, self) => [pow(self, a[1]), null],
    range: () => I.NONNEG,
  }),
  vector({
    id: 'tempered_softmax', name: 'tempered_softmax', shape: 'map', callable: true, category: 'tempered', args: [v('z'), c('t')],
    doc: { summary: 'Tempered softmax: exp_t(z - λ(z)) with λ chosen so that the result sums to 1 (heavy-tailed for t > 1). Normalised to convergence, not a fixed 5 iterations.', formula: 'tempered_softmax(z, t)_k = exp_t(z_k - λ(z), t),  Σ_k = 1', reference: 'Amid et al., Robust bi-tempered logistic loss, NeurIPS 2019' },
    latex: (a) => `\\operatorname{softmax}_{${a[1]}}\\left(${a[0]}\\right)_k`,
    fn: (z, t) => Float64Array.from(S.temperedSoftmax(Array.from(z), t)),
    derivative: {
      vjp: (a, adj, self) => {
        const w = pow(self, a[1]);
        return [mul(w, sub(adj, div(call('sum', mul(w, adj)), call('sum', w)))), null];
      },
    },
    range: (a) => (a[1].lo >= 1 ? I.UNIT_OPEN : I.UNIT_CLOSED),
  }),

  // ---------------------------------------------------------------- reductions over classes
  vector({
    id: 'sum', name: 'sum', shape: 'reduction', callable: true, category: 'reduction', args: [v()],
    doc: reduceDoc('Sum over classes. sum(y * f) picks f of the true class when y is one-hot.', 'sum(v) = Σ_k v_k'),
    latex: (a) => `\\sum_k ${a[0]}`,
    fn: (u) => u.reduce((s, t) => s + t, 0),
    derivative: { vjp: (_a, adj) => [adj] },
    range: (a) => sumRange(a[0]),
  }),
  vector({
    id: 'mean', name: 'mean', shape: 'reduction', callable: true, category: 'reduction', args: [v()],
    doc: reduceDoc('Mean over classes.', 'mean(v) = (1/C) Σ_k v_k'),
    latex: (a) => `\\frac{1}{C}\\sum_k ${a[0]}`,
    fn: (u) => u.reduce((s, t) => s + t, 0) / u.length,
    derivative: { vjp: (_a, adj) => [div(adj, { kind: 'Name', name: 'C', range: { start: 0, end: 0 } })] },
    range: (a) => a[0],
  }),
  vector({
    id: 'max', name: 'max', shape: 'reduction', callable: true, category: 'reduction', args: [v()],
    doc: reduceDoc('Largest element over classes (with one vector argument; with two arguments max is elementwise).', 'max(v) = max_k v_k'),
    latex: (a) => `\\max_k ${a[0]}`,
    fn: (u) => u.reduce((s, t) => Math.max(s, t), -Infinity),
    derivative: { vjp: (a, adj, self) => [mul(adj, step(sub(a[0], self)))] },
    range: (a) => a[0],
  }),
  vector({
    id: 'min', name: 'min', shape: 'reduction', callable: true, category: 'reduction', args: [v()],
    doc: reduceDoc('Smallest element over classes (with one vector argument; with two arguments min is elementwise).', 'min(v) = min_k v_k'),
    latex: (a) => `\\min_k ${a[0]}`,
    fn: (u) => u.reduce((s, t) => Math.min(s, t), Infinity),
    derivative: { vjp: (a, adj, self) => [mul(adj, step(sub(self, a[0])))] },
    range: (a) => a[0],
  }),
  vector({
    id: 'logsumexp', name: 'logsumexp', shape: 'reduction', callable: true, category: 'reduction', args: [v()],
    doc: reduceDoc('Log of the sum of exponentials, computed stably; CE = logsumexp(logits) - sum(y * logits).', 'logsumexp(v) = log Σ_k exp(v_k)'),
    latex: (a) => `\\log\\sum_k e^{${a[0]}}`,
    fn: logsumexpF,
    derivative: { vjp: (a, adj) => [mul(adj, call('softmax', a[0]))] },
    range: (a) => I.iv(a[0].lo, Infinity, a[0].loOpen, true),
  }),

  // ---------------------------------------------------------------- probability maps
  vector({
    id: 'softmax', name: 'softmax', shape: 'map', callable: true, category: 'probability', args: [v('z')],
    doc: { summary: 'Softmax over classes; p is softmax(logits).', formula: 'softmax(z)_k = exp(z_k) / Σ_j exp(z_j)' },
    latex: (a) => `\\operatorname{softmax}\\left(${a[0]}\\right)_k`,
    fn: softmaxF,
    derivative: { vjp: (_a, adj, self) => [mul(self, sub(adj, call('sum', mul(adj, self))))] },
    range: () => I.UNIT_OPEN,
  }),
  vector({
    id: 'log_softmax', name: 'log_softmax', shape: 'map', callable: true, category: 'probability', args: [v('z')],
    doc: { summary: 'Log of the softmax, computed stably from logits: prefer it to log(p).', formula: 'log_softmax(z)_k = z_k - logsumexp(z)' },
    latex: (a) => `\\log\\operatorname{softmax}\\left(${a[0]}\\right)_k`,
    fn: (z) => {
      const l = logsumexpF(z);
      return z.map((t) => t - l);
    },
    derivative: { vjp: (a, adj) => [sub(adj, mul(call('softmax', a[0]), call('sum', adj)))] },
    range: () => I.iv(-Infinity, 0, true, true),
  }),
  vector({
    id: 'log1m_softmax', name: 'log1m_softmax', shape: 'map', callable: true, category: 'probability', args: [v('z')],
    doc: {
      summary: 'Log of one minus the softmax, computed stably from logits: prefer log1m_softmax(logits) to log(1 - p), which is -Infinity where p rounds to 1 (in float32 once a logit leads the rest by about 17).',
      formula: 'log1m_softmax(z)_k = log(1 - softmax(z)_k) = logsumexp_{j≠k}(z_j) - logsumexp(z)',
    },
    latex: (a) => `\\log\\left(1 - \\operatorname{softmax}\\left(${a[0]}\\right)_k\\right)`,
    fn: log1mSoftmaxF,
    derivative: {
      // d log(1 - p_k)/dz_i = -odds_k (δ_ki - p_i) with odds = p / (1 - p) = exp(log_softmax(z) - self).
      vjp: (a, adj, self) => {
        const w = mul(adj, call('exp', sub(call('log_softmax', a[0]), self)));
        return [sub(mul(call('softmax', a[0]), call('sum', w)), w)];
      },
    },
    range: () => I.iv(-Infinity, 0, true, true),
  }),

  // ---------------------------------------------------------------- reductions over pixels (task segmentation)
  pixelReduction({
    id: 'sum_px', name: 'sum_px', shape: 'pixel-reduction', callable: true, category: 'pixel-reduction', args: [px()],
    doc: {
      summary: 'Sum over the pixels of the image (task segmentation): a field gives a scalar, a map a vector over classes. sum_px(p * y) is the soft intersection of each class with its target region, as in the Dice loss.',
      formula: 'sum_px(x) = Σ_i x_i over the P pixels i',
    },
    latex: (a) => `\\sum_{i} ${a[0]}`,
    fn: (u) => u.reduce((s, t) => s + t, 0),
    derivative: { vjp: (_a, adj) => [adj] },
    range: (a) => pixelSumRange(a[0]),
  }),
  pixelReduction({
    id: 'mean_px', name: 'mean_px', shape: 'pixel-reduction', callable: true, category: 'pixel-reduction', args: [px()],
    doc: {
      summary: 'Mean over the pixels of the image (task segmentation): a field gives a scalar, a map a vector over classes. mean_px(-sum(y * log(p))) is cross-entropy per pixel, averaged over the image.',
      formula: 'mean_px(x) = (1/P) Σ_i x_i over the P pixels i',
    },
    latex: (a) => `\\frac{1}{P}\\sum_{i} ${a[0]}`,
    fn: (u) => u.reduce((s, t) => s + t, 0) / u.length,
    derivative: { vjp: (_a, adj) => [div(adj, { kind: 'Name', name: 'P', range: { start: 0, end: 0 } })] },
    range: (a) => a[0],
  }),

  // ---------------------------------------------------------------- utility
  unary('stop_gradient', 'utility',
    { summary: 'Identity in value, blocks the gradient (for targets built from the prediction, e.g. AACE).', formula: 'stop_gradient(x) = x, ∂/∂x = 0' },
    (a) => `\\operatorname{sg}\\left(${a[0]}\\right)`, (t) => t, () => null, (a) => a),
];

/** A builtin's interval rule, REAL when it throws or gives NaN (no closure: this runs per node). */
export function safeRange(b: Builtin, args: Interval[]): Interval {
  try {
    const r = b.range(args);
    return Number.isNaN(r.lo) || Number.isNaN(r.hi) ? I.REAL : r;
  } catch {
    return I.REAL;
  }
}

/** Bounds of Σ_k v_k over C >= 2 classes, elementwise bounds given. */
export function sumRange(a: Interval): Interval {
  const lo = a.lo > 0 ? 2 * a.lo : a.lo === 0 ? 0 : -Infinity;
  const hi = a.hi < 0 ? 2 * a.hi : a.hi === 0 ? 0 : Infinity;
  return I.iv(lo, hi, a.loOpen, a.hiOpen);
}

/** Bounds of Σ_i x_i over P >= 1 pixels, elementwise bounds given. */
export function pixelSumRange(a: Interval): Interval {
  const lo = a.lo >= 0 ? a.lo : -Infinity;
  const hi = a.hi <= 0 ? a.hi : Infinity;
  return I.iv(lo, hi, a.loOpen, a.hiOpen);
}

/** Every builtin's id, as a type: per-layer tables keyed by it (tfjs lowering, exports) must be total. */
export type BuiltinId = (typeof LIST)[number]['id'];

export const BUILTINS: readonly Builtin[] = LIST;

const byId = new Map<string, Builtin>(LIST.map((b) => [b.id, b]));
const byName = new Map<string, Builtin[]>();
for (const b of LIST) {
  if (!b.callable) continue;
  const arr = byName.get(b.name) ?? [];
  arr.push(b);
  byName.set(b.name, arr);
}

export function builtinById(id: string): Builtin {
  const b = byId.get(id);
  if (!b) throw new Error(`no builtin ${id}`);
  return b;
}

/** All overloads callable under `name` (empty if none). */
export function overloads(name: string): Builtin[] {
  return byName.get(name) ?? [];
}

/** The overload of `name` taking `arity` arguments. */
export function resolveCall(name: string, arity: number): Builtin | undefined {
  return overloads(name).find((b) => b.args.length === arity);
}

export const CALLABLE_NAMES: readonly string[] = [...byName.keys()].sort();

export const OPERATOR_IDS: Record<'+' | '-' | '*' | '/' | '^', string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '^': 'pow' };

/** Signature text, e.g. `log_t(x, t: const) -> same`. */
export function signature(b: Builtin): string {
  const args = b.args.map((a) => (a.kind === 'any' ? a.name : `${a.name}: ${a.kind}`)).join(', ');
  const res =
    b.shape === 'elementwise'
      ? b.args.length > 1
        ? 'scalar or vector (broadcast)'
        : 'same as x'
      : b.shape === 'reduction'
        ? 'scalar'
        : b.shape === 'pixel-reduction'
          ? 'scalar (from a field) or vector (from a map)'
          : 'vector';
  return `${b.name}(${args}) -> ${res}`;
}

/**
 * An input of the losses of one task. A name means the same thing in every task that has it
 * (y, logits and p are per sample in classification, per pixel in segmentation).
 */
export interface InputSpec {
  name: string;
  type: Ty;
  doc: string;
  range: Interval;
  latex: string;
  /** A per-sample scalar input's value wherever data does not give one (the preview's 1-D view, the integrity check). */
  view?: number;
  /** Why the task's trainings do not supply it (a loss that reads it is checked, previewed and exported, not trained). */
  untrained?: string;
}

export type TaskName = 'classification' | 'gan' | 'segmentation';

/**
 * What a file's losses are for, declared by a `task NAME` line (none: classification). A task
 * defines the inputs its losses see; the checker, hover, completion, intervals, derivatives,
 * LaTeX and the exporters all read them here.
 */
export interface TaskSpec {
  name: TaskName;
  /** One sentence for hover and completion. */
  doc: string;
  inputs: readonly InputSpec[];
  /** What the derivative preview differentiates with respect to. */
  wrt: readonly string[];
}

const CLASSIFICATION_INPUTS: readonly InputSpec[] = [
  { name: 'y', type: 'vector', doc: 'Target distribution over classes: one-hot, or soft under label smoothing, mixup or cutmix. Sums to 1.', range: I.UNIT_CLOSED, latex: 'y' },
  { name: 'logits', type: 'vector', doc: 'Raw network outputs (logits), one per class.', range: I.REAL, latex: 'z' },
  { name: 'p', type: 'vector', doc: 'Predicted probabilities, p = softmax(logits). Strictly inside (0, 1), sums to 1.', range: I.UNIT_OPEN, latex: 'p' },
  { name: 'C', type: 'scalar', doc: 'Number of classes.', range: I.iv(2, Infinity), latex: 'C' },
  {
    name: 'iou',
    type: 'scalar',
    doc: "IoU of the sample's predicted box with its ground-truth box (detection), in [0, 1], by which IoU-balanced classification weights a positive's loss. Classification datasets have no boxes: a loss that reads it can be checked, previewed (at iou 0.5) and exported, not trained here.",
    range: I.UNIT_CLOSED,
    latex: '\\mathrm{IoU}',
    view: 0.5,
    untrained: "a detector's input: classification runs have no boxes",
  },
];

const GAN_INPUTS: readonly InputSpec[] = [
  { name: 'd_real', type: 'scalar', doc: "The discriminator's raw output (logit, or critic value for WGAN) on a real sample.", range: I.REAL, latex: 'D(x)', view: 2 },
  { name: 'd_fake', type: 'scalar', doc: "The discriminator's raw output (logit, or critic value for WGAN) on a generated sample G(z).", range: I.REAL, latex: 'D(G(z))', view: 0 },
  {
    name: 'grad_norm',
    type: 'scalar',
    doc: "The norm of the discriminator's gradient with respect to its input at a random interpolate of a real and a generated sample, for gradient penalties (WGAN-GP). At least 0.",
    range: I.iv(0, Infinity),
    latex: '\\lVert \\nabla D(\\hat{x}) \\rVert',
    view: 1,
  },
];

const SEGMENTATION_INPUTS: readonly InputSpec[] = [
  { name: 'y', type: 'map', doc: "Target per pixel: a distribution over classes at each pixel (one-hot from the mask). A map over pixels and classes; sum_px(y) is each class's area.", range: I.UNIT_CLOSED, latex: 'y' },
  { name: 'logits', type: 'map', doc: "Raw network outputs per pixel, one per class. A map over pixels and classes.", range: I.REAL, latex: 'z' },
  { name: 'p', type: 'map', doc: 'Predicted probabilities per pixel, p = softmax(logits) over the classes at each pixel. Strictly inside (0, 1); sums to 1 over the classes at each pixel.', range: I.UNIT_OPEN, latex: 'p' },
  { name: 'C', type: 'scalar', doc: 'Number of classes (background included).', range: I.iv(2, Infinity), latex: 'C' },
  { name: 'P', type: 'scalar', doc: 'Number of pixels of the image.', range: I.iv(1, Infinity), latex: 'P' },
  {
    name: 'dist',
    type: 'map',
    doc: "Signed distance of each pixel to the boundary of each class's target region, in pixels: negative inside the region, positive outside, 0 everywhere for a class absent from the image (Kervadec et al.'s boundary loss reads sum_px(dist * p)). Computed from the mask by the run.",
    range: I.REAL,
    latex: '\\phi',
  },
];

export const TASKS: Readonly<Record<TaskName, TaskSpec>> = {
  classification: {
    name: 'classification',
    doc: 'Classification (the default): a loss per example from the targets y and the logits or probabilities over the classes.',
    inputs: CLASSIFICATION_INPUTS,
    wrt: ['logits', 'p'],
  },
  gan: {
    name: 'gan',
    doc: "GAN training: a generator's and a discriminator's loss per pair of samples, from the discriminator's outputs on a real and a generated sample. Losses come in pairs: NAME_g (generator) and NAME_d (discriminator).",
    inputs: GAN_INPUTS,
    wrt: ['d_fake', 'd_real'],
  },
  segmentation: {
    name: 'segmentation',
    doc: 'Semantic segmentation: a loss per image from the per-pixel targets y and logits or probabilities over the classes (maps over pixels and classes), reduced over pixels with sum_px or mean_px and over classes with sum or mean.',
    inputs: SEGMENTATION_INPUTS,
    wrt: ['logits', 'p'],
  },
};

export const TASK_NAMES: readonly TaskName[] = Object.keys(TASKS) as TaskName[];

export function isTaskName(name: string): name is TaskName {
  return Object.prototype.hasOwnProperty.call(TASKS, name);
}

/** The classification inputs (files without a `task` line). */
export const INPUTS: readonly InputSpec[] = CLASSIFICATION_INPUTS;

/** Per-sample scalar inputs of every task with the value they take where data gives none. */
export const SCALAR_INPUT_VIEWS: readonly { name: string; view: number }[] = TASK_NAMES.flatMap((t) =>
  TASKS[t].inputs.filter((i) => i.view !== undefined).map((i) => ({ name: i.name, view: i.view! })),
);

/** The inputs a task's trainings supply per sample (all but the `untrained` ones). */
export function trainedInputs(task: TaskName): ReadonlySet<string> {
  return new Set(TASKS[task].inputs.filter((i) => !i.untrained).map((i) => i.name));
}

/** Every input name of every task: a name no definition may take. */
export const INPUT_NAMES = new Set(TASK_NAMES.flatMap((t) => TASKS[t].inputs.map((i) => i.name)));

/** The input `name` of `task` (default classification), or undefined. */
export function inputSpec(name: string, task: TaskName = 'classification'): InputSpec | undefined {
  return TASKS[task].inputs.find((i) => i.name === name);
}

/** The input `name` of whichever task has it (hover and LaTeX of a name out of place). */
export function anyInputSpec(name: string): InputSpec | undefined {
  for (const t of TASK_NAMES) {
    const i = inputSpec(name, t);
    if (i) return i;
  }
  return undefined;
}

/** The task whose input `name` is. */
export function taskOfInput(name: string): TaskName | undefined {
  return TASK_NAMES.find((t) => inputSpec(name, t) !== undefined);
}
