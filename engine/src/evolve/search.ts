/**
 * Regularized (aging) evolution over DSL loss expressions, with the seed system's two-stage
 * fitness and initial screening, as a resumable state machine.
 *
 * Determinism: every random draw comes from one Rng whose state is part of the checkpoint;
 * children are proposed `batch` at a time from the population as it stands, evaluated in
 * parallel, and enter the population in proposal order, so the outcome does not depend on
 * which evaluation finishes first. Each evaluation is deterministic given its job (all
 * candidates and the CE baseline train with the same surrogate seed). The state is saved after
 * every finished evaluation; resuming re-runs only the evaluations whose results were not saved,
 * and a search resumed after a kill ends with the same population as one never interrupted.
 *
 * Phases of one search: baseline (CE, both stages) -> init-propose (seeds + random candidates
 * through the rejection rules) -> init-s1 (cheap fitness for all) -> init-s2 (full fitness for
 * the best `population`) -> evolve (batches of children) -> done.
 */
import { Rng, type RngState } from '../rng';
import type { EvolveConfig } from './config';
import type { ModelSpec } from '../compute/types';
import {
  crossover,
  genomeFromSource,
  genomeText,
  LOSS_NAME,
  mutate,
  pruneParams,
  randomGenome,
  isSegmentation,
  withinLimits,
  type FunctionSet,
  type Genome,
  type Limits,
} from './genome';
import { Archive, archivePhenotype, screen, type ScreenOptions } from './reject';

export const CE_SOURCE = `# cross-entropy, the baseline\nloss ${LOSS_NAME} = -sum(y * log_softmax(logits))\n`;

/** The baseline of a segmentation search: cross-entropy per pixel, averaged over the image. */
export const SEG_CE_SOURCE = `# cross-entropy per pixel, the baseline\ntask segmentation\nloss ${LOSS_NAME} = mean_px(-sum(y * log_softmax(logits)))\n`;

/** The baseline loss of a search of this task: its source and its expression. */
export function baselineOf(cfg: Pick<EvolveConfig, 'task'>): { text: string; loss: string; detail: string } {
  return cfg.task === 'segmentation'
    ? { text: SEG_CE_SOURCE, loss: 'mean_px(-sum(y * log_softmax(logits)))', detail: 'cross-entropy per pixel' }
    : { text: CE_SOURCE, loss: '-sum(y * log_softmax(logits))', detail: 'cross-entropy' };
}

export interface EvalJob {
  /** Unique within the run: `<search>:<candidate>:s<stage>` (or a cross-table key). */
  key: string;
  /** A whole `.loss` file; the loss is named `candidate`. */
  source: string;
  lossName: string;
  stage: 1 | 2;
  augment: string;
  /** Training seed (default: the surrogate's). */
  seed?: number;
  /** Peak learning rate (default: the surrogate's). */
  lr?: number;
  /** Another model / dataset than the surrogate's (the transfer ladder). */
  surrogate?: { model?: ModelSpec; dataset?: string; maxTrain?: number | null };
}

export interface EvalOutcome {
  status: 'completed' | 'nan' | 'early-stopped' | 'cancelled' | 'error';
  /** Best validation accuracy; null when training failed. */
  fitness: number | null;
  wallMs: number;
  reason?: string;
  backend?: string;
  /** Test accuracy of the best-validation weights (when the surrogate reports it). */
  testAcc?: number | null;
  /** The learning rate it trained at (under tuneLr: the grid point its fitness came from). */
  lr?: number;
  /** Under tuneLr, stage 1: the fitness at each grid point (null where the training did not complete). */
  grid?: (number | null)[];
}

export type Evaluate = (job: EvalJob) => Promise<EvalOutcome>;

/** A training of a chosen loss after the search (cross table, final re-training, transfer ladder), kept in the checkpoint. */
export interface PhaseJob {
  key: string;
  /** Index of the search the loss comes from (-1 for CE in the cross table). */
  from: number;
  /** 1-based rank in its search; 0 for CE. */
  rank: number;
  loss: string;
  text: string;
  augment: string;
  /** Its tuned learning rate (surrogate.tuneLr), when there is one. */
  lr?: number;
  outcome?: EvalOutcome;
}

/**
 * The outcome of a grid of trainings: the completed one with the best fitness (the first on a
 * tie), with its rate, the fitness at every rate and the grid's total time; the first failure
 * when none completed.
 */
