/**
 * The evolution panel's view model (pure; tested without a DOM): the events of `lossmith evolve`
 * (protocol/evolve-events.ts) reduced to fitness per step, every evaluated candidate, rejection
 * statistics, the top-k and the cross-augmentation table. Every field is checked where it is read.
 *
 * Fitness is the best validation accuracy on the surrogate task. A candidate's fitness is that of
 * its full stage (stage 2); candidates stopped after the quick stage (stage 1) appear in the
 * scatter but never in the top-k, whose ranks compare like with like.
 */
import { isFiniteNum, isInt, isObj, isStr, numOrNull, strOr, type Obj, type WireEvent } from '../shared/validate';
import { dzText, finalVerdictPhrase, parseInterval, parseVerdict, verdictCounts, verdictLegend, NO_VERDICTS_LEGEND, VERDICT_WORDS, type Verdict, type VerdictSummary } from '../shared/verdict';
import { duration, num, pct, pp, pValue, toCsv } from '../shared/format';
import { addCompute, computeLine, parseCompute, type ComputeInfo } from '../shared/compute';

export type EvoStatus = 'waiting' | 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted';

export interface GenerationPoint {
  generation: number;
  evaluated: number;
  best: number | null;
  mean: number | null;
  median: number | null;
  bestEver: number | null;
}

export interface Search {
  index: number;
  augment: string;
  baselineFitness: number | null;
  generations: GenerationPoint[];
  ended: boolean;
}

export interface Candidate {
  search: number;
  id: number;
  loss: string;
  origin: string;
  mutation: string;
  parent: number | null;
  stage1: number | null;
  /** Full-stage fitness. */
  fitness: number | null;
  status: 'proposed' | 'rejected' | 'accepted' | 'evaluated' | 'failed';
  reason: string | null;
  /** Seconds since the run started when it was last evaluated. */
  t: number | null;
  size: number;
}

export interface EvoModel {
  runId: string;
  status: EvoStatus;
  created: string | null;
  startMs: number | null;
  lastMs: number | null;
  augments: string[];
  population: number;
  sample: number;
  steps: number;
  workers: number;
  seed: number | null;
  searches: Search[];
  candidates: Map<string, Candidate>;
  rejected: Map<string, { count: number; ms: number }>;
  /** The same counts per search (augmentation-aware runs have one search per augmentation). */
  rejectedBySearch: Map<number, Map<string, { count: number; ms: number }>>;
  proposed: number;
  evaluations: number;
  crossTable: { augments: string[]; rows: { loss: string; from: string; rank: number; fitness: Record<string, number | null> }[] } | null;
  final: FinalResult[];
  /** The transfer ladder (summary.json `transfer`; null without --transfer, or before the run's end). */
  transfer: TransferLadder | null;
  /** Transfer trainings finished so far (transfer-evaluated events, by key: a resumed run may repeat one). */
  transferDone: Map<string, { step: number; tune: boolean }>;
  /** The ladder's steps and planned trainings (transfer-start; null before it, and in runs recorded before the event). */
  transferPlan: { steps: string[]; total: number } | null;
  /** The summary's backend name ('wasm', 'torch'; older runs have only this). */
  backend: string | null;
  /** What the evaluations ran on in full (`backend` events, the summary's `compute`). */
  compute: ComputeInfo[];
  message: string | null;
  events: number;
}

/** A row of the final re-training (summary.json `final`): its test accuracy against CE, paired by seed. */
export interface FinalResult {
  /** The candidate's id and rank in its search (null when the file lacks them). */
  id: number | null;
  rank: number | null;
  loss: string;
  augment: string;
  /** Seeds it was re-trained on. */
  seeds: number;
  /** Seed pairs of the test (where both trainings completed; older runs: every seed). */
  n: number;
  meanDiff: number | null;
  ci95: [number, number] | null;
  /** Cohen's d_z and its 95% interval (null in runs recorded before it, or without spread). */
  dz: number | null;
  dzCi95: [number, number] | null;
  pValue: number | null;
  /** Holm-adjusted p and the verdict (null in runs recorded before them). */
  pAdjusted: number | null;
  verdict: Verdict | null;
  /** Seeds left out because a training did not finish (null in runs recorded before they were). */
  excluded: number | null;
}

