/// <reference lib="dom" />
/**
 * The evolution panel in headless Chromium, fed the recorded events of a real evolution run:
 * captured mid-run (test/fixtures/runs/evolve-midrun: first search of two, 8 generations) and
 * finished (evolve-finished: both searches, cross-augmentation table, re-training against CE;
 * recorded before verdicts, and with the verdicts the engine now adds to its final rows).
 * The losses of the top-k are described (LaTeX, curve) by the client's own code. A run with a
 * transfer ladder (test/media/fixtures/evolve-transfer): its trainings counted while they run,
 * then its table of verdicts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { chromium } from 'playwright-core';
import { describeLoss } from '../../client/src/runs/describe-loss';
import { EVOLUTION_BODY } from '../../media/src/evolution/body';
import { artifactsDir, CHROMIUM, CHROMIUM_ARGS, ensurePackaged, requireFile, ROOT, staticServer, tempDir, waitFor } from '../e2e/helpers';
import { fixtureEvents, fixtureSummary, MEDIA_FIXTURES, openPanel, panelPage, posted, send, STUB } from './evaluation-harness';
import type { EvolveSummary } from '../../protocol/evolve-events';

test('evolution panel in headless Chromium', { timeout: 180_000 }, async (t) => {
  requireFile(CHROMIUM, "install Debian's chromium (scripts/ci-e2e-setup.sh)");
  await ensurePackaged();
  let base = '';
  const server = await staticServer(path.join(ROOT, 'dist', 'media'), { '/stub.js': STUB, '/evolution.html': panelPage(() => base, 'evolution', EVOLUTION_BODY), '/favicon.ico': '' });
  base = server.url;
  const ctx = await chromium.launchPersistentContext(tempDir('lossmith-chromium-'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const shots = artifactsDir();
  /** Answer the page's `describe` requests as the extension does. */
  const answer = async (page: import('playwright-core').Page): Promise<number> => {
    const asks = (await posted(page)).filter((m) => m.type === 'describe');
    const exprs = asks.flatMap((m) => m.exprs as string[]);
    await send(page, { type: 'losses', items: exprs.map((e) => describeLoss(e)) });
    return exprs.length;
  };
  try {
    await t.test('mid-run: fitness chart, scatter, rejections and the top-k with rendered math', async () => {
      const { page, errors, violations } = await openPanel(ctx, `${base}/evolution.html`, 'dark', { width: 1280, height: 1300 });
      const events = fixtureEvents('evolve-midrun');
      await send(page, { type: 'events', runId: 'evolve-midrun', from: 0, events });
      await send(page, { type: 'runState', runId: 'evolve-midrun', status: 'running', summary: null });
      await page.waitForSelector('#chart-fitness[data-ready="true"] canvas');
      await page.waitForSelector('#chart-scatter[data-ready="true"] canvas');
      assert.match((await page.textContent('#status')) ?? '', /^Running: \d+ candidates evaluated · \d+ of \d+ children \(\d+%\)$/);
      assert.ok(Number(await page.getAttribute('#top', 'data-rows')) >= 3);
      assert.ok(await waitFor('describe requests', async () => (await answer(page)) > 0));
      await page.waitForSelector('#top tbody tr .katex');
      await page.waitForSelector('#top tbody tr svg.mini-chart path');
      assert.ok((await page.locator('#rejections tbody tr').count()) >= 3);
      // The rejection shares in the theme's red (the harness's dark theme: #f14c4c), not the browser's green meter.
      // (A meter's value is a pseudo-element getComputedStyle cannot read: its rule is checked.)
      const meter = await page.evaluate(() => {
        const m = document.querySelector('#rejections meter') as HTMLMeterElement;
        const rules = [...document.styleSheets].flatMap((sh) => [...sh.cssRules]).filter((r): r is CSSStyleRule => r instanceof CSSStyleRule && r.selectorText.includes('::-webkit-meter-optimum-value'));
        return { appearance: getComputedStyle(m).appearance, value: rules.map((r) => r.style.getPropertyValue('background') || r.style.getPropertyValue('background-color')).join(' ') };
      });
      assert.equal(meter.appearance, 'none');
      assert.match(meter.value, /var\(--vscode-charts-red\)/);
      // Formulas in display style (full-size fractions).
      assert.match((await page.locator('#top tbody tr .katex annotation').first().textContent()) ?? '', /^\\displaystyle /);
      // The charts' legends: the series' names until the pointer is on the chart, no "best: –" placeholders.
      const fitness = page.locator('#chart-fitness .uplot');
      await page.waitForSelector('#chart-fitness .uplot.legend-idle');
      assert.equal(await fitness.locator('.u-legend .u-value').first().isVisible(), false);
      assert.ok(await fitness.locator('.u-legend', { hasText: 'best' }).isVisible());
      const box = (await fitness.locator('.u-over').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForSelector('#chart-fitness .uplot:not(.legend-idle)');
      assert.match((await fitness.locator('.u-legend .u-value').nth(1).textContent()) ?? '', /\d/);
      await page.mouse.move(0, 0);
      assert.ok(await page.locator('#cross-section').isHidden());
      // Buttons post actions with the candidate.
      await page.locator('#top tbody tr').first().getByRole('button', { name: /Open as a .loss file/ }).click();
      const action = (await posted(page)).find((m) => m.type === 'lossAction');
      assert.equal(action?.action, 'open');
      assert.equal(typeof action?.expr, 'string');
      await page.selectOption('#axis-select', 'size');
      await page.waitForFunction(() => /expression size/.test(document.getElementById('cap-scatter')?.textContent ?? ''));
      await page.selectOption('#axis-select', 'time');
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.screenshot({ path: path.join(shots, 'evolution-panel-midrun.png'), fullPage: true });
      await page.close();
    });

    await t.test('finished: both searches, cross-augmentation table, re-training vs CE, best files', async () => {
      const { page, errors, violations } = await openPanel(ctx, `${base}/evolution.html`, 'light', { width: 1280, height: 1300 });
      await send(page, { type: 'runState', runId: 'evolve-finished', status: 'done', summary: fixtureSummary('evolve-finished') });
      await send(page, { type: 'events', runId: 'evolve-finished', from: 0, events: fixtureEvents('evolve-finished') });
      await page.waitForSelector('#chart-fitness[data-ready="true"] canvas');
      assert.equal(await page.textContent('#status'), 'Finished');
      assert.equal(await page.locator('#search-select option').count(), 2);
      await page.waitForSelector('#cross-section:not([hidden]) #cross tbody tr');
      assert.equal(await page.locator('#cross tbody tr').count(), 5);
      await page.waitForSelector('#final-section:not([hidden]) #final tbody tr');
      // Recorded before verdicts: the columns are there, empty ('—'), and the legend says why.
      const finalHeaders = await page.locator('#final thead th').allTextContents();
      assert.deepEqual(finalHeaders.slice(6), ['d_z [95% CI]', 'p', 'p (Holm)', 'Verdict', 'Left out']);
      assert.equal(await page.locator('#final .verdict').count(), 0);
      assert.doesNotMatch((await page.textContent('#final')) ?? '', /undefined|NaN/);
      assert.match((await page.textContent('#final-legend')) ?? '', /recorded before Holm-adjusted p-values and verdicts/);
      assert.match((await page.textContent('#meta')) ?? '', /wasm/);
      // Rejections follow the search shown: switching searches switches the table.
      const caption = async (): Promise<string> => (await page.textContent('#rejections caption')) ?? '';
      await page.selectOption('#search-select', { label: 'none' }).catch(() => page.selectOption('#search-select', { index: 0 }));
      await page.waitForFunction(() => /under none/.test(document.querySelector('#rejections caption')?.textContent ?? ''));
      const first = await caption();
      await page.selectOption('#search-select', { index: 1 });
      await page.waitForFunction(() => /under cutout/.test(document.querySelector('#rejections caption')?.textContent ?? ''));
      assert.notEqual(await caption(), first);
      await answer(page);
      await page.waitForSelector('#top tbody tr .katex');
      await page.locator('#top tbody tr').first().getByRole('button', { name: /Evaluate against cross-entropy/ }).click();
      const action = (await posted(page)).find((m) => m.type === 'lossAction');
      assert.equal(action?.action, 'evaluate');
      assert.match(String(action?.file), /^best-(none|cutout)-\d\.loss$/);
      await page.click('#export-csv');
      await page.click('#export-svg');
      await page.click('#export-png');
      const saves = (await posted(page)).filter((m) => m.type === 'save');
      assert.deepEqual(saves.map((s) => s.format), ['csv', 'svg', 'png']);
      assert.match(String(saves[0].data), /^rank,augment,id,fitness/);
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.screenshot({ path: path.join(shots, 'evolution-panel-finished.png'), fullPage: true });
      await page.close();
    });

    await t.test('final re-training with verdicts (as the engine writes them now): the verdict in a badge, the row in words', async () => {
      const { page, errors, violations } = await openPanel(ctx, `${base}/evolution.html`, 'dark');
      const summary = structuredClone(fixtureSummary('evolve-finished')) as EvolveSummary;
      summary.final!.forEach((r, i) => Object.assign(r.test!, { n: 2, pAdjusted: i === 0 ? 0.03 : 0.5, verdict: i === 0 ? 'worse' : 'inconclusive' }));
      summary.final![1].excluded = 1;
      await send(page, { type: 'runState', runId: 'evolve-finished', status: 'done', summary });
      await send(page, { type: 'events', runId: 'evolve-finished', from: 0, events: fixtureEvents('evolve-finished') });
      await page.waitForSelector('#final-section:not([hidden]) #final tbody tr .verdict');
      const first = page.locator('#final tbody tr').first();
      assert.equal(await first.locator('.verdict').textContent(), 'worse');
      assert.match((await first.locator('td', { has: page.locator('.verdict') }).getAttribute('title')) ?? '', /^#28 \(none\) re-trained: worse than CE, -0\.52 pp, p_adj = 0\.030$/);
      assert.match((await page.locator('#final tbody tr').nth(1).textContent()) ?? '', /1 of 2 seeds left out/);
      assert.match((await page.textContent('#final-legend')) ?? '', /^p \(Holm\): .*over all 6 comparisons/);
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.close();
    });

    await t.test('transfer ladder: its trainings counted while they run, then a verdict per loss and step with the difference, p (Holm), the rates and the legend', async () => {
      const lEvents = fixtureEvents('evolve-transfer', MEDIA_FIXTURES);
      const lSummary = fixtureSummary('evolve-transfer', MEDIA_FIXTURES) as EvolveSummary;
      const { page, errors, violations } = await openPanel(ctx, `${base}/evolution.html`, 'dark', { width: 1280, height: 1300 });
      const cut = lEvents.map((e, i) => [e.type, i] as const).filter(([ty]) => ty === 'transfer-evaluated')[6][1] + 1;
      await send(page, { type: 'runState', runId: 'evolve-transfer', status: 'running', summary: null });
      await send(page, { type: 'events', runId: 'evolve-transfer', from: 0, events: lEvents.slice(0, cut) });
      await page.waitForSelector('#transfer-section:not([hidden]) #transfer-status:not([hidden])');
      assert.match((await page.textContent('#status')) ?? '', /^Running: transfer ladder: 7 trainings finished \(\d learning-rate tuning\), step 1$/);
      assert.match((await page.textContent('#transfer-status')) ?? '', /^Transfer ladder: 7 trainings finished .*; the verdicts come when the run ends\.$/);
      // No total is announced: an indeterminate progress bar.
      assert.equal(await page.getAttribute('#progress', 'value'), null);
      assert.equal(await page.isHidden('#transfer'), true);
      await send(page, { type: 'runState', runId: 'evolve-transfer', status: 'done', summary: lSummary });
      await send(page, { type: 'events', runId: 'evolve-transfer', from: cut, events: lEvents.slice(cut) });
      // The summary may render before the last events (run-end): wait for both.
      await page.waitForSelector('#app[data-status="done"] #transfer-section:not([hidden]) #transfer tbody tr');
      assert.equal(await page.textContent('#status'), 'Finished');
      assert.equal(await page.isHidden('#transfer-status'), true);
      assert.deepEqual(await page.locator('#transfer thead th').allTextContents(), ['Candidate', 'Loss', 'surrogate', 'convnet']);
      assert.equal(await page.locator('#transfer tbody tr').count(), 2);
      const rows = lSummary.transfer!.rows;
      const first = rows[0];
      const row = page.locator('#transfer tbody tr', { has: page.locator(`th:text-is("#${first.id} (rank ${first.rank})")`) });
      // td 0 is the loss; a column per step after it (one augmentation).
      const cell = row.locator('td').nth(1 + first.step);
      assert.equal(await cell.locator('.verdict').textContent(), { better: 'better', worse: 'worse', 'no-difference': 'no difference', inconclusive: 'inconclusive' }[first.test?.verdict ?? 'inconclusive']);
      assert.match((await cell.getAttribute('title')) ?? '', new RegExp(`^#${first.id} at ${first.stepLabel}: `));
      const text = (await cell.textContent()) ?? '';
      assert.match(text, / pp/);
      assert.ok(text.includes(`lr ${first.lr}, CE ${first.ceLr}`), text);
      assert.equal(await page.locator('#transfer td .verdict').count(), rows.length);
      assert.doesNotMatch((await page.textContent('#transfer')) ?? '', /undefined|NaN|null/);
      assert.match((await page.textContent('#transfer-legend')) ?? '', new RegExp(`over all ${rows.length} comparisons of the transfer ladder\\.`));
      // The losses are described (KaTeX) like the others.
      await answer(page);
      await page.waitForSelector('#transfer tbody tr .katex');
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.screenshot({ path: path.join(shots, 'evolution-transfer-dark.png'), fullPage: true });
      await page.close();
    });
  } finally {
    await ctx.close();
    await server.close();
  }
});
