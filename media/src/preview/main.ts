/**
 * The derivative preview webview: renders the loss and its derivatives with KaTeX and the 1-D
 * view (loss and gradient against the true-class probability) with uPlot, and sends the
 * controls' changes back to the extension, which asks the language server again.
 *
 * Every message is validated (`parseToWebview`); nothing received is ever evaluated as code or
 * inserted as HTML: text goes through `textContent`, math through `katex.render` (which builds
 * DOM nodes and styles them through CSSOM, so the page needs no inline styles under the CSP).
 */
import katex from 'katex';
import { idleLegendHooks } from '../shared/legend';
import uPlot from 'uplot';
import { MAX_CLASSES, MIN_CLASSES, parseState, parseToWebview, type FromWebview, type PreviewState, type ToWebview } from './messages';
import { formatNumber, nearestIndex, previewModel, roundToStep, type ChartModel, type PreviewModel, type SliderModel } from './view-model';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
let state: PreviewState = parseState(vscode.getState()) ?? { v: 1 };

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

const els = {
  app: $<HTMLElement>('app'),
  title: $<HTMLElement>('title'),
  lossSelect: $<HTMLSelectElement>('loss-select'),
  reveal: $<HTMLButtonElement>('reveal'),
  status: $<HTMLElement>('status'),
  math: $<HTMLElement>('math'),
  classes: $<HTMLInputElement>('classes'),
  classesRange: $<HTMLInputElement>('classes-range'),
  params: $<HTMLElement>('params'),
  reset: $<HTMLButtonElement>('reset'),
  chart: $<HTMLElement>('chart'),
  summary: $<HTMLElement>('chart-summary'),
  readout: $<HTMLElement>('chart-readout'),
};

function post(msg: FromWebview): void {
  vscode.postMessage(msg);
}

function saveState(patch: Partial<PreviewState>): void {
  state = { ...state, ...patch, v: 1 };
  vscode.setState(state);
}

// ---------------------------------------------------------------- math

function renderMath(model: PreviewModel): void {
  const frag = document.createDocumentFragment();
  for (const m of model.math) {
    const row = document.createElement('div');
    row.className = 'math-row';
    const label = document.createElement('span');
    label.className = 'math-label';
    label.textContent = m.label + ' =';
    const body = document.createElement('div');
    body.className = 'math-body';
    body.setAttribute('role', 'group');
    body.setAttribute('aria-label', m.description);
    try {
      katex.render(m.latex, body, { displayMode: true, throwOnError: false, output: 'htmlAndMathml', trust: false, strict: 'ignore' });
    } catch {
      body.textContent = m.text;
    }
    body.title = m.text;
    row.append(label, body);
    frag.append(row);
  }
  els.math.replaceChildren(frag);
  els.math.dataset.ready = model.math.length > 0 ? 'true' : 'false';
}

// ---------------------------------------------------------------- controls

let sliders: SliderModel[] = [];

function renderLosses(model: PreviewModel): void {
  const current = [...els.lossSelect.options].map((o) => o.value);
  if (current.join('\n') !== model.losses.join('\n')) {
    els.lossSelect.replaceChildren(
      ...model.losses.map((name) => {
        const o = document.createElement('option');
        o.value = name;
        o.textContent = name;
        return o;
      }),
    );
  }
  els.lossSelect.value = model.loss;
  els.lossSelect.disabled = model.losses.length < 2;
  els.reveal.disabled = !model.loss;
}

function renderSliders(model: PreviewModel): void {
  const sameShape =
    sliders.length === model.sliders.length && sliders.every((s, i) => s.name === model.sliders[i].name && s.min === model.sliders[i].min && s.max === model.sliders[i].max);
  sliders = model.sliders;
  if (sameShape && els.params.childElementCount === sliders.length) {
    // Update in place, so a slider being dragged keeps its focus.
    sliders.forEach((s) => {
      const input = document.getElementById(`param-${s.name}`) as HTMLInputElement | null;
      const out = document.getElementById(`param-${s.name}-value`);
      if (input && document.activeElement !== input) input.value = String(s.value);
      if (out) out.textContent = formatNumber(s.value) + (s.overridden ? '' : ' (file)');
    });
  } else {
    els.params.replaceChildren(...sliders.map(sliderRow));
  }
  els.reset.disabled = !sliders.some((s) => s.overridden);
}

