/**
 * An evolution run on disk: `.lossmith/runs/<id>/` holds config.json, events.jsonl,
 * checkpoint.json (the whole search state, replaced atomically after every finished
 * evaluation), and at the end the best losses as `.loss` files, summary.json and, in the
 * augmentation-aware mode, crosstable.json / crosstable.md.
 *
 * `runEvolve({ config })` starts a run; `runEvolve({ resume: dir })` continues a killed one from
 * its checkpoint (no finished evaluation is lost) and `runEvolve({ resume: dir, steps })`
 * extends a finished one by more children.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createRun, openRun, readSummary, resolveRunDir as resolveStoredRunDir, runsDir, writeJsonAtomic, type RunHandle } from '../../../store/run-store';
import { searchAugments, type EvolveConfig } from './config';
import { poolEvaluator } from './fitness';
import type { RunnerFactory } from '../run/task-runner';
import type { QueueWorkersEvent } from '../../../protocol/run-events';
import { CancelledError, newSearchState, pool, Search, type CandidateRecord, type EvalOutcome, type Evaluate, type SearchState, type PhaseJob } from './search';
import { genomeFromSource, LOSS_NAME, printGenomeSimplified } from './genome';
import { transferPhase, transferRows, type TransferState } from './transfer';
import { REJECT_REASONS } from './reject';
import { describeBackend } from '../compute/describe';
import { comparisonJson, holmAdjust, pairedComparison, verdictOf } from '../run/stats';
import type { EvolveEvent, EvolveSummary, CrossTable, FinalComparison, FinalRow } from '../../../protocol/evolve-events';
import type { BackendJson } from '../compute/types';

export const CHECKPOINT_FILE = 'checkpoint.json';

/** A top loss under another augmentation (its lr is the one tuned in its own search, not tuned again). */
export type CrossJob = PhaseJob;

/** A re-training of a top loss (or CE, id = -1) with another seed. */
export interface FinalJob extends PhaseJob {
  id: number;
  seed: number;
}

export interface RunState {
  version: 1;
  config: EvolveConfig;
  searches: SearchState[];
  current: number;
  cross: CrossJob[] | null;
  /** Absent in checkpoints written before the final phase existed. */
  final?: FinalJob[] | null;
  /** The transfer ladder's jobs (config.transfer). */
  transfer?: TransferState | null;
}

export interface EvolveRunOptions {
  /** Workspace root (the run goes in <root>/.lossmith/runs). Default: cwd. */
  root?: string;
  /** Put the run folder exactly in this directory instead (as `lossmith compare --runs-dir`). */
  runsDir?: string;
  /** A new run's configuration. */
  config?: EvolveConfig;
  /** Resume this run (folder or id). */
  resume?: string;
  /** On resume: the new total number of children per search (extends a finished run). */
  steps?: number;
  /** On resume: (re)do the final re-training with this many seeds. */
  finalSeeds?: number;
  /** Replaces the worker-pool surrogate (tests, benchmarks). */
  evaluate?: Evaluate;
  /** Trains on this runner instead of a local worker pool (the job queue, `--queue`), made once the run's id is known. */
  runner?: RunnerFactory;
  /** The job queue and its connected workers, written as a `queue` event at the start. */
  queue?: Omit<QueueWorkersEvent, 'type'>;
  /** Every event, as written to events.jsonl. */
  onEvent?: (e: EvolveEvent) => void;
  /** Plain progress lines. */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Called after every checkpoint (tests use it to kill a run at a chosen point). */
  afterSave?: (state: RunState) => void;
}

export interface EvolveRunResult {
  dir: string;
  id: string;
  summary: EvolveSummary;
  state: RunState;
}

export function resolveRunDir(root: string, run: string, runsFolder?: string): string {
  return resolveStoredRunDir(run, runsFolder ?? runsDir(root), CHECKPOINT_FILE, 'evolution checkpoint');
}

export function readCheckpoint(dir: string): RunState {
  const s = JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8')) as RunState;
  if (s.version !== 1) throw new Error(`${dir}: unsupported checkpoint version ${String(s.version)}`);
  return s;
}

const r4 = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Math.round(v * 10000) / 10000);

