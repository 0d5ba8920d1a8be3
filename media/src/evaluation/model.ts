/**
 * The evaluation panel's view model (pure; tested without a DOM): the events of a compare run
 * (protocol/run-events.ts) reduced to curves per loss x augmentation x seed, the final table and
 * the run's metadata. Every field is checked where it is read: a malformed event is skipped, a
 * missing number is null, never NaN.
 */
import type { LrChoiceJson, PairedTestJson } from '../../../protocol/run-events';
import { isFiniteNum, isInt, isObj, isStr, numOrNull, strOr, type WireEvent } from '../shared/validate';
import { duration, pct, pp, pValue, toCsv } from '../shared/format';
import { addCompute, computeLine, parseCompute, type ComputeInfo } from '../shared/compute';
import { dzText, excludedText, parseExcluded, parseInterval, parseVerdict, verdictCounts, verdictLegend, verdictPhrase, verdictReason, NO_VERDICTS_LEGEND, VERDICT_WORDS, type Excluded, type Verdict, type VerdictSummary } from '../shared/verdict';

export type RunStatus = 'waiting' | 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted';

export interface EpochPoint {
  epoch: number;
  trainLoss: number | null;
  trainAcc: number | null;
  valAcc: number | null;
  /** GAN runs: the epoch's quick FD and accuracy on generated digits (null elsewhere). */
  fd: number | null;
  genAccuracy: number | null;
  /** Segmentation runs: the validation Dice and IoU after the epoch (null elsewhere). */
  valDice: number | null;
  valIou: number | null;
}

export interface Training {
  loss: string;
  augmentation: string;
  seed: number;
  seedIndex: number;
  epochs: EpochPoint[];
  status: string | null;
  /** Test accuracy (a GAN training: the accuracy on generated digits). */
  testAcc: number | null;
  /** A GAN training's FD. */
  fd: number | null;
  /** A segmentation training's test IoU and HD95 (its Dice is testAcc). */
  iou: number | null;
  hd95: number | null;
  /** The job-queue worker that trained it (host) and which attempt it was; null when it ran locally. */
  worker: { host: string; attempt: number } | null;
}

/** One row of the final table: a result event flattened (its paired test's fields as in the protocol). */
export interface ResultRow extends Pick<PairedTestJson, 'n' | 'meanDiff' | 'ci95' | 'pValue' | 'wilcoxonP' | 'note'> {
  /** Cohen's d_z and its 95% interval (null in runs recorded before it, for the baseline, without spread). */
  dz: number | null;
  dzCi95: [number, number] | null;
  loss: string;
  augmentation: string;
  baseline: boolean;
  mean: number | null;
  std: number | null;
  perSeed: (number | null)[];
  meanWallMs: number | null;
  /** Holm-adjusted p and the verdict (null in runs recorded before them, and for the baseline). */
  pAdjusted: number | null;
  verdict: Verdict | null;
  /** Trainings left out of the mean and the pairs (null in runs recorded before they were). */
  excluded: Excluded | null;
  /** Its trainings that ended (every status but cancelled): the "of 5 seeds" of the exclusions. */
  ended: number;
  /** The learning rate its trainings used (the tuned one under tuning; null in runs recorded before it was written). */
  lr: number | null;
  /** GAN runs: the accuracy on generated digits (mean, s.d.) and its paired difference to the baseline pair; mean/std/perSeed above are FD. */
  gen: { mean: number | null; std: number | null; diff: number | null; pAdjusted: number | null; verdict: Verdict | null } | null;
  /** Segmentation runs: IoU (mean, s.d.) and HD95 in pixels with its paired difference to the baseline; mean/std/perSeed above are Dice. */
  seg: { iou: number | null; iouStd: number | null; hd95: number | null; hd95Std: number | null; hd95Diff: number | null; hd95PAdjusted: number | null; hd95Verdict: Verdict | null } | null;
}

/** One loss and augmentation's choice of learning rate (an `lr-chosen` event), as in the protocol; `note` null when there is none. */
export interface LrChoice extends Omit<LrChoiceJson, 'note'> {
  note: string | null;
}

/** One tuning training that ended (a `tune-end` event). */
export interface TuneEnd {
  loss: string;
  augmentation: string;
  lr: number;
  seed: number;
  status: string;
  bestValAcc: number | null;
}

/** Learning-rate tuning (`compare --tune-lr`): the grid, the tuning seeds, its trainings and the choices. */
export interface Tuning {
  grid: number[];
  seeds: number[];
  /** Tuning trainings planned (compare-start's tuneJobs). */
  jobs: number;
  /** The latest tune-end of each tuning training (loss, augmentation, lr, seed). */
  ended: Map<string, TuneEnd>;
  /** One per loss x augmentation once tuning is over (lr-chosen events). */
  choices: LrChoice[];
}

export interface EvalModel {
  runId: string;
  status: RunStatus;
  /** 'gan' for a GAN comparison (task gan): its metric is FD, lower is better; 'segmentation': Dice (IoU and HD95 beside it). */
  task: 'classification' | 'gan' | 'segmentation';
  /** GAN runs: the digit classifier's accuracy on real test digits (the FD's feature space). */
  classifierAccuracy: number | null;
  created: string | null;
  losses: string[];
  baseline: string;
  dataset: string;
  maxTrain: number | null;
  model: string;
  augmentations: string[];
  seeds: number[];
  epochs: number;
  jobs: number;
  workers: number;
  /** What the trainings ran on (each distinct engine and device a worker reported). */
  backends: ComputeInfo[];
  trainings: Map<string, Training>;
  finished: number;
  /** Learning-rate tuning; null in runs without it (and runs recorded before it existed). */
  tuning: Tuning | null;
  results: ResultRow[];
  wallMs: number | null;
  message: string | null;
  events: number;
  /** The job queue the run's trainings went to (a `queue` event): its URL (password masked) and the workers connected at the start. */
  queue: { url: string; workers: string[] } | null;
}

