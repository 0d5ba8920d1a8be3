/**
 * Name resolution and type inference over a parsed program. Never throws; problems are
 * collected for the checker. Later statements may only use names defined before them.
 */
import type { Expr, LetStmt, LossStmt, ParamStmt, Program, Range, Statement } from './ast';
import { builtinById, CALLABLE_NAMES, hasClassAxis, hasPixelAxis, INPUT_NAMES, isTaskName, joinTys, OPERATOR_IDS, overloads, resolveCall, resultTy, taskOfInput, TASKS, TY_WORDS, type Builtin, type BuiltinId, type TaskName, type Ty } from './builtins';
import { MAX_INLINED_NESTING } from './limits';

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
  code: 'unknown-name' | 'wrong-arity' | 'type-mismatch' | 'not-constant' | 'use-before-definition' | 'loss-reference' | 'nested-too-deep';
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
  /** The file's task: its first `task` line when that names a task, else classification. */
  task: TaskName;
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

const INPUT_SYMBOLS = new Map<TaskName, SymbolInfo[]>(
  Object.values(TASKS).map((t) => [t.name, t.inputs.map((i): SymbolInfo => ({ kind: 'input', name: i.name, type: i.type }))]),
);

/** The input `name` of the task (default classification). */
export function inputSymbol(name: string, task: TaskName = 'classification'): SymbolInfo | undefined {
  return INPUT_SYMBOLS.get(task)!.find((s) => s.name === name);
}

/** The task a program declares (its first `task` line naming a task), else classification. */
export function declaredTask(program: Program): TaskName {
  const t = program.tasks?.[0]?.name;
  return t !== undefined && isTaskName(t) ? t : 'classification';
}

/** Edit distance with adjacent transpositions (optimal string alignment), for did-you-mean. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  // Three rows of the matrix (the transposition looks two rows back), not m + 1 arrays.
  let back = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, back[j - 2] + 1);
      cur[j] = v;
    }
    [back, prev, cur] = [prev, cur, back];
  }
  return prev[n];
}

export function suggest(name: string, candidates: Iterable<string>): string[] {
  const scored: [string, number][] = [];
  const lower = name.toLowerCase();
  for (const c of candidates) {
    if (c === name) continue;
    // The edit distance is at least the difference in length: skip the matrix when that is
    // already too far (and the candidate does not start with the name).
    if (Math.abs(c.length - name.length) > Math.max(1, Math.floor(Math.max(name.length, c.length) / 3)) && !(lower.length >= 2 && c.toLowerCase().startsWith(lower))) continue;
    const d = editDistance(lower, c.toLowerCase());
    const limit = Math.max(1, Math.floor(Math.max(name.length, c.length) / 3));
    if (d <= limit || (c.toLowerCase().startsWith(lower) && lower.length >= 2)) scored.push([c, d]);
  }
  scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  return scored.slice(0, 3).map((s) => s[0]);
}

export function analyze(program: Program): Model {
  const task = declaredTask(program);
  const model: Model = {
    program,
    task,
    symbols: new Map(),
    definitions: [],
    params: [],
    lets: [],
    losses: [],
    references: [],
    types: new Map(),
    problems: [],
  };
  const scope = new Map<string, SymbolInfo>();
  for (const s of INPUT_SYMBOLS.get(task)!) scope.set(s.name, s);
  const cx: Context = { program, scope, suggestBudget: SUGGEST_BUDGET, inlined: new Map(), deepest: 0, poisoned: false };

  for (const stmt of program.statements) {
    let type: Ty | undefined;
    let inlined = 0;
    if (stmt.kind === 'Param') {
      type = 'scalar';
      model.params.push(stmt);
    } else {
      startStatement(cx);
      type = inferType(stmt.expr, model, cx, 0);
      inlined = cx.deepest;
      if (cx.poisoned) {
        // It uses a let refused below: no type, and no second error down the chain.
        type = undefined;
        inlined = POISONED;
      } else if (cx.crossing) {
        // Written out, the lets this expression uses nest too deep for the passes that follow
        // lets by name (exporters, the tfjs lowering): refuse it here, once, where it crosses.
        const at = cx.crossing;
        model.problems.push({
          code: 'nested-too-deep',
          message: `nested too deep: with the lets it uses written out, this expression nests more than ${MAX_INLINED_NESTING} levels at '${at.name}'; shorten the chain of lets`,
          range: at.range,
        });
        type = undefined;
        inlined = POISONED;
      }
      if (type) model.types.set(stmt.expr, type);
      if (stmt.kind === 'Let') model.lets.push(stmt);
      else model.losses.push(stmt);
    }
    const sym: SymbolInfo = { kind: stmt.kind === 'Param' ? 'param' : stmt.kind === 'Let' ? 'let' : 'loss', name: stmt.name, type, stmt, nameRange: stmt.nameRange };
    if (stmt.kind === 'Let' && inlined !== 0) cx.inlined.set(sym, inlined);
    model.definitions.push(sym);
    if (!stmt.name) continue;
    if (!model.symbols.has(stmt.name)) model.symbols.set(stmt.name, sym);
    // Losses are not usable in expressions; params and lets are.
    if (stmt.kind !== 'Loss' && !(scope.has(stmt.name) && scope.get(stmt.name)!.kind !== 'input')) scope.set(stmt.name, sym);
  }
  return model;
}

/** Did-you-mean comparisons per file (unknown names x names in scope): a huge broken file stays linear. */
const SUGGEST_BUDGET = 200_000;
/** The written-out depth of a let refused for nesting too deep (or using one that was). */
const POISONED = -1;