export async function runEvolve(opts: EvolveRunOptions): Promise<EvolveRunResult> {
  const root = opts.root ?? process.cwd();
  let run: RunHandle;
  let state: RunState;
  if (opts.resume) {
    const dir = resolveRunDir(root, opts.resume, opts.runsDir);
    state = readCheckpoint(dir);
    run = openRun(dir);
    if (opts.steps !== undefined && opts.steps !== state.config.steps) {
      if (opts.steps < state.config.steps) throw new Error(`--steps ${opts.steps} is less than the run's ${state.config.steps}: a run can only be extended`);
      state.config.steps = opts.steps;
      for (const s of state.searches) if (s.phase === 'done' && s.childrenEvaluated < opts.steps) s.phase = 'evolve';
      if (state.searches.some((s) => s.phase !== 'done')) state.cross = null;
      run.append({ type: 'run-extended', steps: opts.steps });
    }
    if (opts.finalSeeds !== undefined && opts.finalSeeds !== state.config.finalSeeds) {
      state.config.finalSeeds = opts.finalSeeds;
      state.final = null;
      state.transfer = null;
    }
    if (state.searches.some((s) => s.phase !== 'done')) {
      state.final = null;
      state.transfer = null;
    }
  } else {
    if (!opts.config) throw new Error('runEvolve: config or resume is required');
    run = createRun(root, 'evolve', opts.config, opts.runsDir ? { runsDir: opts.runsDir } : {});
    state = { version: 1, config: opts.config, searches: [], current: 0, cross: null };
  }
  const cfg = state.config;
  const augments = searchAugments(cfg);
  const log = opts.log ?? (() => undefined);
  const emit = (e: { type: string; [k: string]: unknown }): void => {
    const ev = { ...e, time: new Date().toISOString() } as EvolveEvent;
    run.append(ev as unknown as { type: string });
    opts.onEvent?.(ev);
  };
  const save = (): void => {
    writeJsonAtomic(path.join(run.dir, CHECKPOINT_FILE), state);
    run.sync();
    opts.afterSave?.(state);
  };
  const pe = opts.evaluate
    ? null
    : poolEvaluator(cfg.surrogate, {
        workers: cfg.workers,
        cwd: root,
        signal: opts.signal,
        ...(opts.runner ? { runner: opts.runner(run.id) } : {}),
        onCompute: (backend) => {
          emit({ type: 'backend', backend });
          log(`  ${describeBackend(backend)}`);
        },
      });
  const evaluate: Evaluate = opts.evaluate ?? pe!.evaluate;
  const concurrency = Math.max(1, cfg.workers);
  if (!opts.resume) {
    emit({ type: 'evolve-start', id: run.id, dir: run.dir, augments, population: cfg.population, sample: cfg.sample, steps: cfg.steps, workers: cfg.workers, batch: cfg.batch, seed: cfg.seed });
    log(`lossmith evolve: run ${run.id}, ${augments.length} search(es) [${augments.join(', ')}], population ${cfg.population}, sample ${cfg.sample}, ${cfg.steps} children, ${cfg.workers} worker(s)`);
  } else {
    log(`lossmith evolve: resuming run ${run.id}`);
  }
  if (opts.queue) emit({ type: 'queue', ...opts.queue });
  let status: EvolveSummary['status'] = 'done';
  let error: string | undefined;
  const searches: Search[] = [];
  try {
    for (let i = 0; i < augments.length; i++) {
      if (!state.searches[i]) {
        state.searches[i] = newSearchState(cfg, i, augments[i]);
        save();
      }
      state.current = i;
      const search = new Search(cfg, state.searches[i], {
        evaluate,
        concurrency,
        signal: opts.signal,
        save,
        emit: (e) => {
          emit(e);
          if (e.type === 'generation') {
            const g = e as unknown as { generation: number; evaluated: number; best: number; median: number; baselineFitness: number | null };
            log(`[${augments[i]}] generation ${g.generation}: ${g.evaluated}/${cfg.steps} children, best ${g.best.toFixed(4)}, median ${g.median.toFixed(4)} (CE ${r4(g.baselineFitness)})`);
          } else if (e.type === 'baseline') log(`[${augments[i]}] CE baseline fitness ${r4(e.fitness as number)}`);
        },
      });
      searches.push(search);
      await search.run();
    }
    if (augments.length > 1) await crossTable(state, searches, evaluate, concurrency, save, emit, log);
    if ((cfg.finalSeeds ?? 0) > 0) await finalPhase(state, searches, evaluate, concurrency, save, emit, log);
    if (cfg.transfer?.length) await transferPhase(cfg, state, searches, evaluate, concurrency, save, emit, log, opts.signal);
  } catch (e) {
    if (e instanceof CancelledError || opts.signal?.aborted) status = 'cancelled';
    else {
      status = 'failed';
      error = (e as Error).message;
    }
  } finally {
    if (pe) await pe.close();
  }
  // Searches not reached (cancelled early) still get their state objects reported.
  for (let i = searches.length; i < state.searches.length; i++) searches.push(new Search(cfg, state.searches[i], { evaluate, concurrency, save: () => undefined, emit: () => undefined }));
  // A resumed run with nothing left to train keeps what its earlier trainings ran on.
  const prior = opts.resume ? (readSummary(run.dir) as Partial<EvolveSummary> | null) : null;
  const summary = writeResults(
    run, state, searches, status,
    pe?.backend() ?? prior?.backend ?? (opts.evaluate ? 'injected' : null),
    error,
    pe?.compute() ?? prior?.compute ?? null,
  );
  emit({ type: status === 'done' ? 'run-end' : status === 'cancelled' ? 'run-cancelled' : 'run-failed', status, ...(error ? { error } : {}) });
  run.close();
  return { dir: run.dir, id: run.id, summary, state };
}

