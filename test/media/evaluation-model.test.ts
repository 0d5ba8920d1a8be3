/** The evaluation panel's view model on the recorded events of a real compare run (no DOM). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curves, emptyModel, lossOrder, metadata, progress, reduce, table, tableCsv } from '../../media/src/evaluation/model';
import { chartSvg, pct, pp, pValue, toCsv } from '../../media/src/shared/format';
import { parseFromRunWebview, parseRunPanelState, parseToRunWebview } from '../../media/src/shared/run-messages';
import { fixtureEvents } from './evaluation-harness';
import type { WireEvent } from '../../media/src/shared/validate';
import { computeShort } from '../../media/src/shared/compute';

const events = fixtureEvents('compare-finished') as { type: string; [k: string]: unknown }[];

test('reduces a finished run: grid, curves, final table', () => {
  const m = emptyModel('r');
  for (const e of events) reduce(m, e);
  assert.equal(m.status, 'done');
  assert.equal(m.jobs, 12);
  assert.equal(m.finished, 12);
  assert.deepEqual(lossOrder(m), ['ce', 'focal']);
  assert.deepEqual(m.augmentations, ['none', 'cutout']);
  assert.equal(progress(m), 1);
  const c = curves(m, 'none', 'valAcc', true);
  assert.deepEqual(c.x, [1, 2, 3]);
  const means = c.series.filter((s) => s.kind === 'mean');
  assert.equal(means.length, 2);
  assert.equal(c.series.filter((s) => s.kind === 'seed').length, 6);
  // The mean is the mean of the seeds, the band mean ± 1 sample s.d.
  const seeds = c.series.filter((s) => s.kind === 'seed' && s.loss === 'ce').map((s) => s.y[2] as number);
  const mu = seeds.reduce((a, b) => a + b, 0) / 3;
  const sd = Math.sqrt(seeds.reduce((a, b) => a + (b - mu) ** 2, 0) / 2);
  const ce = means.find((s) => s.loss === 'ce')!;
  assert.ok(Math.abs((ce.y[2] as number) - mu) < 1e-12);
  assert.ok(Math.abs((ce.hi![2] as number) - (mu + sd)) < 1e-12);
  const rows = table(m);
  assert.equal(rows.length, 4);
  assert.ok(rows.every((r) => !r.provisional));
  const focal = rows.find((r) => r.loss === 'focal' && r.augmentation === 'none')!;
  const result = events.find((e) => e.type === 'result' && e.loss === 'focal' && e.augmentation === 'none') as unknown as { vsBaseline: { meanDiff: number; pValue: number } };
  assert.equal(focal.raw.meanDiff, result.vsBaseline.meanDiff);
  assert.equal(focal.cells.p, pValue(result.vsBaseline.pValue));
  assert.equal(focal.verdict, result.vsBaseline.pValue < 0.05 ? (result.vsBaseline.meanDiff > 0 ? 'better' : 'worse') : 'same');
  const csv = tableCsv(m).trim().split('\r\n');
  assert.equal(csv.length, 5);
  // The engine and device line: the recorded wasm backend (one thread in each of two workers, once).
  assert.equal(metadata(m).find(([k]) => k === 'Engine')![1], 'tfjs · wasm (cpu, 1 thread)');
});

test('the engine line of a torch run: the recorded CPU run, and a CUDA GPU as the torch engine reports one', () => {
  const m = emptyModel('t');
  for (const e of fixtureEvents('compare-torch-cpu')) reduce(m, e as { type: string });
  assert.equal(m.status, 'done');
  // Two workers reported the same torch and device: one line.
  assert.equal(m.backends.length, 1);
  assert.equal(metadata(m).find(([k]) => k === 'Engine')![1], 'torch 1.13.0a0 · cpu (1 threads) · fp32');
  const g = emptyModel('g');
  const gpu = (device: string): WireEvent => ({
    type: 'backend',
    backend: { name: 'torch', engine: 'torch', device: 'gpu', threads: 16, detail: '', warnings: [], torch: { engine: 'torch', python: '3.12.3', executable: '/usr/bin/python3', torch: '2.11.0+cu130', torchvision: '0.26.0', cuda: '13.0', cudnn: 91300, device, deviceName: 'NVIDIA H100 80GB HBM3', precision: 'bf16', compile: false, channelsLast: true, threads: 16, pid: 7 } },
  });
  reduce(g, { type: 'run-start', created: '2026-01-01T00:00:00.000Z' });
  assert.equal(metadata(g).find(([k]) => k === 'Engine')![1], 'not reported yet');
  for (const e of [gpu('cuda:0'), gpu('cuda:1'), gpu('cuda:0'), { type: 'backend', backend: { name: 7 } }]) reduce(g, e);
  assert.equal(metadata(g).find(([k]) => k === 'Engine')![1], 'torch 2.11.0 · cuda:0 NVIDIA H100 80GB HBM3 · bf16 · CUDA 13.0; torch 2.11.0 · cuda:1 NVIDIA H100 80GB HBM3 · bf16 · CUDA 13.0');
  // The Runs view's few words.
  assert.deepEqual(g.backends.map(computeShort), ['torch cuda:0', 'torch cuda:1']);
  assert.equal(computeShort(m.backends[0]), 'torch cpu');
});

test('mid-run: provisional rows from finished seeds, progress between 0 and 1', () => {
  const m = emptyModel('r');
  const cut = events.findIndex((e) => e.type === 'seed-end') + 4;
  for (const e of events.slice(0, cut)) reduce(m, e);
  assert.equal(m.status, 'running');
  const p = progress(m);
  assert.ok(p > 0 && p < 1, String(p));
  const rows = table(m);
  assert.ok(rows.length > 0 && rows.every((r) => r.provisional));
  assert.ok(rows.every((r) => r.cells.diff === 'baseline' || r.cells.diff === '—'));
});

test('cancelled and failed runs say so; malformed events are skipped', () => {
  const m = emptyModel('r');
  for (const e of [...events.slice(0, 10), { type: 'epoch', loss: 1 }, { type: 'result', loss: 'x', augmentation: 'none', testAccuracy: null }, { type: 'run-cancelled', reason: 'SIGTERM', wallMs: 5, finished: 2 }]) reduce(m, e);
  assert.equal(m.status, 'cancelled');
  assert.match(m.message ?? '', /2 finished training/);
  const f = emptyModel('r');
  reduce(f, { type: 'run-failed', error: 'boom', wallMs: 1 });
  assert.equal(f.status, 'failed');
});

test('formatting and CSV/SVG export', () => {
  assert.equal(pct(0.75432), '75.43%');
  assert.equal(pp(-0.0042), '-0.42 pp');
  assert.equal(pp(0.01), '+1.00 pp');
  assert.equal(pValue(0.0004), '< 0.001');
  assert.equal(pValue(null), '—');
  assert.equal(toCsv(['a', 'b'], [['x,y', 'q"z'], [1, null]]), 'a,b\r\n"x,y","q""z"\r\n1,\r\n');
  const svg = chartSvg({ title: 'T <&>', xLabel: 'x', yLabel: 'y', x: [1, 2, 3], series: [{ label: 'a', color: '#f00', y: [1, null, 3], band: { lo: [0, 1, 2], hi: [2, 3, 4] } }] });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /T &#60;&#38;&#62;/);
  assert.match(svg, /<polygon/);
  assert.ok(!/NaN/.test(svg));
});

test('run panel messages are validated', () => {
  assert.equal(parseToRunWebview({ type: 'events', runId: '../x', from: 0, events: [] }), undefined);
  assert.deepEqual(parseToRunWebview({ type: 'events', runId: 'r1', from: 0, events: [{ type: 'a' }, 5, { x: 1 }] }), { type: 'events', runId: 'r1', from: 0, events: [{ type: 'a' }] });
  assert.equal(parseFromRunWebview({ type: 'save', format: 'exe', name: 'a', data: '' }), undefined);
  assert.equal(parseFromRunWebview({ type: 'save', format: 'csv', name: '../a.csv', data: '' }), undefined);
  assert.equal(parseFromRunWebview({ type: 'lossAction', action: 'open', expr: 'x', id: 1, file: '../../etc/passwd' }), undefined);
  assert.deepEqual(parseFromRunWebview({ type: 'lossAction', action: 'evaluate', expr: 'x', id: 3, file: 'best-none-1.loss' }), { type: 'lossAction', action: 'evaluate', expr: 'x', id: 3, file: 'best-none-1.loss' });
  assert.deepEqual(parseRunPanelState({ v: 1, runId: 'r', view: { aug: 'cutout', seeds: true, bad: { x: 1 }, '1x': 2 } }), { v: 1, runId: 'r', view: { aug: 'cutout', seeds: true } });
  assert.equal(parseRunPanelState({ v: 2, runId: 'r' }), undefined);
});

test('a resumed run (cancelled, then continued in the same file) ends with the same model as one never interrupted', () => {
  const key = (e: { [k: string]: unknown }): string => `${String(e.loss)}|${String(e.augmentation)}|${String(e.seedIndex)}`;
  const cut = events.findIndex((e) => e.type === 'seed-end') + 6;
  const first = events.slice(0, cut);
  const done = new Set(first.filter((e) => e.type === 'seed-end').map(key));
  const started = first.filter((e) => e.type === 'seed-start' && !done.has(key(e)));
  assert.ok(started.length > 0, 'the cut leaves a training half done');
  const cancelled = started.map((e) => ({ ...e, type: 'seed-end', status: 'cancelled', testAcc: null, wallMs: 0 }));
  // The resumed process trains every unfinished training again from its seed-start.
  const perTraining = (e: { type: string }): boolean => ['seed-start', 'epoch', 'seed-end'].includes(e.type);
  const rest = [...events.filter((e) => perTraining(e) && !done.has(key(e))), ...events.slice(cut).filter((e) => !perTraining(e))];
  const resumed = [
    ...first,
    ...cancelled,
    { type: 'run-cancelled', reason: 'SIGTERM', wallMs: 5, finished: done.size },
    { type: 'run-resume', pid: 1, host: 'h', time: 't' },
    { type: 'compare-resume', jobs: 12, kept: done.size, workers: 2 },
    ...rest,
  ];
  const mid = emptyModel('r');
  for (const e of resumed.slice(0, first.length + cancelled.length + 3)) reduce(mid, e);
  assert.equal(mid.status, 'running');
  assert.equal(mid.message, null);
  assert.equal(mid.finished, done.size);
  const a = emptyModel('a');
  for (const e of resumed) reduce(a, e);
  const b = emptyModel('b');
  for (const e of events) reduce(b, e);
  assert.equal(a.status, 'done');
  assert.equal(a.finished, 12);
  assert.deepEqual(table(a), table(b));
  for (const aug of ['none', 'cutout']) assert.deepEqual(curves(a, aug, 'valAcc', true), curves(b, aug, 'valAcc', true));
});
