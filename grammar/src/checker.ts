/**
 * The checker: every diagnostic of a `.loss` file, each with a stable issue code and an exact
 * source range. `checkText` never throws, on any input.
 *
 * Suppression: a comment `# lossmith: allow CODE[, CODE...]` on a statement's line or on the
 * line just before it turns that statement's diagnostics with those codes into infos.
 */
import type { Expr, LossStmt, Range, Statement } from './ast';
import { anyInputSpec, INPUT_NAMES, inputSpec, isTaskName, overloads, taskOfInput, TASK_NAMES, resolveCall, OPERATOR_IDS, builtinById, safeRange, sumRange, TY_WORDS, type Builtin, type Ty } from './builtins';
import * as I from './interval';
import type { Interval } from './interval';
import { parse, type ParseResult } from './parser';
import { analyze, freeNames, hasMissing, suggest, walk, type Model } from './semantics';
import { LineIndex } from './text';
import { KEYWORDS } from './lexer';
import { refineWithStability, STABILITY_CODES } from './stability';
import { integrityCheck } from './view1d';

export type Severity = 'error' | 'warning' | 'info' | 'hint';

export const ISSUE_CODES = [
  'syntax-error',
  'unexpected-character',
  'unknown-name',
  'wrong-arity',
  'type-mismatch',
  'not-constant',
  'use-before-definition',
  'loss-reference',
  'vector-loss',
  'duplicate-name',
  'shadowed-name',
  'unused-binding',
  'param-out-of-range',
  'bad-range',
  'domain-log',
  'domain-sqrt',
  'domain-div',
  'domain-pow',
  'domain-log1p',
  'domain-log_t',
  'non-finite',
  'flat-loss',
  'extremum-in-middle',
  'oscillating-loss',
  'loss-rises',
  'no-target-dependence',
  'no-prediction-dependence',
  // Tasks (TASKS in builtins.ts): the `task` line, and a GAN file's pairs of losses.
  'unknown-task',
  'duplicate-task',
  'task-not-first',
  'gan-pair',
  ...STABILITY_CODES,
  // Limits (limits.ts): an expression nested too deep, and the count of problems left out.
  'nested-too-deep',
  'too-many-problems',
] as const;

/** How a loss of each non-scalar type is made one number: the wrapper the error and its quick fix offer. */
export const LOSS_REDUCTION: Readonly<Record<Exclude<Ty, 'scalar'>, { open: string; close: string }>> = {
  vector: { open: 'sum(', close: ')' },
  field: { open: 'mean_px(', close: ')' },
  map: { open: 'mean_px(sum(', close: '))' },
};

export type IssueCode = (typeof ISSUE_CODES)[number];

export interface Related {
  range: Range;
  message: string;
}

export interface Diagnostic {
  code: IssueCode;
  severity: Severity;
  message: string;
  range: Range;
  related?: Related[];
  /** `unnecessary` renders faded in editors (unused bindings). */
  tags?: 'unnecessary'[];
  /** Facts a quick fix needs (suggested names, the range bounds, ...). */
  data?: Record<string, unknown>;
}

export interface CheckResult {
  parse: ParseResult;
  model: Model;
  diagnostics: Diagnostic[];
}

export interface CheckOptions {
  /** Run the integrity check on the loss curves (default true). */
  integrity?: boolean;
}

/** Parse, analyse and check a file. Never throws. */
export function checkText(text: string, opts: CheckOptions = {}): CheckResult {
  const parsed = parse(text);
  let model: Model;
  try {
    model = analyze(parsed.program);
  } catch (e) {
    model = analyze({ statements: [], comments: parsed.program.comments });
    return { parse: parsed, model, diagnostics: [...syntaxDiagnostics(parsed), internal(e)] };
  }
  const diags: Diagnostic[] = syntaxDiagnostics(parsed);
  try {
    // A loop, not push(...): a spread of 120,000 diagnostics overflows the stack.
    for (const d of semanticDiagnostics(model, opts)) diags.push(d);
  } catch (e) {
    diags.push(internal(e));
  }
  applySuppressions(text, parsed, diags);
  diags.sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
  return { parse: parsed, model, diagnostics: diags };
}

function internal(e: unknown): Diagnostic {
  return { code: 'syntax-error', severity: 'error', message: `internal checker error: ${String(e)}`, range: { start: 0, end: 0 } };
}

