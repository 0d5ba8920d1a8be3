/** The evolution panel's view model on the recorded events of a real evolution run (no DOM). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySummary, emptyEvoModel, evoMetadata, evoProgress, exprSize, fitnessSeries, reduceEvo, rejections, scatter, topK } from '../../media/src/evolution/model';
import { fixtureEvents, fixtureSummary } from './evaluation-harness';

type Ev = { type: string; [k: string]: unknown };

test('mid-run: fitness per step, scatter, rejections, top-k by full-stage fitness', () => {
  const events = fixtureEvents('evolve-midrun') as Ev[];
  const m = emptyEvoModel('mid');
  for (const e of events) reduceEvo(m, e);
  assert.equal(m.status, 'running');
  assert.equal(m.searches.length, 1);
  const p = evoProgress(m);
  assert.ok(p > 0 && p < 0.5, String(p));
  const f = fitnessSeries(m, 0);
  assert.ok(f.x.length >= 2);
  assert.deepEqual([...f.x].sort((a, b) => a - b), f.x);
  assert.ok(f.best.every((b, i) => b === null || f.mean[i] === null || (b as number) >= (f.mean[i] as number)));
  const s = scatter(m, 0, 'time');
  const evaluated = new Set(events.filter((e) => e.type === 'candidate-evaluated').map((e) => e.id));
  assert.equal(s.x.length, evaluated.size);
  const top = topK(m, 5);
  assert.ok(top.length >= 3);
  for (let i = 1; i < top.length; i++) assert.ok(top[i - 1].fitness >= top[i].fitness);
  // Only full-stage (stage 2) fitness ranks.
  const stage2 = new Map(events.filter((e) => e.type === 'candidate-evaluated' && e.stage === 2).map((e) => [e.id, e.fitness]));
  for (const t of top) assert.equal(stage2.get(t.id), t.fitness);
  const rej = rejections(m);
  assert.equal(rej.reduce((a, r) => a + r.count, 0), events.filter((e) => e.type === 'candidate-rejected').length);
  assert.ok(Math.abs(rej.reduce((a, r) => a + r.share, 0) - 1) < 1e-9);
});

test('finished: two searches, cross table, final re-training from the summary', () => {
  const m = emptyEvoModel('fin');
  for (const e of fixtureEvents('evolve-finished') as Ev[]) reduceEvo(m, e);
  applySummary(m, fixtureSummary('evolve-finished'));
  assert.equal(m.status, 'done');
  assert.equal(evoProgress(m), 1);
  assert.deepEqual(m.searches.map((s) => s.augment), ['none', 'cutout']);
  assert.equal(m.crossTable?.rows.length, 5);
  assert.ok(m.final.length >= 2);
  assert.equal(m.backend, 'wasm');
  assert.ok(topK(m, 10, 1).every((t) => t.search === 1));
  // Rejections per search add up to the run's, reason by reason.
  const events = fixtureEvents('evolve-finished') as Ev[];
  for (const si of [0, 1]) {
    const n = events.filter((e) => e.type === 'candidate-rejected' && e.search === si).length;
    assert.ok(n > 0, `search ${si} has rejections in the fixture`);
    assert.equal(rejections(m, si).reduce((a, r) => a + r.count, 0), n);
  }
  for (const r of rejections(m)) {
    const parts = [0, 1].map((si) => rejections(m, si).find((x) => x.reason === r.reason)?.count ?? 0);
    assert.equal(parts[0] + parts[1], r.count, r.reason);
  }
});

test('the engine line: reported at the end (the summary), in full for torch runs, the backend name for older runs', () => {
  const engine = (m: ReturnType<typeof emptyEvoModel>): string => evoMetadata(m).find(([k]) => k === 'Engine')![1];
  const t = emptyEvoModel('t');
  const events = fixtureEvents('evolve-torch-cpu') as Ev[];
  for (const e of events.slice(0, 5)) reduceEvo(t, e);
  assert.equal(engine(t), 'reported at the end');
  for (const e of events.slice(5)) reduceEvo(t, e);
  applySummary(t, fixtureSummary('evolve-torch-cpu'));
  applySummary(t, fixtureSummary('evolve-torch-cpu'));
  assert.equal(t.backend, 'torch');
  assert.equal(engine(t), 'torch 1.13.0a0 · cpu (1 threads) · fp32');
  // A run from before the torch engine names only its tfjs backend.
  const old = emptyEvoModel('old');
  applySummary(old, fixtureSummary('evolve-finished'));
  assert.equal(engine(old), 'wasm');
  // `backend` events (as compare runs have) are shown as soon as they come.
  const live = emptyEvoModel('live');
  reduceEvo(live, { type: 'backend', backend: { name: 'wasm', engine: 'tfjs', device: 'cpu', threads: 4, detail: '', warnings: [] } });
  assert.equal(engine(live), 'tfjs · wasm (cpu, 4 threads)');
});

test('expression size counts operands and operators; malformed events are skipped', () => {
  assert.equal(exprSize('sum(-asinh(p))'), 4);
  assert.equal(exprSize('a * b + 1.5e-3'), 5);
  const m = emptyEvoModel('x');
  for (const e of [{ type: 'candidate-evaluated', search: 'a', id: 1 }, { type: 'generation', search: 0 }, { type: 'crosstable', table: 5 }, { type: 'run-cancelled', reason: 'SIGTERM' }] as Ev[]) reduceEvo(m, e);
  assert.equal(m.candidates.size, 0);
  assert.equal(m.status, 'cancelled');
});