/** One loss at one step of the transfer ladder under one augmentation, against CE there (a TransferRow). */
export interface TransferResult {
  step: number;
  stepLabel: string;
  augment: string;
  /** The search it comes from, its rank there and its candidate id. */
  from: number;
  rank: number;
  id: number;
  loss: string;
  /** The tuned learning rates (null without tuning). */
  lr: number | null;
  ceLr: number | null;
  seeds: number;
  /** Seed pairs of the test (where both trainings completed). */
  n: number;
  meanDiff: number | null;
  ci95: [number, number] | null;
  /** Cohen's d_z and its 95% interval (null in runs recorded before it, or without spread). */
  dz: number | null;
  dzCi95: [number, number] | null;
  pValue: number | null;
  pAdjusted: number | null;
  verdict: Verdict | null;
  /** Seeds left out because a training did not finish. */
  excluded: number;
}

export interface TransferLadder {
  steps: string[];
  rows: TransferResult[];
}

export function emptyEvoModel(runId: string): EvoModel {
  return {
    runId,
    status: 'waiting',
    created: null,
    startMs: null,
    lastMs: null,
    augments: [],
    population: 0,
    sample: 0,
    steps: 0,
    workers: 0,
    seed: null,
    searches: [],
    candidates: new Map(),
    rejected: new Map(),
    rejectedBySearch: new Map(),
    proposed: 0,
    evaluations: 0,
    crossTable: null,
    final: [],
    transfer: null,
    transferDone: new Map(),
    transferPlan: null,
    backend: null,
    compute: [],
    message: null,
    events: 0,
  };
}

/** Size of an expression: its operands and operators (a complexity measure for the scatter). */
export function exprSize(expr: string): number {
  const tokens = expr.match(/[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d*)?(?:e[-+]?\d+)?|[-+*/^]/g);
  return tokens ? tokens.length : 0;
}

function search(m: EvoModel, i: number, augment?: string): Search {
  let s = m.searches.find((x) => x.index === i);
  if (!s) {
    s = { index: i, augment: augment ?? m.augments[i] ?? `search ${i}`, baselineFitness: null, generations: [], ended: false };
    m.searches.push(s);
    m.searches.sort((a, b) => a.index - b.index);
  }
  if (augment) s.augment = augment;
  return s;
}

function candidate(m: EvoModel, e: WireEvent): Candidate | undefined {
  if (!isInt(e.search, 0, 1e4) || !isInt(e.id, 0, 1e9)) return undefined;
  const k = `${e.search}:${e.id}`;
  let c = m.candidates.get(k);
  if (!c) {
    c = { search: e.search, id: e.id, loss: '', origin: 'seed', mutation: 'seed', parent: null, stage1: null, fitness: null, status: 'proposed', reason: null, t: null, size: 0 };
    m.candidates.set(k, c);
  }
  if (isStr(e.loss, 5000) && e.loss) {
    c.loss = e.loss;
    c.size = exprSize(e.loss);
  }
  return c;
}

function timeOf(m: EvoModel, e: WireEvent): number | null {
  if (!isStr(e.time, 60)) return null;
  const t = Date.parse(e.time);
  if (!Number.isFinite(t)) return null;
  if (m.startMs === null) m.startMs = t;
  m.lastMs = Math.max(m.lastMs ?? t, t);
  return (t - m.startMs) / 1000;
}

