/**
 * Runs side by side: several compare runs' curves overlaid on one chart and their tables joined
 * (the pure parts: ./model.ts). The extension sends the runs' names (compareRuns), then each
 * run's events from the start; messages are validated (parseToRunWebview), text goes through
 * textContent only.
 */
import uPlot from 'uplot';
import { METRIC_LABEL, type Metric } from '../evaluation/model';
import { idleLegendHooks } from '../shared/legend';
import { $, autoSize, el, fillTable, onThemeChange, post, setStatus, theme, verdictCell, withAlpha, type Cell } from '../shared/page';
import { parseToRunWebview } from '../shared/run-messages';
import { reduce, emptyModel } from '../evaluation/model';
import type { WireEvent } from '../shared/validate';
import { augmentations, comparedRun, joinedCsv, JOINED_HEADER, joinedTable, overlay, runKey, runLetter, runStyle, type ComparedRun } from './model';

const els = {
  app: $('app'),
  status: $('status'),
  key: $('runs-key'),
  aug: $<HTMLSelectElement>('aug-select'),
  metric: $<HTMLSelectElement>('metric-select'),
  chart: $('chart-overlay'),
  cap: $('cap-overlay'),
  table: $<HTMLTableElement>('joined'),
  csv: $<HTMLButtonElement>('export-csv'),
};

let runs: ComparedRun[] = [];
/** Events received per run (a batch continues at this count, or starts again at 0). */
const received = new Map<string, number>();
let chart: uPlot | undefined;
let scheduled = false;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

function onEvents(runId: string, from: number, events: WireEvent[]): void {
  const r = runs.find((x) => x.runId === runId);
  if (!r) return;
  if (from === 0) r.model = emptyModel(runId);
  else if (from !== received.get(runId)) return;
  for (const e of events) reduce(r.model, e);
  received.set(runId, from + events.length);
  schedule();
}

/** A loss's colour (palette[0], the foreground, for the baselines, as in the evaluation panel). */
const lossColor = (i: number): string => {
  const p = theme().palette;
  return i === 0 ? p[0] : p[1 + ((i - 1) % (p.length - 1))];
};
const DASHES: Record<string, number[] | undefined> = { solid: undefined, dashed: [8, 4], dotted: [2, 3], 'dash-dot': [10, 3, 2, 3] };

function render(): void {
  const waiting = runs.some((r) => !received.get(r.runId));
  setStatus(els.status, runs.length ? (waiting ? `Reading ${runs.length} runs…` : `${runs.length} runs`) : 'No runs', waiting ? 'running' : 'done');
  els.app.setAttribute('aria-busy', waiting ? 'true' : 'false');
  els.key.replaceChildren(
    ...runKey(runs).map((line) => el('li', { text: line })),
  );
  const augs = augmentations(runs);
  if ([...els.aug.options].map((o) => o.value).join('\n') !== augs.join('\n')) els.aug.replaceChildren(...augs.map((a) => el('option', { text: a, attrs: { value: a } })));
  els.aug.disabled = augs.length < 2;
  drawChart(els.aug.value || augs[0] || 'none', (els.metric.value as Metric) || 'valAcc');
  const rows = joinedTable(runs);
  const cells: Cell[][] = rows.map((r) => [
    { text: r.cells[0], title: runs[r.run].title },
    { text: r.cells[1], className: r.row.baseline ? 'baseline' : '' },
    r.cells[2],
    ...r.cells.slice(3, 11).map((text): Cell => ({ text, className: 'num' })),
    verdictCell(r.row.verdict, r.cells[11], r.row.verdictTitle),
    ...r.cells.slice(12, 14).map((text): Cell => ({ text, className: 'num' })),
    { text: r.cells[14], className: 'nowrap' },
  ]);
  fillTable(els.table, `Test accuracy of ${runs.length} runs`, JOINED_HEADER, cells);
  els.table.dataset.rows = String(rows.length);
  els.csv.disabled = rows.length === 0;
}

function drawChart(aug: string, metric: Metric): void {
  const data = overlay(runs, aug, metric);
  chart?.destroy();
  chart = undefined;
  els.chart.replaceChildren();
  els.cap.textContent = `${METRIC_LABEL[metric]} per epoch (${aug})`;
  if (!data.x.length || !data.series.some((s) => s.y.some((v) => v !== null))) {
    els.chart.append(el('p', { className: 'hint', text: 'These runs recorded no epochs under this augmentation.' }));
    els.chart.dataset.ready = 'false';
    return;
  }
  const t = theme();
  const fmt = (_u: uPlot, v: number | null): string => (v === null ? '—' : v.toFixed(4));
  const axis = (label: string, size?: number): uPlot.Axis => ({ label, stroke: t.foreground, grid: { stroke: withAlpha(t.grid, 0.6) }, ticks: { stroke: t.grid }, ...(size ? { size } : {}) });
  chart = new uPlot(
    {
      width: Math.max(240, els.chart.clientWidth || 480),
      height: 300,
      scales: { x: { time: false } },
      series: [{ label: 'Epoch' }, ...data.series.map((s): uPlot.Series => ({ label: s.label, stroke: lossColor(s.colorIndex), width: 2, dash: DASHES[runStyle(s.run)], points: { show: true, size: 4 }, value: fmt }))],
      axes: [{ ...axis('Epoch'), incrs: [1, 2, 5, 10, 20, 50, 100] }, axis(METRIC_LABEL[metric], 60)],
      cursor: { drag: { x: false, y: false } },
      hooks: idleLegendHooks(),
    },
    [data.x, ...data.series.map((s) => s.y)] as uPlot.AlignedData,
    els.chart,
  );
  autoSize(chart, els.chart, 300);
  els.chart.setAttribute('aria-label', `${METRIC_LABEL[metric]} per epoch, ${aug}: ${data.series.map((s) => `${s.label} last ${s.y.filter((v) => v !== null).slice(-1)[0]?.toFixed(4) ?? '—'}`).join('; ')}`);
  els.chart.dataset.ready = 'true';
}

window.addEventListener('message', (e: MessageEvent) => {
  const msg = parseToRunWebview(e.data);
  if (!msg) return;
  if (msg.type === 'compareRuns') {
    runs = msg.runs.map((r) => comparedRun(r.runId, r.title));
    received.clear();
    schedule();
  } else if (msg.type === 'events') onEvents(msg.runId, msg.from, msg.events);
  else if (msg.type === 'notice') setStatus(els.status, msg.message, msg.level === 'error' ? 'error' : 'info');
});
els.aug.addEventListener('change', render);
els.metric.addEventListener('change', render);
els.csv.addEventListener('click', () => post({ type: 'save', format: 'csv', name: `runs-${runs.map((r, i) => runLetter(i)).join('')}.csv`, data: joinedCsv(runs) }));
onThemeChange(schedule);
render();
post({ type: 'ready' });