export function emptyModel(runId: string): EvalModel {
  return {
    runId,
    status: 'waiting',
    task: 'classification',
    classifierAccuracy: null,
    created: null,
    losses: [],
    baseline: 'ce',
    dataset: '',
    maxTrain: null,
    model: '',
    augmentations: [],
    seeds: [],
    epochs: 0,
    jobs: 0,
    workers: 0,
    backends: [],
    trainings: new Map(),
    finished: 0,
    tuning: null,
    results: [],
    wallMs: null,
    message: null,
    events: 0,
    queue: null,
  };
}

const key = (loss: string, aug: string, seedIndex: number): string => `${loss}\u0000${aug}\u0000${seedIndex}`;

function training(m: EvalModel, e: WireEvent): Training | undefined {
  if (!isStr(e.loss, 500) || !isStr(e.augmentation, 500) || !isInt(e.seedIndex, 0, 10_000)) return undefined;
  const k = key(e.loss, e.augmentation, e.seedIndex);
  let t = m.trainings.get(k);
  if (!t) {
    t = { loss: e.loss, augmentation: e.augmentation, seed: isFiniteNum(e.seed) ? e.seed : e.seedIndex + 1, seedIndex: e.seedIndex, epochs: [], status: null, testAcc: null, fd: null, iou: null, hd95: null, worker: null };
    m.trainings.set(k, t);
    if (!m.losses.includes(e.loss) && e.loss !== m.baseline) m.losses.push(e.loss);
    if (!m.augmentations.includes(e.augmentation)) m.augmentations.push(e.augmentation);
  }
  return t;
}

function resultRow(e: WireEvent): ResultRow | undefined {
  if (!isStr(e.loss, 500) || !isStr(e.augmentation, 500)) return undefined;
  const gan = isObj(e.gan) ? e.gan : null;
  // A GAN result: its summary statistic is FD (the paired test in vsBaseline compares FD).
  const acc = gan && isObj(gan.fd) ? gan.fd : isObj(e.testAccuracy) ? e.testAccuracy : {};
  const vs = isObj(e.vsBaseline) ? e.vsBaseline : {};
  const ci = parseInterval(vs.ci95);
  const perSeed = Array.isArray(acc.perSeed) ? acc.perSeed.slice(0, 10_000).map(numOrNull) : [];
  const excluded = parseExcluded(e.excluded);
  const seeds = Array.isArray(e.seeds) ? e.seeds.slice(0, 10_000).filter(isObj) : [];
  const finished = isInt(e.finished, 0, 1e6) ? e.finished : null;
  // As the CLI counts them: the seeds of the result that were not cancelled.
  const ended = seeds.length ? seeds.filter((s) => s.status !== 'cancelled').length : (finished ?? 0) + (excluded ? excluded.nan + excluded.failed + excluded.earlyStopped : 0);
  return {
    loss: e.loss,
    augmentation: e.augmentation,
    baseline: e.baseline === true,
    mean: numOrNull(acc.mean),
    std: numOrNull(acc.std),
    perSeed,
    n: isInt(vs.n, 0, 1e6) ? vs.n : perSeed.filter((v) => v !== null).length,
    meanDiff: numOrNull(vs.meanDiff),
    ci95: ci,
    pValue: numOrNull(vs.pValue),
    wilcoxonP: numOrNull(vs.wilcoxonP),
    dz: numOrNull(vs.dz),
    dzCi95: parseInterval(vs.dzCi95),
    note: isStr(vs.note, 2000) ? vs.note : null,
    meanWallMs: numOrNull(e.meanWallMs),
    pAdjusted: numOrNull(vs.pAdjusted),
    verdict: e.baseline === true ? null : parseVerdict(vs.verdict),
    excluded,
    ended,
    lr: isFiniteNum(e.lr) && e.lr > 0 ? e.lr : null,
    gen: gan ? genStats(gan) : null,
    seg: isObj(e.seg) ? segStats(e.seg) : null,
  };
}

function segStats(seg: Record<string, unknown>): NonNullable<ResultRow['seg']> {
  const iou = isObj(seg.iou) ? seg.iou : {};
  const hd = isObj(seg.hd95) ? seg.hd95 : {};
  const vs = isObj(seg.hd95VsBaseline) ? seg.hd95VsBaseline : {};
  return { iou: numOrNull(iou.mean), iouStd: numOrNull(iou.std), hd95: numOrNull(hd.mean), hd95Std: numOrNull(hd.std), hd95Diff: numOrNull(vs.meanDiff), hd95PAdjusted: numOrNull(vs.pAdjusted), hd95Verdict: parseVerdict(vs.verdict) };
}

function genStats(gan: Record<string, unknown>): NonNullable<ResultRow['gen']> {
  const g = isObj(gan.genAccuracy) ? gan.genAccuracy : {};
  const vs = isObj(gan.genAccuracyVsBaseline) ? gan.genAccuracyVsBaseline : {};
  return { mean: numOrNull(g.mean), std: numOrNull(g.std), diff: numOrNull(vs.meanDiff), pAdjusted: numOrNull(vs.pAdjusted), verdict: parseVerdict(vs.verdict) };
}

const isRate = (x: unknown): x is number => isFiniteNum(x) && x > 0;

function tuning(m: EvalModel): Tuning {
  m.tuning ??= { grid: [], seeds: [], jobs: 0, ended: new Map(), choices: [] };
  return m.tuning;
}

function lrChoice(e: WireEvent): LrChoice | undefined {
  if (!isStr(e.loss, 500) || !isStr(e.augmentation, 500) || !isRate(e.lr)) return undefined;
  const valAcc = Array.isArray(e.valAcc) ? e.valAcc.slice(0, 1000).map(numOrNull) : [];
  const finished = Array.isArray(e.finished) ? e.finished.slice(0, 1000).map((n) => (isInt(n, 0, 1e6) ? n : 0)) : [];
  return { loss: e.loss, augmentation: e.augmentation, lr: e.lr, valAcc, finished, note: isStr(e.note, 2000) ? e.note : null };
}

