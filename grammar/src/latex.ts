/**
 * LaTeX printer. Vector-valued names carry the class index (`y_k`), reductions print as sums
 * over k, Greek-named params print as Greek letters; function forms come from the builtin table.
 */
import type { Expr } from './ast';
import { anyInputSpec, resolveCall, type Ty } from './builtins';
import { formatNumber } from './build';

const GREEK = new Set([
  'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi',
  'pi', 'rho', 'sigma', 'tau', 'upsilon', 'phi', 'chi', 'psi', 'omega',
]);

export interface LatexOptions {
  nameType: (name: string) => Ty | undefined;
}

/**
 * A name in LaTeX, with the index of each axis it has: k over classes, i over pixels (`vector`
 * true is a vector over classes, as before the pixel axis existed).
 */
export function latexName(name: string, type: Ty | boolean | undefined): string {
  const t: Ty | undefined = type === true ? 'vector' : type === false ? undefined : type;
  const sub = t === 'vector' ? 'k' : t === 'field' ? 'i' : t === 'map' ? 'ik' : '';
  const spec = anyInputSpec(name);
  let base: string;
  if (spec) base = spec.latex;
  else {
    const m = /^([A-Za-z]+?)(\d+|_[A-Za-z0-9]+)?$/.exec(name);
    const stem = m ? m[1] : name;
    const own = m && m[2] ? m[2].replace(/^_/, '') : '';
    const head = GREEK.has(stem) ? `\\${stem}` : stem.length === 1 ? stem : `\\mathrm{${stem.replace(/_/g, '\\_')}}`;
    if (name === 'pt') return sub === 'k' ? 'p_{t,k}' : sub ? `p_{t,${sub}}` : 'p_t';
    base = own ? `${head}_{${own}}` : head;
  }
  if (!sub) return base;
  // A base that has its own subscript (p_t, w_{2}) gets the axes after a comma.
  const m = /^(.*)_\{(.*)\}$/.exec(base) ?? /^(.*)_(\w)$/.exec(base);
  if (m && !spec) return `${m[1]}_{${m[2]},${sub}}`;
  return sub.length === 1 ? `${base}_${sub}` : `${base}_{${sub}}`;
}

function prec(e: Expr): number {
  switch (e.kind) {
    case 'Binary':
      return e.op === '+' || e.op === '-' ? 1 : e.op === '*' ? 2 : e.op === '/' ? 5 : 4;
    case 'Unary':
      return 3;
    case 'Number':
      return e.value < 0 ? 3 : 5;
    default:
      return 5;
  }
}

export function toLatex(e: Expr, opts: LatexOptions): string {
  return latexOf(e, opts);
}

function latexOf(e: Expr, opts: LatexOptions): string {
  const rec = (x: Expr): string => latexOf(x, opts);
  const paren = (x: Expr, min: number): string => (prec(x) < min ? `\\left(${rec(x)}\\right)` : rec(x));
  switch (e.kind) {
    case 'Number': {
      const t = formatNumber(e.value);
      const m = /^(-?[\d.]+)e(-?\d+)$/.exec(t);
      return m ? `${m[1]} \\times 10^{${m[2]}}` : t;
    }
    case 'Name':
      return latexName(e.name, opts.nameType(e.name));
    case 'Missing':
      return '?';
    case 'Unary':
      return `-${paren(e.operand, 3)}`;
    case 'Binary': {
      switch (e.op) {
        case '+':
          return `${paren(e.left, 1)} + ${paren(e.right, 2)}`;
        case '-':
          return `${paren(e.left, 1)} - ${paren(e.right, 2)}`;
        case '*':
          return `${paren(e.left, 2)} \\, ${paren(e.right, 3)}`;
        case '/':
          return `\\frac{${rec(e.left)}}{${rec(e.right)}}`;
        case '^': {
          const base = e.left.kind === 'Call' || prec(e.left) < 5 ? `\\left(${rec(e.left)}\\right)` : rec(e.left);
          return `{${base}}^{${rec(e.right)}}`;
        }
      }
      break;
    }
    case 'Call': {
      const b = resolveCall(e.callee, e.args.length);
      const args = e.args.map((a) => (b && (b.shape === 'reduction' || b.shape === 'pixel-reduction') && a.kind === 'Binary' && (a.op === '+' || a.op === '-') ? `\\left(${rec(a)}\\right)` : rec(a)));
      if (!b) return `\\operatorname{${e.callee.replace(/_/g, '\\_')}}\\left(${args.join(', ')}\\right)`;
      return b.latex(args);
    }
  }
}
