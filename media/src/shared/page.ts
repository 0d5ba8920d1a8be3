/**
 * DOM helpers shared by the run panels' pages: the VS Code API, element lookup, theme colours
 * (from VS Code's CSS variables, with fallbacks outside VS Code), tables built with textContent
 * only, and chart export (PNG from the uPlot canvas, SVG from the data via `chartSvg`).
 */
import type uPlot from 'uplot';
import type { FromRunWebview } from './run-messages';
import { VERDICT_WORDS, type Verdict } from './verdict';

export interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

let api: VsCodeApi | undefined;
export function vscodeApi(): VsCodeApi {
  api ??= acquireVsCodeApi();
  return api;
}

export function post(msg: FromRunWebview): void {
  vscodeApi().postMessage(msg);
}

export function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string; attrs?: Record<string, string> } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className) e.className = props.className;
  if (props.text !== undefined) e.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

const css = (name: string, fallback: string): string => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

export interface Theme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  palette: string[];
}

/** Colours from the current VS Code theme. Series colours are the theme's chart colours. */
export function theme(): Theme {
  return {
    foreground: css('--vscode-foreground', '#cccccc'),
    muted: css('--vscode-descriptionForeground', '#9d9d9d'),
    grid: css('--vscode-editorWidget-border', '#454545'),
    background: css('--vscode-editor-background', '#1e1e1e'),
    palette: [
      css('--vscode-charts-foreground', '#cccccc'),
      css('--vscode-charts-blue', '#3794ff'),
      css('--vscode-charts-orange', '#d18616'),
      css('--vscode-charts-green', '#89d185'),
      css('--vscode-charts-purple', '#b180d7'),
      css('--vscode-charts-red', '#f14c4c'),
      css('--vscode-charts-yellow', '#cca700'),
    ],
  };
}

/** A colour with an alpha (for bands); works for #rgb/#rrggbb, else returns the colour. */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const h = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Call `fn` when VS Code switches theme (it changes the body's class and style). */
export function onThemeChange(fn: () => void): void {
  new MutationObserver(fn).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind', 'style'] });
}

export type Cell = string | { text: string; title?: string; className?: string; node?: Node };

/** Replace `table`'s content: a caption, a header row (th scope=col), rows (first cell th scope=row). */
export function fillTable(table: HTMLTableElement, caption: string, header: string[], rows: Cell[][]): void {
  const cap = el('caption', { text: caption });
  const thead = el('thead', {}, el('tr', {}, ...header.map((h) => el('th', { text: h, attrs: { scope: 'col' } }))));
  const tbody = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    r.forEach((c, i) => {
      const cell = i === 0 ? el('th', { attrs: { scope: 'row' } }) : el('td');
      const spec = typeof c === 'string' ? { text: c } : c;
      if (spec.node) cell.append(spec.node);
      else cell.textContent = spec.text;
      if (spec.title) cell.title = spec.title;
      if (spec.className) cell.className = spec.className;
      tr.append(cell);
    });
    tbody.append(tr);
  }
  table.replaceChildren(cap, thead, tbody);
}

/** The verdict's word in a badge (coloured by the theme, run-panel.css; the word carries the meaning). */
export function verdictBadge(verdict: Verdict): HTMLElement {
  return el('span', { className: `verdict verdict-${verdict}`, text: VERDICT_WORDS[verdict] });
}

/** A table cell with the verdict's word in a badge, or its text ('—') when there is none. */
export function verdictCell(verdict: Verdict | null, text: string, title: string): Cell {
  return verdict ? { text, title, node: verdictBadge(verdict) } : { text, title };
}

/** The chart's canvas as a PNG data URL, on the theme's background. */
export function chartPng(u: uPlot, background: string): string {
  const src = u.ctx.canvas;
  const out = document.createElement('canvas');
  out.width = src.width;
  out.height = src.height;
  const ctx = out.getContext('2d');
  if (!ctx) return src.toDataURL('image/png');
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(src, 0, 0);
  return out.toDataURL('image/png');
}

/** Keep a uPlot chart as wide as its container. */
export function autoSize(u: uPlot, container: HTMLElement, height: number): ResizeObserver {
  const ro = new ResizeObserver(() => {
    const w = Math.max(240, Math.floor(container.clientWidth));
    if (Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
  });
  ro.observe(container);
  return ro;
}

/** Announce a message in the page's status line (role=status). */
export function setStatus(status: HTMLElement, text: string, kind: 'info' | 'running' | 'error' | 'done' = 'info'): void {
  status.textContent = text;
  status.dataset.kind = kind;
}
