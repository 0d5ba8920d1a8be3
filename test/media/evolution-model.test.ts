/** The evolution panel's view model on the recorded events of a real evolution run (no DOM). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySummary, emptyEvoModel, evoMetadata, evoProgress, evoProgressText, exprSize, finalLegend, finalTable, finalVerdicts, fitnessSeries, reduceEvo, rejections, scatter, topK, transferFraction, transferLegend, transferProgress, transferTable } from '../../media/src/evolution/model';
import { pp, pValue } from '../../media/src/shared/format';
import { progressOf } from '../../client/src/runs/run-files';
import { finalVerdictPhrase, verdictLegend } from '../../media/src/shared/verdict';
import { finalVerdictText } from '../../engine/src/commands/evolve-commands';
import { holmAdjust, verdictOf } from '../../engine/src/run/stats';
import type { EvolveSummary } from '../../protocol/evolve-events';
import { fixtureEvents, fixtureSummary, MEDIA_FIXTURES } from './evaluation-harness';

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
  // The status line counts what the notification counts: candidates evaluated (the initial population's too), then children.
  const trained = new Set(events.filter((e) => e.type === 'candidate-evaluated').map((e) => e.id)).size;
  const children = m.searches[0].generations.at(-1)!.evaluated;
  const planned = m.steps * m.augments.length; // one search per augmentation
  assert.equal(evoProgressText(m), `${trained} candidates evaluated · ${children} of ${planned} children (${Math.round((100 * children) / planned)}%)`);
  const early = emptyEvoModel('early');
  for (const e of events.slice(0, events.findIndex((e) => e.type === 'generation'))) reduceEvo(early, e);
  assert.match(evoProgressText(early), /^\d+ candidates? evaluated · initial population$/);
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

test('final re-training: p (Holm), the verdict in words and the seeds left out; none in a run recorded before them', () => {
  // The recorded run (before verdicts): its numbers, '—' for the rest, no Runs view verdicts.
  const old = emptyEvoModel('old');
  applySummary(old, fixtureSummary('evolve-finished'));
  const oldRows = finalTable(old);
  assert.equal(oldRows.length, 6);
  assert.ok(oldRows.every((r) => r.verdict === null && r.cells.verdict === '—' && r.cells.pAdjusted === '—' && r.cells.excluded === '—' && r.cells.seeds === '2' && r.title === ''));
  for (const r of oldRows) for (const c of Object.values(r.cells)) assert.ok(c && !/undefined|NaN|null/.test(c), c);
  assert.match(finalLegend(old), /recorded before Holm-adjusted p-values and verdicts/);
  assert.equal(finalVerdicts(old), null);

  // The same rows as the engine writes them now (engine/src/evolve/run.ts): pairs where both
  // trainings completed, Holm over the rows, a verdict per row; a row with no pair has no test.
  const summary = structuredClone(fixtureSummary('evolve-finished')) as EvolveSummary;
  const rows = summary.final!;
  rows[0].seeds = [2, 3, 4];
  rows[0].test = { ...rows[0].test!, n: 3, meanDiff: -0.0062, pValue: 0.004 };
  rows[1].excluded = 1;
  rows[2].test = null;
  rows[2].excluded = 2;
  const adjusted = holmAdjust(rows.map((r) => r.test?.pValue ?? null));
  rows.forEach((r, i) => {
    if (r.test) Object.assign(r.test, { n: r.test.n ?? r.seeds.length - (r.excluded ?? 0), pAdjusted: adjusted[i], verdict: verdictOf(r.test.n ?? r.seeds.length - (r.excluded ?? 0), r.test.meanDiff, adjusted[i]) });
  });
  const m = emptyEvoModel('new');
  applySummary(m, summary);
  const t = finalTable(m);
  assert.deepEqual(t.map((r) => r.verdict), ['worse', 'inconclusive', 'inconclusive', 'inconclusive', 'inconclusive', 'inconclusive']);
  assert.deepEqual(t.map((r) => r.cells.verdict), ['worse', 'inconclusive', 'inconclusive', 'inconclusive', 'inconclusive', 'inconclusive']);
  assert.equal(t[0].cells.pAdjusted, pValue(adjusted[0]));
  assert.deepEqual(t.slice(0, 3).map((r) => [r.cells.seeds, r.cells.excluded]), [['3 of 3', 'none'], ['1 of 2', '1 of 2 seeds left out (a training did not finish)'], ['0 of 2', '2 of 2 seeds left out (a training did not finish)']]);
  // The CLI's words (engine/src/commands/evolve-commands.ts), per row.
  for (let i = 0; i < rows.length; i++) assert.equal(finalVerdictPhrase(m.final[i], m.final[i].excluded ?? 0), finalVerdictText(rows[i]), `row ${i}`);
  assert.equal(t[0].title, `#28 (none) re-trained: worse than CE, -0.62 pp, p_adj = ${adjusted[0]!.toPrecision(2)}`);
  assert.equal(t[2].title, '#63 (none) re-trained: inconclusive: no seed where both finished (2 seeds left out: a training did not finish)');
  assert.equal(finalLegend(m), verdictLegend(6));
  const v = finalVerdicts(m)!;
  assert.equal(v.short, '1 worse, 5 inconclusive');
  assert.equal(v.lines.length, 6);
  assert.match(v.lines[3], /^#\d+ \(cutout\) re-trained: inconclusive, [-+]\d+\.\d\d pp, p_adj = /);
  // Malformed fields are dropped.
  const bad = emptyEvoModel('bad');
  applySummary(bad, { final: [{ id: 'x', loss: 'sum(p)', augment: 'none', seeds: [1, 2, 3], test: { meanDiff: 0.1, pValue: 0.2, ci95: null, n: 3, pAdjusted: 'low', verdict: 'great' }, excluded: -1 }] });
  assert.deepEqual(finalTable(bad).map((r) => [r.verdict, r.cells.pAdjusted, r.cells.excluded, r.title]), [[null, '—', 'none', '']]);
});

// ---------------------------------------------------------------------------------------------
// The transfer ladder (evolve --transfer): a real run recorded with it (test/media/fixtures/
// evolve-transfer: the top 2 and CE re-trained at the steps surrogate and convnet, learning rates
// tuned on 0.001, 0.01, 3 fresh seeds), checked against the summary and the CLI's words.

const LADDER = 'evolve-transfer';
const lEvents = fixtureEvents(LADDER, MEDIA_FIXTURES) as Ev[];
const lSummary = fixtureSummary(LADDER, MEDIA_FIXTURES) as EvolveSummary;
const ladderModel = (evs: readonly Ev[] = lEvents, summary: unknown = lSummary): ReturnType<typeof emptyEvoModel> => {
  const m = emptyEvoModel('l');
  for (const e of evs) reduceEvo(m, e);
  applySummary(m, summary);
  return m;
};

test('transfer ladder: a row per loss, a verdict per step with the difference, p (Holm), the tuned rates and the seeds left out', () => {
  const m = ladderModel();
  assert.equal(m.status, 'done');
  const rows = lSummary.transfer!.rows;
  assert.deepEqual(m.transfer?.steps, ['surrogate', 'convnet']);
  assert.equal(m.transfer?.rows.length, rows.length);
  const tt = transferTable(m)!;
  // One augmentation: a column per step, named by the step.
  assert.deepEqual(tt.columns.map((c) => c.header), ['surrogate', 'convnet']);
  const ids = [...new Set(rows.map((r) => r.id))];
  assert.deepEqual(tt.rows.map((r) => r.id), ids);
  assert.equal(tt.rows.length, 2);
  assert.deepEqual(tt.rows.map((r) => r.label), ids.map((id) => `#${id} (rank ${rows.find((r) => r.id === id)!.rank})`));
  for (const r of rows) {
    const row = tt.rows.find((x) => x.id === r.id)!;
    assert.equal(row.loss, r.loss);
    const cell = row.cells[tt.columns.findIndex((c) => c.step === r.step && c.augment === r.augment)]!;
    assert.equal(cell.verdict, r.test?.verdict ?? 'inconclusive');
    // The CLI's words (engine/src/commands/evolve-commands.ts) in the tooltip.
    assert.equal(cell.title, `#${r.id} at ${r.stepLabel}: ${finalVerdictText(r)}`);
    assert.equal(cell.diff, r.test ? `${pp(r.test.meanDiff)}${r.test.pAdjusted == null ? '' : `, p (Holm) ${pValue(r.test.pAdjusted)}`}` : 'no seed where both finished');
    assert.equal(cell.lr, `lr ${r.lr}, CE ${r.ceLr}`);
    assert.equal(cell.excluded, r.excluded ? `${r.excluded} of ${r.seeds.length} seeds left out` : '');
    for (const t of [cell.title, cell.diff, cell.lr]) assert.ok(!/undefined|NaN|null/.test(t), t);
  }
  // Holm over the rows of the ladder: the engine's adjustment, and its verdicts.
  const adjusted = holmAdjust(rows.map((r) => r.test?.pValue ?? null));
  rows.forEach((r, i) => {
    if (r.test) {
      assert.equal(r.test.pAdjusted, adjusted[i]);
      assert.equal(r.test.verdict, verdictOf(r.test.n ?? 0, r.test.meanDiff, adjusted[i]));
    }
  });
  const legend = transferLegend(m);
  assert.ok(legend.endsWith(verdictLegend(rows.length, 'the transfer ladder')), legend);
  assert.match(legend, /^Each step re-trains the best losses of each search and CE on 3 fresh seeds under every augmentation searched, each at its own learning rate tuned at that step/);
  assert.match(legend, new RegExp(`over all ${rows.length} comparisons of the transfer ladder\\.`));
});

test('transfer ladder: its trainings counted while they run (tuning ones apart, a repeated one once); the Runs view says it', () => {
  const tIdx = lEvents.map((e, i) => [e.type, i] as const).filter(([t]) => t === 'transfer-evaluated').map(([, i]) => i);
  const cut = tIdx[6] + 1;
  const mid = ladderModel(lEvents.slice(0, cut), null);
  assert.equal(mid.status, 'running');
  assert.equal(mid.transfer, null);
  assert.equal(transferTable(mid), null);
  const seven = lEvents.slice(0, cut).filter((e) => e.type === 'transfer-evaluated');
  const tuning = seven.filter((e) => e.tune === true).length;
  assert.ok(tuning > 0 && tuning < 7);
  assert.equal(transferProgress(mid), `transfer ladder: 7 trainings finished (${tuning} learning-rate tuning), step 1`);
  // A resumed run may repeat an evaluation it had not checkpointed: counted once.
  const again = ladderModel([...lEvents.slice(0, cut), lEvents[tIdx[6]]], null);
  assert.equal(again.transferDone.size, 7);
  // The step of the last training; its label only comes with the summary.
  const late = ladderModel(lEvents.slice(0, tIdx[tIdx.length - 1] + 1), null);
  assert.match(transferProgress(late) ?? '', /, step 2$/);
  assert.match(progressOf('evolve', lEvents.slice(0, cut)).detail, new RegExp(`; transfer ladder: 7 trainings finished \\(${tuning} learning-rate tuning\\), step 1$`));
  assert.doesNotMatch(progressOf('evolve', lEvents, lSummary).detail, /transfer/);
  // Runs that announce the ladder (transfer-start: its steps and planned trainings) say "of N" and the step's label,
  // and show each finished step's rows (transfer-rows) before the summary.
  const total = new Set(lEvents.filter((e) => e.type === 'transfer-evaluated').map((e) => e.key)).size;
  const announce = { type: 'transfer-start', steps: ['surrogate', 'convnet'], total };
  const planned = ladderModel([...lEvents.slice(0, tIdx[0]), announce, ...lEvents.slice(tIdx[0], cut)], null);
  assert.equal(transferProgress(planned), `transfer ladder: 7 of ${total} trainings finished (${tuning} learning-rate tuning), step 1 of 2 (surrogate)`);
  assert.equal(transferFraction(planned), 7 / total);
  const firstStep = lSummary.transfer!.rows.filter((r) => r.step === 0);
  const stepped = ladderModel([...lEvents.slice(0, cut), { type: 'transfer-rows', steps: ['surrogate', 'convnet'], rows: firstStep }], null);
  assert.deepEqual(transferTable(stepped)?.columns.map((c) => c.step), transferTable(ladderModel())?.columns.filter((c) => c.step === 0).map((c) => c.step));
  assert.equal(transferFraction(mid), null);
});

test('transfer ladder: none in runs without it; malformed rows are dropped, a row with no test is inconclusive', () => {
  const old = emptyEvoModel('old');
  for (const e of fixtureEvents('evolve-finished') as Ev[]) reduceEvo(old, e);
  applySummary(old, fixtureSummary('evolve-finished'));
  assert.deepEqual([old.transfer, transferTable(old), transferLegend(old), transferProgress(old), old.transferDone.size], [null, null, '', null, 0]);
  const base = lSummary.transfer!.rows[0];
  const bad = emptyEvoModel('bad');
  applySummary(bad, {
    transfer: {
      steps: ['surrogate', 7],
      rows: [
        { ...base, step: 'x' },
        { ...base, id: -1 },
        { ...base, step: 1, stepLabel: 5, lr: 'fast', ceLr: -1, test: null, excluded: 3, seeds: [1, 2, 3] },
        { ...base, test: { meanDiff: 0.01, pValue: 0.2, ci95: null, n: 3, pAdjusted: 'low', verdict: 'great' } },
      ],
    },
  });
  assert.deepEqual(bad.transfer?.steps, ['surrogate', 'step 2']);
  const tt = transferTable(bad)!;
  assert.deepEqual(tt.columns.map((c) => c.header), ['surrogate', 'step 2']);
  assert.equal(tt.rows.length, 1);
  const [first, second] = tt.rows[0].cells;
  assert.deepEqual([first?.verdict, first?.diff, first?.lr], [null, '+1.00 pp', `lr ${base.lr}, CE ${base.ceLr}`]);
  assert.equal(second?.lr, '');
  assert.deepEqual([second?.verdict, second?.diff, second?.excluded], ['inconclusive', 'no seed where both finished', '3 of 3 seeds left out']);
  assert.equal(second?.title, `#${base.id} at step 2: inconclusive: no seed where both finished (3 seeds left out: a training did not finish)`);
  for (const e of [{ type: 'transfer-evaluated', key: 5, step: 0 }, { type: 'transfer-evaluated', key: 'k', step: -1 }] as Ev[]) reduceEvo(bad, e);
  assert.equal(bad.transferDone.size, 0);
});