async function crossTable(
  state: RunState,
  searches: Search[],
  evaluate: Evaluate,
  concurrency: number,
  save: () => void,
  emit: (e: { type: string; [k: string]: unknown }) => void,
  log: (s: string) => void,
): Promise<void> {
  const cfg = state.config;
  const augs = state.searches.map((s) => s.augment);
  if (!state.cross) {
    const jobs: CrossJob[] = [];
    searches.forEach((s, si) => {
      s.best(cfg.crossTop).forEach((rec, rank) => {
        augs.forEach((a, ai) => {
          const lr = tunedLr(rec);
          const job: CrossJob = { key: `x:${si}:${rec.id}:${a}`, from: si, rank: rank + 1, loss: rec.loss, text: rec.text, augment: a, ...(lr ? { lr } : {}) };
          // Its own search already trained it under its augmentation with the same settings.
          if (ai === si && rec.s2) job.outcome = rec.s2;
          else if (ai === si && !cfg.surrogate.stage2 && rec.s1) job.outcome = rec.s1;
          jobs.push(job);
        });
      });
    });
    augs.forEach((a, ai) => {
      const b = state.searches[ai].baseline;
      jobs.push({ key: `x:ce:${a}`, from: -1, rank: 0, loss: b.loss, text: b.text, augment: a, outcome: cfg.surrogate.stage2 ? b.s2 : b.s1 });
    });
    state.cross = jobs;
    save();
  }
  const stage = cfg.surrogate.stage2 ? 2 : 1;
  await pool(
    state.cross.filter((j) => !j.outcome).map((j) => async () => {
      j.outcome = await evaluate({ key: j.key, source: j.text, lossName: LOSS_NAME, stage, augment: j.augment, ...(j.lr ? { lr: j.lr } : {}) });
      emit({ type: 'cross-evaluated', key: j.key, from: j.from, augment: j.augment, fitness: j.outcome.fitness });
      save();
    }),
    concurrency,
  );
  const table = buildCrossTable(state);
  emit({ type: 'crosstable', table });
  log(crossTableMarkdown(table));
}

async function finalPhase(
  state: RunState,
  searches: Search[],
  evaluate: Evaluate,
  concurrency: number,
  save: () => void,
  emit: (e: { type: string; [k: string]: unknown }) => void,
  log: (s: string) => void,
): Promise<void> {
  const cfg = state.config;
  const n = cfg.finalSeeds;
  const seeds = Array.from({ length: n }, (_, i) => cfg.surrogate.seed + 1 + i);
  if (!state.final) {
    const jobs: FinalJob[] = [];
    searches.forEach((s, si) => {
      const a = s.st.augment;
      s.best(cfg.topK).forEach((rec, rank) => {
        const lr = tunedLr(rec);
        for (const seed of seeds) jobs.push({ key: `f:${si}:${rec.id}:${seed}`, from: si, rank: rank + 1, id: rec.id, loss: rec.loss, text: rec.text, augment: a, seed, ...(lr ? { lr } : {}) });
      });
      const celr = tunedLr(s.st.baseline);
      for (const seed of seeds) jobs.push({ key: `f:${si}:ce:${seed}`, from: si, rank: 0, id: -1, loss: s.st.baseline.loss, text: s.st.baseline.text, augment: a, seed, ...(celr ? { lr: celr } : {}) });
    });
    state.final = jobs;
    save();
    log(`final: re-training the top ${cfg.topK} of each search and CE with ${n} other seed(s) (${jobs.length} trainings)`);
  }
  const stage = cfg.surrogate.stage2 ? 2 : 1;
  await pool(
    state.final.filter((j) => !j.outcome).map((j) => async () => {
      j.outcome = await evaluate({ key: j.key, source: j.text, lossName: LOSS_NAME, stage, augment: j.augment, seed: j.seed, ...(j.lr ? { lr: j.lr } : {}) });
      emit({ type: 'final-evaluated', key: j.key, from: j.from, id: j.id, seed: j.seed, fitness: j.outcome.fitness, testAcc: j.outcome.testAcc ?? null });
      save();
    }),
    concurrency,
  );
}

