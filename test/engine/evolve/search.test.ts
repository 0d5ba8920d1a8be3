import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { resolveConfig, type EvolveConfigInput } from '../../../engine/src/evolve/config';
import { CHECKPOINT_FILE, readCheckpoint, runEvolve, type RunState } from '../../../engine/src/evolve/run';
import { readEvents, readSummary, runsDir } from '../../../store/run-store';
import { fakeEvaluate, hash } from './fake-fitness';
import { bestOfGrid, type EvalJob, type EvalOutcome } from '../../../engine/src/evolve/search';
import { holmAdjust } from '../../../engine/src/run/stats';
import { trainTask } from '../../../engine/src/evolve/fitness';
import { tmpDir } from '../../helpers/tmp';

const tmp = (): string => tmpDir('lossmith-evolve-');

const SMALL: EvolveConfigInput = {
  population: 6,
  sample: 3,
  steps: 18,
  initialCandidates: 8,
  workers: 3,
  batch: 3,
  seed: 5,
  surrogate: { stage1: { passRatio: 0.6 } },
};

/** What must be identical between an interrupted and an uninterrupted run. */
function outcome(s: RunState): unknown {
  return s.searches.map((st) => ({
    population: st.population,
    cands: Object.values(st.cands).map((c) => [c.id, c.text, c.parent, c.mutation, c.s1?.fitness ?? null, c.s2?.fitness ?? null, c.fitness, c.status]),
    children: st.childrenEvaluated,
    generation: st.generation,
    nextId: st.nextId,
    rng: st.rng,
    stats: { ...st.stats, rejectMs: Object.keys(st.stats.rejectMs), acceptMs: 0, evaluationMs: 0 },
  }));
}

test('a search with a fake surrogate: aging evolution, events, summary contract, best >= initial best', async () => {
  const root = tmp();
  const events: string[] = [];
  const res = await runEvolve({ root, config: resolveConfig(SMALL), evaluate: fakeEvaluate(), onEvent: (e) => events.push(e.type) });
  const s = res.summary;
  assert.equal(s.status, 'done');
  assert.equal(s.kind, 'evolve');
  assert.equal(s.baselineFitness, 0.9);
  assert.ok(s.evaluated >= 8 + 18 - 0);
  assert.ok(s.best.length > 0 && s.best.length <= 5);
  for (const b of s.best) {
    assert.ok(fs.existsSync(path.join(res.dir, b.file)));
    const text = fs.readFileSync(path.join(res.dir, b.file), 'utf8');
    assert.match(text, /cross-entropy on the same surrogate and seed: 0\.9/);
    assert.match(text, /lineage/);
  }
  assert.ok(s.searches[0].best! >= s.searches[0].initialBest!);
  // every rejection reason is reported, counts add up
  const st = res.state.searches[0];
  const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
  assert.equal(rejected + st.stats.accepted, st.stats.proposed);
  assert.equal(st.population.length, 6);
  assert.equal(st.childrenEvaluated, 18);
  for (const t of ['evolve-start', 'baseline', 'candidate-proposed', 'candidate-rejected', 'candidate-evaluated', 'generation', 'search-end', 'run-end']) {
    assert.ok(events.includes(t), t);
  }
  const onDisk = readSummary(res.dir)!;
  assert.deepEqual(Object.keys(onDisk).filter((k) => ['kind', 'status', 'backend', 'evaluated', 'rejected', 'baselineFitness', 'best'].includes(k)).sort(),
    ['backend', 'baselineFitness', 'best', 'evaluated', 'kind', 'rejected', 'status']);
  const evs = readEvents(res.dir);
  assert.equal(evs.filter((e) => e.type === 'candidate-rejected').length, rejected);
  // aging: the population holds only the youngest (no member older than population - 1 children ago... ages distinct after the first cohort)
  assert.ok(st.population.every((m) => m.age < 18 + 6));
});

