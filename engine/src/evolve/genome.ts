/**
 * Genomes are DSL ASTs. The default form is the seed system's: an elementwise expression E
 * over the target `y`, the softmax output `p` and the constants 1 and -1, printed as
 *
 *   loss candidate = sum(E)
 *
 * (summed over classes, averaged over the batch by the trainer). A seed read from a `.loss`
 * file keeps its own shape ('free' form): its `let`s are inlined into the loss expression and
 * its `param`s stay named constants, so mutations can reach every part of it.
 *
 * Task segmentation has two forms of its own (the search space gains the pixel reductions):
 *
 *   'pixel':  loss candidate = mean_px(sum(E))   E over y and p at each pixel (the seed
 *             system's space, per pixel: cross-entropy and focal per pixel live here);
 *   'region': loss candidate = mean(E)           E over each class's region statistics
 *             tp = sum_px(p * y), sp = sum_px(p), sy = sum_px(y) (Dice, Tversky, ... live here:
 *             Dice is 1 - 2 tp / (sp + sy)), printed as `let`s of the file.
 *
 * Everything random draws from the caller's Rng, so a search is reproducible from its seed.
 */
import {
  build,
  checkText,
  exprSize,
  freeNames,
  inputSpec,
  printExpr,
  simplify,
  type Expr,
  type Model,
} from '../../../grammar/src/index';
import { EVOLVED_LOSS_NAME } from '../../../protocol/evolve-events';
import type { Rng } from '../rng';
import { binaryOp, children, classify, isCommutative, unaryOp, withChildren } from './ops';

export const LOSS_NAME = EVOLVED_LOSS_NAME;

export interface ParamDef {
  name: string;
  value: number;
  lo?: number;
  hi?: number;
}

export type GenomeForm = 'sum' | 'free' | 'pixel' | 'region';

export interface Genome {
  /**
   * 'sum': the loss is sum(expr), expr elementwise; 'free': expr is the whole (scalar) loss;
   * task segmentation: 'pixel' mean_px(sum(expr)), 'region' mean(expr) over REGION_TERMS.
   */
  form: GenomeForm;
  /** A 'free' genome of a `task segmentation` file (the 'pixel' and 'region' forms are). */
  task?: 'segmentation';
  params: ParamDef[];
  expr: Expr;
}

/** The region statistics of the 'region' form: each a vector over classes, a `let` of the file. */
export const REGION_TERMS: Readonly<Record<string, string>> = {
  tp: 'sum_px(p * y)',
  sp: 'sum_px(p)',
  sy: 'sum_px(y)',
};

/** The inputs each region statistic reads. */
const REGION_READS: Readonly<Record<string, readonly string[]>> = { tp: ['p', 'y'], sp: ['p'], sy: ['y'] };

/** Is the genome a task segmentation loss. */
export function isSegmentation(g: Genome): boolean {
  return g.form === 'pixel' || g.form === 'region' || g.task === 'segmentation';
}

export type Terminal = string | number;

export interface FunctionSet {
  unary: readonly string[];
  binary: readonly string[];
  /** Leaves: input names (`y`, `p`, `logits`) and numeric constants. */
  terminals: readonly Terminal[];
}

export interface Limits {
  maxDepth: number;
  maxSize: number;
}

export type MutationKind = 'op' | 'rewire' | 'arity' | 'insert' | 'delete' | 'const' | 'crossover';

export type MutationWeights = Partial<Record<Exclude<MutationKind, 'crossover'>, number>>;

export const DEFAULT_MUTATION_WEIGHTS: Required<MutationWeights> = {
  op: 0.5,
  rewire: 0.15,
  arity: 0.15,
  insert: 0.08,
  delete: 0.08,
  const: 0.04,
};

// ------------------------------------------------------------------ printing

/** The loss expression of a genome (sum(expr) in the default form; see GenomeForm). */
export function lossExpr(g: Genome): Expr {
  switch (g.form) {
    case 'sum':
      return build.call('sum', g.expr);
    case 'pixel':
      return build.call('mean_px', build.call('sum', g.expr));
    case 'region':
      return build.call('mean', g.expr);
    case 'free':
      return g.expr;
  }
}

export function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6))).replace('e+', 'e');
}

