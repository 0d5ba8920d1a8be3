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

export function latexName(name: string, vector: boolean): string {
  const spec = anyInputSpec(name);
  let base: string;
  if (spec) base = spec.latex;
  else {
    const m = /^([A-Za-z]+?)(\d+|_[A-Za-z0-9]+)?$/.exec(name);
    const stem = m ? m[1] : name;
    const sub = m && m[2] ? m[2].replace(/^_/, '') : '';
    const head = GREEK.has(stem) ? `\\${stem}` : stem.length === 1 ? stem : `\\mathrm{${stem.replace(/_/g, '\\_')}}`;
    if (name === 'pt') return vector ? 'p_{t,k}' : 'p_t';
    base = sub ? `${head}_{${sub}}` : head;
  }
  return vector ? `${base}_k` : base;
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
      return latexName(e.name, opts.nameType(e.name) === 'vector');
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
      const args = e.args.map((a) => (b && (b.shape === 'reduction') && a.kind === 'Binary' && (a.op === '+' || a.op === '-') ? `\\left(${rec(a)}\\right)` : rec(a)));
      if (!b) return `\\operatorname{${e.callee.replace(/_/g, '\\_')}}\\left(${args.join(', ')}\\right)`;
      return b.latex(args);
    }
  }
}
