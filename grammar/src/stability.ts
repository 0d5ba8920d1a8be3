/**
 * Stability diagnostics: numerical facts about a loss that the builtin table's domain rules
 * cannot state, from the checker's interval analysis, the simplifier and the derivative rules.
 *
 * - `non-finite-everywhere` (error): a subexpression is NaN or ±Infinity for every input, because
 *   an argument is identically a constant (`log(0 * pt)`, `log(pt - pt)`, `x / (p - p)`, found
 *   by the simplifier or a one-point interval) or lies wholly where the function is undefined
 *   (`log(-p)`). It replaces the domain warning's "can reach 0" / "can be negative" at that node.
 *   An exactly constant argument that is valid drops the domain warning (it was a false alarm).
 * - `unbounded-gradient` (warning; an error when it holds everywhere): the derivative rule is
 *   infinite at a point the argument reaches while the value is finite: `sqrt_abs(x)` and `x^k`
 *   with 0 < k < 1 where x = 0 (`abs(y - p)^0.5` where y = p), `log_t(x, t)` with 0 < t < 1 at
 *   x = 0, and `sqrt` of an argument that is identically 0. (`sqrt` of an argument that can reach
 *   0 is the builtin's own `domain-sqrt` warning; its message gains where the argument is 0.)
 * - `float32-overflow` (warning): a one-argument builtin whose float32 value overflows for
 *   arguments the interval reaches (`exp(logits)`: logits > 88.72). The thresholds come from
 *   the builtin's float64 implementation, not a list.
 * - `float32-underflow`, `float32-cancellation` (warnings): a value that is never 0 but rounds
 *   to 0 in float32, by underflow (`exp(x)`, x < -103.97) or by cancellation (`1 - pt` as
 *   pt → 1; a constant minus something reading the prediction whose interval touches it),
 *   reaching a place where 0 is fatal: an argument whose domain rule fires at 0 (log, sqrt, a
 *   denominator, a negative power) or whose gradient is infinite at 0 (a power below 1).
 *   A cancellation that only shifts a loss value by 6e-8 (`(1 - pt)^2`) is harmless and silent.
 *
 * Nodes the stable rewriter (`stable.ts`, STABLE_REWRITES) rewrites are computed stably by the
 * engines and the exporters, so they get no float32 warning: `stableRewriteAt` is asked about the
 * hazard, its fatal use and their ancestors (a rewrite of an ancestor counts when its replacement
 * no longer holds the hazard). Never throws: a failure drops only these diagnostics.
 */
import type { Expr, Range } from './ast';
import { BUILTINS, type Builtin, type ElementwiseBuiltin } from './builtins';
import type { Diagnostic } from './checker';
import { evalExpr } from './evaluate';
import * as I from './interval';
import type { Interval } from './interval';
import { printExpr } from './printer';
import { builtinOf, children, freeNames, hasMissing, nameTypes, type Model } from './semantics';
import { constantOf, exprKey, exprSize, simplify, type SimplifyContext } from './simplify';
import { num } from './build';
import { stableContext, stableRewriteAt, type StableContext } from './stable';

export const STABILITY_CODES = [
  'non-finite-everywhere',
  'unbounded-gradient',
  'float32-overflow',
  'float32-underflow',
  'float32-cancellation',
] as const;

export type StabilityCode = (typeof STABILITY_CODES)[number];

/** The checker's interval analysis: a node's bounds, visiting each operator with its arguments' bounds. */
export interface IntervalOracle {
  of(e: Expr, visit?: (b: Builtin, args: Interval[], node: Expr) => void): Interval;
}

/**
 * Adds the stability diagnostics of every let and loss to `out`, drops the domain warnings an
 * exact fact replaces, and says where the argument of a "can reach 0" domain warning is 0.
 */
