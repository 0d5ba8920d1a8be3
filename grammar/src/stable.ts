/**
 * Stable lowering: the numerically fragile forms of a checked model's expressions, rewritten into
 * equal forms that stay finite and accurate in float32 (what training uses). One pass, shared by
 * the tfjs lowering (engine/src/engines/tfjs/compile.ts) and every exporter
 * (export/exporter.ts): both compile `stabilize(model).model`, never the model as written.
 *
 * Each rewrite is a row of STABLE_REWRITES: an id, a title (`log(p) → log_softmax(logits)`),
 * why it is needed, where it holds, and a function from a node (whose arguments are already
 * stable) and the model's context to the replacement, or null. Every replacement equals the
 * node wherever the node is defined (test/grammar/stable.test.ts checks each row with the float64
 * evaluator at random points and its symbolic derivative); side conditions (a weight is
 * non-negative and does not depend on the prediction) are checked with the builtins' interval
 * rules over the inputs' ranges and the params' declared ranges.
 *
 * The model is never changed: the editor shows, differentiates and evaluates the loss as written.
 * `stabilize` rewrites bottom-up: a node's arguments first, then the node, then the replacement
 * again (a replacement may expose another fragile form: `(1 - pt)^gamma` becomes
 * `sum((1 - y) * p)^gamma`, then `exp(gamma * log(sum((1 - y) * p)))`, whose log becomes the
 * log-odds form). Lets are rewritten in file order and a rewrite sees the stable body of the lets
 * it looks through. Never throws: where a rewrite fails, the loss is compiled as written.
 */
import type { Expr, LetStmt, LossStmt, Statement } from './ast';
import { add, call, mul, neg, num, ref, sub } from './build';
import { builtinById, INPUT_NAMES, inputSpec, OPERATOR_IDS, resolveCall, safeRange, sumRange, type Builtin } from './builtins';
import * as I from './interval';
import type { Interval } from './interval';
import { printExpr } from './printer';
import type { Model, SymbolInfo } from './semantics';
import { exprKey } from './simplify';

/** What a rewrite may ask about the model around the node it looks at. */
export interface StableContext {
  /** The expression a name stands for, through lets (their stable bodies); other nodes unchanged. */
  resolve(e: Expr): Expr;
  /** Elementwise bounds of a value: inputs' ranges, params' declared ranges (or their values). */
  interval(e: Expr): Interval;
  /** Does the value depend on the prediction (p or logits), directly or through lets? */
  dependsOnPrediction(e: Expr): boolean;
}

export interface StableRewrite {
  /** Stable key (for tests, quick fixes, the export header). */
  id: string;
  /** The rewrite in one line, e.g. `log(p) → log_softmax(logits)`. */
  title: string;
  /** What goes wrong in the written form, in float32. */
  why: string;
  /** Where the rewrite applies: the side conditions it checks. */
  when: string;
  /**
   * Whether the printed replacement reads well as a user's edit (a quick fix). Rewrites whose
   * output holds `log(y)` or `exp(c * log(...))` are right for the lowering but read worse than
   * what the user wrote (and `log(y)` draws a domain warning).
   */
  quickFix: boolean;
  /** The replacement of `e` (its arguments already stable), or null where it does not apply. */
  rewrite(e: Expr, cx: StableContext): Expr | null;
}

export interface StabilizeOptions {
  /** Param values to assume instead of the declared ranges (the tfjs lowering knows them). */
  params?: Record<string, number>;
}

/** One rewrite applied, in a let or a loss. */
export interface AppliedRewrite {
  rewrite: StableRewrite;
  /** The let or loss it was applied in. */
  statement: string;
  before: string;
  after: string;
}

export interface StableResult {
  /** The model with every let and loss expression in its stable form (params, names, ranges kept). */
  model: Model;
  applied: AppliedRewrite[];
}

// ---------------------------------------------------------------- patterns

/** The logits z of a softmax probability vector: the input p (z = logits) or softmax(z). */
function softmaxLogits(e: Expr, cx: StableContext): Expr | null {
  const r = cx.resolve(e);
  if (r.kind === 'Name' && r.name === 'p') return ref('logits');
  if (r.kind === 'Call' && r.callee === 'softmax' && r.args.length === 1) return r.args[0];
  return null;
}

