/**
 * Name resolution and type inference over a parsed program. Never throws; problems are
 * collected for the checker. Later statements may only use names defined before them.
 */
import type { Expr, LetStmt, LossStmt, ParamStmt, Program, Range, Statement } from './ast';
import { builtinById, CALLABLE_NAMES, INPUTS, OPERATOR_IDS, overloads, resolveCall, type Builtin, type BuiltinId, type Ty } from './builtins';

export type SymbolKind = 'input' | 'param' | 'let' | 'loss';

export interface SymbolInfo {
  kind: SymbolKind;
  name: string;
  type: Ty | undefined;
  stmt?: Statement;
  /** Range of the defining name (absent for inputs). */
  nameRange?: Range;
}

export interface TypeProblem {
  code: 'unknown-name' | 'wrong-arity' | 'type-mismatch' | 'not-constant' | 'use-before-definition' | 'loss-reference';
  message: string;
  range: Range;
  /** For unknown names: suggestions, best first. */
  suggestions?: string[];
}

export interface Reference {
  range: Range;
  symbol: SymbolInfo;
}

export interface Model {
  program: Program;
  /** Definitions visible by name at the end of the file (the first definition wins for duplicates). */
  symbols: Map<string, SymbolInfo>;
  /** Every statement's symbol, in order (duplicates included). */
  definitions: SymbolInfo[];
  params: ParamStmt[];
  lets: LetStmt[];
  losses: LossStmt[];
  /** Every use of a name that resolved. */
  references: Reference[];
  /** Inferred type of each let's and loss's whole expression (by node identity; subexpressions
   *  are not recorded: nothing reads them, and a set per node was a tenth of a check). */
  types: Map<Expr, Ty>;
  problems: TypeProblem[];
}

const INPUT_SYMBOLS: SymbolInfo[] = INPUTS.map((i) => ({ kind: 'input', name: i.name, type: i.type }));

export function inputSymbol(name: string): SymbolInfo | undefined {
  return INPUT_SYMBOLS.find((s) => s.name === name);
}

