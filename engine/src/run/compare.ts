/**
 * Compare runs: train every loss (the baseline first) under every augmentation with every seed,
 * on the worker pool, and compare each loss with the baseline by a paired test over seeds.
 *
 * Fairness: a training's data subset, data order, augmentation draws, dropout masks and initial
 * weights are functions of (dataset spec + dataSeed, training seed, augmentation) only: the same
 * for every loss. So on seed i, loss L and the baseline start from the same weights and see the
 * same batches, and the seed-i accuracies form a pair. (Training the baseline's own expression as
 * "a loss" reproduces the baseline's numbers exactly; see test/engine/evaluate-run.test.ts.)
 *
 * Statistics: per (loss, augmentation) the mean and sample standard deviation of test accuracy
 * over seeds, and vs the baseline the paired t-test (t-based 95% CI of the mean difference,
 * two-sided p) on the seeds where both produced a test accuracy, plus the exact Wilcoxon
 * signed-rank p on the same pairs. GAN runs (`task gan`) compare FD (lower is better) and the
 * accuracy on generated digits; segmentation runs (`task segmentation`) compare the test Dice
 * (percentage points, the verdicts) and HD95 (pixels, lower is better), each metric its own Holm
 * family.
 *
 * Robustness: a NaN loss ends that training with status 'nan' (its best-validation checkpoint, if
 * any epoch finished, is still tested and reported as such); a training that throws is 'failed';
 * a worker that dies is retried once on a fresh worker. Cancellation (AbortSignal) stops the
 * running trainings, keeps the finished ones in the events and the summary, and ends the run
 * with status 'cancelled'.
 *
 * Resume: the run folder keeps the exact loss sources it trained (sources.json) next to
 * config.json, so a resumed run (`loadCompareRun`, then `runCompare({ resumeDir })`) re-creates
 * the same grid whatever happened to the .loss files since, reuses every training whose
 * seed-end says it finished (completed, nan or early-stopped), and trains the rest (cancelled,
 * failed, or cut off by a kill) into the same events.jsonl. Trainings are deterministic given their seed, so a resumed run's results equal
 * an uninterrupted run's.
 */
import { setMaxListeners } from 'events';
import * as fs from 'fs';
import * as path from 'path';
import type {
  BackendJson,
  CompareEvent,
  CompareResultJson,
  CompareStatus,
  CompareSummary,
  LossRefJson,
  LrChoiceJson,
  PairedTestJson,
  SeedEndEvent,
  SegMetricsInfoJson,
  CompareConfigJson,
  TrainingKey,
  TrainingStatus,
  TuneEndEvent,
  QueueWorkersEvent,
} from '../../../protocol/run-events';
import { createRun, openRun, readConfig, readEvents, readSummary, resolveRunDir, writeJsonAtomic, type RunHandle } from '../../../store/run-store';
import { describeBackend } from '../compute/describe';
import { excludedText as excludedWords } from '../../../protocol/verdict';
import { holmAdjust, meanStd, pairedComparison, verdictOf } from './stats';

export { describeBackend } from '../compute/describe';
import { SAM_KEY, type ResolvedCompare } from './run-config';
import { TaskCancelledError, WorkerCrashError, WorkerPool, defaultWorkers, type TrainTask, type TrainTaskResult } from './worker-pool';
import type { GanTask, GanTaskResult, Progress, SegTask, SegTaskResult } from '../compute/types';
import type { RunnerFactory, TaskRunner } from './task-runner';

export interface CompareRunOptions {
  resolved: ResolvedCompare;
  /** Run on this pool or runner (left open). Default: `runner`, else a new pool of `workers` processes, closed at the end. */
  pool?: TaskRunner;
  /** Makes the runner once the run's id is known (the job queue: `--queue`); closed at the end. */
  runner?: RunnerFactory;
  /** The job queue and its connected workers, written after compare-start (runs with `runner`). */
  queue?: Omit<QueueWorkersEvent, 'type'>;
  /** Pool size when no pool is given (default: resolved.workers, else min(cores, trainings)). */
  workers?: number;
  signal?: AbortSignal;
  /** Every event, as appended to events.jsonl (run-start included). */
  onEvent?: (e: CompareEvent) => void;
  /** Live step progress of running trainings (a few per second each; never written to the run folder). */
  onStep?: (s: LiveStep) => void;
  /** Retries after a worker crash (default 1). */
  crashRetries?: number;
  /** Continue this run folder (its configuration from `loadCompareRun`) instead of creating a new run. */
  resumeDir?: string;
}

/** Where a running training is: steps done of its planned steps, the epoch running. `tune`: a learning-rate tuning training at `lr`. */
export interface LiveStep {
  loss: string;
  augmentation: string;
  seed: number;
  tune?: { lr: number };
  step: number;
  steps: number;
  epoch: number;
  epochs: number;
}

/** The exact loss sources of a compare run, by label (SAM_KEY for the perturbation loss). */
export const SOURCES_FILE = 'sources.json';

const KEPT: ReadonlySet<TrainingStatus> = new Set(['completed', 'nan', 'early-stopped']);

/**
 * The resolved configuration of an existing compare run (folder or id in `runsFolder`), to
 * resume it: config.json and sources.json as they were written when it started.
 */