/** Apply one event (in file order). Unknown or malformed events only count. */
export function reduce(m: EvalModel, e: WireEvent): void {
  m.events++;
  switch (e.type) {
    case 'run-start':
      m.created = strOr(e.created, m.created ?? '', 100) || null;
      if (m.status === 'waiting') m.status = 'running';
      return;
    case 'run-resume':
      m.status = 'running';
      m.message = null;
      return;
    case 'compare-resume':
      // A resumed run: the kept trainings stay; the others start again (seed-start below).
      m.status = 'running';
      m.message = null;
      if (isInt(e.jobs, 0, 1e7)) m.jobs = e.jobs;
      if (isInt(e.workers, 0, 1e4)) m.workers = e.workers;
      return;
    case 'compare-start': {
      m.status = 'running';
      if (isInt(e.jobs, 0, 1e7)) m.jobs = e.jobs;
      if (isInt(e.workers, 0, 1e4)) m.workers = e.workers;
      const c = isObj(e.config) ? e.config : {};
      if (c.task === 'gan' || c.task === 'segmentation') m.task = c.task;
      if (isObj(c.baseline) && isStr(c.baseline.label, 500)) m.baseline = c.baseline.label;
      if (Array.isArray(c.losses)) for (const l of c.losses) if (isObj(l) && isStr(l.label, 500) && !m.losses.includes(l.label)) m.losses.push(l.label);
      if (isObj(c.dataset)) {
        m.dataset = strOr(c.dataset.spec, '', 500);
        m.maxTrain = isInt(c.dataset.maxTrain, 1, 1e9) ? c.dataset.maxTrain : null;
      }
      if (isObj(c.model)) m.model = strOr(c.model.kind, '', 100);
      if (Array.isArray(c.augmentations)) m.augmentations = c.augmentations.filter((a): a is string => isStr(a, 500));
      if (Array.isArray(c.seeds)) m.seeds = c.seeds.filter(isFiniteNum);
      if (isInt(c.epochs, 0, 1e6)) m.epochs = c.epochs;
      const tl = isObj(c.tuneLr) ? c.tuneLr : null;
      if (tl || isInt(e.tuneJobs, 1, 1e7)) {
        const t = tuning(m);
        if (tl && Array.isArray(tl.grid)) t.grid = tl.grid.slice(0, 1000).filter(isRate);
        if (tl && Array.isArray(tl.seeds)) t.seeds = tl.seeds.slice(0, 10_000).filter(isFiniteNum);
        t.jobs = isInt(e.tuneJobs, 0, 1e7) ? e.tuneJobs : t.grid.length * t.seeds.length * Math.max(1, m.augmentations.length) * (m.losses.length + 1);
      }
      return;
    }
    case 'tune-end': {
      if (!isStr(e.loss, 500) || !isStr(e.augmentation, 500) || !isRate(e.lr) || !isFiniteNum(e.seed)) return;
      const t = tuning(m);
      // A tune-end without the run's grid (never written so): its rate joins the grid.
      if (!t.grid.includes(e.lr)) t.grid.push(e.lr);
      // A resumed run trains the unfinished ones again: the latest word on each counts.
      t.ended.set(`${e.loss}\u0000${e.augmentation}\u0000${e.lr}\u0000${e.seed}`, { loss: e.loss, augmentation: e.augmentation, lr: e.lr, seed: e.seed, status: strOr(e.status, 'completed', 40), bestValAcc: numOrNull(e.bestValAcc) });
      return;
    }
    case 'lr-chosen': {
      const c = lrChoice(e);
      if (!c) return;
      const t = tuning(m);
      const i = t.choices.findIndex((q) => q.loss === c.loss && q.augmentation === c.augmentation);
      if (i >= 0) t.choices[i] = c;
      else t.choices.push(c);
      return;
    }
    case 'backend':
      addCompute(m.backends, parseCompute(e.backend));
      return;
    case 'queue': {
      const workers = Array.isArray(e.workers) ? e.workers.slice(0, 1000) : [];
      m.queue = {
        url: strOr(e.url, '', 500),
        workers: workers.filter(isObj).map((w) => {
          const devices = Array.isArray(w.devices) ? w.devices.filter((d): d is string => isStr(d, 200)).join(', ') : '';
          const slots = isInt(w.concurrency, 0, 1e4) ? `${w.concurrency} slot${w.concurrency === 1 ? '' : 's'}` : '';
          return `${strOr(w.host, '?', 200)} (${[strOr(w.engine, '', 20), devices, slots].filter(Boolean).join('; ')})`;
        }),
      };
      return;
    }
    case 'seed-start': {
      // A training that starts again (in a resumed run) replaces its unfinished attempt.
      const t = training(m, e);
      if (t && (t.status === null || t.status === 'cancelled' || t.status === 'failed')) {
        t.status = null;
        t.testAcc = null;
        t.epochs = [];
      }
      return;
    }
    case 'epoch': {
      const t = training(m, e);
      if (!t || !isInt(e.epoch, 0, 1e6)) return;
      const g = isObj(e.gan) ? e.gan : {};
      const sg = isObj(e.seg) ? e.seg : {};
      const p: EpochPoint = {
        epoch: e.epoch,
        trainLoss: numOrNull(e.trainLoss),
        trainAcc: numOrNull(e.trainAcc),
        valAcc: numOrNull(e.valAcc),
        fd: numOrNull(g.fd),
        genAccuracy: numOrNull(g.genAccuracy),
        valDice: numOrNull(sg.valDice),
        valIou: numOrNull(sg.valIou),
      };
      const i = t.epochs.findIndex((q) => q.epoch === p.epoch);
      if (i >= 0) t.epochs[i] = p;
      else t.epochs.push(p);
      t.epochs.sort((a, b) => a.epoch - b.epoch);
      return;
    }
    case 'seed-end': {
      const t = training(m, e);
      if (!t) return;
      const st = strOr(e.status, 'completed', 40);
      // Finished: trained to the end (completed, or stopped by NaN / early stopping); a
      // cancelled or failed training is not.
      if (t.status === null && st !== 'cancelled' && st !== 'failed') m.finished++;
      t.status = st;
      t.testAcc = numOrNull(e.testAcc);
      if (isObj(e.seg)) {
        t.iou = numOrNull(e.seg.iou);
        t.hd95 = numOrNull(e.seg.hd95);
      }
      if (isObj(e.gan)) {
        t.fd = numOrNull(e.gan.fd);
        if (isFiniteNum(e.gan.classifierAccuracy)) m.classifierAccuracy = e.gan.classifierAccuracy;
      }
      t.worker = isObj(e.worker) && isStr(e.worker.host, 200) ? { host: e.worker.host, attempt: isInt(e.worker.attempt, 1, 1e4) ? e.worker.attempt : 1 } : null;
      return;
    }
    case 'result': {
      const r = resultRow(e);
      if (!r) return;
      const i = m.results.findIndex((q) => q.loss === r.loss && q.augmentation === r.augmentation);
      if (i >= 0) m.results[i] = r;
      else m.results.push(r);
      return;
    }
    case 'run-end':
      m.status = 'done';
      m.wallMs = numOrNull(e.wallMs);
      return;
    case 'run-cancelled':
      m.status = 'cancelled';
      m.wallMs = numOrNull(e.wallMs);
      m.message = `Cancelled (${strOr(e.reason, 'by the user', 500)}); ${isInt(e.finished, 0, 1e7) ? e.finished : m.finished} finished training(s) kept.`;
      return;
    case 'run-failed':
      m.status = 'failed';
      m.wallMs = numOrNull(e.wallMs);
      m.message = `Failed: ${strOr(e.error, 'unknown error', 2000)}`;
      return;
  }
}

