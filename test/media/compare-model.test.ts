/** Runs side by side (media/src/compare/model.ts) on two recorded compare runs, and its message. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augmentations, comparedRun, joinedCsv, JOINED_HEADER, joinedTable, overlay, runKey, runLetter } from '../../media/src/compare/model';
import { curves, table, TABLE_HEADER } from '../../media/src/evaluation/model';
import { MAX_COMPARED_RUNS, parseToRunWebview } from '../../media/src/shared/run-messages';
import type { WireEvent } from '../../media/src/shared/validate';
import { fixtureEvents, MEDIA_FIXTURES } from './evaluation-harness';

// compare-finished: focal vs ce on mlp, none and cutout, 3 seeds; compare-verdicts: four losses vs ce on none, 5 seeds.
const A = comparedRun('20261123-181143-029-0c57', 'focal vs ce · Nov 23, 18:11:43', fixtureEvents('compare-finished') as unknown as WireEvent[]);
const B = comparedRun('20261206-101644-580-b748', 'focal, mae, wild, wilder vs ce · Dec 6, 10:16:44', fixtureEvents('compare-verdicts', MEDIA_FIXTURES) as unknown as WireEvent[]);

test('the curves of two runs on one chart: the mean curve of each loss of each run, lettered by run', () => {
  assert.deepEqual(augmentations([A, B]), ['none', 'cutout']);
  const o = overlay([A, B], 'none', 'valAcc');
  const lossesA = curves(A.model, 'none', 'valAcc', false).series.map((s) => `A · ${s.loss}`);
  const lossesB = curves(B.model, 'none', 'valAcc', false).series.map((s) => `B · ${s.loss}`);
  assert.deepEqual(o.series.map((s) => s.label), [...lossesA, ...lossesB]);
  assert.equal(o.x.length, Math.max(A.model.epochs, B.model.epochs));
  for (const s of o.series) assert.equal(s.y.length, o.x.length);
  // Each line is the run's own mean curve (padded with nulls to the longer run).
  const ce = o.series.find((s) => s.label === 'A · ce')!;
  assert.ok(ce.baseline);
  // The same loss, the same colour in both runs; the baselines in colour 0.
  assert.deepEqual(o.series.filter((s) => s.loss === 'focal').map((s) => s.colorIndex), [1, 1]);
  assert.deepEqual([...new Set(o.series.filter((s) => s.baseline).map((s) => s.colorIndex))], [0]);
  assert.equal(new Set(o.series.filter((s) => !s.baseline).map((s) => s.colorIndex)).size, new Set(o.series.filter((s) => !s.baseline).map((s) => s.loss)).size);
  assert.deepEqual(ce.y.slice(0, A.model.epochs), curves(A.model, 'none', 'valAcc', false).series.find((s) => s.loss === 'ce')!.y);
  // An augmentation only one run has: only its curves.
  assert.ok(overlay([A, B], 'cutout', 'valAcc').series.every((s) => s.run === 0));
});

test('their tables joined: every row of each run, led by its letter; the key names each run', () => {
  const rows = joinedTable([A, B]);
  assert.equal(rows.length, table(A.model).length + table(B.model).length);
  assert.deepEqual(JOINED_HEADER, ['Run', ...TABLE_HEADER]);
  for (const r of rows) assert.equal(r.cells.length, JOINED_HEADER.length);
  assert.deepEqual([...new Set(rows.map((r) => r.cells[0]))], ['A', 'B']);
  const mae = rows.find((r) => r.run === 1 && r.row.loss === 'mae')!;
  assert.equal(mae.cells[11], 'worse');
  const key = runKey([A, B]);
  assert.match(key[0], /^A \(solid\): focal vs ce · Nov 23, 18:11:43 — mlp, mnist, 3 seeds × \d+ epochs?$/);
  assert.match(key[1], /^B \(dashed\): focal, mae, wild, wilder vs ce · Dec 6, 10:16:44 — /);
  const csv = joinedCsv([A, B]).split('\n');
  assert.equal(csv[0], JOINED_HEADER.join(','));
  assert.ok(csv[1].startsWith('"focal vs ce · Nov 23, 18:11:43",ce,none,'), csv[1]);
  assert.equal(runLetter(0), 'A');
  assert.equal(runLetter(27), 'R28');
});

test('the compareRuns message is validated: run ids, titles, at most MAX_COMPARED_RUNS', () => {
  const ok = { type: 'compareRuns', runs: [{ runId: A.runId, title: A.title }, { runId: B.runId, title: B.title, extra: 1 }] };
  assert.deepEqual(parseToRunWebview(ok), { type: 'compareRuns', runs: [{ runId: A.runId, title: A.title }, { runId: B.runId, title: B.title }] });
  assert.equal(parseToRunWebview({ type: 'compareRuns', runs: [{ runId: '../x', title: 't' }] }), undefined);
  assert.equal(parseToRunWebview({ type: 'compareRuns', runs: [{ runId: 'a', title: 5 }] }), undefined);
  assert.equal(parseToRunWebview({ type: 'compareRuns', runs: Array.from({ length: MAX_COMPARED_RUNS + 1 }, (_, i) => ({ runId: `r${i}`, title: 't' })) }), undefined);
});