export function refineWithStability(model: Model, intervals: IntervalOracle, out: Diagnostic[]): void {
  try {
    const a = new Stability(model, intervals);
    a.run();
    const superseded = a.superseded;
    for (let i = out.length - 1; i >= 0; i--) {
      const d = out[i];
      if (!d.code.startsWith('domain-')) continue;
      const key = rangeKey(d.range);
      if (superseded.has(key)) out.splice(i, 1);
      else {
        const where = a.zeroAt.get(key);
        if (where && /can (reach|be) 0/.test(d.message)) d.message = `${d.message}; ${where}`;
      }
    }
    out.push(...a.diagnostics);
  } catch {
    // Stability facts are advice: a failure here must not cost the file its other diagnostics.
  }
}

// ---------------------------------------------------------------- float32 thresholds

const FLT_MAX = 3.4028234663852886e38;
/** Spacing of float32 just below 1 (2^-24): x rounds to 1 within half of it (2.98e-8). */
const F32_SPACING_BELOW_1 = 2 ** -24;

interface Edges {
  /** Overflow above / below these arguments. */
  overHi?: number;
  overLo?: number;
  /** Underflow to 0 (nonzero in float64) above / below these arguments. */
  underHi?: number;
  underLo?: number;
}

const EDGES = new Map<string, Edges>();

/** Where a one-argument builtin's float32 value overflows or underflows, from its float64 fn. */
function edgesOf(b: ElementwiseBuiltin): Edges {
  const known = EDGES.get(b.id);
  if (known) return known;
  const f = (x: number): number => b.fn(x);
  const over = (x: number): boolean => Math.abs(f(x)) > FLT_MAX;
  const under = (x: number): boolean => {
    const v = f(x);
    return v !== 0 && Number.isFinite(v) && Math.fround(v) === 0;
  };
  const e: Edges = {
    overHi: firstAlong(over, 1),
    overLo: firstAlong(over, -1),
    underHi: firstAlong(under, 1),
    underLo: firstAlong(under, -1),
  };
  EDGES.set(b.id, e);
  return e;
}

/**
 * The smallest |x| (on one side, |x| <= 2^14: functions that need more are not amplifying) where
 * `hit` holds, refined by bisection from the last grid point where it did not.
 */
function firstAlong(hit: (x: number) => boolean, sign: 1 | -1): number | undefined {
  let prev = 0;
  if (hit(0)) return undefined;
  for (let k = 0; k <= 14; k++) {
    const x = sign * 2 ** k;
    if (hit(x)) {
      let lo = prev;
      let hi = x;
      for (let i = 0; i < 60; i++) {
        const m = (lo + hi) / 2;
        if (hit(m)) hi = m;
        else lo = m;
      }
      return hi;
    }
    prev = x;
  }
  return undefined;
}

// ---------------------------------------------------------------- the analysis

interface ZeroSource {
  kind: 'underflow' | 'cancellation';
  node: Expr;
  /** What happens, e.g. `1 - pt cancels in float32 as pt → 1` (built only when reported). */
  what: () => string;
}

const PASS_ZERO_UNARY = new Set(['neg', 'abs', 'square', 'sqrt', 'sqrt_abs', 'stop_gradient', 'sinh', 'tanh', 'atan', 'asinh', 'erf', 'softsign', 'expm1', 'log1p', 'i1', 'sign']);

class Stability {
  readonly diagnostics: Diagnostic[] = [];
  /** Ranges of nodes whose domain warning an exact fact replaces. */
  readonly superseded = new Set<string>();
  /** Where the argument of a domain-rule node is 0, by the node's range. */
  readonly zeroAt = new Map<string, string>();

  private readonly ctx: SimplifyContext;
  private readonly argIvs = new Map<Expr, Interval[]>();
  private readonly nodeIv = new Map<Expr, Interval>();
  private readonly zeroMemo = new Map<Expr, ZeroSource | null>();
  private readonly letZero = new Map<string, ZeroSource | null>();
  private readonly depMemo = new Map<string, { value: boolean; grad: boolean }>();
  private readonly reported = new Set<string>();
  private readonly parent = new Map<Expr, Expr>();

  private stable: StableContext | undefined;