/** Tuning trainings that ended (every status but cancelled). */
export function tuneDone(m: EvalModel): number {
  let n = 0;
  for (const t of m.tuning?.ended.values() ?? []) if (t.status !== 'cancelled') n++;
  return n;
}

/** Whether the run is still tuning learning rates: tuning planned, no rate chosen and no test training begun. */
export function isTuning(m: EvalModel): boolean {
  return !!m.tuning && m.tuning.jobs > 0 && m.tuning.choices.length === 0 && m.trainings.size === 0;
}

/**
 * Progress in [0, 1]: finished trainings plus the epochs of running ones, over the grid; the
 * tuning trainings before them count as whole trainings (their epochs are not reported).
 */
export function progress(m: EvalModel): number {
  if (m.status === 'done') return 1;
  const tuneJobs = m.tuning?.jobs ?? 0;
  if (!(m.jobs + tuneJobs) || !m.epochs) return 0;
  let epochs = Math.min(tuneDone(m), tuneJobs) * m.epochs;
  for (const t of m.trainings.values()) epochs += t.status !== null && t.status !== 'cancelled' ? m.epochs : Math.min(m.epochs, t.epochs.length);
  return Math.max(0, Math.min(1, epochs / ((m.jobs + tuneJobs) * m.epochs)));
}

/** What is done, in words: "tuning learning rates: 3 of 8 trainings" while tuning, else "2 of 6 trainings". */
export function progressDetail(m: EvalModel): string {
  if (isTuning(m)) return `tuning learning rates: ${tuneDone(m)} of ${m.tuning!.jobs} trainings`;
  return `${m.finished} of ${m.jobs || '?'} trainings`;
}

/** All losses in display order: the baseline first. */
export function lossOrder(m: EvalModel): string[] {
  const seen = new Set<string>();
  for (const t of m.trainings.values()) seen.add(t.loss);
  for (const r of m.results) seen.add(r.loss);
  const rest = m.losses.filter((l) => l !== m.baseline);
  for (const l of seen) if (l !== m.baseline && !rest.includes(l)) rest.push(l);
  return [m.baseline, ...rest].filter((l) => seen.has(l) || m.losses.includes(l) || l === m.baseline);
}

export type Metric = 'trainLoss' | 'valAcc' | 'trainAcc' | 'fd' | 'genAccuracy' | 'valDice' | 'valIou';
export const METRIC_LABEL: Record<Metric, string> = {
  trainLoss: 'Training loss',
  valAcc: 'Validation accuracy',
  trainAcc: 'Training accuracy',
  fd: 'FD (quick, per epoch)',
  genAccuracy: 'Accuracy on generated digits',
  valDice: 'Validation Dice',
  valIou: 'Validation IoU',
};

export interface CurveSeries {
  loss: string;
  /** Index of the loss in lossOrder (colour). */
  colorIndex: number;
  kind: 'mean' | 'seed';
  seed?: number;
  y: (number | null)[];
  /** mean ± 1 s.d. over seeds (kind 'mean', where 2+ seeds have the epoch). */
  lo?: (number | null)[];
  hi?: (number | null)[];
}

export interface CurveData {
  x: number[];
  series: CurveSeries[];
}