/** The genome as a `.loss` file (comment lines first, without '#'). */
export function printGenome(g: Genome, comments: string[] = []): string {
  const lines = comments.map((c) => `# ${c}`.trimEnd());
  if (isSegmentation(g)) lines.push('task segmentation');
  if (g.form === 'region') {
    const used = freeNames(g.expr);
    for (const [name, def] of Object.entries(REGION_TERMS)) if (used.has(name)) lines.push(`let ${name} = ${def}`);
  }
  for (const p of g.params) {
    const bounds = p.lo !== undefined && p.hi !== undefined ? ` in [${formatValue(p.lo)}, ${formatValue(p.hi)}]` : '';
    lines.push(`param ${p.name} = ${formatValue(p.value)}${bounds}`);
  }
  lines.push(`loss ${LOSS_NAME} = ${printExpr(lossExpr(g))}`);
  return lines.join('\n') + '\n';
}

/**
 * The loss expression as people read it: simplified by the grammar's simplifier (constants
 * folded through the builtins, `p - -1` as `p + 1`, like terms collected, `y - y` cancelled).
 * It evaluates equal to `lossExpr(g)` in float64 wherever that is finite; the search, the
 * trainings and the checkpoints keep the genome as written (`printGenome`), so simplifying
 * never changes what is trained or mutated. The raw form if the simplifier fails.
 */
export function displayExpr(g: Genome): Expr {
  const raw = lossExpr(g);
  const params = new Set(g.params.map((p) => p.name));
  const task = isSegmentation(g) ? 'segmentation' : 'classification';
  try {
    return simplify(raw, {
      nameType: (n) => inputSpec(n, task)?.type ?? (params.has(n) ? 'scalar' : g.form === 'region' && n in REGION_TERMS ? 'vector' : undefined),
    });
  } catch {
    return raw;
  }
}

/** The genome as a `.loss` file to read: `printGenome` with the loss simplified (`displayExpr`). */
export function printGenomeSimplified(g: Genome, comments: string[] = []): string {
  const raw = printGenome(g, comments).split('\n');
  const i = raw.findIndex((l) => l.startsWith(`loss ${LOSS_NAME} = `));
  raw[i] = `loss ${LOSS_NAME} = ${printExpr(displayExpr(g))}`;
  return raw.join('\n');
}

/** The one-line DSL form, simplified (params inlined as `name=value` prefix when present). */
export function genomeText(g: Genome): string {
  const ps = g.params.map((p) => `${p.name}=${formatValue(p.value)}`).join(', ');
  return (ps ? `[${ps}] ` : '') + printExpr(displayExpr(g));
}

function canonKey(e: Expr): string {
  const c = classify(e);
  if (c.kind === 'binary' && isCommutative(c.op)) {
    const ks = [canonKey(c.left), canonKey(c.right)].sort();
    return `${c.op}(${ks.join(',')})`;
  }
  switch (e.kind) {
    case 'Number':
      return formatValue(e.value);
    case 'Name':
      return e.name;
    case 'Unary':
      return `neg(${canonKey(e.operand)})`;
    case 'Binary':
      return `${e.op}(${canonKey(e.left)},${canonKey(e.right)})`;
    case 'Call':
      return `${e.callee}(${e.args.map(canonKey).join(',')})`;
    default:
      return '?';
  }
}

/** Canonical printed form: commutative operands sorted, params by value. Equal keys = duplicates. */
export function canonicalKey(g: Genome): string {
  const ps = g.params.map((p) => `${p.name}=${formatValue(p.value)}`).join(',');
  return `${ps}|${canonKey(lossExpr(g))}`;
}

// ------------------------------------------------------------------ structure

export function depth(e: Expr): number {
  const k = children(e);
  return 1 + (k.length ? Math.max(...k.map(depth)) : 0);
}

export function size(e: Expr): number {
  return exprSize(e);
}

export interface Site {
  path: number[];
  node: Expr;
}

/** Every node with its path from the root (pre-order). */
export function sites(e: Expr, path: number[] = [], out: Site[] = []): Site[] {
  out.push({ path, node: e });
  children(e).forEach((c, i) => sites(c, [...path, i], out));
  return out;
}

export function replaceAt(e: Expr, path: number[], repl: Expr): Expr {
  if (path.length === 0) return repl;
  const kids = children(e).slice();
  kids[path[0]] = replaceAt(kids[path[0]], path.slice(1), repl);
  return withChildren(e, kids);
}