test('resume after a cancellation mid-evaluation gives the same final population as an uninterrupted run', async () => {
  const cfg = resolveConfig(SMALL);
  const a = await runEvolve({ root: tmp(), config: cfg, evaluate: fakeEvaluate() });
  for (const stopAt of [3, 17, 29]) {
    const root = tmp();
    const abort = new AbortController();
    let saves = 0;
    const first = await runEvolve({
      root,
      config: resolveConfig(SMALL),
      evaluate: fakeEvaluate(),
      signal: abort.signal,
      afterSave: () => {
        if (++saves === stopAt) abort.abort();
      },
    });
    assert.equal(first.summary.status, 'cancelled', `stop at save ${stopAt}`);
    const b = await runEvolve({ root, resume: first.dir, evaluate: fakeEvaluate() });
    assert.equal(b.summary.status, 'done');
    assert.deepEqual(outcome(b.state), outcome(a.state), `stop at save ${stopAt}`);
    assert.deepEqual(b.summary.best.map((x) => [x.loss, x.fitness]), a.summary.best.map((x) => [x.loss, x.fitness]));
  }
});

test('resume after SIGKILL of the process mid-evaluation loses no finished evaluation and ends identically', async () => {
  const cfg = resolveConfig({ ...SMALL, steps: 24 });
  const reference = await runEvolve({ root: tmp(), config: cfg, evaluate: fakeEvaluate({ maxDelayMs: 60 }) });
  const root = tmp();
  const child = spawn(process.execPath, [path.join(__dirname, 'kill-child.js'), root, JSON.stringify({ ...SMALL, steps: 24 })], {
    env: { ...process.env, LOSSMITH_EVOLVE_KILL_CHILD: '1' },
    stdio: 'ignore',
  });
  let gone = false;
  const exited = new Promise<void>((r) => child.on('exit', () => ((gone = true), r())));
  // Kill it once it is in the middle of the evolution with a batch under evaluation (polls
  // until then, however slow the machine; fails only if the child finished first).
  let dir = '';
  let killedAt: RunState | null = null;
  while (!killedAt && !gone) {
    await new Promise((r) => setTimeout(r, 10));
    const base = runsDir(root);
    if (!dir && fs.existsSync(base)) {
      const ids = fs.readdirSync(base);
      if (ids.length) dir = path.join(base, ids[0]);
    }
    if (!dir || !fs.existsSync(path.join(dir, CHECKPOINT_FILE))) continue;
    let st: RunState;
    try {
      st = readCheckpoint(dir);
    } catch {
      continue;
    }
    const s0 = st.searches[0];
    if (s0 && s0.phase === 'evolve' && s0.childrenEvaluated >= 6 && s0.batch && s0.batch.some((id) => s0.cands[id].s1)) {
      child.kill('SIGKILL');
      killedAt = st;
    }
  }
  await exited;
  assert.ok(killedAt, 'the child reached the evolution phase');
  const before = readCheckpoint(dir);
  const calls: { key: string }[] = [];
  const resumed = await runEvolve({ root, resume: dir, evaluate: fakeEvaluate({ maxDelayMs: 60, calls: calls as never }) });
  assert.equal(resumed.summary.status, 'done');
  assert.deepEqual(outcome(resumed.state), outcome(reference.state));
  // No evaluation whose result was checkpointed ran again.
  const done = new Set<string>();
  for (const c of Object.values(before.searches[0].cands)) {
    if (c.s1) done.add(`0:${c.id}:s1`);
    if (c.s2) done.add(`0:${c.id}:s2`);
  }
  assert.ok(done.size > 0);
  for (const c of calls) assert.ok(!done.has(c.key), `${c.key} was evaluated again`);
  // events.jsonl survived the kill (a torn last line at most) and records the resume
  assert.ok(readEvents(dir).some((e) => e.type === 'run-resume'));
});

test('a finished run can be extended by more steps', async () => {
  const root = tmp();
  const a = await runEvolve({ root, config: resolveConfig({ ...SMALL, steps: 6 }), evaluate: fakeEvaluate() });
  assert.equal(a.state.searches[0].childrenEvaluated, 6);
  const b = await runEvolve({ root, resume: a.dir, steps: 12, evaluate: fakeEvaluate() });
  assert.equal(b.summary.status, 'done');
  assert.equal(b.state.searches[0].childrenEvaluated, 12);
  assert.equal(b.state.config.steps, 12);
  await assert.rejects(runEvolve({ root, resume: a.dir, steps: 3, evaluate: fakeEvaluate() }), /only be extended/);
});

