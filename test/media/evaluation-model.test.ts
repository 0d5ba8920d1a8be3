/** The evaluation panel's view model on the recorded events of a real compare run (no DOM). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curves, emptyModel, isTuning, lossOrder, lrHeader, lrLegend, lrTable, metadata, progress, progressDetail, reduce, table, tableCsv, tableHeader, tableLegend, TABLE_HEADER, verdictSummary, type EvalModel, type TableRow } from '../../media/src/evaluation/model';
import { excludedText, parseExcluded, verdictCounts, verdictLegend, verdictPhrase, verdictReason, VERDICT_ALPHA } from '../../media/src/shared/verdict';
import { excludedText as engineExcludedText, formatCompareTable } from '../../engine/src/run/compare';
import { verdictOf } from '../../engine/src/run/stats';
import type { CompareResultJson, CompareSummary } from '../../protocol/run-events';
import { chartSvg, pct, pp, pValue, toCsv } from '../../media/src/shared/format';
import { parseFromRunWebview, parseRunPanelState, parseToRunWebview } from '../../media/src/shared/run-messages';
import { fixtureEvents, fixtureSummary, MEDIA_FIXTURES } from './evaluation-harness';
import type { WireEvent } from '../../media/src/shared/validate';
import { computeShort } from '../../media/src/shared/compute';
import { progressOf } from '../../client/src/runs/run-files';

const events = fixtureEvents('compare-finished') as { type: string; [k: string]: unknown }[];
const CSV_HEADER = 'loss,augmentation,lr,test_acc_mean,test_acc_std,n,diff_vs_baseline,ci95_lo,ci95_hi,dz,dz_ci95_lo,dz_ci95_hi,p_paired_t,p_holm,verdict,p_wilcoxon,ms_per_training,excluded_nan,excluded_failed,excluded_early_stopped,per_seed';

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
  // Recorded before Holm's adjustment, verdicts and exclusions: no verdict, '—', never 'undefined'.
  assert.equal(focal.verdict, null);
  assert.deepEqual([focal.cells.pAdjusted, focal.cells.verdict, focal.cells.excluded], ['—', '—', '—']);
  assert.match(focal.verdictTitle, /recorded before verdicts/);
  for (const r of rows) for (const c of Object.values(r.cells)) assert.ok(c && !/undefined|NaN|null/.test(c), `${r.loss}: ${c}`);
  assert.match(tableLegend(m), /recorded before Holm-adjusted p-values and verdicts/);
  const csv = tableCsv(m).trim().split('\r\n');
  assert.equal(csv.length, 5);
  assert.equal(csv[0], CSV_HEADER);
  const focalCsv = csv.find((l) => l.startsWith('focal,none,'))!.split(',');
  // lr, d_z, p_holm, verdict and the excluded counts are empty (recorded before them); p_paired_t is there.
  assert.equal(focalCsv[12], String(result.vsBaseline.pValue));
  assert.deepEqual([focalCsv[2], focalCsv[9], focalCsv[10], focalCsv[11], focalCsv[13], focalCsv[14], focalCsv[17], focalCsv[18], focalCsv[19]], ['', '', '', '', '', '', '', '', '']);
  // Recorded before learning-rate tuning: no tuning, no lr column, the same status words and metadata lines as before.
  assert.equal(m.tuning, null);
  assert.deepEqual(tableHeader(m), TABLE_HEADER);
  assert.deepEqual(lrTable(m), []);
  assert.equal(lrLegend(m), '');
  assert.equal(progressDetail(m), '12 of 12 trainings');
  assert.deepEqual(metadata(m).map(([k]) => k), ['Run', 'Status', 'Engine', 'Dataset', 'Model', 'Augmentations', 'Seeds × epochs', 'Trainings', 'Started', 'Wall time']);
  assert.ok(rows.every((r) => r.raw.lr === null && r.cells.lr === '—'));
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

// ---------------------------------------------------------------------------------------------
// Holm-adjusted p, verdicts and exclusions: a real run recorded with them (test/media/fixtures/
// compare-verdicts: focal no-difference, mae worse, wild with 2 of 5 seeds diverged, wilder with
// every seed diverged), checked against the engine's own words and rule.

const VERDICT_RUN = 'compare-verdicts';
const vEvents = fixtureEvents(VERDICT_RUN, MEDIA_FIXTURES) as WireEvent[];
const vSummary = fixtureSummary(VERDICT_RUN, MEDIA_FIXTURES) as CompareSummary;
const verdictModel = (evs: readonly WireEvent[] = vEvents): EvalModel => {
  const m = emptyModel('v');
  for (const e of evs) reduce(m, e);
  return m;
};

test('verdicts: p (Holm), the verdict in words and the trainings left out, per row', () => {
  const m = verdictModel();
  assert.equal(m.status, 'done');
  const rows = table(m);
  assert.deepEqual(rows.map((r) => r.loss), ['ce', 'focal', 'mae', 'wild', 'wilder']);
  const by = (loss: string): TableRow => rows.find((r) => r.loss === loss)!;
  const res = (loss: string): CompareResultJson => vSummary.results.find((r) => r.loss === loss)!;
  assert.deepEqual(rows.map((r) => r.verdict), [null, 'no-difference', 'worse', 'no-difference', 'inconclusive']);
  assert.deepEqual(rows.map((r) => r.cells.verdict), ['—', 'no difference', 'worse', 'no difference', 'inconclusive']);
  assert.equal(by('mae').cells.pAdjusted, pValue(res('mae').vsBaseline.pAdjusted));
  assert.equal(by('mae').cells.p, pValue(res('mae').vsBaseline.pValue));
  assert.ok(res('mae').vsBaseline.pAdjusted! > res('mae').vsBaseline.pValue!);
  assert.equal(by('ce').cells.pAdjusted, '—');
  assert.deepEqual(rows.map((r) => r.cells.excluded), ['none', 'none', 'none', '2 of 5 seeds diverged', '5 of 5 seeds diverged']);
  assert.match(by('mae').verdictTitle, /^worse than ce \(-14\.90 pp\): p \(Holm\) 0\.0074 < 0\.05$/);
  assert.match(by('wilder').verdictTitle, /inconclusive: 0 seed pairs, the verdict needs 3/);
  // No seed pairs: no test, said in words (not a Wilcoxon p of 1); a tested row keeps its p-values.
  assert.deepEqual([by('wilder').cells.p, by('wilder').cells.wilcoxon, by('wilder').cells.pAdjusted], ['no test (0 seed pairs)', '—', '—']);
  assert.match(by('mae').cells.wilcoxon, /^[<0-9]/);
  assert.match(by('focal').verdictTitle, /no difference from ce detected.*not a proof of equality/);
  for (const r of rows) for (const c of Object.values(r.cells)) assert.ok(c && !/undefined|NaN|null/.test(c), `${r.loss}: ${c}`);
  // The words and the rule are the engine's: its exclusion text, its verdict, its legend.
  for (const r of rows) {
    assert.equal(r.cells.excluded.replace(/^none$/, ''), engineExcludedText(res(r.loss)));
    if (!r.baseline) assert.equal(r.verdict, verdictOf(r.raw.n, r.raw.meanDiff, r.raw.pAdjusted, VERDICT_ALPHA));
  }
  const legend = tableLegend(m);
  assert.equal(legend, verdictLegend(4));
  assert.match(legend, /over all 4 comparisons of this run/);
  const cli = formatCompareTable(vSummary);
  assert.match(cli, /p \(Holm\): adjusted over all 4 comparisons of this run/);
  assert.ok(cli.includes('Verdict: better/worse when p (Holm) < 0.05, no-difference when none was detected, inconclusive under 3 seed pairs. Only completed trainings count:'));
  assert.ok(legend.includes('Verdict: better/worse when p (Holm) < 0.05, no difference when none was detected, inconclusive under 3 seed pairs. Only completed trainings count: diverged (NaN), failed and early-stopped ones are left out of the means and the pairs.'));
});

test('verdicts: the CSV has p_holm, the verdict as in summary.json and the excluded counts', () => {
  const lines = tableCsv(verdictModel()).trim().split('\r\n');
  assert.equal(lines[0], CSV_HEADER);
  const cols = CSV_HEADER.split(',');
  const rec = (loss: string): Record<string, string> => {
    const f = lines.find((l) => l.startsWith(`${loss},`))!.split(',');
    return Object.fromEntries(cols.map((c, i) => [c, f[i]]));
  };
  const mae = vSummary.results.find((r) => r.loss === 'mae')!;
  assert.equal(rec('mae').p_holm, String(mae.vsBaseline.pAdjusted));
  assert.equal(rec('mae').p_paired_t, String(mae.vsBaseline.pValue));
  assert.equal(rec('mae').verdict, 'worse');
  assert.equal(rec('focal').verdict, 'no-difference');
  assert.equal(rec('wilder').verdict, 'inconclusive');
  assert.deepEqual([rec('wild').excluded_nan, rec('wild').excluded_failed, rec('wild').excluded_early_stopped], ['2', '0', '0']);
  assert.equal(rec('wilder').excluded_nan, '5');
  // The baseline: no test, but its own exclusions.
  assert.deepEqual([rec('ce').p_holm, rec('ce').verdict, rec('ce').excluded_nan], ['', '', '0']);
  // wild: only the 3 completed seeds are in the per-seed list's numbers.
  assert.equal(rec('wild').per_seed.split(' ').filter(Boolean).length, 3);
});

test('verdicts: malformed fields are dropped, a better verdict and the Runs view summary', () => {
  const results = vEvents.filter((e) => e.type === 'result');
  const patched = vEvents.map((e) => {
    if (e.type !== 'result') return e;
    const vs = e.vsBaseline as Record<string, unknown>;
    if (e.loss === 'focal') return { ...e, vsBaseline: { ...vs, meanDiff: 0.012, pAdjusted: 0.01, verdict: 'better' } };
    if (e.loss === 'wild') return { ...e, vsBaseline: { ...vs, pAdjusted: 'small', verdict: 'great' }, excluded: { nan: -1, failed: 0, earlyStopped: 0 } };
    return e;
  });
  assert.equal(results.length, 5);
  const m = verdictModel(patched);
  const rows = table(m);
  const focal = rows.find((r) => r.loss === 'focal')!;
  assert.deepEqual([focal.verdict, focal.cells.verdict, focal.cells.pAdjusted], ['better', 'better', '0.010']);
  assert.equal(focal.verdictTitle, 'better than ce (+1.20 pp): p (Holm) 0.010 < 0.05');
  const wild = rows.find((r) => r.loss === 'wild')!;
  assert.deepEqual([wild.verdict, wild.cells.verdict, wild.cells.pAdjusted, wild.cells.excluded], [null, '—', '—', '—']);
  const s = verdictSummary(m)!;
  assert.equal(s.short, '1 better, 1 worse, 1 inconclusive');
  assert.deepEqual(s.lines, ['focal: better (+1.20 pp, p_adj = 0.010)', 'mae: worse (-14.90 pp, p_adj = 0.0074)', 'wild: —', 'wilder: inconclusive (0 seed pairs); 5 of 5 seeds diverged']);
  // The recorded run as it is, and a run recorded before verdicts (none).
  assert.deepEqual(verdictSummary(verdictModel()), {
    short: '1 worse, 2 no difference, 1 inconclusive',
    lines: [
      'focal: no difference (-0.05 pp, p_adj = 0.86)',
      'mae: worse (-14.90 pp, p_adj = 0.0074)',
      'wild: no difference (-0.18 pp, p_adj = 0.35); 2 of 5 seeds diverged',
      'wilder: inconclusive (0 seed pairs); 5 of 5 seeds diverged',
    ],
  });
  const old = emptyModel('o');
  for (const e of events) reduce(old, e);
  assert.equal(verdictSummary(old), null);
  assert.equal(verdictCounts([]), '');
  assert.equal(excludedText({ nan: 2, failed: 1, earlyStopped: 1 }, 5), '2 of 5 seeds diverged, 1 failed, 1 stopped early');
  assert.equal(excludedText({ nan: 0, failed: 0, earlyStopped: 2 }, 4), '2 of 4 seeds stopped early');
  assert.equal(parseExcluded({ nan: 1, failed: 0 }), null);
  assert.equal(verdictReason({ verdict: 'better', n: 8, meanDiff: 0.02, pAdjusted: 0.0004 }, 'ce'), 'better than ce (+2.00 pp): p (Holm) < 0.001');
  assert.equal(verdictPhrase({ verdict: 'worse', n: 8, meanDiff: -0.02, pAdjusted: 0.0004 }), 'worse (-2.00 pp, p_adj < 0.001)');
  assert.equal(verdictReason({ verdict: 'inconclusive', n: 4, meanDiff: 0, pAdjusted: null }, 'ce'), 'inconclusive: no test (the paired differences give no p-value)');
});

test('verdicts: mid-run, the provisional rows count only completed trainings and say which were left out', () => {
  // Up to the last seed-end of the run: every training ended, no result yet.
  const last = vEvents.map((e) => e.type).lastIndexOf('seed-end');
  const m = verdictModel(vEvents.slice(0, last + 1));
  const rows = table(m);
  assert.ok(rows.length === 5 && rows.every((r) => r.provisional && r.verdict === null && r.cells.verdict === '—'));
  const wild = rows.find((r) => r.loss === 'wild')!;
  assert.equal(wild.cells.excluded, '2 of 5 seeds diverged');
  assert.equal(wild.cells.n, '3 of 5');
  const final = table(verdictModel()).find((r) => r.loss === 'wild')!;
  assert.equal(wild.raw.mean, final.raw.mean);
  assert.match(tableLegend(m), /come when the run ends/);
  assert.equal(verdictSummary(m), null);
});

// ---------------------------------------------------------------------------------------------
// Learning-rate tuning (compare --tune-lr): a real run recorded with it (test/media/fixtures/
// compare-tuned: ce and focal, grid 0.001, 0.01 on tuning seeds 10001, 10002, both chose 0.01).

const TUNED_RUN = 'compare-tuned';
const tEvents = fixtureEvents(TUNED_RUN, MEDIA_FIXTURES) as WireEvent[];
const tSummary = fixtureSummary(TUNED_RUN, MEDIA_FIXTURES) as CompareSummary;
const tunedModel = (evs: readonly WireEvent[] = tEvents): EvalModel => {
  const m = emptyModel('t');
  for (const e of evs) reduce(m, e);
  return m;
};

test('tuning: the learning-rate table (a column per grid rate, the chosen one marked in words), as the summary and the CLI say', () => {
  const m = tunedModel();
  assert.equal(m.status, 'done');
  assert.deepEqual([m.tuning?.grid, m.tuning?.seeds, m.tuning?.jobs, m.tuning?.ended.size], [[0.001, 0.01], [10001, 10002], 8, 8]);
  assert.equal(isTuning(m), false);
  assert.deepEqual(lrHeader(m), ['Loss', 'Augmentation', 'lr 0.001', 'lr 0.01', 'Chosen rate']);
  const rows = lrTable(m);
  assert.deepEqual(rows.map((r) => [r.loss, r.augmentation, r.baseline, r.provisional, r.chosen]), [['ce', 'none', true, false, '0.01'], ['focal', 'none', false, false, '0.01']]);
  assert.deepEqual(rows.map((r) => r.cells.map((c) => c.text)), [['66.97%', '80.83%, chosen'], ['67.87%', '78.98%, chosen']]);
  assert.deepEqual(rows.map((r) => r.cells.map((c) => c.chosen)), [[false, true], [false, true]]);
  assert.equal(rows[0].cells[1].title, 'lr 0.01: mean best validation accuracy 80.83% over 2 tuning seeds (the rate chosen)');
  // The numbers are the summary's choices, and the CLI's table marks the same cells.
  for (const ch of tSummary.tuning!.choices) {
    const r = rows.find((x) => x.loss === ch.loss && x.augmentation === ch.augmentation)!;
    ch.valAcc.forEach((v, i) => assert.ok(r.cells[i].text.startsWith(pct(v)), `${ch.loss} ${i}`));
  }
  const cli = formatCompareTable(tSummary);
  assert.match(cli, /ce\s+none\s+66\.97%\s+80\.83% \*/);
  assert.match(cli, /focal @0\.01/);
  assert.match(lrLegend(m), /^Mean best validation accuracy over the tuning seeds 10001, 10002 \(never the test seeds\).*in bold, marked "chosen"/);
  for (const r of rows) for (const c of [...r.cells.map((x) => x.text), r.chosen]) assert.ok(!/undefined|NaN|null/.test(c), c);
});