/** Curves of one metric for one augmentation: per loss the mean over seeds with a ±1 s.d. band, and optionally each seed. */
export function curves(m: EvalModel, augmentation: string, metric: Metric, showSeeds: boolean): CurveData {
  let maxEpoch = m.epochs;
  for (const t of m.trainings.values()) for (const p of t.epochs) maxEpoch = Math.max(maxEpoch, p.epoch);
  const x = Array.from({ length: maxEpoch }, (_, i) => i + 1);
  const series: CurveSeries[] = [];
  lossOrder(m).forEach((loss, colorIndex) => {
    const ts = [...m.trainings.values()].filter((t) => t.loss === loss && t.augmentation === augmentation).sort((a, b) => a.seedIndex - b.seedIndex);
    if (!ts.length) return;
    const at = (t: Training, ep: number): number | null => t.epochs.find((p) => p.epoch === ep)?.[metric] ?? null;
    const mean: (number | null)[] = [];
    const lo: (number | null)[] = [];
    const hi: (number | null)[] = [];
    for (const ep of x) {
      const vs = ts.map((t) => at(t, ep)).filter((v): v is number => v !== null);
      if (!vs.length) {
        mean.push(null);
        lo.push(null);
        hi.push(null);
        continue;
      }
      const mu = vs.reduce((a, b) => a + b, 0) / vs.length;
      mean.push(mu);
      if (vs.length >= 2) {
        const sd = Math.sqrt(vs.reduce((a, b) => a + (b - mu) ** 2, 0) / (vs.length - 1));
        lo.push(mu - sd);
        hi.push(mu + sd);
      } else {
        lo.push(null);
        hi.push(null);
      }
    }
    series.push({ loss, colorIndex, kind: 'mean', y: mean, lo, hi });
    if (showSeeds) for (const t of ts) series.push({ loss, colorIndex, kind: 'seed', seed: t.seed, y: x.map((ep) => at(t, ep)) });
  });
  return { x, series };
}

export interface TableRow {
  loss: string;
  augmentation: string;
  baseline: boolean;
  provisional: boolean;
  cells: { lr: string; mean: string; std: string; n: string; diff: string; ci: string; dz: string; p: string; pAdjusted: string; verdict: string; wilcoxon: string; time: string; excluded: string; gen: string; seg: string };
  /** The run's verdict on the comparison with the baseline (null: the baseline, a provisional row, a run recorded before verdicts). */
  verdict: Verdict | null;
  /** Why (the verdict cell's tooltip; '' for the baseline and provisional rows). */
  verdictTitle: string;
  note: string | null;
  raw: ResultRow;
}

/** The rate chosen for a loss and augmentation (null before the choice or without tuning). */
function chosenLr(m: EvalModel, loss: string, augmentation: string): number | null {
  return m.tuning?.choices.find((c) => c.loss === loss && c.augmentation === augmentation)?.lr ?? null;
}

/** Mean and sample s.d. (null where undefined). */
function meanStd(xs: number[]): [number | null, number | null] {
  const mean = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  const std = xs.length >= 2 && mean !== null ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : null;
  return [mean, std];
}

function provisionalRows(m: EvalModel): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const aug of m.augmentations) {
    for (const loss of lossOrder(m)) {
      // As the run's results will: only completed trainings enter the mean, the others are counted.
      const ended = [...m.trainings.values()].filter((t) => t.loss === loss && t.augmentation === aug && t.status !== null && t.status !== 'cancelled');
      if (!ended.length) continue;
      const count = (status: string): number => ended.filter((t) => t.status === status).length;
      const done = ended.filter((t) => t.status === 'completed');
      // A GAN run's rows are FD; the accuracy on generated digits goes beside it.
      const accs = done.map((t) => (m.task === 'gan' ? t.fd : t.testAcc)).filter((v): v is number => v !== null);
      const [mean, std] = meanStd(accs);
      const gens = m.task === 'gan' ? done.map((t) => t.testAcc).filter((v): v is number => v !== null) : [];
      const [genMean, genStd] = meanStd(gens);
      const [iou, iouStd] = meanStd(done.map((t) => t.iou).filter((v): v is number => v !== null));
      const [hd95, hd95Std] = meanStd(done.map((t) => t.hd95).filter((v): v is number => v !== null));
      rows.push({
        loss,
        augmentation: aug,
        baseline: loss === m.baseline,
        mean,
        std,
        perSeed: accs,
        n: accs.length,
        meanDiff: null,
        ci95: null,
        pValue: null,
        wilcoxonP: null,
        dz: null,
        dzCi95: null,
        note: null,
        meanWallMs: null,
        pAdjusted: null,
        verdict: null,
        excluded: { nan: count('nan'), failed: count('failed'), earlyStopped: count('early-stopped') },
        ended: ended.length,
        lr: chosenLr(m, loss, aug),
        gen: m.task === 'gan' ? { mean: genMean, std: genStd, diff: null, pAdjusted: null, verdict: null } : null,
        seg: m.task === 'segmentation' ? { iou, iouStd, hd95, hd95Std, hd95Diff: null, hd95PAdjusted: null, hd95Verdict: null } : null,
      });
    }
  }
  return rows;
}

/** Rows by augmentation, then loss (the baseline first). */
function inTableOrder(m: EvalModel, rows: readonly ResultRow[]): ResultRow[] {
  const order = lossOrder(m);
  return [...rows].sort((a, b) => m.augmentations.indexOf(a.augmentation) - m.augmentations.indexOf(b.augmentation) || order.indexOf(a.loss) - order.indexOf(b.loss));
}

/** The final table (from result events), or provisional rows from finished seeds while none arrived. */
/** A GAN comparison's verdict in FD units ("better (FD -67.9, p_adj = 0.031)"). */
function ganVerdictPhrase(r: ResultRow): string {
  if (!r.verdict) return '—';
  if (r.verdict === 'inconclusive') return `inconclusive (${r.n} seed pair${r.n === 1 ? '' : 's'})`;
  return `${VERDICT_WORDS[r.verdict]} (FD ${fdText(r.meanDiff, true)}${r.pAdjusted === null ? '' : `, p_adj ${pValue(r.pAdjusted)}`})`;
}

function ganVerdictReason(r: ResultRow, baseline: string): string {
  const pa = `p (Holm) ${pValue(r.pAdjusted)}`;
  if (r.verdict === 'better' || r.verdict === 'worse') return `${r.verdict} than ${baseline}: FD ${fdText(r.meanDiff, true)} (lower is better), ${pa}`;
  if (r.verdict === 'no-difference') return `no difference in FD from ${baseline} detected: ${pa} (not a proof of equality)`;
  return verdictReason(r, baseline);
}