export type { FinalRow };

/** The rate a tuned candidate's fitness came from (its full stage's, else its quick stage's). */
function tunedLr(rec: CandidateRecord): number | undefined {
  return rec.s2?.lr ?? rec.s1?.lr;
}

export function finalRows(state: RunState): FinalRow[] {
  const rows: FinalRow[] = [];
  const jobs = state.final ?? [];
  for (const [si, st] of state.searches.entries()) {
    const mine = jobs.filter((j) => j.from === si && j.outcome);
    const ce = mine.filter((j) => j.id === -1).sort((a, b) => a.seed - b.seed);
    const ids = [...new Set(mine.filter((j) => j.id !== -1).map((j) => j.id))];
    for (const id of ids) {
      const js = mine.filter((j) => j.id === id).sort((a, b) => a.seed - b.seed);
      const seeds = js.map((j) => j.seed).filter((sd) => ce.some((c) => c.seed === sd));
      // Only completed trainings count: a diverged or failed one has no accuracy to pair.
      const pick = (xs: FinalJob[], f: (o: EvalOutcome) => number | null | undefined) =>
        seeds.map((sd) => {
          const o = xs.find((x) => x.seed === sd)!.outcome!;
          return o.status === 'completed' ? (f(o) ?? null) : null;
        });
      const val = pick(js, (o) => o.fitness);
      const cev = pick(ce, (o) => o.fitness);
      const test = pick(js, (o) => o.testAcc);
      const cet = pick(ce, (o) => o.testAcc);
      const cmp = (a: (number | null)[], b: (number | null)[]): FinalComparison | null => {
        const both = a.map((v, i) => [v, b[i]] as const).filter((x): x is readonly [number, number] => x[0] !== null && x[1] !== null);
        if (!both.length) return null;
        return comparisonJson(pairedComparison(both.map((x) => x[0]), both.map((x) => x[1])));
      };
      const excluded = seeds.filter((_, i) => val[i] === null || cev[i] === null).length;
      rows.push({
        augment: st.augment, id, rank: js[0].rank, loss: js[0].loss, seeds,
        valAcc: val.map((v) => v ?? NaN), testAcc: test, ceValAcc: cev.map((v) => v ?? NaN), ceTestAcc: cet,
        val: cmp(val, cev), test: cmp(test, cet),
        ...(excluded ? { excluded } : {}),
      });
    }
  }
  // The top-k of every search are tested at once: Holm over the rows, per measure.
  for (const key of ['val', 'test'] as const) {
    const adj = holmAdjust(rows.map((r) => r[key]?.pValue ?? null));
    rows.forEach((r, i) => {
      const c = r[key];
      if (!c) return;
      c.pAdjusted = adj[i];
      c.verdict = verdictOf(c.n ?? 0, c.meanDiff, adj[i]);
    });
  }
  return rows;
}

export function buildCrossTable(state: RunState): CrossTable {
  const augs = state.searches.map((s) => s.augment);
  const rows: CrossTable['rows'] = [];
  const byLoss = new Map<string, CrossTable['rows'][number]>();
  for (const j of state.cross ?? []) {
    const k = `${j.from}:${j.rank}`;
    let row = byLoss.get(k);
    if (!row) {
      row = { loss: j.loss, from: j.from < 0 ? 'CE' : augs[j.from], rank: j.rank, fitness: {} };
      byLoss.set(k, row);
      rows.push(row);
    }
    row.fitness[j.augment] = j.outcome?.fitness ?? null;
  }
  rows.sort((a, b) => (a.from === 'CE' ? 1 : 0) - (b.from === 'CE' ? 1 : 0));
  return { augments: augs, rows };
}

