/// <reference lib="dom" />
/**
 * Shared by the run panels' browser tests: the page loaded from its bundle (dist/media) with the
 * same HTML shell and Content-Security-Policy as in VS Code, a stub for `acquireVsCodeApi` that
 * records what the page posts and keeps its state, CSP violation and console error capture, and
 * the recorded events of real runs (test/fixtures/runs).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { BrowserContext, Page } from 'playwright-core';
import { contentSecurityPolicy, makeNonce } from '../../client/src/panels/preview-html';
import { pageHtml } from '../../media/src/shared/html';
import { ROOT } from '../e2e/helpers';

export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'runs');
/** Recordings of the panels' own tests: compare-verdicts, a run with Holm-adjusted p-values, verdicts and diverged seeds. */
export const MEDIA_FIXTURES = path.join(ROOT, 'test', 'media', 'fixtures');

/** Events of a recorded run, in file order (a torn last line is ignored, as the client does). */
export function fixtureEvents(name: string, dir = FIXTURES): Record<string, unknown>[] {
  const text = fs.readFileSync(path.join(dir, name, 'events.jsonl'), 'utf8');
  const lines = text.split('\n');
  lines.pop();
  return lines.filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function fixtureSummary(name: string, dir = FIXTURES): unknown {
  const f = path.join(dir, name, 'summary.json');
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null;
}

export const THEMES = {
  dark: {
    cls: 'vscode-dark',
    vars: { '--vscode-editor-background': '#1e1e1e', '--vscode-foreground': '#cccccc', '--vscode-editorWidget-border': '#454545', '--vscode-charts-foreground': '#cccccc', '--vscode-charts-blue': '#3794ff', '--vscode-charts-orange': '#d18616', '--vscode-charts-green': '#89d185', '--vscode-charts-purple': '#b180d7', '--vscode-charts-red': '#f14c4c', '--vscode-charts-yellow': '#cca700', '--vscode-focusBorder': '#007fd4' },
  },
  light: {
    cls: 'vscode-light',
    vars: { '--vscode-editor-background': '#ffffff', '--vscode-foreground': '#616161', '--vscode-editorWidget-border': '#c8c8c8', '--vscode-charts-foreground': '#616161', '--vscode-charts-blue': '#1a85ff', '--vscode-charts-orange': '#d18616', '--vscode-charts-green': '#388a34', '--vscode-charts-purple': '#652d90', '--vscode-charts-red': '#e51400', '--vscode-charts-yellow': '#bf8803', '--vscode-focusBorder': '#0090f1' },
  },
  'high-contrast': {
    cls: 'vscode-high-contrast',
    vars: { '--vscode-editor-background': '#000000', '--vscode-foreground': '#ffffff', '--vscode-editorWidget-border': '#6fc3df', '--vscode-contrastBorder': '#6fc3df', '--vscode-charts-foreground': '#ffffff', '--vscode-charts-blue': '#3794ff', '--vscode-charts-orange': '#d18616', '--vscode-charts-green': '#89d185', '--vscode-charts-purple': '#b180d7', '--vscode-charts-red': '#f48771', '--vscode-charts-yellow': '#ffd370', '--vscode-focusBorder': '#f38518' },
  },
} as const;

export const STUB = `
window.__posted = [];
window.__state = window.localStorage.getItem('__state') ? JSON.parse(window.localStorage.getItem('__state')) : undefined;
window.acquireVsCodeApi = () => ({
  postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
  getState: () => window.__state,
  setState: (s) => { window.__state = s; window.localStorage.setItem('__state', JSON.stringify(s)); },
});
`;

/** A page function for the static server: the panel's HTML with the stub loaded first. */
export function panelPage(base: () => string, script: 'evaluation' | 'evolution', body: string, probe = false): () => string {
  return () => {
    const nonce = makeNonce((n) => crypto.randomBytes(n));
    const b = base();
    const html = pageHtml({ csp: contentSecurityPolicy(b, nonce), nonce, title: script, scriptUri: `${b}/${script}.js`, styleUris: [`${b}/katex/katex.min.css`, `${b}/runs.css`], body });
    const withStub = html.replace('<script nonce', `<script nonce="${nonce}" src="${b}/stub.js"></script>\n<script nonce`);
    return probe ? withStub.replace('<script nonce', '<script>window.__inlineRan = true;</script>\n<script nonce').replace('</head>', '<style>body { outline: 9px solid red; }</style></head>') : withStub;
  };
}

export interface Harness {
  page: Page;
  errors: string[];
  violations: string[];
}

export async function openPanel(ctx: BrowserContext, url: string, theme: keyof typeof THEMES, size = { width: 1280, height: 1000 }): Promise<Harness> {
  const page = await ctx.newPage();
  await page.setViewportSize(size);
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
  await page.goto(url);
  const t = THEMES[theme];
  await page.evaluate(
    ({ cls, vars }) => {
      document.body.classList.add(cls);
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
    },
    { cls: t.cls, vars: t.vars as Record<string, string> },
  );
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  return { page, errors, violations };
}

export async function send(page: Page, msg: unknown): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), msg);
}

export async function posted(page: Page): Promise<{ type: string; [k: string]: unknown }[]> {
  return page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted);
}
