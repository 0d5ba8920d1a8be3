/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The derivative preview page in real headless Chromium: loaded from its bundle (dist/media)
 * with the same HTML and Content-Security-Policy as in VS Code, fed a `lossmith/derivative`
 * result computed by the language server's own code, in light, dark and high-contrast themes.
 * A stub stands in for `acquireVsCodeApi` and records what the page posts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as path from 'path';
import * as fs from 'fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { makeNonce, previewHtml } from '../../client/src/panels/preview-html';
import type { DerivativeParams, DerivativeResult } from '../../protocol/lsp';
import { DocumentStore } from '../../server/src/documents';
import { derivative } from '../../server/src/features/derivative';
import { artifactsDir, CHROMIUM, CHROMIUM_ARGS, ensurePackaged, requireFile, ROOT, staticServer, tempDir } from '../e2e/helpers';

const FOCAL = `# Focal loss
param gamma = 2.0 in [0, 5]
let pt = sum(y * p)
loss focal = -(1 - pt)^gamma * log(pt)
loss ce = -sum(y * log(p))
`;

/** A GAN file (task gan): the preview plots against D(G(z)) and differentiates by d_fake and d_real. */
const HINGE = `task gan
loss hinge_d = max(0, 1 - d_real) + max(0, 1 + d_fake)
loss ns_g = softplus(-d_fake)
loss ns_d = softplus(-d_real) + softplus(d_fake)
loss hinge_g = -d_fake
`;

const DICE = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'segmentation', 'dice.loss'), 'utf8');

/** What the server answers for this text (its own code, no process). */
function serverResult(params: Omit<DerivativeParams, 'uri'>, text = FOCAL): DerivativeResult {
  const uri = 'file:///work/focal.loss';
  const doc = TextDocument.create(uri, 'loss', 1, text);
  const store = new DocumentStore((u) => (u === uri ? doc : undefined));
  return derivative(store.get(uri)!, { uri, ...params });
}

/** Colours VS Code sets as CSS variables, for the three kinds of theme. */
const THEMES = {
  dark: {
    cls: 'vscode-dark',
    vars: { '--vscode-editor-background': '#1e1e1e', '--vscode-foreground': '#cccccc', '--vscode-editor-foreground': '#d4d4d4', '--vscode-editorWidget-border': '#454545', '--vscode-charts-blue': '#3794ff', '--vscode-charts-orange': '#d18616', '--vscode-charts-green': '#89d185', '--vscode-focusBorder': '#007fd4' },
  },
  light: {
    cls: 'vscode-light',
    vars: { '--vscode-editor-background': '#ffffff', '--vscode-foreground': '#616161', '--vscode-editor-foreground': '#000000', '--vscode-editorWidget-border': '#c8c8c8', '--vscode-charts-blue': '#1a85ff', '--vscode-charts-orange': '#d18616', '--vscode-charts-green': '#388a34', '--vscode-focusBorder': '#0090f1' },
  },
  'high-contrast': {
    cls: 'vscode-high-contrast',
    vars: { '--vscode-editor-background': '#000000', '--vscode-foreground': '#ffffff', '--vscode-editor-foreground': '#ffffff', '--vscode-editorWidget-border': '#6fc3df', '--vscode-charts-blue': '#3794ff', '--vscode-charts-orange': '#ffa500', '--vscode-charts-green': '#89d185', '--vscode-focusBorder': '#f38518', '--vscode-contrastActiveBorder': '#f38518' },
  },
} as const;

const STUB = `
window.__posted = [];
window.__state = undefined;
window.acquireVsCodeApi = () => ({
  postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
  getState: () => window.__state,
  setState: (s) => { window.__state = s; },
});
`;

interface Harness {
  page: Page;
  errors: string[];
  violations: string[];
}

async function openPage(ctx: BrowserContext, base: string, theme: keyof typeof THEMES, inlineProbe = false): Promise<Harness> {
  const page = await ctx.newPage();
  await page.setViewportSize({ width: 900, height: 1000 });
  const errors: string[] = [];
  const violations: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.exposeFunction('__violation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => (window as unknown as { __violation: (s: string) => void }).__violation(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(`${base}/${inlineProbe ? 'probe' : 'preview'}.html?theme=${theme}`);
  const t = THEMES[theme];
  await page.evaluate(({ cls, vars }) => {
    document.body.classList.add(cls);
    for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
  }, { cls: t.cls, vars: t.vars as Record<string, string> });
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  return { page, errors, violations };
}

/** Pixels the chart's canvas has painted (its curves drawn). */
function paintedPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    const c = document.querySelector('#chart canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) n++;
    return n;
  });
}