  constructor(
    private readonly model: Model,
    private readonly intervals: IntervalOracle,
  ) {
    this.ctx = { nameType: nameTypes(model) };
  }

  run(): void {
    for (const s of this.model.program.statements) {
      if (s.kind === 'Param' || hasMissing(s.expr)) continue;
      // Per statement: its nodes are its own, and maps of a whole file's nodes (a million in a
      // 100,000-line file) cost more in hashing and garbage collection than the checks.
      this.argIvs.clear();
      this.nodeIv.clear();
      this.parent.clear();
      const root = this.intervals.of(s.expr, (_b, args, node) => {
        this.argIvs.set(node, args);
        if (node.kind === 'Binary') {
          this.nodeIv.set(node.left, args[0]);
          this.nodeIv.set(node.right, args[1]);
        } else if (node.kind === 'Call') {
          for (let i = 0; i < node.args.length && i < args.length; i++) this.nodeIv.set(node.args[i], args[i]);
        }
      });
      this.nodeIv.set(s.expr, root);
      this.link(s.expr);
      this.visit(s.expr, []);
    }
  }

  private iv(e: Expr): Interval {
    let v = this.nodeIv.get(e);
    if (!v) {
      v = this.intervals.of(e);
      this.nodeIv.set(e, v);
    }
    return v;
  }

  private visit(n: Expr, ancestors: Expr[]): void {
    const b = builtinOf(n);
    if (b) this.check(n, b, ancestors);
    const kids = children(n);
    if (kids.length) {
      ancestors.push(n);
      for (const k of kids) this.visit(k, ancestors);
      ancestors.pop();
    }
  }

  /** Parent pointers of a statement's nodes (before its checks, which look up from a hazard). */
  private link(n: Expr): void {
    for (const k of children(n)) {
      this.parent.set(k, n);
      this.link(k);
    }
  }

  /** The ancestors of a node within its statement, nearest first (lets are visited before their uses). */
  private ancestorsOf(n: Expr): Expr[] {
    const out: Expr[] = [];
    for (let a = this.parent.get(n); a; a = this.parent.get(a)) out.push(a);
    return out;
  }

  private argsOf(n: Expr): Interval[] {
    return this.argIvs.get(n) ?? children(n).map((k) => this.iv(k));
  }

  private check(n: Expr, b: Builtin, ancestors: Expr[]): void {
    // Most nodes (arithmetic, sums, maps) have nothing to check: leave before any allocation.
    const overflows = b.shape === 'elementwise' && b.args.length === 1 && b.category !== 'operator' && hasOverflowEdge(b);
    if (!b.domain && !GRADIENT_RULES.has(b.id) && !overflows) return;
    const kids = children(n);
    const args = this.argsOf(n);
    if (args.length !== kids.length) return;
    const domainMsg = safe(() => b.domain?.(args));
    if (domainMsg) {
      const zeroArg = b.id === 'div' ? kids[1] : kids[0];
      const w = zeroWhere(zeroArg);
      if (w) this.zeroAt.set(rangeKey(n.range), `${short(zeroArg)} is 0 where ${w}`);
      this.exactFacts(n, b, kids, args);
    } else if (b.shape === 'elementwise') {
      this.gradientRules(n, b, kids, args);
    }
    if (overflows) this.overflow(n, b as ElementwiseBuiltin, kids[0], args[0], ancestors);
    this.zeroSensitive(n, b, kids, args, ancestors);
  }

  // ------------------------------------------------------------ exact facts

  /** The exact value of an argument, when it is identically a constant. */
  private exact(e: Expr, v: Interval): number | undefined {
    if (v.lo === v.hi && !v.loOpen && !v.hiOpen && Number.isFinite(v.lo)) return v.lo;
    const c = constantOf(e);
    if (c !== undefined) return c;
    if (exprSize(e) > 64) return undefined;
    try {
      return constantOf(simplify(e, this.ctx));
    } catch {
      return undefined;
    }
  }