export function bestOfGrid(outs: EvalOutcome[], grid: number[]): EvalOutcome {
  let best = -1;
  outs.forEach((o, i) => {
    if (o.status === 'completed' && o.fitness !== null && (best < 0 || o.fitness > (outs[best].fitness as number))) best = i;
  });
  const wallMs = outs.reduce((a, o) => a + o.wallMs, 0);
  const gridFit = outs.map((o) => (o.status === 'completed' ? o.fitness : null));
  const pick = best >= 0 ? outs[best] : outs[0];
  return { ...pick, wallMs, lr: grid[best >= 0 ? best : 0], grid: gridFit };
}

export type CandidateStatus = 'pending' | 'evaluated' | 'filtered' | 'failed';

export interface CandidateRecord {
  id: number;
  /** The `.loss` file text. */
  text: string;
  /** One line: the loss expression. */
  loss: string;
  origin: 'baseline' | 'seed' | 'random' | 'child';
  parent: number | null;
  parent2: number | null;
  mutation: string;
  detail: string;
  flipped: boolean;
  s1?: EvalOutcome;
  s2?: EvalOutcome;
  fitness: number | null;
  status: CandidateStatus;
}

export interface SearchStats {
  proposed: number;
  accepted: number;
  rejected: Record<string, number>;
  /** Total screening time of the rejected, per reason (ms). */
  rejectMs: Record<string, number>;
  acceptMs: number;
  /** Mutations outside the depth/size limits (redrawn before screening). */
  overLimits: number;
  evaluations: number;
  evaluationMs: number;
  filtered: number;
  failed: Record<string, number>;
}

export type Phase = 'baseline' | 'init-propose' | 'init-s1' | 'init-s2' | 'evolve' | 'done';

export interface SearchState {
  index: number;
  augment: string;
  phase: Phase;
  rng: RngState;
  nextId: number;
  baseline: CandidateRecord;
  /** Every candidate that passed the rejection rules, by id. */
  cands: Record<string, CandidateRecord>;
  /** Oldest first. */
  population: { id: number; age: number }[];
  initIds: number[];
  initTop: number[];
  /** Children of the batch under evaluation. */
  batch: number[] | null;
  childrenEvaluated: number;
  generation: number;
  /** Canonical keys and phenotype texts of the archive, to rebuild it on resume. */
  seenKeys: string[];
  seenCurves: string[];
  stats: SearchStats;
}

export interface SearchHooks {
  evaluate: Evaluate;
  emit: (event: { type: string; [k: string]: unknown }) => void;
  /** Called after every change worth keeping (each evaluation, each batch). */
  save: () => void;
  concurrency: number;
  signal?: AbortSignal;
}

export function newSearchState(cfg: EvolveConfig, index: number, augment: string): SearchState {
  return {
    index,
    augment,
    phase: 'baseline',
    rng: Rng.derive(cfg.seed, 'evolve', index).state(),
    nextId: 1,
    baseline: {
      id: 0, text: baselineOf(cfg).text, loss: baselineOf(cfg).loss, origin: 'baseline', parent: null, parent2: null,
      mutation: 'baseline', detail: baselineOf(cfg).detail, flipped: false, fitness: null, status: 'pending',
    },
    cands: {},
    population: [],
    initIds: [],
    initTop: [],
    batch: null,
    childrenEvaluated: 0,
    generation: 0,
    seenKeys: [],
    seenCurves: [],
    stats: { proposed: 0, accepted: 0, rejected: {}, rejectMs: {}, acceptMs: 0, overLimits: 0, evaluations: 0, evaluationMs: 0, filtered: 0, failed: {} },
  };
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

/** Runs `fns` with at most `n` at a time; rejects on the first error after the others settle. */
export async function pool(fns: (() => Promise<void>)[], n: number): Promise<void> {
  let next = 0;
  let err: unknown;
  const worker = async (): Promise<void> => {
    while (next < fns.length && err === undefined) {
      const f = fns[next++];
      try {
        await f();
      } catch (e) {
        if (err === undefined) err = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, fns.length)) }, worker));
  if (err !== undefined) throw err;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** One search (one augmentation). */
export class Search {
  readonly rng: Rng;
  readonly archive = new Archive();
  private readonly fs: FunctionSet;
  private readonly limits: Limits;
  private readonly screenOpts: ScreenOptions;

  constructor(readonly cfg: EvolveConfig, readonly st: SearchState, private readonly hooks: SearchHooks) {
    this.rng = new Rng(st.rng);
    this.fs = cfg.functionSet;
    this.limits = { maxDepth: cfg.maxDepth, maxSize: cfg.maxSize };
    this.screenOpts = { phenotypeTolerance: cfg.screen.phenotypeTolerance, logits: cfg.screen.logits };
    for (const k of st.seenKeys) this.archive.addKey(k);
    for (const t of st.seenCurves) archivePhenotype(t, this.archive);
  }

