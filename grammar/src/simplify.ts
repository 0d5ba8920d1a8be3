/**
 * Algebraic simplifier for derivative output and evolved losses: constant folding (through
 * every elementwise builtin's float64 implementation, protected operators included, wherever
 * the value is finite: `log10(-1)` folds, `log(0)` stays written for the checker to report),
 * identities, collecting like terms and like factors (`p - -1` is `p + 1`, `y - y` cancels),
 * common factors, linearity of sums over classes (sum(y) = sum(p) = 1 because both are
 * distributions), and re-use of `let` names. Every rewrite holds for all real inputs where
 * both sides are defined; the smaller form wins. A property test checks that the result
 * evaluates equal to the input (float64) over random search expressions.
 */
import type { Expr } from './ast';
import { add, call, div, mul, neg, num, pow, ref, sub } from './build';
import { hasClassAxis, hasPixelAxis, resolveCall, type Ty } from './builtins';
import { exprType } from './semantics';
import { MAX_SIMPLIFY_WORK } from './limits';

export interface SimplifyContext {
  nameType: (name: string) => Ty | undefined;
}

interface Factor {
  base: Expr;
  exp: Expr;
  key: string;
}

interface Term {
  coef: number;
  factors: Factor[];
}

type Poly = Term[];

/** Structural key of an expression (canonical for simplifier output). Cached per node: keys of shared subtrees are built once. */
export function exprKey(e: Expr): string {
  if (e.kind === 'Number') return `#${e.value}`;
  if (e.kind === 'Name') return e.name;
  const known = KEYS.get(e);
  if (known !== undefined) return known;
  let k: string;
  switch (e.kind) {
    case 'Unary':
      k = `-(${exprKey(e.operand)})`;
      break;
    case 'Binary':
      k = `(${exprKey(e.left)}${e.op}${exprKey(e.right)})`;
      break;
    case 'Call':
      k = `${e.callee}(${e.args.map(exprKey).join(',')})`;
      break;
    default:
      k = '?';
  }
  KEYS.set(e, k);
  keyChars += k.length;
  return k;
}

const KEYS = new WeakMap<Expr, string>();
/** Characters of the keys built so far, by exprKey and the simplifier's monomial keys. */
let keyChars = 0;

/** Nodes of `e` written out as a tree. Cached per node, like exprKey. */
export function exprSize(e: Expr): number {
  if (e.kind === 'Number' || e.kind === 'Name' || e.kind === 'Missing') return 1;
  const known = SIZES.get(e);
  if (known !== undefined) return known;
  let n: number;
  switch (e.kind) {
    case 'Unary':
      n = 1 + exprSize(e.operand);
      break;
    case 'Binary':
      n = 1 + exprSize(e.left) + exprSize(e.right);
      break;
    case 'Call':
      n = 1 + e.args.reduce((s, a) => s + exprSize(a), 0);
      break;
  }
  SIZES.set(e, n);
  return n;
}

const SIZES = new WeakMap<Expr, number>();

const MAX_EXPAND = 8;

/** `e` simplified; `e` itself where simplifying would cost more than MAX_SIMPLIFY_WORK. */
export function simplify(e: Expr, ctx: SimplifyContext): Expr {
  return simplifyWithin(e, ctx) ?? e;
}

/**
 * `e` simplified, or undefined where that costs more than MAX_SIMPLIFY_WORK: characters of the
 * structural keys built, which is what the simplifier's time follows (a derivative whose
 * simplified form has 70,000 operations costs about 30 million and a second).
 */
export function simplifyWithin(e: Expr, ctx: SimplifyContext): Expr | undefined {
  let out: Expr;
  try {
    out = new Simplifier(ctx).expr(e);
  } catch (err) {
    if (err instanceof OverBudget) return undefined;
    throw err;
  }
  // A coefficient that overflowed (1e200 * 1e200) has no text that reads back: keep the input.
  return finiteNumbers(out) ? out : e;
}

class OverBudget extends Error {}

function finiteNumbers(e: Expr): boolean {
  switch (e.kind) {
    case 'Number':
      return Number.isFinite(e.value);
    case 'Unary':
      return finiteNumbers(e.operand);
    case 'Binary':
      return finiteNumbers(e.left) && finiteNumbers(e.right);
    case 'Call':
      return e.args.every(finiteNumbers);
    default:
      return true;
  }
}