  private exactFacts(n: Expr, b: Builtin, kids: Expr[], args: Interval[]): void {
    if (b.shape !== 'elementwise') return;
    const key = rangeKey(n.range);
    const exact = kids.map((k, i) => this.exact(k, args[i]));
    const because = (i: number): string => {
      const k = kids[i];
      const lit = constantOf(k) !== undefined;
      return lit ? '' : `: ${b.id === 'div' ? 'its denominator' : 'its argument'} ${short(k)} is identically ${fmt(exact[i]!)}`;
    };
    if (exact.every((v): v is number => v !== undefined)) {
      const v = b.fn(...exact);
      const which = exact.findIndex((_, i) => constantOf(kids[i]) === undefined);
      const why = which >= 0 ? because(which) : '';
      this.superseded.add(key);
      if (!Number.isFinite(v)) {
        this.report(n, 'non-finite-everywhere', 'error', `${short(n)} is ${fmt(v)} everywhere${why}`);
        return;
      }
      // A finite value: the domain warning was a false alarm, unless the gradient is infinite there.
      const bad = this.gradientAtConstant(b, kids, exact, v);
      if (bad !== undefined) this.report(n, 'unbounded-gradient', 'error', `${short(n)} has an infinite gradient everywhere${because(bad)}`);
      return;
    }
    if (b.id === 'div' && exact[1] === 0) {
      this.superseded.add(key);
      this.report(n, 'non-finite-everywhere', 'error', `${short(n)} is not finite anywhere (±Infinity or NaN)${because(1)}`);
      return;
    }
    if (b.id === 'pow' && exact[0] === 0 && args[1].hi < 0) {
      this.superseded.add(key);
      this.report(n, 'non-finite-everywhere', 'error', `${short(n)} is Infinity everywhere (0 to a negative power)${because(0)}`);
      return;
    }
    if (kids.length === 1) {
      // Wholly where the function is undefined: the one-argument domain builtins (log, sqrt,
      // log1p) are undefined on a half-line, so both ends and the middle decide.
      // Infinite ends stand for the largest finite arguments (log(Infinity) is not a value it takes).
      const a = args[0];
      const lo = a.lo === -Infinity ? -Number.MAX_VALUE : a.loOpen ? nextUp(a.lo) : a.lo;
      const hi = a.hi === Infinity ? Number.MAX_VALUE : a.hiOpen ? nextDown(a.hi) : a.hi;
      if (!(lo <= hi)) return;
      const mid = lo / 2 + hi / 2;
      const vals = [lo, mid, hi].map((t) => b.fn(t));
      if (vals.every((t) => !Number.isFinite(t))) {
        this.superseded.add(key);
        const kind = vals.every((t) => Number.isNaN(t)) ? 'NaN' : vals.every((t) => t === -Infinity) ? '-Infinity' : 'not finite';
        this.report(n, 'non-finite-everywhere', 'error', `${short(n)} is ${kind} everywhere: its argument ${short(kids[0])} lies in ${showInterval(a)}`);
      }
    }
  }

  /** The index of a gradient-carrying argument whose partial is not finite at these constant arguments. */
  private gradientAtConstant(b: Builtin, kids: Expr[], exact: number[], value: number): number | undefined {
    if (!('partials' in b.derivative)) return undefined;
    let parts: (Expr | null)[];
    try {
      parts = b.derivative.partials(exact.map((v) => num(v)), num(value));
    } catch {
      return undefined;
    }
    for (let i = 0; i < kids.length; i++) {
      const d = parts[i];
      if (!d || !this.carriesGradient(kids[i])) continue;
      try {
        const g = evalExpr(d, () => undefined);
        if (typeof g === 'number' && !Number.isFinite(g)) return i;
      } catch {
        // not evaluable: no claim
      }
    }
    return undefined;
  }

  // ------------------------------------------------------------ gradients