/** Edit distance with adjacent transpositions (optimal string alignment), for did-you-mean. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[m][n];
}

export function suggest(name: string, candidates: Iterable<string>): string[] {
  const scored: [string, number][] = [];
  const lower = name.toLowerCase();
  for (const c of candidates) {
    if (c === name) continue;
    const d = editDistance(lower, c.toLowerCase());
    const limit = Math.max(1, Math.floor(Math.max(name.length, c.length) / 3));
    if (d <= limit || (c.toLowerCase().startsWith(lower) && lower.length >= 2)) scored.push([c, d]);
  }
  scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  return scored.slice(0, 3).map((s) => s[0]);
}

export function analyze(program: Program): Model {
  const model: Model = {
    program,
    symbols: new Map(),
    definitions: [],
    params: [],
    lets: [],
    losses: [],
    references: [],
    types: new Map(),
    problems: [],
  };
  const allNames = new Set<string>(program.statements.map((s) => s.name));
  const scope = new Map<string, SymbolInfo>();
  for (const s of INPUT_SYMBOLS) scope.set(s.name, s);

  for (const stmt of program.statements) {
    let type: Ty | undefined;
    if (stmt.kind === 'Param') {
      type = 'scalar';
      model.params.push(stmt);
    } else {
      type = inferType(stmt.expr, model, scope, allNames, stmt.kind === 'Loss' ? stmt.name : undefined);
      if (type) model.types.set(stmt.expr, type);
      if (stmt.kind === 'Let') model.lets.push(stmt);
      else model.losses.push(stmt);
    }
    const sym: SymbolInfo = { kind: stmt.kind === 'Param' ? 'param' : stmt.kind === 'Let' ? 'let' : 'loss', name: stmt.name, type, stmt, nameRange: stmt.nameRange };
    model.definitions.push(sym);
    if (!stmt.name) continue;
    if (!model.symbols.has(stmt.name)) model.symbols.set(stmt.name, sym);
    // Losses are not usable in expressions; params and lets are.
    if (stmt.kind !== 'Loss' && !(scope.has(stmt.name) && scope.get(stmt.name)!.kind !== 'input')) scope.set(stmt.name, sym);
  }
  return model;
}

function inferType(e: Expr, model: Model, scope: Map<string, SymbolInfo>, allNames: Set<string>, lossName?: string): Ty | undefined {
  // Recursion without a closure per node (this runs on every node of every check).
  let t: Ty | undefined;
  switch (e.kind) {
    case 'Number':
      t = 'scalar';
      break;
    case 'Missing':
      t = undefined;
      break;
    case 'Name': {
      const sym = scope.get(e.name);
      if (sym) {
        model.references.push({ range: e.range, symbol: sym });
        t = sym.type;
      } else {
        const later = model.program.statements.find((s) => s.name === e.name && s.range.start > e.range.start);
        const loss = model.program.statements.find((s) => s.name === e.name && s.kind === 'Loss');
        if (loss) {
          model.problems.push({ code: 'loss-reference', message: `'${e.name}' is a loss; a loss cannot be used in an expression (define it with 'let' to reuse it)`, range: e.range });
        } else if (later && allNames.has(e.name)) {
          model.problems.push({ code: 'use-before-definition', message: `'${e.name}' is used before it is defined (line order matters)`, range: e.range });
        } else if (overloads(e.name).length > 0) {
          model.problems.push({ code: 'type-mismatch', message: `'${e.name}' is a function: call it, e.g. ${e.name}(...)`, range: e.range });
        } else {
          const candidates = new Set<string>([...scope.keys()]);
          const suggestions = suggest(e.name, candidates);
          model.problems.push({
            code: 'unknown-name',
            message: `unknown name '${e.name}'${suggestions.length ? `; did you mean '${suggestions[0]}'?` : ''}`,
            range: e.range,
            suggestions,
          });
        }
        t = undefined;
      }
      break;
    }
    case 'Unary':
      t = inferType(e.operand, model, scope, allNames, lossName);
      break;
    case 'Binary': {
      const a = inferType(e.left, model, scope, allNames, lossName);
      const b = inferType(e.right, model, scope, allNames, lossName);
      t = a === undefined || b === undefined ? (a === 'vector' || b === 'vector' ? 'vector' : undefined) : a === 'vector' || b === 'vector' ? 'vector' : 'scalar';
      break;
    }
    case 'Call': {
      const argTypes: (Ty | undefined)[] = [];
      for (const arg of e.args) argTypes.push(inferType(arg, model, scope, allNames, lossName));
      const cands = overloads(e.callee);
      if (cands.length === 0) {
        const sym = scope.get(e.callee);
        if (sym) {
          model.problems.push({ code: 'type-mismatch', message: `'${e.callee}' is a ${sym.kind}, not a function`, range: e.calleeRange });
        } else {
          const suggestions = suggest(e.callee, CALLABLE_NAMES);
          model.problems.push({
            code: 'unknown-name',
            message: `unknown function '${e.callee}'${suggestions.length ? `; did you mean '${suggestions[0]}'?` : ''}`,
            range: e.calleeRange,
            suggestions,
          });
        }
        t = undefined;
        break;
      }
      const b = resolveCall(e.callee, e.args.length);
      if (!b) {
        const arities = cands.map((c) => c.args.length).sort();
        model.problems.push({
          code: 'wrong-arity',
          message: `${e.callee} takes ${arities.join(' or ')} argument${arities.length === 1 && arities[0] === 1 ? '' : 's'}, got ${e.args.length}`,
          range: e.range,
        });
        t = undefined;
        break;
      }
      let bad = false;
      b.args.forEach((spec, i) => {
        const at = argTypes[i];
        const arg = e.args[i];
        if (spec.kind === 'vector' && at === 'scalar') {
          model.problems.push({ code: 'type-mismatch', message: `${b.name} expects a vector (over classes) as '${spec.name}', got a scalar`, range: arg.range });
          bad = true;
        }
        if (spec.kind === 'const') {
          if (at === 'vector') {
            model.problems.push({ code: 'type-mismatch', message: `${b.name} expects a scalar constant as '${spec.name}', got a vector`, range: arg.range });
            bad = true;
          } else if (dependsOnInputs(arg, scope)) {
            model.problems.push({ code: 'not-constant', message: `'${spec.name}' of ${b.name} must be a constant (numbers and params only)`, range: arg.range });
          }
        }
      });
      if (bad) {
        t = undefined;
        break;
      }
      if (b.shape === 'reduction') t = 'scalar';
      else if (b.shape === 'map') t = 'vector';
      else t = argTypes.some((x) => x === 'vector') ? 'vector' : argTypes.some((x) => x === undefined) ? undefined : 'scalar';
      break;
    }
  }
  return t;
}

/** Does the expression depend on y, p, logits (directly or through lets)? */
function dependsOnInputs(e: Expr, scope: Map<string, SymbolInfo>, seen = new Set<string>()): boolean {
  let dep = false;
  walk(e, (n) => {
    if (n.kind === 'Name') {
      const s = scope.get(n.name);
      if (!s) return;
      if (s.kind === 'input' && s.name !== 'C') dep = true;
      if (s.kind === 'let' && s.stmt && s.stmt.kind === 'Let' && !seen.has(n.name)) {
        // A let that shadows an input names itself in its own expression: follow it once.
        seen.add(n.name);
        if (inputSymbol(n.name) || dependsOnInputs(s.stmt.expr, scope, seen)) dep = true;
      }
    }
  });
  return dep;
}

