/**
 * The evolution panel: fitness per step, a scatter of every evaluated candidate, the top-k with
 * each loss rendered by KaTeX and its 1-D curve, rejection statistics and the cross-augmentation
 * table, rebuilt from the run's events. Messages are validated; text goes through textContent.
 */
import katex from 'katex';
import { idleLegendHooks } from '../shared/legend';
import uPlot from 'uplot';
import { chartSvg, pct, pp } from '../shared/format';
import { $, autoSize, chartPng, el, fillTable, onThemeChange, post, setStatus, theme, verdictBadge, verdictCell, withAlpha, type Cell } from '../shared/page';
import { parseToRunWebview, type LossDescription } from '../shared/run-messages';
import { RunPage } from '../shared/run-page';
import { applySummary, emptyEvoModel, evoMetadata, evoProgress, evoProgressText, finalLegend, finalTable, FINAL_HEADER, fitnessSeries, reduceEvo, rejections, scatter, topCsv, topK, transferFraction, transferLegend, transferProgress, transferTable, type EvoModel, type ScatterAxis } from './model';

const TOP_K = 10;
const els = {
  app: $('app'),
  title: $('title'),
  status: $('status'),
  progress: $<HTMLProgressElement>('progress'),
  meta: $('meta'),
  search: $<HTMLSelectElement>('search-select'),
  axis: $<HTMLSelectElement>('axis-select'),
  fitness: $('chart-fitness'),
  scatter: $('chart-scatter'),
  capScatter: $('cap-scatter'),
  top: $<HTMLTableElement>('top'),
  final: $<HTMLTableElement>('final'),
  finalSection: $('final-section'),
  finalLegend: $('final-legend'),
  transfer: $<HTMLTableElement>('transfer'),
  transferSection: $('transfer-section'),
  transferStatus: $('transfer-status'),
  transferLegend: $('transfer-legend'),
  cross: $<HTMLTableElement>('cross'),
  crossSection: $('cross-section'),
  rejections: $<HTMLTableElement>('rejections'),
  csv: $<HTMLButtonElement>('export-csv'),
  png: $<HTMLButtonElement>('export-png'),
  svg: $<HTMLButtonElement>('export-svg'),
};

const page = new RunPage<EvoModel>(emptyEvoModel, reduceEvo, () => render(), (m) => applySummary(m, summary));
let model: EvoModel = page.model;
let runState: string | undefined;
let summary: unknown = null;
const described = new Map<string, LossDescription>();
const asked = new Set<string>();
const charts: { fitness?: uPlot; scatter?: uPlot } = {};
const saveView = (patch: Record<string, string | number>): void => page.saveView(patch);
const schedule = (): void => page.schedule();

function view(): { search: number; axis: ScatterAxis } {
  const v = page.view;
  return { search: typeof v.search === 'number' ? v.search : -1, axis: v.axis === 'size' ? 'size' : 'time' };
}

function currentSearch(): number {
  const v = view().search;
  if (model.searches.some((s) => s.index === v)) return v;
  return model.searches.length ? model.searches[model.searches.length - 1].index : 0;
}