export function reduceEvo(m: EvoModel, e: WireEvent): void {
  m.events++;
  const t = timeOf(m, e);
  switch (e.type) {
    case 'run-start':
      m.created = strOr(e.created, '', 100) || null;
      if (isStr(e.created, 100) && Number.isFinite(Date.parse(e.created))) m.startMs ??= Date.parse(e.created);
      if (m.status === 'waiting') m.status = 'running';
      return;
    case 'run-resume':
    case 'run-extended':
      m.status = 'running';
      return;
    case 'evolve-start':
      m.status = 'running';
      if (Array.isArray(e.augments)) m.augments = e.augments.filter((a): a is string => isStr(a, 200));
      if (isInt(e.population, 0, 1e7)) m.population = e.population;
      if (isInt(e.sample, 0, 1e7)) m.sample = e.sample;
      if (isInt(e.steps, 0, 1e9)) m.steps = e.steps;
      if (isInt(e.workers, 0, 1e4)) m.workers = e.workers;
      if (isFiniteNum(e.seed)) m.seed = e.seed;
      return;
    case 'search-start':
      if (isInt(e.search, 0, 1e4)) search(m, e.search, isStr(e.augment, 200) ? e.augment : undefined);
      return;
    case 'baseline':
      if (isInt(e.search, 0, 1e4)) search(m, e.search, isStr(e.augment, 200) ? e.augment : undefined).baselineFitness = numOrNull(e.fitness);
      return;
    case 'candidate-proposed': {
      const c = candidate(m, e);
      if (!c) return;
      m.proposed++;
      c.origin = strOr(e.origin, 'child', 20);
      c.mutation = strOr(e.mutation, '', 40);
      c.parent = isInt(e.parent, 0, 1e9) ? e.parent : null;
      return;
    }
    case 'candidate-rejected': {
      const c = candidate(m, e);
      if (!c) return;
      const reason = strOr(e.reason, 'other', 60);
      if (c.status !== 'rejected') {
        const ms = isFiniteNum(e.ms) ? e.ms : 0;
        const bySearch = m.rejectedBySearch.get(c.search) ?? new Map<string, { count: number; ms: number }>();
        m.rejectedBySearch.set(c.search, bySearch);
        for (const table of [m.rejected, bySearch]) {
          const r = table.get(reason) ?? { count: 0, ms: 0 };
          r.count++;
          r.ms += ms;
          table.set(reason, r);
        }
      }
      c.status = 'rejected';
      c.reason = reason;
      return;
    }
    case 'candidate-accepted': {
      const c = candidate(m, e);
      if (c && c.status === 'proposed') c.status = 'accepted';
      return;
    }
    case 'candidate-evaluated': {
      const c = candidate(m, e);
      if (!c) return;
      m.evaluations++;
      const f = numOrNull(e.fitness);
      if (e.status !== 'completed') {
        c.status = 'failed';
        c.reason = strOr(e.status, 'failed', 40);
      } else c.status = 'evaluated';
      if (e.stage === 1) c.stage1 = f;
      else c.fitness = f;
      c.t = t;
      return;
    }
    case 'generation': {
      if (!isInt(e.search, 0, 1e4) || !isInt(e.generation, 0, 1e9)) return;
      const s = search(m, e.search);
      const be = isObj(e.bestEver) ? numOrNull(e.bestEver.fitness) : null;
      const p: GenerationPoint = { generation: e.generation, evaluated: isInt(e.evaluated, 0, 1e9) ? e.evaluated : e.generation, best: numOrNull(e.best), mean: numOrNull(e.mean), median: numOrNull(e.median), bestEver: be };
      const i = s.generations.findIndex((g) => g.generation === p.generation);
      if (i >= 0) s.generations[i] = p;
      else s.generations.push(p);
      s.generations.sort((a, b) => a.generation - b.generation);
      if (s.baselineFitness === null) s.baselineFitness = numOrNull(e.baselineFitness);
      return;
    }
    case 'backend':
      addCompute(m.compute, parseCompute(e.backend));
      return;
    case 'search-end':
      if (isInt(e.search, 0, 1e4)) search(m, e.search).ended = true;
      return;
    case 'crosstable': {
      const tb = isObj(e.table) ? e.table : undefined;
      if (!tb || !Array.isArray(tb.augments) || !Array.isArray(tb.rows)) return;
      const augments = tb.augments.filter((a): a is string => isStr(a, 200));
      const rows = tb.rows.filter(isObj).map((r) => {
        const fitness: Record<string, number | null> = {};
        for (const a of augments) fitness[a] = isObj(r.fitness) ? numOrNull(r.fitness[a]) : null;
        return { loss: strOr(r.loss, '', 5000), from: strOr(r.from, '', 200), rank: isInt(r.rank, 0, 1e6) ? r.rank : 0, fitness };
      });
      m.crossTable = { augments, rows };
      return;
    }
    case 'transfer-start':
      if (!Array.isArray(e.steps) || !isInt(e.total, 0, 1e9)) return;
      m.transferPlan = { steps: e.steps.slice(0, 1000).map((x, i) => strOr(x, `step ${i + 1}`, 500)), total: e.total };
      return;
    case 'transfer-rows':
      // The rows of the finished steps; the summary's replace them at the end.
      m.transfer = parseTransfer(e) ?? m.transfer;
      return;
    case 'transfer-evaluated':
      if (!isStr(e.key, 500) || !isInt(e.step, 0, 1e4)) return;
      m.transferDone.set(e.key, { step: e.step, tune: e.tune === true });
      return;
    case 'run-end':
      m.status = 'done';
      return;
    case 'run-cancelled':
      m.status = 'cancelled';
      m.message = `Cancelled (${strOr(e.reason, 'by the user', 500)}); the evaluated candidates are kept and the run can be resumed.`;
      return;
    case 'run-failed':
      m.status = 'failed';
      m.message = `Failed: ${strOr(e.error, 'unknown error', 2000)}`;
      return;
  }
}

