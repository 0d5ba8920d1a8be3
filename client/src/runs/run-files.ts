/**
 * Reading runs from disk for the extension (no vscode import): the run store's own reader
 * (engine/src/run-store.ts: fs and path only, no tfjs) for listing and status, plus what the
 * tree shows (a label from config.json, progress from the events).
 */
import * as fs from 'fs';
import * as path from 'path';
import { listRuns, readEvents, readSummary, runsDir, type RunInfo } from '../../../store/run-store';
import type { WireEvent } from '../../../media/src/shared/validate';
import { emptyModel, progress, progressDetail, reduce, verdictSummary } from '../../../media/src/evaluation/model';
import type { VerdictSummary } from '../../../media/src/shared/verdict';
import { applySummary, emptyEvoModel, evoProgress, evoProgressText, finalVerdicts, reduceEvo, transferProgress } from '../../../media/src/evolution/model';
import { computeLine, computeShort, type ComputeInfo } from '../../../media/src/shared/compute';
import { isRunId } from '../../../media/src/shared/validate';
import { compareLabel } from './cli-args';
import { recordedRun, type RecordedRun } from './estimate';

export { listRuns, readSummary, runsDir, type RunInfo };

/** Events of a run; an unreadable file gives none (the tree shows the run store's error). */
export function runEvents(dir: string): WireEvent[] {
  try {
    return readEvents(dir) as WireEvent[];
  } catch {
    return [];
  }
}

/** The folder of run `id` in one of the workspace folders. */
export function findRunDir(workspaceFolders: readonly string[], id: string): string | undefined {
  if (!isRunId(id)) return undefined;
  for (const ws of workspaceFolders) {
    const d = path.join(runsDir(ws), id);
    if (fs.existsSync(path.join(d, 'events.jsonl'))) return d;
  }
  return undefined;
}

export interface RunProgress {
  progress: number;
  detail: string;
  /** The engine and device in a few words ('torch cuda:0', 'wasm (CPU)'), once reported. */
  backend: string | null;
  /** ... in full ('torch 2.11.0 · cuda:0 NVIDIA H100 80GB HBM3 · bf16 · CUDA 13.0'). */
  compute: string | null;
  /** Whether it trains on a GPU (null: not reported yet). */
  gpu: boolean | null;
  /**
   * A finished run's verdicts: a compare run's comparisons ('1 better, 1 inconclusive' and one line
   * each), an evolution's final re-training against CE (from its summary); null before them or in
   * runs recorded before verdicts.
   */
  verdicts: VerdictSummary | null;
}

function computeProgress(list: readonly ComputeInfo[], fallback: string | null = null): Pick<RunProgress, 'backend' | 'compute' | 'gpu'> {
  const c = list[0];
  if (!c) return { backend: fallback, compute: fallback, gpu: null };
  return { backend: computeShort(c), compute: list.map(computeLine).join('; '), gpu: list.some((x) => x.device === 'gpu') };
}

/** Progress of a run, fed its events incrementally (the live runs' tails call it per batch). */
export class ProgressTracker {
  private readonly evo = emptyEvoModel('x');
  private readonly cmp = emptyModel('x');
  private best = -1;

  constructor(readonly kind: string) {}

  /** What only an evolution's summary.json says (its compute), for finished runs. */
  summary(s: unknown): void {
    if (this.kind === 'evolve') applySummary(this.evo, s);
  }

  push(events: readonly WireEvent[]): void {
    for (const e of events) {
      if (this.kind === 'evolve') {
        reduceEvo(this.evo, e);
        if (e.type === 'candidate-evaluated' && e.stage === 2 && typeof e.fitness === 'number' && e.fitness > this.best) this.best = e.fitness;
      } else reduce(this.cmp, e);
    }
  }

