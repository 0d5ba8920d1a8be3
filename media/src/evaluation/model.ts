/**
 * The evaluation panel's view model (pure; tested without a DOM): the events of a compare run
 * (protocol/run-events.ts) reduced to curves per loss x augmentation x seed, the final table and
 * the run's metadata. Every field is checked where it is read: a malformed event is skipped, a
 * missing number is null, never NaN.
 */
import type { PairedTestJson } from '../../../protocol/run-events';
import { isFiniteNum, isInt, isObj, isStr, numOrNull, strOr, type WireEvent } from '../shared/validate';
import { duration, pct, pp, pValue, toCsv } from '../shared/format';
import { addCompute, computeLine, parseCompute, type ComputeInfo } from '../shared/compute';

export type RunStatus = 'waiting' | 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted';

export interface EpochPoint {
  epoch: number;
  trainLoss: number | null;
  trainAcc: number | null;
  valAcc: number | null;
}

export interface Training {
  loss: string;
  augmentation: string;
  seed: number;
  seedIndex: number;
  epochs: EpochPoint[];
  status: string | null;
  testAcc: number | null;
}

/** One row of the final table: a result event flattened (its paired test's fields as in the protocol). */
export interface ResultRow extends Pick<PairedTestJson, 'n' | 'meanDiff' | 'ci95' | 'pValue' | 'wilcoxonP' | 'note'> {
  loss: string;
  augmentation: string;
  baseline: boolean;
  mean: number | null;
  std: number | null;
  perSeed: (number | null)[];
  meanWallMs: number | null;
}

export interface EvalModel {
  runId: string;
  status: RunStatus;
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
  results: ResultRow[];
  wallMs: number | null;
  message: string | null;
  events: number;
}

export function emptyModel(runId: string): EvalModel {
  return {
    runId,
    status: 'waiting',
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
    results: [],
    wallMs: null,
    message: null,
    events: 0,
  };
}

const key = (loss: string, aug: string, seedIndex: number): string => `${loss}\u0000${aug}\u0000${seedIndex}`;

function training(m: EvalModel, e: WireEvent): Training | undefined {
  if (!isStr(e.loss, 500) || !isStr(e.augmentation, 500) || !isInt(e.seedIndex, 0, 10_000)) return undefined;
  const k = key(e.loss, e.augmentation, e.seedIndex);
  let t = m.trainings.get(k);
  if (!t) {
    t = { loss: e.loss, augmentation: e.augmentation, seed: isFiniteNum(e.seed) ? e.seed : e.seedIndex + 1, seedIndex: e.seedIndex, epochs: [], status: null, testAcc: null };
    m.trainings.set(k, t);
    if (!m.losses.includes(e.loss) && e.loss !== m.baseline) m.losses.push(e.loss);
    if (!m.augmentations.includes(e.augmentation)) m.augmentations.push(e.augmentation);
  }
  return t;
}

function resultRow(e: WireEvent): ResultRow | undefined {
  if (!isStr(e.loss, 500) || !isStr(e.augmentation, 500)) return undefined;
  const acc = isObj(e.testAccuracy) ? e.testAccuracy : {};
  const vs = isObj(e.vsBaseline) ? e.vsBaseline : {};
  const ci = Array.isArray(vs.ci95) && vs.ci95.length === 2 && vs.ci95.every(isFiniteNum) ? ([vs.ci95[0], vs.ci95[1]] as [number, number]) : null;
  const perSeed = Array.isArray(acc.perSeed) ? acc.perSeed.slice(0, 10_000).map(numOrNull) : [];
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
    note: isStr(vs.note, 2000) ? vs.note : null,
    meanWallMs: numOrNull(e.meanWallMs),
  };
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
      return;
    }
    case 'backend':
      addCompute(m.backends, parseCompute(e.backend));
      return;
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
      const p: EpochPoint = { epoch: e.epoch, trainLoss: numOrNull(e.trainLoss), trainAcc: numOrNull(e.trainAcc), valAcc: numOrNull(e.valAcc) };
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

/** Progress in [0, 1]: finished trainings plus the epochs of running ones, over the grid. */
export function progress(m: EvalModel): number {
  if (m.status === 'done') return 1;
  if (!m.jobs || !m.epochs) return 0;
  let epochs = 0;
  for (const t of m.trainings.values()) epochs += t.status !== null && t.status !== 'cancelled' ? m.epochs : Math.min(m.epochs, t.epochs.length);
  return Math.max(0, Math.min(1, epochs / (m.jobs * m.epochs)));
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

export type Metric = 'trainLoss' | 'valAcc' | 'trainAcc';
export const METRIC_LABEL: Record<Metric, string> = { trainLoss: 'Training loss', valAcc: 'Validation accuracy', trainAcc: 'Training accuracy' };

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
  cells: { mean: string; std: string; n: string; diff: string; ci: string; p: string; wilcoxon: string; time: string };
  /** Direction of a significant difference (p < 0.05 and CI excluding 0). */
  verdict: 'better' | 'worse' | 'same' | 'none';
  note: string | null;
  raw: ResultRow;
}

