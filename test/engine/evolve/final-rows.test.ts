/**
 * The final re-training's statistics: only seeds where the candidate and CE both completed are
 * paired (the others are counted), Holm's adjustment runs over every row, and the verdict reads
 * the adjusted p.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalRows, type FinalJob, type RunState } from '../../../engine/src/evolve/run';
import type { EvalOutcome } from '../../../engine/src/evolve/search';
import { holmAdjust, pairedComparison } from '../../../engine/src/run/stats';

const done = (fitness: number, testAcc: number): EvalOutcome => ({ status: 'completed', fitness, testAcc, wallMs: 1 });
const diverged: EvalOutcome = { status: 'nan', fitness: null, testAcc: null, wallMs: 1, reason: 'loss is NaN at step 3' };

function job(id: number, seed: number, outcome: EvalOutcome): FinalJob {
  return { key: `0:${id}:${seed}`, from: 0, rank: id === -1 ? 0 : id, id, loss: id === -1 ? 'CE' : `l${id}`, text: '', augment: 'none', seed, outcome };
}

test('final rows: diverged seeds left out and counted, Holm over the rows, verdicts from the adjusted p', () => {
  const seeds = [11, 12, 13, 14, 15];
  const ce = [0.9, 0.91, 0.905, 0.9, 0.895];
  const a = [0.92, 0.93, 0.926, 0.921, 0.917]; // clearly better, every seed
  const b = [0.89, 0.9, 0.9, 0.896, 0.89]; // a little worse
  const jobs: FinalJob[] = [
    ...seeds.map((sd, i) => job(-1, sd, done(ce[i], ce[i] - 0.01))),
    ...seeds.map((sd, i) => job(1, sd, done(a[i], a[i] - 0.01))),
    ...seeds.map((sd, i) => job(2, sd, i === 4 ? diverged : done(b[i], b[i] - 0.01))),
  ];
  const state = { searches: [{ augment: 'none' }], final: jobs } as unknown as RunState;
  const rows = finalRows(state);
  assert.equal(rows.length, 2);
  const [r1, r2] = rows;
  assert.equal(r1.test!.n, 5);
  assert.equal(r2.test!.n, 4, 'the diverged seed pairs with nothing');
  assert.equal(r2.excluded, 1);
  const p1 = pairedComparison(a.map((v) => v - 0.01), ce.map((v) => v - 0.01)).pValue!;
  const p2 = pairedComparison(b.slice(0, 4).map((v) => v - 0.01), ce.slice(0, 4).map((v) => v - 0.01)).pValue!;
  const [adj1, adj2] = holmAdjust([p1, p2]);
  assert.ok(Math.abs(r1.test!.pAdjusted! - adj1!) < 1e-12 && Math.abs(r2.test!.pAdjusted! - adj2!) < 1e-12);
  assert.equal(r1.test!.verdict, adj1! < 0.05 ? 'better' : 'no-difference');
  assert.equal(r1.test!.verdict, 'better');
  assert.ok(['worse', 'no-difference'].includes(r2.test!.verdict!));
  assert.equal(r2.test!.verdict, adj2! < 0.05 ? 'worse' : 'no-difference');
});