interface Weighted {
  /** The weight vector w as written (a name stays a name). */
  w: Expr;
  /** The probability vector as written (p, a let naming it, or softmax(z)). */
  prob: Expr;
  /** Its logits. */
  z: Expr;
}

/** `w * P` or `P * w` with P a softmax probability vector and w independent of the prediction. */
function weightedProduct(e: Expr, cx: StableContext): Weighted | null {
  const m = cx.resolve(e);
  if (m.kind !== 'Binary' || m.op !== '*') return null;
  for (const [prob, w] of [[m.right, m.left], [m.left, m.right]]) {
    const z = softmaxLogits(prob, cx);
    if (z && !cx.dependsOnPrediction(w)) return { w, prob, z };
  }
  return null;
}

/** `sum(w * P)`: a weighted sum of probabilities (pt = sum(y * p) is one). */
function weightedSum(e: Expr, cx: StableContext): Weighted | null {
  const r = cx.resolve(e);
  if (r.kind !== 'Call' || r.callee !== 'sum' || r.args.length !== 1) return null;
  return weightedProduct(r.args[0], cx);
}

const nonNegative = (e: Expr, cx: StableContext): boolean => cx.interval(e).lo >= 0;
const inUnit = (e: Expr, cx: StableContext): boolean => {
  const i = cx.interval(e);
  return i.lo >= 0 && i.hi <= 1;
};
const isNumber = (e: Expr, v: number): boolean => e.kind === 'Number' && e.value === v;
type CallExpr = Extract<Expr, { kind: 'Call' }>;
/** The node as a call of `callee` with `arity` arguments, or null. */
const asCall = (e: Expr, callee: string, arity: number): CallExpr | null =>
  e.kind === 'Call' && e.callee === callee && e.args.length === arity ? e : null;

/** Depends on none of the inputs y, p, logits (numbers, params, C and arithmetic of those). */
function isConstant(e: Expr, cx: StableContext): boolean {
  if (cx.dependsOnPrediction(e)) return false;
  let uses = false;
  const visit = (x: Expr, depth: number): void => {
    if (uses || depth > 64) return;
    const r = cx.resolve(x);
    if (r !== x) return visit(r, depth + 1);
    if (x.kind === 'Name') uses ||= x.name === 'y';
    else if (x.kind === 'Unary') visit(x.operand, depth + 1);
    else if (x.kind === 'Binary') {
      visit(x.left, depth + 1);
      visit(x.right, depth + 1);
    } else if (x.kind === 'Call') for (const a of x.args) visit(a, depth + 1);
  };
  visit(e, 0);
  return !uses;
}

/** 1 - w, without a double complement (1 - (1 - y) is y). */
function complement(w: Expr): Expr {
  return w.kind === 'Binary' && w.op === '-' && isNumber(w.left, 1) ? w.right : sub(num(1), w);
}

/**
 * log(sum(w * P)), stably. For w in [0, 1] (a target, the other classes' indicator 1 - y), as
 * -softplus(u) with u = log(sum((1 - w) P)) - log(sum(w P)) the log-odds, each sum a logsumexp
 * over log_softmax: the value is relatively accurate whether the sum is near 0 or near 1, and so
 * is the gradient, sigmoid(-u) times a difference of two normalised distributions (the plain
 * logsumexp's gradient, a softmax minus p, cancels to an absolute 1e-7 where the sum is near 1,
 * which a factor like focal loss's log(pt) = -1e4 then magnifies). For w >= 0 only, the plain
 * logsumexp(log(w) + log_softmax(z)).
 */
function logWeighted(ws: Weighted, cx: StableContext): Expr | null {
  const lse = (w: Expr): Expr => call('logsumexp', add(call('log', w), call('log_softmax', ws.z)));
  if (inUnit(ws.w, cx)) return neg(call('softplus', sub(lse(complement(ws.w)), lse(ws.w))));
  if (nonNegative(ws.w, cx)) return lse(ws.w);
  return null;
}

/** Whether `x` is a probability form with a stable log (a softmax vector, or sum(w * p) with w >= 0). */
function hasStableLog(x: Expr, cx: StableContext): boolean {
  if (softmaxLogits(x, cx)) return true;
  const ws = weightedSum(x, cx);
  return ws !== null && nonNegative(ws.w, cx);
}

