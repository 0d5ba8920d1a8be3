import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { CompareEvent, CompareSummary } from '../../protocol/run-events';
import { chooseLrs, compareWithBaseline, formatCompareTable, gridEdge, loadCompareRun, runCompare, SOURCES_FILE } from '../../engine/src/run/compare';
import { ConfigError, loadSchema, resolveCompareConfig, validateSchema, type RawCompareConfig } from '../../engine/src/run/run-config';
import { readEvents, readSummary } from '../../store/run-store';
import { WorkerPool } from '../../engine/src/run/worker-pool';
import { tmpDir } from '../helpers/tmp';

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');

function tmp(): string {
  return tmpDir('lossmith-eval-');
}

function tiny(extra: Partial<RawCompareConfig> = {}): RawCompareConfig {
  return {
    losses: [path.join(EXAMPLES, 'cross-entropy.loss#ce'), path.join(EXAMPLES, 'focal.loss')],
    dataset: 'mnist',
    model: 'mlp',
    maxTrain: 200,
    maxVal: 200,
    batchSize: 50,
    epochs: 1,
    seeds: 2,
    augmentations: ['none', 'cutout'],
    backend: 'wasm',
    ...extra,
  };
}

test('summary contract; the baseline expression trained as a loss reproduces the baseline exactly', async () => {
  const dir = tmp();
  const resolved = resolveCompareConfig(tiny({ runsDir: path.join(dir, 'runs') }), dir);
  const pool = new WorkerPool({ size: 0 });
  const events: CompareEvent[] = [];
  const r = await runCompare({ resolved, pool, onEvent: (e) => events.push(e) });
  await pool.close();
  const s = r.summary;
  assert.equal(s.kind, 'compare');
  assert.equal(s.status, 'done');
  assert.equal(s.baseline, 'ce');
  assert.equal(s.backend?.name, 'wasm');
  assert.equal(typeof s.backend?.detail, 'string');
  assert.deepEqual(s.augmentations, ['none', 'cutout']);
  assert.deepEqual(s.seeds, [1, 2]);
  assert.equal(s.results.length, 3 * 2);
  assert.equal(s.finished, 12);
  for (const res of s.results) {
    assert.equal(typeof res.loss, 'string');
    assert.ok(['none', 'cutout'].includes(res.augmentation));
    assert.equal(res.testAccuracy.perSeed.length, 2);
    for (const v of res.testAccuracy.perSeed) assert.ok(typeof v === 'number' && v >= 0 && v <= 1, 'accuracy as a fraction');
    assert.equal(typeof res.testAccuracy.mean, 'number');
    assert.equal(typeof res.testAccuracy.std, 'number');
    assert.equal(res.vsBaseline.test, 'paired t-test');
    assert.equal(typeof res.vsBaseline.meanDiff, 'number');
    assert.ok(Array.isArray(res.vsBaseline.ci95) && res.vsBaseline.ci95.length === 2);
    assert.equal(typeof res.vsBaseline.pValue, 'number');
  }
  // The run's folder: summary.json is what runCompare returned; events are what onEvent saw.
  assert.ok(r.dir.startsWith(path.join(dir, 'runs')));
  const onDisk = readSummary(r.dir) as unknown as CompareSummary;
  assert.deepEqual(onDisk.results, s.results);
  assert.equal(onDisk.status, 'done');
  const stored = readEvents(r.dir);
  assert.deepEqual(stored.map((e) => e.type), events.map((e) => e.type));
  assert.equal(stored[0].type, 'run-start');
  assert.equal(stored[1].type, 'compare-start');
  assert.equal(stored.at(-1)!.type, 'run-end');
  assert.equal(stored.filter((e) => e.type === 'seed-start').length, 12);
  assert.equal(stored.filter((e) => e.type === 'seed-end').length, 12);
  assert.equal(stored.filter((e) => e.type === 'epoch').length, 12);
  assert.equal(stored.filter((e) => e.type === 'result').length, 6);

  // Same data, order, augmentation draws and initial weights for every loss: CE from the file is
  // bit-for-bit the built-in baseline, on every seed and augmentation, epoch by epoch.
  for (const aug of ['none', 'cutout']) {
    const base = s.results.find((x) => x.loss === 'ce' && x.augmentation === aug)!;
    const same = s.results.find((x) => x.loss === 'cross-entropy.loss#ce' && x.augmentation === aug)!;
    const focal = s.results.find((x) => x.loss === 'focal' && x.augmentation === aug)!;
    assert.equal(base.baseline, true);
    assert.deepEqual(same.testAccuracy.perSeed, base.testAccuracy.perSeed);
    assert.equal(same.vsBaseline.meanDiff, 0);
    assert.equal(same.vsBaseline.pValue, 1);
    assert.notDeepEqual(focal.testAccuracy.perSeed, base.testAccuracy.perSeed);
    const hist = (loss: string) =>
      stored.filter((e) => e.type === 'epoch' && e.loss === loss && e.augmentation === aug).map((e) => [e.seed, e.trainLoss, e.trainAcc, e.valAcc]);
    assert.deepEqual(hist('cross-entropy.loss#ce'), hist('ce'));
  }
  // Different seeds give different runs; different augmentations too.
  const b = s.results.find((x) => x.loss === 'ce' && x.augmentation === 'none')!;
  assert.notEqual(b.testAccuracy.perSeed[0], b.testAccuracy.perSeed[1]);
  const table = formatCompareTable(s);
  assert.match(table, /augmentation: cutout/);
  assert.match(table, /focal/);
  assert.match(table, /paired t-test/);
  assert.match(table, /backend wasm/);
});