interface Context {
  program: Program;
  scope: Map<string, SymbolInfo>;
  /** For names that do not resolve (computed on the first): the last start of each name's definitions, and the losses' names. */
  names?: { lastStart: Map<string, number>; losses: Set<string> };
  /** Did-you-mean comparisons left. */
  suggestBudget: number;
  /** How deep each let's expression nests with the lets it uses written out (POISONED: refused). */
  inlined: Map<SymbolInfo, number>;
  /** The deepest leaf of the current statement, lets written out. */
  deepest: number;
  /** The first name of the current statement past MAX_INLINED_NESTING. */
  crossing?: { name: string; range: Range };
  /** The current statement uses a refused let. */
  poisoned: boolean;
}

function startStatement(cx: Context): void {
  cx.deepest = 0;
  cx.crossing = undefined;
  cx.poisoned = false;
}

/** Where each name is defined last, and which names are losses (once per file, not a search per name). */
function definedNames(cx: Context): NonNullable<Context['names']> {
  if (!cx.names) {
    const lastStart = new Map<string, number>();
    const losses = new Set<string>();
    for (const s of cx.program.statements) {
      lastStart.set(s.name, Math.max(lastStart.get(s.name) ?? -1, s.range.start));
      if (s.kind === 'Loss') losses.add(s.name);
    }
    cx.names = { lastStart, losses };
  }
  return cx.names;
}

/** `suggest`, while the file's budget of comparisons lasts (then no suggestions). */
function suggestWithin(cx: Context, name: string, candidates: Iterable<string>, count: number): string[] {
  if (cx.suggestBudget < count) return [];
  cx.suggestBudget -= count;
  return suggest(name, candidates);
}

