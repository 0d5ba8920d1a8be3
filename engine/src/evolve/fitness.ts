/**
 * The surrogate fitness: a short training of the configured model on the configured data,
 * run as a 'train' task in the worker pool (one process per core by default). The fitness is
 * the best validation accuracy; NaN and low training accuracy end a training early (the
 * trainer's earlyStop). Every task carries the surrogate's seed, so an evaluation is
 * deterministic whichever worker runs it.
 */
import { setMaxListeners } from 'events';
import * as path from 'path';
import { WorkerCrashError, WorkerPool, TaskCancelledError, type Progress, type TrainTask, type TrainTaskResult } from '../run/worker-pool';
import type { BackendJson, SegTask, SegTaskResult } from '../compute/types';
import type { TaskRunner } from '../run/task-runner';
import type { StageConfig, SurrogateConfig } from './config';
import type { EvalJob, EvalOutcome, Evaluate } from './search';

export function stageOf(s: SurrogateConfig, stage: 1 | 2): StageConfig {
  return stage === 2 && s.stage2 ? s.stage2 : s.stage1;
}

/** The worker task of one evaluation. */
export function trainTask(sur: SurrogateConfig, job: EvalJob, cwd = process.cwd()): TrainTask {
  // A transfer step trains another model and/or dataset with the surrogate's other settings.
  const o = job.surrogate;
  const s: SurrogateConfig = o
    ? { ...sur, ...(o.model ? { model: o.model } : {}), ...(o.dataset ? { dataset: o.dataset } : {}), ...(o.maxTrain === null ? { maxTrain: undefined } : o.maxTrain !== undefined ? { maxTrain: o.maxTrain } : {}) }
    : sur;
  const st = stageOf(s, job.stage);
  return {
    kind: 'train',
    lossSource: job.source,
    lossName: job.lossName,
    backend: s.backend,
    engine: s.engine === 'torch' ? 'torch' : 'tfjs',
    ...(s.engine === 'torch' && s.torch ? { torch: s.torch } : {}),
    dataset: { spec: s.dataset, seed: s.seed, ...(s.maxTrain !== undefined ? { maxTrain: s.maxTrain } : {}), cwd: path.resolve(cwd) },
    augment: job.augment,
    train: {
      model: s.model,
      ...(s.optimizer ? { optimizer: s.optimizer } : {}),
      lr: job.lr ?? s.lr,
      batchSize: s.batchSize,
      epochs: st.epochs,
      ...(st.stepsPerEpoch !== undefined ? { stepsPerEpoch: st.stepsPerEpoch } : {}),
      ...(s.maxVal !== undefined ? { maxVal: s.maxVal } : {}),
      seed: job.seed ?? s.seed,
      ...(st.earlyStop ? { earlyStop: st.earlyStop } : {}),
      testWith: 'best',
    },
  };
}

/**
 * The worker task of one evaluation of a segmentation search: the surrogate's U-Net trained
 * with the candidate on its stage's budget (fitness: the best validation Dice).
 */
export function segTask(s: SurrogateConfig, job: EvalJob, cwd = process.cwd()): SegTask {
  const st = stageOf(s, job.stage);
  if (!s.seg) throw new Error('internal: a segmentation evaluation without surrogate.seg');
  return {
    kind: 'segmentation',
    lossSource: job.source,
    lossName: job.lossName,
    backend: s.backend,
    engine: 'tfjs',
    dataset: { spec: s.dataset, seed: s.seed, cwd: path.resolve(cwd) },
    seg: s.seg,
    lr: job.lr ?? s.lr,
    batchSize: s.batchSize,
    epochs: st.epochs,
    ...(st.stepsPerEpoch !== undefined ? { stepsPerEpoch: st.stepsPerEpoch } : {}),
    seed: job.seed ?? s.seed,
  };
}

/** The fitness of a finished evaluation: best validation accuracy, or (segmentation) Dice. */
export function outcomeOf(r: TrainTaskResult | SegTaskResult): EvalOutcome {
  const ok = r.status === 'completed';
  const seg = 'metrics' in r;
  return {
    status: r.status,
    fitness: ok ? (seg ? r.bestValDice : r.bestValAcc) : null,
    wallMs: r.wallMs,
    ...(r.reason ? { reason: r.reason } : {}),
    backend: r.backend.name,
    testAcc: seg ? r.metrics.dice : r.testAcc,
  };
}

export interface PoolEvaluator {
  evaluate: Evaluate;
  pool: TaskRunner;
  /** Backend name reported by the first finished evaluation. */
  backend(): string | null;
  /** What the first finished evaluation ran on (engine, device, versions, precision). */
  compute(): BackendJson | null;
  close(): Promise<void>;
}

/**
 * Evaluations through a worker pool (or `runner`: the job queue, closed with the evaluator). A worker that dies mid-task (crash, OOM) is replaced and
 * the task retried up to `retries` times; a task that throws (e.g. the loss does not compile)
 * is an 'error' outcome, not a crash of the search.
 */
export function poolEvaluator(
  s: SurrogateConfig,
  opts: { workers: number; cwd?: string; retries?: number; signal?: AbortSignal; /** Each distinct engine/device a worker reports, once. */ onCompute?: (b: BackendJson) => void; runner?: TaskRunner },
): PoolEvaluator {
  const pool: TaskRunner = opts.runner ?? new WorkerPool({ size: opts.workers });
  // One listener per evaluation in flight (a queue's many workers: many at once).
  if (opts.signal) setMaxListeners(0, opts.signal);
  let compute: BackendJson | null = null;
  const seen = new Set<string>();
  const onProgress = (p: Progress): void => {
    if (p.kind !== 'backend') return;
    const key = `${p.backend.name} ${p.backend.detail}`;
    if (seen.has(key)) return;
    seen.add(key);
    opts.onCompute?.(p.backend);
  };
  const retries = opts.retries ?? 2;
  const evaluate: Evaluate = async (job) => {
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      try {
        const runOpts = { signal: opts.signal, onProgress };
        const r = s.seg ? await pool.run(segTask(s, job, opts.cwd), runOpts) : await pool.run(trainTask(s, job, opts.cwd), runOpts);
        compute ??= r.backend;
        return outcomeOf(r);
      } catch (e) {
        if (e instanceof TaskCancelledError) throw e;
        if (e instanceof WorkerCrashError && attempt < retries) continue;
        return { status: 'error', fitness: null, wallMs: performance.now() - t0, reason: (e as Error).message.split('\n')[0] };
      }
    }
  };
  return { evaluate, pool, backend: () => compute?.name ?? null, compute: () => compute, close: () => pool.close() };
}