/** Fill in what only summary.json says (backend, the final re-training against CE). */
export function applySummary(m: EvoModel, s: unknown): void {
  if (!isObj(s)) return;
  if (isStr(s.backend, 100)) m.backend = s.backend;
  addCompute(m.compute, parseCompute(s.compute));
  if (Array.isArray(s.final)) m.final = s.final.filter(isObj).slice(0, 10_000).map(finalResult);
  if (isObj(s.transfer) && Array.isArray(s.transfer.rows)) {
    m.transfer = parseTransfer(s.transfer);
  }
}

const rate = (x: unknown): number | null => (isFiniteNum(x) && x > 0 ? x : null);

/** A ladder ({ steps, rows }: the summary's `transfer`, a transfer-rows event) validated; null when malformed. */
function parseTransfer(t: Obj): TransferLadder | null {
  if (!Array.isArray(t.rows)) return null;
  const steps = Array.isArray(t.steps) ? t.steps.slice(0, 1000).map((x, i) => strOr(x, `step ${i + 1}`, 500)) : [];
  const rows = t.rows.filter(isObj).slice(0, 100_000).map((r) => transferResult(r, steps)).filter((r): r is TransferResult => r !== null);
  return { steps, rows };
}

function transferResult(r: Obj, steps: readonly string[]): TransferResult | null {
  if (!isInt(r.step, 0, 1e4) || !isInt(r.id, 0, 1e9) || !isStr(r.augment, 200)) return null;
  const test = isObj(r.test) ? r.test : null;
  const t = test ?? {};
  const ci = parseInterval(t.ci95);
  return {
    step: r.step,
    stepLabel: strOr(r.stepLabel, steps[r.step] ?? `step ${r.step + 1}`, 500),
    augment: r.augment,
    from: isInt(r.from, 0, 1e4) ? r.from : 0,
    rank: isInt(r.rank, 0, 1e6) ? r.rank : 0,
    id: r.id,
    loss: strOr(r.loss, '', 5000),
    lr: rate(r.lr),
    ceLr: rate(r.ceLr),
    seeds: Array.isArray(r.seeds) ? r.seeds.length : 0,
    n: isInt(t.n, 0, 1e6) ? t.n : 0,
    meanDiff: numOrNull(t.meanDiff),
    ci95: ci,
    dz: numOrNull(t.dz),
    dzCi95: parseInterval(t.dzCi95),
    pValue: numOrNull(t.pValue),
    pAdjusted: numOrNull(t.pAdjusted),
    // No test (no seed where both finished) is inconclusive, as the CLI says.
    verdict: parseVerdict(t.verdict) ?? (test ? null : 'inconclusive'),
    excluded: isInt(r.excluded, 0, 1e6) ? r.excluded : 0,
  };
}