/** `1 - P` for P a softmax probability vector: its logits. */
function oneMinusProb(e: Expr, cx: StableContext): Expr | null {
  const r = cx.resolve(e);
  if (r.kind === 'Binary' && r.op === '-' && isNumber(r.left, 1)) return softmaxLogits(r.right, cx);
  return null;
}

// ---------------------------------------------------------------- the table

export const STABLE_REWRITES: readonly StableRewrite[] = [
  {
    id: 'log-softmax',
    title: 'log(p) → log_softmax(logits)',
    why: 'p underflows to 0 once a logit trails the largest by about 87 in float32 (103 with subnormals), and log(0) is -Infinity; log_softmax is z - logsumexp(z), finite for any logits.',
    when: 'log of the input p (directly or through lets) or of softmax(z)',
    quickFix: true,
    rewrite: (e, cx) => {
      const log = asCall(e, 'log', 1);
      const z = log && softmaxLogits(log.args[0], cx);
      return z ? call('log_softmax', z) : null;
    },
  },
  {
    id: 'log-weighted-sum',
    title: 'log(sum(w * p)) → -softplus(logsumexp(log(1 - w) + log_softmax(logits)) - logsumexp(log(w) + log_softmax(logits)))',
    why: 'sum(y * p), the probability of the target, underflows to 0 when the target trails by about 87 to 103 in float32, and log(0) is -Infinity; computed from the log-odds of the two logsumexps, the log and its gradient keep their relative precision whether the sum is near 0 or near 1 (log(pt) of focal loss; with complement-sum, log(1 - pt)). For w >= 0 not bounded by 1: logsumexp(log(w) + log_softmax(logits)).',
    when: 'w does not depend on the prediction and lies in [0, 1] (y, 1 - y, a smoothed target), or is at least never negative (the plain logsumexp form); p directly, through lets, or softmax(z)',
    quickFix: false,
    rewrite: (e, cx) => {
      const log = asCall(e, 'log', 1);
      const ws = log && weightedSum(log.args[0], cx);
      return ws ? logWeighted(ws, cx) : null;
    },
  },
  {
    id: 'complement-sum',
    title: '1 - sum(w * p) → sum((1 - w) * p)',
    why: '1 - pt cancels: in float32 it is 0 once the target leads by about 19 (AACE\'s target (1 - y) p / (1 - pt) was 0 / 0 there) and already 4-16% off at leads of 15-18; the other classes\' probabilities summed directly keep their full relative precision (sum(p) = 1 makes the two equal).',
    when: 'w does not depend on the prediction and lies in [0, 1] (y, a smoothed target)',
    quickFix: true,
    rewrite: (e, cx) => {
      if (e.kind !== 'Binary' || e.op !== '-' || !isNumber(e.left, 1)) return null;
      const ws = weightedSum(e.right, cx);
      if (!ws || !inUnit(ws.w, cx)) return null;
      return call('sum', mul(sub(num(1), ws.w), ws.prob));
    },
  },
  {
    id: 'log1m-softmax',
    title: 'log(1 - p) → log1m_softmax(logits)',
    why: '1 - p is 0 where p rounds to 1 (a lead of about 17 to 19 in float32), so log(1 - p) is -Infinity; log1m_softmax computes the log of the other classes\' total from the logits.',
    when: 'log(1 - P) or log1p(-P) with P the input p or softmax(z)',
    quickFix: true,
    rewrite: (e, cx) => {
      const log = asCall(e, 'log', 1);
      if (log) {
        const z = oneMinusProb(log.args[0], cx);
        return z ? call('log1m_softmax', z) : null;
      }
      const log1p = asCall(e, 'log1p', 1);
      if (log1p) {
        const a = cx.resolve(log1p.args[0]);
        let inner: Expr | null = null;
        if (a.kind === 'Unary') inner = a.operand;
        else if (a.kind === 'Call' && a.callee === 'neg' && a.args.length === 1) inner = a.args[0];
        const z = inner && softmaxLogits(inner, cx);
        return z ? call('log1m_softmax', z) : null;
      }
      return null;
    },
  },
  {
    id: 'log-shifted-complement',
    title: 'log(c - p) → log1m_softmax(logits) + softplus(log(c - 1) - log1m_softmax(logits))',
    why: 'c - p = (c - 1) + (1 - p): with c = 1 this is log(1 - p) (see log1m-softmax), and for c slightly above 1 it cancels the same way; the log of the sum is taken in log space, finite for any c >= 1 (softplus(-Infinity) = 0 at c = 1).',
    when: 'c is a constant (numbers and params) at least 1 over its declared range, other than the number 1 (dual focal loss: log(rho - p), rho in [1, 2])',
    quickFix: false,
    rewrite: (e, cx) => {
      const log = asCall(e, 'log', 1);
      if (!log) return null;
      const r = cx.resolve(log.args[0]);
      if (r.kind !== 'Binary' || r.op !== '-' || isNumber(r.left, 1)) return null;
      const z = softmaxLogits(r.right, cx);
      if (!z || !isConstant(r.left, cx) || cx.interval(r.left).lo < 1) return null;
      const l = call('log1m_softmax', z);
      return add(l, call('softplus', sub(call('log', sub(r.left, num(1))), l)));
    },
  },
  {
    id: 'normalize-weighted',
    title: 'w * p / sum(w * p) → softmax(log(w) + logits)',
    why: 'the weighted probabilities underflow together (the other classes\' probabilities once the target leads by about 87 to 103 in float32), and 0 / 0 is NaN; even before that they lose precision as subnormals (4% at a lead of 100); a softmax of the shifted logits is finite (AACE\'s target, the others\' probabilities over their sum).',
    when: 'the same w on both sides, independent of the prediction and never negative',
    quickFix: false,
    rewrite: (e, cx) => {
      if (e.kind !== 'Binary' || e.op !== '/') return null;
      const top = weightedProduct(e.left, cx);
      if (!top || !nonNegative(top.w, cx)) return null;
      const d = asCall(cx.resolve(e.right), 'sum', 1);
      if (!d) return null;
      const bottom = weightedProduct(d.args[0], cx);
      if (!bottom || exprKey(cx.resolve(bottom.w)) !== exprKey(cx.resolve(top.w)) || exprKey(bottom.z) !== exprKey(top.z)) return null;
      return call('softmax', add(call('log', top.w), top.z));
    },
  },
  {
    id: 'softmax',
    title: 'exp(z) / sum(exp(z)) → softmax(z)',
    why: 'exp overflows above about 88.7 in float32 (Infinity / Infinity is NaN) and underflows below -103; softmax shifts by the largest logit first.',
    when: 'the same z in the numerator and under the sum',
    quickFix: true,
    rewrite: (e, cx) => {
      if (e.kind !== 'Binary' || e.op !== '/') return null;
      const top = asCall(cx.resolve(e.left), 'exp', 1);
      const d = asCall(cx.resolve(e.right), 'sum', 1);
      if (!top || !d) return null;
      const inner = asCall(cx.resolve(d.args[0]), 'exp', 1);
      if (!inner || exprKey(inner.args[0]) !== exprKey(top.args[0])) return null;
      return call('softmax', top.args[0]);
    },
  },
  {
    id: 'log1p',
    title: 'log(1 + x) → log1p(x)',
    why: '1 + x rounds x away when |x| is below the float32 epsilon (1.2e-7), so log(1 + x) is 0 instead of about x.',
    when: 'always',
    quickFix: true,
    rewrite: (e, cx) => {
      const log = asCall(e, 'log', 1);
      if (!log) return null;
      const a = cx.resolve(log.args[0]);
      if (a.kind !== 'Binary' || a.op !== '+') return null;
      if (isNumber(a.left, 1)) return call('log1p', a.right);
      if (isNumber(a.right, 1)) return call('log1p', a.left);
      return null;
    },
  },
  {
    id: 'expm1',
    title: '1 - exp(x) → -expm1(x)',
    why: 'exp(x) rounds to 1 when |x| is below the float32 epsilon, so 1 - exp(x) cancels to 0 instead of about -x.',
    when: 'always (also exp(x) - 1 → expm1(x))',
    quickFix: true,
    rewrite: (e, cx) => {
      if (e.kind !== 'Binary' || e.op !== '-') return null;
      if (isNumber(e.left, 1)) {
        const r = asCall(cx.resolve(e.right), 'exp', 1);
        return r ? neg(call('expm1', r.args[0])) : null;
      }
      if (isNumber(e.right, 1)) {
        const l = asCall(cx.resolve(e.left), 'exp', 1);
        return l ? call('expm1', l.args[0]) : null;
      }
      return null;
    },
  },
  {
    id: 'power-of-probability',
    title: 'P^c → exp(c * log(P))',
    why: 'where P underflows to 0 the power is 0 but its derivative c P^(c-1) is Infinity for c < 1, and Infinity times the probability\'s zero derivative is NaN (GCE\'s pt^q once the target trails by about 104 in float32); exp of c times the stable log has a finite derivative (P is p, sum(w * p) or 1 - pt after complement-sum).',
    when: 'P is the input p, softmax(z) or sum(w * p) with w >= 0 independent of the prediction; c a constant other than a positive whole number (whose power has a finite derivative at 0)',
    quickFix: false,
    rewrite: (e, cx) => {
      if (e.kind !== 'Binary' || e.op !== '^') return null;
      if (e.right.kind === 'Number' && Number.isInteger(e.right.value) && e.right.value >= 1) return null;
      if (!isConstant(e.right, cx) || !hasStableLog(e.left, cx)) return null;
      return call('exp', mul(e.right, call('log', e.left)));
    },
  },
  {
    id: 'divide-by-probability',
    title: 'w / P → exp(log(w) - log(P))',
    why: 'where P underflows to 0, w / P is 0 / 0 = NaN for w = 0 (Baikal\'s y / p on the other classes once the target leads by about 104 in float32) and its derivative -w / P^2 is NaN much earlier (P^2 underflows at a lead of about 52); exp(log w - log P) is 0 there, with a zero derivative.',
    when: 'w does not depend on the prediction and is never negative; P is the input p, softmax(z) or sum(w2 * p)',
    quickFix: false,
    rewrite: (e, cx) => {
      if (e.kind !== 'Binary' || e.op !== '/') return null;
      if (cx.dependsOnPrediction(e.left) || !nonNegative(e.left, cx) || !hasStableLog(e.right, cx)) return null;
      return call('exp', sub(call('log', e.left), call('log', e.right)));
    },
  },
];