test('tuning: each result row has its rate (a Learning rate column, the CSV lr, "focal @0.01" in the Runs view) and the metadata says how it was tuned', () => {
  const m = tunedModel();
  const header = tableHeader(m);
  assert.deepEqual(header.slice(0, 4), ['Loss', 'Augmentation', 'Learning rate', 'Test accuracy (mean)']);
  assert.equal(header.length, TABLE_HEADER.length + 1);
  const rows = table(m);
  assert.deepEqual(rows.map((r) => [r.loss, r.cells.lr, r.verdict]), [['ce', '0.01', null], ['focal', '0.01', 'no-difference']]);
  for (const r of rows) assert.equal(r.raw.lr, tSummary.results.find((x) => x.loss === r.loss)!.lr);
  const csv = tableCsv(m).trim().split('\r\n');
  assert.equal(csv[0], CSV_HEADER);
  assert.ok(csv[2].startsWith('focal,none,0.01,'), csv[2]);
  assert.deepEqual(verdictSummary(m)?.lines, ['focal @0.01: no difference (-1.28 pp, p_adj = 0.21)']);
  const meta = new Map(metadata(m));
  assert.equal(meta.get('Learning-rate tuning'), '0.001, 0.01 on tuning seeds 10001, 10002 · 8 of 8 tuning trainings');
  assert.equal(meta.get('Trainings'), '6 of 6');
  assert.equal(progressDetail(m), '6 of 6 trainings');
});