export function loadCompareRun(run: string, runsFolder: string): ResolvedCompare & { dir: string } {
  const dir = resolveRunDir(run, runsFolder, SOURCES_FILE, 'resumable compare run');
  const config = readConfig(dir) as CompareConfigJson;
  if (!config || config.kind !== 'compare') throw new Error(`${dir}: not a compare run (config.json kind is ${JSON.stringify(config?.kind)})`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(dir, SOURCES_FILE), 'utf8'));
  } catch (e) {
    throw new Error(`${path.join(dir, SOURCES_FILE)}: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Object.values(raw).some((v) => typeof v !== 'string')) throw new Error(`${path.join(dir, SOURCES_FILE)}: expected an object of source texts`);
  const sources = new Map(Object.entries(raw as Record<string, string>));
  for (const ref of [config.baseline, ...config.losses]) if (!sources.has(ref.label)) throw new Error(`${path.join(dir, SOURCES_FILE)}: no source for loss ${ref.label}`);
  return { dir, config, sources, runsDir: path.dirname(dir), workers: config.workers };
}

export interface CompareRunResult {
  id: string;
  dir: string;
  summary: CompareSummary;
}

interface Job extends TrainingKey {
  ref: LossRefJson;
  /** Built when the job runs: under lr tuning its rate is known only after the tuning phase. */
  task?: TrainTask | GanTask | SegTask;
  started: boolean;
  end?: SeedEndEvent;
}

/** One learning-rate tuning training: a loss, an augmentation, a grid point, a tuning seed. */
interface TuneJob {
  loss: string;
  augmentation: string;
  ref: LossRefJson;
  lr: number;
  seed: number;
  end?: TuneEndEvent;
}

const finiteOrNull = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function lossTask(resolved: ResolvedCompare, ref: LossRefJson, augmentation: string, seed: number, lr = resolved.config.lr): TrainTask {
  const c = resolved.config;
  const source = resolved.sources.get(ref.label);
  if (source === undefined) throw new Error(`internal: no source for loss ${ref.label}`);
  const samSource = resolved.sources.get(SAM_KEY);
  const kind = c.model.kind;
  if (kind === 'unet') throw new Error('internal: the U-Net of a segmentation run in a classification training');
  return {
    kind: 'train',
    lossSource: source,
    lossName: ref.loss,
    ...(ref.params ? { params: ref.params } : {}),
    ...(c.sam?.loss ? { perturbLossName: c.sam.loss.loss, perturbLossSource: samSource } : {}),
    backend: c.backend,
    engine: c.engine ?? 'tfjs',
    ...(c.torch ? { torch: c.torch } : {}),
    dataset: { ...c.dataset },
    augment: augmentation,
    train: {
      model: { ...c.model, kind },
      optimizer: { kind: c.optimizer, ...(c.optimizer === 'sgd' ? { momentum: 0.9 } : {}), ...(c.weightDecay ? { weightDecay: c.weightDecay } : {}) },
      lr,
      ...(c.warmup !== undefined ? { warmup: c.warmup } : {}),
      ...(c.schedule ? { schedule: c.schedule } : {}),
      batchSize: c.batchSize,
      epochs: c.epochs,
      ...(c.stepsPerEpoch !== undefined ? { stepsPerEpoch: c.stepsPerEpoch } : {}),
      ...(c.maxVal !== undefined ? { maxVal: c.maxVal } : {}),
      seed,
      ...(c.sam ? { sam: { rho: c.sam.rho, ...(c.sam.adaptive ? { adaptive: true } : {}) } } : {}),
      testWith: 'best',
    },
  };
}

/** A GAN comparison's training of one pair (a loss label NAME: NAME_g + NAME_d) on a seed. */
function ganTask(resolved: ResolvedCompare, ref: LossRefJson, seed: number): GanTask {
  const c = resolved.config;
  const source = resolved.sources.get(ref.label);
  if (source === undefined) throw new Error(`internal: no source for loss ${ref.label}`);
  if (!c.gan) throw new Error('internal: a gan run without gan settings');
  const task: GanTask = {
    kind: 'gan',
    lossSource: source,
    gLoss: `${ref.loss}_g`,
    dLoss: `${ref.loss}_d`,
    ...(ref.params ? { params: ref.params } : {}),
    engine: c.engine ?? 'tfjs',
    ...(c.torch ? { torch: c.torch } : {}),
    backend: c.backend,
    dataset: { ...c.dataset },
    gan: c.gan,
    lr: c.lr,
    batchSize: c.batchSize,
    epochs: c.epochs,
    stepsPerEpoch: c.stepsPerEpoch ?? 100,
    seed,
  };
  return task;
}

/** A segmentation comparison's training of one loss on a seed (a U-Net from that seed's initial weights, on that seed's batches). */
function segTask(resolved: ResolvedCompare, ref: LossRefJson, seed: number): SegTask {
  const c = resolved.config;
  const source = resolved.sources.get(ref.label);
  if (source === undefined) throw new Error(`internal: no source for loss ${ref.label}`);
  if (!c.seg) throw new Error('internal: a segmentation run without seg settings');
  return {
    kind: 'segmentation',
    lossSource: source,
    lossName: ref.loss,
    ...(ref.params ? { params: ref.params } : {}),
    engine: c.engine ?? 'tfjs',
    ...(c.torch ? { torch: c.torch } : {}),
    backend: c.backend,
    dataset: { spec: c.dataset.spec, seed: c.dataset.seed },
    seg: c.seg,
    lr: c.lr,
    batchSize: c.batchSize,
    epochs: c.epochs,
    ...(c.stepsPerEpoch !== undefined ? { stepsPerEpoch: c.stepsPerEpoch } : {}),
    seed,
  };
}

/** The words of a segmentation run's metrics (summary.json's `metrics`). */
export const SEG_METRICS_NOTE =
  'On the test images, with each training\'s best-validation-Dice weights, over the foreground classes only (class 0, the background, is left out): ' +
  'dice and iou per image and class from the argmax prediction (1 when prediction and target are both empty), averaged; higher is better. ' +
  'hd95: the 95th-percentile symmetric Hausdorff distance between the predicted and the target boundaries, in pixels ' +
  '(the image diagonal when only one of them is empty); lower is better. Verdicts compare dice (differences in percentage points); hd95 has its own comparisons.';

const SEG_METRICS: SegMetricsInfoJson = { primary: 'dice', secondary: ['iou', 'hd95'], lowerIsBetter: ['hd95'], note: SEG_METRICS_NOTE };

/** The words of a GAN run's metrics (summary.json's `metrics`, the CLI legend). */
export const GAN_METRICS_NOTE =
  "fd: Fréchet distance between the penultimate-layer features (128) of Lossmith's digit classifier (lenet trained on the embedded digits) " +
  'for the real test digits and for generated digits; it is not Inception FID and is not comparable with published FIDs. Lower is better. ' +
  "genAccuracy: the classifier's accuracy on generated digits (target: the class each was generated for), overall and per class.";

/** The paired comparison of `acc` with `base` over seeds where both exist. */
export function compareWithBaseline(acc: (number | null)[], base: (number | null)[]): PairedTestJson {
  const a: number[] = [];
  const b: number[] = [];
  acc.forEach((v, i) => {
    const w = base[i];
    if (v !== null && w !== null && w !== undefined) {
      a.push(v);
      b.push(w);
    }
  });
  if (a.length === 0) {
    return { test: 'paired t-test', n: 0, meanDiff: null, ci95: null, pValue: null, wilcoxonP: null, note: 'no seed where both trainings produced a test accuracy' };
  }
  const r = pairedComparison(a, b);
  return {
    test: 'paired t-test',
    n: r.n,
    meanDiff: r.meanDiff,
    ci95: r.ci95,
    pValue: r.pValue,
    wilcoxonP: r.wilcoxon.pValue,
    dz: r.dz,
    dzCi95: r.dzCi95,
    note: r.note,
  };
}

/**
 * The learning rate of each loss and augmentation: the grid point with the best mean
 * validation accuracy over the tuning seeds whose training completed (the first such point on a
 * tie); the run's own lr when no grid point completed.
 */
export function chooseLrs(resolved: ResolvedCompare, tjobs: readonly { loss: string; augmentation: string; lr: number; end?: { status: TrainingStatus; bestValAcc: number | null } }[]): LrChoiceJson[] {
  const c = resolved.config;
  if (!c.tuneLr) return [];
  const out: LrChoiceJson[] = [];
  for (const aug of c.augmentations) {
    for (const ref of [c.baseline, ...c.losses]) {
      const valAcc: (number | null)[] = [];
      const finished: number[] = [];
      for (const lr of c.tuneLr.grid) {
        const vals = tjobs
          .filter((t) => t.loss === ref.label && t.augmentation === aug && t.lr === lr && t.end?.status === 'completed' && t.end.bestValAcc !== null)
          .map((t) => t.end!.bestValAcc as number);
        finished.push(vals.length);
        valAcc.push(vals.length ? vals.reduce((a, v) => a + v, 0) / vals.length : null);
      }
      let best = -1;
      valAcc.forEach((v, i) => {
        if (v !== null && (best < 0 || v > (valAcc[best] as number))) best = i;
      });
      out.push({
        loss: ref.label,
        augmentation: aug,
        lr: best >= 0 ? c.tuneLr.grid[best] : c.lr,
        valAcc,
        finished,
        ...(best < 0 ? { note: `no tuning training completed; trained at the run's lr ${c.lr}` } : {}),
      });
    }
  }
  return out;
}

