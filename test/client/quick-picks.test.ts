/** The Evaluate/Evolve quick picks' words and time estimates (client/src/runs/quick-picks.ts, estimate.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_COMPARE } from '../../client/src/runs/cli-args';
import { compareWork, estimateCompare, estimateEvolve, estimateText, formatDuration, MS_PER_EXAMPLE_EPOCH, rate, recordedRun, RUN_OVERHEAD_MS, type RecordedRun } from '../../client/src/runs/estimate';
import { choicesSummary, QUICK_TRIAL, rememberedTag, startItems } from '../../client/src/runs/quick-picks';
import { recordedRuns } from '../../client/src/runs/run-files';
import { MODELS, TORCH_MODELS } from '../../client/src/runs/cli-args';

// The summary of the quick trial as the CLI wrote it on 2 cores (lenet, 2 x 2 trainings, 2 epochs, 3,000 digits, 16.5 s).
const QUICK_SUMMARY = { kind: 'compare', status: 'done', model: { kind: 'lenet' }, dataset: { spec: 'mnist', seed: 0, maxTrain: 3000, train: 3000, val: 999, test: 2000 }, jobs: 4, epochs: 2, wallMs: 16468 };

test('a fresh workspace labels the pre-selected choices "default", then "last used"', () => {
  assert.equal(rememberedTag(false), 'default');
  assert.equal(rememberedTag(true), 'last used');
});

test('the first question: Quick trial with its estimate, Re-run only with remembered settings, Choose', () => {
  const fresh = startItems(undefined, []);
  assert.deepEqual(fresh.map((i) => i.action), ['quick', 'choose']);
  assert.equal(fresh[0].label, '$(zap) Quick trial');
  assert.match(fresh[0].description, /^about \d+ s \(lenet's figure for 2 CPU cores\)$/);
  assert.equal(fresh[0].detail.split(' (')[0], 'lenet · mnist · none · 2 seeds × 2 epochs · 3,000 examples');
  const last = { ...DEFAULT_COMPARE, augmentations: ['none', 'cutout'], engine: 'torch' as const, device: 'cuda:0' };
  const again = startItems(last, [recordedRun(QUICK_SUMMARY)!]);
  assert.deepEqual(again.map((i) => i.action), ['quick', 'last', 'choose']);
  assert.equal(again[1].label, '$(history) Re-run with the last settings');
  assert.equal(again[1].detail, 'convnet · mnist · none, cutout · 3 seeds × 5 epochs · all examples · torch cuda:0');
  assert.match(again[0].description, /from your last lenet run\)$/);
});

test('the quick trial is small enough for about a minute on 2 cores, and a real comparison (2 seeds)', () => {
  assert.ok(QUICK_TRIAL.seeds >= 2 && QUICK_TRIAL.epochs <= 2 && (QUICK_TRIAL.maxTrain ?? Infinity) <= 5000);
  assert.ok(MODELS.includes(QUICK_TRIAL.model) && QUICK_TRIAL.model === 'lenet');
  const e = estimateCompare(QUICK_TRIAL, []);
  assert.ok(e.ms > 10_000 && e.ms < 60_000, String(e.ms));
  // Calibrated on the recorded quick trial itself, it predicts that run's time within 15%.
  const own = estimateCompare(QUICK_TRIAL, [recordedRun(QUICK_SUMMARY)!]);
  assert.ok(Math.abs(own.ms - QUICK_SUMMARY.wallMs) / QUICK_SUMMARY.wallMs < 0.15, String(own.ms));
  assert.deepEqual(own.from, { runs: 1 });
});

test('every offered model has a figure; the work of a comparison counts losses, augmentations, seeds, epochs, examples', () => {
  for (const m of [...MODELS, ...TORCH_MODELS]) assert.ok(MS_PER_EXAMPLE_EPOCH[m] > 0, m);
  assert.deepEqual(compareWork({ dataset: 'mnist', augmentations: ['none', 'cutout'], seeds: 3, epochs: 5 }, 2), { trainings: 18, exampleEpochs: 18 * 5 * 7001 });
  assert.deepEqual(compareWork({ dataset: 'mnist', augmentations: [], seeds: 1, epochs: 1, maxTrain: 100_000 }), { trainings: 2, exampleEpochs: 2 * 7001 });
  const e = estimateCompare({ dataset: 'mnist', model: 'mlp', augmentations: ['none'], seeds: 1, epochs: 1, maxTrain: 1000 }, []);
  assert.equal(e.ms, RUN_OVERHEAD_MS + 2 * 1000 * MS_PER_EXAMPLE_EPOCH.mlp);
});

test('the rate: the median of the last 3 runs of the same model; other models, unfinished runs and evolutions do not count', () => {
  const run = (model: string, wallMs: number): RecordedRun => ({ model, trainings: 4, epochs: 1, examples: 10_000, wallMs });
  const r = rate('lenet', [run('lenet', 10_000 + 40_000), run('mlp', 1), run('lenet', 10_000 + 120_000), run('lenet', 10_000 + 80_000), run('lenet', 1e9)]);
  assert.deepEqual(r, { ms: 2, from: { runs: 3 } });
  assert.equal(recordedRun({ ...QUICK_SUMMARY, status: 'cancelled' }), undefined);
  assert.equal(recordedRun({ kind: 'evolve', status: 'done' }), undefined);
  assert.equal(recordedRun(null), undefined);
  assert.equal(recordedRun({ ...QUICK_SUMMARY, dataset: {} }), undefined);
});

test('an evolution: each child trains at most 1 x 40 + 4 x 50 steps of 64, capped by its examples', () => {
  const big = estimateEvolve({ model: 'mlp', steps: 100, maxTrain: 4000, augmentations: 1 }, []);
  assert.equal(big.ms, RUN_OVERHEAD_MS + 100 * (2560 + 4 * 3200) * MS_PER_EXAMPLE_EPOCH.mlp);
  const small = estimateEvolve({ model: 'mlp', steps: 100, maxTrain: 300, augmentations: 2 }, []);
  assert.equal(small.ms, RUN_OVERHEAD_MS + 200 * 5 * 300 * MS_PER_EXAMPLE_EPOCH.mlp);
});

test('durations read as a person says them', () => {
  assert.equal(formatDuration(1200), 'about 5 s');
  assert.equal(formatDuration(16_468), 'about 15 s');
  assert.equal(formatDuration(150_000), 'about 3 min');
  assert.equal(formatDuration(5 * 3600_000), 'about 5 h');
  assert.equal(formatDuration(3 * 86_400_000), 'about 3 days');
  assert.equal(estimateText({ ms: 60_000, from: { runs: 2 } }, 'lenet'), 'about 60 s (from your last 2 lenet runs)');
});

test('recorded runs come from the workspace folders\' done compare runs, newest first', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'lossmith-records-'));
  try {
    const put = (id: string, summary: object): void => {
      const d = path.join(ws, '.lossmith', 'runs', id);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'summary.json'), JSON.stringify({ id, created: '2026-12-06T10:00:00Z', ...summary }));
      fs.writeFileSync(path.join(d, 'events.jsonl'), '');
    };
    put('20261206-100000-000-aaaa', { ...QUICK_SUMMARY, wallMs: 1000 });
    put('20261206-110000-000-bbbb', { ...QUICK_SUMMARY, wallMs: 2000 });
    put('20261206-120000-000-cccc', { ...QUICK_SUMMARY, status: 'failed' });
    put('20261206-130000-000-dddd', { kind: 'evolve', status: 'done' });
    assert.deepEqual(recordedRuns([ws]).map((r) => r.wallMs), [2000, 1000]);
    assert.deepEqual(recordedRuns([path.join(ws, 'nothing')]), []);
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
});

test('a summary of settings names everything that changes the time', () => {
  assert.equal(choicesSummary(QUICK_TRIAL), 'lenet · mnist · none · 2 seeds × 2 epochs · 3,000 examples');
  assert.equal(choicesSummary({ ...DEFAULT_COMPARE, seeds: 1, epochs: 1, engine: 'tfjs' }), 'convnet · mnist · none · 1 seed × 1 epoch · all examples · tfjs');
});
