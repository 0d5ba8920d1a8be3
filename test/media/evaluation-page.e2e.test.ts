/// <reference lib="dom" />
/**
 * The evaluation panel in headless Chromium, fed the recorded events of a real finished compare
 * run (test/fixtures/runs/compare-finished: focal vs CE, mlp on 300 MNIST images, augmentations
 * none and cutout, 3 seeds x 3 epochs): curves, the final table with the paired test, metadata,
 * exports, state across a reload, CSP in force and no console errors; and a run recorded with
 * Holm-adjusted p-values and verdicts (test/media/fixtures/compare-verdicts) in the dark, light
 * and high-contrast themes; and one with learning-rate tuning (test/media/fixtures/compare-tuned).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { chromium } from 'playwright-core';
import { EVALUATION_BODY } from '../../media/src/evaluation/body';
import { artifactsDir, CHROMIUM, CHROMIUM_ARGS, ensurePackaged, requireFile, ROOT, staticServer, tempDir } from '../e2e/helpers';
import { fixtureEvents, MEDIA_FIXTURES, openPanel, panelPage, posted, send, STUB } from './evaluation-harness';

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
      // Recorded before learning-rate tuning: no learning-rate section, no lr column.
      assert.equal(await page.isHidden('#lr-section'), true);
      assert.equal(await page.locator('#results thead th', { hasText: 'Learning rate' }).count(), 0);
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
      assert.match(csv.split('\r\n')[0], /^loss,augmentation,lr,test_acc_mean,.*,p_paired_t,p_holm,verdict,.*,excluded_nan,excluded_failed,excluded_early_stopped,per_seed$/);
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

    await t.test('verdicts: p (Holm), the verdict as a word in a themed badge, the seeds left out and the legend (a run recorded with them)', async () => {
      const vEvents = fixtureEvents('compare-verdicts', MEDIA_FIXTURES);
      for (const theme of ['dark', 'light', 'high-contrast'] as const) {
        const { page, errors, violations } = await openPanel(ctx, `${base}/evaluation.html`, theme);
        await send(page, { type: 'events', runId: 'compare-verdicts', from: 0, events: vEvents });
        await page.waitForSelector('#results[data-final="true"]');
        const headers = await page.locator('#results thead th').allTextContents();
        assert.deepEqual(headers.slice(7, 11), ['d_z [95% CI]', 'p (paired t)', 'p (Holm)', 'Verdict']);
        assert.equal(headers[headers.length - 1], 'Left out');
        const row = (loss: string) => page.locator('#results tbody tr', { has: page.locator(`th:text-is("${loss}")`) });
        assert.equal(await row('mae').locator('.verdict').textContent(), 'worse');
        assert.equal(await row('focal').locator('.verdict').textContent(), 'no difference');
        assert.equal(await row('wilder').locator('.verdict').textContent(), 'inconclusive');
        assert.equal(await row('ce').locator('.verdict').count(), 0);
        assert.match((await row('wild').textContent()) ?? '', /2 of 5 seeds diverged/);
        assert.match((await row('mae').locator('td', { has: page.locator('.verdict') }).getAttribute('title')) ?? '', /^worse than ce .*p \(Holm\) 0\.0074 < 0\.05/);
        assert.match((await page.textContent('#table-legend')) ?? '', /^p \(Holm\): .*over all 4 comparisons of this run\. Verdict: better\/worse when p \(Holm\) < 0\.05/);
        assert.equal(await page.isVisible('#table-legend'), true);
        // The theme's colours: red for worse (the word says it too), a dashed border for inconclusive.
        const style = (loss: string) => row(loss).locator('.verdict').evaluate((e) => ({ color: getComputedStyle(e).color, border: getComputedStyle(e).borderTopStyle, width: getComputedStyle(e).borderTopWidth }));
        const red = await page.evaluate(() => {
          const probe = document.createElement('span');
          probe.style.color = getComputedStyle(document.documentElement).getPropertyValue('--vscode-charts-red');
          document.body.append(probe);
          const c = getComputedStyle(probe).color;
          probe.remove();
          return c;
        });
        assert.equal((await style('mae')).color, red);
        assert.equal((await style('wilder')).border, 'dashed');
        assert.equal((await style('mae')).width, theme === 'high-contrast' ? '2px' : '1px');
        assert.deepEqual(errors, []);
        assert.deepEqual(violations, []);
        await page.screenshot({ path: path.join(shots, `evaluation-verdicts-${theme}.png`), fullPage: true });
        await page.close();
      }
    });

    await t.test('a GAN comparison (task gan): FD with the accuracy on generated digits, FD curves, and what FD is here', async () => {
      const gEvents = fixtureEvents('compare-gan', MEDIA_FIXTURES);
      const { page, errors, violations } = await openPanel(ctx, `${base}/evaluation.html`, 'dark');
      await send(page, { type: 'events', runId: 'compare-gan', from: 0, events: gEvents });
      await page.waitForSelector('#results[data-final="true"]');
      const headers = await page.locator('#results thead th').allTextContents();
      assert.equal(headers[2], 'FD (mean; lower is better)');
      assert.equal(headers[headers.length - 1], 'Accuracy on generated digits');
      assert.deepEqual(await page.locator('#acc-select option').allTextContents(), ['FD (quick)', 'On generated digits']);
      await page.waitForSelector('#chart-acc canvas');
      assert.match((await page.textContent('#cap-acc')) ?? '', /^FD \(quick, per epoch\) per epoch/);
      assert.match((await page.textContent('#table-legend')) ?? '', /not Inception FID/);
      assert.equal(await page.textContent('#table-heading'), 'FD and accuracy on generated digits');
      assert.equal(await page.textContent('#acc-label'), 'Metric');
      assert.match((await page.textContent('#table-hint')) ?? '', /^Difference to the baseline pair: mean over seeds of \(pair − baseline\) FD/);
      const meta = (await page.locator('#meta').innerText()).replace(/\s+/g, ' ');
      assert.match(meta, /class-conditional DCGAN/);
      assert.match(meta, /not Inception FID/);
      assert.doesNotMatch((await page.locator('#results').innerText()).replace(/\s+/g, ' '), /undefined|NaN/);
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.screenshot({ path: path.join(shots, 'evaluation-gan-dark.png'), fullPage: true });
      await page.close();
    });

    await t.test('a segmentation comparison (task segmentation): Dice with IoU and HD95, validation Dice curves, and what the metrics are', async () => {
      const sEvents = fixtureEvents('compare-seg', MEDIA_FIXTURES);
      const { page, errors, violations } = await openPanel(ctx, `${base}/evaluation.html`, 'dark');
      await send(page, { type: 'events', runId: 'compare-seg', from: 0, events: sEvents });
      await page.waitForSelector('#results[data-final="true"]');
      const headers = await page.locator('#results thead th').allTextContents();
      assert.equal(headers[2], 'Test Dice (mean)');
      assert.equal(headers[headers.length - 1], 'IoU · HD95 (lower is better)');
      assert.deepEqual(await page.locator('#acc-select option').allTextContents(), ['Validation Dice', 'Validation IoU']);
      await page.waitForSelector('#chart-acc canvas');
      assert.match((await page.textContent('#cap-acc')) ?? '', /^Validation Dice per epoch/);
      assert.equal(await page.textContent('#table-heading'), 'Test Dice, IoU and HD95');
      assert.equal(await page.textContent('#acc-label'), 'Metric');
      assert.match((await page.textContent('#table-hint')) ?? '', /test Dice on the same seeds/);
      assert.match((await page.textContent('#table-legend')) ?? '', /over the foreground classes/);
      const meta = (await page.locator('#meta').innerText()).replace(/\s+/g, ' ');
      assert.match(meta, /U-Net \(task segmentation\)/);
      const body = (await page.locator('#results tbody').innerText()).replace(/\s+/g, ' ');
      assert.match(body, /IoU \d+\.\d+% ± \d+\.\d · HD95 \d+\.\d\d/);
      assert.doesNotMatch(body, /undefined|NaN/);
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.screenshot({ path: path.join(shots, 'evaluation-segmentation-dark.png'), fullPage: true });
      await page.close();
    });

    await t.test('learning-rate tuning: progress while tuning, the rate table with the chosen rate in bold and in words, each row\u2019s rate', async () => {
      const tEvents = fixtureEvents('compare-tuned', MEDIA_FIXTURES);
      const { page, errors, violations } = await openPanel(ctx, `${base}/evaluation.html`, 'dark');
      const third = tEvents.map((e, i) => [e.type, i] as const).filter(([ty]) => ty === 'tune-end')[2][1] + 1;
      await send(page, { type: 'events', runId: 'compare-tuned', from: 0, events: tEvents.slice(0, third) });
      await page.waitForSelector('#lr-section:not([hidden]) #lr-table[data-final="false"] tbody tr');
      assert.equal(await page.textContent('#status'), 'Running: tuning learning rates: 3 of 8 trainings finished (21%)');
      assert.ok(Math.abs((await page.evaluate(() => (document.getElementById('progress') as HTMLProgressElement).value)) - 3 / 14) < 1e-6);
      assert.equal(await page.locator('#lr-table strong').count(), 0);
      assert.match((await page.textContent('#lr-legend')) ?? '', /chosen when every tuning training has finished/);
      await send(page, { type: 'events', runId: 'compare-tuned', from: third, events: tEvents.slice(third) });
      await page.waitForSelector('#results[data-final="true"]');
      await page.waitForSelector('#lr-table[data-final="true"]');
      assert.deepEqual(await page.locator('#lr-table thead th').allTextContents(), ['Loss', 'Augmentation', 'lr 0.001', 'lr 0.01', 'Chosen rate']);
      const lrRow = (loss: string) => page.locator('#lr-table tbody tr', { has: page.locator(`th:text-is("${loss}")`) });
      assert.deepEqual(await lrRow('ce').locator('td').allTextContents(), ['none', '66.97%', '80.83%, chosen', '0.01']);
      assert.equal(await lrRow('focal').locator('td strong').textContent(), '78.98%, chosen');
      assert.equal(await lrRow('focal').locator('td strong').evaluate((e) => Number(getComputedStyle(e).fontWeight) >= 600), true);
      assert.match((await lrRow('focal').locator('td', { has: page.locator('strong') }).getAttribute('title')) ?? '', /^lr 0\.01: mean best validation accuracy 78\.98% over 2 tuning seeds \(the rate chosen\)$/);
      const headers = await page.locator('#results thead th').allTextContents();
      assert.deepEqual(headers.slice(0, 3), ['Loss', 'Augmentation', 'Learning rate']);
      const focal = page.locator('#results tbody tr', { has: page.locator('th:text-is("focal")') });
      assert.equal(await focal.locator('td').nth(1).textContent(), '0.01');
      assert.equal(await focal.locator('.verdict').textContent(), 'no difference');
      assert.match((await page.textContent('#meta')) ?? '', /Learning-rate tuning0\.001, 0\.01 on tuning seeds 10001, 10002 · 8 of 8 tuning trainings/);
      await page.click('#export-csv');
      const csv = String((await posted(page)).filter((m) => m.type === 'save')[0].data).split('\r\n');
      assert.match(csv[0], /^loss,augmentation,lr,test_acc_mean,/);
      assert.match(csv[2], /^focal,none,0\.01,/);
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.screenshot({ path: path.join(shots, 'evaluation-tuned-dark.png'), fullPage: true });
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