class Simplifier {
  private readonly start = keyChars;
  constructor(private readonly ctx: SimplifyContext) {}

  /** Stops a simplification whose keys pass MAX_SIMPLIFY_WORK characters. */
  private spend(): void {
    if (keyChars - this.start > MAX_SIMPLIFY_WORK) throw new OverBudget();
  }

  private typeOf(e: Expr): Ty | undefined {
    return exprType(e, this.ctx.nameType);
  }

  expr(e: Expr): Expr {
    return this.fromPoly(this.poly(e));
  }

  private factor(base: Expr, exp: Expr = num(1)): Factor {
    const key = exprKey(base);
    this.spend();
    return { base, exp, key };
  }

  private single(base: Expr): Poly {
    return [{ coef: 1, factors: [this.factor(base)] }];
  }

  /** poly() per node: a derivative is a DAG (each adjoint is shared by the arguments it flows to). */
  private readonly polys = new Map<Expr, Poly>();

  poly(e: Expr): Poly {
    const known = this.polys.get(e);
    if (known) return known;
    const out = this.polyOf(e);
    this.polys.set(e, out);
    return out;
  }

  private polyOf(e: Expr): Poly {
    switch (e.kind) {
      case 'Number':
        return e.value === 0 ? [] : [{ coef: e.value, factors: [] }];
      case 'Name':
      case 'Missing':
        return this.single(e);
      case 'Unary':
        return this.scale(this.poly(e.operand), -1);
      case 'Binary': {
        const l = this.poly(e.left);
        const r = this.poly(e.right);
        switch (e.op) {
          case '+':
            return this.addP(l, r);
          case '-':
            return this.addP(l, this.scale(r, -1));
          case '*':
            return this.mulP(l, r);
          case '/':
            return this.mulP(l, this.invP(r));
          case '^': {
            // A constant exponent as one number (`x^-1` is 1/x, not x to the power of `-(1)`).
            const k = polyConstant(r);
            return this.powP(l, k !== undefined ? num(k) : this.fromPoly(r));
          }
        }
        break;
      }
      case 'Call':
        return this.callP(e.callee, e.args.map((a) => this.expr(a)));
    }
    return this.single(e);
  }

  private scale(p: Poly, k: number): Poly {
    if (k === 0) return [];
    return p.map((t) => ({ coef: t.coef * k, factors: t.factors }));
  }

  private monoKey(t: Term): string {
    const k = t.factors.map((f) => `${f.key}^${exprKey(f.exp)}`).join('*');
    keyChars += k.length;
    this.spend();
    return k;
  }

  addP(a: Poly, b: Poly): Poly {
    const out: Term[] = [];
    const index = new Map<string, number>();
    for (const t of [...a, ...b]) {
      const k = this.monoKey(t);
      const i = index.get(k);
      if (i === undefined) {
        index.set(k, out.length);
        out.push({ coef: t.coef, factors: t.factors });
      } else {
        out[i] = { coef: out[i].coef + t.coef, factors: out[i].factors };
      }
    }
    return out.filter((t) => t.coef !== 0);
  }

  private addExp(a: Expr, b: Expr): Expr {
    if (a.kind === 'Number' && b.kind === 'Number') return num(a.value + b.value);
    return this.expr(add(a, b));
  }

  private mulTerm(a: Term, b: Term): Term {
    const byKey = new Map<string, Factor>();
    for (const f of [...a.factors, ...b.factors]) {
      const g = byKey.get(f.key);
      if (!g) byKey.set(f.key, f);
      else byKey.set(f.key, { base: g.base, key: g.key, exp: this.addExp(g.exp, f.exp) });
    }
    const factors = [...byKey.values()].filter((f) => !(f.exp.kind === 'Number' && f.exp.value === 0));
    factors.sort(compareFactors);
    return { coef: a.coef * b.coef, factors };
  }

  mulP(a: Poly, b: Poly): Poly {
    if (a.length === 0 || b.length === 0) return [];
    if (a.length === 1 && b.length === 1) return [this.mulTerm(a[0], b[0])];
    const opaque = [this.mulTerm(this.asTerm(a), this.asTerm(b))];
    if (a.length * b.length > MAX_EXPAND) return opaque;
    let expanded: Poly = [];
    for (const s of a) for (const t of b) expanded = this.addP(expanded, [this.mulTerm(s, t)]);
    return exprSize(this.fromPoly(expanded)) < exprSize(this.fromPoly(opaque)) ? expanded : opaque;
  }

