/// <reference lib="dom" />
/**
 * The evaluation panel in headless Chromium, fed the recorded events of a real finished compare
 * run (test/fixtures/runs/compare-finished: focal vs CE, mlp on 300 MNIST images, augmentations
 * none and cutout, 3 seeds x 3 epochs): curves, the final table with the paired test, metadata,
 * exports, state across a reload, CSP in force and no console errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { chromium } from 'playwright-core';
import { EVALUATION_BODY } from '../../media/src/evaluation/body';
import { artifactsDir, CHROMIUM, CHROMIUM_ARGS, ensurePackaged, requireFile, ROOT, staticServer, tempDir } from '../e2e/helpers';
import { fixtureEvents, openPanel, panelPage, posted, send, STUB } from './evaluation-harness';

const RUN = 'compare-finished';

test('evaluation panel in headless Chromium', { timeout: 180_000 }, async (t) => {
  requireFile(CHROMIUM, "install Debian's chromium (scripts/ci-e2e-setup.sh)");
  await ensurePackaged();
  let base = '';
  const server = await staticServer(path.join(ROOT, 'dist', 'media'), {
    '/stub.js': STUB,
    '/evaluation.html': panelPage(() => base, 'evaluation', EVALUATION_BODY),
    '/probe.html': panelPage(() => base, 'evaluation', EVALUATION_BODY, true),
    '/favicon.ico': '',
  });
  base = server.url;
  const ctx = await chromium.launchPersistentContext(tempDir('lossmith-chromium-'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const shots = artifactsDir();
  const events = fixtureEvents(RUN);
  try {
    await t.test('CSP blocks an inline script and style without the nonce', async () => {
      const { page, violations } = await openPanel(ctx, `${base}/probe.html`, 'dark');
      assert.equal(await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan), undefined);
      assert.notEqual(await page.evaluate(() => getComputedStyle(document.body).outlineWidth), '9px');
      assert.ok(violations.length >= 2, violations.join('\n'));
      await page.close();
    });

    await t.test('live: events arrive in chunks, the curves grow, the table is provisional then final', async () => {
      const { page, errors, violations } = await openPanel(ctx, `${base}/evaluation.html`, 'dark');
      const cut = events.findIndex((e) => e.type === 'seed-end') + 3;
      await send(page, { type: 'events', runId: RUN, from: 0, events: events.slice(0, cut) });
      await page.waitForSelector('#chart-loss[data-ready="true"] canvas');
      assert.match((await page.textContent('#status')) ?? '', /Running: \d+ of 12 trainings/);
      assert.equal(await page.getAttribute('#results', 'data-final'), 'false');
      await send(page, { type: 'events', runId: RUN, from: cut, events: events.slice(cut) });
      await page.waitForSelector('#results[data-final="true"]');
      assert.equal(await page.textContent('#status'), 'Finished');
      // 2 losses x 2 augmentations.
      assert.equal(await page.locator('#results tbody tr').count(), 4);
      const focal = page.locator('#results tbody tr', { hasText: 'focal' }).first();
      const text = (await focal.textContent()) ?? '';
      assert.match(text, /pp/);
      assert.match(text, /\[[^\]]+pp, [^\]]+pp\]/, 'a confidence interval');
      const meta = (await page.textContent('#meta')) ?? '';
      assert.match(meta, /Enginetfjs · wasm \(cpu, 1 thread\)/);
      assert.match(meta, /mnist \(300 training examples\)/);
      assert.match(meta, /mlp/);
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.screenshot({ path: path.join(shots, 'evaluation-panel-dark.png'), fullPage: true });
      await page.close();
    });

    await t.test('views: augmentation, per-seed curves; exports post CSV, PNG and SVG; state survives a reload', async () => {
      const { page, errors, violations } = await openPanel(ctx, `${base}/evaluation.html`, 'light');
      await send(page, { type: 'events', runId: RUN, from: 0, events });
      await page.waitForSelector('#results[data-final="true"]');
      await page.selectOption('#aug-select', 'cutout');
      await page.check('#show-seeds');
      await page.waitForFunction(() => /cutout/.test(document.getElementById('cap-acc')?.textContent ?? ''));
      // Each loss: mean, ±1 s.d. and 3 seeds in the legend.
      assert.ok((await page.locator("#chart-loss .legend li").count()) >= 2);
      await page.screenshot({ path: path.join(shots, 'evaluation-panel-light.png'), fullPage: true });
      await page.click('#export-csv');
      await page.click('#export-png');
      await page.click('#export-svg');
      const saves = (await posted(page)).filter((m) => m.type === 'save');
      assert.deepEqual(saves.map((s) => s.format), ['csv', 'png', 'svg']);
      const csv = String(saves[0].data);
      assert.match(csv.split('\r\n')[0], /^loss,augmentation,test_acc_mean/);
      assert.equal(csv.trim().split('\r\n').length, 5);
      assert.match(String(saves[1].data), /^data:image\/png;base64,/);
      assert.match(String(saves[2].data), /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      await page.reload();
      await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
      await send(page, { type: 'events', runId: RUN, from: 0, events });
      await page.waitForSelector('#results[data-final="true"]');
      assert.equal(await page.inputValue('#aug-select'), 'cutout');
      assert.equal(await page.isChecked('#show-seeds'), true);
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.close();
    });

    await t.test('malformed messages and events are ignored', async () => {
      const { page, errors } = await openPanel(ctx, `${base}/evaluation.html`, 'dark');
      await send(page, { type: 'events', runId: '../x', from: 0, events: [] });
      await send(page, { type: 'events', runId: RUN, from: 0, events: [{ type: 'epoch', loss: 5 }, 'x', null, { type: 'result', loss: 'a', augmentation: 'none', testAccuracy: 'no' }] });
      await send(page, 42);
      await page.waitForSelector('#results');
      assert.deepEqual(errors, []);
      await page.close();
    });
  } finally {
    await ctx.close();
    await server.close();
  }
});