function buildResults(resolved: ResolvedCompare, jobs: Job[], lrs: LrChoiceJson[] = []): CompareResultJson[] {
  const c = resolved.config;
  const gan = c.task === 'gan';
  const seg = c.task === 'segmentation';
  const refs = [c.baseline, ...c.losses];
  const out: CompareResultJson[] = [];
  // Only completed trainings count: a diverged (nan), failed or early-stopped training is left
  // out of the mean and of the pairs (its seed pairs with nothing), and counted.
  const metricOf = (label: string, aug: string, m: (e: SeedEndEvent) => number | null): (number | null)[] =>
    c.seeds.map((_, si) => {
      const end = jobs.find((j) => j.loss === label && j.augmentation === aug && j.seedIndex === si)?.end;
      return end && end.status === 'completed' ? m(end) : null;
    });
  const perSeedOf = (label: string, aug: string): (number | null)[] => metricOf(label, aug, (e) => e.testAcc);
  const fdOf = (label: string, aug: string): (number | null)[] => metricOf(label, aug, (e) => e.gan?.fd ?? null);
  const segOf = (label: string, aug: string, k: 'dice' | 'iou' | 'hd95'): (number | null)[] => metricOf(label, aug, (e) => e.seg?.[k] ?? null);
  const stats = (xs: (number | null)[]): { mean: number | null; std: number | null; perSeed: (number | null)[] } => {
    const have = xs.filter((v): v is number => v !== null);
    const ms = have.length ? meanStd(have) : null;
    return { mean: ms ? ms.mean : null, std: ms ? ms.std : null, perSeed: xs };
  };
  for (const aug of c.augmentations) {
    const base = perSeedOf(c.baseline.label, aug);
    for (const ref of refs) {
      const mine = jobs.filter((j) => j.loss === ref.label && j.augmentation === aug && j.end);
      const perSeed = perSeedOf(ref.label, aug);
      const have = perSeed.filter((v): v is number => v !== null);
      const ms = have.length ? meanStd(have) : null;
      const walls = mine.filter((j) => j.end!.status !== 'cancelled').map((j) => j.end!.wallMs);
      out.push({
        loss: ref.label,
        augmentation: aug,
        ref,
        baseline: ref === c.baseline,
        lr: lrs.find((x) => x.loss === ref.label && x.augmentation === aug)?.lr ?? c.lr,
        testAccuracy: { mean: ms ? ms.mean : null, std: ms ? ms.std : null, perSeed },
        vsBaseline: gan
          ? { ...compareWithBaseline(fdOf(ref.label, aug), fdOf(c.baseline.label, aug)), metric: 'fd', lowerIsBetter: true }
          : seg
            ? { ...compareWithBaseline(perSeed, base), metric: 'dice' }
            : compareWithBaseline(perSeed, base),
        ...(gan
          ? {
              gan: {
                fd: stats(fdOf(ref.label, aug)),
                genAccuracy: stats(perSeed),
                perClassAccuracy: Array.from({ length: 10 }, (_, k) => {
                  const v = mine.filter((j) => j.end!.status === 'completed' && typeof j.end!.gan?.perClassAccuracy[k] === 'number').map((j) => j.end!.gan!.perClassAccuracy[k] as number);
                  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
                }),
                genAccuracyVsBaseline: { ...compareWithBaseline(perSeed, base), metric: 'genAccuracy' as const },
              },
            }
          : {}),
        ...(seg
          ? {
              seg: {
                dice: stats(perSeed),
                iou: stats(segOf(ref.label, aug, 'iou')),
                hd95: stats(segOf(ref.label, aug, 'hd95')),
                hd95VsBaseline: { ...compareWithBaseline(segOf(ref.label, aug, 'hd95'), segOf(c.baseline.label, aug, 'hd95')), metric: 'hd95' as const, lowerIsBetter: true },
              },
            }
          : {}),
        finished: mine.filter((j) => j.end!.status === 'completed').length,
        excluded: {
          nan: mine.filter((j) => j.end!.status === 'nan').length,
          failed: mine.filter((j) => j.end!.status === 'failed').length,
          earlyStopped: mine.filter((j) => j.end!.status === 'early-stopped').length,
        },
        seeds: mine
          .sort((x, y) => x.seedIndex - y.seedIndex)
          .map((j) => ({
            seed: j.seed,
            status: j.end!.status,
            testAcc: j.end!.testAcc,
            bestValAcc: j.end!.bestValAcc,
            bestEpoch: j.end!.bestEpoch,
            wallMs: j.end!.wallMs,
            ...(j.end!.reason ? { reason: j.end!.reason } : {}),
            ...(j.end!.worker ? { worker: j.end!.worker } : {}),
            ...(j.end!.gan ? { gan: j.end!.gan } : {}),
            ...(j.end!.seg ? { seg: j.end!.seg } : {}),
          })),
        meanWallMs: walls.length ? walls.reduce((s, v) => s + v, 0) / walls.length : null,
      });
    }
  }
  // Many losses x augmentations are tested at once: Holm's adjustment over the whole run,
  // and the verdict from the adjusted p.
  const tested = out.filter((r) => !r.baseline);
  const adjusted = holmAdjust(tested.map((r) => r.vsBaseline.pValue));
  tested.forEach((r, i) => {
    r.vsBaseline.pAdjusted = adjusted[i];
    r.vsBaseline.verdict = verdictOf(r.vsBaseline.n, r.vsBaseline.meanDiff, adjusted[i], undefined, !!r.vsBaseline.lowerIsBetter);
  });
  if (gan) {
    // The second metric has its own family: Holm over the run's genAccuracy comparisons.
    const second = tested.map((r) => r.gan!.genAccuracyVsBaseline);
    holmAdjust(second.map((v) => v.pValue)).forEach((p, i) => {
      second[i].pAdjusted = p;
      second[i].verdict = verdictOf(second[i].n, second[i].meanDiff, p);
    });
  }
  if (seg) {
    // HD95 has its own family too (lower is better): Holm over the run's hd95 comparisons.
    const second = tested.map((r) => r.seg!.hd95VsBaseline);
    holmAdjust(second.map((v) => v.pValue)).forEach((p, i) => {
      second[i].pAdjusted = p;
      second[i].verdict = verdictOf(second[i].n, second[i].meanDiff, p, undefined, true);
    });
  }
  return out;
}