test("the seed system's replacement variant: the worst of the oldest leaves", async () => {
  const res = await runEvolve({ root: tmp(), config: resolveConfig({ ...SMALL, replace: 'worst-of-oldest', oldestPool: 3 }), evaluate: fakeEvaluate() });
  assert.equal(res.summary.status, 'done');
  const st = res.state.searches[0];
  assert.equal(st.population.length, 6);
  // Retired members were each among the 3 oldest and the least fit of them: the oldest
  // survivor is at least as fit as ... the population cannot hold a member older than P + 3 children.
  assert.ok(st.population.every((m) => m.age <= 18));
});

test('augmentation-aware mode: one search per augmentation and a cross-table against CE', async () => {
  const root = tmp();
  const res = await runEvolve({ root, config: resolveConfig({ ...SMALL, steps: 3, augments: ['none', 'cutout'], crossTop: 1 }), evaluate: fakeEvaluate() });
  assert.equal(res.summary.status, 'done');
  assert.equal(res.state.searches.length, 2);
  const t = res.summary.crossTable!;
  assert.deepEqual(t.augments, ['none', 'cutout']);
  assert.equal(t.rows.length, 3); // best of each search + CE
  assert.equal(t.rows[2].from, 'CE');
  for (const r of t.rows) for (const a of t.augments) assert.ok(a in r.fitness);
  assert.ok(fs.existsSync(path.join(res.dir, 'crosstable.md')));
  assert.ok(res.summary.best.some((b) => b.file.startsWith('best-cutout-')));
});

test('final phase: the top-k and CE re-trained with other seeds, paired against CE, in the summary and the .loss files', async () => {
  const calls: { key: string; seed?: number }[] = [];
  const res = await runEvolve({ root: tmp(), config: resolveConfig({ ...SMALL, steps: 3, topK: 2, finalSeeds: 3 }), evaluate: fakeEvaluate({ calls: calls as never }) });
  const fin = res.summary.final!;
  assert.equal(fin.length, 2);
  for (const r of fin) {
    assert.deepEqual(r.seeds, [2, 3, 4]);
    assert.equal(r.valAcc.length, 3);
    assert.ok(r.val);
  }
  assert.equal(calls.filter((c) => c.key.startsWith('f:')).length, 3 * 3);
  assert.ok(calls.filter((c) => c.key.startsWith('f:')).every((c) => c.seed !== undefined && c.seed >= 2));
  assert.match(fs.readFileSync(path.join(res.dir, 'best-1.loss'), 'utf8'), /re-trained with seeds 2, 3, 4: validation/);
  // switching it on for a finished run on resume
  const b = await runEvolve({ root: tmp(), config: resolveConfig({ ...SMALL, steps: 3, topK: 1, finalSeeds: 0 }), evaluate: fakeEvaluate() });
  assert.equal(b.summary.final, undefined);
  const c = await runEvolve({ resume: b.dir, finalSeeds: 2, evaluate: fakeEvaluate() });
  assert.equal(c.summary.final!.length, 1);
});

test('seeds from .loss files join the initial population', async () => {
  const res = await runEvolve({
    root: tmp(),
    config: resolveConfig({ ...SMALL, steps: 3, seeds: [{ name: 'focal.loss', source: 'param gamma = 2 in [0, 5]\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)\n' }] }),
    evaluate: fakeEvaluate(),
  });
  const seed = Object.values(res.state.searches[0].cands).find((c) => c.origin === 'seed');
  assert.ok(seed);
  assert.match(seed.text, /param gamma = 2 in \[0, 5\]/);
});

test('the surrogate task: stage settings, shared training seed, seed override, augmentation', () => {
  const cfg = resolveConfig({});
  const job = { key: 'k', source: 'loss candidate = -sum(y * log(p))\n', lossName: 'candidate', stage: 1 as const, augment: 'cutout' };
  const t1 = trainTask(cfg.surrogate, job, '/w');
  assert.equal(t1.train.epochs, 1);
  assert.equal(t1.train.stepsPerEpoch, 40);
  assert.equal(t1.train.seed, cfg.surrogate.seed);
  assert.equal(t1.augment, 'cutout');
  assert.deepEqual(t1.dataset, { spec: 'mnist', seed: 1, maxTrain: 4000, cwd: '/w' });
  const t2 = trainTask(cfg.surrogate, { ...job, stage: 2, seed: 9 }, '/w');
  assert.equal(t2.train.epochs, 4);
  assert.deepEqual(t2.train.earlyStop, { minTrainAcc: 0.3, afterEpochs: 1 });
  assert.equal(t2.train.seed, 9);
  assert.deepEqual(t2.train.model, { kind: 'mlp', hidden: [128] });
});

