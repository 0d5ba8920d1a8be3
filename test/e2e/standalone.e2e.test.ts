/// <reference lib="dom" />
/**
 * The extension stands alone, as a new user meets it: the packaged lossmith.vsix installed into a
 * fresh profile of code-server 4.100.3 (in headless Chromium), no Lossmith setting at all, a
 * workspace holding one .loss file, and no node_modules anywhere on the workspace's or the
 * extension's path. "Evaluate Loss Against Cross-Entropy" runs to its final table and a quick
 * evolution (quick settings) to its end, on the engine bundled in the .vsix run by VS Code's own
 * runtime: a `node` put first on PATH is a trap that records what it runs, and runs nothing of
 * Lossmith's. Then, with lossmith.nodePath pointing nowhere, Evaluate says so (with the fix)
 * before it asks anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { chromium, type BrowserContext, type Frame, type Page } from 'playwright-core';
import { artifactsDir, CHROMIUM, CHROMIUM_ARGS, CODE_SERVER, CODE_SERVER_SETTINGS, ensurePackaged, frameWith, freePort, openFile, requireFile, runCommand, stopGroup, VSIX, waitFor, pick, answerTinyEvaluation, explained } from './helpers';
import { tmpDir } from '../helpers/tmp';

/** Every folder from `dir` up to the root: none may hold a node_modules. */
function assertNoNodeModulesAbove(dir: string): void {
  for (let d = dir; ; d = path.dirname(d)) {
    assert.ok(!fs.existsSync(path.join(d, 'node_modules')), `${d} has a node_modules`);
    if (path.dirname(d) === d) return;
  }
}

/** Every folder below `dir`: none may be a node_modules. */
function assertNoNodeModulesBelow(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    assert.notEqual(e.name, 'node_modules', `${path.join(dir, e.name)}`);
    assertNoNodeModulesBelow(path.join(dir, e.name));
  }
}

/** The text of the files under `dir` whose name matches `name` (code-server's logs). */
function logsMatching(dir: string, name: RegExp): string {
  let text = '';
  if (!fs.existsSync(dir)) return text;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) text += logsMatching(p, name);
    else if (name.test(e.name)) text += fs.readFileSync(p, 'utf8');
  }
  return text;
}