function sliderRow(s: SliderModel): HTMLElement {
  const row = document.createElement('div');
  row.className = 'control';
  const label = document.createElement('label');
  label.htmlFor = `param-${s.name}`;
  label.textContent = s.name;
  const input = document.createElement('input');
  input.type = 'range';
  input.id = `param-${s.name}`;
  input.min = String(s.min);
  input.max = String(s.max);
  input.step = String(s.step);
  input.value = String(s.value);
  input.dataset.param = s.name;
  const out = document.createElement('output');
  out.id = `param-${s.name}-value`;
  out.htmlFor.add(input.id);
  out.textContent = formatNumber(s.value) + (s.overridden ? '' : ' (file)');
  const range = document.createElement('span');
  range.className = 'range-hint';
  range.textContent = s.bounded ? `[${formatNumber(s.min)}, ${formatNumber(s.max)}]` : `no range in file`;
  input.setAttribute('aria-describedby', `param-${s.name}-hint`);
  range.id = `param-${s.name}-hint`;
  input.addEventListener('input', () => {
    const v = roundToStep(Number(input.value), s.step);
    if (!Number.isFinite(v)) return;
    out.textContent = formatNumber(v);
    saveState({ overrides: { ...(state.overrides ?? {}), [s.name]: v } });
    post({ type: 'setParam', name: s.name, value: v });
  });
  row.append(label, input, out, range);
  return row;
}

function setClasses(raw: number): void {
  const c = Math.round(raw);
  if (!Number.isFinite(c) || c < MIN_CLASSES || c > MAX_CLASSES) return;
  els.classes.value = String(c);
  els.classesRange.value = String(Math.min(Number(els.classesRange.max), c));
  saveState({ classes: c });
  post({ type: 'setClasses', classes: c });
}

els.classes.addEventListener('change', () => setClasses(Number(els.classes.value)));
els.classesRange.addEventListener('input', () => setClasses(Number(els.classesRange.value)));
els.lossSelect.addEventListener('change', () => {
  const loss = els.lossSelect.value;
  saveState({ loss });
  post({ type: 'selectLoss', loss });
});
els.reveal.addEventListener('click', () => {
  if (els.lossSelect.value) post({ type: 'revealLoss', loss: els.lossSelect.value });
});
els.reset.addEventListener('click', () => {
  saveState({ overrides: {} });
  post({ type: 'resetParams' });
});

// ---------------------------------------------------------------- chart

let plot: uPlot | undefined;
let chartModel: ChartModel | null = null;
let cursorIndex = -1;
let plotKey = '';

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

function themeKind(): 'light' | 'dark' | 'hc' {
  const c = document.body.classList;
  if (c.contains('vscode-high-contrast') || c.contains('vscode-high-contrast-light')) return 'hc';
  return c.contains('vscode-light') ? 'light' : 'dark';
}

function plotOptions(width: number, c: ChartModel): uPlot.Options {
  const kind = themeKind();
  const fg = cssVar('--vscode-editor-foreground', kind === 'light' ? '#333333' : '#cccccc');
  const grid = cssVar('--vscode-editorWidget-border', kind === 'light' ? '#d0d0d0' : '#454545');
  const blue = cssVar('--vscode-charts-blue', '#3794ff');
  const orange = cssVar('--vscode-charts-orange', '#d18616');
  const green = cssVar('--vscode-charts-green', '#89d185');
  const family = cssVar('--vscode-font-family', 'system-ui, sans-serif');
  const font = `12px ${family}`;
  const w = kind === 'hc' ? 3 : 2;
  const axisCommon = { stroke: fg, font, labelFont: font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width,
    height: Math.max(220, Math.min(380, Math.round(width * 0.55))),
    scales: {
      x: { time: false, range: [0, 1] },
      // Read the current model: the plot is reused (setData) across results.
      loss: { range: () => chartModel?.lossRange ?? c.lossRange },
      grad: { range: () => chartModel?.gradRange ?? c.gradRange },
    },
    axes: [
      { ...axisCommon, label: c.labels.xLong, values: (_u, ticks) => ticks.map((t) => formatNumber(t)) },
      { ...axisCommon, scale: 'loss', label: 'loss L', values: (_u, ticks) => ticks.map((t) => formatNumber(t)) },
      { ...axisCommon, scale: 'grad', side: 1, label: c.labels.grad, grid: { show: false }, values: (_u, ticks) => ticks.map((t) => formatNumber(t)) },
    ],
    series: [
      { label: c.labels.x, value: (_u, v) => formatNumber(v) },
      { label: 'loss', scale: 'loss', stroke: blue, width: w, value: (_u, v) => formatNumber(v), points: { show: false } },
      { label: c.labels.gradTrue, scale: 'grad', stroke: orange, width: w, show: c.hasGradTrue, value: (_u, v) => formatNumber(v), points: { show: false } },
      { label: c.labels.gradOther, scale: 'grad', stroke: green, width: w - 0.5, dash: [6, 4], show: c.hasGradOther, value: (_u, v) => formatNumber(v), points: { show: false } },
    ],
    cursor: { drag: { x: false, y: false, setScale: false } },
    legend: { live: true },
    hooks: {
      ...idleLegendHooks(),
      draw: [
        () => {
          els.chart.dataset.ready = 'true';
        },
      ],
    },
  };
}

function chartWidth(): number {
  return Math.max(260, Math.floor(els.chart.getBoundingClientRect().width || document.body.clientWidth - 32));
}