function syntaxDiagnostics(p: ParseResult): Diagnostic[] {
  return p.errors.map((e) => ({ code: e.code, severity: 'error' as const, message: e.message, range: e.range }));
}

function semanticDiagnostics(model: Model, opts: CheckOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of model.problems) {
    out.push({
      code: p.code,
      severity: 'error',
      message: p.message,
      range: p.range,
      ...(p.suggestions && p.suggestions.length ? { data: { suggestions: p.suggestions } } : {}),
    });
  }

  out.push(...taskDiagnostics(model));

  // Duplicates and shadowing.
  const seen = new Map<string, Statement>();
  for (const s of model.program.statements) {
    if (!s.name) continue;
    const first = seen.get(s.name);
    if (first) {
      out.push({
        code: 'duplicate-name',
        severity: 'error',
        message: `'${s.name}' is already defined`,
        range: s.nameRange,
        related: [{ range: first.nameRange, message: `'${s.name}' is first defined here` }],
      });
      continue;
    }
    seen.set(s.name, s);
    const input = anyInputSpec(s.name);
    if (input) {
      const where = inputSpec(s.name, model.task) ? '' : ` of task ${taskOfInput(s.name)}`;
      out.push({ code: 'shadowed-name', severity: s.kind === 'Loss' ? 'warning' : 'error', message: `'${s.name}' is an input${where} (${input.doc.split('.')[0].toLowerCase()}); choose another name`, range: s.nameRange });
    } else if (overloads(s.name).length > 0) {
      out.push({ code: 'shadowed-name', severity: 'warning', message: `'${s.name}' is also the name of a builtin function`, range: s.nameRange });
    } else if ((KEYWORDS as readonly string[]).includes(s.name)) {
      out.push({ code: 'shadowed-name', severity: 'error', message: `'${s.name}' is a keyword`, range: s.nameRange });
    }
  }

  // Params: ranges and defaults.
  for (const prm of model.params) {
    if (!prm.bounds || !Number.isFinite(prm.value)) continue;
    const { lo, hi } = prm.bounds;
    if (lo > hi) {
      out.push({ code: 'bad-range', severity: 'error', message: `empty range: ${lo} is greater than ${hi}`, range: prm.bounds.range });
    } else if (prm.value < lo || prm.value > hi) {
      out.push({
        code: 'param-out-of-range',
        severity: 'error',
        message: `default ${prm.value} of '${prm.name}' is outside its range [${lo}, ${hi}]`,
        range: prm.valueRange,
        data: { lo, hi, value: prm.value },
      });
    }
  }

  // Unused bindings: params and lets no loss or let uses.
  const used = new Set<string>();
  for (const r of model.references) used.add(r.symbol.name);
  for (const s of model.program.statements) {
    if (s.kind === 'Loss' || !s.name) continue;
    if (!used.has(s.name) && model.symbols.get(s.name)?.stmt === s) {
      out.push({
        code: 'unused-binding',
        severity: 'warning',
        message: `${s.kind === 'Param' ? 'param' : 'let'} '${s.name}' is never used`,
        range: s.nameRange,
        tags: ['unnecessary'],
        data: { statement: s.range },
      });
    }
  }

  const domainSeen = new Set<string>();
  const intervals = new Intervals(model);

  // Lets: domain warnings.
  for (const l of model.lets) {
    if (hasMissing(l.expr)) continue;
    intervals.domainWarnings(l.expr, out, domainSeen);
  }

  // Losses.
  for (const loss of model.losses) {
    if (hasMissing(loss.expr)) continue;
    const type = model.types.get(loss.expr);
    if (type !== undefined && type !== 'scalar') {
      // One code for every loss that is not one number: the fix reduces the axes it has.
      const fix = LOSS_REDUCTION[type];
      out.push({
        code: 'vector-loss',
        severity: 'error',
        message: `loss '${loss.name}' is ${TY_WORDS[type]}; a loss must be one number per ${model.task === 'segmentation' ? 'image' : 'sample'} (wrap it in ${fix.open}...${fix.close})`,
        range: loss.expr.range,
        data: { fix },
      });
      continue;
    }
    intervals.domainWarnings(loss.expr, out, domainSeen);
    const deps = transitiveNames(loss.expr, model);
    if (model.task === 'gan') {
      out.push(...ganDependence(loss, deps));
      continue;
    }
    const usesTarget = deps.has('y') || deps.has('dist');
    const usesPred = deps.has('p') || deps.has('logits');
    if (!usesTarget) out.push({ code: 'no-target-dependence', severity: 'warning', message: `loss '${loss.name}' does not depend on the target y${model.task === 'segmentation' ? ' (or its distance map dist)' : ''}`, range: loss.nameRange });
    if (!usesPred) out.push({ code: 'no-prediction-dependence', severity: 'warning', message: `loss '${loss.name}' does not depend on the prediction (p or logits)`, range: loss.nameRange });
    // The integrity check probes classification losses on a grid of samples; a segmentation
    // loss is a function of a whole image (its checks are the types, intervals and stability).
    if (opts.integrity === false || model.task === 'segmentation') continue;
    out.push(...lossIntegrity(model, loss));
  }
  // Exact constant facts, infinite gradients and float32 hazards (stability.ts).
  refineWithStability(model, intervals, out);
  return out;
}

