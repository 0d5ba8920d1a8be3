/** `lossmith check`, `derive` and `probe`: the DSL core from the command line. */
import * as fs from 'fs';
import type { Command } from 'commander';
import {
  capDiagnostics,
  latexName,
  TASKS,
  checkText,
  differentiate,
  evalExpr,
  LineIndex,
  lossReport,
  MAX_DIAGNOSTICS,
  sampleEnv,
  toVector,
  type CheckResult,
  type Diagnostic,
  type Wrt,
} from '../../../grammar/src/index';
import { UsageError, type Io } from './io';

export interface FileDiagnostics {
  file: string;
  diagnostics: {
    range: { start: { line: number; character: number }; end: { line: number; character: number } };
    severity: Diagnostic['severity'];
    code: string;
    message: string;
  }[];
}

function readSource(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** The diagnostics of a file as JSON, at most `max` (then one `too-many-problems` that counts the rest). */
export function diagnosticsJson(file: string, text: string, result: CheckResult, max = MAX_DIAGNOSTICS): FileDiagnostics {
  const index = new LineIndex(text);
  return {
    file,
    diagnostics: capDiagnostics(result.diagnostics, max).map((d) => ({
      range: { start: index.position(d.range.start), end: index.position(d.range.end) },
      severity: d.severity,
      code: d.code,
      message: d.message,
    })),
  };
}

export function formatDiagnostic(file: string, index: LineIndex, d: Diagnostic): string {
  const p = index.position(d.range.start);
  return `${file}:${p.line + 1}:${p.character + 1}: ${d.severity}: ${d.message} [${d.code}]`;
}

/** Check a file; throws UsageError with compiler-style output when it has errors. */
export function loadChecked(file: string): { text: string; result: CheckResult } {
  const text = readSource(file);
  const result = checkText(text);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    const index = new LineIndex(text);
    throw new UsageError(`${file} has errors:\n${capDiagnostics(errors).map((d) => formatDiagnostic(file, index, d)).join('\n')}`);
  }
  return { text, result };
}