test('cancel after the first seed-end: finished seeds are kept, status cancelled', async () => {
  const dir = tmp();
  const resolved = resolveCompareConfig(tiny({ runsDir: path.join(dir, 'runs') }), dir);
  const pool = new WorkerPool({ size: 0 });
  const ac = new AbortController();
  const r = await runCompare({
    resolved,
    pool,
    signal: ac.signal,
    onEvent: (e) => {
      if (e.type === 'seed-end') ac.abort();
    },
  });
  await pool.close();
  assert.equal(r.summary.status, 'cancelled');
  assert.equal(r.summary.finished, 1);
  const base = r.summary.results.find((x) => x.loss === 'ce' && x.augmentation === 'none')!;
  assert.equal(typeof base.testAccuracy.perSeed[0], 'number');
  assert.equal(base.testAccuracy.perSeed[1], null);
  const ev = readEvents(r.dir);
  assert.equal(ev.at(-1)!.type, 'run-cancelled');
  assert.equal(ev.filter((e) => e.type === 'seed-end' && e.status !== 'cancelled').length, 1);
  assert.equal((readSummary(r.dir) as { status: string }).status, 'cancelled');
});

test('resume: a cancelled run with a torn events file keeps its finished trainings, trains the rest from its own sources, and ends equal to an uninterrupted run', async () => {
  const dir = tmp();
  const file = path.join(dir, 'mine.loss');
  fs.copyFileSync(path.join(EXAMPLES, 'focal.loss'), file);
  const cfg = tiny({ runsDir: path.join(dir, 'runs'), losses: [file], augmentations: ['none'], epochs: 2 });
  const pool = new WorkerPool({ size: 0 });
  try {
    const whole = await runCompare({ resolved: resolveCompareConfig(cfg, dir), pool });
    assert.equal(whole.summary.status, 'done');

    const ac = new AbortController();
    const cut = await runCompare({ resolved: resolveCompareConfig(cfg, dir), pool, signal: ac.signal, onEvent: (e) => e.type === 'seed-end' && ac.abort() });
    assert.equal(cut.summary.status, 'cancelled');
    assert.equal(cut.summary.finished, 1);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(cut.dir, SOURCES_FILE), 'utf8')).focal, fs.readFileSync(file, 'utf8'));
    // A kill mid-write leaves a torn line; the user then edits the loss file.
    fs.appendFileSync(path.join(cut.dir, 'events.jsonl'), '{"type":"epoch","loss":"foc');
    fs.writeFileSync(file, 'loss focal = -sum(y * log(p)) * 3\n');

    const { dir: runDir, ...resolved } = loadCompareRun(path.basename(cut.dir), path.join(dir, 'runs'));
    assert.equal(runDir, cut.dir);
    const events: CompareEvent[] = [];
    const res = await runCompare({ resolved, pool, resumeDir: runDir, onEvent: (e) => events.push(e) });
    assert.equal(res.id, cut.id);
    assert.equal(res.summary.status, 'done');
    assert.equal(res.summary.finished, 4);
    assert.deepEqual(events.slice(0, 2).map((e) => e.type), ['run-resume', 'compare-resume']);
    assert.deepEqual(events[1], { type: 'compare-resume', jobs: 4, kept: 1, workers: 0 });
    assert.equal(events.filter((e) => e.type === 'seed-start').length, 3, 'only the unfinished trainings are trained');
    // The same numbers as the run that was never interrupted (same seeds, data and sources).
    for (const r of whole.summary.results) {
      const q = res.summary.results.find((x) => x.loss === r.loss && x.augmentation === r.augmentation)!;
      assert.deepEqual(q.testAccuracy.perSeed, r.testAccuracy.perSeed, r.loss);
      assert.deepEqual(q.vsBaseline.meanDiff, r.vsBaseline.meanDiff);
    }
    // The file on disk holds both sessions, torn line cut; summary.json says done.
    const stored = readEvents(runDir);
    assert.deepEqual(stored.filter((e) => e.type === 'run-start' || e.type === 'run-resume' || e.type === 'run-cancelled' || e.type === 'run-end').map((e) => e.type), ['run-start', 'run-cancelled', 'run-resume', 'run-end']);
    assert.equal((readSummary(runDir) as { status: string }).status, 'done');
  } finally {
    await pool.close();
  }
});