function isPrefix(a: number[], b: number[]): boolean {
  return a.length <= b.length && a.every((v, i) => b[i] === v);
}

export function withinLimits(g: Genome, limits: Limits, parent?: Genome): boolean {
  // A hand-written seed may already be larger: its children may not grow beyond it.
  const maxD = Math.max(limits.maxDepth, parent ? depth(parent.expr) : 0);
  const maxS = Math.max(limits.maxSize, parent ? size(parent.expr) : 0);
  return depth(g.expr) <= maxD && size(g.expr) <= maxS;
}

/** Names the loss reads (params excluded; a region statistic counts as the inputs it reads). */
export function inputsUsed(g: Genome): Set<string> {
  const names = freeNames(lossExpr(g));
  for (const p of g.params) names.delete(p.name);
  if (g.form === 'region') {
    for (const [t, reads] of Object.entries(REGION_READS)) {
      if (!names.has(t)) continue;
      names.delete(t);
      for (const r of reads) names.add(r);
    }
  }
  return names;
}

// ------------------------------------------------------------------ random generation

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

export function terminalExpr(t: Terminal): Expr {
  return typeof t === 'number' ? build.num(t) : build.ref(t);
}

function randomTerminal(rng: Rng, fs: FunctionSet): Expr {
  return terminalExpr(pick(rng, fs.terminals));
}

/**
 * A random expression of depth at most `maxDepth` (grow method): inner nodes are unary with
 * probability 0.7 (0.2 at the root), as the seed system draws hidden and root nodes.
 */
export function randomExpr(rng: Rng, fs: FunctionSet, maxDepth: number, root = true): Expr {
  if (maxDepth <= 1 || (!root && rng.next() < 0.3)) return randomTerminal(rng, fs);
  const unaryP = fs.binary.length === 0 ? 1 : fs.unary.length === 0 ? 0 : root ? 0.2 : 0.7;
  if (rng.next() < unaryP) return unaryOp(pick(rng, fs.unary)).make(randomExpr(rng, fs, maxDepth - 1, false));
  return binaryOp(pick(rng, fs.binary)).make(randomExpr(rng, fs, maxDepth - 1, false), randomExpr(rng, fs, maxDepth - 1, false));
}

/** A random genome of `form` (default: the seed system's 'sum') reading both y and p, within the limits (tries, then repairs). */
export function randomGenome(rng: Rng, fs: FunctionSet, limits: Limits, initDepth = 4, form: Exclude<GenomeForm, 'free'> = 'sum'): Genome {
  for (let i = 0; i < 200; i++) {
    const expr = randomExpr(rng, fs, Math.min(initDepth, limits.maxDepth));
    const g: Genome = { form, params: [], expr };
    const used = inputsUsed(g);
    if (used.has('y') && (used.has('p') || used.has('logits')) && withinLimits(g, limits)) return g;
  }
  // EvoMAL-style repair: a binary operator of (y, p), or in the region form of (tp, sp + sy).
  const b = fs.binary.length ? fs.binary[rng.int(fs.binary.length)] : 'mul';
  if (form === 'region') return { form, params: [], expr: binaryOp(b).make(build.ref('tp'), build.add(build.ref('sp'), build.ref('sy'))) };
  return { form, params: [], expr: binaryOp(b).make(build.ref('y'), build.ref('p')) };
}

// ------------------------------------------------------------------ seeds from .loss files

function inline(e: Expr, lets: Map<string, Expr>): Expr {
  if (e.kind === 'Name') return lets.get(e.name) ?? build.ref(e.name);
  if (e.kind === 'Number') return build.num(e.value);
  const k = children(e);
  return k.length ? withChildren(e, k.map((c) => inline(c, lets))) : e;
}

/**
 * A genome from a `.loss` file: the named loss (default: the first), lets inlined, params kept.
 * A loss of the form `sum(E)` with E over y and p only becomes a default-form genome.
 */
export function genomeFromSource(text: string, lossName?: string): Genome {
  const res = checkText(text, { integrity: false });
  const errors = res.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`${errors[0].message} [${errors[0].code}]`);
  return genomeFromModel(res.model, lossName);
}