/** Pre-order walk over an expression. */
export function walk(e: Expr, f: (n: Expr) => void): void {
  f(e);
  switch (e.kind) {
    case 'Unary':
      walk(e.operand, f);
      break;
    case 'Binary':
      walk(e.left, f);
      walk(e.right, f);
      break;
    case 'Call':
      for (const a of e.args) walk(a, f);
      break;
    default:
      break;
  }
}

/** Names an expression uses. */
export function freeNames(e: Expr): Set<string> {
  const s = new Set<string>();
  walk(e, (n) => {
    if (n.kind === 'Name') s.add(n.name);
  });
  return s;
}

export function hasMissing(e: Expr): boolean {
  let m = false;
  walk(e, (n) => {
    if (n.kind === 'Missing') m = true;
  });
  return m;
}

/** Type of an expression (synthesised or parsed) given the types of names; undefined if ill-typed. */
export function exprType(e: Expr, nameType: (name: string) => Ty | undefined): Ty | undefined {
  switch (e.kind) {
    case 'Number':
      return 'scalar';
    case 'Missing':
      return undefined;
    case 'Name':
      return nameType(e.name);
    case 'Unary':
      return exprType(e.operand, nameType);
    case 'Binary': {
      const a = exprType(e.left, nameType);
      const b = exprType(e.right, nameType);
      if (a === 'vector' || b === 'vector') return 'vector';
      return a && b ? 'scalar' : undefined;
    }
    case 'Call': {
      const b = resolveCall(e.callee, e.args.length);
      if (!b) return undefined;
      if (b.shape === 'reduction') return 'scalar';
      if (b.shape === 'map') return 'vector';
      const ts = e.args.map((a) => exprType(a, nameType));
      if (ts.some((t) => t === 'vector')) return 'vector';
      return ts.every((t) => t) ? 'scalar' : undefined;
    }
  }
}

/** Name -> type for a model (inputs, params, lets). */
export function nameTypes(model: Model): (name: string) => Ty | undefined {
  return (name) => {
    const i = inputSymbol(name);
    if (i) return i.type;
    const s = model.symbols.get(name);
    return s && s.kind !== 'loss' ? s.type : undefined;
  };
}

/** Direct children of a node, in order. */
export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'Unary':
      return [e.operand];
    case 'Binary':
      return [e.left, e.right];
    case 'Call':
      return e.args;
    default:
      return [];
  }
}

/** The builtin an operator or call node applies (undefined for leaves and unresolved calls). */
export function builtinOf(e: Expr): Builtin | undefined {
  switch (e.kind) {
    case 'Unary':
      return builtinById('neg');
    case 'Binary':
      return builtinById(OPERATOR_IDS[e.op]);
    case 'Call':
      return resolveCall(e.callee, e.args.length);
    default:
      return undefined;
  }
}

/** The id of the builtin a node applies, typed for the per-layer tables keyed by BuiltinId. */
export function builtinIdOf(e: Expr): BuiltinId | undefined {
  return builtinOf(e)?.id as BuiltinId | undefined;
}