  /** A poly as one term: itself if it has one term, else an opaque factor. */
  private asTerm(p: Poly): Term {
    if (p.length === 1) return p[0];
    if (p.length === 0) return { coef: 0, factors: [] };
    return { coef: 1, factors: [this.factor(this.fromPoly(p))] };
  }

  invP(p: Poly): Poly {
    // 1/0 stays written (a coefficient of Infinity would print as a name); the checker reports it.
    if (p.length === 0) return [{ coef: 1, factors: [this.factor(num(0), num(-1))] }];
    if (p.length === 1) {
      const t = p[0];
      return [{ coef: 1 / t.coef, factors: t.factors.map((f) => ({ ...f, exp: this.negExp(f.exp) })) }];
    }
    return [{ coef: 1, factors: [this.factor(this.fromPoly(p), num(-1))] }];
  }

  private negExp(e: Expr): Expr {
    return e.kind === 'Number' ? num(-e.value) : this.expr(neg(e));
  }

  powP(base: Poly, exp: Expr): Poly {
    if (exp.kind === 'Number') {
      const k = exp.value;
      if (k === 0) return [{ coef: 1, factors: [] }];
      if (k === 1) return base;
      if (base.length === 0) return k > 0 ? [] : [{ coef: 1, factors: [this.factor(num(0), exp)] }];
      if (base.length === 1) {
        const t = base[0];
        if (t.factors.length === 0) {
          const v = Math.pow(t.coef, k);
          if (Number.isFinite(v)) return [{ coef: v, factors: [] }];
        }
        if (Number.isInteger(k)) {
          // (c x^a y^b)^k = c^k x^(ak) y^(bk) for integer k.
          const coef = Math.pow(t.coef, k);
          const factors = t.factors.map((f) => ({ ...f, exp: f.exp.kind === 'Number' ? num(f.exp.value * k) : this.expr(mul(f.exp, num(k))) }));
          return [{ coef, factors }];
        }
        if (t.coef === 1 && t.factors.length === 1 && t.factors[0].exp.kind === 'Number' && t.factors[0].exp.value === 1) {
          return [{ coef: 1, factors: [{ ...t.factors[0], exp }] }];
        }
      }
    }
    const b = this.fromPoly(base);
    if (b.kind === 'Number' && b.value === 1) return [{ coef: 1, factors: [] }];
    return [{ coef: 1, factors: [this.factor(b, exp)] }];
  }

  private callP(name: string, args: Expr[]): Poly {
    const b = resolveCall(name, args.length);
    if (!b) return this.single(call(name, ...args));
    // Constant folding through the builtin's own float64 implementation, whenever the result
    // is finite (the protected operators always fold where finite: they are total). A constant
    // call that is not finite (log(0), sqrt(-1)) stays written: the checker reports it.
    if (b.shape === 'elementwise') {
      const consts = args.map(constantOf);
      if (consts.every((v): v is number => v !== undefined)) {
        const v = b.fn(...consts);
        if (Number.isFinite(v)) return v === 0 ? [] : [{ coef: v, factors: [] }];
      }
    }
    switch (name) {
      case 'sum':
        if (args.length === 1) return this.sumP(this.poly(args[0]));
        break;
      case 'sum_px':
      case 'mean_px':
        return this.pixelP(name, this.poly(args[0]));
      case 'softmax':
        // p is softmax(logits) by definition.
        if (args[0].kind === 'Name' && args[0].name === 'logits') return this.single(ref('p'));
        break;
      case 'log':
        if (args[0].kind === 'Call' && args[0].callee === 'exp') return this.poly(args[0].args[0]);
        break;
      case 'exp':
        if (args[0].kind === 'Call' && args[0].callee === 'log') {
          // exp(log(x)) = x where log(x) is defined: keep it only for arguments known positive.
          break;
        }
        break;
      case 'abs':
        if (args[0].kind === 'Call' && (args[0].callee === 'abs' || args[0].callee === 'exp' || args[0].callee === 'softmax')) return this.poly(args[0]);
        break;
      case 'stop_gradient':
        if (args[0].kind === 'Number') return this.poly(args[0]);
        break;
      default:
        break;
    }
    return this.single(call(name, ...args));
  }