const BY_ID = new Map(STABLE_REWRITES.map((r) => [r.id, r]));

/** The rewrite with this id. */
export function stableRewrite(id: string): StableRewrite {
  const r = BY_ID.get(id);
  if (!r) throw new Error(`no stable rewrite '${id}'`);
  return r;
}

// ---------------------------------------------------------------- context


class Context implements StableContext {
  private readonly stableLets = new Map<string, Expr>();
  private readonly visiting = new Set<string>();
  private readonly intervals = new Map<string, Interval>();
  private readonly dependence = new Map<string, boolean>();
  private readonly dependsCache = new WeakMap<Expr, boolean>();
  readonly applied: AppliedRewrite[] = [];
  /** The statement being rewritten (for `applied`); undefined while answering a query. */
  statement: string | undefined;

  constructor(
    private readonly model: Model,
    private readonly opts: StabilizeOptions,
  ) {}

  /** The let a name refers to (first definition; inputs are never lets). */
  private letOf(name: string): LetStmt | undefined {
    if (INPUT_NAMES.has(name)) return undefined;
    const s: SymbolInfo | undefined = this.model.symbols.get(name);
    return s?.stmt?.kind === 'Let' ? s.stmt : undefined;
  }

  /** A let's body in stable form (the written body while it is being rewritten: a cycle). */
  letBody(name: string): Expr | undefined {
    const l = this.letOf(name);
    if (!l) return undefined;
    const done = this.stableLets.get(name);
    if (done) return done;
    if (this.visiting.has(name)) return l.expr;
    this.visiting.add(name);
    const outer = this.statement;
    this.statement = name;
    const body = this.rewrite(l.expr, 0);
    this.statement = outer;
    this.visiting.delete(name);
    this.stableLets.set(name, body);
    return body;
  }

