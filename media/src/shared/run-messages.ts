/**
 * Messages between the extension and the run panels (evaluation and evolution), with their
 * validators, used on both sides. Pure (no DOM, no vscode).
 *
 * The extension forwards the run's events (events.jsonl) in order: `events` carries the index of
 * its first event, so the page can tell a continuation from a replay (after a reload it asks
 * again with `ready` and gets everything from 0). The page reduces events to its view model
 * defensively: each field is checked where it is read (see the view models).
 */
import { isEvent, isFiniteNum, isInt, isName, isObj, isRunId, isStr, type WireEvent } from './validate';

export const EVALUATION_VIEW_TYPE = 'lossmith.evaluationRun';
export const EVOLUTION_VIEW_TYPE = 'lossmith.evolutionRun';
/** Several compare runs side by side (media/src/compare). */
export const COMPARE_VIEW_TYPE = 'lossmith.compareRuns';
/** At most this many runs side by side. */
export const MAX_COMPARED_RUNS = 12;

/** At most this many events per message (a long evolution is sent in chunks). */
export const MAX_EVENTS_PER_MESSAGE = 5000;

export interface LossDescription {
  /** The loss expression as in the run's events (the key). */
  expr: string;
  latex: string;
  /** Loss against the true-class probability (10 classes), or null when it cannot be drawn. */
  curve: { pt: number[]; loss: (number | null)[] } | null;
  error?: string;
}

export type ToRunWebview =
  | { type: 'events'; runId: string; from: number; events: WireEvent[] }
  | { type: 'runState'; runId: string; status: string; summary: unknown }
  | { type: 'losses'; items: LossDescription[] }
  | { type: 'notice'; level: 'info' | 'error'; message: string }
  /** The runs of a side-by-side panel and their names (their events follow, per run). */
  | { type: 'compareRuns'; runs: { runId: string; title: string }[] };

export type SaveFormat = 'csv' | 'png' | 'svg';

export type FromRunWebview =
  | { type: 'ready' }
  | { type: 'save'; format: SaveFormat; name: string; data: string }
  | { type: 'describe'; exprs: string[] }
  | { type: 'lossAction'; action: 'open' | 'evaluate' | 'export'; expr: string; id: number; file?: string };

/** What the page keeps with setState (and the serializer hands back after a reload). */
export interface RunPanelState {
  v: 1;
  runId: string;
  /** Panel-specific view options (validated by the page). */
  view?: Record<string, string | number | boolean>;
}

const isNumArray = (x: unknown, nullable: boolean, max = 2000): boolean =>
  Array.isArray(x) && x.length <= max && x.every((v) => (nullable && v === null) || isFiniteNum(v));

function isLossDescription(x: unknown): x is LossDescription {
  if (!isObj(x) || !isStr(x.expr, 5000) || !isStr(x.latex, 50_000)) return false;
  if (x.error !== undefined && !isStr(x.error, 5000)) return false;
  if (x.curve === null) return true;
  return isObj(x.curve) && isNumArray(x.curve.pt, false) && isNumArray(x.curve.loss, true) && (x.curve.loss as unknown[]).length === (x.curve.pt as unknown[]).length;
}

export function parseToRunWebview(x: unknown): ToRunWebview | undefined {
  if (!isObj(x)) return undefined;
  switch (x.type) {
    case 'events':
      if (!isRunId(x.runId) || !isInt(x.from, 0, 1e9) || !Array.isArray(x.events) || x.events.length > MAX_EVENTS_PER_MESSAGE) return undefined;
      return { type: 'events', runId: x.runId, from: x.from, events: x.events.filter(isEvent) };
    case 'runState':
      if (!isRunId(x.runId) || !isStr(x.status, 40)) return undefined;
      return { type: 'runState', runId: x.runId, status: x.status, summary: isObj(x.summary) ? x.summary : null };
    case 'losses':
      if (!Array.isArray(x.items) || x.items.length > 200) return undefined;
      return { type: 'losses', items: x.items.filter(isLossDescription) };
    case 'notice':
      if ((x.level !== 'info' && x.level !== 'error') || !isStr(x.message, 10_000)) return undefined;
      return { type: 'notice', level: x.level, message: x.message };
    case 'compareRuns':
      if (!Array.isArray(x.runs) || x.runs.length > MAX_COMPARED_RUNS || !x.runs.every((r) => isObj(r) && isRunId(r.runId) && isStr(r.title, 300))) return undefined;
      return { type: 'compareRuns', runs: (x.runs as { runId: string; title: string }[]).map((r) => ({ runId: r.runId, title: r.title })) };
    default:
      return undefined;
  }
}

const SAVE_FORMATS: readonly SaveFormat[] = ['csv', 'png', 'svg'];

export function parseFromRunWebview(x: unknown): FromRunWebview | undefined {
  if (!isObj(x)) return undefined;
  switch (x.type) {
    case 'ready':
      return { type: 'ready' };
    case 'save':
      if (!SAVE_FORMATS.includes(x.format as SaveFormat) || !isStr(x.name, 200) || !/^[\w.-]+$/.test(x.name) || !isStr(x.data, 20_000_000)) return undefined;
      return { type: 'save', format: x.format as SaveFormat, name: x.name, data: x.data };
    case 'describe':
      if (!Array.isArray(x.exprs) || x.exprs.length > 200 || !x.exprs.every((e) => isStr(e, 5000))) return undefined;
      return { type: 'describe', exprs: x.exprs as string[] };
    case 'lossAction':
      if ((x.action !== 'open' && x.action !== 'evaluate' && x.action !== 'export') || !isStr(x.expr, 5000) || !isInt(x.id, -1, 1e9)) return undefined;
      if (x.file !== undefined && !(isStr(x.file, 200) && /^[\w.-]+\.loss$/.test(x.file))) return undefined;
      return { type: 'lossAction', action: x.action, expr: x.expr, id: x.id, ...(x.file !== undefined ? { file: x.file as string } : {}) };
    default:
      return undefined;
  }
}

export function parseRunPanelState(x: unknown): RunPanelState | undefined {
  if (!isObj(x) || x.v !== 1 || !isRunId(x.runId)) return undefined;
  const out: RunPanelState = { v: 1, runId: x.runId };
  if (isObj(x.view)) {
    const view: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(x.view).slice(0, 50)) {
      if (!isName(k)) continue;
      if ((typeof v === 'string' && v.length <= 200) || typeof v === 'boolean' || isFiniteNum(v)) view[k] = v as string | number | boolean;
    }
    out.view = view;
  }
  return out;
}
