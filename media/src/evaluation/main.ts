/**
 * The evaluation panel: live training curves (uPlot), the final table and the run's metadata of
 * a compare run, rebuilt from the run's events. Messages are validated (parseToRunWebview); text
 * goes through textContent only.
 */
import uPlot from 'uplot';
import { chartSvg, type SvgSeries } from '../shared/format';
import { $, autoSize, chartPng, el, fillTable, onThemeChange, post, setStatus, theme, verdictCell, withAlpha, type Cell } from '../shared/page';
import { parseToRunWebview } from '../shared/run-messages';
import { RunPage } from '../shared/run-page';
import { curves, emptyModel, lrHeader, lrLegend, lrTable, metadata, METRIC_LABEL, progress, progressDetail, reduce, table, tableCsv, tableHeader, tableLegend, type EvalModel, type Metric } from './model';

const els = {
  app: $('app'),
  title: $('title'),
  status: $('status'),
  progress: $<HTMLProgressElement>('progress'),
  meta: $('meta'),
  aug: $<HTMLSelectElement>('aug-select'),
  acc: $<HTMLSelectElement>('acc-select'),
  seeds: $<HTMLInputElement>('show-seeds'),
  chartLoss: $('chart-loss'),
  chartAcc: $('chart-acc'),
  capAcc: $('cap-acc'),
  results: $<HTMLTableElement>('results'),
  lrSection: $('lr-section'),
  lrTable: $<HTMLTableElement>('lr-table'),
  lrLegend: $('lr-legend'),
  legend: $('table-legend'),
  csv: $<HTMLButtonElement>('export-csv'),
  png: $<HTMLButtonElement>('export-png'),
  svg: $<HTMLButtonElement>('export-svg'),
};

const page = new RunPage<EvalModel>(emptyModel, reduce, () => render());
let model: EvalModel = page.model;
let runState: string | undefined;
const charts: { loss?: uPlot; acc?: uPlot } = {};
const saveView = (patch: Record<string, string | boolean>): void => page.saveView(patch);
const schedule = (): void => page.schedule();

/** The second chart's choices: validation or training accuracy; for a GAN run, its quick FD or the accuracy on generated digits; for a segmentation run, validation Dice or IoU. */
const ACC_CHOICES: Record<'classification' | 'gan' | 'segmentation', [Metric, string][]> = {
  classification: [
    ['valAcc', 'Validation'],
    ['trainAcc', 'Training'],
  ],
  gan: [
    ['fd', 'FD (quick)'],
    ['genAccuracy', 'On generated digits'],
  ],
  segmentation: [
    ['valDice', 'Validation Dice'],
    ['valIou', 'Validation IoU'],
  ],
};

function setText(id: string, text: string): void {
  const e = document.getElementById(id);
  if (e && e.textContent !== text) e.textContent = text;
}

function view(): { aug: string; acc: Metric; seeds: boolean } {
  const v = page.view;
  const choices = ACC_CHOICES[model.task].map(([m]) => m);
  return {
    aug: typeof v.aug === 'string' ? v.aug : '',
    acc: choices.includes(v.acc as Metric) ? (v.acc as Metric) : choices[0],
    seeds: v.seeds === true,
  };
}

const STATUS_TEXT: Record<string, string> = {
  waiting: 'Waiting for the run to start…',
  running: 'Running',
  done: 'Finished',
  cancelled: 'Cancelled',
  failed: 'Failed',
  interrupted: 'Interrupted (its process is gone)',
};