test('resume: not a resumable compare run is a clear error', () => {
  const dir = tmp();
  assert.throws(() => loadCompareRun('20260101-000000-000-abcd', dir), /no resumable compare run \(sources\.json\) in 20260101-000000-000-abcd or /);
  const run = path.join(dir, 'r');
  fs.mkdirSync(run);
  fs.writeFileSync(path.join(run, SOURCES_FILE), '{"focal": 3}');
  fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify({ kind: 'compare', baseline: { label: 'ce' }, losses: [] }));
  assert.throws(() => loadCompareRun(run, dir), /sources\.json: expected an object of source texts/);
  fs.writeFileSync(path.join(run, SOURCES_FILE), '{"x": "loss x = 1"}');
  assert.throws(() => loadCompareRun(run, dir), /no source for loss ce/);
  fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify({ kind: 'evolve' }));
  assert.throws(() => loadCompareRun(run, dir), /not a compare run/);
});

test('cancel with worker processes: the running training is killed and reported cancelled', async () => {
  const dir = tmp();
  const resolved = resolveCompareConfig(tiny({ runsDir: path.join(dir, 'runs'), epochs: 30, augmentations: ['none'], seeds: 1, losses: [path.join(EXAMPLES, 'focal.loss')] }), dir);
  const ac = new AbortController();
  const r = await runCompare({
    resolved,
    workers: 2,
    signal: ac.signal,
    onEvent: (e) => {
      if (e.type === 'epoch' && e.epoch === 2) ac.abort();
    },
  });
  assert.equal(r.summary.status, 'cancelled');
  const ends = readEvents(r.dir).filter((e) => e.type === 'seed-end');
  assert.ok(ends.length >= 1 && ends.every((e) => e.status === 'cancelled'));
  assert.equal(r.summary.results[0].testAccuracy.mean, null);
});

test('a NaN loss ends its training with status nan; the run completes', async () => {
  const dir = tmp();
  const bad = path.join(dir, 'bad.loss');
  fs.writeFileSync(bad, '# NaN on purpose: log of negative logits\nloss bad = -sum(y * log(logits))\n');
  const resolved = resolveCompareConfig(tiny({ runsDir: path.join(dir, 'runs'), losses: [bad], augmentations: ['none'] }), dir);
  const pool = new WorkerPool({ size: 0 });
  const r = await runCompare({ resolved, pool });
  await pool.close();
  assert.equal(r.summary.status, 'done');
  const res = r.summary.results.find((x) => x.loss === 'bad')!;
  assert.ok(res.seeds.every((x) => x.status === 'nan' && /loss is NaN|not finite/.test(x.reason ?? '')));
  assert.deepEqual(res.testAccuracy.perSeed, [null, null]);
  assert.equal(res.vsBaseline.n, 0);
  assert.deepEqual(res.excluded, { nan: 2, failed: 0, earlyStopped: 0 });
  assert.equal(res.finished, 0);
  assert.equal(res.vsBaseline.verdict, 'inconclusive');
  assert.match(formatCompareTable(r.summary), /bad .*inconclusive .*2 of 2 seeds diverged/);
});