function finalResult(f: Obj): FinalResult {
  const test = isObj(f.test) ? f.test : null;
  const t = test ?? {};
  const ci = parseInterval(t.ci95);
  const seeds = Array.isArray(f.seeds) ? f.seeds.length : 0;
  // Runs with verdicts give the pairs (n) and say how many seeds were left out (absent when none).
  const recent = isInt(t.n, 0, 1e6) || t.verdict !== undefined || f.excluded !== undefined;
  const excluded = isInt(f.excluded, 0, 1e6) ? f.excluded : recent ? 0 : null;
  return {
    id: isInt(f.id, 0, 1e9) ? f.id : null,
    rank: isInt(f.rank, 0, 1e6) ? f.rank : null,
    loss: strOr(f.loss, '', 5000),
    augment: strOr(f.augment, '', 200),
    seeds,
    n: isInt(t.n, 0, 1e6) ? t.n : test ? seeds : 0,
    meanDiff: numOrNull(t.meanDiff),
    ci95: ci,
    dz: numOrNull(t.dz),
    dzCi95: parseInterval(t.dzCi95),
    pValue: numOrNull(t.pValue),
    pAdjusted: numOrNull(t.pAdjusted),
    // No test at all (no seed where both finished) is inconclusive, as the CLI says.
    verdict: parseVerdict(t.verdict) ?? (recent && !test ? 'inconclusive' : null),
    excluded,
  };
}

/** "#28 re-trained: worse than CE, -0.52 pp, p_adj = 0.090" (the verdict cell's tooltip, the Runs view's). */
export function finalLine(f: FinalResult, withAugment: boolean): string {
  return `${f.id === null ? 'a loss' : `#${f.id}`}${withAugment && f.augment ? ` (${f.augment})` : ''} re-trained: ${finalVerdictPhrase(f, f.excluded ?? 0)}`;
}

export interface FinalTableRow {
  raw: FinalResult;
  verdict: Verdict | null;
  /** The row in words (the verdict cell's tooltip): "#28 re-trained: worse than CE, …". */
  title: string;
  cells: { seeds: string; diff: string; ci: string; dz: string; p: string; pAdjusted: string; verdict: string; excluded: string };
}

export const FINAL_HEADER = ['Loss', 'Search', 'Candidate', 'Seeds', 'Difference', '95% CI', 'd_z [95% CI]', 'p', 'p (Holm)', 'Verdict', 'Left out'];

/** The final re-training table: test accuracy against CE per re-trained loss ('—' where a run recorded before verdicts has none). */
export function finalTable(m: EvoModel): FinalTableRow[] {
  const several = new Set(m.final.map((f) => f.augment)).size > 1;
  return m.final.map((f) => ({
    raw: f,
    verdict: f.verdict,
    title: f.verdict ? finalLine(f, several) : '',
    cells: {
      seeds: f.excluded === null ? String(f.seeds) : `${f.n} of ${f.seeds}`,
      diff: pp(f.meanDiff),
      ci: f.ci95 ? `[${pp(f.ci95[0])}, ${pp(f.ci95[1])}]` : '—',
      dz: dzText(f),
      p: pValue(f.pValue),
      pAdjusted: pValue(f.pAdjusted),
      verdict: f.verdict ? VERDICT_WORDS[f.verdict] : '—',
      excluded: f.excluded === null ? '—' : f.excluded ? `${f.excluded} of ${f.seeds} seeds left out (a training did not finish)` : 'none',
    },
  }));
}

/** The line under the final table: Holm's adjustment and the verdict rule, or why there is none. */
export function finalLegend(m: EvoModel): string {
  if (!m.final.length) return '';
  if (!m.final.some((f) => f.verdict !== null || f.pAdjusted !== null)) return NO_VERDICTS_LEGEND;
  return verdictLegend(m.final.length);
}

/** The verdicts of the final re-training for the Runs view, or null (none yet, or a run recorded before verdicts). */
export function finalVerdicts(m: EvoModel): VerdictSummary | null {
  if (!m.final.some((f) => f.verdict !== null)) return null;
  const several = new Set(m.final.map((f) => f.augment)).size > 1;
  return { short: verdictCounts(m.final.map((f) => f.verdict)), lines: m.final.map((f) => finalLine(f, several)) };
}

export interface TransferColumn {
  step: number;
  stepLabel: string;
  augment: string;
  /** "surrogate", or "surrogate · cutout" when the ladder has several augmentations. */
  header: string;
}

export interface TransferCell {
  raw: TransferResult;
  verdict: Verdict | null;
  /** The cell in words, as the CLI writes it ("worse than CE, -0.52 pp, p_adj = 0.030"): its tooltip. */
  title: string;
  /** "-0.52 pp, p (Holm) 0.030" */
  diff: string;
  /** "lr 0.01, CE 0.001" ('' without tuning). */
  lr: string;
  /** "1 of 3 seeds left out" ('' when none). */
  excluded: string;
}