async function send(page: Page, msg: unknown): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), msg);
}

test('derivative preview page in headless Chromium', { timeout: 180_000 }, async (t) => {
  requireFile(CHROMIUM, 'install Debian\'s chromium (scripts/ci-e2e-setup.sh)');
  await ensurePackaged();
  const media = path.join(ROOT, 'dist', 'media');
  let nonce = '';
  const page = (probe: boolean) => (): string => {
    nonce = makeNonce((n) => crypto.randomBytes(n));
    const html = previewHtml({ cspSource: base, nonce, scriptUri: `${base}/preview.js`, styleUri: `${base}/preview.css`, katexStyleUri: `${base}/katex/katex.min.css` });
    // The stub loads first, with the nonce. The probe page adds an inline script and an inline
    // style without it: the CSP must block both.
    const withStub = html.replace('<script nonce', `<script nonce="${nonce}" src="${base}/stub.js"></script>\n<script nonce`);
    return probe
      ? withStub.replace('<script nonce', '<script>window.__inlineRan = true;</script>\n<script nonce').replace('</head>', '<style>body { outline: 9px solid red; }</style></head>')
      : withStub;
  };
  const server = await staticServer(media, { '/stub.js': STUB, '/preview.html': page(false), '/probe.html': page(true), '/favicon.ico': '' });
  const base = server.url;
  const ctx = await chromium.launchPersistentContext(tempDir('lossmith-chromium-'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const shots = artifactsDir();
  try {
    await t.test('CSP: inline script and inline style without the nonce are blocked, nothing else is', async () => {
      const { page, errors, violations } = await openPage(ctx, base, 'dark', true);
      assert.equal(await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan), undefined);
      assert.notEqual(await page.evaluate(() => getComputedStyle(document.body).outlineWidth), '9px');
      await send(page, { type: 'derivative', result: serverResult({ classes: 10 }), fileName: 'focal.loss', classes: 10, overrides: {} });
      await page.waitForSelector('#chart[data-ready="true"]');
      const unexpected = violations.filter((v) => !/^script-src(-elem)? inline$/.test(v) && !/^style-src(-elem)? inline$/.test(v));
      assert.deepEqual(unexpected, [], 'only the deliberate inline probes may violate the CSP');
      assert.ok(violations.some((v) => v.startsWith('script-src')), `the inline script was reported: ${violations.join(', ')}`);
      const realErrors = errors.filter((e) => !/Content Security Policy/.test(e));
      assert.deepEqual(realErrors, []);
      await page.close();
    });

    for (const theme of Object.keys(THEMES) as (keyof typeof THEMES)[]) {
      await t.test(`renders math and chart, reacts to a slider (${theme})`, async () => {
        const { page, errors, violations } = await openPage(ctx, base, theme);
        const first = serverResult({ classes: 10 });
        await send(page, { type: 'derivative', result: first, fileName: 'focal.loss', classes: 10, overrides: {} });
        await page.waitForSelector('#chart[data-ready="true"] canvas');
        await page.waitForSelector('#math[data-ready="true"] .katex');
        assert.equal(await page.locator('#math .katex-display').count(), 3, 'loss, d/dlogits, d/dp');
        // Formulas larger than KaTeX's default (readable fractions); a legend of names, no "pt: – loss: –".
        const size = await page.evaluate(() => parseFloat(getComputedStyle(document.querySelector('#math .katex-display > .katex')!).fontSize) / parseFloat(getComputedStyle(document.body).fontSize));
        assert.ok(size >= 1.3, String(size));
        await page.waitForSelector('#chart .uplot.legend-idle');
        assert.equal(await page.locator('#chart .u-legend .u-value').first().isVisible(), false);
        assert.doesNotMatch((await page.locator('#chart .u-legend').innerText()).replace(/\s+/g, ' '), /pt|[–-]\s*$|: –/);
        assert.equal(await page.textContent('#title'), 'focal.loss');
        assert.deepEqual(await page.locator('#loss-select option').allTextContents(), ['focal', 'ce']);
        // KaTeX's fonts loaded from the bundle.
        assert.ok(await page.evaluate(async () => (await document.fonts.ready, [...document.fonts].some((f) => f.family.includes('KaTeX') && f.status === 'loaded'))));
        // The canvas has drawn curves: count pixels of the loss colour.
        const drawn = await paintedPixels(page);
        assert.ok(drawn > 2000, `canvas has ${drawn} painted pixels`);

        // Keyboard: Tab reaches the slider (labelled), ArrowRight moves it and posts setParam.
        const slider = page.getByLabel('gamma', { exact: true });
        assert.equal(await slider.getAttribute('type'), 'range');
        await slider.focus();
        await page.keyboard.press('ArrowRight');
        const posted = await page.waitForFunction(() => {
          const p = (window as unknown as { __posted: { type: string; name?: string; value?: number }[] }).__posted;
          return p.find((m) => m.type === 'setParam');
        });
        const msg = (await posted.jsonValue()) as { name: string; value: number };
        assert.equal(msg.name, 'gamma');
        assert.equal(msg.value, 2.05);
        const outlineStyle = await slider.evaluate((el) => getComputedStyle(el).outlineStyle);
        assert.notEqual(outlineStyle, 'none', 'focused slider shows an outline');
        // The extension answers with the recomputed curve: the legend and summary change.
        const before = await page.textContent('#chart-summary');
        const second = serverResult({ classes: 10, params: { gamma: 5 } });
        await send(page, { type: 'derivative', result: second, fileName: 'focal.loss', classes: 10, overrides: { gamma: 5 } });
        await page.waitForFunction((b) => document.querySelector('#chart-summary')?.textContent !== b, before);
        assert.equal(await page.textContent('#param-gamma-value'), '5');
        assert.equal(await page.isEnabled('#reset'), true);
        // The chart is keyboard readable.
        await page.focus('#chart');
        await page.keyboard.press('End');
        await page.waitForFunction(() => /pt 0\.99/.test(document.querySelector('#chart-readout')?.textContent ?? ''));
        await page.focus('#param-gamma');
        await page.screenshot({ path: path.join(shots, `preview-${theme}.png`), fullPage: true });
        // The page remembers what it showed, for the serializer.
        const state = await page.evaluate(() => (window as unknown as { __state: unknown }).__state);
        assert.deepEqual(state, { v: 1, uri: second.uri, loss: 'focal', classes: 10, overrides: { gamma: 5 } });
        // A message of the wrong shape is ignored (and nothing breaks).
        await send(page, { type: 'derivative', result: { ...second, curve: { pt: 'x' } } });
        await send(page, '<img src=x onerror=alert(1)>');
        assert.equal(await page.textContent('#param-gamma-value'), '5');
        assert.deepEqual(errors, []);
        assert.deepEqual(violations, []);
        await page.close();
      });
    }

    await t.test('a GAN loss (task gan): derivatives by d_fake and d_real, the curve against D(G(z)) with its own labels', async () => {
      const { page, errors, violations } = await openPage(ctx, base, 'dark');
      const r = serverResult({ classes: 10, loss: 'ns_g' }, HINGE);
      assert.equal(r.loss, 'ns_g');
      assert.deepEqual(r.derivatives.map((d) => d.wrt), ['d_fake', 'd_real']);
      await send(page, { type: 'derivative', result: r, fileName: 'gan.loss', classes: 10, overrides: {} });
      await page.waitForSelector('#chart[data-ready="true"] canvas');
      await page.waitForSelector('#math[data-ready="true"] .katex');
      assert.equal(await page.locator('#math .katex-display').count(), 3, 'loss, d/d d_fake, d/d d_real');
      const math = (await page.locator('#math').innerText()).replace(/\s+/g, ' ');
      assert.match(math, /∂L\/∂d_fake/);
      assert.match(math, /∂L\/∂d_real/);
      assert.match((await page.textContent('#chart-summary')) ?? '', /^Plot of ns_g against the discriminator's probability on generated samples D\(G\(z\)\) = sigmoid\(d_fake\)\. D\(G\(z\)\) 0\.1/);
      const drawn = await paintedPixels(page);
      assert.ok(drawn > 2000, `canvas has ${drawn} painted pixels`);
      assert.equal(await page.isVisible('#classes'), false, 'no class count for a GAN loss');
      await page.focus('#chart');
      await page.keyboard.press('Home');
      await page.waitForFunction(() => /^D\(G\(z\)\) 0\.001, loss 6\.9\d*, ∂L\/∂d_fake -0\.99\d*/.test(document.querySelector('#chart-readout')?.textContent ?? ''));
      await page.screenshot({ path: path.join(shots, 'preview-gan.png'), fullPage: true });
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.close();
    });

    await t.test('a segmentation loss (task segmentation): derivatives by logits and p per pixel, the curve against pt at every pixel, foreground and background gradients', async () => {
      const { page, errors, violations } = await openPage(ctx, base, 'dark');
      const r = serverResult({ classes: 2, loss: 'dice' }, DICE);
      assert.equal(r.loss, 'dice');
      assert.deepEqual(r.derivatives.map((d) => d.wrt), ['logits', 'p']);
      await send(page, { type: 'derivative', result: r, fileName: 'dice.loss', classes: 2, overrides: {} });
      await page.waitForSelector('#chart[data-ready="true"] canvas');
      await page.waitForSelector('#math[data-ready="true"] .katex');
      assert.equal(await page.locator('#math .katex-display').count(), 3, 'loss, d/dz, d/dp');
      // Pixel sums are typeset with their index, the per-pixel inputs with both.
      const tex = await page.locator('#math annotation').allTextContents();
      assert.ok(tex.some((x) => x.includes('\\sum_{i} p_{ik}')), tex.join(' | '));
      assert.match((await page.textContent('#chart-summary')) ?? '', /^Plot of dice against pt, the true-class probability at every pixel of a 10×10 image with 5% foreground, 2 classes\. pt 0\.1/);
      const legend = (await page.locator('#chart .u-legend').innerText()).replace(/\s+/g, ' ');
      assert.match(legend, /∂L\/∂z \(true class, foreground pixel\)/);
      assert.match(legend, /∂L\/∂z \(true class, background pixel\)/);
      assert.ok((await paintedPixels(page)) > 2000);
      assert.equal(await page.isVisible('#classes'), true, 'the class count matters to a segmentation view');
      await page.screenshot({ path: path.join(shots, 'preview-segmentation.png'), fullPage: true });
      assert.deepEqual(errors, []);
      assert.deepEqual(violations, []);
      await page.close();
    });

    await t.test('classes control and loss picker post validated messages; theme changes redraw; server errors are shown', async () => {
      const { page } = await openPage(ctx, base, 'light');
      await send(page, { type: 'derivative', result: serverResult({ classes: 10 }), fileName: 'focal.loss', classes: 10, overrides: {} });
      await page.waitForSelector('#chart[data-ready="true"]');
      await page.fill('#classes', '100');
      await page.press('#classes', 'Enter');
      await page.selectOption('#loss-select', 'ce');
      const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
      assert.ok(posted.some((m) => JSON.stringify(m) === JSON.stringify({ type: 'setClasses', classes: 100 })), JSON.stringify(posted));
      assert.ok(posted.some((m) => JSON.stringify(m) === JSON.stringify({ type: 'selectLoss', loss: 'ce' })));
      // A theme change (VS Code swaps the body class) redraws the chart in the new colours.
      await page.evaluate(() => ((document.querySelector('#chart canvas') as HTMLCanvasElement & { __old?: boolean }).__old = true));
      await page.evaluate(({ cls, vars }) => {
        document.body.classList.replace('vscode-light', cls);
        for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      }, { cls: THEMES.dark.cls, vars: THEMES.dark.vars as Record<string, string> });
      await page.waitForFunction(() => {
        const c = document.querySelector('#chart[data-ready="true"] canvas') as (HTMLCanvasElement & { __old?: boolean }) | null;
        return c !== null && !c.__old;
      });
      await send(page, { type: 'status', state: 'serverError', message: 'The preview could not be computed: boom' });
      await page.waitForFunction(() => document.querySelector('#status')?.textContent?.includes('boom'));
      await page.close();
    });
  } finally {
    await ctx.close();
    await server.close();
  }
});
