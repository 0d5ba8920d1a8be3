/**
 * The transfer ladder (`evolve --transfer`): a surrogate winner need not win on a larger model,
 * another dataset or another augmentation (the seed paper's own point), so after the search the
 * top-k of every search and CE are re-trained at each step of the ladder (the surrogate again,
 * then e.g. resnet9 or another dataset, then on the torch engine wrn-16-4 or wrn-28-10 on CIFAR)
 * under every augmentation searched, on fresh seeds, each loss at its own tuned learning rate
 * when `surrogate.tuneLr` is set (every grid rate on one tuning seed, the best kept). Each row
 * is paired with CE at the same step, augmentation and seeds over the seeds where both
 * completed; Holm's adjustment runs over every row of the ladder and the verdict tells which
 * losses survive each step. A deterministic list of jobs in the checkpoint, like the final
 * re-training: a killed run resumes without repeating a finished training.
 */
import type { TransferRow } from '../../../protocol/evolve-events';
import { comparisonJson, holmAdjust, pairedComparison, verdictOf } from '../run/stats';
import type { EvolveConfig, TransferStep } from './config';
import { LOSS_NAME } from './genome';
import { CancelledError, CE_SOURCE, pool, type CandidateRecord, type Evaluate, type PhaseJob, type Search } from './search';

/** One training of the ladder (CE: each search's own CE, id -1). */
export interface TransferJob extends PhaseJob {
  step: number;
  /** Candidate id; -1 for CE. */
  id: number;
  seed: number;
  /** A tuning job: trains at `lr` on the tuning seed; its fitness picks the rate. */
  tune?: boolean;
}

export interface TransferState {
  /** The rate chosen per step, search, candidate (-1: CE) and augmentation, once its tuning finished. */
  chosen: Record<string, number>;
  jobs: TransferJob[];
}

/** Fresh seeds of step k: disjoint from the search's seed, the final re-training's and every other step's. */
export function transferSeeds(cfg: EvolveConfig, step: number): number[] {
  return Array.from({ length: cfg.finalSeeds }, (_, i) => cfg.surrogate.seed + 1000 * (step + 1) + i);
}

const tuneSeed = (cfg: EvolveConfig, step: number): number => cfg.surrogate.seed + 1000 * (step + 1) + 500;

const chosenKey = (step: number, from: number, id: number, augment: string): string => `${step}:${from}:${id}:${augment}`;

function override(st: TransferStep): NonNullable<Parameters<Evaluate>[0]['surrogate']> {
  // Another dataset than the surrogate's is used whole unless the step says otherwise.
  return { ...(st.model ? { model: st.model } : {}), ...(st.dataset ? { dataset: st.dataset, maxTrain: st.maxTrain ?? null } : st.maxTrain ? { maxTrain: st.maxTrain } : {}) };
}