/** Runs a compare grid; resolves with the summary (also written to summary.json). */
export async function runCompare(opts: CompareRunOptions): Promise<CompareRunResult> {
  const t0 = performance.now();
  const { resolved } = opts;
  const c = resolved.config;
  const refs = [c.baseline, ...c.losses];
  const jobs: Job[] = [];
  // Seed-major order: a cancelled run keeps whole seeds for as many losses as possible.
  c.seeds.forEach((seed, seedIndex) => {
    for (const augmentation of c.augmentations) {
      for (const ref of refs) {
        jobs.push({ loss: ref.label, augmentation, seed, seedIndex, ref, started: false });
      }
    }
  });
  // Learning-rate tuning first (its own seeds, the validation split), grid-point-major.
  const tjobs: TuneJob[] = [];
  if (c.tuneLr) {
    for (const seed of c.tuneLr.seeds) for (const lr of c.tuneLr.grid) for (const augmentation of c.augmentations) for (const ref of refs) tjobs.push({ loss: ref.label, augmentation, ref, lr, seed });
  }
  const workers = opts.pool ? opts.pool.size : (opts.workers ?? resolved.workers ?? defaultWorkers(jobs.length));
  const config = { ...c, workers };
  const backends: BackendJson[] = [];
  let datasetInfo: (TrainTaskResult['dataset'] & Partial<Pick<SegTaskResult['dataset'], 'height' | 'width' | 'foreground'>>) | undefined;
  let finished = 0;
  let priorWallMs = 0;
  let run: RunHandle;
  if (opts.resumeDir) {
    // Keep the trainings that finished; the latest seed-end of a training wins.
    const events = readEvents(opts.resumeDir);
    const prior = readSummary(opts.resumeDir);
    run = openRun(opts.resumeDir);
    const byKey = new Map(jobs.map((j) => [`${j.loss}\u0000${j.augmentation}\u0000${j.seedIndex}`, j]));
    const tuneKey = (t: { loss: unknown; augmentation: unknown; lr: unknown; seed: unknown }): string => `${String(t.loss)}\u0000${String(t.augmentation)}\u0000${String(t.lr)}\u0000${String(t.seed)}`;
    const byTuneKey = new Map(tjobs.map((t) => [tuneKey(t), t]));
    for (const e of events) {
      if (e.type === 'backend' && e.backend && typeof e.backend === 'object') {
        const b = e.backend as BackendJson;
        if (!backends.some((x) => x.name === b.name && x.detail === b.detail)) backends.push(b);
      } else if (e.type === 'tune-end') {
        const t = byTuneKey.get(tuneKey(e as unknown as TuneEndEvent));
        if (t) t.end = KEPT.has((e as unknown as TuneEndEvent).status) ? (e as unknown as TuneEndEvent) : undefined;
      } else if (e.type === 'seed-end') {
        const j = byKey.get(`${String(e.loss)}\u0000${String(e.augmentation)}\u0000${String(e.seedIndex)}`);
        if (j && j.seed === e.seed) j.end = e as unknown as SeedEndEvent;
      }
    }
    for (const j of jobs) {
      if (j.end && KEPT.has(j.end.status)) {
        j.started = true;
        finished++;
      } else {
        j.end = undefined;
      }
    }
    const ds = prior?.dataset as (TrainTaskResult['dataset'] & { name?: string }) | undefined;
    if (ds && typeof ds.name === 'string' && typeof ds.train === 'number') datasetInfo = ds;
    if (typeof prior?.wallMs === 'number' && Number.isFinite(prior.wallMs)) priorWallMs = prior.wallMs;
  } else {
    run = createRun(resolved.runsDir, 'compare', config, { runsDir: resolved.runsDir });
    writeJsonAtomic(path.join(run.dir, SOURCES_FILE), Object.fromEntries(resolved.sources));
  }
  const emit = (e: CompareEvent, sync = false): void => {
    run.append(e as unknown as { type: string }, { sync });
    opts.onEvent?.(e);
  };
  // The run store wrote run-start (or run-resume); pass the same object on.
  const start = [...readEvents(run.dir)].reverse().find((e) => e.type === (opts.resumeDir ? 'run-resume' : 'run-start'));
  if (start) opts.onEvent?.(start as unknown as CompareEvent);
  if (opts.resumeDir) emit({ type: 'compare-resume', jobs: jobs.length, kept: finished, workers }, true);
  else emit({ type: 'compare-start', config, jobs: jobs.length, ...(tjobs.length ? { tuneJobs: tjobs.length } : {}), workers, dir: run.dir }, true);
  if (opts.queue) emit({ type: 'queue', ...opts.queue }, true);
  let lrs: LrChoiceJson[] = [];

  let status: CompareStatus = 'running';
  let error: string | undefined;

  const summary = (): CompareSummary => ({
    kind: 'compare',
    ...(c.task === 'gan' ? { task: 'gan' as const, metrics: { primary: 'fd' as const, secondary: 'genAccuracy' as const, perClass: 'perClassAccuracy' as const, note: GAN_METRICS_NOTE }, ...(c.gan ? { gan: c.gan } : {}) } : {}),
    ...(c.task === 'segmentation' ? { task: 'segmentation' as const, metrics: SEG_METRICS, ...(c.seg ? { seg: c.seg } : {}) } : {}),
    status,
    backend: backends[0] ?? null,
    backends,
    baseline: c.baseline.label,
    results: buildResults(resolved, jobs, lrs),
    dataset: {
      ...c.dataset,
      ...(datasetInfo ? { name: datasetInfo.name, train: datasetInfo.train, val: datasetInfo.val, test: datasetInfo.test, classes: datasetInfo.classes } : {}),
      ...(datasetInfo?.foreground !== undefined ? { height: datasetInfo.height, width: datasetInfo.width, foreground: datasetInfo.foreground } : {}),
    },
    model: c.model,
    augmentations: c.augmentations,
    seeds: c.seeds,
    epochs: c.epochs,
    finished,
    jobs: jobs.length,
    wallMs: priorWallMs + performance.now() - t0,
    events: 'events.jsonl',
    ...(c.tuneLr
      ? { tuning: { grid: c.tuneLr.grid, seeds: c.tuneLr.seeds, choices: lrs.length ? lrs : chooseLrs(resolved, tjobs), finished: tjobs.filter((t) => t.end && t.end.status !== 'cancelled').length, jobs: tjobs.length } }
      : {}),
    ...(error ? { error } : {}),
  });
  const writeSummary = (): void => run.writeSummary(summary() as unknown as Record<string, unknown>);
  writeSummary();

  const pool: TaskRunner = opts.pool ?? opts.runner?.(run.id) ?? new WorkerPool({ size: workers });
  let cancelled = false;
  // Every task listens to this run's own signal (as many listeners as trainings, hence no limit):
  // it aborts after `cancelled` is set, so a cancelled task finds it set.
  const tasksAc = new AbortController();
  setMaxListeners(0, tasksAc.signal);
  const onAbort = (): void => {
    cancelled = true;
    tasksAc.abort();
  };
  if (opts.signal?.aborted) cancelled = true;
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  const key = (j: Job): TrainingKey => ({ loss: j.loss, augmentation: j.augmentation, seed: j.seed, seedIndex: j.seedIndex });
  const markStarted = (j: Job): void => {
    if (j.started) return;
    j.started = true;
    emit({ type: 'seed-start', ...key(j) });
  };
  const end = (j: Job, e: Omit<SeedEndEvent, 'type' | keyof TrainingKey>): void => {
    j.end = { type: 'seed-end', ...key(j), ...e };
    if (e.status !== 'cancelled') finished++;
    emit(j.end, true);
    writeSummary();
  };

  const runJob = async (j: Job): Promise<void> => {
    const retries = opts.crashRetries ?? 1;
    const lr = lrs.find((x) => x.loss === j.loss && x.augmentation === j.augmentation)?.lr;
    j.task ??= c.task === 'gan' ? ganTask(resolved, j.ref, j.seed) : c.task === 'segmentation' ? segTask(resolved, j.ref, j.seed) : lossTask(resolved, j.ref, j.augmentation, j.seed, lr);
    const task = j.task;
    for (let attempt = 0; ; attempt++) {
      if (cancelled) return;
      const runOpts = {
        signal: tasksAc.signal,
        onProgress: (p: Progress) => {
          if (p.kind === 'backend') {
            markStarted(j);
            if (!backends.some((b) => b.name === p.backend.name && b.detail === p.backend.detail)) {
              backends.push(p.backend);
              emit({ type: 'backend', backend: p.backend, pid: p.pid });
            }
          } else if (p.kind === 'step') {
            opts.onStep?.({ loss: j.loss, augmentation: j.augmentation, seed: j.seed, step: p.step, steps: p.steps, epoch: p.epoch, epochs: p.epochs });
          } else if (p.kind === 'epoch') {
            const h = p.epoch;
            emit({
              type: 'epoch', ...key(j), epoch: h.epoch,
              trainLoss: finiteOrNull(h.trainLoss), trainAcc: finiteOrNull(h.trainAcc), valAcc: finiteOrNull(h.valAcc), lr: h.lr, ms: h.ms,
            });
          } else if (p.kind === 'gan-epoch') {
            const h = p.epoch;
            emit({
              type: 'epoch', ...key(j), epoch: h.epoch, trainLoss: finiteOrNull(h.gLoss), trainAcc: null, valAcc: null, lr: c.lr, ms: h.ms,
              gan: { dLoss: finiteOrNull(h.dLoss), gLoss: finiteOrNull(h.gLoss), fd: finiteOrNull(h.fd), genAccuracy: finiteOrNull(h.genAccuracy) },
            });
          } else if (p.kind === 'seg-epoch') {
            const h = p.epoch;
            emit({
              type: 'epoch', ...key(j), epoch: h.epoch, trainLoss: finiteOrNull(h.loss), trainAcc: null, valAcc: null, lr: c.lr, ms: h.ms,
              seg: { loss: finiteOrNull(h.loss), valDice: finiteOrNull(h.valDice), valIou: finiteOrNull(h.valIou) },
            });
          }
        },
      };
      const sub: Promise<TrainTaskResult | GanTaskResult | SegTaskResult> = task.kind === 'gan' ? pool.run(task, runOpts) : task.kind === 'segmentation' ? pool.run(task, runOpts) : pool.run(task, runOpts);
      try {
        const got = await sub;
        datasetInfo ??= got.dataset;
        markStarted(j);
        if (task.kind === 'segmentation') {
          const r = got as SegTaskResult;
          const m = r.metrics;
          // The epoch whose weights were tested: the first with the best validation Dice.
          let bestEpoch = 0;
          let best = -Infinity;
          for (const h of r.history) if (h.valDice !== null && Number.isFinite(h.valDice) && h.valDice > best) [best, bestEpoch] = [h.valDice, h.epoch];
          end(j, {
            status: r.status, testAcc: finiteOrNull(m.dice), bestValAcc: finiteOrNull(r.bestValDice), bestEpoch, epochs: r.history.length, steps: r.steps,
            wallMs: r.wallMs, backend: r.backend.name, ...(r.reason ? { reason: r.reason } : {}), ...(r.worker ? { worker: r.worker } : {}),
            seg: { dice: finiteOrNull(m.dice), iou: finiteOrNull(m.iou), hd95: finiteOrNull(m.hd95) },
          });
          return;
        }
        if (task.kind === 'gan') {
          const g = got as GanTaskResult;
          const m = g.metrics;
          end(j, {
            status: g.status, testAcc: finiteOrNull(m.genAccuracy), bestValAcc: null, bestEpoch: g.history.length, epochs: g.history.length, steps: g.steps,
            wallMs: g.wallMs, backend: g.backend.name, ...(g.reason ? { reason: g.reason } : {}), ...(g.worker ? { worker: g.worker } : {}),
            gan: { fd: finiteOrNull(m.fd), genAccuracy: finiteOrNull(m.genAccuracy), perClassAccuracy: m.perClassAccuracy.map((v) => finiteOrNull(v)), classifierAccuracy: finiteOrNull(m.classifierAccuracy) },
          });
          return;
        }
        const r = got as TrainTaskResult;
        const st: TrainingStatus = r.status;
        end(j, {
          status: st, testAcc: finiteOrNull(r.testAcc), bestValAcc: finiteOrNull(r.bestValAcc), bestEpoch: r.bestEpoch,
          epochs: r.history.length, steps: r.steps, wallMs: r.wallMs, backend: r.backend.name, ...(r.reason ? { reason: r.reason } : {}),
          ...(r.worker ? { worker: r.worker } : {}),
        });
        return;
      } catch (e) {
        if (e instanceof TaskCancelledError || cancelled) {
          if (j.started) end(j, { status: 'cancelled', testAcc: null, bestValAcc: null, bestEpoch: 0, epochs: 0, steps: 0, wallMs: 0, reason: 'run cancelled' });
          return;
        }
        if (e instanceof WorkerCrashError && attempt < retries) continue;
        markStarted(j);
        end(j, { status: 'failed', testAcc: null, bestValAcc: null, bestEpoch: 0, epochs: 0, steps: 0, wallMs: 0, reason: (e as Error).message });
        return;
      }
    }
  };

  /** One tuning training: its result is its best validation accuracy (tune-end), nothing else is shown. */
  const runTune = async (t: TuneJob): Promise<void> => {
    const task = lossTask(resolved, t.ref, t.augmentation, t.seed, t.lr);
    const retries = opts.crashRetries ?? 1;
    const endTune = (e: Omit<TuneEndEvent, 'type' | 'loss' | 'augmentation' | 'lr' | 'seed'>): void => {
      t.end = { type: 'tune-end', loss: t.loss, augmentation: t.augmentation, lr: t.lr, seed: t.seed, ...e };
      emit(t.end, true);
      writeSummary();
    };
    for (let attempt = 0; ; attempt++) {
      if (cancelled) return;
      const sub = pool.run(task, {
        signal: tasksAc.signal,
        onProgress: (p) => {
          if (p.kind === 'backend' && !backends.some((b) => b.name === p.backend.name && b.detail === p.backend.detail)) {
            backends.push(p.backend);
            emit({ type: 'backend', backend: p.backend, pid: p.pid });
          } else if (p.kind === 'step') {
            opts.onStep?.({ loss: t.loss, augmentation: t.augmentation, seed: t.seed, tune: { lr: t.lr }, step: p.step, steps: p.steps, epoch: p.epoch, epochs: p.epochs });
          }
        },
      });
      try {
        const r = await sub;
        datasetInfo ??= r.dataset;
        endTune({ status: r.status, bestValAcc: finiteOrNull(r.bestValAcc), wallMs: r.wallMs, ...(r.reason ? { reason: r.reason } : {}), ...(r.worker ? { worker: r.worker } : {}) });
        return;
      } catch (e) {
        if (e instanceof TaskCancelledError || cancelled) return;
        if (e instanceof WorkerCrashError && attempt < retries) continue;
        endTune({ status: 'failed', bestValAcc: null, wallMs: 0, reason: (e as Error).message });
        return;
      }
    }
  };

  try {
    if (tjobs.length) {
      await Promise.all(tjobs.filter((t) => !t.end).map(runTune));
      if (!cancelled) {
        lrs = chooseLrs(resolved, tjobs);
        for (const ch of lrs) emit({ type: 'lr-chosen', ...ch }, true);
        writeSummary();
      }
    }
    if (!cancelled) await Promise.all(jobs.filter((j) => !j.end).map(runJob));
    const all = jobs.filter((j) => j.end);
    if (cancelled) {
      status = 'cancelled';
      emit({ type: 'run-cancelled', reason: 'cancelled by the user (signal)', wallMs: performance.now() - t0, finished }, true);
    } else if (all.length > 0 && all.every((j) => j.end!.status === 'failed')) {
      status = 'failed';
      error = `every training failed; the first: ${all[0].end!.reason}`;
    } else {
      status = 'done';
    }
    if (!cancelled) for (const r of buildResults(resolved, jobs, lrs)) emit({ type: 'result', ...r });
    if (status === 'done') emit({ type: 'run-end', status: 'done', wallMs: performance.now() - t0 }, true);
    if (status === 'failed') emit({ type: 'run-failed', error: error!, wallMs: performance.now() - t0 }, true);
  } catch (e) {
    status = 'failed';
    error = (e as Error).message;
    emit({ type: 'run-failed', error, wallMs: performance.now() - t0 }, true);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!opts.pool) await pool.close();
    const s = summary();
    run.writeSummary(s as unknown as Record<string, unknown>);
    run.close();
  }
  return { id: run.id, dir: run.dir, summary: { id: run.id, created: run.created, ...summary() } };
}

