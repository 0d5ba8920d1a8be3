/// <reference lib="dom" />
/**
 * The Getting Started walkthrough in code-server (VS Code 1.100) with the packaged .vsix, in a
 * workspace with no .loss file: "Lossmith: Open Getting Started Walkthrough" opens it, and each step's button opens
 * what it promises: the sample loss in an editor (and on disk), the derivative preview, the
 * evaluation's first question (Quick trial with its time estimate; "default", not "last used",
 * in a fresh workspace), the evolution's engine question, and the export's module. Then the Runs
 * view on two recorded evaluations (copied into the workspace): rows named by what ran and the
 * verdict, a run's panel titled by its name and start (not its id), and both selected and opened
 * side by side. Nothing trains: the runs themselves are runs.e2e's and standalone.e2e's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { frameWith, launchWorkbench, ROOT, runCommand, waitFor, type Workbench } from './helpers';

/** Two recorded evaluations (test/fixtures, test/media/fixtures), by their run ids. */
const RECORDED: Record<string, string> = {
  '20261123-181143-029-0c57': path.join(ROOT, 'test', 'fixtures', 'runs', 'compare-finished'),
  '20261206-101644-580-b748': path.join(ROOT, 'test', 'media', 'fixtures', 'compare-verdicts'),
};

/** The walkthrough's step `title`: expand it, then press its button `button`. */
async function stepButton(page: Page, title: string, button: string): Promise<void> {
  const step = page.locator('.getting-started-step', { hasText: title }).first();
  await step.waitFor();
  await step.locator('.step-title, h3').first().click();
  const b = page.getByRole('button', { name: button, exact: true }).first();
  await b.waitFor();
  await b.click();
}

const quickInputTitle = (page: Page, title: RegExp) => page.locator('.quick-input-widget .quick-input-title', { hasText: title });
const row = (page: Page, text: string | RegExp) => page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }).first();