test('the .vsix alone in a fresh code-server profile: an evaluation and a quick evolution run on the bundled engine with VS Code\u2019s runtime', { timeout: 1_200_000 }, async (t) => {
  requireFile(CODE_SERVER, 'run scripts/install-code-server.sh (or scripts/ci-e2e-setup.sh)');
  requireFile(CHROMIUM, "install Debian's chromium (scripts/ci-e2e-setup.sh)");
  const t0 = Date.now();
  await ensurePackaged();
  const vsixBytes = fs.statSync(VSIX).size;
  const base = tmpDir('lossmith-standalone-');
  const userData = path.join(base, 'user-data');
  const extensions = path.join(base, 'extensions');
  const workspace = path.join(base, 'workspace');
  const trapBin = path.join(base, 'trap-bin');
  const trapLog = path.join(base, 'path-node.log');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(workspace);
  fs.mkdirSync(trapBin);
  // No lossmith.* setting: a fresh profile.
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...CODE_SERVER_SETTINGS, 'workbench.editor.enablePreview': false }, null, 2));
  fs.copyFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'focal.loss'), path.join(workspace, 'focal.loss'));
  // `node` on PATH records its arguments, then runs (code-server itself starts through it).
  fs.writeFileSync(path.join(trapBin, 'node'), `#!/bin/sh\necho "$@" >> '${trapLog}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${trapBin}${path.delimiter}${process.env.PATH ?? ''}` };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  const shots = artifactsDir();

  const install = spawnSync(CODE_SERVER, ['--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', VSIX], { encoding: 'utf8', timeout: 120_000, env });
  assert.equal(install.status, 0, `install failed: ${install.stdout}\n${install.stderr}`);
  const extDir = fs.readdirSync(extensions).find((d) => d.startsWith('lossmith.lossmith-'));
  assert.ok(extDir, `installed: ${fs.readdirSync(extensions).join(', ')}`);
  const engineDir = path.join(extensions, extDir, 'dist', 'engine');
  assert.ok(fs.existsSync(path.join(engineDir, 'lossmith.js')), 'the engine is in the .vsix');
  // Nothing to resolve packages from: not beside the workspace, not in or above the extension.
  assertNoNodeModulesAbove(workspace);
  assertNoNodeModulesAbove(path.join(extensions, extDir));
  assertNoNodeModulesBelow(path.join(extensions, extDir));
  assert.deepEqual(fs.readdirSync(workspace), ['focal.loss']);

  const port = await freePort();
  const log = fs.openSync(path.join(shots, 'code-server-standalone.log'), 'w');
  const server = spawn(
    CODE_SERVER,
    ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--user-data-dir', userData, '--extensions-dir', extensions, workspace],
    { detached: true, stdio: ['ignore', log, log], env },
  );
  let ctx: BrowserContext | undefined;
  const timing: Record<string, number> = {};
  const runsDir = path.join(workspace, '.lossmith', 'runs');
  const runIds = (): string[] => (fs.existsSync(runsDir) ? fs.readdirSync(runsDir) : []);
  try {
    await waitFor('code-server /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000, 250);
    ctx = await chromium.launchPersistentContext(path.join(base, 'chromium'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1600, height: 1000 } });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(60_000);
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench');
    await page.locator('.monaco-workbench').click({ position: { x: 800, y: 500 } }).catch(() => undefined);
    await openFile(page, 'focal.loss');
    await page.waitForSelector('.monaco-editor .view-line:has-text("loss focal")');
    await page.locator('.monaco-editor .codelens-decoration', { hasText: 'Evaluate vs CE' }).first().waitFor({ timeout: 90_000 });
    timing.workbenchMs = Date.now() - t0;

    let failures = 0;
    const step = (name: string, fn: () => Promise<void> | void): Promise<void> =>
      t.test(name, () => explained(page, path.join(shots, `code-server-standalone-failure-${++failures}.png`), fn));
    let evalId = '';
    await step('Evaluate Loss Against Cross-Entropy runs to its final table', async () => {
      const t1 = Date.now();
      await runCommand(page, 'Lossmith: Evaluate Loss Against Cross-Entropy');
      await answerTinyEvaluation(page);
      const frame: Frame = await frameWith(page, '#results[data-final="true"]', 'the final table', 240_000);
      timing.evaluationMs = Date.now() - t1;
      assert.equal(await frame.textContent('#status'), 'Finished');
      assert.equal(await frame.locator('#results tbody tr').count(), 2);
      await page.screenshot({ path: path.join(shots, 'code-server-standalone-evaluation.png') });
      [evalId] = runIds();
      assert.ok(evalId);
      assert.equal(JSON.parse(fs.readFileSync(path.join(runsDir, evalId, 'summary.json'), 'utf8')).status, 'done');
      // Whichever engine `auto` picks here (torch where python3 has it), it ran from the .vsix.
      const backends = fs
        .readFileSync(path.join(runsDir, evalId, 'events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; backend?: { engine?: string; detail?: string } })
        .filter((e) => e.type === 'backend');
      assert.ok(backends.length >= 1);
      for (const b of backends) {
        if (b.backend?.engine === 'tfjs') assert.ok(b.backend.detail?.includes(`binaries from ${engineDir}`), b.backend.detail);
        else assert.equal(b.backend?.engine, 'torch');
      }
    });

    await step('Start Evolution with quick settings (mlp, none, 20 children, 300 examples) runs to its end', async () => {
      const t2 = Date.now();
      await runCommand(page, 'Lossmith: Start Evolution');
      // No *.evolve.json in the workspace: the quick settings come at once.
      await pick(page, /engine and device/);
      await pick(page, /surrogate model/, 'mlp');
      await pick(page, /augmentations/);
      await pick(page, /children to evaluate/, '20');
      await pick(page, /training examples per candidate/, '300 examples');
      const id = await waitFor('the evolution run folder', () => runIds().find((d) => d !== evalId), 60_000, 200);
      const frame = await frameWith(page, `#meta:has-text("${id}")`, 'the evolution panel', 120_000);
      await waitFor('the quick evolution to finish', async () => (await frame.getAttribute('#app', 'data-status')) === 'done', 600_000, 500);
      timing.quickEvolutionMs = Date.now() - t2;
      await page.screenshot({ path: path.join(shots, 'code-server-standalone-evolution.png') });
      const summary = JSON.parse(fs.readFileSync(path.join(runsDir, id, 'summary.json'), 'utf8')) as { status: string; best: unknown[] };
      assert.equal(summary.status, 'done');
      assert.ok(summary.best.length >= 1);
    });

    await step('the runs used the bundled engine with VS Code\u2019s runtime, never node from PATH', () => {
      const trapped = fs.existsSync(trapLog) ? fs.readFileSync(trapLog, 'utf8') : '';
      assert.ok(!trapped.includes('dist/engine'), `node on PATH ran the engine:\n${trapped}`);
      const channel = logsMatching(path.join(userData, 'logs'), /Lossmith\.log$/);
      assert.match(channel, new RegExp(`runs use the engine at ${engineDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/lossmith\\.js \\(the engine bundled with the extension\\)`));
      assert.match(channel, /runs use Node 2\d\.\S+ at \S+ \(VS Code\u2019s own runtime\)/);
    });

    await step('with lossmith.nodePath pointing nowhere, Evaluate says so with the fix before asking anything', async () => {
      const missing = path.join(base, 'no-such-node');
      // A workspace setting (code-server does not notice a user settings.json written from outside).
      fs.mkdirSync(path.join(workspace, '.vscode'));
      fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'lossmith.nodePath': missing }, null, 2));
      const toast = page.locator('.notification-toast', { hasText: `lossmith.nodePath is set to ${missing}` }).first();
      // The workbench reads the new settings.json shortly: until then the command still asks.
      await waitFor(
        'the error before any question',
        async () => {
          await page.locator('.monaco-editor .view-line', { hasText: 'loss focal' }).first().click();
          await runCommand(page, 'Lossmith: Evaluate Loss Against Cross-Entropy');
          const shown = await Promise.race([
            toast.waitFor({ timeout: 20_000 }).then(() => 'error' as const),
            page.locator('.quick-input-widget .quick-input-title', { hasText: /vs cross-entropy/ }).waitFor({ timeout: 20_000 }).then(() => 'asked' as const),
          ]).catch(() => 'nothing' as const);
          if (shown !== 'error') await page.keyboard.press('Escape');
          return shown === 'error';
        },
        90_000,
        1000,
      );
      assert.equal(await page.locator('.quick-input-widget .quick-input-title', { hasText: /vs cross-entropy/ }).isVisible(), false, 'no question was asked');
      assert.match((await toast.textContent()) ?? '', /not a file: set it to a Node\.js 20\+ executable, or clear it/);
      assert.ok(await toast.getByRole('button', { name: 'Open Settings' }).count());
      await page.screenshot({ path: path.join(shots, 'code-server-standalone-no-node.png') });
    });
    timing.totalMs = Date.now() - t0;
    t.diagnostic(`lossmith.vsix: ${(vsixBytes / 1024 / 1024).toFixed(2)} MB; timing ${JSON.stringify(timing)}`);
    fs.writeFileSync(path.join(shots, 'code-server-standalone-timing.json'), JSON.stringify({ vsixBytes, ...timing }, null, 2));
  } catch (e) {
    const page = ctx?.pages()[0];
    if (page) await page.screenshot({ path: path.join(shots, 'code-server-standalone-failure.png') }).catch(() => undefined);
    throw e;
  } finally {
    await ctx?.close().catch(() => undefined);
    const exited = new Promise((r) => (server.exitCode !== null || server.signalCode !== null ? r(undefined) : server.once('exit', r)));
    stopGroup(server);
    // The profile is removed when this file's process exits: let code-server finish writing to it.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    fs.closeSync(log);
  }
});