// ------------------------------------------------------------------------------------ text output

const pct = (v: number | null | undefined, d = 2): string => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(d)}%`);
const pp = (v: number, d = 2): string => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(d)}`;

function pFormat(p: number | null): string {
  if (p === null) return '—';
  if (p < 1e-4) return p.toExponential(1);
  return p.toFixed(p < 0.01 ? 4 : 3);
}

/** One line per finished training (the non-JSON progress output). */
export function formatSeedEnd(e: SeedEndEvent, done: number, total: number): string {
  const head = `[${String(done).padStart(String(total).length)}/${total}] ${e.loss} · ${e.augmentation} · seed ${e.seed}:`;
  const secs = `${(e.wallMs / 1000).toFixed(1)} s`;
  if (e.gan && e.status === 'completed') return `${head} FD ${e.gan.fd === null ? '—' : e.gan.fd.toFixed(1)}, accuracy on generated digits ${pct(e.gan.genAccuracy, 1)} (${e.steps} steps, ${secs})`;
  if (e.seg && e.status === 'completed') {
    return `${head} Dice ${pct(e.seg.dice)}, IoU ${pct(e.seg.iou)}, HD95 ${e.seg.hd95 === null ? '—' : `${e.seg.hd95.toFixed(2)} px`} (best val Dice ${pct(e.bestValAcc)} at epoch ${e.bestEpoch}, ${secs})`;
  }
  if (e.status === 'completed' || e.status === 'early-stopped') {
    return `${head} test ${pct(e.testAcc)} (best val ${pct(e.bestValAcc)} at epoch ${e.bestEpoch}, ${secs})${e.status === 'early-stopped' ? ' early-stopped' : ''}`;
  }
  if (e.status === 'nan') return `${head} NaN — ${e.reason ?? ''}${e.testAcc !== null ? `; best checkpoint before it: test ${pct(e.testAcc)}` : ''} (${secs})`;
  return `${head} ${e.status}${e.reason ? ` — ${e.reason}` : ''}`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** "2 of 5 seeds diverged, 1 failed" for the trainings left out of a result, or ''. */
export function excludedText(r: CompareResultJson): string {
  return excludedWords(r.excluded, r.seeds.filter((x) => x.status !== 'cancelled').length);
}

/**
 * A warning when chosen rates sit on the grid's edge: the best rate may lie beyond it, and
 * a loss that would win further out is not given its chance ('' when none does).
 */
export function gridEdge(grid: readonly number[], choices: readonly LrChoiceJson[]): string {
  const lo = Math.min(...grid);
  const hi = Math.max(...grid);
  const chosen = choices.filter((c) => !c.note);
  const atHi = chosen.filter((c) => c.lr === hi).length;
  const atLo = chosen.filter((c) => c.lr === lo).length;
  const parts = [...(atHi ? [`${atHi} of ${chosen.length} at the largest rate (${hi})`] : []), ...(atLo ? [`${atLo} of ${chosen.length} at the smallest (${lo})`] : [])];
  return parts.length ? `warning: chosen rates on the grid's edge: ${parts.join(', ')}; the best rate may lie beyond it: widen the grid (--tune-lr)` : '';
}

/** The results table of a GAN comparison: FD first (lower is better), then the accuracy on generated digits. */
function formatGanTable(s: CompareSummary): string {
  const lines: string[] = [];
  const ds = s.dataset;
  const clfAcc = s.results.flatMap((r) => r.seeds).find((x) => x.gan?.classifierAccuracy != null)?.gan?.classifierAccuracy;
  lines.push(
    `Compare run ${s.id ?? ''} — ${s.status} (task gan)`.trim(),
    `  dataset ${ds.name ?? ds.spec}${ds.train !== undefined ? ` (train ${ds.train}, test ${ds.test})` : ''} · conditional DCGAN · ${s.epochs} epoch${s.epochs === 1 ? '' : 's'} · seeds ${s.seeds.join(', ')}`,
    `  ${describeBackend(s.backend)} · ${s.finished}/${s.jobs} trainings · wall ${(s.wallMs / 1000).toFixed(1)} s`,
    '',
  );
  const w = Math.max(14, ...s.results.map((r) => r.loss.length + (r.baseline ? 11 : 0))) + 2;
  lines.push(`  ${pad('pair', w)}${pad('FD (lower is better)', 22)}${pad(`Δ FD vs ${s.baseline} [95% CI]`, 28)}${pad('d_z', 8)}${pad('p (Holm)', 10)}${pad('verdict', 15)}${pad('acc. on generated', 22)}${pad('Δ acc. (pp)', 13)}${pad('verdict', 15)}time/run`);
  const f1 = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(1));
  const sg = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
  for (const r of s.results) {
    const g = r.gan;
    const n = g ? g.fd.perSeed.filter((v) => v !== null).length : 0;
    const fd = !g || g.fd.mean === null ? '—' : `${f1(g.fd.mean)} ± ${f1(g.fd.std)} (n=${n})`;
    const v = r.vsBaseline;
    const diff = r.baseline ? '(baseline)' : v.meanDiff === null ? '—' : `${sg(v.meanDiff)}${v.ci95 ? ` [${sg(v.ci95[0])}, ${sg(v.ci95[1])}]` : ''}`;
    const dz = r.baseline || v.dz == null ? '' : v.dz.toFixed(2);
    const pa = r.baseline ? '' : pFormat(v.pAdjusted ?? null);
    const acc = !g || g.genAccuracy.mean === null ? '—' : `${pct(g.genAccuracy.mean, 1)} ± ${g.genAccuracy.std === null ? '—' : (100 * g.genAccuracy.std).toFixed(1)}`;
    const a = g?.genAccuracyVsBaseline;
    const adiff = r.baseline || !a || a.meanDiff === null ? '' : pp(a.meanDiff, 1);
    const t = r.meanWallMs === null ? '—' : `${(r.meanWallMs / 1000).toFixed(1)} s`;
    const flag = excludedText(r);
    lines.push(`  ${pad(`${r.loss}${r.baseline ? ' (baseline)' : ''}`, w)}${pad(fd, 22)}${pad(diff, 28)}${pad(dz, 8)}${pad(pa, 10)}${pad(r.baseline ? '' : (v.verdict ?? ''), 15)}${pad(acc, 22)}${pad(adiff, 13)}${pad(r.baseline ? '' : (a?.verdict ?? ''), 15)}${t}${flag ? `  ${flag}` : ''}`);
  }
  lines.push('', '  accuracy on generated digits per class (mean over seeds):', `  ${pad('pair', w)}${Array.from({ length: 10 }, (_, k) => pad(String(k), 7)).join('')}`);
  for (const r of s.results) lines.push(`  ${pad(r.loss, w)}${(r.gan?.perClassAccuracy ?? []).map((v) => pad(v === null ? '—' : (100 * v).toFixed(0) + '%', 7)).join('')}`);
  lines.push(
    '',
    `FD in the feature space of Lossmith's digit classifier, not Inception FID: the Fréchet distance between the classifier's penultimate-layer features of`,
    `the ${ds.test ?? ''} real test digits and of ${s.gan?.samplesPerClass ?? '?'} generated digits per class (lenet trained once on the embedded digits${clfAcc != null ? `, ${pct(clfAcc, 1)} on the real test digits` : ''}); lower is better; not comparable with published FIDs.`,
    `Acc. on generated: the classifier's accuracy on generated digits (target: the class each was generated for; chance is 10%). Δ: mean paired difference to ${s.baseline}`,
    `on the same seeds (same initial networks, batches and codes), t-based 95% CI; p (Holm): paired t-test adjusted over the run's comparisons (FD and accuracy`,
    `separately). Verdict: better/worse when p (Holm) < 0.05 (for FD, better = lower), no-difference when none was detected, inconclusive under 3 seed pairs.`,
  );
  const minN = Math.min(...s.results.filter((r) => !r.baseline && r.vsBaseline.n > 0).map((r) => r.vsBaseline.n));
  if (Number.isFinite(minN) && minN < 5) lines.push(`Few seeds (n = ${minN}): treat these p-values as indicative and add seeds before concluding.`);
  if (s.error) lines.push(`Error: ${s.error}`);
  return lines.join('\n');
}