test('tuning: progress counts the tuning trainings ("tuning learning rates: 3 of 8"), then the test trainings; provisional means while it runs', () => {
  const at = (type: string, k: number): number => tEvents.map((e, i) => [e.type, i] as const).filter(([t]) => t === type)[k - 1][1] + 1;
  // Before any tuning training ended: 0, and the table's frame with no number yet.
  const start = tunedModel(tEvents.slice(0, at('compare-start', 1)));
  assert.equal(isTuning(start), true);
  assert.equal(progressDetail(start), 'tuning learning rates: 0 of 8 trainings');
  assert.equal(progress(start), 0);
  assert.deepEqual(lrTable(start).map((r) => [r.loss, r.provisional, r.cells.map((c) => c.text)]), [['ce', true, ['—', '—']], ['focal', true, ['—', '—']]]);
  // Three of the eight tuning trainings: 3 trainings of 8 + 6, each of 2 epochs.
  const three = tunedModel(tEvents.slice(0, at('tune-end', 3)));
  assert.equal(three.status, 'running');
  assert.equal(progressDetail(three), 'tuning learning rates: 3 of 8 trainings');
  assert.ok(Math.abs(progress(three) - 3 / 14) < 1e-12, String(progress(three)));
  const rows = lrTable(three);
  assert.ok(rows.every((r) => r.provisional && r.chosen === '—' && r.cells.every((c) => !c.chosen)));
  // ce ran at both rates on the first seed, focal at 0.001 only.
  const first = (loss: string, lr: number): number => tEvents.find((e) => e.type === 'tune-end' && e.loss === loss && e.lr === lr)!.bestValAcc as number;
  assert.deepEqual(rows.map((r) => r.cells.map((c) => c.text)), [[`${pct(first('ce', 0.001))} (1 of 2 seeds)`, `${pct(first('ce', 0.01))} (1 of 2 seeds)`], [`${pct(first('focal', 0.001))} (1 of 2 seeds)`, '—']]);
  assert.match(lrLegend(three), /chosen when every tuning training has finished/);
  // Every tuning training over, the rates chosen: the test trainings count from 8 of 14.
  const chosen = tunedModel(tEvents.slice(0, at('lr-chosen', 2)));
  assert.equal(isTuning(chosen), false);
  assert.equal(progressDetail(chosen), '0 of 6 trainings');
  assert.ok(Math.abs(progress(chosen) - 8 / 14) < 1e-12);
  assert.ok(lrTable(chosen).every((r) => !r.provisional));
  // The first test training: a provisional result row at the chosen rate.
  const one = tunedModel(tEvents.slice(0, at('seed-end', 1)));
  assert.deepEqual(table(one).map((r) => [r.loss, r.provisional, r.cells.lr]), [['ce', true, '0.01']]);
  // Progress never goes back, and tuning moves it.
  const m = emptyModel('p');
  let last = 0;
  const seen: number[] = [];
  for (const e of tEvents) {
    reduce(m, e);
    const p = progress(m);
    assert.ok(p >= last - 1e-12, `${e.type}: ${p} < ${last}`);
    last = p;
    if (e.type === 'tune-end') seen.push(p);
  }
  assert.equal(new Set(seen).size, 8);
  // The client's Runs view says the same.
  assert.equal(progressOf('compare', tEvents.slice(0, at('tune-end', 3))).detail, 'tuning learning rates: 3 of 8 trainings');
});

