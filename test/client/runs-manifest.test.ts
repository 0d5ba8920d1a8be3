/** The run contributions of package.json against the code and the files they name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { COMMAND_IDS } from '../../client/src/command-ids';
import { EVALUATION_VIEW_TYPE, EVOLUTION_VIEW_TYPE } from '../../media/src/shared/run-messages';

const root = path.join(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');

test('the run commands are contributed with the titles the issue names', () => {
  const titles = new Map((pkg.contributes.commands as { command: string; title: string }[]).map((c) => [c.command, c.title]));
  assert.equal(titles.get('lossmith.evaluateLoss'), 'Evaluate Loss Against Cross-Entropy');
  assert.equal(titles.get('lossmith.startEvolution'), 'Start Evolution');
  assert.equal(titles.get('lossmith.evaluateRunConfig'), 'Evaluate Run Config');
  assert.equal(titles.get('lossmith.stopRun'), 'Stop Run');
  assert.equal(titles.get('lossmith.showRuns'), 'Show Runs');
  assert.match(titles.get('lossmith.exportLoss') ?? '', /^Export Loss/);
});

test('every menu entry names a contributed command; tree menus match the tree context values', () => {
  const ids = new Set<string>(COMMAND_IDS);
  for (const [menu, entries] of Object.entries(pkg.contributes.menus as Record<string, { command: string; when?: string }[]>)) {
    for (const e of entries) assert.ok(ids.has(e.command), `${menu}: ${e.command}`);
  }
  const item = pkg.contributes.menus['view/item/context'] as { command: string; when: string }[];
  const matches = (when: string, ctx: string): boolean => new RegExp(/viewItem =~ \/(.*)\//.exec(when)![1]).test(ctx);
  const stop = item.find((e) => e.command === 'lossmith.stopRun')!;
  assert.ok(matches(stop.when, 'lossmithRun.compare.running') && !matches(stop.when, 'lossmithRun.compare.done'));
  const resume = item.find((e) => e.command === 'lossmith.resumeRun')!;
  for (const ctx of ['lossmithRun.evolve.interrupted', 'lossmithRun.evolve.done', 'lossmithRun.compare.cancelled', 'lossmithRun.compare.interrupted', 'lossmithRun.compare.failed']) assert.ok(matches(resume.when, ctx), ctx);
  for (const ctx of ['lossmithRun.compare.done', 'lossmithRun.compare.running', 'lossmithRun.evolve.running']) assert.ok(!matches(resume.when, ctx), ctx);
  const del = item.find((e) => e.command === 'lossmith.deleteRun')!;
  assert.ok(matches(del.when, 'lossmithRun.compare.done') && !matches(del.when, 'lossmithRun.evolve.running'));
});

test('views, schemas, settings and activation', () => {
  const container = pkg.contributes.viewsContainers.activitybar.find((c: { id: string }) => c.id === 'lossmith-runs');
  assert.ok(container && fs.existsSync(path.join(root, container.icon)));
  assert.ok(ignore.includes(`!${container.icon}`));
  assert.equal(pkg.contributes.views['lossmith-runs'][0].id, 'lossmithRuns');
  // The view's header reads "LOSSMITH: RUNS", not "LOSSMITH RUNS: RUNS".
  assert.deepEqual([container.title, pkg.contributes.views['lossmith-runs'][0].name], ['Lossmith', 'Runs']);
  const jv = pkg.contributes.jsonValidation as { fileMatch: string; url: string }[];
  assert.deepEqual(jv.map((j) => j.fileMatch).sort(), ['*.evolve.json', '*.lossrun.json']);
  for (const j of jv) {
    const f = j.url.replace(/^\.\//, '');
    assert.ok(fs.existsSync(path.join(root, f)), f);
    assert.ok(ignore.includes(`!${f}`), `${f} is not shipped`);
    JSON.parse(fs.readFileSync(path.join(root, f), 'utf8'));
  }
  const props = pkg.contributes.configuration.properties;
  for (const k of ['lossmith.nodePath', 'lossmith.enginePath', 'lossmith.runs.maxConcurrent', 'lossmith.codeLens.enabled']) assert.ok(props[k], k);
  assert.equal(props['lossmith.runs.maxConcurrent'].minimum, 1);
  for (const v of [EVALUATION_VIEW_TYPE, EVOLUTION_VIEW_TYPE]) assert.ok(pkg.activationEvents.includes(`onWebviewPanel:${v}`), v);
  assert.ok(pkg.activationEvents.includes('workspaceContains:.lossmith/runs'), 'activates to re-attach to running runs');
});
