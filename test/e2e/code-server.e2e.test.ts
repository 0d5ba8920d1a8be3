/// <reference lib="dom" />
/**
 * End to end in a real VS Code workbench: code-server 4.100.3 (VS Code 1.100.3) in Debian's
 * headless Chromium, driven with playwright-core (../shared/reference/editor-testing.md).
 * The packaged lossmith.vsix is installed into a fresh extensions folder; a workspace with a
 * `.loss` file that has an error is opened; the test waits on what appears: the squiggle, the
 * Problems entry, a hover with the builtin's doc, completion offering a builtin, and the
 * derivative preview's chart inside the webview frame after "Lossmith: Show Derivative Preview".
 *
 * Needs `scripts/ci-e2e-setup.sh` (chromium, ripgrep, libkrb5-dev, code-server in a cache
 * folder). In CI it must run: a missing tool is a failure with a hint, not a skip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { chromium, type BrowserContext, type Frame, type Page } from 'playwright-core';
import { BUILTINS } from '../../grammar/src/index';
import { artifactsDir, CHROMIUM, CHROMIUM_ARGS, CODE_SERVER, CODE_SERVER_SETTINGS, ensurePackaged, frameWith, freePort, openFile, reloadWindow, requireFile, runCommand, stopGroup, tempDir, VSIX, waitFor } from './helpers';

const BAD_LOSS = `# Focal loss with a typo
param gamma = 2.0 in [0, 5]
let pt = sum(y * p)
loss focal = -(1 - pt)^gamma * log(pt) + softplux(0)
`;

const SETTINGS = CODE_SERVER_SETTINGS;

/** The frame of the derivative preview once `selector` is in it. */
function previewFrame(page: Page, selector = '#chart[data-ready="true"] canvas'): Promise<Frame> {
  return frameWith(page, selector, `the derivative preview (${selector}) in a webview frame`);
}