test('tuning: a resumed tuning training replaces its cancelled attempt; malformed tune-end and lr-chosen events are skipped', () => {
  const i = tEvents.findIndex((e) => e.type === 'tune-end');
  const firstTune = tEvents[i];
  const cancelled = { ...firstTune, status: 'cancelled', bestValAcc: null };
  const resumed = [...tEvents.slice(0, i), cancelled, { type: 'run-cancelled', reason: 'SIGTERM', wallMs: 1, finished: 0 }, { type: 'run-resume', pid: 1, host: 'h', time: 't' }, ...tEvents.slice(i)];
  const mid = tunedModel(resumed.slice(0, i + 1));
  assert.equal(progressDetail(mid), 'tuning learning rates: 0 of 8 trainings');
  const a = tunedModel(resumed);
  const b = tunedModel();
  assert.deepEqual(lrTable(a), lrTable(b));
  assert.equal(progress(tunedModel(resumed.slice(0, i + 4))), progress(tunedModel(tEvents.slice(0, i + 1))));
  const bad = tunedModel([
    ...tEvents.slice(0, 2),
    { type: 'tune-end', loss: 'ce', augmentation: 'none', lr: -1, seed: 1, status: 'completed', bestValAcc: 0.5 },
    { type: 'tune-end', loss: 5, augmentation: 'none', lr: 0.01, seed: 1 },
    { type: 'lr-chosen', loss: 'ce', augmentation: 'none', lr: 'fast', valAcc: [1], finished: [1] },
    { type: 'lr-chosen', loss: 'ce', augmentation: 'none', lr: 0.01, valAcc: ['x', 0.8], finished: [-1, 2] },
  ]);
  assert.equal(bad.tuning?.ended.size, 0);
  assert.deepEqual(bad.tuning?.choices, [{ loss: 'ce', augmentation: 'none', lr: 0.01, valAcc: [null, 0.8], finished: [0, 2], note: null }]);
  assert.deepEqual(lrTable(bad)[0].cells.map((c) => c.text), ['—', '80.00%, chosen']);
});