export interface TransferLossRow {
  from: number;
  rank: number;
  id: number;
  loss: string;
  /** "#12 (rank 1 under none)". */
  label: string;
  /** Aligned with the columns; null where the ladder has no row (a step not reached). */
  cells: (TransferCell | null)[];
}

/** The transfer ladder as a table: a row per loss, a column per step and augmentation (null without a ladder). */
export function transferTable(m: EvoModel): { columns: TransferColumn[]; rows: TransferLossRow[] } | null {
  const t = m.transfer;
  if (!t || !t.rows.length) return null;
  const order = [...m.searches.map((s) => s.augment), ...m.augments];
  const augments = [...new Set(t.rows.map((r) => r.augment))].sort((a, b) => rank(order, a) - rank(order, b));
  const steps = [...new Set(t.rows.map((r) => r.step))].sort((a, b) => a - b);
  const columns: TransferColumn[] = steps.flatMap((step) =>
    augments.map((augment) => {
      const stepLabel = t.steps[step] ?? t.rows.find((r) => r.step === step)?.stepLabel ?? `step ${step + 1}`;
      return { step, stepLabel, augment, header: augments.length > 1 ? `${stepLabel} · ${augment}` : stepLabel };
    }),
  );
  const several = new Set(t.rows.map((r) => r.from)).size > 1;
  const losses = new Map<string, TransferLossRow>();
  for (const r of [...t.rows].sort((a, b) => a.from - b.from || a.rank - b.rank || a.id - b.id)) {
    const k = `${r.from}:${r.id}`;
    if (losses.has(k)) continue;
    const under = m.searches.find((s) => s.index === r.from)?.augment ?? m.augments[r.from];
    const where = [r.rank ? `rank ${r.rank}` : '', several && under ? `under ${under}` : ''].filter(Boolean).join(' ');
    losses.set(k, { from: r.from, rank: r.rank, id: r.id, loss: r.loss, label: `#${r.id}${where ? ` (${where})` : ''}`, cells: [] });
  }
  for (const row of losses.values()) {
    row.cells = columns.map((c) => {
      const r = t.rows.find((x) => x.from === row.from && x.id === row.id && x.step === c.step && x.augment === c.augment);
      if (!r) return null;
      const pa = r.pAdjusted === null ? '' : `, p (Holm) ${pValue(r.pAdjusted)}`;
      return {
        raw: r,
        verdict: r.verdict,
        title: `#${r.id} at ${c.header}: ${finalVerdictPhrase(r, r.excluded)}`,
        diff: r.meanDiff === null ? 'no seed where both finished' : `${pp(r.meanDiff)}${pa}`,
        lr: r.lr === null ? '' : `lr ${r.lr}, CE ${r.ceLr ?? '—'}`,
        excluded: r.excluded ? `${r.excluded} of ${r.seeds} seeds left out` : '',
      };
    });
  }
  return { columns, rows: [...losses.values()] };
}

const rank = (order: readonly string[], x: string): number => {
  const i = order.indexOf(x);
  return i < 0 ? order.length : i;
};

/** The lines under the ladder: what each step does, Holm's adjustment over every row of the ladder and the verdict rule. */
export function transferLegend(m: EvoModel): string {
  const rows = m.transfer?.rows ?? [];
  if (!rows.length) return '';
  const seeds = Math.max(...rows.map((r) => r.seeds));
  const tuned = rows.some((r) => r.lr !== null);
  const how =
    `Each step re-trains the best losses of each search and CE on ${seeds} fresh seed${seeds === 1 ? '' : 's'} under every augmentation searched` +
    `${tuned ? ', each at its own learning rate tuned at that step (lr: the loss\u2019s, CE: cross-entropy\u2019s)' : ''}; ` +
    'the difference is the mean paired difference of test accuracy to CE over the seeds where both finished. ';
  if (!rows.some((r) => r.verdict !== null || r.pAdjusted !== null)) return how + NO_VERDICTS_LEGEND;
  return how + verdictLegend(rows.length, 'the transfer ladder');
}

/**
 * "transfer ladder: 14 of 96 trainings finished (8 learning-rate tuning), step 2 of 3 (resnet9)" while its
 * trainings come in (without "of N" in runs recorded before transfer-start); null before.
 */