function render(): void {
  const status = runState === 'interrupted' && model.status === 'running' ? 'interrupted' : model.status;
  const p = evoProgress(model);
  const ladder = transferProgress(model);
  els.title.textContent = `Evolution ${model.runId}`;
  const text =
    status === 'running'
      ? ladder
        ? `Running: ${ladder}`
        : `Running: ${evoProgressText(model)}`
      : model.message ?? ({ waiting: 'Waiting for the run to start…', done: 'Finished', interrupted: 'Interrupted (its process is gone): resume it from the Runs view' } as Record<string, string>)[status] ?? status;
  setStatus(els.status, text, status === 'failed' ? 'error' : status === 'running' ? 'running' : 'done');
  els.app.dataset.status = status;
  // The ladder's trainings have no announced total: an indeterminate bar while they run.
  // The ladder's share once it announced its trainings; indeterminate in runs recorded before it did.
  const share = transferFraction(model);
  if (status === 'running' && ladder && share === null) els.progress.removeAttribute('value');
  else els.progress.value = status === 'running' && ladder ? share! : p;
  els.progress.hidden = status !== 'running' && status !== 'waiting';
  els.meta.replaceChildren(...evoMetadata(model).map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: k === 'Status' ? status : v }))));

  const opts = model.searches.map((s) => `${s.index}\u0000${s.augment}`);
  if ([...els.search.options].map((o) => `${o.value}\u0000${o.textContent}`).join('\n') !== opts.join('\n')) {
    els.search.replaceChildren(...model.searches.map((s) => el('option', { text: s.augment, attrs: { value: String(s.index) } })));
  }
  const si = currentSearch();
  els.search.value = String(si);
  els.search.disabled = model.searches.length < 2;
  els.axis.value = view().axis;

  drawCharts(si, view().axis);
  renderTop();
  renderFinal();
  renderTransfer(status === 'running' ? ladder : null);
  renderCross();
  renderRejections();
  els.csv.disabled = topK(model, 1).length === 0;
  els.png.disabled = els.svg.disabled = !charts.fitness;
  els.app.setAttribute('aria-busy', status === 'running' || status === 'waiting' ? 'true' : 'false');
}

let drawnKey = '';
function drawCharts(si: number, axis: ScatterAxis): void {
  const key = `${si}|${axis}|${model.events}|${document.body.className}`;
  if (key === drawnKey) return;
  drawnKey = key;
  const t = theme();
  const axisStyle = (label: string, size?: number): uPlot.Axis => ({ label, stroke: t.foreground, grid: { stroke: withAlpha(t.grid, 0.6) }, ticks: { stroke: t.grid }, ...(size ? { size } : {}) });
  const fmt = (_u: uPlot, v: number | null): string => (v === null ? '—' : pct(v));

  const f = fitnessSeries(model, si);
  charts.fitness?.destroy();
  charts.fitness = undefined;
  els.fitness.replaceChildren();
  if (f.x.length) {
    const pal = t.palette;
    charts.fitness = new uPlot(
      {
        width: Math.max(240, els.fitness.clientWidth || 480),
        height: 280,
        scales: { x: { time: false } },
        series: [
          { label: 'Children evaluated' },
          { label: 'best', stroke: pal[1], width: 2, value: fmt },
          { label: 'mean', stroke: pal[2], width: 1.5, value: fmt },
          { label: 'median', stroke: pal[3], width: 1.5, value: fmt },
          { label: 'best ever', stroke: pal[4], width: 1, dash: [2, 2], value: fmt },
          { label: 'cross-entropy', stroke: pal[0], width: 1.5, dash: [6, 4], points: { show: false }, value: fmt },
        ],
        axes: [axisStyle('Children evaluated'), axisStyle('Fitness', 60)],
        cursor: { drag: { x: false, y: false } },
        hooks: idleLegendHooks(),
      },
      [f.x, f.best, f.mean, f.median, f.bestEver, f.baseline] as uPlot.AlignedData,
      els.fitness,
    );
    autoSize(charts.fitness, els.fitness, 280);
    const last = f.x.length - 1;
    els.fitness.setAttribute('aria-label', `Population fitness after ${f.x[last]} children: best ${pct(f.best[last])}, mean ${pct(f.mean[last])}, median ${pct(f.median[last])}, cross-entropy ${pct(f.baseline[last])}`);
    els.fitness.dataset.ready = 'true';
  } else els.fitness.append(el('p', { className: 'hint', text: 'No generation yet.' }));

  const sc = scatter(model, si, axis);
  charts.scatter?.destroy();
  charts.scatter = undefined;
  els.scatter.replaceChildren();
  if (sc.x.length) {
    const noLine = (): null => null;
    const base = model.searches.find((s) => s.index === si)?.baselineFitness ?? null;
    charts.scatter = new uPlot(
      {
        width: Math.max(240, els.scatter.clientWidth || 480),
        height: 280,
        scales: { x: { time: false } },
        series: [
          { label: axis === 'time' ? 'Time (s)' : 'Size' },
          { label: 'full stage', stroke: t.palette[1], fill: t.palette[1], paths: noLine, points: { show: true, size: 7, fill: t.palette[1] }, value: fmt },
          { label: 'quick stage only', stroke: t.palette[6], paths: noLine, points: { show: true, size: 5, fill: withAlpha(t.palette[6], 0.3) }, value: fmt },
          { label: 'cross-entropy', stroke: t.palette[0], width: 1.5, dash: [6, 4], points: { show: false }, value: fmt },
        ],
        axes: [axisStyle(axis === 'time' ? 'Time since start (s)' : 'Expression size'), axisStyle('Fitness', 60)],
        cursor: { drag: { x: false, y: false } },
        hooks: idleLegendHooks(),
      },
      [sc.x, sc.full, sc.quick, sc.x.map(() => base)] as uPlot.AlignedData,
      els.scatter,
    );
    autoSize(charts.scatter, els.scatter, 280);
    els.scatter.setAttribute('aria-label', `${sc.x.length} evaluated candidates; best full-stage fitness ${pct(Math.max(...sc.full.filter((v): v is number => v !== null), -Infinity))}`);
    els.scatter.dataset.ready = 'true';
  } else els.scatter.append(el('p', { className: 'hint', text: 'No candidate evaluated yet.' }));
  els.capScatter.textContent = `Every evaluated candidate against ${axis === 'time' ? 'time' : 'expression size'}`;
}