test('evolve with tuneLr: the quick stage at every grid rate, the full stage and the re-trainings at each loss\'s best rate, CE tuned alike', async () => {
  const grid = [1e-3, 1e-2];
  const calls: EvalJob[] = [];
  const inner = fakeEvaluate();
  // The fitness depends on the rate: a loss does better at the rate its text hashes to.
  const evaluate = async (job: EvalJob): Promise<EvalOutcome> => {
    calls.push(job);
    const o = await inner({ ...job, lr: undefined });
    if (o.fitness === null) return o;
    const good = grid[hash(job.source) % 2];
    return { ...o, fitness: job.lr === good ? o.fitness : o.fitness - 0.2 };
  };
  const cfg = resolveConfig({ ...SMALL, steps: 6, finalSeeds: 2, topK: 2, surrogate: { ...SMALL.surrogate, tuneLr: grid } });
  const res = await runEvolve({ root: tmp(), config: cfg, evaluate });
  assert.equal(res.summary.status, 'done');
  const s1 = calls.filter((c) => c.stage === 1 && !c.seed);
  const s2 = calls.filter((c) => c.stage === 2 && !c.seed && !c.key.startsWith('x:'));
  // Every quick-stage evaluation ran once per rate, each under its own key.
  const byCand = new Map<string, number[]>();
  for (const c of s1) byCand.set(c.key.replace(/:lr\d+$/, ''), [...(byCand.get(c.key.replace(/:lr\d+$/, '')) ?? []), c.lr!]);
  for (const [k, lrs] of byCand) assert.deepEqual([...lrs].sort(), [...grid].sort(), k);
  // The full stage ran once, at the rate the quick stage liked: the one its text hashes to.
  for (const c of s2) assert.equal(c.lr, grid[hash(c.source) % 2], c.key);
  assert.ok(s2.length > 0);
  // The re-trainings (seeded) use each loss's rate, CE's included.
  const finals = calls.filter((c) => c.seed !== undefined);
  assert.ok(finals.length > 0);
  for (const c of finals) assert.equal(c.lr, grid[hash(c.source) % 2], c.key);
  for (const b of res.summary.best) assert.ok(grid.includes(b.lr!), `best ${b.file} records its rate`);
});

test('bestOfGrid: the completed outcome with the best fitness (first on a tie), its rate and the grid; the first failure when none completed', () => {
  const ok = (fitness: number): EvalOutcome => ({ status: 'completed', fitness, wallMs: 2 });
  const nan: EvalOutcome = { status: 'nan', fitness: null, wallMs: 1, reason: 'loss is NaN at step 3' };
  const b = bestOfGrid([ok(0.5), nan, ok(0.7), ok(0.7)], [1, 2, 3, 4]);
  assert.equal(b.fitness, 0.7);
  assert.equal(b.lr, 3);
  assert.deepEqual(b.grid, [0.5, null, 0.7, 0.7]);
  assert.equal(b.wallMs, 7);
  const none = bestOfGrid([nan, nan], [1, 2]);
  assert.equal(none.status, 'nan');
  assert.equal(none.fitness, null);
});