test('config validation names the JSON path', () => {
  const schema = loadSchema();
  assert.deepEqual(validateSchema(tiny(), schema), []);
  const errs = validateSchema({ losses: [3], epochs: 0, model: 'vgg', sam: { rho: 'x' }, augmentation: ['none'] }, schema);
  assert.ok(errs.some((e) => e.startsWith('$.losses[0]:')), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('$.epochs: must be >= 1')), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('$.model: must be one of')), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('$.sam.rho: expected number')), errs.join('\n'));
  assert.ok(errs.some((e) => /\$\.augmentation: unknown property \(did you mean 'augmentations'\?\)/.test(e)), errs.join('\n'));
  assert.throws(() => resolveCompareConfig({}, '.'), (e: unknown) => e instanceof ConfigError && /\$: missing required property 'losses'/.test((e as Error).message));
  assert.throws(() => resolveCompareConfig(tiny({ losses: [path.join(EXAMPLES, 'focal.loss#nope')] }), '.'), /\$\.losses\[0\]: .*has no loss 'nope' \(it has: focal\)/);
  assert.throws(() => resolveCompareConfig(tiny({ augmentations: ['none', 'blur'] }), '.'), /\$\.augmentations\[1\]: unknown augmentation 'blur'/);
  assert.throws(
    () => resolveCompareConfig(tiny({ losses: [{ file: path.join(EXAMPLES, 'focal.loss'), params: { gama: 1 } }] }), '.'),
    /\$\.losses\[0\]\.params\.gama: .*has no param 'gama' \(params: gamma\)/,
  );
});

test('paired comparison with missing seeds uses only complete pairs', () => {
  const r = compareWithBaseline([0.9, null, 0.92], [0.89, 0.9, 0.9]);
  assert.equal(r.n, 2);
  assert.ok(Math.abs(r.meanDiff! - 0.015) < 1e-12);
  assert.equal(compareWithBaseline([null], [0.5]).n, 0);
});

test('lr tuning: chooseLrs takes the grid point with the best mean validation accuracy over completed tuning seeds', () => {
  const resolved = resolveCompareConfig(tiny({ losses: [path.join(EXAMPLES, 'focal.loss')], augmentations: ['none'], tuneLr: [1e-3, 3e-3, 1e-2] }), EXAMPLES);
  assert.deepEqual(resolved.config.tuneLr, { grid: [1e-3, 3e-3, 1e-2], seeds: [10001, 10002] });
  const end = (bestValAcc: number | null, status: 'completed' | 'nan' = 'completed') => ({ status, bestValAcc });
  const t = (loss: string, lr: number, e: ReturnType<typeof end>) => ({ loss, augmentation: 'none', lr, end: e });
  const choices = chooseLrs(resolved, [
    // ce: 3e-3 best on average (0.80, 0.82) vs 1e-2 (0.85, 0.70)
    t('ce', 1e-3, end(0.7)), t('ce', 1e-3, end(0.72)),
    t('ce', 3e-3, end(0.8)), t('ce', 3e-3, end(0.82)),
    t('ce', 1e-2, end(0.85)), t('ce', 1e-2, end(0.7)),
    // focal: 1e-2 diverged on one seed (left out): its mean is the other seed's 0.9, the best
    t('focal', 1e-3, end(0.6)), t('focal', 1e-3, end(0.61)),
    t('focal', 3e-3, end(0.8)), t('focal', 3e-3, end(0.8)),
    t('focal', 1e-2, end(null, 'nan')), t('focal', 1e-2, end(0.9)),
  ]);
  const ce = choices.find((c) => c.loss === 'ce')!;
  assert.equal(ce.lr, 3e-3);
  assert.deepEqual(ce.finished, [2, 2, 2]);
  assert.ok(Math.abs(ce.valAcc[1]! - 0.81) < 1e-12);
  const focal = choices.find((c) => c.loss === 'focal')!;
  assert.equal(focal.lr, 1e-2);
  assert.deepEqual(focal.finished, [2, 2, 1]);
  // Nothing completed: the run's own lr, said in a note.
  const none = chooseLrs(resolved, [t('ce', 1e-3, end(null, 'nan'))]).find((c) => c.loss === 'ce')!;
  assert.equal(none.lr, resolved.config.lr);
  assert.match(none.note ?? '', /no tuning training completed/);
  assert.throws(() => resolveCompareConfig(tiny({ tuneLr: [1e-3] }), EXAMPLES), /tuneLr: needs at least 2 items/);
  assert.throws(() => resolveCompareConfig(tiny({ tuneSeeds: 2 }), EXAMPLES), /--tune-seeds needs --tune-lr/);
  assert.throws(() => resolveCompareConfig(tiny({ tuneLr: true, seeds: [10001] }), EXAMPLES), /both a run seed and a tuning seed/);
});