  resolve(e: Expr): Expr {
    let cur = e;
    for (let i = 0; i < 64 && cur.kind === 'Name'; i++) {
      const body = this.letBody(cur.name);
      if (!body) break;
      cur = body;
    }
    return cur;
  }

  dependsOnPrediction(e: Expr): boolean {
    const visit = (x: Expr): boolean => {
      const known = this.dependsCache.get(x);
      if (known !== undefined) return known;
      const d = this.depends(x, visit);
      this.dependsCache.set(x, d);
      return d;
    };
    return visit(e);
  }

  private depends(x: Expr, visit: (x: Expr) => boolean): boolean {
    switch (x.kind) {
      case 'Name': {
        if (x.name === 'p' || x.name === 'logits') return true;
        const l = this.letOf(x.name);
        if (!l) return false;
        const known = this.dependence.get(x.name);
        if (known !== undefined) return known;
        this.dependence.set(x.name, true); // a cycle (an error elsewhere) counts as dependent
        const d = visit(l.expr);
        this.dependence.set(x.name, d);
        return d;
      }
      case 'Unary':
        return visit(x.operand);
      case 'Binary':
        return visit(x.left) || visit(x.right);
      case 'Call':
        return x.args.some(visit);
      default:
        return false;
    }
  }

  interval(e: Expr): Interval {
    switch (e.kind) {
      case 'Number':
        return I.point(e.value);
      case 'Missing':
        return I.REAL;
      case 'Name':
        return this.nameInterval(e.name);
      case 'Unary':
        return I.negate(this.interval(e.operand));
      case 'Binary':
        return safeRange(builtinById(OPERATOR_IDS[e.op]), [this.interval(e.left), this.interval(e.right)]);
      case 'Call': {
        const b = resolveCall(e.callee, e.args.length);
        if (!b) return I.REAL;
        const args = e.args.map((a) => this.interval(a));
        if (b.id === 'sum') {
          // sum(y * X) and sum(p * X) are convex combinations of X; sum(y) = sum(p) = 1.
          const a = e.args[0];
          const isDist = (x: Expr): boolean => x.kind === 'Name' && (x.name === 'y' || x.name === 'p');
          if (isDist(a)) return I.point(1);
          if (a.kind === 'Binary' && a.op === '*') {
            if (isDist(a.left)) return this.interval(a.right);
            if (isDist(a.right)) return this.interval(a.left);
          }
          return sumRange(args[0]);
        }
        return safeRange(b, args);
      }
    }
  }

