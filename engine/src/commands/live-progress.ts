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
