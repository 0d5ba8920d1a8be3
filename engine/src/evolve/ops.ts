/**
 * The search's function set, expressed in DSL terms. Every operator of the seed system
 * (Morgan & Hougen's NLFS: 27 unary, 7 binary) maps to a DSL expression shape, so that
 * genomes are plain DSL ASTs and every candidate prints as a valid `.loss` file:
 *
 *   unary  f(x)    -> `-x`, `f(x)` for a callable builtin, `max(x, 0)` (relu), `min(x, 0)` (negrelu)
 *   binary g(a, b) -> `a + b`, `a - b`, `a * b`, `max(a, b)`, `min(a, b)`, `pdiv(a, b)`, `aq(a, b)`
 *
 * `classify` recognises these shapes in any expression (also in seeds written by hand), so
 * mutations can change an operator in place. `/` and `^` are recognised as binary operators
 * (for seeds) but are not in the default function set.
 */
import { build, children, resolveCall, type Expr } from '../../../grammar/src/index';

export interface UnaryOp {
  id: string;
  make: (a: Expr) => Expr;
}

export interface BinaryOp {
  id: string;
  /** Commutative operands are sorted in the canonical form. */
  commutative: boolean;
  make: (a: Expr, b: Expr) => Expr;
}

const zero = (): Expr => build.num(0);

/** The seed system's 27 unary operators, by our ids (DSL builtins where one exists). */
export const SEED_UNARY: readonly string[] = [
  'neg', 'ln', 'log10', 'exp', 'abs', 'sigmoid', 'inv1p_abs', 'softplus', 'erf', 'erfc', 'sin', 'sinh', 'asinh', 'tanh', 'atan',
  'reciprocal', 'i0', 'i0e', 'i1', 'i1e', 'relu', 'negrelu', 'square', 'sqrt_abs', 'softsign', 'dtanh', 'dsigmoid',
];

/** The seed system's 7 binary operators. */
export const SEED_BINARY: readonly string[] = ['add', 'sub', 'mul', 'max', 'min', 'pdiv', 'aq'];

const SPECIAL_UNARY: Record<string, UnaryOp> = {
  neg: { id: 'neg', make: (a) => build.neg(a) },
  relu: { id: 'relu', make: (a) => build.call('max', a, zero()) },
  negrelu: { id: 'negrelu', make: (a) => build.call('min', a, zero()) },
};

const BINARY: Record<string, BinaryOp> = {
  add: { id: 'add', commutative: true, make: (a, b) => build.add(a, b) },
  sub: { id: 'sub', commutative: false, make: (a, b) => build.sub(a, b) },
  mul: { id: 'mul', commutative: true, make: (a, b) => build.mul(a, b) },
  div: { id: 'div', commutative: false, make: (a, b) => build.div(a, b) },
  pow: { id: 'pow', commutative: false, make: (a, b) => build.pow(a, b) },
  max: { id: 'max', commutative: true, make: (a, b) => build.call('max', a, b) },
  min: { id: 'min', commutative: true, make: (a, b) => build.call('min', a, b) },
  pdiv: { id: 'pdiv', commutative: false, make: (a, b) => build.call('pdiv', a, b) },
  aq: { id: 'aq', commutative: false, make: (a, b) => build.call('aq', a, b) },
};

const BIN_BY_SYMBOL: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '^': 'pow' };

/** A unary operator by id: one of the special shapes or any one-argument elementwise builtin. */
export function unaryOp(id: string): UnaryOp {
  const s = SPECIAL_UNARY[id];
  if (s) return s;
  const b = resolveCall(id, 1);
  if (!b || b.shape !== 'elementwise' || !b.callable) throw new Error(`unknown unary operator '${id}' (expected a one-argument elementwise builtin, relu or negrelu)`);
  return { id, make: (a) => build.call(id, a) };
}

export function binaryOp(id: string): BinaryOp {
  const b = BINARY[id];
  if (!b) throw new Error(`unknown binary operator '${id}' (expected one of ${Object.keys(BINARY).join(', ')})`);
  return b;
}

export type NodeClass =
  | { kind: 'unary'; op: string; operand: Expr }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'leaf' }
  | { kind: 'other' };

/** Which operator of the function set (if any) an expression node is. */
export function classify(e: Expr): NodeClass {
  switch (e.kind) {
    case 'Number':
    case 'Name':
      return { kind: 'leaf' };
    case 'Unary':
      return { kind: 'unary', op: 'neg', operand: e.operand };
    case 'Binary':
      return { kind: 'binary', op: BIN_BY_SYMBOL[e.op], left: e.left, right: e.right };
    case 'Call': {
      if (e.args.length === 2 && (e.callee === 'max' || e.callee === 'min')) {
        if (e.args[1].kind === 'Number' && e.args[1].value === 0) return { kind: 'unary', op: e.callee === 'max' ? 'relu' : 'negrelu', operand: e.args[0] };
        return { kind: 'binary', op: e.callee, left: e.args[0], right: e.args[1] };
      }
      if (e.args.length === 2 && (e.callee === 'pdiv' || e.callee === 'aq')) return { kind: 'binary', op: e.callee, left: e.args[0], right: e.args[1] };
      if (e.args.length === 1) {
        const b = resolveCall(e.callee, 1);
        if (b && b.shape === 'elementwise') return { kind: 'unary', op: e.callee, operand: e.args[0] };
      }
      return { kind: 'other' };
    }
    case 'Missing':
      return { kind: 'other' };
  }
}

export function isCommutative(op: string): boolean {
  return BINARY[op]?.commutative ?? false;
}

/** Direct children of a node, in order (the grammar's). */
export { children };

/** The same node with new children (ranges dropped). */
export function withChildren(e: Expr, kids: Expr[]): Expr {
  switch (e.kind) {
    case 'Unary':
      return build.neg(kids[0]);
    case 'Binary':
      return build.bin(e.op, kids[0], kids[1]);
    case 'Call':
      return build.call(e.callee, ...kids);
    default:
      return e;
  }
}

/** Validates a function set; throws with the offending id. */
export function checkFunctionSet(unary: readonly string[], binary: readonly string[]): void {
  if (unary.length === 0 && binary.length === 0) throw new Error('the function set is empty');
  for (const u of unary) unaryOp(u);
  for (const b of binary) binaryOp(b);
}