function parseParams(list: string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of list ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(item);
    if (!m || !Number.isFinite(Number(m[2]))) throw new UsageError(`--param expects name=number, got '${item}'`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function registerGrammarCommands(program: Command, io: Io, setExit: (c: number) => void): void {
  program
    .command('check')
    .description('check .loss files and print diagnostics like a compiler (exit code 1 on errors)')
    .argument('<files...>', '.loss files')
    .option('--json', 'print [{file, diagnostics:[{range, severity, code, message}]}]')
    .option('--no-integrity', 'skip the integrity check of the loss curves')
    .option('--max-problems <n>', `report at most n diagnostics per file, then how many more there are (0: all)`, String(MAX_DIAGNOSTICS))
    .action((files: string[], opts: { json?: boolean; integrity: boolean; maxProblems: string }) => {
      const max = Number(opts.maxProblems);
      if (!Number.isInteger(max) || max < 0) throw new UsageError(`--max-problems expects a whole number of 0 or more, got '${opts.maxProblems}'`);
      const cap = max === 0 ? Infinity : max;
      const all: FileDiagnostics[] = [];
      let errors = 0;
      let warnings = 0;
      for (const file of files) {
        const text = readSource(file);
        const result = checkText(text, { integrity: opts.integrity });
        // An empty file is not an error, but passing it silently would hide a wrong path or a truncated file.
        if (result.model.losses.length === 0 && !result.diagnostics.some((d) => d.severity === 'error')) io.err(`${file}: no loss in this file\n`);
        errors += result.diagnostics.filter((d) => d.severity === 'error').length;
        warnings += result.diagnostics.filter((d) => d.severity === 'warning').length;
        if (opts.json) all.push(diagnosticsJson(file, text, result, cap));
        else {
          const index = new LineIndex(text);
          // One write per file: a million lines through io.out one by one is slow.
          const lines = capDiagnostics(result.diagnostics, cap).map((d) => formatDiagnostic(file, index, d) + '\n');
          if (lines.length) io.out(lines.join(''));
        }
      }
      if (opts.json) io.out(JSON.stringify(all, null, 2) + '\n');
      else io.err(`${files.length} file${files.length === 1 ? '' : 's'} checked: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
      setExit(errors > 0 ? 1 : 0);
    });

  program
    .command('derive')
    .description('print the symbolic derivative of a loss with respect to the logits (through the softmax) or p; in a task gan file, d_fake or d_real')
    .argument('<file>', '.loss file')
    .option('--loss <name>', 'the loss (default: every loss in the file)')
    .option('--wrt <var>', 'logits or p (default: both); task gan: d_fake or d_real (default: both)')
    .option('--format <fmt>', 'text, latex or json', 'text')
    .option('--classes <n>', 'class count for the 1-D view in json output', '10')
    .action((file: string, opts: { loss?: string; wrt?: string; format: string; classes: string }) => {
      if (!['text', 'latex', 'json'].includes(opts.format)) throw new UsageError(`--format must be text, latex or json, got '${opts.format}'`);
      const { result } = loadChecked(file);
      const taskWrt = TASKS[result.model.task].wrt;
      if (opts.wrt && !taskWrt.includes(opts.wrt)) throw new UsageError(`--wrt must be ${taskWrt.join(' or ')}${result.model.task === 'classification' ? '' : ` in a task ${result.model.task} file`}, got '${opts.wrt}'`);
      if (result.model.losses.length === 0) throw new UsageError(`no loss in ${file}: nothing to differentiate`);
      const names = opts.loss ? [opts.loss] : result.model.losses.map((l) => l.name);
      if (opts.loss && !result.model.losses.some((l) => l.name === opts.loss)) {
        throw new UsageError(`no loss '${opts.loss}' in ${file} (losses: ${result.model.losses.map((l) => l.name).join(', ') || 'none'})`);
      }
      const wrts: Wrt[] = opts.wrt ? [opts.wrt as Wrt] : (taskWrt as readonly Wrt[]).slice();
      const reports = names.map((n) => lossReport(result.model, n, { classes: Number(opts.classes), curve: opts.format === 'json' }));
      if (opts.format === 'json') {
        io.out(JSON.stringify(reports.map((r) => ({ ...r, derivatives: r.derivatives.filter((d) => wrts.includes(d.wrt)) })), null, 2) + '\n');
        return;
      }
      for (const r of reports) {
        if (r.error) throw new UsageError(`${r.loss}: ${r.error}`);
        for (const d of r.derivatives.filter((x) => wrts.includes(x.wrt))) {
          const lhs = opts.format === 'latex' ? `\\frac{\\partial \\mathrm{${r.loss.replace(/_/g, '\\_')}}}{\\partial ${d.wrt === 'logits' ? 'z_k' : d.wrt === 'p' ? 'p_k' : latexName(d.wrt, false)}}` : `d ${r.loss} / d ${d.wrt}`;
          io.out(`${lhs} = ${opts.format === 'latex' ? d.latex : d.text}\n`);
        }
        // With respect to p the logits are held fixed: a loss written through the logits
        // (log_softmax(logits), ...) has 0 there, which is true but reads like a wrong derivative.
        const dp = r.derivatives.find((x) => x.wrt === 'p');
        const dz = r.derivatives.find((x) => x.wrt === 'logits');
        if (wrts.includes('p') && dp?.text === '0' && dz && dz.text !== '0') {
          io.err(`note: ${r.loss} does not depend on p as a free vector (it is written through the logits), so d/dp is 0 with the logits held fixed; its gradient is d/d logits (--wrt logits)\n`);
        }
      }
    });

  program
    .command('probe')
    .description('evaluate a loss and its gradient with respect to the logits (symbolic, float64) at given points')
    .argument('<file>', '.loss file')
    .option('--loss <name>', "the loss (default: the file's only loss)")
    .requiredOption('--points <file>', 'JSON file: [{"logits": [...], "y": [...]}, ...]')
    .option('--param <name=value>', 'override a param (repeatable)', collect, [])
    .action((file: string, opts: { loss?: string; points: string; param: string[] }) => {
      const { result } = loadChecked(file);
      const model = result.model;
      const all = model.losses.map((l) => l.name);
      if (!opts.loss && all.length !== 1) throw new UsageError(all.length ? `${file} has ${all.length} losses (${all.join(', ')}): name one with --loss` : `no loss in ${file}`);
      const lossName = opts.loss ?? all[0];
      const loss = model.losses.find((l) => l.name === lossName);
      if (!loss) throw new UsageError(`no loss '${lossName}' in ${file} (losses: ${all.join(', ') || 'none'})`);
      const params = parseParams(opts.param);
      for (const [k, v] of Object.entries(params)) {
        const p = model.params.find((q) => q.name === k);
        if (!p) throw new UsageError(`no param '${k}' in ${file} (params: ${model.params.map((q) => q.name).join(', ') || 'none'})`);
        if (p.bounds && (v < p.bounds.lo || v > p.bounds.hi)) throw new UsageError(`--param ${k}=${v} is outside the range the file declares for it, [${p.bounds.lo}, ${p.bounds.hi}]`);
      }
      let points: unknown;
      try {
        points = JSON.parse(readSource(opts.points));
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError(`${opts.points}: invalid JSON (${(e as Error).message})`);
      }
      if (!Array.isArray(points)) throw new UsageError(`${opts.points}: expected an array of {logits, y}`);
      const grad = differentiate(model, lossName, 'logits');
      const out = points.map((pt, i) => {
        const q = pt as { logits?: unknown; y?: unknown };
        const ok = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number');
        if (!ok(q.logits) || !ok(q.y) || q.logits.length !== q.y.length || q.logits.length < 2) {
          throw new UsageError(`${opts.points}: point ${i} needs "logits" and "y", number arrays of the same length >= 2`);
        }
        const env = sampleEnv(model, { logits: q.logits, y: q.y }, params);
        const get = (n: string): ReturnType<typeof env.get> => env.get(n);
        const value = evalExpr(loss.expr, get);
        const g = toVector(evalExpr(grad, get), q.logits.length);
        return { value: typeof value === 'number' ? value : NaN, grad_logits: Array.from(g) };
      });
      io.out(JSON.stringify(out) + '\n');
    });
}