export function transferProgress(m: EvoModel): string | null {
  if (!m.transferDone.size && !m.transferPlan) return null;
  const all = [...m.transferDone.values()];
  const tuning = all.filter((x) => x.tune).length;
  const step = all.length ? Math.max(...all.map((x) => x.step)) : 0;
  const steps = m.transferPlan?.steps ?? m.transfer?.steps ?? [];
  const label = steps[step];
  const of = m.transferPlan ? ` of ${m.transferPlan.total}` : '';
  const count = m.transferPlan ? m.transferPlan.total : all.length;
  return `transfer ladder: ${all.length}${of} training${count === 1 ? '' : 's'} finished${tuning ? ` (${tuning} learning-rate tuning)` : ''}, step ${step + 1}${steps.length ? ` of ${steps.length}` : ''}${label ? ` (${label})` : ''}`;
}

/** The ladder's share done (0 to 1), null without a plan (before transfer-start, or a run recorded before it). */
export function transferFraction(m: EvoModel): number | null {
  if (!m.transferPlan || !m.transferPlan.total) return null;
  return Math.min(1, m.transferDone.size / m.transferPlan.total);
}

/** Children evaluated and planned, over all searches (the initial population is not children). */
function childCounts(m: EvoModel): { done: number; planned: number } {
  const planned = m.steps * Math.max(1, m.augments.length || m.searches.length);
  const done = m.searches.reduce((a, s) => a + (s.generations.length ? s.generations[s.generations.length - 1].evaluated : 0), 0);
  return { done, planned };
}

/** Children evaluated over children planned, over all searches. */
export function evoProgress(m: EvoModel): number {
  if (m.status === 'done') return 1;
  const { done, planned } = childCounts(m);
  if (!planned) return 0;
  return Math.max(0, Math.min(1, done / planned));
}

/** Candidates trained at least the quick stage (the initial population's included). */
export function evaluatedCount(m: EvoModel): number {
  let n = 0;
  for (const c of m.candidates.values()) if (c.stage1 !== null || c.status === 'evaluated' || c.status === 'failed') n++;
  return n;
}

/**
 * "40 candidates evaluated · 12 of 1200 children (1%)", or "6 candidates evaluated · initial
 * population" before the first child: the panel's status line and the notification say the same.
 */
export function evoProgressText(m: EvoModel): string {
  const { done, planned } = childCounts(m);
  const n = evaluatedCount(m);
  const head = `${n} candidate${n === 1 ? '' : 's'} evaluated`;
  if (!done && n && m.status === 'running') return `${head} · initial population`;
  return planned ? `${head} · ${done} of ${planned} children (${Math.round((100 * Math.min(done, planned)) / planned)}%)` : head;
}

export interface FitnessSeries {
  x: number[];
  best: (number | null)[];
  mean: (number | null)[];
  median: (number | null)[];
  bestEver: (number | null)[];
  baseline: (number | null)[];
}

/** Fitness of the population per step (x = children evaluated) of one search. */
export function fitnessSeries(m: EvoModel, searchIndex: number): FitnessSeries {
  const s = m.searches.find((q) => q.index === searchIndex);
  const g = s?.generations ?? [];
  // Several generation events can share an `evaluated` count (batches): keep the last.
  const byX = new Map<number, GenerationPoint>();
  for (const p of g) byX.set(p.evaluated, p);
  const pts = [...byX.values()].sort((a, b) => a.evaluated - b.evaluated);
  return {
    x: pts.map((p) => p.evaluated),
    best: pts.map((p) => p.best),
    mean: pts.map((p) => p.mean),
    median: pts.map((p) => p.median),
    bestEver: pts.map((p) => p.bestEver),
    baseline: pts.map(() => s?.baselineFitness ?? null),
  };
}

export type ScatterAxis = 'time' | 'size';

/** Evaluated candidates of one search: x (time or size), y (full-stage fitness; quick-stage only in the second column). */
export function scatter(m: EvoModel, searchIndex: number, axis: ScatterAxis): { x: number[]; full: (number | null)[]; quick: (number | null)[]; ids: number[] } {
  const pts = [...m.candidates.values()]
    .filter((c) => c.search === searchIndex && (c.fitness !== null || c.stage1 !== null))
    .map((c) => ({ x: axis === 'time' ? c.t ?? 0 : c.size, c }))
    .sort((a, b) => a.x - b.x || a.c.id - b.c.id);
  return {
    x: pts.map((p) => p.x),
    full: pts.map((p) => p.c.fitness),
    quick: pts.map((p) => (p.c.fitness === null ? p.c.stage1 : null)),
    ids: pts.map((p) => p.c.id),
  };
}