/**
 * The results table of a segmentation comparison: Dice (the primary metric: verdicts in
 * percentage points), IoU, HD95 (pixels, lower is better, its own comparison), and a line saying
 * what the data and the metrics are.
 */
function formatSegTable(s: CompareSummary): string {
  const lines: string[] = [];
  const ds = s.dataset;
  const builtin = ds.name === 'digits-clutter' || (ds.name === undefined && ds.spec === 'digits-clutter');
  const size = ds.height !== undefined ? `${ds.height}×${ds.width}` : s.seg && builtin ? `${s.seg.size}×${s.seg.size}` : '';
  const splits = ds.train !== undefined ? `train ${ds.train}, val ${ds.val}, test ${ds.test}` : '';
  const head = [size, splits].filter(Boolean).join(', ');
  lines.push(
    `Compare run ${s.id ?? ''} — ${s.status} (task segmentation)`.trim(),
    `  dataset ${builtin ? 'digits-clutter' : (ds.name ?? ds.spec)}${head ? ` (${head})` : ''} · U-Net${s.seg ? ` (${s.seg.filters} filters)` : ''} · ${s.epochs} epoch${s.epochs === 1 ? '' : 's'} · seeds ${s.seeds.join(', ')}`,
    `  ${describeBackend(s.backend)} · ${s.finished}/${s.jobs} trainings · wall ${(s.wallMs / 1000).toFixed(1)} s`,
    '',
  );
  const w = Math.max(14, ...s.results.map((r) => r.loss.length + (r.baseline ? 11 : 0))) + 2;
  const f2 = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(2));
  const sg2 = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
  const dHead = `Δ Dice vs ${s.baseline} [95% CI] (pp)`;
  const dw = Math.max(30, dHead.length + 2);
  lines.push(
    `  ${pad('loss', w)}${pad('Dice', 22)}${pad('IoU', 17)}${pad('HD95 (px)', 16)}${pad(dHead, dw)}${pad('p (Holm)', 10)}${pad('verdict', 15)}` +
      `${pad('Δ HD95 (px) [95% CI]', 26)}${pad('p (Holm)', 10)}${pad('verdict', 15)}time/run`,
  );
  for (const r of s.results) {
    const g = r.seg;
    const n = g ? g.dice.perSeed.filter((v) => v !== null).length : 0;
    const dice = !g || g.dice.mean === null ? '—' : `${pct(g.dice.mean)} ± ${g.dice.std === null ? '—' : (100 * g.dice.std).toFixed(2)} (n=${n})`;
    const iou = !g || g.iou.mean === null ? '—' : `${pct(g.iou.mean)} ± ${g.iou.std === null ? '—' : (100 * g.iou.std).toFixed(2)}`;
    const hd = !g || g.hd95.mean === null ? '—' : `${f2(g.hd95.mean)} ± ${f2(g.hd95.std)}`;
    const v = r.vsBaseline;
    const diff = r.baseline ? '(baseline)' : v.meanDiff === null ? '—' : `${pp(v.meanDiff)}${v.ci95 ? ` [${pp(v.ci95[0])}, ${pp(v.ci95[1])}]` : ''}`;
    const pa = r.baseline ? '' : pFormat(v.pAdjusted ?? null);
    const h = g?.hd95VsBaseline;
    const hdiff = r.baseline || !h || h.meanDiff === null ? '' : `${sg2(h.meanDiff)}${h.ci95 ? ` [${sg2(h.ci95[0])}, ${sg2(h.ci95[1])}]` : ''}`;
    const hpa = r.baseline || !h ? '' : pFormat(h.pAdjusted ?? null);
    const t = r.meanWallMs === null ? '—' : `${(r.meanWallMs / 1000).toFixed(1)} s`;
    const flag = excludedText(r);
    lines.push(
      `  ${pad(`${r.loss}${r.baseline ? ' (baseline)' : ''}`, w)}${pad(dice, 22)}${pad(iou, 17)}${pad(hd, 16)}${pad(diff, dw)}${pad(pa, 10)}${pad(r.baseline ? '' : (v.verdict ?? ''), 15)}` +
        `${pad(hdiff, 26)}${pad(hpa, 10)}${pad(r.baseline ? '' : (h?.verdict ?? ''), 15)}${t}${flag ? `  ${flag}` : ''}`,
    );
  }
  const fg = ds.foreground !== undefined ? `${(100 * ds.foreground).toFixed(1)}% foreground` : '';
  const test = ds.test !== undefined ? `the ${ds.test} test images` : 'the test images';
  const data = builtin
    ? `Data: digits in clutter: one real MNIST digit (14×14) to segment among fragments of other digits on ${size || '40×40'} canvases${fg ? `, ${fg} (mean over the training masks)` : ''}.`
    : `Data: the folder ${ds.spec}${size ? ` (${size}` : ''}${ds.classes !== undefined ? `${size ? ', ' : ' ('}${ds.classes} classes with the background` : ''}${size || ds.classes !== undefined ? ')' : ''}${fg ? `, ${fg} (mean over the training masks)` : ''}.`;
  lines.push(
    '',
    data,
    `Metrics on ${test} with each training's best-validation-Dice weights, over the foreground classes only (the background is left out): Dice and IoU`,
    `per image and class (1 when prediction and target are both empty), averaged; HD95: the 95th-percentile Hausdorff distance between the predicted and`,
    `the target boundaries in pixels (the image diagonal when only one is empty), lower is better. Mean ± sample std over seeds.`,
    `Δ: mean paired difference to ${s.baseline} on the same seeds (same initial weights and batches), t-based 95% CI, Dice in percentage points;`,
    `p (Holm): paired t-test adjusted over the run's comparisons (Dice and HD95 separately). Verdict: better/worse when p (Holm) < 0.05 (for HD95,`,
    `better = lower), no-difference when none was detected, inconclusive under 3 seed pairs. Only completed trainings count.`,
  );
  const minN = Math.min(...s.results.filter((r) => !r.baseline && r.vsBaseline.n > 0).map((r) => r.vsBaseline.n));
  if (Number.isFinite(minN) && minN < 5) lines.push(`Few seeds (n = ${minN}): treat these p-values as indicative and add seeds before concluding.`);
  const notes = s.results.filter((r) => !r.baseline && r.vsBaseline.note).map((r) => `  ${r.loss}: ${r.vsBaseline.note}`);
  if (notes.length) lines.push('Notes:', ...notes);
  if (s.error) lines.push(`Error: ${s.error}`);
  return lines.join('\n');
}