function render(): void {
  const v = view();
  els.title.textContent = `Evaluation: ${model.losses.filter((l) => l !== model.baseline).join(', ') || '…'} vs ${model.baseline}`;
  const status = runState === 'interrupted' && model.status === 'running' ? 'interrupted' : model.status;
  const p = progress(model);
  const pctText = `${Math.round(p * 100)}%`;
  const text = status === 'running' ? `Running: ${progressDetail(model)} finished (${pctText})` : model.message ?? STATUS_TEXT[status] ?? status;
  setStatus(els.status, text, status === 'failed' ? 'error' : status === 'running' || status === 'waiting' ? 'running' : 'done');
  els.app.dataset.status = status;
  els.progress.value = p;
  els.progress.hidden = status !== 'running' && status !== 'waiting';

  els.meta.replaceChildren(...metadata(model).map(([k, val]) => el('div', {}, el('dt', { text: k }), el('dd', { text: k === 'Status' ? status : val }))));

  // Augmentation picker.
  const augs = model.augmentations;
  if ([...els.aug.options].map((o) => o.value).join('\n') !== augs.join('\n')) {
    els.aug.replaceChildren(...augs.map((a) => el('option', { text: a, attrs: { value: a } })));
  }
  const aug = augs.includes(v.aug) ? v.aug : augs[0] ?? '';
  els.aug.value = aug;
  els.aug.disabled = augs.length < 2;
  const choices = ACC_CHOICES[model.task];
  // A GAN run's words: its metric is FD (lower is better), beside the accuracy on generated digits.
  const gan = model.task === 'gan';
  const seg = model.task === 'segmentation';
  setText('acc-label', gan || seg ? 'Metric' : 'Accuracy');
  setText('table-heading', gan ? 'FD and accuracy on generated digits' : seg ? 'Test Dice, IoU and HD95' : 'Test accuracy');
  setText(
    'table-hint',
    gan
      ? 'Difference to the baseline pair: mean over seeds of (pair − baseline) FD on the same seeds (negative: closer to the real digits); 95% confidence interval and p-value of a two-sided paired t-test, and the exact Wilcoxon signed-rank p-value.'
      : `Difference to the baseline: mean over seeds of (loss − baseline) test ${seg ? 'Dice' : 'accuracy'} on the same seeds; 95% confidence interval and p-value of a two-sided paired t-test, and the exact Wilcoxon signed-rank p-value.`,
  );
  if ([...els.acc.options].map((o) => o.value).join('\n') !== choices.map(([m]) => m).join('\n')) {
    els.acc.replaceChildren(...choices.map(([m, label]) => el('option', { text: label, attrs: { value: m } })));
  }
  els.acc.value = v.acc;
  els.seeds.checked = v.seeds;

  drawCharts(aug, v.acc, v.seeds);
  renderLrTable();
  renderTable();
  const hasTable = els.results.querySelectorAll('tbody tr').length > 0;
  els.csv.disabled = !hasTable;
  els.png.disabled = els.svg.disabled = !charts.loss;
  els.app.setAttribute('aria-busy', status === 'running' || status === 'waiting' ? 'true' : 'false');
}

function renderTable(): void {
  const rows = table(model);
  const provisional = rows.length > 0 && rows[0].provisional;
  const tuned = !!model.tuning;
  const cells: Cell[][] = rows.map((r) => [
    { text: r.loss, className: r.baseline ? 'baseline' : '' },
    r.augmentation,
    ...(tuned ? [{ text: r.cells.lr, className: 'num' }] : []),
    { text: r.cells.mean, className: 'num' },
    { text: r.cells.std, className: 'num' },
    { text: r.cells.n, className: 'num' },
    { text: r.cells.diff, className: 'num' },
    { text: r.cells.ci, className: 'num' },
    { text: r.cells.dz, className: 'num' },
    { text: r.cells.p, className: 'num', title: r.note ?? '' },
    { text: r.cells.pAdjusted, className: 'num' },
    verdictCell(r.verdict, r.cells.verdict, r.verdictTitle),
    { text: r.cells.wilcoxon, className: 'num' },
    { text: r.cells.time, className: 'num' },
    { text: r.cells.excluded, className: 'nowrap' },
    ...(model.task === 'gan' ? [{ text: r.cells.gen, className: 'num' }] : []),
    ...(model.task === 'segmentation' ? [{ text: r.cells.seg, className: 'num' }] : []),
  ]);
  const what = model.task === 'gan' ? 'FD (lower is better) and accuracy on generated digits' : model.task === 'segmentation' ? 'Test Dice (with IoU and HD95)' : 'Test accuracy';
  const caption = provisional ? `${what} of the finished trainings so far (provisional: the paired tests come when the run ends)` : `${what} over ${model.seeds.length} seed(s), per augmentation`;
  fillTable(els.results, caption, tableHeader(model), cells);
  els.results.dataset.final = provisional || rows.length === 0 ? 'false' : 'true';
  els.legend.textContent = tableLegend(model);
  els.legend.hidden = !els.legend.textContent;
}