export function crossTableMarkdown(t: CrossTable): string {
  const ce = t.rows.find((r) => r.from === 'CE');
  const head = `| loss | searched under | ${t.augments.join(' | ')} |\n|---|---|${t.augments.map(() => '---').join('|')}|`;
  const cell = (v: number | null, a: string, isCe: boolean): string => {
    if (v === null) return 'failed';
    const base = ce?.fitness[a];
    if (isCe || base === null || base === undefined) return v.toFixed(4);
    const d = v - base;
    return `${v.toFixed(4)} (${d >= 0 ? '+' : ''}${d.toFixed(4)})`;
  };
  const lines = t.rows.map((r) => `| \`${r.loss}\` | ${r.from}${r.rank ? ` #${r.rank}` : ''} | ${t.augments.map((a) => cell(r.fitness[a] ?? null, a, r.from === 'CE')).join(' | ')} |`);
  return [head, ...lines].join('\n');
}

/**
 * A top-k file's statements: the candidate's loss simplified (it evaluates equal in float64),
 * with the loss as it was trained kept in a comment when the two are written differently.
 */
function readableBody(trained: string): string {
  const body = trained.split('\n').filter((line) => !line.startsWith('#')).join('\n');
  try {
    const readable = printGenomeSimplified(genomeFromSource(trained, LOSS_NAME));
    if (readable === body) return body;
    const lossLine = body.split('\n').find((l) => l.startsWith(`loss ${LOSS_NAME} =`));
    return readable.replace(`loss ${LOSS_NAME} =`, `# as trained: ${lossLine}\nloss ${LOSS_NAME} =`);
  } catch {
    return body;
  }
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'none';
}

function describeSurrogate(cfg: EvolveConfig, augment: string): string {
  const s = cfg.surrogate;
  const st = s.stage2 ?? s.stage1;
  if (cfg.task === 'segmentation' && s.seg) {
    const data = s.dataset === 'digits-clutter' ? `digits-clutter (${s.seg.size}×${s.seg.size}, ${s.seg.train} training images)` : s.dataset;
    return `U-Net (${s.seg.filters} filters) on ${data}, ${st.epochs} epoch(s) x ${st.stepsPerEpoch ?? 'all'} steps, batch ${s.batchSize}, lr ${s.tuneLr ? `tuned on ${s.tuneLr.join(', ')}` : s.lr}, seed ${s.seed}`;
  }
  return `${s.model.kind}${s.model.hidden ? ` [${s.model.hidden.join(',')}]` : ''}${s.model.width ? ` width ${s.model.width}` : ''} on ${s.dataset}` +
    `${s.maxTrain ? ` (${s.maxTrain} training images)` : ''}, augment ${augment}, ${st.epochs} epoch(s) x ${st.stepsPerEpoch ?? 'all'} steps, batch ${s.batchSize}, lr ${s.tuneLr ? `tuned on ${s.tuneLr.join(', ')}` : s.lr}, seed ${s.seed}`;
}

function writeResults(run: RunHandle, state: RunState, searches: Search[], status: EvolveSummary['status'], backend: string | null, error?: string, compute: BackendJson | null = null): EvolveSummary {
  const cfg = state.config;
  const multi = state.searches.length > 1;
  const best: EvolveSummary['best'] = [];
  const rejected: Record<string, number> = {};
  const rejectMs: Record<string, number> = {};
  let evaluated = 0;
  let proposed = 0;
  let accepted = 0;
  let evaluations = 0;
  let evaluationMs = 0;
  let filtered = 0;
  const failed: Record<string, number> = {};
  for (const r of REJECT_REASONS) rejected[r] = 0;
  const finals = state.final && state.final.every((j) => j.outcome) ? finalRows(state) : [];
  searches.forEach((search) => {
    const st = search.st;
    const s = st.stats;
    proposed += s.proposed;
    accepted += s.accepted;
    evaluations += s.evaluations;
    evaluationMs += s.evaluationMs;
    filtered += s.filtered;
    for (const [k, v] of Object.entries(s.rejected)) rejected[k] = (rejected[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.rejectMs)) rejectMs[k] = (rejectMs[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.failed)) failed[k] = (failed[k] ?? 0) + v;
    evaluated += Object.values(st.cands).filter((c) => c.s1).length;
    search.best(cfg.topK).forEach((rec, k) => {
      const file = `${multi ? `best-${slug(st.augment)}-` : 'best-'}${k + 1}.loss`;
      const lineage = search.lineage(rec.id);
      const fr = finals.find((f) => f.augment === st.augment && f.id === rec.id);
      const mean = (xs: (number | null)[]): string => (xs.length && xs.every((v) => v !== null) ? (xs as number[]).reduce((a, b) => a + b, 0) / xs.length : NaN).toFixed(4);
      const finalLine = fr
        ? [`re-trained with seeds ${fr.seeds.join(', ')}: validation ${mean(fr.valAcc)} vs CE ${mean(fr.ceValAcc)}` +
            (fr.val ? ` (difference ${fr.val.meanDiff >= 0 ? '+' : ''}${fr.val.meanDiff.toFixed(4)}, paired t-test p = ${fr.val.pValue === null ? 'n/a' : fr.val.pValue.toPrecision(2)})` : '') +
            `; test ${mean(fr.testAcc)} vs CE ${mean(fr.ceTestAcc)}`]
        : [];
      const comments = [
        `Lossmith evolve run ${run.id}${multi ? `, search under augmentation '${st.augment}'` : ''}: rank ${k + 1} of ${cfg.topK}`,
        `fitness (best validation ${cfg.task === 'segmentation' ? 'Dice' : 'accuracy'}) ${r4(rec.fitness)}${tunedLr(rec) ? ` at lr ${tunedLr(rec)}` : ''}; ${cfg.task === 'segmentation' ? 'cross-entropy per pixel' : 'cross-entropy'} on the same surrogate and seed: ${r4(st.baseline.fitness)}${tunedLr(st.baseline) ? ` at lr ${tunedLr(st.baseline)}` : ''}`,
        `surrogate: ${describeSurrogate(cfg, st.augment)}`,
        ...finalLine,
        `lineage (newest first):`,
        ...lineage.map((l) => `  #${l.id} ${l.origin === 'child' ? `${l.mutation} (${l.detail}) of #${l.parent}${l.parent2 !== null ? ` x #${l.parent2}` : ''}` : l.origin}${l.flipped ? ', sign flipped' : ''}: fitness ${r4(l.fitness)}: ${l.loss}`),
      ];
      fs.writeFileSync(path.join(run.dir, file), comments.map((c) => `# ${c}`).join('\n') + '\n' + readableBody(rec.text));
      best.push({
        file, loss: rec.loss, fitness: rec.fitness!, id: rec.id, augment: st.augment, stage1: rec.s1?.fitness ?? null,
        ...(tunedLr(rec) ? { lr: tunedLr(rec) } : {}),
        lineage: lineage.map((l) => ({ id: l.id, mutation: l.mutation, detail: l.detail, parent: l.parent, fitness: l.fitness, loss: l.loss })),
      });
    });
  });
  const meanRejectMs: Record<string, number> = {};
  for (const [k, v] of Object.entries(rejectMs)) meanRejectMs[k] = r4(v / Math.max(1, rejected[k] ?? 0))!;
  let crossTableOut: CrossTable | undefined;
  if (state.cross && state.cross.every((j) => j.outcome)) {
    crossTableOut = buildCrossTable(state);
    writeJsonAtomic(path.join(run.dir, 'crosstable.json'), crossTableOut);
    fs.writeFileSync(path.join(run.dir, 'crosstable.md'), crossTableMarkdown(crossTableOut) + '\n');
  }
  const summary: EvolveSummary = {
    kind: 'evolve',
    status,
    backend,
    compute,
    evaluated,
    rejected,
    baselineFitness: state.searches[0]?.baseline.fitness ?? null,
    best,
    proposed,
    accepted,
    evaluations,
    evaluationMs: Math.round(evaluationMs),
    filtered,
    failed,
    meanRejectMs,
    searches: searches.map((s) => ({
      augment: s.st.augment,
      phase: s.st.phase,
      baselineFitness: s.st.baseline.fitness,
      baselineStage1: s.st.baseline.s1?.fitness ?? null,
      ...(tunedLr(s.st.baseline) ? { baselineLr: tunedLr(s.st.baseline) } : {}),
      initialBest: s.initialBest(),
      best: s.best(1)[0]?.fitness ?? null,
      children: s.st.childrenEvaluated,
      generations: s.st.generation,
      population: s.st.population.map((m) => ({ id: m.id, age: m.age, fitness: s.st.cands[m.id].fitness, loss: s.st.cands[m.id].loss })),
    })),
    ...(crossTableOut ? { crossTable: crossTableOut } : {}),
    ...(finals.length ? { final: finals } : {}),
    ...(cfg.transfer?.length && state.transfer ? { transfer: { steps: cfg.transfer.map((s) => s.label), rows: transferRows(cfg, state.transfer) } } : {}),
    ...(error ? { error } : {}),
  };
  run.writeSummary(summary as unknown as Record<string, unknown>);
  return summary;
}