  /** sum over classes, linear: constants and scalar factors come out; sum(y) = sum(p) = 1. */
  private sumP(p: Poly): Poly {
    let out: Poly = [];
    for (const t of p) {
      const scalars: Factor[] = [];
      const vectors: Factor[] = [];
      // A factor is over classes when its base or its exponent is (2^y is); a field (per pixel)
      // is the same for every class at a pixel, so it comes out of the sum like a scalar.
      for (const f of t.factors) (hasClassAxis(this.typeOf(f.base)) || hasClassAxis(this.typeOf(f.exp)) ? vectors : scalars).push(f);
      const outer: Term = { coef: t.coef, factors: scalars };
      if (vectors.length === 0) {
        out = this.addP(out, [this.mulTerm(outer, { coef: 1, factors: [this.factor(ref('C'))] })]);
        continue;
      }
      if (vectors.length === 1 && vectors[0].exp.kind === 'Number' && vectors[0].exp.value === 1 && isDistribution(vectors[0].base)) {
        out = this.addP(out, [outer]);
        continue;
      }
      const inner = this.fromPoly([{ coef: 1, factors: vectors }]);
      out = this.addP(out, [this.mulTerm(outer, { coef: 1, factors: [this.factor(call('sum', inner))] })]);
    }
    return out;
  }

  /** sum_px and mean_px (task segmentation), linear: factors without a pixel axis come out. */
  private pixelP(name: 'sum_px' | 'mean_px', p: Poly): Poly {
    let out: Poly = [];
    for (const t of p) {
      const outside: Factor[] = [];
      const inside: Factor[] = [];
      for (const f of t.factors) (hasPixelAxis(this.typeOf(f.base)) || hasPixelAxis(this.typeOf(f.exp)) ? inside : outside).push(f);
      const outer: Term = { coef: t.coef, factors: outside };
      if (inside.length === 0) {
        // The sum of a constant over the P pixels is P times it; its mean is itself.
        out = this.addP(out, [name === 'sum_px' ? this.mulTerm(outer, { coef: 1, factors: [this.factor(ref('P'))] }) : outer]);
        continue;
      }
      const inner = this.fromPoly([{ coef: 1, factors: inside }]);
      out = this.addP(out, [this.mulTerm(outer, { coef: 1, factors: [this.factor(call(name, inner))] })]);
    }
    return out;
  }

  // ------------------------------------------------------------------ back to expressions

  private factorExpr(f: Factor, positiveExp: boolean): Expr {
    let exp = f.exp;
    if (positiveExp && exp.kind === 'Number') exp = num(Math.abs(exp.value));
    if (exp.kind === 'Number' && exp.value === 1) return f.base;
    if (exp.kind === 'Number' && exp.value === 0.5) return call('sqrt', f.base);
    return pow(f.base, exp);
  }

  /** A term as an expression of its absolute value; the sign is returned separately. */
  private termExpr(t: Term): { e: Expr; negative: boolean } {
    const numer: Expr[] = [];
    const denom: Expr[] = [];
    for (const f of t.factors) {
      if (f.exp.kind === 'Number' && f.exp.value < 0) denom.push(this.factorExpr(f, true));
      else numer.push(this.factorExpr(f, false));
    }
    const negative = t.coef < 0;
    const c = Math.abs(t.coef);
    let top: Expr | undefined;
    if (c !== 1 || numer.length === 0) top = num(c);
    for (const n of numer) top = top ? mul(top, n) : n;
    let e = top ?? num(1);
    if (denom.length) {
      let d = denom[0];
      for (const x of denom.slice(1)) d = mul(d, x);
      e = div(e, d);
    }
    return { e, negative };
  }

  private plainSum(p: Poly): Expr {
    if (p.length === 0) return num(0);
    const ordered = [...p].sort((a, b) => (a.coef < 0 ? 1 : 0) - (b.coef < 0 ? 1 : 0));
    let out: Expr | undefined;
    for (const t of ordered) {
      const { e, negative } = this.termExpr(t);
      if (!out) out = negative ? neg(e) : e;
      else out = negative ? sub(out, e) : add(out, e);
    }
    return out!;
  }