test('the Getting Started walkthrough: each step opens what it promises; the Runs view names runs and opens them side by side', { timeout: 420_000 }, async (t) => {
  let wb: Workbench | undefined;
  try {
    wb = await launchWorkbench('walkthrough', { 'README.md': '# a new project\n' }, { 'workbench.editor.enablePreview': false });
    const { page, workspace, shots } = wb;
    const shot = (name: string): Promise<unknown> => page.screenshot({ path: path.join(shots, `walkthrough-${name}.png`) });
    let failures = 0;
    /** A subtest that leaves a screenshot when it fails. */
    const sub = (name: string, fn: () => Promise<void>): Promise<void> =>
      t.test(name, async () => {
        try {
          await fn();
        } catch (e) {
          await shot(`failure-${++failures}`).catch(() => undefined);
          throw e;
        }
      });
    const walkthrough = async (): Promise<void> => {
      // Back to the walkthrough (a step's command may have opened an editor over it).
      const tab = page.locator('.tab', { hasText: /Walkthrough|Welcome|Get Started/ }).first();
      if (await tab.count()) await tab.click();
      await page.locator('.gettingStartedContainer', { hasText: 'Get Started with Lossmith' }).first().waitFor();
    };

    await sub('"Lossmith: Open Getting Started Walkthrough" opens the walkthrough with its five steps', async () => {
      // A workbench still starting its extension host can drop the first command: ask again.
      await waitFor(
        'the walkthrough',
        async () => {
          await runCommand(page, 'Lossmith: Open Getting Started Walkthrough');
          return page
            .locator('.gettingStartedContainer', { hasText: 'Get Started with Lossmith' })
            .first()
            .waitFor({ timeout: 20_000 })
            .then(() => true);
        },
        120_000,
        1000,
      ).catch(async (e) => {
        await shot('open-failure');
        throw e;
      });
      for (const s of ['Write a loss', 'See its derivative', 'Evaluate it against cross-entropy', 'Search for new losses', 'Export it']) await page.locator('.getting-started-step', { hasText: s }).first().waitFor();
      await shot('open');
    });

    await sub('Write a loss: my-loss.loss is created and opens in an editor', async () => {
      await stepButton(page, 'Write a loss', 'Write a Loss');
      await page.locator('.monaco-editor .view-line', { hasText: 'loss focal' }).first().waitFor();
      await page.locator('.tab', { hasText: 'my-loss.loss' }).first().waitFor();
      assert.match(fs.readFileSync(path.join(workspace, 'my-loss.loss'), 'utf8'), /^loss focal = /m);
      await shot('write');
    });

    await sub('See its derivative: the derivative preview opens on that loss', async () => {
      await walkthrough();
      await stepButton(page, 'See its derivative', 'Show Derivative Preview');
      const frame = await frameWith(page, '#chart[data-ready="true"] canvas', 'the derivative preview', 90_000);
      await waitFor('the loss in the preview', async () => /focal/.test((await frame.textContent('body')) ?? ''), 30_000, 250);
      await shot('derivative');
    });

    await sub('Evaluate: the first question offers a Quick trial with its time, and a fresh workspace says "default"', async () => {
      await walkthrough();
      await stepButton(page, 'Evaluate it against cross-entropy', 'Evaluate Against Cross-Entropy');
      await quickInputTitle(page, /^Evaluate focal vs cross-entropy$/).waitFor({ timeout: 90_000 });
      assert.match((await row(page, 'Quick trial').textContent()) ?? '', /about \d+ s \(lenet's figure for 2 CPU cores\)/);
      assert.equal(await row(page, 'Re-run with the last settings').count(), 0, 'nothing to re-run in a fresh workspace');
      await shot('evaluate');
      await row(page, 'Choose the settings').click();
      await quickInputTitle(page, /Dataset/).waitFor();
      assert.match((await row(page, 'mnist').textContent()) ?? '', /default/);
      assert.doesNotMatch((await page.locator('.quick-input-widget .quick-input-list').textContent()) ?? '', /last used/);
      await page.keyboard.press('Escape');
    });

    await sub('Search for new losses: Start Evolution asks its first question', async () => {
      await walkthrough();
      await stepButton(page, 'Search for new losses', 'Start Evolution');
      await quickInputTitle(page, /Start Evolution \(1\/5\)/).waitFor({ timeout: 90_000 });
      await row(page, /tfjs|torch|auto/).waitFor({ timeout: 60_000 });
      await shot('evolve');
      await page.keyboard.press('Escape');
    });

    await sub('Export it: the loss becomes a PyTorch module in an editor', async () => {
      await walkthrough();
      await stepButton(page, 'Export it', 'Export Loss');
      // PyTorch, then "Open in an editor": the first rows (no typing, which a busy workbench can cut short).
      await quickInputTitle(page, /Export Loss/).waitFor();
      await row(page, 'PyTorch').click();
      await row(page, 'Open in an editor').click();
      await page.locator('.monaco-editor .view-line', { hasText: 'def focal(' }).first().waitFor();
      await shot('export');
    });

    await sub('Runs view: rows say what ran and the verdict; a run panel is titled by name and start; two runs open side by side', async () => {
      for (const [id, dir] of Object.entries(RECORDED)) fs.cpSync(dir, path.join(workspace, '.lossmith', 'runs', id), { recursive: true });
      await runCommand(page, 'Lossmith: Show Runs');
      // The view's watcher sees the new runs; its refresh button in case it has not yet.
      await page.locator('.pane-header .action-label[aria-label*="Refresh Runs"]').first().click().catch(() => undefined);
      // compare-finished was recorded before verdicts: what ran only.
      const rowA = page.locator('.monaco-list-row', { hasText: 'focal vs ce · mlp · none, cutout' }).first();
      const rowB = page.locator('.monaco-list-row', { hasText: 'focal, mae, wild, wilder vs ce · mlp · none — 1 worse, 2 no difference, 1 inconclusive' }).first();
      await rowA.waitFor({ timeout: 30_000 }).catch(async (e) => {
        await shot('runs-failure');
        throw e;
      });
      await rowB.waitFor();
      await shot('runs-view');
      // One run: its panel's tab names it and its start, never the raw id.
      await rowA.click();
      const tab = page.locator('.tab', { hasText: /^focal vs ce · Nov 2[34], \d\d:\d\d:\d\d/ }).first();
      await tab.waitFor();
      assert.doesNotMatch((await tab.textContent()) ?? '', /20261123-181143/);
      // Both: selected with Ctrl, "Compare Runs Side by Side" from the context menu.
      await rowB.click({ modifiers: ['Control'] });
      await rowB.click({ button: 'right' });
      // The menu ignores a click that comes right after it opened: hover the item, then Enter.
      const menuItem = page.locator('.context-view .action-menu-item', { hasText: 'Compare Runs Side by Side' }).first();
      await menuItem.hover();
      await page.keyboard.press('Enter');
      const frame = await frameWith(page, '#chart-overlay[data-ready="true"] canvas', 'the side-by-side panel', 60_000);
      assert.equal(await frame.locator('#runs-key li').count(), 2);
      // A: ce and focal under none and cutout; B: ce and four losses under none.
      assert.equal(Number(await frame.getAttribute('#joined', 'data-rows')), 9);
      assert.match((await frame.textContent('#joined')) ?? '', /worse/);
      await page.locator('.tab', { hasText: 'Runs side by side' }).first().waitFor();
      await shot('side-by-side');
    });
  } catch (e) {
    await wb?.page.screenshot({ path: path.join(wb.shots, 'walkthrough-failure.png') }).catch(() => undefined);
    throw e;
  } finally {
    await wb?.close();
  }
});