export const REASON_LABEL: Record<string, string> = {
  checker: 'checker error',
  'no-target': 'ignores the target',
  'no-prediction': 'ignores the prediction',
  'integrity-non-finite': 'non-finite values',
  'integrity-flat': 'flat in pt',
  'integrity-extremum': 'interior extremum',
  'integrity-oscillating': 'oscillating',
  'duplicate-text': 'duplicate (text)',
  'duplicate-phenotype': 'duplicate (behaviour)',
  'logits-protocol': 'failed the logits protocol',
};

/** Rejections by reason: of one search, or of the whole run when `search` is omitted. */
export function rejections(m: EvoModel, search?: number): { reason: string; label: string; count: number; share: number; meanMs: number }[] {
  const table = search === undefined ? m.rejected : (m.rejectedBySearch.get(search) ?? new Map<string, { count: number; ms: number }>());
  const total = [...table.values()].reduce((a, r) => a + r.count, 0);
  return [...table.entries()]
    .map(([reason, r]) => ({ reason, label: REASON_LABEL[reason] ?? reason, count: r.count, share: total ? r.count / total : 0, meanMs: r.count ? r.ms / r.count : 0 }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

export interface TopEntry {
  rank: number;
  search: number;
  augment: string;
  id: number;
  loss: string;
  fitness: number;
  stage1: number | null;
  origin: string;
  /** Its .loss file in the run folder (finished runs: best-AUG-RANK.loss). */
  file?: string;
}

/** The k best candidates by full-stage fitness (ties: the earlier id first), per search or all. */
export function topK(m: EvoModel, k: number, searchIndex: number | 'all' = 'all'): TopEntry[] {
  const cs = [...m.candidates.values()].filter((c) => c.fitness !== null && c.status === 'evaluated' && c.loss && (searchIndex === 'all' || c.search === searchIndex));
  cs.sort((a, b) => (b.fitness as number) - (a.fitness as number) || a.search - b.search || a.id - b.id);
  const ranks = new Map<number, number>();
  return cs.slice(0, k).map((c, i) => {
    const augment = m.searches.find((s) => s.index === c.search)?.augment ?? '';
    const r = (ranks.get(c.search) ?? 0) + 1;
    ranks.set(c.search, r);
    return { rank: i + 1, search: c.search, augment, id: c.id, loss: c.loss, fitness: c.fitness as number, stage1: c.stage1, origin: c.origin };
  });
}

export function evoMetadata(m: EvoModel): [string, string][] {
  const ms = m.startMs !== null && m.lastMs !== null ? m.lastMs - m.startMs : null;
  const evaluated = [...m.candidates.values()].filter((c) => c.stage1 !== null || c.fitness !== null).length;
  const rejected = [...m.rejected.values()].reduce((a, r) => a + r.count, 0);
  return [
    ['Run', m.runId],
    ['Status', m.status],
    ['Engine', m.compute.length ? m.compute.map(computeLine).join('; ') : (m.backend ?? (m.status === 'running' ? 'reported at the end' : '—'))],
    ['Augmentations', m.augments.join(', ') || '—'],
    ['Population / sample', m.population ? `${m.population} / ${m.sample}` : '—'],
    ['Steps per search', m.steps ? String(m.steps) : '—'],
    ['Proposed / evaluated / rejected', `${m.proposed} / ${evaluated} / ${rejected}`],
    ['Started', m.created ? m.created.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—'],
    ['Elapsed', duration(ms)],
  ];
}

export function topCsv(m: EvoModel, k: number): string {
  return toCsv(
    ['rank', 'augment', 'id', 'fitness', 'stage1', 'origin', 'loss'],
    topK(m, k).map((t) => [t.rank, t.augment, t.id, t.fitness, t.stage1, t.origin, t.loss]),
  );
}

export const fmtFitness = (x: number | null): string => pct(x);
export { num };
