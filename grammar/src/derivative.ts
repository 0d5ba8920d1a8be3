/**
 * Symbolic derivatives of a loss, by reverse accumulation over the expression and the `let`
 * definitions it uses: each builtin's rule (from the table) maps the adjoint of its result to
 * adjoints of its arguments. `let` names stay names, so the result reads in the file's terms.
 *
 * - with respect to `p`: p is treated as a free vector (logits held fixed);
 * - with respect to `logits`: through p = softmax(logits) and through direct uses of logits.
 */
import type { Expr, LetStmt, LossStmt } from './ast';
import { add, call, mul, num, ref, sub } from './build';
import { hasClassAxis, hasPixelAxis, type Ty } from './builtins';
import { builtinOf, children as argsOf, exprType, nameTypes, type Model } from './semantics';
import { exprKey, letReuseTable, reuseLetTable, simplifyWithin, type SimplifyContext } from './simplify';
import { letsNeeded } from './evaluate';

/** What to differentiate with respect to: a task's `wrt` (TASKS in builtins.ts): logits or p (per pixel in segmentation); d_fake, d_real. */
export type Wrt = 'logits' | 'p' | 'd_fake' | 'd_real';

export class DerivativeError extends Error {}

function sumAll(parts: Expr[]): Expr | undefined {
  if (parts.length === 0) return undefined;
  return parts.slice(1).reduce((a, b) => add(a, b), parts[0]);
}

export interface DerivativeOptions {
  /** Simplify and re-use let names (default true). */
  simplify?: boolean;
}

/** The raw (unsimplified) or simplified derivative of `lossName` with respect to `wrt`. */
export function differentiate(model: Model, lossName: string, wrt: Wrt, opts: DerivativeOptions = {}): Expr {
  const loss = model.losses.find((l) => l.name === lossName);
  if (!loss) throw new DerivativeError(`no loss named '${lossName}'`);
  // Memoised per model (a hover, the preview and the curve ask for the same derivatives).
  let memo = MEMO.get(model);
  if (!memo) MEMO.set(model, (memo = new Map()));
  const key = `${loss.range.start}:${wrt}:${opts.simplify === false ? 'raw' : 'simplified'}`;
  const known = memo.get(key);
  if (known instanceof DerivativeError) throw known;
  if (known) return known;
  try {
    const d = derive(model, loss, wrt, opts);
    memo.set(key, d);
    return d;
  } catch (e) {
    // Remembered too: a derivative too large to show costs seconds to find so.
    if (e instanceof DerivativeError) memo.set(key, e);
    throw e;
  }
}

const MEMO = new WeakMap<Model, Map<string, Expr | DerivativeError>>();


function derive(model: Model, loss: LossStmt, wrt: Wrt, opts: DerivativeOptions): Expr {
  // Only the lets this loss uses (directly or through other lets), in file order: the
  // derivative's cost follows the loss, not the size of the file.
  const own = letsNeeded(model, loss.expr);
  const lets: LetStmt[] = [];
  for (const n of own) {
    const st = model.symbols.get(n)?.stmt;
    if (st && st.kind === 'Let') lets.push(st);
  }
  lets.sort((a, b) => a.range.start - b.range.start);
  const baseTypes = nameTypes(model);
  const typeOf = (e: Expr): Ty | undefined => exprType(e, baseTypes);

  // Which names depend on the variable.
  const roots = wrt === 'logits' ? ['logits', 'p'] : [wrt];
  const dependent = new Set<string>(roots);
  const depCache = new WeakMap<Expr, boolean>();
  const depends = (e: Expr): boolean => {
    const c = depCache.get(e);
    if (c !== undefined) return c;
    let r = false;
    if (e.kind === 'Name') r = dependent.has(e.name);
    else if (e.kind === 'Call' && e.callee === 'stop_gradient') r = false;
    else r = argsOf(e).some(depends);
    depCache.set(e, r);
    return r;
  };
  for (const l of lets) if (depends(l.expr)) dependent.add(l.name);

  const adjoints = new Map<string, Expr[]>();
  // An adjoint has the axes of the value it flows to: sum out those the value was broadcast over.
  const fit = (adj: Expr, target: Expr): Expr => {
    const t = typeOf(target);
    const a = typeOf(adj);
    if (t === undefined || a === undefined) return adj;
    let out = adj;
    if (hasClassAxis(a) && !hasClassAxis(t)) out = call('sum', out);
    if (hasPixelAxis(a) && !hasPixelAxis(t)) out = call('sum_px', out);
    return out;
  };

  const backprop = (e: Expr, adj: Expr): void => {
    if (!depends(e)) return;
    if (e.kind === 'Name') {
      const arr = adjoints.get(e.name) ?? [];
      arr.push(fit(adj, e));
      adjoints.set(e.name, arr);
      return;
    }
    if (e.kind === 'Missing' || e.kind === 'Number') return;
    const b = builtinOf(e);
    if (!b) throw new DerivativeError(`cannot differentiate ${e.kind === 'Call' ? e.callee : e.kind}`);
    const args = argsOf(e);
    if ('partials' in b.derivative) {
      const parts = b.derivative.partials(args, e);
      args.forEach((a, i) => {
        const d = parts[i];
        if (d && depends(a)) backprop(a, fit(mul(adj, d), a));
      });
    } else {
      const adjs = b.derivative.vjp(args, adj, e);
      args.forEach((a, i) => {
        const d = adjs[i];
        if (d && depends(a)) backprop(a, fit(d, a));
      });
    }
  };

  backprop(loss.expr, num(1));
  for (const l of [...lets].reverse()) {
    const a = sumAll(adjoints.get(l.name) ?? []);
    if (a) backprop(l.expr, a);
  }

  const parts: Expr[] = [];
  if (wrt === 'logits') {
    parts.push(...(adjoints.get('logits') ?? []));
    const ap = sumAll(adjoints.get('p') ?? []);
    if (ap) parts.push(mul(ref('p'), sub(ap, call('sum', mul(ap, ref('p'))))));
  } else {
    parts.push(...(adjoints.get(wrt) ?? []));
  }
  const raw = sumAll(parts) ?? num(0);
  if (opts.simplify === false) return raw;
  const ctx: SimplifyContext = { nameType: baseTypes };
  // Simplify, re-use let names, and simplify again: names can cancel once they appear (pt / pt).
  let out = raw;
  let key = '';
  // Re-use the names of the lets this loss uses (directly or through other lets): the
  // derivative reads in the loss's own vocabulary (in a file where several lets are equal, the
  // loss's own, not the first), and the table costs what the loss costs, not the whole file.
  const table = letReuseTable(lets, ctx);
  for (let i = 0; i < 4; i++) {
    const simpler = simplifyWithin(out, ctx);
    if (!simpler) {
      throw new DerivativeError(
        `the derivative of '${loss.name}' with respect to ${wrt} is too large to simplify and show (name repeated parts with let, or split the loss)`,
      );
    }
    out = reuseLetTable(simpler, table);
    const k = exprKey(out);
    if (k === key) break;
    key = k;
  }
  return out;
}