test('Lossmith in code-server: diagnostics, hover, completion, derivative preview', { timeout: 420_000 }, async (t) => {
  requireFile(CODE_SERVER, 'run scripts/install-code-server.sh (or scripts/ci-e2e-setup.sh)');
  requireFile(CHROMIUM, "install Debian's chromium (scripts/ci-e2e-setup.sh)");
  const t0 = Date.now();
  await ensurePackaged();
  const tPackaged = Date.now();

  const base = tempDir('lossmith-e2e-');
  const userData = path.join(base, 'user-data');
  const extensions = path.join(base, 'extensions');
  const workspace = path.join(base, 'workspace');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(workspace, { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
  fs.writeFileSync(path.join(workspace, 'focal-typo.loss'), BAD_LOSS);
  const shots = artifactsDir();

  const install = spawnSync(CODE_SERVER, ['--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', VSIX], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(install.status, 0, `install failed: ${install.stdout}\n${install.stderr}`);
  assert.ok(fs.readdirSync(extensions).some((d) => d.startsWith('lossmith.lossmith-')), `installed: ${fs.readdirSync(extensions).join(', ')}`);

  const port = await freePort();
  const log = fs.openSync(path.join(shots, 'code-server.log'), 'w');
  const server = spawn(
    CODE_SERVER,
    ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--user-data-dir', userData, '--extensions-dir', extensions, workspace],
    { detached: true, stdio: ['ignore', log, log] },
  );
  let ctx: BrowserContext | undefined;
  try {
    await waitFor('code-server /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000, 250);
    ctx = await chromium.launchPersistentContext(tempDir('lossmith-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1600, height: 1000 },
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(60_000);
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench');
    const tWorkbench = Date.now();

    // Open the file with Quick Open.
    await page.locator('.monaco-workbench').click({ position: { x: 800, y: 500 } }).catch(() => undefined);
    await openFile(page, 'focal-typo.loss');
    await page.waitForSelector('.monaco-editor .view-line:has-text("softplux")');

    await t.test('the extension activates: the grammar colours the file and the error is squiggled', async () => {
      await page.waitForSelector('.monaco-editor .squiggly-error', { timeout: 90_000 });
      // The language mode shows in the status bar.
      await page.waitForSelector('.statusbar-item:has-text("Loss")');
    });
    const tActive = Date.now();

    await t.test('the Problems panel lists the error', async () => {
      await page.keyboard.press('Control+Shift+M');
      const row = page.locator('.markers-panel .monaco-list-row', { hasText: 'softplux' });
      await row.first().waitFor();
      const text = (await row.first().textContent()) ?? '';
      assert.match(text, /softplux/);
    });

    await t.test('a hover on a builtin shows its documentation', async () => {
      const doc = BUILTINS.find((b) => b.name === 'log' && b.callable)!.doc.summary;
      const token = page.locator('.monaco-editor .view-line span span', { hasText: /^log$/ }).first();
      await token.waitFor();
      const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: doc.split(' ').slice(0, 3).join(' ') });
      await waitFor(
        'the hover with the doc of log',
        async () => {
          await token.hover();
          await page.mouse.move(((await token.boundingBox())?.x ?? 0) + 4, ((await token.boundingBox())?.y ?? 0) + 6);
          return (await hover.count()) > 0 && (await hover.first().isVisible());
        },
        30_000,
        500,
      );
      await page.keyboard.press('Escape');
    });

    await t.test('completion offers builtins', async () => {
      // Put the cursor at the end of the last loss line and start a call.
      await page.locator('.monaco-editor .view-line', { hasText: 'softplux' }).click();
      await page.keyboard.press('End');
      await page.keyboard.type(' + softm');
      await page.keyboard.press('Control+Space');
      const item = page.locator('.suggest-widget .monaco-list-row', { hasText: 'softmax' });
      await item.first().waitFor();
      await page.keyboard.press('Escape');
      // Remove what was typed (" + softm"), so the file is as written again.
      for (let i = 0; i < ' + softm'.length; i++) await page.keyboard.press('Backspace');
      await page.waitForSelector('.monaco-editor .view-line:has-text("softplux(0)")');
      await waitFor('the typed text to be gone', async () => !(await page.locator('.monaco-editor .view-line', { hasText: 'softm' }).count()));
    });

    let tPreview = 0;
    await t.test('"Lossmith: Show Derivative Preview" opens the panel and its chart is visible', async () => {
      const t1 = Date.now();
      await runCommand(page, 'Lossmith: Show Derivative Preview');
      // The loss has an error (softplux): the panel shows its formula and says so, with no
      // curve drawn from a broken loss.
      const frame = await previewFrame(page, '#math[data-ready="true"] .katex');
      tPreview = Date.now() - t1;
      assert.equal(await frame.textContent('#title'), 'focal-typo.loss');
      assert.ok((await frame.locator('#math .katex-display').count()) >= 1);
      await waitFor('the preview to report the error', async () => (await frame.getAttribute('#status', 'data-kind')) === 'error', 30_000, 200);
      assert.match((await frame.textContent('#status')) ?? '', /has errors/);
      // The slider of `gamma` is there, within the file's range.
      const slider = frame.getByLabel('gamma', { exact: true });
      assert.equal(await slider.getAttribute('min'), '0');
      assert.equal(await slider.getAttribute('max'), '5');
      await page.screenshot({ path: path.join(shots, 'code-server-preview.png') });
    });

    await t.test('the preview follows edits: fixing the typo draws the derivative and the curves', async () => {
      await page.locator('.monaco-editor .view-line', { hasText: 'softplux' }).click();
      await page.keyboard.press('End');
      for (let i = 0; i < ' + softplux(0)'.length; i++) await page.keyboard.press('Backspace');
      const frame = await previewFrame(page);
      const canvas = frame.locator('#chart canvas').first();
      assert.ok(await canvas.isVisible());
      const box = await canvas.boundingBox();
      assert.ok(box && box.width > 200 && box.height > 150, `chart box ${JSON.stringify(box)}`);
      assert.ok((await frame.locator('#math .katex-display').count()) >= 2, 'the loss and its derivatives');
      await waitFor('the error squiggle to go', async () => (await page.locator('.monaco-editor .squiggly-error').count()) === 0, 30_000, 200);
      assert.equal(await frame.getAttribute('#status', 'data-kind'), 'info');
      // Hide the bottom panel for a clean picture of editor and preview.
      await page.keyboard.press('Control+J');
      await page.locator('.markers-panel').waitFor({ state: 'hidden' });
      await page.screenshot({ path: path.join(shots, 'code-server-preview-clean.png') });
    });

    await t.test('"Lossmith: Open Catalogue" opens a catalogue loss read-only, with language features', async () => {
      await runCommand(page, 'Lossmith: Open Catalogue');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'bi-tempered.loss' }).first().waitFor();
      await page.keyboard.type('bi-tempered');
      await page.keyboard.press('Enter');
      await page.locator('.tab', { hasText: 'bi-tempered.loss' }).first().waitFor();
      await page.waitForSelector('.monaco-editor .view-line:has-text("tempered_softmax")');
      // The preview follows the newly active .loss file.
      const frame = await previewFrame(page);
      await waitFor('the preview to follow bi-tempered.loss', async () => (await frame.textContent('#title')) === 'bi-tempered.loss', 30_000, 200);
      assert.ok(await frame.getByLabel('t1', { exact: true }).isVisible());
      // Back to the workspace file for the next steps.
      await page.locator('.tab', { hasText: 'focal-typo.loss' }).first().click();
      await waitFor('the preview to follow focal-typo.loss', async () => (await frame.textContent('#title')) === 'focal-typo.loss', 30_000, 200);
    });

    await t.test('the language server is restarted with a message when it dies', async () => {
      const serverPids = (): number[] =>
        spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
          .stdout.split('\n')
          .filter((l) => l.includes(extensions) && l.includes('dist/server.js'))
          .map((l) => Number(l.trim().split(/\s+/)[0]));
      const [pid] = await waitFor('the language server process', () => {
        const p = serverPids();
        return p.length > 0 ? p : undefined;
      });
      process.kill(pid, 'SIGKILL');
      await page.locator('.notification-toast', { hasText: 'is being restarted' }).first().waitFor();
      await waitFor('a new language server process', () => serverPids().some((p) => p !== pid), 30_000, 200);
      // The new server analyses the file: a fresh typo is squiggled again.
      await page.locator('.monaco-editor .view-line', { hasText: 'log(pt)' }).click();
      await page.keyboard.press('End');
      await page.keyboard.type(' + softplux(0)');
      await page.waitForSelector('.monaco-editor .squiggly-error');
      for (let i = 0; i < ' + softplux(0)'.length; i++) await page.keyboard.press('Backspace');
      await waitFor('the error squiggle to go', async () => (await page.locator('.monaco-editor .squiggly-error').count()) === 0, 30_000, 200);
    });

    await t.test('the preview is restored after a window reload, with its state', async () => {
      let frame = await previewFrame(page);
      await frame.fill('#classes', '20');
      await frame.press('#classes', 'Enter');
      await waitFor('the 20-class curve', async () => /20 classes/.test((await frame.textContent('#chart-summary')) ?? ''), 30_000, 200);
      await reloadWindow(page);
      frame = await previewFrame(page);
      await waitFor('the restored 20-class curve', async () => /20 classes/.test((await frame.textContent('#chart-summary')) ?? ''), 30_000, 200);
      assert.equal(await frame.inputValue('#classes'), '20');
    });

    const timing = {
      packageMs: tPackaged - t0,
      workbenchMs: tWorkbench - tPackaged,
      activeToSquiggleMs: tActive - tWorkbench,
      previewMs: tPreview,
      totalMs: Date.now() - t0,
    };
    fs.writeFileSync(path.join(shots, 'code-server-timing.json'), JSON.stringify(timing, null, 2));
    t.diagnostic(`timing ${JSON.stringify(timing)}`);
    const unexpected = consoleErrors.filter((e) => !/vsda|404 \(Not Found\)|favicon/i.test(e));
    t.diagnostic(`console errors (not failing): ${unexpected.length}`);
  } catch (e) {
    const page = ctx?.pages()[0];
    if (page) await page.screenshot({ path: path.join(shots, 'code-server-failure.png') }).catch(() => undefined);
    throw e;
  } finally {
    await ctx?.close().catch(() => undefined);
    stopGroup(server);
    fs.closeSync(log);
  }
});