/** An FD value (or a signed difference of two). */
function fdText(v: number | null, signed = false): string {
  if (v === null) return '—';
  return `${signed && v > 0 ? '+' : ''}${v.toFixed(1)}`;
}

/** A segmentation row's IoU and HD95 (mean ± s.d.), and HD95's difference to the baseline with its verdict. */
function segText(r: ResultRow): string {
  const g = r.seg;
  if (!g) return '—';
  const iou = `IoU ${pct(g.iou)}${g.iouStd === null ? '' : ` ± ${(g.iouStd * 100).toFixed(1)}`}`;
  const hd = `HD95 ${g.hd95 === null ? '—' : g.hd95.toFixed(2)}${g.hd95Std === null ? '' : ` ± ${g.hd95Std.toFixed(2)}`} px`;
  const vs = r.baseline || g.hd95Diff === null ? '' : ` (${g.hd95Diff > 0 ? '+' : ''}${g.hd95Diff.toFixed(2)} px${g.hd95Verdict ? `, ${VERDICT_WORDS[g.hd95Verdict]}` : ''})`;
  return `${iou} · ${hd}${vs}`;
}

/** A GAN row's accuracy on generated digits: mean ± s.d., and its difference to the baseline pair with the verdict. */
function genText(r: ResultRow): string {
  const g = r.gen;
  if (!g) return '—';
  const base = `${pct(g.mean)}${g.std === null ? '' : ` ± ${(g.std * 100).toFixed(1)}`}`;
  if (r.baseline || g.diff === null) return base;
  return `${base} (${pp(g.diff)}${g.verdict ? `, ${VERDICT_WORDS[g.verdict]}` : ''})`;
}

export function table(m: EvalModel): TableRow[] {
  const gan = m.task === 'gan';
  const provisional = m.results.length === 0;
  return inTableOrder(m, provisional ? provisionalRows(m) : m.results).map((r) => {
    const seedsTotal = m.seeds.length || r.perSeed.length;
    const tested = !r.baseline && !provisional;
    // Under two seed pairs there is no test: say so rather than print a Wilcoxon p of 1.
    const untestable = tested && r.n < 2;
    const noTest = `no test (${r.n} seed pair${r.n === 1 ? '' : 's'})`;
    return {
      loss: r.loss,
      augmentation: r.augmentation,
      baseline: r.baseline,
      provisional,
      verdict: tested ? r.verdict : null,
      verdictTitle: tested ? (gan ? ganVerdictReason(r, m.baseline) : verdictReason(r, m.baseline)) : '',
      note: r.note,
      raw: r,
      cells: {
        lr: r.lr === null ? '—' : String(r.lr),
        mean: gan ? fdText(r.mean) : pct(r.mean),
        std: r.std === null ? '—' : gan ? fdText(r.std) : `${(r.std * 100).toFixed(2)} pp`,
        n: provisional ? `${r.n} of ${seedsTotal}` : String(r.baseline ? r.perSeed.filter((v) => v !== null).length : r.n),
        diff: r.baseline ? 'baseline' : gan ? fdText(r.meanDiff, true) : pp(r.meanDiff),
        ci: r.ci95 && !r.baseline ? (gan ? `[${fdText(r.ci95[0], true)}, ${fdText(r.ci95[1], true)}]` : `[${pp(r.ci95[0])}, ${pp(r.ci95[1])}]`) : '—',
        dz: r.baseline ? '—' : dzText(r),
        p: r.baseline ? '—' : untestable ? noTest : pValue(r.pValue),
        pAdjusted: r.baseline ? '—' : untestable ? '—' : pValue(r.pAdjusted),
        verdict: tested && r.verdict ? VERDICT_WORDS[r.verdict] : '—',
        wilcoxon: r.baseline || untestable ? '—' : pValue(r.wilcoxonP),
        time: duration(r.meanWallMs),
        // '—': a run recorded before the exclusions were counted.
        excluded: r.excluded ? excludedText(r.excluded, r.ended) || 'none' : '—',
        gen: genText(r),
        seg: segText(r),
      },
    };
  });
}

export const TABLE_HEADER = ['Loss', 'Augmentation', 'Test accuracy (mean)', 'S.d.', 'Seeds', 'Difference to baseline', '95% CI', 'd_z [95% CI]', 'p (paired t)', 'p (Holm)', 'Verdict', 'p (Wilcoxon)', 'Time per training', 'Left out'];
/** Where a run with tuning shows each row's learning rate: after the augmentation. */
const LR_COLUMN = 2;

/** The final table's header: with a "Learning rate" column when the run tuned its rates. */
export function tableHeader(m: EvalModel): string[] {
  const h = [...TABLE_HEADER];
  if (m.task === 'gan') {
    h[2] = 'FD (mean; lower is better)';
    h[5] = 'Difference in FD';
    h.push('Accuracy on generated digits');
  }
  if (m.task === 'segmentation') {
    h[2] = 'Test Dice (mean)';
    h[5] = 'Difference in Dice';
    h.push('IoU · HD95 (lower is better)');
  }
  if (m.tuning) h.splice(LR_COLUMN, 0, 'Learning rate');
  return h;
}

/** What FD is here (every place that shows it says so). */
export function fdNote(m: EvalModel): string {
  return `FD is the Fréchet distance in the feature space of Lossmith's digit classifier${m.classifierAccuracy === null ? '' : ` (lenet, ${pct(m.classifierAccuracy)} on the real test digits)`} between real test digits and generated ones, not Inception FID: lower is better, not comparable with published FIDs. Accuracy on generated digits: the classifier's, against the class each digit was generated for (chance 10%).`;
}