/** Runs (or resumes) the ladder; `state` is saved after every finished training. */
export async function transferPhase(
  cfg: EvolveConfig,
  state: { transfer?: TransferState | null },
  searches: Search[],
  evaluate: Evaluate,
  concurrency: number,
  save: () => void,
  emit: (e: { type: string; [k: string]: unknown }) => void,
  log: (s: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const steps = cfg.transfer ?? [];
  const augments = searches.map((s) => s.st.augment);
  const grid = cfg.surrogate.tuneLr;
  const stage = cfg.surrogate.stage2 ? 2 : 1;
  if (!state.transfer) {
    state.transfer = { chosen: {}, jobs: [] };
    save();
  }
  const ts = state.transfer;
  const losses: { from: number; rank: number; rec: CandidateRecord }[] = [];
  searches.forEach((s, si) => {
    s.best(cfg.topK).forEach((rec, r) => losses.push({ from: si, rank: r + 1, rec }));
    losses.push({ from: si, rank: 0, rec: s.st.baseline });
  });
  const run = async (jobs: TransferJob[]): Promise<void> => {
    await pool(
      jobs.filter((j) => !j.outcome).map((j) => async () => {
        if (signal?.aborted) throw new CancelledError();
        const outcome = await evaluate({
          key: j.key, source: j.text, lossName: LOSS_NAME, stage, augment: j.augment, seed: j.seed,
          ...(j.lr ? { lr: j.lr } : {}), surrogate: override(steps[j.step]),
        });
        if (signal?.aborted || outcome.status === 'cancelled') throw new CancelledError();
        j.outcome = outcome;
        emit({ type: 'transfer-evaluated', key: j.key, step: j.step, from: j.from, id: j.id, augment: j.augment, seed: j.seed, tune: !!j.tune, lr: j.lr ?? null, fitness: j.outcome.fitness, testAcc: j.outcome.testAcc ?? null });
        save();
      }),
      concurrency,
    );
  };
  const labels = steps.map((st) => st.label);
  const total = steps.length * losses.length * augments.length * ((grid?.length ?? 0) + cfg.finalSeeds);
  emit({ type: 'transfer-start', steps: labels, total });
  for (const [k, st] of steps.entries()) {
    const seeds = transferSeeds(cfg, k);
    if (!ts.jobs.some((j) => j.step === k)) {
      log(`transfer step ${k + 1}/${steps.length} (${st.label}): the top ${cfg.topK} of each search and CE under ${augments.join(', ')}, ${seeds.length} fresh seeds${grid ? `, learning rate tuned on ${grid.join(', ')}` : ''}`);
      for (const { from, rank, rec } of losses) {
        const id = rank === 0 ? -1 : rec.id;
        for (const augment of augments) {
          const base = { step: k, from, rank, id, loss: rec.loss, text: rank === 0 ? CE_SOURCE : rec.text, augment };
          if (grid) grid.forEach((lr, i) => ts.jobs.push({ ...base, key: `t${k}:${from}:${id}:${augment}:lr${i}`, seed: tuneSeed(cfg, k), tune: true, lr }));
          else for (const seed of seeds) ts.jobs.push({ ...base, key: `t${k}:${from}:${id}:${augment}:${seed}`, seed });
        }
      }
      save();
    }
    const mine = ts.jobs.filter((j) => j.step === k);
    await run(mine.filter((j) => j.tune));
    if (grid && !mine.some((j) => !j.tune)) {
      // Each loss at its best rate on the tuning seed (the first rate when none completed).
      for (const { from, rank, rec } of losses) {
        const id = rank === 0 ? -1 : rec.id;
        for (const augment of augments) {
          const tuned = mine.filter((j) => j.tune && j.from === from && j.id === id && j.augment === augment);
          let best: TransferJob | undefined;
          for (const j of tuned) if (j.outcome?.status === 'completed' && j.outcome.fitness !== null && (!best || j.outcome.fitness > best.outcome!.fitness!)) best = j;
          const lr = best?.lr ?? grid[0];
          ts.chosen[chosenKey(k, from, id, augment)] = lr;
          for (const seed of seeds) {
            ts.jobs.push({ step: k, from, rank, id, loss: rec.loss, text: rank === 0 ? CE_SOURCE : rec.text, augment, key: `t${k}:${from}:${id}:${augment}:${seed}`, seed, lr });
          }
        }
      }
      save();
    }
    await run(ts.jobs.filter((j) => j.step === k && !j.tune));
    const rows = transferRows(cfg, ts);
    emit({ type: 'transfer-rows', steps: labels, rows });
    const here = rows.filter((r) => r.step === k);
    log(`transfer step ${k + 1}/${steps.length} (${st.label}) done, ${ts.jobs.filter((j) => j.outcome).length} of ${total} ladder trainings: ${['better', 'worse', 'no-difference', 'inconclusive'].map((v) => `${here.filter((r) => r.test?.verdict === v || (v === 'inconclusive' && !r.test)).length} ${v}`).join(', ')} vs CE`);
  }
}

/** The ladder's rows: each loss (not CE) per step and augmentation, paired with CE; Holm over all rows. */
export function transferRows(cfg: EvolveConfig, ts: TransferState | null | undefined): TransferRow[] {
  if (!ts) return [];
  const rows: TransferRow[] = [];
  const steps = cfg.transfer ?? [];
  const main = ts.jobs.filter((j) => !j.tune && j.outcome);
  const groups = new Map<string, TransferJob[]>();
  for (const j of main) {
    const k = `${j.step}\u0000${j.from}\u0000${j.id}\u0000${j.augment}`;
    groups.set(k, [...(groups.get(k) ?? []), j]);
  }
  for (const js of groups.values()) {
    const j0 = js[0];
    if (j0.id === -1) continue;
    const ce = groups.get(`${j0.step}\u0000${j0.from}\u0000-1\u0000${j0.augment}`) ?? [];
    const acc = (j?: TransferJob): number | null => (j?.outcome?.status === 'completed' ? (j.outcome.testAcc ?? null) : null);
    const seeds = js.map((j) => j.seed).sort((a, b) => a - b);
    const mineAcc = seeds.map((sd) => acc(js.find((j) => j.seed === sd)));
    const ceAcc = seeds.map((sd) => acc(ce.find((j) => j.seed === sd)));
    const both = mineAcc.map((v, i) => [v, ceAcc[i]] as const).filter((x): x is readonly [number, number] => x[0] !== null && x[1] !== null);
    const c = both.length ? pairedComparison(both.map((x) => x[0]), both.map((x) => x[1])) : null;
    rows.push({
      step: j0.step, stepLabel: steps[j0.step]?.label ?? String(j0.step), augment: j0.augment, from: j0.from, rank: j0.rank, id: j0.id, loss: j0.loss,
      lr: j0.lr ?? null, ceLr: ce[0]?.lr ?? null, seeds, testAcc: mineAcc, ceTestAcc: ceAcc,
      test: c ? comparisonJson(c) : null,
      excluded: seeds.length - both.length,
    });
  }
  rows.sort((a, b) => a.from - b.from || a.rank - b.rank || a.step - b.step || a.augment.localeCompare(b.augment));
  const adj = holmAdjust(rows.map((r) => r.test?.pValue ?? null));
  rows.forEach((r, i) => {
    if (!r.test) return;
    r.test.pAdjusted = adj[i];
    r.test.verdict = verdictOf(r.test.n ?? 0, r.test.meanDiff, adj[i]);
  });
  return rows;
}