function provisionalRows(m: EvalModel): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const aug of m.augmentations) {
    for (const loss of lossOrder(m)) {
      const done = [...m.trainings.values()].filter((t) => t.loss === loss && t.augmentation === aug && t.status !== null);
      const accs = done.map((t) => t.testAcc).filter((v): v is number => v !== null);
      if (!done.length) continue;
      const mean = accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null;
      const std = accs.length >= 2 && mean !== null ? Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / (accs.length - 1)) : null;
      rows.push({ loss, augmentation: aug, baseline: loss === m.baseline, mean, std, perSeed: accs, n: accs.length, meanDiff: null, ci95: null, pValue: null, wilcoxonP: null, note: null, meanWallMs: null });
    }
  }
  return rows;
}

/** The final table (from result events), or provisional rows from finished seeds while none arrived. */
export function table(m: EvalModel): TableRow[] {
  const provisional = m.results.length === 0;
  const raw = provisional ? provisionalRows(m) : [...m.results];
  const order = lossOrder(m);
  raw.sort((a, b) => m.augmentations.indexOf(a.augmentation) - m.augmentations.indexOf(b.augmentation) || order.indexOf(a.loss) - order.indexOf(b.loss));
  return raw.map((r) => {
    const sig = r.pValue !== null && r.pValue < 0.05 && r.ci95 !== null && (r.ci95[0] > 0 || r.ci95[1] < 0);
    const verdict = r.baseline || r.meanDiff === null ? 'none' : sig ? (r.meanDiff > 0 ? 'better' : 'worse') : 'same';
    const seedsTotal = m.seeds.length || r.perSeed.length;
    return {
      loss: r.loss,
      augmentation: r.augmentation,
      baseline: r.baseline,
      provisional,
      verdict,
      note: r.note,
      raw: r,
      cells: {
        mean: pct(r.mean),
        std: r.std === null ? '—' : `${(r.std * 100).toFixed(2)} pp`,
        n: provisional ? `${r.n} of ${seedsTotal}` : String(r.baseline ? r.perSeed.filter((v) => v !== null).length : r.n),
        diff: r.baseline ? 'baseline' : pp(r.meanDiff),
        ci: r.ci95 && !r.baseline ? `[${pp(r.ci95[0])}, ${pp(r.ci95[1])}]` : '—',
        p: r.baseline ? '—' : pValue(r.pValue),
        wilcoxon: r.baseline ? '—' : pValue(r.wilcoxonP),
        time: duration(r.meanWallMs),
      },
    };
  });
}

export const TABLE_HEADER = ['Loss', 'Augmentation', 'Test accuracy (mean)', 'S.d.', 'Seeds', 'Difference to baseline', '95% CI', 'p (paired t)', 'p (Wilcoxon)', 'Time per training'];

/** The table as CSV, with raw numbers (fractions) rather than formatted text. */
export function tableCsv(m: EvalModel): string {
  const rows = table(m).map((r) => [
    r.loss,
    r.augmentation,
    r.raw.mean,
    r.raw.std,
    r.raw.n,
    r.baseline ? null : r.raw.meanDiff,
    r.baseline ? null : r.raw.ci95?.[0] ?? null,
    r.baseline ? null : r.raw.ci95?.[1] ?? null,
    r.baseline ? null : r.raw.pValue,
    r.baseline ? null : r.raw.wilcoxonP,
    r.raw.meanWallMs === null ? null : Math.round(r.raw.meanWallMs),
    r.raw.perSeed.map((v) => (v === null ? '' : String(v))).join(' '),
  ]);
  return toCsv(['loss', 'augmentation', 'test_acc_mean', 'test_acc_std', 'n', 'diff_vs_baseline', 'ci95_lo', 'ci95_hi', 'p_paired_t', 'p_wilcoxon', 'ms_per_training', 'per_seed'], rows);
}

/** Metadata lines (label, value) for the header. */
export function metadata(m: EvalModel): [string, string][] {
  return [
    ['Run', m.runId],
    ['Status', m.status],
    ['Engine', m.backends.length ? m.backends.map(computeLine).join('; ') : 'not reported yet'],
    ['Dataset', m.dataset ? `${m.dataset}${m.maxTrain ? ` (${m.maxTrain} training examples)` : ''}` : '—'],
    ['Model', m.model || '—'],
    ['Augmentations', m.augmentations.join(', ') || '—'],
    ['Seeds × epochs', m.seeds.length ? `${m.seeds.length} × ${m.epochs}` : '—'],
    ['Trainings', `${m.finished} of ${m.jobs || '?'}`],
    ['Started', m.created ? m.created.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—'],
    ['Wall time', duration(m.wallMs)],
  ];
}