  /** An infinite derivative where the argument reaches a point and the value is finite. */
  private gradientRules(n: Expr, b: ElementwiseBuiltin, kids: Expr[], args: Interval[]): void {
    const rule = singularGradient(b, args);
    if (rule === undefined || !this.carriesGradient(kids[0])) return;
    const w = zeroWhere(kids[0]);
    const where = w ? `where ${w}` : `where ${short(kids[0])} = 0`;
    this.report(n, 'unbounded-gradient', 'warning', `${short(n)} has an infinite gradient ${where} (${rule})${this.exponentCaveat(b, kids, args)}`, { function: b.name });
  }

  /** ` when 0 < gamma < 1` when only part of the exponent's range is singular. */
  private exponentCaveat(b: Builtin, kids: Expr[], args: Interval[]): string {
    const k = b.id === 'pow' ? 1 : b.id === 'log_t' ? 1 : -1;
    if (k < 0) return '';
    const e = args[k];
    if (e.lo > 0 && e.hi < 1) return '';
    const t = short(kids[k]);
    if (e.lo <= 0 && e.hi >= 1) return ` when 0 < ${t} < 1`;
    return e.lo <= 0 ? ` when ${t} > 0` : ` when ${t} < 1`;
  }

  // ------------------------------------------------------------ float32 overflow

  private overflow(n: Expr, b: ElementwiseBuiltin, arg: Expr, a: Interval, ancestors: Expr[]): void {
    const e = edgesOf(b);
    const over: string[] = [];
    const signs = new Set<string>();
    if (e.overHi !== undefined && a.hi > e.overHi) {
      over.push(`${short(arg)} > ${fmtEdge(e.overHi)}`);
      signs.add(b.fn(e.overHi) < 0 ? '-' : '+');
    }
    if (e.overLo !== undefined && a.lo < e.overLo) {
      over.push(`${short(arg)} < ${fmtEdge(e.overLo)}`);
      signs.add(b.fn(e.overLo) < 0 ? '-' : '+');
    }
    if (!over.length || this.rewritten(n, ancestors)) return;
    const to = signs.size === 2 ? '±Infinity' : signs.has('-') ? '-Infinity' : 'Infinity';
    const reach = a.hi === Infinity || a.lo === -Infinity ? ` (${short(arg)} is unbounded)` : ` (${short(arg)} reaches ${showInterval(a)})`;
    this.report(n, 'float32-overflow', 'warning', `${short(n)} overflows float32 to ${to} where ${over.join(' or ')}${reach}`, { function: b.name });
  }

  // ------------------------------------------------------------ float32 zeros

  /** A value that is never 0 but can be 0 in float32, with the reason, or undefined. */
  private f32zero(e: Expr): ZeroSource | undefined {
    const known = this.zeroMemo.get(e);
    if (known !== undefined) return known ?? undefined;
    this.zeroMemo.set(e, null);
    const r = this.f32zeroOf(e);
    this.zeroMemo.set(e, r ?? null);
    return r;
  }

