/**
 * The live display of a run on a terminal, as ML users know it from tqdm: one bar for the whole
 * run (trainings done of planned, elapsed, ETA) and one per running training (its step bar with
 * the epoch and an ETA), drawn by cli-progress. Finished trainings print their line above the
 * bars. Only on a terminal: in pipes the CLI prints its plain lines, with --json only events.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { LiveStep } from '../run/compare';

export interface LiveDisplay {
  /** A line above the bars. */
  log(line: string): void;
  /** The run's planned trainings (tuning ones included), and how many were finished before (resume). */
  plan(total: number, done?: number): void;
  step(s: LiveStep): void;
  /** A training ended (finished, diverged, failed or cancelled): its bar goes, the run's moves on unless `cancelled`. */
  ended(s: Pick<LiveStep, 'loss' | 'augmentation' | 'seed' | 'tune'>, line: string, cancelled?: boolean): void;
  stop(): void;
}

const keyOf = (s: Pick<LiveStep, 'loss' | 'augmentation' | 'seed' | 'tune'>): string => `${s.loss}\u0000${s.augmentation}\u0000${s.seed}\u0000${s.tune?.lr ?? ''}`;

/** A display on `stream` (a TTY). */
export function liveDisplay(stream: NodeJS.WriteStream): LiveDisplay {
  const multi = new MultiBar(
    {
      stream,
      format: (options, params, payload: { name?: string; detail?: string }) => {
        const width = options.barsize ?? 24;
        const done = Math.round(params.progress * width);
        const bar = `${'█'.repeat(done)}${'░'.repeat(width - done)}`;
        const eta = params.eta > 0 && Number.isFinite(params.eta) && params.value < params.total ? formatSeconds(params.eta) : params.value >= params.total ? '0s' : '?';
        return `${payload.name ?? ''} ${bar} ${payload.detail ?? ''} ETA ${eta}`;
      },
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      autopadding: true,
      etaBuffer: 30,
      fps: 5,
    },
  );
  let overall: SingleBar | null = null;
  let total = 0;
  let done = 0;
  const t0 = Date.now();
  const bars = new Map<string, SingleBar>();
  let stopped = false;
  const overallDetail = (): string => `${done}/${total} trainings · ${formatSeconds((Date.now() - t0) / 1000)} elapsed ·`;
  return {
    log(line) {
      multi.log(line.endsWith('\n') ? line : `${line}\n`);
    },
    plan(n, before = 0) {
      total = n;
      done = before;
      overall = multi.create(Math.max(1, total), done, { name: 'run     ', detail: overallDetail() });
    },
    step(s) {
      const k = keyOf(s);
      let bar = bars.get(k);
      const name = `${s.tune ? `tune lr ${s.tune.lr} · ` : ''}${s.loss} · ${s.augmentation} · seed ${s.seed}`;
      const detail = `epoch ${s.epoch}/${s.epochs} · step ${s.step}/${s.steps} ·`;
      if (!bar) {
        bar = multi.create(Math.max(1, s.steps), s.step, { name, detail });
        bars.set(k, bar);
      } else bar.update(s.step, { name, detail });
      overall?.update(done, { detail: overallDetail() });
    },
    ended(s, line, cancelled = false) {
      const k = keyOf(s);
      const bar = bars.get(k);
      if (bar) {
        multi.remove(bar);
        bars.delete(k);
      }
      if (!cancelled) done++;
      overall?.update(done, { detail: overallDetail() });
      this.log(line);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      // Lines logged since the last frame are written by the next one: draw it before stopping.
      multi.update();
      multi.stop();
    },
  };
}

/** 75 -> "1m15s", 3725 -> "1h02m". */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

/** Events of an evolve run that move its live display (the run's own event objects, loosely typed). */
type EvolveEv = { type: string } & Record<string, unknown>;

/**
 * The live display of an evolve run on a terminal: a bar per search (children evaluated of the
 * planned steps, the best fitness so far against CE's, the evaluations done), then one for the
 * final re-training and one for the transfer ladder when they run. Log lines print above.
 */
export function evolveLiveDisplay(stream: NodeJS.WriteStream, steps: number): { log(line: string): void; event(e: EvolveEv): void; stop(): void } {
  const multi = new MultiBar({
    stream,
    format: (options, params, payload: { name?: string; detail?: string }) => {
      const width = options.barsize ?? 24;
      const done = Math.round(params.progress * width);
      const eta = params.value >= params.total ? '0s' : params.eta > 0 && Number.isFinite(params.eta) ? formatSeconds(params.eta) : '?';
      return `${payload.name ?? ''} ${'█'.repeat(done)}${'░'.repeat(width - done)} ${payload.detail ?? ''} ETA ${eta}`;
    },
    barsize: 24,
    hideCursor: true,
    clearOnComplete: false,
    autopadding: true,
    etaBuffer: 20,
    fps: 5,
  });
  const t0 = Date.now();
  let trained = 0;
  let search: { bar: SingleBar; name: string; best: number | null; ce: number | null; evaluated: number } | null = null;
  let phase: { bar: SingleBar; name: string; total: number; done: number } | null = null;
  let stopped = false;
  const r4 = (x: number | null): string => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(4));
  const searchDetail = (): string =>
    search ? `${search.evaluated}/${steps} children · best ${r4(search.best)} (CE ${r4(search.ce)}) · ${trained} evaluations · ${formatSeconds((Date.now() - t0) / 1000)} ·` : '';
  const startPhase = (name: string, total: number): void => {
    phase = { bar: multi.create(Math.max(1, total), 0, { name, detail: `0/${total} trainings ·` }), name, total, done: 0 };
  };
  const stepPhase = (): void => {
    if (!phase) return;
    phase.done++;
    phase.bar.update(phase.done, { detail: `${phase.done}/${phase.total} trainings ·` });
  };
  return {
    log(line) {
      // The final phase announces its size in its line (a resumed one only what is left).
      const fin = /^final: .*\((\d+) trainings\)$/.exec(line.trim());
      if (fin) startPhase('final   ', Number(fin[1]));
      multi.log(line.endsWith('\n') ? line : `${line}\n`);
    },
    event(e) {
      switch (e.type) {
        case 'search-start': {
          const name = `search [${String(e.augment)}]`;
          search = { bar: multi.create(Math.max(1, steps), 0, { name, detail: '' }), name, best: null, ce: null, evaluated: 0 };
          search.bar.update(0, { detail: searchDetail() });
          break;
        }
        case 'baseline':
          if (search) search.ce = typeof e.fitness === 'number' ? e.fitness : null;
          break;
        case 'candidate-evaluated':
          trained++;
          search?.bar.update(search.evaluated, { detail: searchDetail() });
          break;
        case 'generation':
          if (search) {
            // The best of the search so far (full-stage fitness, as the summary ranks them).
            const ever = e.bestEver as { fitness?: number | null } | null;
            if (ever && typeof ever.fitness === 'number') search.best = ever.fitness;
            search.evaluated = Math.max(search.evaluated, Number(e.evaluated) || 0);
            search.bar.update(search.evaluated, { detail: searchDetail() });
          }
          break;
        case 'final-evaluated':
        case 'transfer-evaluated':
          stepPhase();
          break;
        case 'transfer-start':
          startPhase('transfer', Number(e.total) || 0);
          break;
        default:
          break;
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi.update();
      multi.stop();
    },
  };
}
