/**
 * Pieces shared by the three Python targets: the arithmetic operators (torch, jax.numpy and
 * TensorFlow all overload + - * / ** and unary minus the same way), parenthesisation, number
 * literals and Python identifier hygiene.
 */
import { PREC, type Code, type Template } from './types';

/** `a` as an operand that needs at least precedence `min`. */
export function operand(a: Code, min: number): string {
  return a.prec < min ? `(${a.code})` : a.code;
}

/** `a` as a function argument (any expression is fine inside the call's parentheses). */
export const arg = (a: Code): string => a.code;

/**
 * The five arithmetic operators and negation. Python evaluates `a - (b - c)` and `a / (b * c)`
 * as written, and `**` is right-associative and binds tighter than unary minus on its left
 * (`-x ** 2` is `-(x ** 2)`, as in the DSL). A power of two constants is taken on a tensor, so
 * that a negative base with a fractional exponent gives NaN (as the DSL) instead of a Python
 * complex number.
 */
export const OPERATOR_TEMPLATES = {
  add: (a) => ({ code: `${operand(a[0], PREC.add)} + ${operand(a[1], PREC.add + 1)}`, prec: PREC.add }),
  sub: (a) => ({ code: `${operand(a[0], PREC.add)} - ${operand(a[1], PREC.add + 1)}`, prec: PREC.add }),
  mul: (a) => ({ code: `${operand(a[0], PREC.mul)} * ${operand(a[1], PREC.mul + 1)}`, prec: PREC.mul }),
  div: (a) => ({ code: `${operand(a[0], PREC.mul)} / ${operand(a[1], PREC.mul + 1)}`, prec: PREC.mul }),
  pow: (a, cx) => {
    const base = a[0].kind === 'const' && a[1].kind === 'const' ? cx.tensor(a[0]) : operand(a[0], PREC.pow + 1);
    return { code: `${base} ** ${operand(a[1], PREC.unary)}`, prec: PREC.pow };
  },
  neg: (a) => ({ code: `-${operand(a[0], PREC.unary)}`, prec: PREC.unary }),
} satisfies Record<'add' | 'sub' | 'mul' | 'div' | 'pow' | 'neg', Template>;

/** A call of a helper the target emits on use. */
export const helper1 = (h: string): Template => (a, cx) => `${cx.use(h)}(${cx.tensor(a[0])})`;

/**
 * Builtins every target exports as a call of a helper it emits on use (Bessel J and the
 * scaled I1 forms, the tempered functions, log1m_softmax); each target supplies the helpers' code.
 */
export const HELPER_CALL_TEMPLATES = {
  i1x: helper1('bessel_i1x'),
  i1ex: helper1('bessel_i1ex'),
  j0: helper1('bessel_j0'),
  j1: helper1('bessel_j1'),
  j1x: helper1('bessel_j1x'),
  log_t: (a, cx) => `${cx.use('log_t')}(${cx.tensor(a[0])}, ${arg(a[1])})`,
  exp_t: (a, cx) => `${cx.use('exp_t')}(${cx.tensor(a[0])}, ${arg(a[1])})`,
  tempered_softmax: (a, cx) => `${cx.use('tempered_softmax')}(${arg(a[0])}, ${arg(a[1])})`,
  log1m_softmax: (a, cx) => `${cx.use('log1m_softmax')}(${arg(a[0])})`,
} satisfies Record<'i1x' | 'i1ex' | 'j0' | 'j1' | 'j1x' | 'log_t' | 'exp_t' | 'tempered_softmax' | 'log1m_softmax', Template>;

/**
 * A Python literal for a finite number: integers as integers (`2`, so `x ** 2` reads naturally),
 * everything else in JavaScript's shortest round-trip form, which Python parses to the same
 * double (`0.1`, `1e-10`, `1e+21`).
 */
export function pyNumber(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "float('nan')" : v > 0 ? "float('inf')" : "-float('inf')";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return String(v);
}

/** A Python float literal (always with a point or exponent): for keyword defaults. */
export function pyFloat(v: number): string {
  const s = pyNumber(v);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

export const PYTHON_KEYWORDS: readonly string[] = [
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del',
  'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal',
  'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield', 'match', 'case', 'type',
];

/** Python builtins the generated code relies on (never shadowed by user identifiers). */
export const PYTHON_BUILTINS: readonly string[] = ['float', 'range', 'abs', 'max', 'min', 'len', 'bool', 'int', 'sum', 'math'];

/** Chebyshev coefficients as a Python tuple literal. */
export function pyTuple(c: readonly number[]): string {
  return `(${c.map(pyNumber).join(', ')}${c.length === 1 ? ',' : ''})`;
}

/** Indents every non-empty line of `s` by `n` spaces. */
export function indent(s: string, n = 4): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');
}

/** -ln 2: log1m_softmax switches from log1p(-p) to the others' logsumexp above p = 1/2. */
export const MINUS_LN2 = pyNumber(-Math.LN2);