function renderChart(c: ChartModel | null, summary: string): void {
  chartModel = c;
  els.summary.textContent = summary;
  if (!c) {
    plot?.destroy();
    plot = undefined;
    plotKey = '';
    els.chart.dataset.ready = 'false';
    els.chart.replaceChildren();
    return;
  }
  const key = `${themeKind()}|${c.hasGradTrue}|${c.hasGradOther}|${c.labels.x}`;
  if (plot && key === plotKey) {
    plot.setData(c.data as uPlot.AlignedData, true);
  } else {
    plot?.destroy();
    plotKey = key;
    plot = new uPlot(plotOptions(chartWidth(), c), c.data as uPlot.AlignedData, els.chart);
  }
  if (cursorIndex >= 0) moveCursor(cursorIndex);
}

function moveCursor(i: number): void {
  if (!plot || !chartModel) return;
  const [pt, loss, gt, go] = chartModel.data;
  const idx = Math.max(0, Math.min(pt.length - 1, i));
  cursorIndex = idx;
  const y = loss[idx];
  plot.setCursor({ left: plot.valToPos(pt[idx], 'x'), top: y === null ? 0 : plot.valToPos(y, 'loss') });
  const L = chartModel.labels;
  const parts = [`${L.x} ${formatNumber(pt[idx])}`, `loss ${formatNumber(loss[idx])}`];
  if (chartModel.hasGradTrue) parts.push(L.x === 'pt' ? `∂L/∂z true ${formatNumber(gt[idx])}` : `${L.gradTrue} ${formatNumber(gt[idx])}`);
  if (chartModel.hasGradOther) parts.push(L.x === 'pt' ? `∂L/∂z other ${formatNumber(go[idx])}` : `${L.gradOther} ${formatNumber(go[idx])}`);
  els.readout.textContent = parts.join(', ');
}

els.chart.addEventListener('keydown', (e) => {
  if (!chartModel) return;
  const n = chartModel.data[0].length;
  const big = Math.max(1, Math.round(n / 20));
  let i = cursorIndex < 0 ? nearestIndex(chartModel.data[0], 0.5) : cursorIndex;
  switch (e.key) {
    case 'ArrowLeft':
    case 'ArrowDown':
      i -= e.shiftKey ? big : 1;
      break;
    case 'ArrowRight':
    case 'ArrowUp':
      i += e.shiftKey ? big : 1;
      break;
    case 'PageDown':
      i -= big;
      break;
    case 'PageUp':
      i += big;
      break;
    case 'Home':
      i = 0;
      break;
    case 'End':
      i = n - 1;
      break;
    default:
      return;
  }
  e.preventDefault();
  moveCursor(i);
});
els.chart.addEventListener('focus', () => {
  if (chartModel && cursorIndex < 0) moveCursor(nearestIndex(chartModel.data[0], 0.5));
});

new ResizeObserver(() => {
  if (plot && chartModel) {
    const w = chartWidth();
    if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: Math.max(220, Math.min(380, Math.round(w * 0.55))) });
  }
}).observe(els.chart);

// VS Code changes the body's class when the colour theme changes: redraw with the new colours.
new MutationObserver(() => {
  if (chartModel) {
    plotKey = '';
    renderChart(chartModel, els.summary.textContent ?? '');
  }
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

// ---------------------------------------------------------------- messages

function setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
  els.status.textContent = text;
  els.status.dataset.kind = kind;
  els.status.hidden = text === '';
}

function render(msg: ToWebview): void {
  if (msg.type === 'status') {
    setStatus(msg.message, msg.state === 'serverError' ? 'error' : 'info');
    els.app.setAttribute('aria-busy', msg.state === 'starting' ? 'true' : 'false');
    return;
  }
  const model = previewModel(msg.result, msg.fileName, msg.classes, msg.overrides);
  els.title.textContent = model.title;
  renderLosses(model);
  renderMath(model);
  renderSliders(model);
  if (document.activeElement !== els.classes) els.classes.value = String(model.classes);
  if (document.activeElement !== els.classesRange) els.classesRange.value = String(Math.min(Number(els.classesRange.max), model.classes));
  // The class count means nothing to a GAN loss's view (task gan: its x axis is D(G(z))); a
  // segmentation loss's view (x: pt at every pixel) has classes.
  const classControl = document.getElementById('classes-control');
  if (classControl) classControl.hidden = model.chart !== null && model.chart.labels.x !== 'pt';
  renderChart(model.chart, model.summary);
  setStatus(model.error ?? '', model.error ? 'error' : 'info');
  els.app.setAttribute('aria-busy', 'false');
  els.app.dataset.loss = model.loss;
  saveState({ uri: msg.result.uri, loss: model.loss || undefined, classes: msg.classes, overrides: msg.overrides });
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const msg = parseToWebview(e.data);
  if (!msg) {
    console.warn('lossmith preview: ignored a message of unknown shape');
    return;
  }
  render(msg);
});

if (state.classes) els.classes.value = String(state.classes);
post({ type: 'ready' });