/** A small SVG of the loss against pt (built with DOM calls: no markup from data). */
function miniCurve(d: LossDescription | undefined): Node {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 180 60');
  svg.setAttribute('class', 'mini-chart');
  svg.setAttribute('role', 'img');
  if (!d?.curve) {
    svg.setAttribute('aria-label', d?.error ?? 'curve not available');
    return svg;
  }
  const { pt, loss } = d.curve;
  const ys = loss.filter((v): v is number => v !== null);
  if (!ys.length) return svg;
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const sy = (v: number): number => 56 - ((v - lo) / (hi - lo || 1)) * 52;
  let dstr = '';
  let pen = false;
  pt.forEach((x, i) => {
    const v = loss[i];
    if (v === null) {
      pen = false;
      return;
    }
    dstr += `${pen ? 'L' : 'M'}${(x * 176 + 2).toFixed(1)},${sy(v).toFixed(1)}`;
    pen = true;
  });
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', dstr);
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', theme().palette[1]);
  path.setAttribute('stroke-width', '1.5');
  svg.append(path);
  svg.setAttribute('aria-label', `Loss against the true-class probability, from ${loss.find((v) => v !== null)?.toPrecision(3)} at pt ${pt[0].toFixed(2)} to ${[...loss].reverse().find((v) => v !== null)?.toPrecision(3)} at pt ${pt[pt.length - 1].toFixed(2)}`);
  return svg;
}

function mathNode(expr: string): Node {
  const d = described.get(expr);
  const box = el('div', { className: 'math' });
  box.title = expr;
  if (d && d.latex) {
    try {
      // Display style: fractions at full size in the table's one-line formulas.
      katex.render(`\\displaystyle ${d.latex}`, box, { displayMode: false, throwOnError: false, output: 'htmlAndMathml', trust: false, strict: 'ignore' });
      return box;
    } catch {
      // fall through to text
    }
  }
  box.append(el('code', { className: 'loss-text', text: expr }));
  return box;
}

function fileFor(augment: string, id: number): string | undefined {
  if (!summary || typeof summary !== 'object') return undefined;
  const best = (summary as { best?: unknown }).best;
  if (!Array.isArray(best)) return undefined;
  for (const b of best) {
    if (b && typeof b === 'object' && (b as { id?: unknown }).id === id && (b as { augment?: unknown }).augment === augment) {
      const f = (b as { file?: unknown }).file;
      if (typeof f === 'string' && /^[\w.-]+\.loss$/.test(f)) return f;
    }
  }
  return undefined;
}