test('lr tuning end to end: each loss tests at its chosen rate (the same accuracies as a run at that rate); a cancelled tuning resumes', async () => {
  const dir = tmp();
  const base = { losses: [path.join(EXAMPLES, 'focal.loss')], augmentations: ['none'], runsDir: path.join(dir, 'runs') };
  const pool = new WorkerPool({ size: 0 });
  try {
    // Cancelled after the first tuning training, then resumed: the finished tuning is kept.
    const ac = new AbortController();
    const resolved = resolveCompareConfig(tiny({ ...base, tuneLr: [1e-3, 1e-2], tuneSeeds: 1 }), dir);
    const first = await runCompare({ resolved, pool, signal: ac.signal, onEvent: (e) => e.type === 'tune-end' && ac.abort() });
    assert.equal(first.summary.status, 'cancelled');
    assert.equal(first.summary.tuning!.finished, 1);
    const again = loadCompareRun(first.dir, path.dirname(first.dir));
    const events: CompareEvent[] = [];
    const r = await runCompare({ resolved: again, pool, resumeDir: again.dir, onEvent: (e) => void events.push(e) });
    assert.equal(r.summary.status, 'done');
    assert.equal(events.filter((e) => e.type === 'tune-end').length, 3, 'the kept tuning training is not run again');
    const t = r.summary.tuning!;
    assert.equal(t.finished, 4);
    for (const ch of t.choices) {
      const best = ch.valAcc.indexOf(Math.max(...ch.valAcc.map((v) => v ?? -1)));
      assert.equal(ch.lr, t.grid[best], `${ch.loss}: the best validation accuracy's rate`);
      assert.equal(r.summary.results.find((x) => x.loss === ch.loss)!.lr, ch.lr);
    }
    // Each loss's test trainings used its chosen rate: a plain run at that rate gives the same accuracies.
    for (const ch of t.choices) {
      const plain = await runCompare({ resolved: resolveCompareConfig(tiny({ ...base, lr: ch.lr }), dir), pool });
      const a = r.summary.results.find((x) => x.loss === ch.loss)!.testAccuracy.perSeed;
      const b = plain.summary.results.find((x) => x.loss === ch.loss)!.testAccuracy.perSeed;
      assert.deepEqual(a, b, `${ch.loss} at lr ${ch.lr}`);
    }
    assert.match(formatCompareTable(r.summary), /learning rate, tuned per loss and augmentation[\s\S]*\*[\s\S]*focal @/);
  } finally {
    await pool.close();
  }
});

test('lr tuning: rates chosen on the grid\'s edge are flagged (the best may lie beyond)', () => {
  const ch = (lr: number) => ({ loss: 'x', augmentation: 'none', lr, valAcc: [], finished: [] });
  assert.equal(gridEdge([1e-3, 3e-3, 1e-2], [ch(3e-3), ch(3e-3)]), '');
  assert.match(gridEdge([1e-3, 3e-3, 1e-2], [ch(1e-2), ch(1e-2), ch(3e-3)]), /2 of 3 at the largest rate \(0\.01\).*widen the grid/);
  assert.match(gridEdge([1e-3, 3e-3, 1e-2], [ch(1e-3)]), /1 of 1 at the smallest \(0\.001\)/);
});