/**
 * The `task` lines: one, naming a task, before the first statement; in a gan file, the losses
 * in pairs NAME_g (generator) and NAME_d (discriminator).
 */
function taskDiagnostics(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  const tasks = model.program.tasks ?? [];
  const firstStatement = model.program.statements[0]?.range.start ?? Infinity;
  tasks.forEach((t, i) => {
    if (i > 0) {
      out.push({ code: 'duplicate-task', severity: 'error', message: `a file has one task line; this one repeats it (the first says '${tasks[0].name}')`, range: t.range, related: [{ range: tasks[0].range, message: 'the task is declared here' }] });
    } else if (!isTaskName(t.name)) {
      const suggestions = suggest(t.name, TASK_NAMES);
      out.push({
        code: 'unknown-task',
        severity: 'error',
        message: `unknown task '${t.name}'; the tasks are ${TASK_NAMES.join(', ')}${suggestions.length ? `: did you mean '${suggestions[0]}'?` : ''}`,
        range: t.nameRange,
        ...(suggestions.length ? { data: { suggestions } } : {}),
      });
    }
    if (i === 0 && t.range.start > firstStatement) {
      out.push({ code: 'task-not-first', severity: 'error', message: `the task line comes before every param, let and loss (it decides what the names mean)`, range: t.range });
    }
  });
  if (model.task === 'gan') {
    const names = new Set(model.losses.map((l) => l.name));
    for (const l of model.losses) {
      if (!l.name) continue;
      const m = /^(.+)_([gd])$/.exec(l.name);
      if (!m) {
        out.push({ code: 'gan-pair', severity: 'error', message: `in a gan file a loss is named NAME_g (the generator's) or NAME_d (the discriminator's); '${l.name}' is neither`, range: l.nameRange });
        continue;
      }
      const partner = `${m[1]}_${m[2] === 'g' ? 'd' : 'g'}`;
      if (!names.has(partner)) {
        out.push({ code: 'gan-pair', severity: 'warning', message: `'${l.name}' has no ${m[2] === 'g' ? "discriminator's" : "generator's"} loss '${partner}': a GAN trains the two as a pair`, range: l.nameRange });
      }
    }
  }
  return out;
}

/** What a GAN loss must read: the generator's d_fake; the discriminator's d_real and d_fake. */
function ganDependence(loss: LossStmt, deps: Set<string>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const role = loss.name.endsWith('_g') ? 'generator' : loss.name.endsWith('_d') ? 'discriminator' : undefined;
  if (!role) return out;
  if (!deps.has('d_fake')) out.push({ code: 'no-prediction-dependence', severity: 'warning', message: `the ${role}'s loss '${loss.name}' does not depend on d_fake, the discriminator's output on generated samples`, range: loss.nameRange });
  if (role === 'discriminator' && !deps.has('d_real')) out.push({ code: 'no-target-dependence', severity: 'warning', message: `the discriminator's loss '${loss.name}' does not depend on d_real, its output on real samples`, range: loss.nameRange });
  return out;
}