/** Learning-rate tuning: the mean validation accuracy per grid rate, the chosen one in bold and in words. */
function renderLrTable(): void {
  const rows = lrTable(model);
  els.lrSection.hidden = !model.tuning;
  if (!model.tuning) return;
  const provisional = rows.some((r) => r.provisional);
  const cells: Cell[][] = rows.map((r) => [
    { text: r.loss, className: r.baseline ? 'baseline' : '' },
    r.augmentation,
    ...r.cells.map((c): Cell => ({ text: c.text, title: c.title, className: 'num', node: c.chosen ? el('strong', { text: c.text }) : undefined })),
    { text: r.chosen, className: r.note ? '' : 'num' },
  ]);
  const caption = provisional ? 'Learning-rate tuning so far: mean best validation accuracy per rate (the rates are chosen when tuning ends)' : 'Mean best validation accuracy per learning rate on the tuning seeds, and the rate each loss was tested at';
  fillTable(els.lrTable, caption, lrHeader(model), cells);
  els.lrTable.dataset.final = provisional ? 'false' : 'true';
  els.lrLegend.textContent = lrLegend(model);
}

function lossColor(i: number): string {
  const t = theme();
  return t.palette[i % t.palette.length];
}

function buildChart(container: HTMLElement, existing: uPlot | undefined, metric: Metric, aug: string, showSeeds: boolean): uPlot | undefined {
  const data = curves(model, aug, metric, showSeeds);
  if (!data.series.some((s) => s.y.some((v) => v !== null)) || !data.x.length) {
    existing?.destroy();
    container.replaceChildren(el('p', { className: 'hint', text: 'No epochs yet.' }));
    container.dataset.ready = 'false';
    return undefined;
  }
  const t = theme();
  const series: uPlot.Series[] = [{ label: 'Epoch' }];
  const columns: (number | null)[][] = [];
  const bands: uPlot.Band[] = [];
  for (const s of data.series) {
    const color = lossColor(s.colorIndex);
    if (s.kind === 'mean') {
      const idx = columns.length + 1;
      columns.push(s.y);
      series.push({ label: `${s.loss} (mean)`, stroke: color, width: 2, points: { show: true, size: 5 }, value: (_u, v) => (v === null ? '—' : v.toFixed(4)) });
      if (s.lo && s.hi && s.lo.some((x) => x !== null)) {
        columns.push(s.hi, s.lo);
        series.push({ label: `${s.loss} +1 s.d.`, stroke: withAlpha(color, 0.35), width: 1, points: { show: false } });
        series.push({ label: `${s.loss} −1 s.d.`, stroke: withAlpha(color, 0.35), width: 1, points: { show: false } });
        bands.push({ series: [idx + 1, idx + 2], fill: withAlpha(color, 0.15) });
      }
    } else {
      columns.push(s.y);
      series.push({ label: `${s.loss} seed ${s.seed}`, stroke: withAlpha(color, 0.55), width: 1, dash: [4, 3], points: { show: false } });
    }
  }
  existing?.destroy();
  container.replaceChildren();
  const width = Math.max(240, container.clientWidth || 480);
  const opts: uPlot.Options = {
    width,
    height: 280,
    series,
    bands,
    scales: { x: { time: false } },
    axes: [
      { label: 'Epoch', stroke: t.foreground, grid: { stroke: withAlpha(t.grid, 0.6) }, ticks: { stroke: t.grid }, incrs: [1, 2, 5, 10, 20, 50, 100] },
      { label: METRIC_LABEL[metric], stroke: t.foreground, grid: { stroke: withAlpha(t.grid, 0.6) }, ticks: { stroke: t.grid }, size: 60 },
    ],
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
  };
  const u = new uPlot(opts, [data.x, ...columns] as uPlot.AlignedData, container);
  container.append(legend(data.series.filter((s) => s.kind === 'mean'), showSeeds));
  autoSize(u, container, 280);
  container.dataset.ready = 'true';
  container.setAttribute('aria-label', `${METRIC_LABEL[metric]} per epoch, ${aug}: ${data.series.filter((s) => s.kind === 'mean').map((s) => `${s.loss} last ${s.y.filter((x) => x !== null).slice(-1)[0]?.toFixed(4) ?? '—'}`).join('; ')}`);
  return u;
}

