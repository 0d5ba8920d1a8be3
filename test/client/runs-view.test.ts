/** What the Runs view says about a run (client/src/runs/run-item-text.ts on recorded runs; no VS Code). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { EvolveSummary } from '../../protocol/evolve-events';
import { progressOf, runEvents, runSetup } from '../../client/src/runs/run-files';
import { escapeMd, runAccessibleLabel, runDescription, runRowLabel, runTooltip, verdictOutcome, type RunItem } from '../../client/src/runs/run-item-text';

const ROOT = path.join(__dirname, '..', '..', '..');
const OLD = path.join(ROOT, 'test', 'fixtures', 'runs', 'compare-finished');
// A compare run recorded with Holm-adjusted p-values, verdicts and diverged seeds (see its README).
const VERDICTS = path.join(ROOT, 'test', 'media', 'fixtures', 'compare-verdicts');

function item(dir: string, extra: Partial<RunItem> = {}): RunItem {
  const p = progressOf('compare', runEvents(dir));
  return { id: path.basename(dir), kind: 'compare', status: 'done', label: 'focal, mae, wild, wilder vs ce', created: '', progress: p.progress, detail: p.detail, backend: p.backend, compute: p.compute, verdicts: p.verdicts, ...extra };
}

test('a finished compare run: its verdicts in the description, each comparison in the tooltip', () => {
  const r = item(VERDICTS);
  assert.deepEqual(r.verdicts, {
    short: '1 worse, 2 no difference, 1 inconclusive',
    lines: [
      'focal: no difference (-0.05 pp, p_adj = 0.86)',
      'mae: worse (-14.90 pp, p_adj = 0.0074)',
      'wild: no difference (-0.18 pp, p_adj = 0.35); 2 of 5 seeds diverged',
      'wilder: inconclusive (0 seed pairs); 5 of 5 seeds diverged',
    ],
  });
  // The verdicts are in the row's label; the description says the status, the engine and the date.
  assert.equal(runRowLabel(r), 'focal, mae, wild, wilder vs ce — 1 worse, 2 no difference, 1 inconclusive');
  assert.equal(runDescription(r, false, 'Dec 6, 10:16'), 'done · wasm (CPU) · Dec 6, 10:16');
  const md = runTooltip(r);
  assert.ok(md.includes('- 25 of 25 trainings\n'), md);
  assert.ok(md.includes('- verdicts (Holm-adjusted):\n  - focal: no difference \\(\\-0\\.05 pp, p\\_adj = 0\\.86\\)\n  - mae: worse \\(\\-14\\.90 pp, p\\_adj = 0\\.0074\\)\n'), md);
  assert.ok(md.includes('  - wild: no difference \\(\\-0\\.18 pp, p\\_adj = 0\\.35\\); 2 of 5 seeds diverged\n'), md);
  assert.match(runAccessibleLabel(r), /, done, 25 of 25 trainings; focal: no difference .*; wilder: inconclusive \(0 seed pairs\); 5 of 5 seeds diverged$/);
});

test('a run recorded before verdicts, a running one and an evolution: their progress, as before', () => {
  const old = item(OLD, { label: 'focal vs ce' });
  assert.equal(old.verdicts, null);
  assert.equal(runDescription(old, false, ''), 'done · 12 of 12 trainings · wasm (CPU)');
  assert.ok(!runTooltip(old).includes('verdicts'));
  assert.doesNotMatch(runTooltip(old) + runDescription(old, false, ''), /undefined|null/);
  // Mid-run: the percentage, and no verdicts before the results.
  const events = runEvents(VERDICTS);
  const mid = progressOf('compare', events.slice(0, events.findIndex((e) => e.type === 'result')));
  assert.equal(mid.verdicts, null);
  assert.equal(runDescription({ ...item(VERDICTS), status: 'running', progress: 0.5, verdicts: mid.verdicts, detail: mid.detail }, true, ''), '50% · 25 of 25 trainings · wasm (CPU)');
  const evo = progressOf('evolve', runEvents(path.join(ROOT, 'test', 'fixtures', 'runs', 'evolve-finished')));
  assert.equal(evo.verdicts, null);
  // Text from run files is escaped in the tooltip's Markdown.
  assert.equal(escapeMd('a_b [x](y)'), 'a\\_b \\[x\\]\\(y\\)');
  assert.ok(runTooltip({ ...old, label: '**x**', error: '<img src=x>' }).includes('\\*\\*x\\*\\*'));
});

test('a finished evolution: its search progress in the description, the final re-training verdicts in the tooltip', () => {
  const dir = path.join(ROOT, 'test', 'fixtures', 'runs', 'evolve-finished');
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as EvolveSummary;
  // Recorded before verdicts: nothing about them.
  const old = progressOf('evolve', runEvents(dir), summary);
  assert.equal(old.verdicts, null);
  // As the engine writes the final rows now (a verdict per row, seeds left out counted).
  summary.final!.forEach((r, i) => {
    if (r.test) Object.assign(r.test, { n: 2, pAdjusted: 0.5, verdict: i === 0 ? 'worse' : 'inconclusive' });
  });
  summary.final![0].test!.meanDiff = -0.0062;
  summary.final![0].test!.pAdjusted = 0.03;
  summary.final![1].excluded = 1;
  const p = progressOf('evolve', runEvents(dir), summary);
  assert.equal(p.verdicts?.lines[0], '#28 (none) re-trained: worse than CE, -0.62 pp, p_adj = 0.030');
  assert.match(p.verdicts?.lines[1] ?? '', /^#57 \(none\) re-trained: inconclusive, -1\.32 pp, p_adj = 0\.50 \(1 seed left out: a training did not finish\)$/);
  const r: RunItem = { id: 'e', kind: 'evolve', status: 'done', label: 'evolution (none, cutout)', created: '', detail: p.detail, backend: p.backend, compute: p.compute, verdicts: p.verdicts };
  assert.equal(runDescription(r, false, ''), `done · ${p.detail} · ${p.backend}`);
  const md = runTooltip(r);
  assert.ok(md.includes('- final re-training against CE (Holm-adjusted):\n  - \\#28 \\(none\\) re\\-trained: worse than CE, \\-0\\.62 pp, p\\_adj = 0\\.030\n'), md);
});

test('a row is named by what ran (losses, model, augmentations) and its verdict, with the date in the description and tooltip', () => {
  assert.equal(runSetup(VERDICTS, 'compare'), `${JSON.parse(fs.readFileSync(path.join(VERDICTS, 'config.json'), 'utf8')).model.kind} · none`);
  assert.equal(runSetup(path.join(ROOT, 'test', 'fixtures', 'runs', 'evolve-finished'), 'evolve'), 'mlp');
  assert.equal(runSetup(path.join(ROOT, 'nothing'), 'compare'), '');
  // A run trained on a job queue says so.
  const queued = fs.mkdtempSync(path.join(os.tmpdir(), 'lossmith-runs-view-'));
  try {
    fs.writeFileSync(path.join(queued, 'config.json'), JSON.stringify({ model: { kind: 'lenet' }, augmentations: ['none'], queue: 'redis://:***@gpu-box:6379' }));
    assert.equal(runSetup(queued, 'compare'), 'lenet · none · job queue');
  } finally {
    fs.rmSync(queued, { recursive: true, force: true });
  }
  const one = (line: string, short: string): RunItem => ({ id: '20261206-101600-000-abcd', kind: 'compare', status: 'done', label: 'focal vs ce', setup: 'lenet · none', created: '2026-12-06T10:16:00.000Z', verdicts: { short, lines: [line] } });
  const better = one('focal: better (+0.40 pp, p_adj = 0.012)', '1 better');
  assert.equal(runRowLabel(better), 'focal vs ce · lenet · none — better +0.40 pp');
  assert.equal(verdictOutcome(one('focal: no difference (-0.05 pp, p_adj = 0.86)', '1 no difference')), 'no difference -0.05 pp');
  assert.equal(verdictOutcome(one('focal: inconclusive (0 seed pairs); 5 of 5 seeds diverged', '1 inconclusive')), 'inconclusive');
  // A GAN comparison's verdict is in FD units.
  assert.equal(verdictOutcome(one('hinge: better (FD -67.9, p_adj 0.031)', '1 better')), 'better FD -67.9');
  // A baseline's line (seeds left out) is not a comparison.
  assert.equal(verdictOutcome({ ...better, verdicts: { short: '1 better', lines: ['ce (baseline): 1 of 3 seeds diverged', 'focal: better (+0.40 pp, p_adj = 0.012)'] } }), 'better +0.40 pp');
  // Running, or recorded before verdicts: what ran, no verdict.
  assert.equal(runRowLabel({ ...better, status: 'running', verdicts: null, detail: '2 of 4 trainings' }), 'focal vs ce · lenet · none');
  assert.equal(runDescription({ ...better, status: 'running', verdicts: null, detail: '2 of 4 trainings', progress: 0.5 }, true, 'Dec 6, 10:16'), '50% · 2 of 4 trainings · Dec 6, 10:16');
  const md = runTooltip(better);
  assert.match(md, /- trained: lenet · none\n- started: .*2026.*\n- run: `20261206-101600-000-abcd`/);
  assert.match(runAccessibleLabel(better), /^Evaluation focal vs ce \(lenet · none\), done/);
});