test('a queued run: the job queue and its workers at the start, and where each training ran (with retries)', () => {
  const m = emptyModel('q');
  for (const e of events) {
    if (e.type === 'seed-end') {
      // As a queued run records them: the worker that trained it; one training redone after its worker died.
      const redo = e.loss === 'focal' && e.seed === 1 && e.augmentation === 'none';
      reduce(m, { ...e, worker: { id: redo ? 'gpu2-77-ab' : 'gpu1-12-cd', host: redo ? 'gpu2' : 'gpu1', attempt: redo ? 2 : 1 } } as WireEvent);
    } else reduce(m, e as WireEvent);
    if (e.type === 'compare-start') {
      reduce(m, { type: 'queue', url: 'redis://lossmith:***@redis.lab:6379/0', workers: [{ id: 'gpu1-12-cd', host: 'gpu1', engine: 'torch', concurrency: 2, devices: ['cuda:0 NVIDIA H100', 'cuda:1 NVIDIA H100'] }, { id: 'gpu2-77-ab', host: 'gpu2', engine: 'torch', concurrency: 1, devices: ['cuda:0 NVIDIA H200'] }] } as WireEvent);
    }
  }
  const meta = new Map(metadata(m));
  assert.equal(meta.get('Job queue'), 'redis://lossmith:***@redis.lab:6379/0; workers at the start: gpu1 (torch; cuda:0 NVIDIA H100, cuda:1 NVIDIA H100; 2 slots), gpu2 (torch; cuda:0 NVIDIA H200; 1 slot)');
  assert.equal(meta.get('Ran on'), 'gpu1: 11 trainings, gpu2: 1 training (1 after a retry)');
  // A local run has neither line.
  const local = emptyModel('l');
  for (const e of events) reduce(local, e as WireEvent);
  assert.ok(!metadata(local).some(([k]) => k === 'Job queue' || k === 'Ran on'));
});

