/**
 * Shared by the browser and editor tests: building the extension once per test run, Chromium,
 * a static file server, artifacts, and waiting on conditions (never on fixed sleeps).
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { chromium, type BrowserContext, type Frame, type Page } from 'playwright-core';
import { freePort } from '../helpers/redis';

export const ROOT = path.join(__dirname, '..', '..', '..');
export const VSIX = path.join(ROOT, 'lossmith.vsix');
export const CHROMIUM = process.env.LOSSMITH_CHROMIUM ?? '/usr/bin/chromium';
export const CODE_SERVER_DIR = process.env.LOSSMITH_CODE_SERVER_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'lossmith', 'code-server-4.100.3');
export const CODE_SERVER = path.join(CODE_SERVER_DIR, 'node_modules', '.bin', 'code-server');

/** Where screenshots and logs go (`LOSSMITH_ARTIFACTS`, default out/artifacts). */
export function artifactsDir(): string {
  const dir = process.env.LOSSMITH_ARTIFACTS ?? path.join(ROOT, 'out', 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Why a required tool is missing, for a clear failure (in CI these tests must run, not skip). */
export function requireFile(file: string, hint: string): void {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: ${hint}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value (or throw after `timeoutMs`, naming `what`). */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 100): Promise<NonNullable<T>> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

/**
 * Build dist/ and package lossmith.vsix once per test run: the runner starts every test file
 * as a child of one process, so its pid names the run; a lock folder keeps two files from
 * building at the same time.
 */
export async function ensurePackaged(): Promise<void> {
  const stamp = path.join(ROOT, 'out', '.e2e-packaged');
  const lock = path.join(ROOT, 'out', '.e2e-package.lock');
  const runId = String(process.ppid);
  const done = (): boolean => fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === runId && fs.existsSync(VSIX);
  if (process.env.LOSSMITH_SKIP_PACKAGE === '1' && fs.existsSync(VSIX)) return;
  for (;;) {
    if (done()) return;
    try {
      fs.mkdirSync(lock);
    } catch {
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 5 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      await sleep(250);
      continue;
    }
    try {
      if (done()) return;
      const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
      if (r.status !== 0) throw new Error(`npm run package failed:\n${r.stdout}\n${r.stderr}`);
      fs.writeFileSync(stamp, runId);
      return;
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** A static server for `dir`, plus extra in-memory pages. */
export async function staticServer(dir: string, pages: Record<string, string | (() => string)>): Promise<{ url: string; close: () => Promise<void> }> {
  const types: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.woff2': 'font/woff2', '.html': 'text/html', '.png': 'image/png', '.svg': 'image/svg+xml' };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const page = pages[url.pathname];
    if (page !== undefined) {
      res.writeHead(200, { 'content-type': url.pathname.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8' });
      res.end(typeof page === 'function' ? page() : page);
      return;
    }
    const file = path.join(dir, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Chromium flags from ../shared/reference/editor-testing.md. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Settings for a quiet, deterministic code-server workbench. */
export const CODE_SERVER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'editor.hover.delay': 150,
  'chat.commandCenter.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
};

/** A free port on 127.0.0.1 (one helper for every suite: test/helpers/redis.ts). */
export { freePort };

/** SIGTERM to a detached child's process group. */
export function stopGroup(p: ChildProcess | undefined): void {
  if (!p?.pid) return;
  try {
    process.kill(-p.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** The webview frame (webviews nest our page in an inner frame) that contains `selector`. */
export async function frameWith(page: Page, selector: string, what: string, timeoutMs = 60_000): Promise<Frame> {
  return waitFor(
    what,
    async () => {
      for (const f of page.frames()) {
        try {
          if (await f.$(selector)) return f;
        } catch {
          // detached while looking
        }
      }
      return undefined;
    },
    timeoutMs,
    250,
  );
}

/**
 * Open a quick input with `key`, fill it with `text` and accept the first row containing
 * `rowText`. A workbench that is still restoring (after a start or a reload) can take focus
 * back from a freshly opened quick input and eat keystrokes, so the input is (re)opened and
 * filled in one step until the row shows, up to `attempts` times.
 */
async function quickInput(page: Page, key: string, text: string, rowText: string, attempts = 4): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      if (i > 0) await page.keyboard.press('Escape');
      await page.keyboard.press(key);
      const input = page.locator('.quick-input-widget input').first();
      await input.waitFor({ state: 'visible', timeout: 15_000 });
      await input.fill(text);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: rowText }).first().waitFor({ timeout: 20_000 });
      await input.press('Enter');
      return;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`the quick input (${key}) did not offer "${rowText}" for "${text}" after ${attempts} attempts: ${String(last)}`);
}

/** Run a command from the command palette; its row must contain the command without its "Category: " prefix. */
export function runCommand(page: Page, command: string): Promise<void> {
  return quickInput(page, 'F1', `>${command}`, command.replace(/^[^:]+: /, ''));
}

/** Open a workspace file by name with Quick Open. */
export function openFile(page: Page, name: string): Promise<void> {
  return quickInput(page, 'Control+P', name, name);
}

/** "Developer: Reload Window", then wait for the new workbench. */
export async function reloadWindow(page: Page): Promise<void> {
  const loaded = page.waitForEvent('load', { timeout: 120_000 });
  loaded.catch(() => undefined);
  await runCommand(page, 'Developer: Reload Window');
  await loaded;
  await page.waitForSelector('.monaco-workbench');
}

export interface Workbench {
  page: Page;
  workspace: string;
  shots: string;
  close(): Promise<void>;
}

/**
 * The packaged .vsix installed into a fresh profile of code-server, a workspace with `files`,
 * and Chromium on it, its workbench loaded (`name` names the log in the artifacts).
 */
export async function launchWorkbench(name: string, files: Record<string, string>, settings: Record<string, unknown> = {}): Promise<Workbench> {
  requireFile(CODE_SERVER, 'run scripts/install-code-server.sh (or scripts/ci-e2e-setup.sh)');
  requireFile(CHROMIUM, "install Debian's chromium (scripts/ci-e2e-setup.sh)");
  await ensurePackaged();
  const base = tempDir(`lossmith-${name}-`);
  const [userData, extensions, workspace] = ['user-data', 'extensions', 'workspace'].map((d) => path.join(base, d));
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(workspace, { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...CODE_SERVER_SETTINGS, ...settings }, null, 2));
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(workspace, f), text);
  const shots = artifactsDir();
  const install = spawnSync(CODE_SERVER, ['--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', VSIX], { encoding: 'utf8', timeout: 120_000 });
  if (install.status !== 0) throw new Error(`install failed: ${install.stdout}\n${install.stderr}`);
  const port = await freePort();
  const log = fs.openSync(path.join(shots, `code-server-${name}.log`), 'w');
  const server = spawn(CODE_SERVER, ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--user-data-dir', userData, '--extensions-dir', extensions, workspace], { detached: true, stdio: ['ignore', log, log] });
  let ctx: BrowserContext | undefined;
  const close = async (): Promise<void> => {
    await ctx?.close().catch(() => undefined);
    stopGroup(server);
    fs.closeSync(log);
  };
  try {
    await waitFor('code-server /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000, 250);
    ctx = await chromium.launchPersistentContext(tempDir('lossmith-chromium-'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1600, height: 1000 } });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(60_000);
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench');
    await page.locator('.monaco-workbench').click({ position: { x: 800, y: 500 } }).catch(() => undefined);
    return { page, workspace, shots, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** What a quick input shows now: its title, placeholder and rows (to tell one question from the next). */
async function quickInputState(page: Page): Promise<string> {
  return page.evaluate(() => {
    const w = document.querySelector<HTMLElement>('.quick-input-widget');
    if (!w || w.style.display === 'none' || !w.offsetParent) return 'hidden';
    const title = w.querySelector('.quick-input-title')?.textContent ?? '';
    const placeholder = w.querySelector('input')?.getAttribute('placeholder') ?? '';
    const rows = [...w.querySelectorAll('.quick-input-list .monaco-list-row')].map((r) => r.textContent ?? '').join('|');
    return `${title}\u0000${placeholder}\u0000${rows}`;
  });
}

/**
 * Answer one quick pick: wait for the title, type to filter (or not), Enter, then wait until the
 * quick input has taken the answer (hidden, or showing another question). Two questions in a row
 * can share a title, so without that last wait the next answer could be typed into this one.
 */
export async function pick(page: Page, title: RegExp, filter?: string): Promise<void> {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor();
  if (filter) {
    await page.keyboard.type(filter);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: filter }).first().waitFor();
  }
  const before = await quickInputState(page);
  await page.keyboard.press('Enter');
  // A next question identical in title, placeholder and rows is possible in principle: then go on after 10 s.
  await waitFor('the quick pick to take the answer', async () => (await quickInputState(page)) !== before, 10_000, 50).catch(() => undefined);
}

/**
 * The workbench as a user would describe it, for a failure message: the quick input, the
 * notifications, the editor tabs and the panels' titles.
 */
export async function describeWorkbench(page: Page): Promise<string> {
  const quick = (await quickInputState(page).catch((e) => String(e))).replace(/\u0000/g, ' / ');
  const texts = async (selector: string): Promise<string> =>
    (await page.locator(selector).allTextContents().catch(() => [] as string[])).map((t) => t.trim().replace(/\s+/g, ' ').slice(0, 160)).join(' | ');
  return [`quick input: ${quick.slice(0, 400)}`, `notifications: ${await texts('.notification-toast')}`, `tabs: ${await texts('.tabs-container .tab')}`, `status bar: ${await texts('.statusbar-item')}`].join('\n');
}

/** The Evaluate command's questions, answered for a tiny run: mnist, mlp, no augmentation, 2 seeds × 2 epochs, 300 examples. */
export async function answerTinyEvaluation(page: Page): Promise<void> {
  await pick(page, /^Evaluate \S+ vs cross-entropy$/, 'Choose the settings');
  await pick(page, /Dataset/, 'mnist');
  await pick(page, /Engine and device/);
  await pick(page, /Model/, 'mlp');
  await pick(page, /Augmentations/);
  await pick(page, /Seeds/, '2 seeds');
  await pick(page, /Epochs/, '2 epochs');
  await pick(page, /Training examples/, '300 examples');
}

/**
 * Run one step of an editor test; when it fails, save a screenshot as `shot` and fail with the
 * workbench described in the message (CI keeps the log, not always the screenshots).
 */
export async function explained(page: Page, shot: string, fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (e) {
    await page.screenshot({ path: shot }).catch(() => undefined);
    const state = await describeWorkbench(page).catch((x) => `(the workbench could not be described: ${String(x)})`);
    const err = e instanceof Error ? e : new Error(String(e));
    err.message = `${err.message}\n--- the workbench when this step failed (screenshot ${path.basename(shot)}):\n${state}`;
    throw err;
  }
}