function renderTop(): void {
  const top = topK(model, TOP_K, currentSearch());
  const wanted = [...top.map((t) => t.loss), ...model.final.map((f) => f.loss), ...(model.transfer?.rows.map((r) => r.loss) ?? []), ...(model.crossTable?.rows.map((r) => r.loss) ?? [])];
  const missing = [...new Set(wanted)].filter((x) => x && !asked.has(x));
  if (missing.length) {
    missing.forEach((x) => asked.add(x));
    post({ type: 'describe', exprs: missing });
  }
  const rows: Cell[][] = top.map((t) => {
    const base = model.searches.find((s) => s.index === t.search)?.baselineFitness ?? null;
    const file = fileFor(t.augment, t.id);
    const actions = el('div', { className: 'row-actions' });
    const btn = (label: string, action: 'open' | 'evaluate' | 'export', aria: string): HTMLButtonElement => {
      const b = el('button', { text: label, attrs: { type: 'button', 'aria-label': `${aria} candidate ${t.id}` } });
      b.addEventListener('click', () => post({ type: 'lossAction', action, expr: t.loss, id: t.id, ...(file ? { file } : {}) }));
      return b;
    };
    actions.append(btn('Open as .loss', 'open', 'Open as a .loss file:'), btn('Evaluate vs CE', 'evaluate', 'Evaluate against cross-entropy:'), btn('Export', 'export', 'Export:'));
    return [
      String(t.rank),
      t.augment,
      `#${t.id}`,
      { text: pct(t.fitness), className: 'num' },
      { text: base === null ? '—' : pp(t.fitness - base), className: 'num', title: 'difference to cross-entropy on the same surrogate and seed (one seed: no test)' },
      { text: '', node: mathNode(t.loss) },
      { text: '', node: miniCurve(described.get(t.loss)) },
      { text: '', node: actions },
    ];
  });
  const aug = model.searches.find((x) => x.index === currentSearch())?.augment ?? '';
  fillTable(els.top, `The ${top.length} best candidates of the search under ${aug} by full-stage fitness${model.status === 'running' ? ' so far' : ''}`, ['Rank', 'Search', 'Candidate', 'Fitness', 'vs CE', 'Loss', 'Loss against pt', 'Actions'], rows);
  els.top.dataset.rows = String(top.length);
}

function renderFinal(): void {
  els.finalSection.hidden = model.final.length === 0;
  if (!model.final.length) return;
  fillTable(
    els.final,
    'Test accuracy difference to cross-entropy with other seeds (paired t-test)',
    FINAL_HEADER,
    finalTable(model).map((r) => [
      { text: '', node: mathNode(r.raw.loss) },
      r.raw.augment,
      r.raw.id === null ? '—' : `#${r.raw.id}`,
      { text: r.cells.seeds, className: 'num' },
      { text: r.cells.diff, className: 'num' },
      { text: r.cells.ci, className: 'num' },
      { text: r.cells.dz, className: 'num' },
      { text: r.cells.p, className: 'num' },
      { text: r.cells.pAdjusted, className: 'num' },
      verdictCell(r.verdict, r.cells.verdict, r.title),
      { text: r.cells.excluded, className: 'nowrap' },
    ]),
  );
  els.finalLegend.textContent = finalLegend(model);
}

/** The transfer ladder: a row per loss, a verdict per step and augmentation with the difference, p (Holm), the tuned rates and the seeds left out. */
function renderTransfer(live: string | null): void {
  const tt = transferTable(model);
  els.transferSection.hidden = !tt && !live;
  els.transferStatus.hidden = !live;
  els.transferStatus.textContent = live ? `${live[0].toUpperCase()}${live.slice(1)}; the verdicts come when the run ends.` : '';
  els.transfer.hidden = !tt;
  els.transferLegend.textContent = transferLegend(model);
  if (!tt) return;
  fillTable(
    els.transfer,
    'Test accuracy difference to cross-entropy at each step of the transfer ladder, on fresh seeds (paired t-test)',
    ['Candidate', 'Loss', ...tt.columns.map((c) => c.header)],
    tt.rows.map((r) => [
      r.label,
      { text: '', node: mathNode(r.loss) },
      ...r.cells.map((c): Cell => {
        if (!c) return { text: '—', title: 'not trained at this step' };
        const lines = [c.diff, c.lr, c.excluded].filter(Boolean).map((line) => el('span', { className: 'cell-line', text: line }));
        const box = el('div', { className: 'transfer-cell' }, c.verdict ? verdictBadge(c.verdict) : el('span', { text: '—' }), ...lines);
        return { text: '', title: c.title, node: box };
      }),
    ]),
  );
}