test('transfer ladder: the top-k and CE at each step (another model) under each augmentation on fresh seeds, tuned rates, Holm over the rows; a killed ladder resumes to the same rows', async () => {
  const calls: EvalJob[] = [];
  const grid = [1e-3, 1e-2];
  const inner = fakeEvaluate({ maxDelayMs: 3 });
  // Deterministic per job: the fitness and test accuracy depend on the loss, model, seed and rate.
  const evaluate = async (job: EvalJob): Promise<EvalOutcome> => {
    calls.push(job);
    const o = await inner({ ...job, lr: undefined, surrogate: undefined });
    if (o.fitness === null) return o;
    const h = hash(`${job.source}|${job.surrogate?.model?.kind ?? 'mlp'}|${job.seed ?? 0}|${job.lr ?? 0}`);
    const f = o.fitness - (h % 100) / 2000;
    return { ...o, fitness: f, testAcc: f - 0.01 };
  };
  const input = { ...SMALL, steps: 6, topK: 2, finalSeeds: 3, augments: ['none', 'cutout'], surrogate: { ...SMALL.surrogate, tuneLr: grid }, transfer: [{ label: 'surrogate' }, { label: 'resnet9', model: { kind: 'resnet9' as const } }] };
  const events: { type: string; [k: string]: unknown }[] = [];
  const full = await runEvolve({ root: tmp(), config: resolveConfig(input), evaluate, onEvent: (e) => events.push(e as never) });
  assert.equal(full.summary.status, 'done');
  const t = full.summary.transfer!;
  assert.deepEqual(t.steps, ['surrogate', 'resnet9']);
  // Progress: the ladder announces its trainings (2 steps x (2 searches x (top 2 + CE)) x 2 augmentations x (2 rates + 3 seeds)),
  // and its rows after each step (the first step's alone, then all of them, as in the summary).
  const start = events.filter((e) => e.type === 'transfer-start');
  assert.deepEqual(start.map((e) => [e.steps, e.total]), [[['surrogate', 'resnet9'], 2 * 6 * 2 * 5]]);
  assert.equal(events.filter((e) => e.type === 'transfer-evaluated').length, 2 * 6 * 2 * 5);
  const rowsEvents = events.filter((e) => e.type === 'transfer-rows').map((e) => e.rows as typeof t.rows);
  assert.equal(rowsEvents.length, 2);
  assert.ok(rowsEvents[0].length === 8 && rowsEvents[0].every((r) => r.step === 0));
  assert.deepEqual(rowsEvents[1], t.rows);
  // 2 searches x top 2 x 2 steps x 2 augmentations
  assert.equal(t.rows.length, 16);
  const ladder = calls.filter((c) => c.key.startsWith('t'));
  assert.ok(ladder.filter((c) => c.key.startsWith('t1:')).every((c) => c.surrogate?.model?.kind === 'resnet9'));
  assert.ok(ladder.filter((c) => c.key.startsWith('t0:')).every((c) => !c.surrogate?.model));
  // Fresh seeds: none is the search's or the final re-training's.
  const used = new Set([...calls.filter((c) => !c.key.startsWith('t')).map((c) => c.seed ?? 1)]);
  assert.ok(ladder.every((c) => !used.has(c.seed!)));
  const adj = holmAdjust(t.rows.map((r) => r.test?.pValue ?? null));
  t.rows.forEach((r, i) => {
    assert.equal(r.seeds.length, 3);
    assert.ok(grid.includes(r.lr!) && grid.includes(r.ceLr!));
    assert.equal(r.test?.pAdjusted ?? null, adj[i]);
    // (the fake surrogate makes some loss x augmentation pairs diverge on every seed: no pair, no test)
    if (r.test) assert.ok(r.test.verdict);
    else assert.equal(r.excluded, 3);
  });

  // Killed during the ladder (after a few of its trainings), then resumed: the same rows.
  const root = tmp();
  const ac = new AbortController();
  let seen = 0;
  const first = await runEvolve({ root, config: resolveConfig(input), evaluate, signal: ac.signal, onEvent: (e) => e.type === 'transfer-evaluated' && ++seen === 5 && ac.abort() });
  assert.equal(first.summary.status, 'cancelled');
  const before = calls.length;
  const resumed = await runEvolve({ root, resume: first.dir, evaluate });
  assert.equal(resumed.summary.status, 'done');
  assert.deepEqual(resumed.summary.transfer!.rows, t.rows);
  assert.ok(calls.length - before < ladder.length, 'the finished ladder trainings are not repeated');
});

test('resuming a finished search with nothing left to train keeps the summary\'s compute record', async () => {
  const root = tmp();
  const first = await runEvolve({ root, config: resolveConfig({ ...SMALL, steps: 3, finalSeeds: 0 }), evaluate: fakeEvaluate() });
  assert.equal(first.summary.backend, 'injected');
  const again = await runEvolve({ root, resume: first.dir });
  assert.equal(again.summary.status, 'done');
  assert.equal(again.summary.backend, 'injected', 'not rewritten to null');
});