export function genomeFromModel(model: Model, lossName?: string): Genome {
  const loss = lossName ? model.losses.find((l) => l.name === lossName) : model.losses[0];
  if (!loss) throw new Error(lossName ? `no loss named '${lossName}'` : 'the file has no loss');
  if (model.task === 'segmentation') return segmentationGenome(model, loss.expr);
  const lets = new Map<string, Expr>();
  for (const l of model.lets) if (!lets.has(l.name)) lets.set(l.name, inline(l.expr, lets));
  const expr = inline(loss.expr, lets);
  const used = freeNames(expr);
  const params: ParamDef[] = model.params
    .filter((p, i, all) => used.has(p.name) && all.findIndex((q) => q.name === p.name) === i)
    .map((p) => ({ name: p.name, value: p.value, ...(p.bounds ? { lo: p.bounds.lo, hi: p.bounds.hi } : {}) }));
  if (expr.kind === 'Call' && expr.callee === 'sum' && expr.args.length === 1 && params.length === 0) {
    const inner = freeNames(expr.args[0]);
    if ([...inner].every((n) => n === 'y' || n === 'p')) return { form: 'sum', params: [], expr: expr.args[0] };
  }
  return { form: 'free', params, expr };
}

/** Params of `model` that `expr` reads, as ParamDefs. */
function paramsRead(model: Model, expr: Expr): ParamDef[] {
  const used = freeNames(expr);
  return model.params
    .filter((p, i, all) => used.has(p.name) && all.findIndex((q) => q.name === p.name) === i)
    .map((p) => ({ name: p.name, value: p.value, ...(p.bounds ? { lo: p.bounds.lo, hi: p.bounds.hi } : {}) }));
}

/**
 * A genome from a `task segmentation` loss: 'region' when it is mean(E) with E over the
 * standard region lets only (tp, sp, sy as REGION_TERMS defines them), 'pixel' when it is
 * mean_px(sum(E)) with E over y and p, else 'free' (lets inlined, params kept).
 */
function segmentationGenome(model: Model, written: Expr): Genome {
  const letExpr = new Map<string, Expr>();
  for (const l of model.lets) if (!letExpr.has(l.name)) letExpr.set(l.name, l.expr);
  if (written.kind === 'Call' && written.callee === 'mean' && written.args.length === 1 && model.params.length === 0) {
    const names = freeNames(written.args[0]);
    const standard = [...names].every((n) => n in REGION_TERMS && letExpr.has(n) && printExpr(letExpr.get(n)!) === REGION_TERMS[n]);
    if (names.size && standard) return { form: 'region', params: [], expr: inline(written.args[0], new Map()) };
  }
  const lets = new Map<string, Expr>();
  for (const l of model.lets) if (!lets.has(l.name)) lets.set(l.name, inline(l.expr, lets));
  const expr = inline(written, lets);
  const params = paramsRead(model, expr);
  if (expr.kind === 'Call' && expr.callee === 'mean_px' && expr.args.length === 1 && params.length === 0) {
    // mean_px(sum(E)), or mean_px(-sum(E)) as cross-entropy is written: -E moves inside.
    const a = expr.args[0];
    const negated = a.kind === 'Unary';
    const s = a.kind === 'Unary' ? a.operand : a;
    if (s.kind === 'Call' && s.callee === 'sum' && s.args.length === 1 && [...freeNames(s.args[0])].every((n) => n === 'y' || n === 'p')) {
      return { form: 'pixel', params: [], expr: negated ? build.neg(s.args[0]) : s.args[0] };
    }
  }
  return { form: 'free', task: 'segmentation', params, expr };
}

// ------------------------------------------------------------------ mutation

export interface MutationResult {
  genome: Genome;
  kind: MutationKind;
  /** What changed, in a few words (for lineage). */
  detail: string;
}

function opSites(e: Expr): (Site & { cls: 'unary' | 'binary'; op: string })[] {
  const out: (Site & { cls: 'unary' | 'binary'; op: string })[] = [];
  for (const s of sites(e)) {
    const c = classify(s.node);
    if (c.kind === 'unary' || c.kind === 'binary') out.push({ ...s, cls: c.kind, op: c.op });
  }
  return out;
}

function others<T>(xs: readonly T[], x: T): T[] {
  return xs.filter((v) => v !== x);
}

