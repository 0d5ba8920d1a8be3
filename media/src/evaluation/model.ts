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
import { excludedText, parseExcluded, parseVerdict, verdictCounts, verdictLegend, verdictPhrase, verdictReason, NO_VERDICTS_LEGEND, VERDICT_WORDS, type Excluded, type Verdict, type VerdictSummary } from '../shared/verdict';

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
  /** Holm-adjusted p and the verdict (null in runs recorded before them, and for the baseline). */
  pAdjusted: number | null;
  verdict: Verdict | null;
  /** Trainings left out of the mean and the pairs (null in runs recorded before they were). */
  excluded: Excluded | null;
  /** Its trainings that ended (every status but cancelled): the "of 5 seeds" of the exclusions. */
  ended: number;
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
    note: isStr(vs.note, 2000) ? vs.note : null,
    meanWallMs: numOrNull(e.meanWallMs),
    pAdjusted: numOrNull(vs.pAdjusted),
    verdict: e.baseline === true ? null : parseVerdict(vs.verdict),
    excluded,
    ended,
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
  cells: { mean: string; std: string; n: string; diff: string; ci: string; p: string; pAdjusted: string; verdict: string; wilcoxon: string; time: string; excluded: string };
  /** The run's verdict on the comparison with the baseline (null: the baseline, a provisional row, a run recorded before verdicts). */
  verdict: Verdict | null;
  /** Why (the verdict cell's tooltip; '' for the baseline and provisional rows). */
  verdictTitle: string;
  note: string | null;
  raw: ResultRow;
}

function provisionalRows(m: EvalModel): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const aug of m.augmentations) {
    for (const loss of lossOrder(m)) {
      // As the run's results will: only completed trainings enter the mean, the others are counted.
      const ended = [...m.trainings.values()].filter((t) => t.loss === loss && t.augmentation === aug && t.status !== null && t.status !== 'cancelled');
      if (!ended.length) continue;
      const count = (status: string): number => ended.filter((t) => t.status === status).length;
      const accs = ended.filter((t) => t.status === 'completed').map((t) => t.testAcc).filter((v): v is number => v !== null);
      const mean = accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null;
      const std = accs.length >= 2 && mean !== null ? Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / (accs.length - 1)) : null;
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
        note: null,
        meanWallMs: null,
        pAdjusted: null,
        verdict: null,
        excluded: { nan: count('nan'), failed: count('failed'), earlyStopped: count('early-stopped') },
        ended: ended.length,
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
export function table(m: EvalModel): TableRow[] {
  const provisional = m.results.length === 0;
  return inTableOrder(m, provisional ? provisionalRows(m) : m.results).map((r) => {
    const seedsTotal = m.seeds.length || r.perSeed.length;
    const tested = !r.baseline && !provisional;
    return {
      loss: r.loss,
      augmentation: r.augmentation,
      baseline: r.baseline,
      provisional,
      verdict: tested ? r.verdict : null,
      verdictTitle: tested ? verdictReason(r, m.baseline) : '',
      note: r.note,
      raw: r,
      cells: {
        mean: pct(r.mean),
        std: r.std === null ? '—' : `${(r.std * 100).toFixed(2)} pp`,
        n: provisional ? `${r.n} of ${seedsTotal}` : String(r.baseline ? r.perSeed.filter((v) => v !== null).length : r.n),
        diff: r.baseline ? 'baseline' : pp(r.meanDiff),
        ci: r.ci95 && !r.baseline ? `[${pp(r.ci95[0])}, ${pp(r.ci95[1])}]` : '—',
        p: r.baseline ? '—' : pValue(r.pValue),
        pAdjusted: r.baseline ? '—' : pValue(r.pAdjusted),
        verdict: tested && r.verdict ? VERDICT_WORDS[r.verdict] : '—',
        wilcoxon: r.baseline ? '—' : pValue(r.wilcoxonP),
        time: duration(r.meanWallMs),
        // '—': a run recorded before the exclusions were counted.
        excluded: r.excluded ? excludedText(r.excluded, r.ended) || 'none' : '—',
      },
    };
  });
}

export const TABLE_HEADER = ['Loss', 'Augmentation', 'Test accuracy (mean)', 'S.d.', 'Seeds', 'Difference to baseline', '95% CI', 'p (paired t)', 'p (Holm)', 'Verdict', 'p (Wilcoxon)', 'Time per training', 'Left out'];

/** The line under the table: Holm's adjustment and the verdict rule (as under the CLI's table), or why there is none. */
export function tableLegend(m: EvalModel): string {
  const rows = table(m);
  if (!rows.length) return '';
  if (rows[0].provisional) return 'Only completed trainings count: diverged (NaN), failed and early-stopped ones are left out. The paired tests, p (Holm) and the verdicts come when the run ends.';
  const tested = rows.filter((r) => !r.baseline);
  if (!tested.some((r) => r.raw.verdict !== null || r.raw.pAdjusted !== null)) return NO_VERDICTS_LEGEND;
  return verdictLegend(tested.length);
}

/** The table as CSV, with raw numbers (fractions) rather than formatted text; the verdict as in summary.json. */
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
    r.baseline ? null : r.raw.pAdjusted,
    r.verdict,
    r.baseline ? null : r.raw.wilcoxonP,
    r.raw.meanWallMs === null ? null : Math.round(r.raw.meanWallMs),
    r.raw.excluded?.nan ?? null,
    r.raw.excluded?.failed ?? null,
    r.raw.excluded?.earlyStopped ?? null,
    r.raw.perSeed.map((v) => (v === null ? '' : String(v))).join(' '),
  ]);
  return toCsv(['loss', 'augmentation', 'test_acc_mean', 'test_acc_std', 'n', 'diff_vs_baseline', 'ci95_lo', 'ci95_hi', 'p_paired_t', 'p_holm', 'verdict', 'p_wilcoxon', 'ms_per_training', 'excluded_nan', 'excluded_failed', 'excluded_early_stopped', 'per_seed'], rows);
}

/**
 * The verdicts of a finished run's comparisons ('focal: better (+1.20 pp, p_adj = 0.010)', '· cutout'
 * after the loss when the run has several augmentations, the exclusions after a ';'), or null
 * before its results or in a run recorded before verdicts.
 */
export function verdictSummary(m: EvalModel): VerdictSummary | null {
  const tested = m.results.filter((r) => !r.baseline);
  if (!tested.some((r) => r.verdict !== null)) return null;
  const augs = new Set(m.results.map((r) => r.augmentation));
  const lines: string[] = [];
  for (const r of inTableOrder(m, m.results)) {
    const name = `${r.loss}${augs.size > 1 ? ` · ${r.augmentation}` : ''}`;
    const left = excludedText(r.excluded, r.ended);
    if (r.baseline) {
      if (left) lines.push(`${name} (baseline): ${left}`);
    } else lines.push(`${name}: ${verdictPhrase(r)}${left ? `; ${left}` : ''}`);
  }
  return { short: verdictCounts(tested.map((r) => r.verdict)), lines };
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