function renderCross(): void {
  const ct = model.crossTable;
  els.crossSection.hidden = !ct;
  if (!ct) return;
  fillTable(
    els.cross,
    'Fitness of each search\u2019s best losses under every augmentation',
    ['Loss', 'Found under', 'Rank', ...ct.augments],
    ct.rows.map((r) => [{ text: '', node: mathNode(r.loss) }, r.from, r.rank ? String(r.rank) : '—', ...ct.augments.map((a) => ({ text: pct(r.fitness[a]), className: 'num' }))]),
  );
}

function renderRejections(): void {
  // One search per augmentation: the counts of the search shown, like the charts above.
  const several = model.searches.length > 1;
  const si = currentSearch();
  const rs = rejections(model, several ? si : undefined);
  const aug = model.searches.find((s) => s.index === si)?.augment;
  fillTable(
    els.rejections,
    `Rejected before training${several ? ` in the search under ${aug ?? `#${si}`}` : ''}, by reason (${rs.reduce((a, r) => a + r.count, 0)} in all)`,
    ['Reason', 'Count', 'Share', 'Mean screening time'],
    rs.map((r) => {
      const meter = el('meter', { attrs: { min: '0', max: '1', value: String(r.share), 'aria-label': `${r.label}: ${Math.round(r.share * 100)}%` } });
      const share = el('span', {}, meter, ` ${Math.round(r.share * 100)}%`);
      return [{ text: r.label, title: r.reason }, { text: String(r.count), className: 'num' }, { text: '', node: share }, { text: `${r.meanMs.toFixed(0)} ms`, className: 'num' }];
    }),
  );
}

function exportSvg(): void {
  const si = currentSearch();
  const f = fitnessSeries(model, si);
  const t = theme();
  const svg = chartSvg({
    title: `Fitness per step (${model.searches.find((s) => s.index === si)?.augment ?? ''})`,
    xLabel: 'Children evaluated',
    yLabel: 'Fitness (validation accuracy)',
    x: f.x,
    series: [
      { label: 'best', color: t.palette[1], y: f.best },
      { label: 'mean', color: t.palette[2], y: f.mean },
      { label: 'median', color: t.palette[3], y: f.median },
      { label: 'cross-entropy', color: t.palette[0], y: f.baseline, dash: true },
    ],
    foreground: t.foreground,
    background: t.background,
  });
  post({ type: 'save', format: 'svg', name: `${model.runId}-fitness.svg`, data: svg });
}

window.addEventListener('message', (e: MessageEvent) => {
  const msg = parseToRunWebview(e.data);
  if (!msg) return;
  switch (msg.type) {
    case 'events':
      page.onEvents(msg.runId, msg.from, msg.events);
      model = page.model;
      return;
    case 'runState':
      runState = msg.status;
      summary = msg.summary;
      applySummary(model, summary);
      drawnKey = '';
      schedule();
      return;
    case 'losses':
      for (const d of msg.items) described.set(d.expr, d);
      schedule();
      return;
    case 'notice':
      setStatus(els.status, msg.message, msg.level === 'error' ? 'error' : 'info');
      return;
  }
});

els.search.addEventListener('change', () => {
  saveView({ search: Number(els.search.value) });
  render();
});
els.axis.addEventListener('change', () => {
  saveView({ axis: els.axis.value });
  render();
});
els.csv.addEventListener('click', () => post({ type: 'save', format: 'csv', name: `${model.runId}-top.csv`, data: topCsv(model, TOP_K) }));
els.png.addEventListener('click', () => {
  if (charts.fitness) post({ type: 'save', format: 'png', name: `${model.runId}-fitness.png`, data: chartPng(charts.fitness, theme().background) });
});
els.svg.addEventListener('click', exportSvg);
onThemeChange(() => {
  drawnKey = '';
  schedule();
});

render();
post({ type: 'ready' });
