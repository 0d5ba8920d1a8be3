/// <reference lib="dom" />
/**
 * Runs end to end in code-server 4.100.3 (VS Code 1.100.3) in headless Chromium: the packaged
 * .vsix with the engine of this checkout (lossmith.enginePath) run by this Node
 * (lossmith.nodePath). From the palette, "Lossmith: Evaluate Loss Against Cross-Entropy" on a
 * tiny configuration (mlp, 300 MNIST images, 2 seeds, 1 epoch): progress shows, the evaluation
 * panel fills with curves and the final table. A second, longer run is stopped and marked
 * cancelled with its finished trainings kept. After "Developer: Reload Window", the finished run
 * opens again from the Runs view, and "Resume Run" finishes the cancelled one in its folder. A tiny
 * evolution from a *.evolve.json runs to its end in the evolution panel, whose best loss opens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { frameWith, launchWorkbench, openFile, reloadWindow, ROOT, runCommand, waitFor, pick, answerTinyEvaluation, explained } from './helpers';

/** The frame of a run panel matching `selector`. */
function panelFrame(page: Page, selector: string, what: string, timeoutMs = 120_000): Promise<Frame> {
  return frameWith(page, selector, what, timeoutMs);
}

const palette = runCommand;

// Generous: on 2 busy cores every run here takes 2 to 4 times as long as on idle ones.
test('Lossmith runs in code-server: evaluate, stop, reload and reopen', { timeout: 1_200_000 }, async (t) => {
  const t0 = Date.now();
  const settings = {
    'lossmith.enginePath': path.join(ROOT, 'bin', 'lossmith.js'),
    'lossmith.nodePath': process.execPath,
    'lossmith.runs.maxConcurrent': 2,
    'workbench.editor.enablePreview': false,
  };
  const wb = await launchWorkbench('runs', { 'focal.loss': fs.readFileSync(path.join(ROOT, 'examples', 'focal.loss'), 'utf8') }, settings);
  const { page, workspace, shots } = wb;
  const timing: Record<string, number> = {};
  let failures = 0;
  const step = (name: string, fn: () => Promise<void>): Promise<void> =>
    t.test(name, () => explained(page, path.join(shots, `code-server-runs-failure-${++failures}.png`), fn));
  try {
    await openFile(page, 'focal.loss');
    await page.waitForSelector('.monaco-editor .view-line:has-text("loss focal")');
    // The code lens above the loss shows once the extension is active.
    await page.locator('.monaco-editor .codelens-decoration', { hasText: 'Evaluate vs CE' }).first().waitFor({ timeout: 90_000 });
    timing.workbenchMs = Date.now() - t0;

    let runId1 = '';
    await step('Evaluate Loss Against Cross-Entropy from the palette: progress, then curves and the final table', async () => {
      const t1 = Date.now();
      await palette(page, 'Lossmith: Evaluate Loss Against Cross-Entropy');
      await answerTinyEvaluation(page);
      // Progress: a notification with Cancel, and the status bar item.
      await page.locator('.notification-toast', { hasText: 'Lossmith: focal vs ce' }).first().waitFor({ timeout: 60_000 });
      assert.ok(await page.locator('.notification-toast', { hasText: 'Lossmith: focal vs ce' }).first().getByRole('button', { name: 'Cancel' }).count());
      await page.locator('.statusbar-item', { hasText: /Lossmith: focal vs ce/ }).first().waitFor({ timeout: 60_000 });
      const running = await panelFrame(page, '#app[data-status="running"], #app[data-status="done"]', 'the evaluation panel');
      timing.toPanelMs = Date.now() - t1;
      const frame = await panelFrame(page, '#results[data-final="true"]', 'the final table', 180_000);
      timing.evaluationMs = Date.now() - t1;
      assert.equal(frame, running);
      await frame.waitForSelector('#chart-loss[data-ready="true"] canvas');
      await frame.waitForSelector('#chart-acc[data-ready="true"] canvas');
      assert.equal(await frame.textContent('#status'), 'Finished');
      assert.equal(await frame.locator('#results tbody tr').count(), 2);
      const meta = (await frame.textContent('#meta')) ?? '';
      // Whichever engine `--engine auto` picks here: tfjs, or torch when python3 has it.
      assert.match(meta, /Engine(tfjs · (tensorflow|wasm|cpu)[\w-]* \((cpu|gpu)|torch \S+ · )/);
      runId1 = ((await frame.textContent('#meta')) ?? '').match(/Run(\d{8}-\d{6}-\d{3}-[0-9a-f]{4})/)?.[1] ?? '';
      assert.ok(runId1, meta);
      assert.ok(fs.existsSync(path.join(workspace, '.lossmith', 'runs', runId1, 'summary.json')));
      await page.screenshot({ path: path.join(shots, 'code-server-evaluation.png') });
    });

    await step('a second run (from the code lens) survives a window reload, is re-attached, then stopped and marked cancelled with its finished trainings', async () => {
      await page.locator('.tab', { hasText: 'focal.loss' }).first().click();
      await page.locator('.monaco-editor .codelens-decoration a', { hasText: 'Evaluate vs CE' }).first().click();
      // The last choices come first: Enter keeps them; more epochs make this run long enough.
      await pick(page, /^Evaluate \S+ vs cross-entropy$/, 'Choose the settings');
      await pick(page, /Dataset/);
      await pick(page, /Engine and device/);
      await pick(page, /Model/);
      await pick(page, /Augmentations/);
      await pick(page, /Seeds/);
      await pick(page, /Epochs/, '50 epochs');
      await pick(page, /Training examples/);
      let frame = await panelFrame(page, '#app[data-status="running"] #chart-loss[data-ready="true"]', 'the second run training');
      const runId2 = ((await frame.textContent('#meta')) ?? '').match(/Run(\d{8}-\d{6}-\d{3}-[0-9a-f]{4})/)?.[1] ?? '';
      assert.ok(runId2 && runId2 !== runId1);
      // Reload the window while it trains: the run goes on, the panel comes back and follows it.
      const tr = Date.now();
      await reloadWindow(page);
      frame = await panelFrame(page, `#app[data-status="running"] #meta:has-text("${runId2}")`, 'the second run\u2019s panel after the reload');
      timing.reattachMs = Date.now() - tr;
      await page.locator('.statusbar-item', { hasText: /Lossmith: focal vs ce/ }).first().waitFor();
      // Two workers train two of the four trainings at a time: stop once the first ones finished.
      await waitFor('a finished training of the second run', async () => /Trainings\s*[123] of 4/.test((await frame.textContent('#meta')) ?? ''), 180_000, 250);
      const t2 = Date.now();
      await palette(page, 'Lossmith: Stop Run');
      await waitFor('the run to be cancelled', async () => (await frame.getAttribute('#app', 'data-status')) === 'cancelled', 60_000, 200);
      timing.stopMs = Date.now() - t2;
      assert.match((await frame.textContent('#status')) ?? '', /Cancelled.*[1-3] finished training\(s\) kept/);
      assert.ok((await frame.locator('#results tbody tr').count()) >= 1, 'the finished trainings are in the table');
      const runs = fs.readdirSync(path.join(workspace, '.lossmith', 'runs')).filter((d) => d !== runId1);
      assert.deepEqual(runs, [runId2]);
      const summaryFile = path.join(workspace, '.lossmith', 'runs', runs[0], 'summary.json');
      // The CLI writes the final summary right after the run-cancelled event.
      await waitFor('summary.json to say cancelled', () => fs.existsSync(summaryFile) && JSON.parse(fs.readFileSync(summaryFile, 'utf8')).status === 'cancelled', 30_000, 200);
      const events = fs.readFileSync(path.join(workspace, '.lossmith', 'runs', runs[0], 'events.jsonl'), 'utf8');
      assert.match(events, /"type":"run-cancelled"/);
      // No engine process is left.
      await waitFor('the engine processes to exit', () => !spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').some((l) => l.includes('lossmith.js compare') && l.includes(workspace)), 30_000, 200);
      const left = spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('lossmith.js compare') && l.includes(workspace));
      assert.deepEqual(left, []);
      // The Runs view lists both.
      await palette(page, 'Lossmith: Show Runs');
      const tree = page.locator('.pane-body .monaco-list-row', { hasText: 'focal vs ce' });
      await waitFor('both runs in the Runs view', async () => (await tree.count()) === 2, 30_000, 250);
      await page.locator('.pane-body .monaco-list-row', { hasText: 'cancelled' }).first().waitFor();
      await page.screenshot({ path: path.join(shots, 'code-server-runs-view.png') });
    });

    await step('after a window reload the finished run opens from the Runs view', async () => {
      await palette(page, 'View: Close All Editors');
      await page.waitForFunction(() => document.querySelectorAll('.tabs-container .tab').length === 0);
      const t3 = Date.now();
      await reloadWindow(page);
      await palette(page, 'Lossmith: Show Runs');
      const done = page.locator('.pane-body .monaco-list-row', { hasText: 'done' }).first();
      await done.waitFor({ timeout: 90_000 });
      await done.click();
      const frame = await panelFrame(page, '#results[data-final="true"]', 'the reopened evaluation panel');
      timing.reopenMs = Date.now() - t3;
      assert.match((await frame.textContent('#meta')) ?? '', new RegExp(runId1));
      await frame.waitForSelector('#chart-loss[data-ready="true"] canvas');
      await page.screenshot({ path: path.join(shots, 'code-server-runs-reopened.png') });
    });
    await step('"Resume Run" continues the cancelled run in its folder: kept trainings stay, the rest train, the panel ends with the final table', async () => {
      const runs = path.join(workspace, '.lossmith', 'runs');
      const runId2 = fs.readdirSync(runs).find((d) => d !== runId1)!;
      const kept = JSON.parse(fs.readFileSync(path.join(runs, runId2, 'summary.json'), 'utf8')).finished as number;
      assert.ok(kept >= 1 && kept < 4);
      const t5 = Date.now();
      await palette(page, 'Lossmith: Resume Run');
      // Only the cancelled comparison can be resumed (the finished one cannot).
      const rows = page.locator('.quick-input-list .monaco-list-row');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 1);
      assert.match((await rows.first().textContent()) ?? '', new RegExp(`cancelled.*${runId2}`));
      await page.keyboard.press('Enter');
      const frame = await panelFrame(page, `#meta:has-text("${runId2}")`, 'the resumed run\u2019s panel');
      await waitFor('the resumed run to finish', async () => (await frame.getAttribute('#results', 'data-final')) === 'true', 240_000, 250);
      timing.resumeMs = Date.now() - t5;
      assert.equal(await frame.textContent('#status'), 'Finished');
      assert.equal(await frame.locator('#results tbody tr').count(), 2);
      const summary = JSON.parse(fs.readFileSync(path.join(runs, runId2, 'summary.json'), 'utf8'));
      assert.equal(summary.status, 'done');
      assert.equal(summary.finished, 4);
      const events = fs.readFileSync(path.join(runs, runId2, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; kept?: number });
      const resumedAt = events.findIndex((e) => e.type === 'compare-resume');
      assert.equal(events[resumedAt].kept, kept);
      assert.equal(events.slice(resumedAt).filter((e) => e.type === 'seed-start').length, 4 - kept, 'only the unfinished trainings are trained again');
      assert.deepEqual(fs.readdirSync(runs).sort(), [runId1, runId2].sort(), 'no new run folder');
    });
    await step('a *.lossrun.json is validated against the schema and runs with "Evaluate Run Config"', async () => {
      const cfg = path.join(workspace, 'tiny.lossrun.json');
      const valid = { losses: ['focal.loss#focal'], model: 'mlp', maxTrain: 300, seeds: 2, epochs: 1 };
      fs.writeFileSync(cfg, JSON.stringify({ ...valid, epochz: 3 }, null, 2));
      await openFile(page, 'tiny.lossrun.json');
      await page.waitForSelector('.monaco-editor .view-line:has-text("epochz")');
      await page.waitForSelector('.monaco-editor .squiggly-warning, .monaco-editor .squiggly-error', { timeout: 60_000 });
      fs.writeFileSync(cfg, JSON.stringify(valid, null, 2));
      await waitFor('the file to reload without the error', async () => (await page.locator('.monaco-editor .view-line', { hasText: 'epochz' }).count()) === 0 && (await page.locator('.monaco-editor .squiggly-warning, .monaco-editor .squiggly-error').count()) === 0, 60_000, 250);
      const before = new Set(fs.readdirSync(path.join(workspace, '.lossmith', 'runs')));
      const t4 = Date.now();
      await palette(page, 'Lossmith: Evaluate Run Config');
      const id = await waitFor('the config run folder', () => fs.readdirSync(path.join(workspace, '.lossmith', 'runs')).find((d) => !before.has(d)), 60_000, 200);
      const frame = await panelFrame(page, `#meta:has-text("${id}")`, 'the config run panel');
      await waitFor('the config run to finish', async () => (await frame.getAttribute('#results', 'data-final')) === 'true', 180_000, 250);
      timing.configRunMs = Date.now() - t4;
      assert.equal(await frame.locator('#results tbody tr').count(), 2);
    });
    await step('"Start Evolution" on a *.evolve.json: the evolution panel follows the search to its end; its best loss is evaluated against CE, exported and opened from the panel', async () => {
      const cfg = { population: 4, sample: 2, steps: 6, workers: 1, seed: 3, topK: 3, finalSeeds: 2, surrogate: { model: { kind: 'mlp', hidden: [32] }, maxTrain: 200, maxVal: 200, epochs: 1 } };
      fs.writeFileSync(path.join(workspace, 'tiny.evolve.json'), JSON.stringify(cfg, null, 2));
      const before = new Set(fs.readdirSync(path.join(workspace, '.lossmith', 'runs')));
      const t6 = Date.now();
      await palette(page, 'Lossmith: Start Evolution');
      await pick(page, /Start Evolution/, 'tiny.evolve.json');
      const id = await waitFor('the evolution run folder', () => fs.readdirSync(path.join(workspace, '.lossmith', 'runs')).find((d) => !before.has(d)), 60_000, 200);
      const frame = await panelFrame(page, '#chart-fitness', 'the evolution panel');
      await waitFor('the evolution to finish', async () => (await frame.getAttribute('#app', 'data-status')) === 'done', 180_000, 250);
      timing.evolutionMs = Date.now() - t6;
      await frame.waitForSelector('#chart-fitness[data-ready="true"] canvas');
      await frame.waitForSelector('#top tbody tr .katex');
      await frame.waitForSelector('#final-section:not([hidden]) #final tbody tr');
      const summary = JSON.parse(fs.readFileSync(path.join(workspace, '.lossmith', 'runs', id, 'summary.json'), 'utf8')) as { status: string; best: { file: string }[] };
      assert.equal(summary.status, 'done');
      assert.equal(summary.best.length, 3);
      await page.screenshot({ path: path.join(shots, 'code-server-evolution.png') });
      // "Evaluate vs CE" on the best candidate: a real comparison of that loss file against CE.
      const seen = new Set(fs.readdirSync(path.join(workspace, '.lossmith', 'runs')));
      await frame.locator('#top tbody tr').first().getByRole('button', { name: /Evaluate against cross-entropy/ }).click();
      await answerTinyEvaluation(page);
      const evalId = await waitFor('the evaluation run folder', () => fs.readdirSync(path.join(workspace, '.lossmith', 'runs')).find((d) => !seen.has(d)), 60_000, 200);
      const evalFrame = await panelFrame(page, `#meta:has-text("${evalId}")`, 'the candidate\u2019s evaluation panel');
      await waitFor('the candidate\u2019s evaluation to finish', async () => (await evalFrame.getAttribute('#results', 'data-final')) === 'true', 180_000, 250);
      const evalConfig = JSON.parse(fs.readFileSync(path.join(workspace, '.lossmith', 'runs', evalId, 'config.json'), 'utf8')) as { losses: { file: string }[] };
      assert.ok(evalConfig.losses[0].file.includes(id), `the loss comes from the evolution run's folder: ${evalConfig.losses[0].file}`);
      // A hidden webview loses its frame: bring the evolution panel back and find it again.
      const evolutionFrame = async (): Promise<Frame> => {
        await page.locator('.tab', { hasText: /^Evolution/ }).first().click();
        return panelFrame(page, '#app[data-status="done"] #top tbody tr .katex', 'the evolution panel again');
      };
      // "Export" on the same row: the loss as a PyTorch module.
      await (await evolutionFrame()).locator('#top tbody tr').first().getByRole('button', { name: /^Export:/ }).click();
      await pick(page, /Export Loss/, 'PyTorch');
      await pick(page, /Export Loss/, 'Open in an editor');
      await page.waitForSelector('.monaco-editor .view-line:has-text("import torch")');
      // The untitled module, made the active editor first (closing the quick pick gives the focus
      // back to the webview that started the export, racing the new editor): no save prompt later.
      await page.locator('.tab', { hasText: /Generated by Lossmith from/ }).first().click();
      await page.locator('.tab.active', { hasText: /Generated by Lossmith from/ }).first().waitFor();
      await palette(page, 'View: Revert and Close Editor');
      await page.locator('.tab', { hasText: /Generated by Lossmith from/ }).first().waitFor({ state: 'detached' });
      await (await evolutionFrame()).locator('#top tbody tr').first().getByRole('button', { name: /Open as a .loss file/ }).click();
      await page.locator('.tab', { hasText: /^best-1\.loss|candidate-\d+\.loss/ }).first().waitFor();
      await page.waitForSelector('.monaco-editor .view-line:has-text("loss ")');
      await palette(page, 'View: Close All Editors');
      await page.waitForFunction(() => document.querySelectorAll('.tabs-container .tab').length === 0);
    });
    await step('"Start Evolution" with quick settings (mlp, none, 20 children, 300 examples) runs to the end', async () => {
      const before = new Set(fs.readdirSync(path.join(workspace, '.lossmith', 'runs')));
      const t7 = Date.now();
      await palette(page, 'Lossmith: Start Evolution');
      await pick(page, /Start Evolution/, 'Quick settings');
      await pick(page, /engine and device/);
      await pick(page, /surrogate model/, 'mlp');
      await pick(page, /augmentations/);
      await pick(page, /children to evaluate/, '20');
      await pick(page, /training examples per candidate/, '300 examples');
      const id = await waitFor('the quick evolution run folder', () => fs.readdirSync(path.join(workspace, '.lossmith', 'runs')).find((d) => !before.has(d)), 60_000, 200);
      const frame = await panelFrame(page, `#meta:has-text("${id}")`, 'the quick evolution\u2019s panel');
      await waitFor('the quick evolution to finish', async () => (await frame.getAttribute('#app', 'data-status')) === 'done', 600_000, 500);
      timing.quickEvolutionMs = Date.now() - t7;
      const config = JSON.parse(fs.readFileSync(path.join(workspace, '.lossmith', 'runs', id, 'config.json'), 'utf8')) as { steps: number; surrogate: { maxTrain: number; model: { kind: string } } };
      assert.equal(config.steps, 20);
      assert.equal(config.surrogate.maxTrain, 300);
      assert.equal(config.surrogate.model.kind, 'mlp');
      const summary = JSON.parse(fs.readFileSync(path.join(workspace, '.lossmith', 'runs', id, 'summary.json'), 'utf8')) as { status: string; best: unknown[] };
      assert.equal(summary.status, 'done');
      assert.ok(summary.best.length >= 1);
    });
    await step('Export Loss (no .loss editor active: the file is picked) opens the loss as a PyTorch module', async () => {
      await palette(page, 'Lossmith: Export Loss');
      // The evolution's best-*.loss files are candidates too: pick focal.loss by name.
      await pick(page, /Export Loss|Lossmith/, 'focal.loss');
      await pick(page, /Export Loss/, 'PyTorch');
      await pick(page, /Export Loss/, 'Open in an editor');
      // The module's first line: always drawn, however short the editor (import torch is line 21).
      await page.locator('.tab', { hasText: /Generated by Lossmith from focal\.loss/ }).first().waitFor();
      await page.waitForSelector('.monaco-editor .view-line:has-text("Generated by Lossmith from focal.loss: loss `focal`")');
      await page.screenshot({ path: path.join(shots, 'code-server-export.png') });
    });
    timing.totalMs = Date.now() - t0;
    fs.writeFileSync(path.join(shots, 'code-server-runs-timing.json'), JSON.stringify(timing, null, 2));
    t.diagnostic(`timing ${JSON.stringify(timing)}`);
  } catch (e) {
    await page.screenshot({ path: path.join(shots, 'code-server-runs-failure.png') }).catch(() => undefined);
    throw e;
  } finally {
    await wb.close();
  }
});