function perturbValue(rng: Rng, v: number): number {
  const r = rng.next();
  let out: number;
  if (r < 0.15) out = -v;
  else if (r < 0.3) out = pick(rng, [1, -1, 2, 0.5, 0.1]);
  else out = (v === 0 ? 0.1 : v) * Math.exp(0.4 * rng.normal());
  return Number(out.toPrecision(3));
}

/**
 * One mutation of the given kind, or null if it does not apply to this genome (or would leave a
 * default-form expression reading no input, which is not a valid loss).
 */
export function mutateKind(g: Genome, kind: Exclude<MutationKind, 'crossover'>, rng: Rng, fs: FunctionSet): MutationResult | null {
  const m = mutateKindRaw(g, kind, rng, fs);
  return m && readsInput(m.genome) ? m : null;
}

function mutateKindRaw(g: Genome, kind: Exclude<MutationKind, 'crossover'>, rng: Rng, fs: FunctionSet): MutationResult | null {
  const e = g.expr;
  const ops = opSites(e);
  const done = (expr: Expr, detail: string, params = g.params): MutationResult => ({ genome: { ...g, params, expr }, kind, detail });
  switch (kind) {
    case 'op': {
      const cands = ops.filter((s) => (s.cls === 'unary' ? others(fs.unary, s.op).length > 0 : others(fs.binary, s.op).length > 0));
      if (!cands.length) return null;
      const s = pick(rng, cands);
      const c = classify(s.node);
      if (c.kind === 'unary') {
        const to = pick(rng, others(fs.unary, c.op));
        return done(replaceAt(e, s.path, unaryOp(to).make(c.operand)), `${c.op} -> ${to}`);
      }
      if (c.kind === 'binary') {
        const to = pick(rng, others(fs.binary, c.op));
        return done(replaceAt(e, s.path, binaryOp(to).make(c.left, c.right)), `${c.op} -> ${to}`);
      }
      return null;
    }
    case 'rewire': {
      if (!ops.length) return null;
      const s = pick(rng, ops);
      const k = children(s.node);
      const slot = rng.int(k.length);
      let repl: Expr;
      // Half the time read another node of the same expression (a DAG edge, as in the seed system).
      const pool = sites(e).filter((t) => !isPrefix(s.path, t.path));
      if (rng.next() < 0.5 && pool.length) repl = pick(rng, pool).node;
      else repl = randomTerminal(rng, fs);
      if (printExpr(repl) === printExpr(k[slot])) repl = randomTerminal(rng, fs);
      const kids = k.slice();
      kids[slot] = repl;
      return done(replaceAt(e, s.path, withChildren(s.node, kids)), `input ${slot} of ${s.op} -> ${printExpr(repl)}`);
    }
    case 'arity': {
      if (!ops.length) return null;
      const s = pick(rng, ops);
      const c = classify(s.node);
      if (c.kind === 'unary' && fs.binary.length) {
        const to = pick(rng, fs.binary);
        const t = randomTerminal(rng, fs);
        const node = rng.next() < 0.5 ? binaryOp(to).make(c.operand, t) : binaryOp(to).make(t, c.operand);
        return done(replaceAt(e, s.path, node), `${c.op} -> ${to}`);
      }
      if (c.kind === 'binary' && fs.unary.length) {
        const to = pick(rng, fs.unary);
        const keep = rng.next() < 0.5 ? c.left : c.right;
        return done(replaceAt(e, s.path, unaryOp(to).make(keep)), `${c.op} -> ${to}`);
      }
      return null;
    }
    case 'insert': {
      const all = sites(e);
      const s = pick(rng, all);
      let node: Expr;
      let what: string;
      if (fs.binary.length === 0 || (fs.unary.length && rng.next() < 0.5)) {
        what = pick(rng, fs.unary);
        node = unaryOp(what).make(s.node);
      } else {
        what = pick(rng, fs.binary);
        const t = randomTerminal(rng, fs);
        node = rng.next() < 0.5 ? binaryOp(what).make(s.node, t) : binaryOp(what).make(t, s.node);
      }
      return done(replaceAt(e, s.path, node), `insert ${what}`);
    }
    case 'delete': {
      if (!ops.length) return null;
      const s = pick(rng, ops);
      const k = children(s.node).filter((c) => !(c.kind === 'Number' && c.value === 0 && (s.op === 'relu' || s.op === 'negrelu')));
      const keep = pick(rng, k);
      return done(replaceAt(e, s.path, keep), `delete ${s.op}`);
    }
    case 'const': {
      const nums = sites(e).filter((s) => s.node.kind === 'Number');
      const total = nums.length + g.params.length;
      if (!total) return null;
      const i = rng.int(total);
      if (i < nums.length) {
        const s = nums[i];
        const v = (s.node as { value: number }).value;
        const nv = perturbValue(rng, v);
        if (nv === v) return null;
        return done(replaceAt(e, s.path, build.num(nv)), `constant ${formatValue(v)} -> ${formatValue(nv)}`);
      }
      const p = g.params[i - nums.length];
      let nv = perturbValue(rng, p.value);
      if (p.lo !== undefined && p.hi !== undefined) nv = Math.min(p.hi, Math.max(p.lo, nv));
      if (nv === p.value) return null;
      const params = g.params.map((q) => (q === p ? { ...q, value: nv } : q));
      return done(e, `param ${p.name} ${formatValue(p.value)} -> ${formatValue(nv)}`, params);
    }
  }
}