  fromPoly(p: Poly): Expr {
    const plain = this.plainSum(p);
    if (p.length < 2) return plain;
    // Common factors: bases present in every term with numeric exponents of one sign.
    const common: Factor[] = [];
    for (const f of p[0].factors) {
      if (f.exp.kind !== 'Number') {
        if (p.every((t) => t.factors.some((g) => g.key === f.key && exprKey(g.exp) === exprKey(f.exp)))) common.push(f);
        continue;
      }
      const sgn = Math.sign(f.exp.value);
      let m = Math.abs(f.exp.value);
      let all = true;
      for (const t of p.slice(1)) {
        const g = t.factors.find((h) => h.key === f.key);
        if (!g || g.exp.kind !== 'Number' || Math.sign(g.exp.value) !== sgn) {
          all = false;
          break;
        }
        m = Math.min(m, Math.abs(g.exp.value));
      }
      if (all) common.push({ ...f, exp: num(sgn * m) });
    }
    let coef = 1;
    if (p.every((t) => t.coef < 0)) coef = -1;
    if (common.length === 0 && coef === 1) return plain;
    const commonTerm: Term = { coef, factors: common };
    const inv: Term = { coef: 1 / coef, factors: common.map((f) => ({ ...f, exp: this.negExp(f.exp) })) };
    const rest = p.map((t) => this.mulTerm(t, inv));
    const restExpr = this.plainSum(rest);
    const { e: ce, negative } = this.termExpr(commonTerm);
    const isOne = ce.kind === 'Number' && ce.value === 1;
    const prod = isOne ? restExpr : mul(ce, restExpr);
    const factored = negative ? neg(prod) : prod;
    return exprSize(factored) < exprSize(plain) ? factored : plain;
  }
}

/** Factor order in printed products: names, then calls, then compound bases; by key within. */
function rank(f: Factor): number {
  return f.base.kind === 'Name' ? 0 : f.base.kind === 'Call' ? 1 : 2;
}
function compareFactors(x: Factor, y: Factor): number {
  const r = rank(x) - rank(y);
  if (r !== 0) return r;
  return x.key < y.key ? -1 : x.key > y.key ? 1 : 0;
}

/** The value of a constant expression as the simplifier writes it (`2`, `-(2)`), if it is one. */
export function constantOf(x: Expr): number | undefined {
  if (x.kind === 'Number') return x.value;
  if (x.kind === 'Unary' && x.operand.kind === 'Number') return -x.operand.value;
  return undefined;
}

/** The value of a constant poly (no factors), if it is one. */
function polyConstant(p: Poly): number | undefined {
  if (p.length === 0) return 0;
  return p.length === 1 && p[0].factors.length === 0 ? p[0].coef : undefined;
}

function isDistribution(e: Expr): boolean {
  if (e.kind === 'Name') return e.name === 'y' || e.name === 'p';
  if (e.kind === 'Call') return e.callee === 'softmax' || e.callee === 'tempered_softmax';
  return false;
}

/**
 * Re-using `let` names in derivatives (so they read in the file's own vocabulary: `sum(p * y)`
 * becomes `pt`): `letReuseTable` once per derivative, `reuseLetTable` on each round.
 */
/** The simplified lets by key (largest first wins): build once, apply to many expressions. */
export function letReuseTable(lets: { name: string; expr: Expr }[], ctx: SimplifyContext): Map<string, string> {
  const table = new Map<string, string>();
  const sized = lets.map((l) => ({ name: l.name, s: simplify(l.expr, ctx) })).sort((a, b) => exprSize(b.s) - exprSize(a.s));
  for (const l of sized) {
    if (exprSize(l.s) <= 1) continue;
    const k = exprKey(l.s);
    if (!table.has(k)) table.set(k, l.name);
  }
  return table;
}

/** Replace subexpressions equal to a let's simplified definition by the let's name (largest first). */
export function reuseLetTable(e: Expr, table: Map<string, string>): Expr {
  if (table.size === 0) return e;
  const rec = (x: Expr): Expr => {
    const hit = table.get(exprKey(x));
    if (hit) return ref(hit);
    switch (x.kind) {
      case 'Unary':
        return { ...x, operand: rec(x.operand) };
      case 'Binary':
        return { ...x, left: rec(x.left), right: rec(x.right) };
      case 'Call':
        return { ...x, args: x.args.map(rec) };
      default:
        return x;
    }
  };
  return rec(e);
}