/** What the segmentation metrics are (the table's legend and the metadata say so). */
export const SEG_NOTE =
  "Dice and IoU of the predicted masks (argmax per pixel) on the test images, over the foreground classes, with each training's best-validation-Dice weights; HD95 is the 95th-percentile Hausdorff distance between the predicted and target boundaries in pixels (lower is better; the image diagonal where only one of them is empty). Verdicts are on Dice.";

/** The line under the table: Holm's adjustment and the verdict rule (as under the CLI's table), or why there is none. */
export function tableLegend(m: EvalModel): string {
  const rows = table(m);
  if (!rows.length) return '';
  if (m.task === 'gan') return `${fdNote(m)} ${legendWithoutGan(m, rows)}`;
  if (m.task === 'segmentation') return `${SEG_NOTE} ${legendWithoutGan(m, rows)}`;
  return legendWithoutGan(m, rows);
}

function legendWithoutGan(m: EvalModel, rows: TableRow[]): string {
  if (rows[0].provisional) return 'Only completed trainings count: diverged (NaN), failed and early-stopped ones are left out. The paired tests, p (Holm) and the verdicts come when the run ends.';
  const tested = rows.filter((r) => !r.baseline);
  if (!tested.some((r) => r.raw.verdict !== null || r.raw.pAdjusted !== null)) return NO_VERDICTS_LEGEND;
  return verdictLegend(tested.length);
}

export interface LrCell {
  /** "80.83%", "66.97% (1 of 2 seeds)", '—' where no tuning training completed. */
  text: string;
  /** The rate the loss's test trainings use. */
  chosen: boolean;
  /** The cell in a sentence (its tooltip). */
  title: string;
}

export interface LrRow {
  loss: string;
  augmentation: string;
  baseline: boolean;
  /** No rate chosen yet: the means of the tuning trainings finished so far. */
  provisional: boolean;
  /** One per grid rate (the order of `lrHeader`). */
  cells: LrCell[];
  /** "0.01"; '—' before the choice; with the note when no grid point completed. */
  chosen: string;
  note: string | null;
}

/** The learning-rate table's header: a column per grid rate. */
export function lrHeader(m: EvalModel): string[] {
  return ['Loss', 'Augmentation', ...(m.tuning?.grid ?? []).map((g) => `lr ${g}`), 'Chosen rate'];
}

/**
 * The learning-rate table of a run with tuning (empty without): per loss x augmentation the mean
 * best validation accuracy at each grid rate, from the lr-chosen events, or while tuning runs
 * from the tuning trainings finished so far (completed ones only, as the engine chooses).
 */
export function lrTable(m: EvalModel): LrRow[] {
  const t = m.tuning;
  if (!t) return [];
  const nSeeds = t.seeds.length;
  const rows: LrRow[] = [];
  for (const aug of m.augmentations) {
    for (const loss of lossOrder(m)) {
      const choice = t.choices.find((c) => c.loss === loss && c.augmentation === aug);
      const ended = [...t.ended.values()].filter((x) => x.loss === loss && x.augmentation === aug);
      if (!choice && !ended.length && !isTuning(m)) continue;
      const cells = t.grid.map((lr, i): LrCell => {
        let mean: number | null;
        let n: number;
        if (choice) {
          mean = choice.valAcc[i] ?? null;
          n = choice.finished[i] ?? 0;
        } else {
          const vals = ended.filter((x) => x.lr === lr && x.status === 'completed' && x.bestValAcc !== null).map((x) => x.bestValAcc as number);
          n = vals.length;
          mean = n ? vals.reduce((a, v) => a + v, 0) / n : null;
        }
        const chosen = !!choice && choice.lr === lr && mean !== null;
        const of = nSeeds && n < nSeeds ? ` (${n} of ${nSeeds} seeds)` : '';
        return {
          text: mean === null ? '—' : `${pct(mean)}${of}${chosen ? ', chosen' : ''}`,
          chosen,
          title: mean === null ? `lr ${lr}: no tuning training completed${choice ? '' : ' yet'}` : `lr ${lr}: mean best validation accuracy ${pct(mean)} over ${n} tuning seed${n === 1 ? '' : 's'}${chosen ? ' (the rate chosen)' : ''}`,
        };
      });
      rows.push({
        loss,
        augmentation: aug,
        baseline: loss === m.baseline,
        provisional: !choice,
        cells,
        chosen: choice ? `${choice.lr}${choice.note ? ` (${choice.note})` : ''}` : '—',
        note: choice?.note ?? null,
      });
    }
  }
  return rows;
}

/** The line under the learning-rate table. */
export function lrLegend(m: EvalModel): string {
  const t = m.tuning;
  if (!t) return '';
  const how = `Mean best validation accuracy over the tuning seeds ${t.seeds.join(', ')} (never the test seeds), on the validation split; diverged, failed and early-stopped tuning trainings are left out.`;
  if (lrTable(m).some((r) => r.provisional)) return `${how} The rates are chosen when every tuning training has finished.`;
  return `${how} Each loss's test trainings use the rate with the best mean (in bold, marked "chosen").`;
}