test('a GAN comparison (task gan): FD rows (lower is better) with the accuracy on generated digits beside them, FD curves, the metric explained', () => {
  const gan = fixtureEvents('compare-gan', MEDIA_FIXTURES) as WireEvent[];
  const m = emptyModel('g');
  for (const e of gan) reduce(m, e);
  assert.equal(m.task, 'gan');
  assert.equal(m.status, 'done');
  const header = tableHeader(m);
  assert.equal(header[2], 'FD (mean; lower is better)');
  assert.equal(header[5], 'Difference in FD');
  assert.equal(header[header.length - 1], 'Accuracy on generated digits');
  const rows = table(m);
  assert.deepEqual(rows.map((r) => r.loss), ['ns', 'hinge']);
  const result = gan.find((e) => e.type === 'result' && e.loss === 'hinge') as unknown as { gan: { fd: { mean: number }; genAccuracy: { mean: number } }; vsBaseline: { meanDiff: number; metric: string; lowerIsBetter: boolean } };
  assert.equal(result.vsBaseline.metric, 'fd');
  const hinge = rows[1];
  assert.equal(hinge.cells.mean, result.gan.fd.mean.toFixed(1));
  assert.equal(hinge.cells.diff, `${result.vsBaseline.meanDiff > 0 ? '+' : ''}${result.vsBaseline.meanDiff.toFixed(1)}`);
  assert.match(hinge.cells.ci, /^\[[-+]\d+\.\d, [-+]?\d+\.\d\]$/);
  assert.match(hinge.cells.gen, /^\d+\.\d+% ± \d+\.\d \([-+]?\d+\.\d+ pp, no difference\)$/);
  assert.match(rows[0].cells.gen, /^\d+\.\d+% ± \d+\.\d$/);
  for (const r of rows) for (const c of Object.values(r.cells)) assert.ok(c && !/undefined|NaN|null/.test(c), `${r.loss}: ${c}`);
  assert.match(tableLegend(m), /^FD is the Fréchet distance in the feature space of Lossmith's digit classifier \(lenet, \d+\.\d+% on the real test digits\) .* not Inception FID: lower is better/);
  const meta = new Map(metadata(m));
  assert.match(meta.get('Model')!, /^class-conditional DCGAN \(task gan/);
  assert.match(meta.get('Metrics')!, /not Inception FID/);
  // The curves: the quick FD and the accuracy on generated digits per epoch.
  const fd = curves(m, 'none', 'fd', false);
  assert.deepEqual(fd.x, [1, 2]);
  assert.ok(fd.series.every((s) => s.y.every((v) => v !== null && v > 0)));
  const acc = curves(m, 'none', 'genAccuracy', false);
  assert.ok(acc.series.every((s) => s.y.every((v) => v !== null && v >= 0 && v <= 1)));
  // Verdicts in FD units, never "pp" for FD.
  const v = verdictSummary(m)!;
  assert.match(v.lines[0], /^hinge: no difference \(FD [-+]\d+\.\d, p_adj /);
  assert.doesNotMatch(v.lines.join(' '), /FD[^;]*pp/);
  const csv = tableCsv(m).trim().split('\r\n');
  assert.equal(csv.length, 3);
});

test('a segmentation comparison (task segmentation): Dice rows with IoU and HD95 beside them, validation Dice curves, the metrics explained', () => {
  const seg = fixtureEvents('compare-seg', MEDIA_FIXTURES) as WireEvent[];
  const m = emptyModel('s');
  for (const e of seg) reduce(m, e);
  assert.equal(m.task, 'segmentation');
  assert.equal(m.status, 'done');
  const header = tableHeader(m);
  assert.equal(header[2], 'Test Dice (mean)');
  assert.equal(header[5], 'Difference in Dice');
  assert.equal(header[header.length - 1], 'IoU · HD95 (lower is better)');
  const rows = table(m);
  assert.deepEqual(rows.map((r) => r.loss), ['ce_pixel', 'tversky']);
  const result = seg.find((e) => e.type === 'result' && e.loss === 'tversky') as unknown as { seg: { dice: { mean: number }; iou: { mean: number }; hd95: { mean: number } }; vsBaseline: { meanDiff: number; metric: string } };
  assert.equal(result.vsBaseline.metric, 'dice');
  const t = rows[1];
  assert.equal(t.cells.mean, `${(result.seg.dice.mean * 100).toFixed(2)}%`);
  assert.match(t.cells.diff, /^[-+]\d+\.\d+ pp$/);
  assert.match(t.cells.seg, /^IoU \d+\.\d+% ± \d+\.\d · HD95 \d+\.\d\d ± \d+\.\d\d px \([-+]\d+\.\d\d px, [a-z -]+\)$/);
  assert.ok(t.cells.seg.startsWith(`IoU ${(result.seg.iou.mean * 100).toFixed(2)}%`), t.cells.seg);
  assert.match(rows[0].cells.seg, /^IoU \d+\.\d+% ± \d+\.\d · HD95 \d+\.\d\d ± \d+\.\d\d px$/);
  for (const r of rows) for (const c of Object.values(r.cells)) assert.ok(c && !/undefined|NaN|null/.test(c), `${r.loss}: ${c}`);
  assert.match(tableLegend(m), /^Dice and IoU of the predicted masks .* over the foreground classes, .* HD95 is the 95th-percentile Hausdorff distance .* Verdicts are on Dice\./);
  const meta = new Map(metadata(m));
  assert.equal(meta.get('Model'), 'U-Net (task segmentation)');
  assert.match(meta.get('Metrics')!, /^Dice \(verdicts\), IoU and HD95/);
  // Curves: validation Dice and IoU per epoch (validation accuracy does not exist here).
  for (const metric of ['valDice', 'valIou'] as const) {
    const c = curves(m, 'none', metric, false);
    assert.deepEqual(c.x, [1, 2]);
    assert.ok(c.series.every((s) => s.y.every((v) => v !== null && v >= 0 && v <= 1)), metric);
  }
  // Verdicts say Dice; the CSV names its columns for Dice and adds IoU and HD95.
  const v = verdictSummary(m)!;
  assert.match(v.lines[0], /^tversky: [a-z -]+ \(Dice [-+]\d+\.\d+ pp, p_adj /);
  const csv = tableCsv(m).trim().split('\r\n');
  assert.equal(csv.length, 3);
  assert.match(csv[0], /^loss,augmentation,lr,test_dice_mean,test_dice_std,.*,per_seed,iou_mean,hd95_mean,hd95_diff_vs_baseline$/);
  // While it runs: provisional rows from the finished trainings, with IoU and HD95.
  const part = emptyModel('p');
  for (const e of seg.filter((e) => e.type !== 'result' && e.type !== 'run-end')) reduce(part, e);
  const prov = table(part);
  assert.ok(prov[0].provisional);
  assert.match(prov[1].cells.seg, /^IoU \d+\.\d+% ± \d+\.\d · HD95 /);
});