  /** Copies the live Rng state into the saved state, then saves. */
  private save(): void {
    this.st.rng = this.rng.state();
    this.hooks.save();
  }

  private emit(type: string, data: Record<string, unknown>): void {
    this.hooks.emit({ type, search: this.st.index, ...data });
  }

  private check(): void {
    if (this.hooks.signal?.aborted) throw new CancelledError();
  }

  get passRatio(): number {
    return this.cfg.surrogate.stage1.passRatio;
  }

  // ---------------------------------------------------------------- proposals

  /** Screens a genome; on success records it as a candidate and returns it. */
  private propose(g: Genome, origin: CandidateRecord['origin'], parent: number | null, parent2: number | null, mutation: string, detail: string): CandidateRecord | null {
    const st = this.st;
    const id = st.nextId++;
    st.stats.proposed++;
    this.emit('candidate-proposed', { id, origin, parent, parent2, mutation, detail, loss: genomeText(g) });
    const r = screen(g, this.archive, this.screenOpts);
    if (r.key && (r.ok || r.reason !== 'duplicate-text')) st.seenKeys.push(r.key);
    if (r.ok) st.seenCurves.push(r.text);
    else if (r.text) st.seenCurves.push(r.text);
    if (!r.ok) {
      st.stats.rejected[r.reason] = (st.stats.rejected[r.reason] ?? 0) + 1;
      st.stats.rejectMs[r.reason] = (st.stats.rejectMs[r.reason] ?? 0) + r.ms;
      this.emit('candidate-rejected', { id, reason: r.reason, detail: r.detail, ms: round(r.ms) });
      return null;
    }
    st.stats.accepted++;
    st.stats.acceptMs += r.ms;
    const rec: CandidateRecord = {
      id, text: r.text, loss: genomeText(r.genome), origin, parent, parent2, mutation, detail, flipped: r.flipped, fitness: null, status: 'pending',
    };
    st.cands[id] = rec;
    this.emit('candidate-accepted', { id, loss: rec.loss, flipped: r.flipped, logitsAcc: r.logitsAcc, ms: round(r.ms) });
    return rec;
  }

  private genomeOf(id: number): Genome {
    return genomeFromSource(this.st.cands[id].text, LOSS_NAME);
  }

  private tournament(): number {
    const pop = this.st.population;
    let best = -1;
    for (let i = 0; i < this.cfg.sample; i++) {
      const m = pop[this.rng.int(pop.length)];
      if (best < 0 || (this.st.cands[m.id].fitness ?? -1) > (this.st.cands[best].fitness ?? -1)) best = m.id;
    }
    return best;
  }

  /** One child: tournament parent(s), mutation or crossover, redrawn until it passes screening. */
  private proposeChild(): CandidateRecord | null {
    for (let attempt = 0; attempt < this.cfg.maxAttempts; attempt++) {
      this.check();
      const p1 = this.tournament();
      const g1 = this.genomeOf(p1);
      let p2: number | null = null;
      let m;
      if (this.cfg.crossover > 0 && this.st.population.length > 1 && this.rng.next() < this.cfg.crossover) {
        p2 = this.tournament();
        const g2 = this.genomeOf(p2);
        m = g1.form === g2.form ? crossover(g1, g2, this.rng) : mutate(g1, this.rng, this.fs, this.cfg.mutation);
        if (m.kind !== 'crossover') p2 = null;
      } else {
        m = mutate(g1, this.rng, this.fs, this.cfg.mutation);
      }
      const child = pruneParams(m.genome);
      if (!withinLimits(child, this.limits, g1)) {
        this.st.stats.overLimits++;
        continue;
      }
      const rec = this.propose(child, 'child', p1, p2, m.kind, m.detail);
      if (rec) return rec;
    }
    return null;
  }

  // ---------------------------------------------------------------- evaluation

  private async runStage(rec: CandidateRecord, stage: 1 | 2): Promise<EvalOutcome> {
    this.check();
    const job: EvalJob = { key: `${this.st.index}:${rec.id}:s${stage}`, source: rec.text, lossName: LOSS_NAME, stage, augment: this.st.augment };
    const grid = this.cfg.surrogate.tuneLr;
    // Learning-rate tuning by successive halving: the quick stage at every rate of the grid,
    // the full stage only at the rate that did best, so a loss wins only at its best rate.
    const out = !grid
      ? await this.hooks.evaluate(job)
      : stage === 1 || !rec.s1?.lr
        ? bestOfGrid(await Promise.all(grid.map((lr, i) => this.hooks.evaluate({ ...job, key: `${job.key}:lr${i}`, lr }))), grid)
        : { ...(await this.hooks.evaluate({ ...job, lr: rec.s1.lr })), lr: rec.s1.lr };
    this.check();
    this.st.stats.evaluations++;
    this.st.stats.evaluationMs += out.wallMs;
    this.emit('candidate-evaluated', { id: rec.id, stage, status: out.status, fitness: out.fitness, ms: round(out.wallMs), ...(out.reason ? { reason: out.reason } : {}) });
    return out;
  }

