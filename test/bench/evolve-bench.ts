/**
 * Evolution benchmark, on this machine:
 *
 * 1. Screening: children proposed and screened per minute, with the rejection rate and mean
 *    cost (ms) of each rejection rule, from a search whose fitness is instant (so only the
 *    proposal pipeline is timed): 400 children from a population of 32.
 * 2. End to end with the default surrogate (MLP 784-128-10 on 4000 MNIST images, stage 1:
 *    40 steps, stage 2: 4 x 50 steps): a short search (population 8, 8 initial candidates,
 *    16 children) with 1 worker and with one worker per core; candidates proposed, rejected
 *    and fully evaluated per minute, and the speed-up from the parallel workers.
 *
 * Run alone: npx tsc -b && node -e "require('./out/test/bench/evolve-bench.js').runEvolveBench()"
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveConfig } from '../../engine/src/evolve/config';
import { runEvolve } from '../../engine/src/evolve/run';
import type { EvalOutcome } from '../../engine/src/evolve/search';
import { REJECT_REASONS } from '../../engine/src/evolve/reject';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'lossmith-evolve-bench-'));

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

const pad = (s: string | number, n: number): string => String(s).padStart(n);

export async function screeningBench(): Promise<void> {
  const cfg = resolveConfig({ population: 32, sample: 8, steps: 400, initialCandidates: 32, workers: 1, seed: 7 });
  const instant = async (job: { source: string; stage: number }): Promise<EvalOutcome> => {
    const f = 0.85 + (hash(job.source) % 1000) / 10000;
    return { status: 'completed', fitness: job.stage === 1 ? f - 0.05 : f, wallMs: 0 };
  };
  const t0 = performance.now();
  const res = await runEvolve({ root: tmp(), config: cfg, evaluate: instant });
  const min = (performance.now() - t0) / 60000;
  const s = res.summary;
  console.log(`screening (instant fitness; population 32, 400 children): ${s.proposed} proposed in ${(min * 60).toFixed(1)} s`);
  console.log(`  ${(s.proposed / min).toFixed(0)} proposed/min, ${(s.accepted / min).toFixed(0)} accepted/min (${((100 * s.accepted) / s.proposed).toFixed(1)} % accepted)`);
  console.log(`  ${'rule'.padEnd(24)} ${pad('rejected', 9)} ${pad('% of prop.', 10)} ${pad('mean ms', 8)}`);
  for (const r of REJECT_REASONS) {
    const n = s.rejected[r] ?? 0;
    console.log(`  ${r.padEnd(24)} ${pad(n, 9)} ${pad(((100 * n) / s.proposed).toFixed(1), 10)} ${pad(n ? s.meanRejectMs[r].toFixed(2) : '-', 8)}`);
  }
  const st = res.state.searches[0].stats;
  console.log(`  ${'accepted (all rules)'.padEnd(24)} ${pad(st.accepted, 9)} ${pad(((100 * st.accepted) / s.proposed).toFixed(1), 10)} ${pad((st.acceptMs / Math.max(1, st.accepted)).toFixed(2), 8)}`);
}

async function endToEnd(workers: number, batch: number): Promise<{ min: number; proposed: number; rejected: number; evaluated: number; full: number; trainings: number; backend: string | null }> {
  const cfg = resolveConfig({ population: 8, sample: 3, steps: 16, initialCandidates: 8, workers, batch, seed: 11 });
  const t0 = performance.now();
  const res = await runEvolve({ root: tmp(), config: cfg });
  const min = (performance.now() - t0) / 60000;
  const s = res.summary;
  const full = Object.values(res.state.searches[0].cands).filter((c) => c.s2).length + 1; // + CE
  return {
    min,
    proposed: s.proposed,
    rejected: Object.values(s.rejected).reduce((a, b) => a + b, 0),
    evaluated: s.evaluated + 1,
    full,
    trainings: s.evaluations,
    backend: s.backend,
  };
}

export async function runEvolveBench(): Promise<void> {
  await screeningBench();
  const cores = os.cpus().length;
  console.log(`\nend to end, default surrogate (population 8, 8 initial, 16 children), ${cores} cores:`);
  console.log(`  ${'workers'.padEnd(12)} ${pad('wall s', 7)} ${pad('proposed/min', 13)} ${pad('rejected/min', 13)} ${pad('trained/min', 12)} ${pad('full evals/min', 15)} ${pad('trainings/min', 14)}`);
  const runs: { label: string; batch: number; w: number }[] = [{ label: '1, batch 2', w: 1, batch: 2 }];
  if (cores > 1) {
    runs.push({ label: `${cores}, batch 2`, w: cores, batch: 2 });
    // A larger batch keeps the workers busier (a child stopped after stage 1 leaves its worker
    // idle until the batch ends), but it is a different search: batch is part of the result.
    runs.push({ label: `${cores}, batch ${2 * cores}`, w: cores, batch: 2 * cores });
  }
  const rates: number[] = [];
  const walls: number[] = [];
  for (const r0 of runs) {
    const r = await endToEnd(r0.w, r0.batch);
    rates.push(r.trainings / r.min);
    walls.push(r.min);
    console.log(
      `  ${r0.label.padEnd(12)} ${pad((r.min * 60).toFixed(1), 7)} ${pad((r.proposed / r.min).toFixed(0), 13)} ${pad((r.rejected / r.min).toFixed(0), 13)} ` +
        `${pad((r.evaluated / r.min).toFixed(1), 12)} ${pad((r.full / r.min).toFixed(1), 15)} ${pad((r.trainings / r.min).toFixed(1), 14)}   (backend ${r.backend})`,
    );
  }
  if (runs.length > 1) {
    console.log(`  speed-up of ${cores} workers over 1 (batch 2, the same search and result): x${(walls[0] / walls[1]).toFixed(2)} in wall time`);
    console.log(`  with batch ${2 * cores} (a different search): x${(rates[2] / rates[0]).toFixed(2)} trainings/min over 1 worker`);
  }
  console.log('  trained: candidates that ran at least stage 1; full evals: also stage 2; trainings: stage runs, CE included');
}

if (require.main === module) void runEvolveBench();