/** A legend of the losses (uPlot's would list every band edge and seed). */
function legend(means: { loss: string; colorIndex: number; y: (number | null)[] }[], showSeeds: boolean): HTMLElement {
  const ul = el('ul', { className: 'legend', attrs: { 'aria-label': 'Legend' } });
  for (const s of means) {
    const sw = el('span', { className: 'swatch', attrs: { 'aria-hidden': 'true' } });
    sw.style.background = lossColor(s.colorIndex);
    const last = s.y.filter((v): v is number => v !== null).slice(-1)[0];
    ul.append(el('li', {}, sw, `${s.loss}${last === undefined ? '' : `: ${last.toFixed(4)} (last epoch)`}`));
  }
  if (showSeeds) ul.append(el('li', { className: 'hint', text: 'dashed: single seeds' }));
  return ul;
}

let drawnKey = '';
function drawCharts(aug: string, acc: Metric, showSeeds: boolean): void {
  const key = `${aug}|${acc}|${showSeeds}|${model.events}|${document.body.className}`;
  if (key === drawnKey) return;
  drawnKey = key;
  charts.loss = buildChart(els.chartLoss, charts.loss, 'trainLoss', aug, showSeeds);
  charts.acc = buildChart(els.chartAcc, charts.acc, acc, aug, showSeeds);
  els.capAcc.textContent = `${METRIC_LABEL[acc]} per epoch (${aug})`;
}

function svgFor(metric: Metric): string {
  const v = view();
  const aug = els.aug.value;
  const data = curves(model, aug, metric, v.seeds);
  const series: SvgSeries[] = data.series.map((s) => ({
    label: s.kind === 'mean' ? s.loss : `${s.loss} seed ${s.seed}`,
    color: lossColor(s.colorIndex),
    y: s.y,
    dash: s.kind === 'seed',
    band: s.kind === 'mean' && s.lo && s.hi ? { lo: s.lo, hi: s.hi } : undefined,
  }));
  const t = theme();
  return chartSvg({ title: `${METRIC_LABEL[metric]} (${aug}), mean ± 1 s.d. over seeds`, xLabel: 'Epoch', yLabel: METRIC_LABEL[metric], x: data.x, series, foreground: t.foreground, background: t.background });
}

function exportSvg(): void {
  // Both charts side by side in one SVG document.
  const a = svgFor('trainLoss');
  const b = svgFor(view().acc);
  const inner = (s: string): string => s.replace(/^<svg[^>]*>/, '').replace(/<\/svg>$/, '');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="440" viewBox="0 0 1600 440"><g>${inner(a)}</g><g transform="translate(800 0)">${inner(b)}</g></svg>`;
  post({ type: 'save', format: 'svg', name: `${model.runId}-curves.svg`, data: svg });
}

function exportPng(): void {
  if (!charts.loss) return;
  const t = theme();
  const imgs = [charts.loss, charts.acc].filter((u): u is uPlot => !!u);
  const canvas = document.createElement('canvas');
  const srcs = imgs.map((u) => u.ctx.canvas);
  canvas.width = srcs.reduce((a, c) => a + c.width, 0);
  canvas.height = Math.max(...srcs.map((c) => c.height));
  const ctx = canvas.getContext('2d');
  let data: string;
  if (ctx) {
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    let x = 0;
    for (const c of srcs) {
      ctx.drawImage(c, x, 0);
      x += c.width;
    }
    data = canvas.toDataURL('image/png');
  } else data = chartPng(imgs[0], t.background);
  post({ type: 'save', format: 'png', name: `${model.runId}-curves.png`, data });
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
      schedule();
      return;
    case 'notice':
      setStatus(els.status, msg.message, msg.level === 'error' ? 'error' : 'info');
      return;
    case 'losses':
      return;
  }
});

els.aug.addEventListener('change', () => {
  saveView({ aug: els.aug.value });
  render();
});
els.acc.addEventListener('change', () => {
  saveView({ acc: els.acc.value });
  render();
});
els.seeds.addEventListener('change', () => {
  saveView({ seeds: els.seeds.checked });
  render();
});
els.csv.addEventListener('click', () => post({ type: 'save', format: 'csv', name: `${model.runId}-results.csv`, data: tableCsv(model) }));
els.png.addEventListener('click', exportPng);
els.svg.addEventListener('click', exportSvg);
onThemeChange(() => {
  drawnKey = '';
  schedule();
});

render();
post({ type: 'ready' });