/**
 * A default-form expression must read an input somewhere (else `sum` gets a scalar: a type
 * error). Mutations that would remove every input are redrawn, so they always yield valid ASTs.
 */
function readsInput(g: Genome): boolean {
  if (g.form === 'free') return true;
  const names = freeNames(g.expr);
  if (g.form === 'region') return names.has('tp') || names.has('sp') || names.has('sy');
  return names.has('y') || names.has('p') || names.has('logits');
}

/** One random mutation (kinds drawn by weight; a kind that does not apply is redrawn). */
export function mutate(g: Genome, rng: Rng, fs: FunctionSet, weights: MutationWeights = DEFAULT_MUTATION_WEIGHTS): MutationResult {
  for (let i = 0; i < 100; i++) {
    const m = mutateOnce(g, rng, fs, weights);
    if (readsInput(m.genome)) return m;
  }
  return mutateKind(g, 'insert', rng, fs)!;
}

function mutateOnce(g: Genome, rng: Rng, fs: FunctionSet, weights: MutationWeights): MutationResult {
  const entries = (Object.entries({ ...DEFAULT_MUTATION_WEIGHTS, ...weights }) as [Exclude<MutationKind, 'crossover'>, number][]).filter(([, w]) => w > 0);
  for (let i = 0; i < 50; i++) {
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = rng.next() * total;
    let kind = entries[entries.length - 1][0];
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) {
        kind = k;
        break;
      }
    }
    const m = mutateKind(g, kind, rng, fs);
    if (m) return m;
  }
  // Inserting always applies.
  return mutateKind(g, 'insert', rng, fs)!;
}

/** Subtree crossover: a random subtree of `a` replaced by a copy of a random subtree of `b`. */
export function crossover(a: Genome, b: Genome, rng: Rng): MutationResult {
  for (let i = 0; i < 100; i++) {
    const x = crossoverOnce(a, b, rng);
    if (readsInput(x.genome)) return x;
  }
  return { genome: a, kind: 'crossover', detail: 'no valid exchange' };
}

function crossoverOnce(a: Genome, b: Genome, rng: Rng): MutationResult {
  const sa = pick(rng, sites(a.expr));
  const sb = pick(rng, sites(b.expr));
  // Params travel with the donor subtree when it reads them.
  const used = freeNames(sb.node);
  const params = [...a.params];
  for (const p of b.params) if (used.has(p.name) && !params.some((q) => q.name === p.name)) params.push(p);
  return { genome: { ...a, params, expr: replaceAt(a.expr, sa.path, sb.node) }, kind: 'crossover', detail: `${printExpr(sb.node)} at ${sa.path.join('.') || 'root'}` };
}

/** Drops params the expression no longer reads. */
export function pruneParams(g: Genome): Genome {
  const used = freeNames(g.expr);
  const params = g.params.filter((p) => used.has(p.name));
  return params.length === g.params.length ? g : { ...g, params };
}

/** The sign-flipped genome (the seed system keeps a loss that rises with pt, upside down). */
export function negate(g: Genome): Genome {
  const c = classify(g.expr);
  const expr = c.kind === 'unary' && c.op === 'neg' ? c.operand : build.neg(g.expr);
  return { ...g, expr };
}