/** The integrity-check diagnostics of one loss (none when it has errors or ignores y or p). */
function lossIntegrity(model: Model, loss: LossStmt): Diagnostic[] {
  if (hasMissing(loss.expr) || model.types.get(loss.expr) !== 'scalar' || lossHasErrors(loss.expr, model)) return [];
  const deps = transitiveNames(loss.expr, model);
  if (!deps.has('y') || !(deps.has('p') || deps.has('logits'))) return [];
  try {
    return integrityCheck(model, loss).problems.map((p) => ({
      code: p.code,
      severity: 'warning' as const,
      message: `${p.message} (loss '${loss.name}')`,
      range: loss.nameRange,
    }));
  } catch {
    // An unevaluable loss has errors reported elsewhere.
    return [];
  }
}

/** Codes the integrity check produces. */
export const INTEGRITY_CODES: ReadonlySet<IssueCode> = new Set<IssueCode>(['non-finite', 'flat-loss', 'extremum-in-middle', 'oscillating-loss', 'loss-rises']);

/**
 * The integrity diagnostics of one loss of a file checked with `{ integrity: false }`, with the
 * file's suppression comments applied: `checkText(text)` equals the fast check plus these for
 * every loss. Lets an editor compute the slow part loss by loss (verdicts are cached by content).
 */
export function integrityDiagnostics(text: string, fast: CheckResult, loss: LossStmt): Diagnostic[] {
  const diags = lossIntegrity(fast.model, loss);
  if (diags.length) applySuppressions(text, fast.parse, diags);
  return diags;
}

/** Names a loss uses, through its lets. */
export function transitiveNames(e: Expr, model: Model): Set<string> {
  const out = new Set<string>();
  // A work list, not recursion: a chain of 100,000 lets must not overflow the stack.
  const todo: Expr[] = [e];
  for (let x = todo.pop(); x; x = todo.pop()) {
    for (const n of freeNames(x)) {
      if (out.has(n)) continue;
      out.add(n);
      const s = model.symbols.get(n);
      if (s && s.stmt && s.stmt.kind === 'Let') todo.push(s.stmt.expr);
    }
  }
  return out;
}

/** Does this expression (or a let it uses) have a missing piece, an unknown name or a type error? */
export function lossHasErrors(e: Expr, model: Model): boolean {
  let bad = false;
  const seen = new Set<string>();
  // A work list, not recursion (long let chains).
  const todo: Expr[] = [e];
  for (let x = todo.pop(); x && !bad; x = todo.pop()) {
    if (hasMissing(x)) bad = true;
    walk(x, (n) => {
      if (n.kind === 'Call' && !resolveCall(n.callee, n.args.length)) bad = true;
    });
    for (const n of freeNames(x)) {
      const s = model.symbols.get(n);
      if (!s && !inputSpec(n, model.task)) bad = true;
      if (s && s.stmt && s.stmt.kind === 'Let') {
        // A let named like an input (`let p = sum(y * p)`) is an error of its own, and
        // following it by name would loop.
        if (s.type === undefined || INPUT_NAMES.has(n)) bad = true;
        else if (!seen.has(n)) {
          seen.add(n);
          todo.push(s.stmt.expr);
        }
      }
      if (s && s.stmt && s.stmt.kind === 'Param' && !Number.isFinite(s.stmt.value)) bad = true;
    }
  }
  if (model.types.get(e) === undefined) bad = true;
  return bad;
}

/** Interval analysis over p in (0,1), y in [0,1], logits in R, params within their ranges. */
class Intervals {
  private readonly lets = new Map<string, Interval>();

  constructor(private readonly model: Model) {
    for (const l of model.lets) {
      if (model.symbols.get(l.name)?.stmt !== l || hasMissing(l.expr)) continue;
      try {
        this.lets.set(l.name, this.of(l.expr));
      } catch {
        // leave unknown
      }
    }
  }

  private name(n: string): Interval {
    const input = inputSpec(n, this.model.task);
    if (input) return input.range;
    const s = this.model.symbols.get(n);
    if (s?.stmt?.kind === 'Param') {
      const prm = s.stmt;
      if (prm.bounds && prm.bounds.lo <= prm.bounds.hi) return I.iv(prm.bounds.lo, prm.bounds.hi);
      return Number.isFinite(prm.value) ? I.point(prm.value) : I.REAL;
    }
    return this.lets.get(n) ?? I.REAL;
  }