/** The readable results table. */
export function formatCompareTable(s: CompareSummary): string {
  if (s.task === 'gan') return formatGanTable(s);
  if (s.task === 'segmentation') return formatSegTable(s);
  const lines: string[] = [];
  const ds = s.dataset;
  const be = s.backend;
  lines.push(
    `Compare run ${s.id ?? ''} — ${s.status}`.trim(),
    `  dataset ${ds.name ?? ds.spec}${ds.train !== undefined ? ` (train ${ds.train}, val ${ds.val}, test ${ds.test})` : ''}` +
      `${ds.labelNoise ? `, label noise ${ds.labelNoise}` : ''}${ds.imbalance ? `, imbalance ${ds.imbalance}` : ''}` +
      ` · model ${s.model.kind}${s.model.width ? ` ×${s.model.width}` : ''} · ${s.epochs} epoch${s.epochs === 1 ? '' : 's'} · seeds ${s.seeds.join(', ')}`,
    `  ${describeBackend(be)} · ${s.finished}/${s.jobs} trainings · wall ${(s.wallMs / 1000).toFixed(1)} s`,
  );
  const w = Math.max(14, ...s.results.map((r) => r.loss.length + (r.baseline ? 11 : 0))) + 2;
  if (s.tuning) {
    const t = s.tuning;
    lines.push('', `learning rate, tuned per loss and augmentation on the validation split (mean best val accuracy over tuning seeds ${t.seeds.join(', ')}; * = chosen):`);
    lines.push(`  ${pad('loss', w)}${pad('augmentation', 16)}${t.grid.map((g) => pad(`lr ${g}`, 14)).join('')}`);
    for (const ch of t.choices) {
      const cells = t.grid.map((g, i) => pad(`${ch.valAcc[i] === null ? '—' : pct(ch.valAcc[i])}${g === ch.lr && ch.valAcc[i] !== null ? ' *' : ''}`, 14)).join('');
      lines.push(`  ${pad(ch.loss, w)}${pad(ch.augmentation, 16)}${cells}${ch.note ? `  ${ch.note}` : ''}`);
    }
    const edge = gridEdge(t.grid, t.choices);
    if (edge) lines.push(`  ${edge}`);
  }
  for (const aug of s.augmentations) {
    lines.push('', `augmentation: ${aug}`);
    lines.push(`  ${pad(s.tuning ? 'loss @lr' : 'loss', w + (s.tuning ? 8 : 0))}${pad('test accuracy', 24)}${pad(`Δ vs ${s.baseline} [95% CI] (pp)`, 30)}${pad('d_z [95% CI]', 22)}${pad('p', 9)}${pad('p (Holm)', 10)}${pad('verdict', 15)}time/run`);
    for (const r of s.results.filter((x) => x.augmentation === aug)) {
      const ta = r.testAccuracy;
      const n = ta.perSeed.filter((v) => v !== null).length;
      const acc = ta.mean === null ? '—' : `${pct(ta.mean)} ± ${ta.std === null ? '—' : (100 * ta.std).toFixed(2)} (n=${n})`;
      const v = r.vsBaseline;
      const diff = r.baseline ? '(baseline)' : v.meanDiff === null ? '—' : `${pp(v.meanDiff)}${v.ci95 ? ` [${pp(v.ci95[0])}, ${pp(v.ci95[1])}]` : ''}`;
      const p = r.baseline ? '' : pFormat(v.pValue);
      const dz = r.baseline || v.dz == null ? '' : `${v.dz.toFixed(2)}${v.dzCi95 ? ` [${v.dzCi95[0].toFixed(2)}, ${v.dzCi95[1].toFixed(2)}]` : ''}`;
      const pa = r.baseline ? '' : pFormat(v.pAdjusted ?? null);
      const verdict = r.baseline ? '' : (v.verdict ?? '');
      const t = r.meanWallMs === null ? '—' : `${(r.meanWallMs / 1000).toFixed(1)} s`;
      const flag = excludedText(r);
      const name = `${r.loss}${r.baseline ? ' (baseline)' : ''}${s.tuning && r.lr !== undefined ? ` @${r.lr}` : ''}`;
      lines.push(`  ${pad(name, w + (s.tuning ? 8 : 0))}${pad(acc, 24)}${pad(diff, 30)}${pad(dz, 22)}${pad(p, 9)}${pad(pa, 10)}${pad(verdict, 15)}${t}${flag ? `  ${flag}` : ''}`);
    }
  }
  lines.push(
    '',
    `Test accuracy: mean ± sample std over seeds. Δ: mean paired difference to ${s.baseline} on the same seeds (identical data order, augmentation draws and initial weights),`,
    `percentage points, t-based 95% CI; d_z: standardized effect (mean difference / its std over seeds) with its exact 95% CI (non-central t);`,
    `p: two-sided paired t-test (df = n-1); p (Holm): adjusted over all ${s.results.filter((r) => !r.baseline).length} comparisons of this run.`,
    `Verdict: better/worse when p (Holm) < 0.05, no-difference when none was detected, inconclusive under 3 seed pairs. Only completed trainings count:`,
    `diverged (NaN), failed and early-stopped ones are left out of the means and the pairs. Exact Wilcoxon signed-rank p-values are in summary.json.`,
  );
  const minN = Math.min(...s.results.filter((r) => !r.baseline && r.vsBaseline.n > 0).map((r) => r.vsBaseline.n));
  if (Number.isFinite(minN) && minN < 5) {
    lines.push(
      `Few seeds (n = ${minN}): the t-test's p assumes roughly normal seed-to-seed differences and has ${minN - 1} degree${minN === 2 ? '' : 's'} of freedom,`,
      `and the exact Wilcoxon p cannot go below ${(2 / 2 ** minN).toFixed(3)}; treat these p-values as indicative and add seeds before concluding.`,
    );
  }
  const notes = s.results.filter((r) => !r.baseline && r.vsBaseline.note).map((r) => `  ${r.loss} · ${r.augmentation}: ${r.vsBaseline.note}`);
  if (notes.length) lines.push('Notes:', ...notes);
  if (s.error) lines.push(`Error: ${s.error}`);
  return lines.join('\n');
}
