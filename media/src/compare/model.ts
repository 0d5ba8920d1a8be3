/**
 * Runs side by side (pure; tested): several compare runs, each reduced by the evaluation panel's
 * own model (media/src/evaluation/model.ts), overlaid on one chart (per run and loss, the mean
 * over seeds of a metric per epoch) and joined into one table (each run's rows, led by the run).
 */
import { curves, emptyModel, reduce, table, TABLE_HEADER, type EvalModel, type Metric, type TableRow } from '../evaluation/model';
import type { WireEvent } from '../shared/validate';

export interface ComparedRun {
  runId: string;
  /** The run's name as the extension gives it ("focal vs ce · Dec 6, 14:53:32"). */
  title: string;
  model: EvalModel;
}

export function comparedRun(runId: string, title: string, events: readonly WireEvent[] = []): ComparedRun {
  const model = emptyModel(runId);
  for (const e of events) reduce(model, e);
  return { runId, title, model };
}

export interface OverlaySeries {
  /** "A · focal": the run's letter and the loss. */
  label: string;
  run: number;
  loss: string;
  baseline: boolean;
  /** The loss's colour: 0 for a baseline, then one per loss name over all the runs (the same loss, the same colour). */
  colorIndex: number;
  y: (number | null)[];
}

/** The line style of each run (A solid, B dashed, ...): colour says the loss, the line says the run. */
export const RUN_STYLES = ['solid', 'dashed', 'dotted', 'dash-dot'] as const;
export const runStyle = (run: number): (typeof RUN_STYLES)[number] => RUN_STYLES[run % RUN_STYLES.length];

/** A, B, C…: short names of the runs in the legend and the table. */
export const runLetter = (i: number): string => (i < 26 ? String.fromCharCode(65 + i) : `R${i + 1}`);

/**
 * The augmentations to offer: those of every run, in first-seen order (a run without the chosen
 * one adds no curve).
 */
export function augmentations(runs: readonly ComparedRun[]): string[] {
  return [...new Set(runs.flatMap((r) => r.model.augmentations))];
}

/** One chart: epochs 1..max over the runs, the mean curve of each run's each loss. */
export function overlay(runs: readonly ComparedRun[], augmentation: string, metric: Metric): { x: number[]; series: OverlaySeries[] } {
  const per = runs.map((r) => curves(r.model, augmentation, metric, false));
  const n = Math.max(0, ...per.map((c) => c.x.length));
  const x = Array.from({ length: n }, (_, i) => i + 1);
  const series: OverlaySeries[] = [];
  const names: string[] = [];
  per.forEach((c, run) => {
    for (const s of c.series) {
      if (s.kind !== 'mean') continue;
      const baseline = s.loss === runs[run].model.baseline;
      if (!baseline && !names.includes(s.loss)) names.push(s.loss);
      series.push({ label: `${runLetter(run)} · ${s.loss}`, run, loss: s.loss, baseline, colorIndex: baseline ? 0 : 1 + names.indexOf(s.loss), y: x.map((_, i) => s.y[i] ?? null) });
    }
  });
  return { x, series };
}

export const JOINED_HEADER = ['Run', ...TABLE_HEADER];

export interface JoinedRow {
  run: number;
  row: TableRow;
  cells: string[];
}

/** Every run's table (final or provisional), each row led by its run's letter. */
export function joinedTable(runs: readonly ComparedRun[]): JoinedRow[] {
  return runs.flatMap((r, run) =>
    table(r.model).map((row) => {
      const c = row.cells;
      return { run, row, cells: [runLetter(run), row.loss, row.augmentation, c.mean, c.std, c.n, c.diff, c.ci, c.dz, c.p, c.pAdjusted, c.verdict, c.wilcoxon, c.time, c.excluded] };
    }),
  );
}

/** One line per run for the key above the chart: "A: focal vs ce · Dec 6, 14:53:32 — mlp, mnist, 3 seeds × 5 epochs". */
export function runKey(runs: readonly ComparedRun[]): string[] {
  return runs.map((r, i) => {
    const m = r.model;
    const what = [m.model, m.dataset, m.seeds.length ? `${m.seeds.length} seed${m.seeds.length === 1 ? '' : 's'} × ${m.epochs} epoch${m.epochs === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ');
    return `${runLetter(i)} (${runStyle(i)}): ${r.title}${what ? ` — ${what}` : ''}`;
  });
}

/** The joined table as CSV (quoted where needed). */
export function joinedCsv(runs: readonly ComparedRun[]): string {
  const q = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [JOINED_HEADER, ...joinedTable(runs).map((r) => [runs[r.run].title, ...r.cells.slice(1)])].map((row) => row.map(q).join(',')).join('\n') + '\n';
}