  of(e: Expr, visit?: (b: Builtin, args: Interval[], node: Expr) => void): Interval {
    switch (e.kind) {
      case 'Number':
        return I.point(e.value);
      case 'Name':
        return this.name(e.name);
      case 'Missing':
        return I.REAL;
      case 'Unary': {
        const a = this.of(e.operand, visit);
        return I.negate(a);
      }
      case 'Binary': {
        const b = builtinById(OPERATOR_IDS[e.op]);
        const args = [this.of(e.left, visit), this.of(e.right, visit)];
        visit?.(b, args, e);
        return safeRange(b, args);
      }
      case 'Call': {
        const b = resolveCall(e.callee, e.args.length);
        if (b && b.id === 'sum' && e.args.length === 1) return this.sumOf(e, b, visit);
        const args = e.args.map((a) => this.of(a, visit));
        if (!b) return I.REAL;
        visit?.(b, args, e);
        return safeRange(b, args);
      }
    }
  }

  /** sum(y * X) and sum(p * X) are convex combinations of X; sum(y) = sum(p) = 1. */
  private sumOf(call: Extract<Expr, { kind: 'Call' }>, b: Builtin, visit?: (b: Builtin, args: Interval[], node: Expr) => void): Interval {
    const isDist = (x: Expr): boolean => x.kind === 'Name' && (x.name === 'y' || x.name === 'p');
    const arg = call.args[0];
    if (arg.kind === 'Binary' && arg.op === '*' && (isDist(arg.left) || isDist(arg.right))) {
      // Each side once: evaluating X again for the convex combination made sum(y * sum(y * ...))
      // exponential in its depth (54 levels hung the checker).
      const sides = [this.of(arg.left, visit), this.of(arg.right, visit)];
      const times = builtinById(OPERATOR_IDS['*']);
      visit?.(times, sides, arg);
      visit?.(b, [safeRange(times, sides)], call);
      return isDist(arg.left) ? sides[1] : sides[0];
    }
    const generic = this.of(arg, visit);
    visit?.(b, [generic], call);
    return isDist(arg) ? I.point(1) : sumRange(generic);
  }

  domainWarnings(e: Expr, out: Diagnostic[], seen: Set<string>): void {
    this.of(e, (b, args, node) => {
      const msg = b.domain?.(args);
      if (!msg) return;
      const key = `${node.range.start}:${node.range.end}`;
      if (seen.has(key)) return;
      seen.add(key);
      const code = `domain-${b.id}` as IssueCode;
      const known = (ISSUE_CODES as readonly string[]).includes(code);
      out.push({
        code: known ? code : 'domain-div',
        severity: 'warning',
        message: msg,
        range: node.range,
        data: { function: b.name },
      });
    });
  }
}


// ---------------------------------------------------------------- suppressions

const ALLOW = /#\s*lossmith:\s*allow\s+([a-z0-9_, -]+)/i;

function applySuppressions(text: string, parsed: ParseResult, diags: Diagnostic[]): void {
  if (!text.includes('lossmith:')) return;
  const index = new LineIndex(text);
  const allowByLine = new Map<number, Set<string>>();
  for (const c of parsed.program.comments) {
    const m = ALLOW.exec(c.text);
    if (!m) continue;
    const codes = new Set(m[1].split(/[\s,]+/).filter(Boolean));
    allowByLine.set(index.position(c.range.start).line, codes);
  }
  if (allowByLine.size === 0) return;
  // The diagnostics by start, so each statement looks only at its own (a file with an allow
  // comment on every line was quadratic).
  const byStart = [...diags].sort((x, y) => x.range.start - y.range.start);
  for (const s of parsed.program.statements) {
    const first = index.position(s.range.start).line;
    const last = index.position(s.range.end).line;
    const allowed = new Set<string>();
    for (const l of [first - 1, first, last]) for (const c of allowByLine.get(l) ?? []) allowed.add(c);
    if (allowed.size === 0) continue;
    let lo = 0;
    let hi = byStart.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byStart[mid].range.start < s.range.start) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < byStart.length && byStart[k].range.start <= s.range.end; k++) {
      const d = byStart[k];
      if (d.range.end <= Math.max(s.range.end, d.range.start) && allowed.has(d.code) && d.severity !== 'error') {
        d.severity = 'info';
        d.message = `${d.message} (allowed here)`;
      }
    }
  }
}

