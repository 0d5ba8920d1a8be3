/**
 * Reading runs from disk for the extension (no vscode import): the run store's own reader
 * (engine/src/run-store.ts: fs and path only, no tfjs) for listing and status, plus what the
 * tree shows (a label from config.json, progress from the events).
 */
import * as fs from 'fs';
import * as path from 'path';
import { listRuns, readEvents, readSummary, runsDir, type RunInfo } from '../../../store/run-store';
import type { WireEvent } from '../../../media/src/shared/validate';
import { emptyModel, progress, reduce } from '../../../media/src/evaluation/model';
import { emptyEvoModel, evoProgress, reduceEvo } from '../../../media/src/evolution/model';
import { isRunId } from '../../../media/src/shared/validate';
import { compareLabel } from './cli-args';

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
  backend: string | null;
}

/** Progress of a run, fed its events incrementally (the live runs' tails call it per batch). */
export class ProgressTracker {
  private readonly evo = emptyEvoModel('x');
  private readonly cmp = emptyModel('x');
  private evaluated = 0;
  private best = -1;

  constructor(readonly kind: string) {}

  push(events: readonly WireEvent[]): void {
    for (const e of events) {
      if (this.kind === 'evolve') {
        reduceEvo(this.evo, e);
        if (e.type === 'candidate-evaluated' && e.stage === 1) this.evaluated++;
        if (e.type === 'candidate-evaluated' && e.stage === 2 && typeof e.fitness === 'number' && e.fitness > this.best) this.best = e.fitness;
      } else reduce(this.cmp, e);
    }
  }

  get(): RunProgress {
    if (this.kind === 'evolve') {
      return { progress: evoProgress(this.evo), detail: `${this.evaluated} evaluated${this.best >= 0 ? `, best ${(this.best * 100).toFixed(2)}%` : ''}`, backend: this.evo.backend };
    }
    const m = this.cmp;
    const b = m.backends[0];
    return { progress: progress(m), detail: `${m.finished} of ${m.jobs || '?'} trainings`, backend: b ? `${b.name} (${b.device.toUpperCase()})` : null };
  }
}

/** Progress and a one-line detail of a run from its events. */
export function progressOf(kind: string, events: readonly WireEvent[]): RunProgress {
  const t = new ProgressTracker(kind);
  t.push(events);
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