  private failed(rec: CandidateRecord, o: EvalOutcome): void {
    if (rec.status === 'failed') return;
    rec.status = 'failed';
    rec.fitness = null;
    const k = o.status === 'completed' ? 'no-accuracy' : o.status;
    this.st.stats.failed[k] = (this.st.stats.failed[k] ?? 0) + 1;
  }

  /** Stage 1, then (if it passes and there is a stage 2) stage 2; sets status and fitness. */
  private async evaluateCandidate(rec: CandidateRecord, forceStage2 = false, onlyStage1 = false): Promise<void> {
    if (!rec.s1) {
      rec.s1 = await this.runStage(rec, 1);
      this.save();
    }
    if (rec.s1.status !== 'completed' || rec.s1.fitness === null) return this.failed(rec, rec.s1);
    if (onlyStage1) return;
    const stage2 = this.cfg.surrogate.stage2;
    if (!stage2) {
      rec.fitness = rec.s1.fitness;
      rec.status = 'evaluated';
      return;
    }
    const base1 = this.st.baseline.s1?.fitness ?? 0;
    if (!forceStage2 && rec.s1.fitness < this.passRatio * base1) {
      if (rec.status !== 'filtered') this.st.stats.filtered++;
      rec.status = 'filtered';
      rec.fitness = null;
      return;
    }
    if (!rec.s2) {
      rec.s2 = await this.runStage(rec, 2);
      this.save();
    }
    if (rec.s2.status !== 'completed' || rec.s2.fitness === null) return this.failed(rec, rec.s2);
    rec.fitness = rec.s2.fitness;
    rec.status = 'evaluated';
  }

  private async evaluateAll(recs: CandidateRecord[], opts: { force?: boolean; only1?: boolean } = {}): Promise<void> {
    await pool(recs.map((r) => () => this.evaluateCandidate(r, opts.force, opts.only1)), this.hooks.concurrency);
  }

  // ---------------------------------------------------------------- phases

  async run(): Promise<void> {
    const st = this.st;
    if (st.phase === 'baseline') {
      this.emit('search-start', { augment: st.augment });
      await this.evaluateCandidate(st.baseline, true);
      if (st.baseline.fitness === null) throw new Error(`the CE baseline failed to train (${st.baseline.s1?.reason ?? st.baseline.s2?.reason ?? 'no accuracy'})`);
      this.emit('baseline', { augment: st.augment, stage1: st.baseline.s1?.fitness ?? null, fitness: st.baseline.fitness });
      st.phase = 'init-propose';
      this.save();
    }
    if (st.phase === 'init-propose') {
      this.proposeInitial();
      st.phase = 'init-s1';
      this.save();
    }
    if (st.phase === 'init-s1') {
      await this.evaluateAll(st.initIds.map((id) => st.cands[id]), { only1: true });
      const ok = st.initIds.filter((id) => st.cands[id].s1?.status === 'completed' && st.cands[id].s1?.fitness !== null);
      ok.sort((a, b) => st.cands[b].s1!.fitness! - st.cands[a].s1!.fitness! || a - b);
      st.initTop = ok.slice(0, this.cfg.population);
      for (const id of st.initIds) if (!st.initTop.includes(id) && st.cands[id].status === 'pending') st.cands[id].status = 'filtered';
      st.phase = 'init-s2';
      this.save();
    }
    if (st.phase === 'init-s2') {
      await this.evaluateAll(st.initTop.map((id) => st.cands[id]), { force: true });
      st.population = st.initTop.filter((id) => st.cands[id].fitness !== null).map((id) => ({ id, age: 0 }));
      if (st.population.length === 0) throw new Error('no initial candidate could be trained: the population is empty');
      st.phase = 'evolve';
      this.summary();
      this.save();
    }
    if (st.phase === 'evolve') {
      while (st.childrenEvaluated < this.cfg.steps) {
        this.check();
        if (!st.batch) {
          const n = Math.min(this.cfg.batch, this.cfg.steps - st.childrenEvaluated);
          const ids: number[] = [];
          for (let i = 0; i < n; i++) {
            const rec = this.proposeChild();
            if (!rec) break;
            ids.push(rec.id);
          }
          if (!ids.length) {
            this.emit('search-stalled', { reason: `no valid new child in ${this.cfg.maxAttempts} attempts` });
            break;
          }
          st.batch = ids;
          this.save();
        }
        await this.evaluateAll(st.batch.map((id) => st.cands[id]));
        for (const id of st.batch) this.integrate(id);
        st.childrenEvaluated += st.batch.length;
        st.batch = null;
        st.generation++;
        this.summary();
        this.save();
      }
      st.phase = 'done';
      this.save();
      this.emit('search-end', { augment: st.augment, best: this.best(1).map((r) => ({ id: r.id, loss: r.loss, fitness: r.fitness })), baselineFitness: st.baseline.fitness });
    }
  }