  private nameInterval(name: string): Interval {
    const input = inputSpec(name, this.model.task);
    if (input) return input.range;
    const s = this.model.symbols.get(name);
    if (s?.stmt?.kind === 'Param') {
      const prm = s.stmt;
      const given = this.opts.params?.[name];
      if (given !== undefined) return I.point(given);
      if (prm.bounds && prm.bounds.lo <= prm.bounds.hi) return I.iv(prm.bounds.lo, prm.bounds.hi);
      return Number.isFinite(prm.value) ? I.point(prm.value) : I.REAL;
    }
    if (s?.stmt?.kind === 'Let') {
      const known = this.intervals.get(name);
      if (known) return known;
      this.intervals.set(name, I.REAL); // a cycle
      const r = this.interval(s.stmt.expr);
      this.intervals.set(name, r);
      return r;
    }
    return I.REAL;
  }

  /** First rewrite of the table that applies to `e` (its arguments already stable). */
  match(e: Expr): { rewrite: StableRewrite; replacement: Expr } | null {
    for (const rw of STABLE_REWRITES) {
      const replacement = rw.rewrite(e, this);
      if (replacement) return { rewrite: rw, replacement };
    }
    return null;
  }

  /** Bottom-up: arguments, the node, then the replacement again (bounded). */
  rewrite(e: Expr, depth: number): Expr {
    let node = mapArgs(e, (a) => this.rewrite(a, depth));
    for (let round = 0; round < 8 && depth < 16; round++) {
      const hit = this.match(node);
      if (!hit) break;
      if (this.statement !== undefined) {
        this.applied.push({ rewrite: hit.rewrite, statement: this.statement, before: printExpr(node), after: printExpr(hit.replacement) });
      }
      node = this.rewrite(hit.replacement, depth + 1);
    }
    return node;
  }
}

/** The node with its arguments mapped (the node itself when none changed). */
function mapArgs(e: Expr, f: (a: Expr) => Expr): Expr {
  switch (e.kind) {
    case 'Unary': {
      const o = f(e.operand);
      return o === e.operand ? e : { ...e, operand: o };
    }
    case 'Binary': {
      const l = f(e.left);
      const r = f(e.right);
      return l === e.left && r === e.right ? e : { ...e, left: l, right: r };
    }
    case 'Call': {
      const args = e.args.map(f);
      return args.every((a, i) => a === e.args[i]) ? e : { ...e, args };
    }
    default:
      return e;
  }
}