function inferType(e: Expr, model: Model, cx: Context, depth: number): Ty | undefined {
  // Recursion without a closure per node (this runs on every node of every check). The parser
  // bounds the depth of one expression (limits.ts).
  let t: Ty | undefined;
  switch (e.kind) {
    case 'Number':
      t = 'scalar';
      if (depth > cx.deepest) cx.deepest = depth;
      break;
    case 'Missing':
      t = undefined;
      break;
    case 'Name': {
      const sym = cx.scope.get(e.name);
      if (depth > cx.deepest) cx.deepest = depth;
      if (sym) {
        model.references.push({ range: e.range, symbol: sym });
        t = sym.type;
        const inl = cx.inlined.get(sym) ?? 0;
        if (inl === POISONED) cx.poisoned = true;
        const d = depth + Math.max(0, inl);
        if (d > cx.deepest) cx.deepest = d;
        if (d > MAX_INLINED_NESTING && !cx.crossing) cx.crossing = { name: e.name, range: e.range };
      } else {
        const names = definedNames(cx);
        const later = (names.lastStart.get(e.name) ?? -1) > e.range.start;
        if (names.losses.has(e.name)) {
          model.problems.push({ code: 'loss-reference', message: `'${e.name}' is a loss; a loss cannot be used in an expression (define it with 'let' to reuse it)`, range: e.range });
        } else if (later) {
          model.problems.push({ code: 'use-before-definition', message: `'${e.name}' is used before it is defined (line order matters)`, range: e.range });
        } else if (overloads(e.name).length > 0) {
          model.problems.push({ code: 'type-mismatch', message: `'${e.name}' is a function: call it, e.g. ${e.name}(...)`, range: e.range });
        } else {
          const suggestions = suggestWithin(cx, e.name, cx.scope.keys(), cx.scope.size);
          const elsewhere = INPUT_NAMES.has(e.name) ? taskOfInput(e.name) : undefined;
          model.problems.push({
            code: 'unknown-name',
            message: elsewhere
              ? `'${e.name}' is an input of task ${elsewhere}, not of this file's task (${model.task})${elsewhere === 'classification' ? '' : `: start the file with 'task ${elsewhere}'`}`
              : `unknown name '${e.name}'${suggestions.length ? `; did you mean '${suggestions[0]}'?` : ''}`,
            range: e.range,
            suggestions,
          });
        }
        t = undefined;
      }
      break;
    }
    case 'Unary':
      t = inferType(e.operand, model, cx, depth + 1);
      break;
    case 'Binary': {
      const a = inferType(e.left, model, cx, depth + 1);
      const b = inferType(e.right, model, cx, depth + 1);
      t = joinTys([a, b]);
      break;
    }
    case 'Call': {
      const argTypes: (Ty | undefined)[] = [];
      for (const arg of e.args) argTypes.push(inferType(arg, model, cx, depth + 1));
      if (e.args.length === 0 && depth + 1 > cx.deepest) cx.deepest = depth + 1;
      const cands = overloads(e.callee);
      if (cands.length === 0) {
        const sym = cx.scope.get(e.callee);
        if (sym) {
          model.problems.push({ code: 'type-mismatch', message: `'${e.callee}' is a ${sym.kind}, not a function`, range: e.calleeRange });
        } else {
          const suggestions = suggestWithin(cx, e.callee, CALLABLE_NAMES, CALLABLE_NAMES.length);
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
        if (spec.kind === 'vector' && at !== undefined && !hasClassAxis(at)) {
          model.problems.push({ code: 'type-mismatch', message: `${b.name} expects a vector (over classes) as '${spec.name}', got ${TY_WORDS[at]}`, range: arg.range });
          bad = true;
        }
        if (spec.kind === 'pixels' && at !== undefined && !hasPixelAxis(at)) {
          model.problems.push({
            code: 'type-mismatch',
            message: `${b.name} reduces over pixels: it expects a field or map (task segmentation) as '${spec.name}', got ${TY_WORDS[at]}`,
            range: arg.range,
          });
          bad = true;
        }
        if (spec.kind === 'const') {
          if (at !== undefined && at !== 'scalar') {
            model.problems.push({ code: 'type-mismatch', message: `${b.name} expects a scalar constant as '${spec.name}', got ${TY_WORDS[at]}`, range: arg.range });
            bad = true;
          } else if (dependsOnInputs(arg, cx.scope)) {
            model.problems.push({ code: 'not-constant', message: `'${spec.name}' of ${b.name} must be a constant (numbers and params only)`, range: arg.range });
          }
        }
      });
      if (bad) {
        t = undefined;
        break;
      }
      t = resultTy(b, argTypes);
      break;
    }
  }
  return t;
}

/** Does the expression depend on y, p, logits (directly or through lets)? */
function dependsOnInputs(e: Expr, scope: Map<string, SymbolInfo>): boolean {
  const seen = new Set<string>();
  let dep = false;
  // A work list over the lets it uses, not recursion (long let chains).
  const todo: Expr[] = [e];
  for (let x = todo.pop(); x && !dep; x = todo.pop()) {
    walk(x, (n) => {
      if (n.kind !== 'Name') return;
      const s = scope.get(n.name);
      if (!s) return;
      if (s.kind === 'input' && s.name !== 'C') dep = true;
      if (s.kind === 'let' && s.stmt && s.stmt.kind === 'Let' && !seen.has(n.name)) {
        // A let that shadows an input names itself in its own expression: follow it once.
        seen.add(n.name);
        if (INPUT_NAMES.has(n.name)) dep = true;
        else todo.push(s.stmt.expr);
      }
    });
  }
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
      return joinTys([exprType(e.left, nameType), exprType(e.right, nameType)]);
    }
    case 'Call': {
      const b = resolveCall(e.callee, e.args.length);
      if (!b) return undefined;
      return resultTy(b, e.args.map((a) => exprType(a, nameType)));
    }
  }
}

/** Name -> type for a model (inputs, params, lets). */
export function nameTypes(model: Model): (name: string) => Ty | undefined {
  return (name) => {
    const i = inputSymbol(name, model.task);
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