  private proposeInitial(): void {
    const st = this.st;
    const want = this.cfg.initialCandidates;
    for (const sd of this.cfg.seeds) {
      let g: Genome;
      try {
        g = genomeFromSource(sd.source, sd.loss);
      } catch (e) {
        this.emit('seed-invalid', { name: sd.name, reason: (e as Error).message });
        continue;
      }
      if (isSegmentation(g) !== (this.cfg.task === 'segmentation')) {
        this.emit('seed-invalid', { name: sd.name, reason: `a ${isSegmentation(g) ? 'segmentation' : 'classification'} loss in a ${this.cfg.task} search` });
        continue;
      }
      const rec = this.propose(g, 'seed', null, null, 'seed', sd.name);
      if (rec) st.initIds.push(rec.id);
    }
    let attempts = 0;
    while (st.initIds.length < want && attempts++ < want * this.cfg.maxAttempts) {
      this.check();
      const g = randomGenome(this.rng, this.fs, this.limits, this.cfg.initDepth, this.cfg.form);
      const rec = this.propose(g, 'random', null, null, 'random', 'random expression');
      if (rec) st.initIds.push(rec.id);
    }
  }

  /** A child enters the population (if it has a fitness): everyone ages, one member leaves. */
  private integrate(id: number): void {
    const st = this.st;
    const rec = st.cands[id];
    if (rec.fitness === null) return;
    for (const m of st.population) m.age++;
    st.population.push({ id, age: 0 });
    if (st.population.length <= this.cfg.population) return;
    let out = 0;
    if (this.cfg.replace === 'worst-of-oldest') {
      // Among the members at least as old as the k-th oldest, the least fit leaves.
      const ages = st.population.map((m) => m.age).sort((a, b) => b - a);
      const cut = ages[Math.min(this.cfg.oldestPool, ages.length) - 1];
      let worst = Infinity;
      st.population.forEach((m, i) => {
        const f = st.cands[m.id].fitness ?? -1;
        if (m.age >= cut && f < worst) {
          worst = f;
          out = i;
        }
      });
    }
    const [gone] = st.population.splice(out, 1);
    this.emit('candidate-retired', { id: gone.id, age: gone.age, fitness: st.cands[gone.id].fitness });
  }

  private summary(): void {
    const st = this.st;
    const fit = st.population.map((m) => st.cands[m.id].fitness ?? 0);
    const bestEver = this.best(1)[0];
    this.emit('generation', {
      generation: st.generation,
      evaluated: st.childrenEvaluated,
      population: st.population.length,
      best: Math.max(...fit),
      mean: fit.reduce((a, b) => a + b, 0) / fit.length,
      median: median(fit),
      bestEver: bestEver ? { id: bestEver.id, fitness: bestEver.fitness, loss: bestEver.loss } : null,
      baselineFitness: st.baseline.fitness,
      proposed: st.stats.proposed,
      rejected: st.stats.rejected,
    });
  }

  /** The k fittest candidates evaluated so far (ties: the older first). */
  best(k: number): CandidateRecord[] {
    return Object.values(this.st.cands)
      .filter((r) => r.status === 'evaluated' && r.fitness !== null)
      .sort((a, b) => b.fitness! - a.fitness! || a.id - b.id)
      .slice(0, k);
  }

  /** Fitness of the initial population (before any child). */
  initialBest(): number | null {
    const f = this.st.initTop.map((id) => this.st.cands[id].fitness).filter((v): v is number => v !== null);
    return f.length ? Math.max(...f) : null;
  }

  /** Parent chain of a candidate, newest first. */
  lineage(id: number): CandidateRecord[] {
    const out: CandidateRecord[] = [];
    let cur: CandidateRecord | undefined = this.st.cands[id];
    while (cur && out.length < 1000) {
      out.push(cur);
      cur = cur.parent !== null ? this.st.cands[cur.parent] : undefined;
    }
    return out;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