/**
 * The context of a model for asking about single nodes (quick fixes, diagnostics): names
 * resolve to the stable bodies of the lets.
 */
export function stableContext(model: Model, opts: StabilizeOptions = {}): StableContext {
  return new Context(model, opts);
}

/**
 * The first rewrite that applies to this node as it stands (its arguments as written), with the
 * replacement: what a quick fix offers. Null when none applies.
 */
export function stableRewriteAt(e: Expr, cx: StableContext): { rewrite: StableRewrite; replacement: Expr } | null {
  return cx instanceof Context ? cx.match(e) : matchWith(e, cx);
}

function matchWith(e: Expr, cx: StableContext): { rewrite: StableRewrite; replacement: Expr } | null {
  for (const rw of STABLE_REWRITES) {
    const replacement = rw.rewrite(e, cx);
    if (replacement) return { rewrite: rw, replacement };
  }
  return null;
}

/**
 * The stable form of one expression of the model (a subexpression of a let or loss, say) and the
 * rewrites it took: empty when the expression is already stable or no rewrite knows its fragile
 * form. "Is this fragile form rewritable?" is `stableForm(node, model).applied.length > 0`.
 */
export function stableForm(e: Expr, model: Model, opts: StabilizeOptions = {}): { expr: Expr; applied: StableRewrite[] } {
  const cx = new Context(model, opts);
  cx.statement = '';
  const expr = cx.rewrite(e, 0);
  return { expr, applied: cx.applied.filter((a) => a.statement === '').map((a) => a.rewrite) };
}

const MEMO = new WeakMap<Model, StableResult>();

/**
 * The model with every let and loss in stable form. Params, names and source ranges are kept (the
 * export header quotes the statements as written); `applied` lists what was rewritten where.
 * Memoised per model when no param values are given. Never throws.
 */
export function stabilize(model: Model, opts: StabilizeOptions = {}): StableResult {
  const memo = opts.params ? undefined : MEMO.get(model);
  if (memo) return memo;
  let result: StableResult;
  try {
    result = stabilizeModel(model, opts);
  } catch {
    // Never throws (a model with errors, a rewrite's bug): the loss is then compiled as written.
    result = { model, applied: [] };
  }
  if (!opts.params) MEMO.set(model, result);
  return result;
}

function stabilizeModel(model: Model, opts: StabilizeOptions): StableResult {
  const cx = new Context(model, opts);
  const replaced = new Map<Statement, Statement>();
  for (const l of model.lets) {
    const first = model.symbols.get(l.name)?.stmt === l && !INPUT_NAMES.has(l.name);
    let body: Expr;
    if (first) body = cx.letBody(l.name) ?? l.expr;
    else {
      cx.statement = l.name;
      body = cx.rewrite(l.expr, 0);
      cx.statement = undefined;
    }
    if (body !== l.expr) replaced.set(l, { ...l, expr: body });
  }
  for (const loss of model.losses) {
    cx.statement = loss.name;
    const body = cx.rewrite(loss.expr, 0);
    cx.statement = undefined;
    if (body !== loss.expr) replaced.set(loss, { ...loss, expr: body });
  }
  const swap = <S extends Statement>(s: S): S => (replaced.get(s) as S | undefined) ?? s;
  const types = new Map(model.types);
  for (const [old, neu] of replaced) {
    const t = model.types.get((old as LetStmt | LossStmt).expr);
    if (t) types.set((neu as LetStmt | LossStmt).expr, t);
  }
  const symbols = new Map<string, SymbolInfo>();
  for (const [name, s] of model.symbols) symbols.set(name, s.stmt ? { ...s, stmt: swap(s.stmt) } : s);
  const stable: Model = {
    ...model,
    program: { ...model.program, statements: model.program.statements.map(swap) },
    symbols,
    definitions: model.definitions.map((s) => (s.stmt ? { ...s, stmt: swap(s.stmt) } : s)),
    lets: model.lets.map(swap),
    losses: model.losses.map(swap),
    types,
  };
  // A let rewritten while another statement asked for it is reported under the let's name.
  return { model: stable, applied: cx.applied };
}
