/**
 * One scalar test loss per builtin id, exercising it on a safe domain with a dependence on the
 * logits. Typed by BuiltinId, so a new builtin without an entry fails to compile. Shared by the
 * symbolic-gradient tests, the tfjs lowering tests and the export tests.
 */
import type { BuiltinId } from '../../grammar/src/index';

const W = '(y + 0.5)';
const POS = '(p + 0.1)';

/** One test loss per builtin id; a new builtin without an entry here fails the test. */
export const BUILTIN_LOSSES: Record<BuiltinId, string> = {
  add: `sum(${W} * (logits + logits^2))`,
  sub: `sum(${W} * (logits^2 - 2 * logits))`,
  mul: `sum(${W} * logits * p)`,
  div: `sum(${W} * logits / ${POS})`,
  pow: `sum(${W} * ${POS}^(0.3 * logits))`,
  neg: `sum(${W} * neg(logits^3))`,
  log: `sum(${W} * log(${POS}))`,
  exp: `sum(${W} * exp(0.5 * logits))`,
  sqrt: `sum(${W} * sqrt(${POS}))`,
  abs: `sum(${W} * abs(logits) * logits)`,
  sign: `sum(${W} * sign(logits) * logits^2)`,
  step: `sum(${W} * step(logits) * logits^2)`,
  square: `sum(${W} * square(logits + p))`,
  log1p: `sum(${W} * log1p(p))`,
  expm1: `sum(${W} * expm1(0.5 * logits))`,
  sin: `sum(${W} * sin(logits))`,
  cos: `sum(${W} * cos(logits))`,
  tanh: `sum(${W} * tanh(logits))`,
  sinh: `sum(${W} * sinh(0.5 * logits))`,
  cosh: `sum(${W} * cosh(0.5 * logits))`,
  asinh: `sum(${W} * asinh(2 * logits))`,
  atan: `sum(${W} * atan(2 * logits))`,
  sigmoid: `sum(${W} * sigmoid(logits))`,
  softplus: `sum(${W} * softplus(2 * logits))`,
  erf: `sum(${W} * erf(logits))`,
  erfc: `sum(${W} * erfc(logits))`,
  ln: `sum(${W} * ln(logits))`,
  log10: `sum(${W} * log10(logits))`,
  reciprocal: `sum(${W} * reciprocal(${POS}))`,
  inv1p_abs: `sum(${W} * inv1p_abs(logits))`,
  softsign: `sum(${W} * softsign(logits))`,
  sqrt_abs: `sum(${W} * sqrt_abs(logits))`,
  dtanh: `sum(${W} * dtanh(logits))`,
  dsigmoid: `sum(${W} * dsigmoid(logits))`,
  pdiv: `sum(${W} * pdiv(logits, ${POS}))`,
  aq: `sum(${W} * aq(logits, 2 * p - logits))`,
  max2: `sum(${W} * max(logits, 0.5 * logits + 0.3))`,
  min2: `sum(${W} * min(logits, 0.5 * logits + 0.3))`,
  clamp: `sum(${W} * (clamp(logits, -1, 1) + clamp(0.2, logits, logits + 1)))`,
  i0: `sum(${W} * i0(2 * logits))`,
  i1: `sum(${W} * i1(2 * logits))`,
  i0e: `sum(${W} * i0e(3 * logits))`,
  i1e: `sum(${W} * i1e(3 * logits))`,
  i1x: `sum(${W} * i1x(2 * logits))`,
  i1ex: `sum(${W} * i1ex(2 * logits))`,
  j0: `sum(${W} * j0(4 * logits))`,
  j1: `sum(${W} * j1(4 * logits))`,
  j1x: `sum(${W} * j1x(4 * logits))`,
  log_t: `sum(${W} * (log_t(${POS}, 0.7) + log_t(${POS}, 1.4)))`,
  exp_t: `sum(${W} * (exp_t(0.3 * logits, 0.6) + exp_t(0.3 * logits, 1.5)))`,
  tempered_softmax: `sum(y * log(tempered_softmax(logits, 1.3))) + sum(${W} * tempered_softmax(logits, 0.7)^2)`,
  sum: `sum(${W} * logits^2)`,
  mean: `mean(${W} * logits^2)`,
  max: `max(${W} * logits)`,
  min: `min(${W} * logits)`,
  logsumexp: `logsumexp(1.3 * logits) - sum(y * logits)`,
  softmax: `sum(${W} * softmax(2 * logits))`,
  log_softmax: `-sum(y * log_softmax(logits^2 / 3))`,
  log1m_softmax: `-sum(${W} * log1m_softmax(2 * logits))`,
  stop_gradient: `sum(stop_gradient(p) * logits)`,
  // Pixel reductions need task segmentation's images: empty here (the loops above skip them),
  // tested in test/grammar/segmentation.test.ts (derivatives, evaluator, export, lowering).
  sum_px: '',
  mean_px: '',
};