  private f32zeroOf(e: Expr): ZeroSource | undefined {
    switch (e.kind) {
      case 'Name': {
        const st = this.model.symbols.get(e.name)?.stmt;
        if (!st || st.kind !== 'Let' || hasMissing(st.expr)) return undefined;
        if (!this.letZero.has(e.name)) {
          this.letZero.set(e.name, null);
          this.letZero.set(e.name, this.f32zero(st.expr) ?? null);
        }
        return this.letZero.get(e.name) ?? undefined;
      }
      case 'Unary':
        return this.f32zero(e.operand);
      case 'Binary': {
        if (e.op === '-' || e.op === '+') return this.cancellation(e);
        if (e.op === '*') return this.f32zero(e.left) ?? this.f32zero(e.right);
        if (e.op === '/') return this.f32zero(e.left);
        if (e.op === '^') return this.iv(e.right).lo > 0 ? this.f32zero(e.left) : undefined;
        return undefined;
      }
      case 'Call': {
        const b = builtinOf(e);
        if (!b) return undefined;
        if (b.shape === 'elementwise' && e.args.length === 1) {
          const a = this.iv(e.args[0]);
          const edges = b.category === 'operator' ? {} : edgesOf(b);
          const under: string[] = [];
          if (edges.underHi !== undefined && a.hi > edges.underHi) under.push(`${short(e.args[0])} > ${fmtEdge(edges.underHi)}`);
          if (edges.underLo !== undefined && a.lo < edges.underLo) under.push(`${short(e.args[0])} < ${fmtEdge(edges.underLo)}`);
          if (under.length && !I.contains(this.iv(e), 0)) return { kind: 'underflow', node: e, what: () => `${short(e)} underflows to 0 in float32 where ${under.join(' or ')}` };
          return PASS_ZERO_UNARY.has(b.id) ? this.f32zero(e.args[0]) : undefined;
        }
        if (b.id === 'pdiv' || b.id === 'aq') return this.f32zero(e.args[0]);
        if (b.id === 'min') return this.f32zero(e.args[0]);
        if (b.id === 'sum' || b.id === 'mean' || b.id === 'max') {
          // A sum is 0 only when every element is: underflow can do that, a cancellation cannot.
          const z = this.f32zero(e.args[0]);
          return z && z.kind === 'underflow' ? z : undefined;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** `c - x`, `x - c`, `c + -x`: never 0 (0 is an open end of its interval), x reads the prediction. */
  private cancellation(e: Expr & { kind: 'Binary' }): ZeroSource | undefined {
    const v = this.iv(e);
    const openAt0 = (v.lo === 0 && v.loOpen) || (v.hi === 0 && v.hiOpen);
    if (!openAt0) return undefined;
    let c: Expr;
    let x: Expr;
    if (e.op === '-') [c, x] = this.isConstant(e.left) ? [e.left, e.right] : [e.right, e.left];
    else if (e.right.kind === 'Unary') [c, x] = [e.left, e.right.operand];
    else if (e.left.kind === 'Unary') [c, x] = [e.right, e.left.operand];
    else return undefined;
    if (!this.isConstant(c) || !this.deps(x).value) return undefined;
    const cv = this.iv(c);
    const what = (): string => {
      const target = cv.lo === cv.hi ? fmt(cv.lo) : short(c);
      const near = cv.lo === cv.hi && cv.lo !== 0 ? ` (within ${fmt((Math.abs(cv.lo) * F32_SPACING_BELOW_1) / 2)})` : '';
      return `${short(e)} cancels in float32 as ${short(x)} → ${target}: it is exactly 0 once ${short(x)} rounds to ${target}${near}`;
    };
    return { kind: 'cancellation', node: e, what };
  }

  /** At node n, an argument that can be 0 in float32 where 0 is fatal. */
  private zeroSensitive(n: Expr, b: Builtin, kids: Expr[], args: Interval[], ancestors: Expr[]): void {
    kids.forEach((k, i) => {
      if (I.contains(args[i], 0)) return;
      // Is 0 fatal here (the domain rule or a gradient rule fires once the argument reaches 0)?
      const widened = args.map((a, j) => (j === i ? I.hull(a, I.point(0)) : a));
      const valueBad = safe(() => b.domain?.(widened));
      const gradBad = b.shape === 'elementwise' && i === 0 ? singularGradient(b, widened) : undefined;
      if (!valueBad && gradBad === undefined) return;
      const z = this.f32zero(k);
      if (!z) return;
      const key = rangeKey(z.node.range);
      if (this.reported.has(`zero:${key}`)) return;
      if (this.rewritten(z.node, this.ancestorsOf(z.node)) || this.rewritten(n, ancestors)) return;
      this.reported.add(`zero:${key}`);
      let then = `then has an infinite gradient${valueBad ? '' : this.exponentCaveat(b, kids, widened)}`;
      if (b.shape === 'elementwise') {
        const at = widened.map((a, j) => (j === i ? 0 : representative(a)));
        const v = safe(() => b.fn(...at));
        if (v !== undefined && !Number.isFinite(v)) then = `is then ${fmt(v)}`;
      }
      const inside = rangeInside(z.node.range, n.range);
      this.report(z.node, z.kind === 'underflow' ? 'float32-underflow' : 'float32-cancellation', 'warning', `${z.what()}, and ${short(n)} ${then}`, undefined,
        inside ? undefined : [{ range: n.range, message: `${short(n)} ${then} when it is 0` }]);
    });
  }

  // ------------------------------------------------------------ helpers

  /**
   * Does the stable rewriter (what the engines and exporters compute) replace this node, or an
   * ancestor by a form without it?
   */
  private rewritten(n: Expr, ancestors: Expr[]): boolean {
    const cx = (this.stable ??= stableContext(this.model));
    if (stableRewriteAt(n, cx)) return true;
    const key = exprKey(n);
    for (const a of ancestors) {
      const r = stableRewriteAt(a, cx);
      if (r && !containsKey(r.replacement, key)) return true;
    }
    return false;
  }

  /** Reads no input (numbers, params, C). */
  private isConstant(e: Expr): boolean {
    const d = this.deps(e);
    return !d.value && !this.readsTarget(e);
  }

  private readsTarget(e: Expr): boolean {
    for (const n of freeNames(e)) {
      if (n === 'y') return true;
      const st = this.model.symbols.get(n)?.stmt;
      if (!st || st.kind !== 'Let') continue;
      let known = this.letReadsTarget.get(n);
      if (known === undefined) {
        this.letReadsTarget.set(n, false); // a cycle (an error elsewhere)
        known = this.readsTarget(st.expr);
        this.letReadsTarget.set(n, known);
      }
      if (known) return true;
    }
    return false;
  }
  private readonly letReadsTarget = new Map<string, boolean>();

  private carriesGradient(e: Expr): boolean {
    return this.deps(e).grad;
  }

  /** Reads the prediction (value) and carries its gradient (not only under stop_gradient). */
  private deps(e: Expr): { value: boolean; grad: boolean } {
    let value = false;
    let grad = false;
    const go = (x: Expr, stopped: boolean): void => {
      if (x.kind === 'Name') {
        let v = false;
        let g = false;
        if (x.name === 'p' || x.name === 'logits') v = g = true;
        else {
          const st = this.model.symbols.get(x.name)?.stmt;
          if (st && st.kind === 'Let') {
            let m = this.depMemo.get(x.name);
            if (!m) {
              this.depMemo.set(x.name, { value: false, grad: false });
              m = this.deps(st.expr);
              this.depMemo.set(x.name, m);
            }
            v = m.value;
            g = m.grad;
          }
        }
        value ||= v;
        if (!stopped) grad ||= g;
        return;
      }
      const stop = stopped || (x.kind === 'Call' && x.callee === 'stop_gradient');
      for (const k of children(x)) go(k, stop);
    };
    go(e, false);
    return { value, grad };
  }

  private report(n: Expr, code: Diagnostic['code'], severity: Diagnostic['severity'], message: string, data?: Record<string, unknown>, related?: Diagnostic['related']): void {
    const key = `${code}:${rangeKey(n.range)}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.diagnostics.push({ code, severity, message, range: n.range, ...(related ? { related } : {}), ...(data ? { data } : {}) });
  }
}

/** The builtins `singularGradient` knows. */
const GRADIENT_RULES = new Set(['sqrt_abs', 'pow', 'log_t']);

function hasOverflowEdge(b: ElementwiseBuiltin): boolean {
  const e = edgesOf(b);
  return e.overHi !== undefined || e.overLo !== undefined;
}

/**
 * Why an elementwise builtin's gradient is infinite at a point its (first) argument reaches,
 * while its value there is finite; undefined if it is not.
 */
function singularGradient(b: Builtin, args: Interval[]): string | undefined {
  const x = args[0];
  if (!x || !I.contains(x, 0)) return undefined;
  const meetsUnit = (t: Interval): boolean => t.hi > 0 && t.lo < 1 && !(t.hi === 0 && t.hiOpen) && !(t.lo === 1 && t.loOpen);
  switch (b.id) {
    case 'sqrt_abs':
      return 'the slope of √|x| is infinite at 0';
    case 'pow':
      if (I.reachesNegative(x) && !(args[1].lo === args[1].hi && Number.isInteger(args[1].lo))) return undefined;
      return meetsUnit(args[1]) ? 'a power between 0 and 1 of an argument that reaches 0' : undefined;
    case 'log_t':
      return meetsUnit(args[1]) ? 'the slope of log_t(x, t) is x^-t, infinite at 0 for 0 < t < 1' : undefined;
    default:
      return undefined;
  }
}

/** Where an expression is 0, in words (`y = p`), when its form says so. */
export function zeroWhere(e: Expr): string | undefined {
  switch (e.kind) {
    case 'Name':
      return `${e.name} = 0`;
    case 'Unary':
      return zeroWhere(e.operand);
    case 'Binary': {
      if (e.op === '-') return `${short(e.left)} = ${short(e.right)}`;
      if (e.op === '+') {
        if (e.right.kind === 'Unary') return `${short(e.left)} = ${short(e.right.operand)}`;
        if (e.left.kind === 'Unary') return `${short(e.right)} = ${short(e.left.operand)}`;
        const c = constantOf(e.right);
        if (c !== undefined) return `${short(e.left)} = ${fmt(-c)}`;
        return undefined;
      }
      if (e.op === '*') {
        const l = constantOf(e.left) !== undefined ? undefined : zeroWhere(e.left);
        const r = constantOf(e.right) !== undefined ? undefined : zeroWhere(e.right);
        return l && r ? `${l} or ${r}` : (l ?? r);
      }
      if (e.op === '/' || e.op === '^') return zeroWhere(e.left);
      return undefined;
    }
    case 'Call':
      if (e.args.length === 1 && PASS_ZERO_UNARY.has(e.callee)) return zeroWhere(e.args[0]);
      return undefined;
    default:
      return undefined;
  }
}

function containsKey(e: Expr, key: string): boolean {
  if (exprKey(e) === key) return true;
  return children(e).some((k) => containsKey(k, key));
}

function representative(a: Interval): number {
  if (a.lo === a.hi) return a.lo;
  if (I.contains(a, 1)) return 1;
  if (Number.isFinite(a.lo) && Number.isFinite(a.hi)) return (a.lo + a.hi) / 2;
  return Number.isFinite(a.lo) ? a.lo + 1 : Number.isFinite(a.hi) ? a.hi - 1 : 0;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function rangeKey(r: Range): string {
  return `${r.start}:${r.end}`;
}

function rangeInside(inner: Range, outer: Range): boolean {
  return inner.start >= outer.start && inner.end <= outer.end;
}

/** An expression as a message shows it: canonical text, shortened past 40 characters. */
function short(e: Expr): string {
  const s = printExpr(e);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** A float32 threshold, to two decimals (88.72, -103.97). */
function fmtEdge(v: number): string {
  return String(Number(v.toFixed(2)));
}

function showInterval(a: Interval): string {
  return `${a.loOpen ? '(' : '['}${fmt(a.lo)}, ${fmt(a.hi)}${a.hiOpen ? ')' : ']'}`;
}

function nextUp(v: number): number {
  if (!Number.isFinite(v)) return v;
  return v === 0 ? Number.MIN_VALUE : v + Math.abs(v) * Number.EPSILON;
}

function nextDown(v: number): number {
  if (!Number.isFinite(v)) return v;
  return v === 0 ? -Number.MIN_VALUE : v - Math.abs(v) * Number.EPSILON;
}

/** Every one-argument elementwise builtin's float32 edges, for docs and tests. */
export function float32Edges(): Record<string, Edges> {
  const out: Record<string, Edges> = {};
  for (const b of BUILTINS) {
    if (b.shape !== 'elementwise' || b.args.length !== 1 || b.category === 'operator') continue;
    const e = edgesOf(b);
    if (Object.values(e).some((v) => v !== undefined)) out[b.name] = e;
  }
  return out;
}
