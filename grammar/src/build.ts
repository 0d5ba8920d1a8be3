/** Builders for synthesised expressions (derivatives, simplifier output). Ranges are empty. */
import type { BinaryOp, Expr } from './ast';

const R = { start: 0, end: 0 };

export const num = (value: number): Expr => ({ kind: 'Number', value, text: formatNumber(value), range: R });
export const ref = (name: string): Expr => ({ kind: 'Name', name, range: R });
export const call = (callee: string, ...args: Expr[]): Expr => ({ kind: 'Call', callee, calleeRange: R, args, range: R });
export const bin = (op: BinaryOp, left: Expr, right: Expr): Expr => ({ kind: 'Binary', op, left, right, range: R });
export const neg = (operand: Expr): Expr => ({ kind: 'Unary', op: '-', operand, range: R });
export const add = (a: Expr, b: Expr): Expr => bin('+', a, b);
export const sub = (a: Expr, b: Expr): Expr => bin('-', a, b);
export const mul = (a: Expr, b: Expr): Expr => bin('*', a, b);
export const div = (a: Expr, b: Expr): Expr => bin('/', a, b);
export const pow = (a: Expr, b: Expr): Expr => bin('^', a, b);

/** Shortest text that reads back as the same double. */
export function formatNumber(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v);
  const s = String(v);
  return s.replace('e+', 'e');
}