  get(): RunProgress {
    if (this.kind === 'evolve') {
      // While the transfer ladder runs, its trainings (the search is over).
      const ladder = this.evo.status === 'running' ? transferProgress(this.evo) : null;
      return { progress: evoProgress(this.evo), detail: `${evoProgressText(this.evo)}${this.best >= 0 ? `, best ${(this.best * 100).toFixed(2)}%` : ''}${ladder ? `; ${ladder}` : ''}`, ...computeProgress(this.evo.compute, this.evo.backend), verdicts: finalVerdicts(this.evo) };
    }
    const m = this.cmp;
    return { progress: progress(m), detail: progressDetail(m), ...computeProgress(m.backends), verdicts: verdictSummary(m) };
  }
}

/** Progress and a one-line detail of a run from its events (and its summary, when it has one). */
export function progressOf(kind: string, events: readonly WireEvent[], summary?: unknown): RunProgress {
  const t = new ProgressTracker(kind);
  t.push(events);
  if (summary) t.summary(summary);
  return t.get();
}

/** A label for a run: its losses vs the baseline (compare), or its augmentations (evolve). */
export function runLabel(dir: string, kind: string): string {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    if (kind === 'compare' && Array.isArray(config.losses)) {
      const labels = config.losses.map((l) => (l && typeof l === 'object' && typeof (l as { label?: unknown }).label === 'string' ? (l as { label: string }).label : '?'));
      const base = config.baseline && typeof config.baseline === 'object' && typeof (config.baseline as { label?: unknown }).label === 'string' ? (config.baseline as { label: string }).label : 'ce';
      return compareLabel(labels, base);
    }
    if (kind === 'evolve') {
      const sur = config.surrogate && typeof config.surrogate === 'object' ? (config.surrogate as Record<string, unknown>) : {};
      const augs = Array.isArray(config.augments) ? config.augments.join(', ') : typeof sur.augment === 'string' ? sur.augment : '';
      return `evolution${augs ? ` (${augs})` : ''}`;
    }
  } catch {
    // fall through
  }
  return kind === 'evolve' ? 'evolution' : kind === 'compare' ? 'evaluation' : 'run';
}

/** What a run trained, from its config.json: 'lenet · none, cutout' (compare), the surrogate model 'mlp' (evolve), then ' · job queue' when it trained on a queue's workers; '' when unreadable. */
export function runSetup(dir: string, kind: string): string {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const modelOf = (o: unknown): string => (o && typeof o === 'object' && typeof (o as { kind?: unknown }).kind === 'string' ? (o as { kind: string }).kind : '');
    // Trained on a job queue's workers (its masked URL is in the config): said in the row.
    const queued = typeof config.queue === 'string' && config.queue ? 'job queue' : '';
    if (kind === 'compare') {
      const augs = Array.isArray(config.augmentations) ? config.augmentations.filter((a): a is string => typeof a === 'string').join(', ') : '';
      return [modelOf(config.model), augs, queued].filter(Boolean).join(' · ');
    }
    if (kind === 'evolve') return [modelOf(config.surrogate && typeof config.surrogate === 'object' ? (config.surrogate as { model?: unknown }).model : undefined), queued].filter(Boolean).join(' · ');
  } catch {
    // fall through
  }
  return '';
}

/** The best loss file of a finished evolution run (summary.best[0].file). */
export function bestLossFile(dir: string): string | undefined {
  try {
    const s = readSummary(dir);
    const best = s && Array.isArray(s.best) ? s.best : [];
    const f = best[0] && typeof best[0] === 'object' ? (best[0] as { file?: unknown }).file : undefined;
    if (typeof f === 'string' && /^[\w.-]+\.loss$/.test(f) && fs.existsSync(path.join(dir, f))) return path.join(dir, f);
  } catch {
    // none
  }
  return undefined;
}

/** The figures of the workspace folders' last finished compare runs, newest first (for the time estimates). */
export function recordedRuns(workspaceFolders: readonly string[], max = 20): RecordedRun[] {
  const done = workspaceFolders.flatMap((ws) => listRuns(ws)).filter((r) => r.kind === 'compare' && r.status === 'done');
  const out: RecordedRun[] = [];
  for (const r of done.sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, max)) {
    try {
      const rec = recordedRun(readSummary(r.dir));
      if (rec) out.push(rec);
    } catch {
      // an unreadable summary: not a record
    }
  }
  return out;
}