/** The table as CSV, with raw numbers (fractions) rather than formatted text; the verdict as in summary.json; `lr` empty in runs recorded before it was written. */
export function tableCsv(m: EvalModel): string {
  const rows = table(m).map((r) => [
    r.loss,
    r.augmentation,
    r.raw.lr,
    r.raw.mean,
    r.raw.std,
    r.raw.n,
    r.baseline ? null : r.raw.meanDiff,
    r.baseline ? null : r.raw.ci95?.[0] ?? null,
    r.baseline ? null : r.raw.ci95?.[1] ?? null,
    r.baseline ? null : r.raw.dz,
    r.baseline ? null : r.raw.dzCi95?.[0] ?? null,
    r.baseline ? null : r.raw.dzCi95?.[1] ?? null,
    r.baseline ? null : r.raw.pValue,
    r.baseline ? null : r.raw.pAdjusted,
    r.verdict,
    r.baseline ? null : r.raw.wilcoxonP,
    r.raw.meanWallMs === null ? null : Math.round(r.raw.meanWallMs),
    r.raw.excluded?.nan ?? null,
    r.raw.excluded?.failed ?? null,
    r.raw.excluded?.earlyStopped ?? null,
    r.raw.perSeed.map((v) => (v === null ? '' : String(v))).join(' '),
    ...(m.task === 'segmentation' ? [r.raw.seg?.iou ?? null, r.raw.seg?.hd95 ?? null, r.baseline ? null : r.raw.seg?.hd95Diff ?? null] : []),
  ]);
  const extra = m.task === 'segmentation' ? ['iou_mean', 'hd95_mean', 'hd95_diff_vs_baseline'] : [];
  return toCsv(['loss', 'augmentation', 'lr', ...(m.task === 'segmentation' ? ['test_dice_mean', 'test_dice_std'] : ['test_acc_mean', 'test_acc_std']), 'n', 'diff_vs_baseline', 'ci95_lo', 'ci95_hi', 'dz', 'dz_ci95_lo', 'dz_ci95_hi', 'p_paired_t', 'p_holm', 'verdict', 'p_wilcoxon', 'ms_per_training', 'excluded_nan', 'excluded_failed', 'excluded_early_stopped', 'per_seed', ...extra], rows);
}

/**
 * The verdicts of a finished run's comparisons ('focal: better (+1.20 pp, p_adj = 0.010)', '@0.01'
 * after the loss when its rate was tuned, '· cutout' when the run has several augmentations, the
 * exclusions after a ';'), or null
 * before its results or in a run recorded before verdicts.
 */
export function verdictSummary(m: EvalModel): VerdictSummary | null {
  const tested = m.results.filter((r) => !r.baseline);
  if (!tested.some((r) => r.verdict !== null)) return null;
  const augs = new Set(m.results.map((r) => r.augmentation));
  const lines: string[] = [];
  for (const r of inTableOrder(m, m.results)) {
    // "focal @0.01": the tuned rate, as the CLI writes it.
    const name = `${r.loss}${m.tuning && r.lr !== null ? ` @${r.lr}` : ''}${augs.size > 1 ? ` · ${r.augmentation}` : ''}`;
    const left = excludedText(r.excluded, r.ended);
    if (r.baseline) {
      if (left) lines.push(`${name} (baseline): ${left}`);
    } else lines.push(`${name}: ${m.task === 'gan' ? ganVerdictPhrase(r) : m.task === 'segmentation' ? verdictPhrase(r).replace(/^([a-z -]+) \((?=[-+])/, '$1 (Dice ') : verdictPhrase(r)}${left ? `; ${left}` : ''}`);
  }
  return { short: verdictCounts(tested.map((r) => r.verdict)), lines };
}

/** Where the trainings ran, for a queued run: each worker host with its trainings (and retries). */
function ranOn(m: EvalModel): string | null {
  const hosts = new Map<string, { n: number; retried: number }>();
  for (const t of m.trainings.values()) {
    if (!t.worker) continue;
    const h = hosts.get(t.worker.host) ?? { n: 0, retried: 0 };
    h.n++;
    if (t.worker.attempt > 1) h.retried++;
    hosts.set(t.worker.host, h);
  }
  if (!hosts.size) return null;
  return [...hosts].map(([host, h]) => `${host}: ${h.n} training${h.n === 1 ? '' : 's'}${h.retried ? ` (${h.retried} after a retry)` : ''}`).join(', ');
}

function tuningLine(t: Tuning, done: number): string {
  return `${t.grid.map(String).join(', ') || '—'} on tuning seeds ${t.seeds.join(', ') || '—'} · ${done} of ${t.jobs || '?'} tuning trainings`;
}

/** Metadata lines (label, value) for the header (a line on learning-rate tuning when the run has it). */
export function metadata(m: EvalModel): [string, string][] {
  return [
    ['Run', m.runId],
    ['Status', m.status],
    ['Engine', m.backends.length ? m.backends.map(computeLine).join('; ') : m.status === 'running' || m.status === 'waiting' ? 'not reported yet' : '—'],
    ['Dataset', m.dataset ? `${m.dataset}${m.maxTrain ? ` (${m.maxTrain} training examples)` : ''}` : '—'],
    [
      'Model',
      m.task === 'gan'
        ? `${m.model === 'dcgan' ? 'class-conditional DCGAN' : m.model || '—'} (task gan: each loss is a generator/discriminator pair)`
        : m.task === 'segmentation'
          ? `${m.model === 'unet' ? 'U-Net' : m.model || '—'} (task segmentation)`
          : m.model || '—',
    ],
    ...(m.task === 'segmentation' ? [['Metrics', 'Dice (verdicts), IoU and HD95 on the test images, foreground classes'] as [string, string]] : []),
    ...(m.task === 'gan' ? [['Metrics', `FD in the feature space of Lossmith's digit classifier${m.classifierAccuracy === null ? '' : ` (${pct(m.classifierAccuracy)} on real test digits)`}, not Inception FID; accuracy on generated digits`] as [string, string]] : []),
    ['Augmentations', m.augmentations.join(', ') || '—'],
    ['Seeds × epochs', m.seeds.length ? `${m.seeds.length} × ${m.epochs}` : '—'],
    ...(m.tuning ? [['Learning-rate tuning', tuningLine(m.tuning, tuneDone(m))] as [string, string]] : []),
    ['Trainings', `${m.finished} of ${m.jobs || '?'}`],
    ...(m.queue ? [['Job queue', `${m.queue.url || '—'}; ${m.queue.workers.length ? `workers at the start: ${m.queue.workers.join(', ')}` : 'no worker connected at the start'}`] as [string, string]] : []),
    ...(ranOn(m) ? [['Ran on', ranOn(m)!] as [string, string]] : []),
    ['Started', m.created ? m.created.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—'],
    ['Wall time', duration(m.wallMs)],
  ];
}
