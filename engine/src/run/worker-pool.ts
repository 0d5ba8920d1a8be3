/**
 * A pool of child processes that run JSON tasks (trainings) and return JSON results: never
 * tensors across the boundary. One task at a time per worker; tasks queue in submission order.
 *
 *   const pool = new WorkerPool({ size: 2 });
 *   const r = await pool.run(task, { onProgress: (p) => ..., signal });
 *   await pool.close();
 *
 * - size (default: number of cores) child processes, each `child_process.fork` of
 *   out/engine/src/worker-main.js. Size 0 runs tasks in this process, one at a time, through the
 *   very same executor (for tests and for debugging); cancellation then goes through the
 *   training loop's AbortSignal instead of killing a process.
 * - Each worker initialises its tfjs backend once (per backend preference) and caches datasets
 *   by spec; a train result reports the backend it ran on.
 * - Cancellation (`pool.cancel(id)` or the task's AbortSignal): a queued task is dropped; a
 *   running one has its worker killed (SIGTERM, then SIGKILL after `killGraceMs`) and a fresh
 *   worker takes its place. The task's promise rejects with TaskCancelledError.
 * - A worker that dies mid-task (crash, OOM, killed from outside) rejects only that task, with a
 *   WorkerCrashError naming the exit code/signal; the pool replaces the worker and carries on.
 *   Retrying is the caller's decision.
 * - A task that throws inside the worker rejects with TaskError (message and remote stack).
 */
import { fork, type ChildProcess } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import type { GanTask, GanTaskResult, Progress, SegTask, SegTaskResult, TrainTask, TrainTaskResult } from '../compute/types';
import type { FromWorker, ResultOf, Task, ToWorker } from './worker-messages';

export type { DatasetTaskSpec, Progress, TrainTask, TrainTaskResult } from '../compute/types';

export type { DebugResult, DebugTask, FromWorker, ResultOf, Task, ToWorker } from './worker-messages';

// ------------------------------------------------------------------------------- errors

export class TaskCancelledError extends Error {
  constructor(readonly taskId: string) {
    super(`task ${taskId} was cancelled`);
    this.name = 'TaskCancelledError';
  }
}

export class WorkerCrashError extends Error {
  constructor(readonly taskId: string, readonly pid: number | undefined, readonly code: number | null, readonly signal: NodeJS.Signals | null, stderrTail: string) {
    super(
      `worker process ${pid ?? '?'} died while running task ${taskId} (${signal ? `signal ${signal}` : `exit code ${code}`})` +
        (stderrTail ? `; its last stderr: ${stderrTail}` : ''),
    );
    this.name = 'WorkerCrashError';
  }
}

export class TaskError extends Error {
  constructor(readonly taskId: string, message: string, readonly remoteStack?: string) {
    super(message);
    this.name = 'TaskError';
  }
}

// ------------------------------------------------------------------------------- the pool

export interface PoolOptions {
  /** Number of worker processes; 0 = run in this process (default: os.cpus().length). */
  size?: number;
  /** The worker script (default: worker-main.js next to this file). */
  workerScript?: string;
  /** Node flags for the workers (default: none). */
  execArgv?: string[];
  /** Environment of the workers (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Time between SIGTERM and SIGKILL when killing a worker (default 2000 ms). */
  killGraceMs?: number;
  /** Forward the workers' stderr to this process's stderr (default false: kept for crash reports). */
  inheritStderr?: boolean;
}

export interface RunOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Task id (default: generated, unique in this pool). */
  id?: string;
}

export interface Submitted<R> {
  id: string;
  promise: Promise<R>;
}

interface Job {
  id: string;
  task: Task;
  opts: RunOptions;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  worker?: Worker;
  done: boolean;
  /** In-process: aborts the training loop. */
  abort?: AbortController;
  unlisten?: () => void;
}

interface Worker {
  proc: ChildProcess;
  pid: number | undefined;
  job?: Job;
  /** Killed on purpose (cancel/close): its exit is not a crash. */
  killing: boolean;
  stderrTail: string;
  exited: boolean;
}

export class WorkerPool {
  readonly size: number;
  private readonly opts: PoolOptions;
  private readonly workers: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly jobs = new Map<string, Job>();
  private nextId = 1;
  private closed = false;
  /** In-process mode: the job running now. */
  private localBusy = false;

  constructor(opts: PoolOptions = {}) {
    this.opts = opts;
    this.size = Math.max(0, Math.floor(opts.size ?? os.cpus().length));
    for (let i = 0; i < this.size; i++) this.workers.push(this.spawn(i));
  }

  /** Worker pids (empty in-process). */
  pids(): number[] {
    return this.workers.map((w) => w.pid).filter((p): p is number => p !== undefined);
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.jobs.size;
  }

  run(task: TrainTask, opts?: RunOptions): Promise<TrainTaskResult>;
  run(task: GanTask, opts?: RunOptions): Promise<GanTaskResult>;
  run(task: SegTask, opts?: RunOptions): Promise<SegTaskResult>;
  run<T extends Task>(task: T, opts?: RunOptions): Promise<ResultOf<T>>;
  run<T extends Task>(task: T, opts: RunOptions = {}): Promise<ResultOf<T>> {
    return this.submit(task, opts).promise;
  }

  submit<T extends Task>(task: T, opts: RunOptions = {}): Submitted<ResultOf<T>> {
    if (this.closed) throw new Error('worker pool is closed');
    const id = opts.id ?? `t${this.nextId++}`;
    if (this.jobs.has(id)) throw new Error(`task id ${id} is already in use`);
    let resolve!: (v: unknown) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<ResultOf<T>>((res, rej) => {
      resolve = res as (v: unknown) => void;
      reject = rej;
    });
    const job: Job = { id, task, opts, resolve, reject, done: false };
    this.jobs.set(id, job);
    if (opts.signal) {
      if (opts.signal.aborted) {
        this.finish(job, new TaskCancelledError(id));
        return { id, promise };
      }
      const onAbort = (): void => {
        this.cancel(id);
      };
      opts.signal.addEventListener('abort', onAbort, { once: true });
      job.unlisten = () => opts.signal!.removeEventListener('abort', onAbort);
    }
    this.queue.push(job);
    this.pump();
    return { id, promise };
  }

  /** Cancels a queued or running task; returns false if there is no such task (or it finished). */
  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job || job.done) return false;
    const qi = this.queue.indexOf(job);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      this.finish(job, new TaskCancelledError(id));
      return true;
    }
    if (job.abort) {
      // In-process: the training loop stops at its next step; settle now.
      job.abort.abort();
      this.finish(job, new TaskCancelledError(id));
      return true;
    }
    const w = job.worker;
    this.finish(job, new TaskCancelledError(id));
    if (w) {
      w.job = undefined;
      this.replace(w);
    }
    return true;
  }

  /** Cancels everything queued or running. */
  cancelAll(): void {
    for (const id of [...this.jobs.keys()]) this.cancel(id);
  }

  /**
   * Stops the pool: cancels what is left (their promises reject), asks idle workers to exit,
   * kills busy ones, and resolves when every worker process has exited.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelAll();
    await Promise.all(this.workers.map((w) => this.stop(w, true)));
    this.workers.length = 0;
  }

  // ----------------------------------------------------------------------------- internals

  /**
   * Starts the worker of slot `index`. Its slot and the pool size are in LOSSMITH_WORKER_INDEX and
   * LOSSMITH_WORKER_COUNT: engines spread workers over GPUs and share the CPU cores by them.
   */
  private spawn(index: number): Worker {
    const script = this.opts.workerScript ?? path.join(__dirname, 'worker-main.js');
    const proc = fork(script, [], {
      execArgv: this.opts.execArgv ?? [],
      env: { ...(this.opts.env ?? process.env), LOSSMITH_WORKER_INDEX: String(index), LOSSMITH_WORKER_COUNT: String(this.size) },
      stdio: ['ignore', 'ignore', this.opts.inheritStderr ? 'inherit' : 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const w: Worker = { proc, pid: proc.pid, killing: false, stderrTail: '', exited: false };
    proc.stderr?.on('data', (b: Buffer) => {
      w.stderrTail = (w.stderrTail + b.toString('utf8')).slice(-2000);
    });
    proc.on('message', (m: FromWorker) => this.onMessage(w, m));
    proc.on('error', () => {
      /* reported through 'exit' */
    });
    proc.on('exit', (code, signal) => this.onExit(w, code, signal));
    // A parent exiting normally should not wait on idle workers' IPC channels.
    proc.unref();
    (proc as unknown as { channel?: { unref(): void } }).channel?.unref();
    return w;
  }

  private onMessage(w: Worker, m: FromWorker): void {
    const job = w.job;
    if (m.type === 'ready' || !job || m.id !== job.id) return;
    if (m.type === 'progress') {
      try {
        job.opts.onProgress?.(m.progress);
      } catch {
        /* a faulty listener must not break the pool */
      }
      return;
    }
    w.job = undefined;
    this.setRef(w, false);
    if (m.type === 'result') this.finish(job, undefined, m.result);
    else this.finish(job, new TaskError(job.id, m.message, m.stack));
    this.pump();
  }

  private onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    w.exited = true;
    const job = w.job;
    w.job = undefined;
    if (job && !job.done) {
      const tail = w.stderrTail.trim().split('\n').slice(-3).join(' | ');
      this.finish(job, new WorkerCrashError(job.id, w.pid, code, signal, tail));
    }
    const i = this.workers.indexOf(w);
    if (i >= 0 && !this.closed) {
      // Replace it (unless it was already replaced by cancel()).
      this.workers[i] = this.spawn(i);
      this.pump();
    }
  }

  /** Kills a worker and puts a fresh one in its place. */
  private replace(w: Worker): void {
    const i = this.workers.indexOf(w);
    if (i >= 0 && !this.closed) this.workers[i] = this.spawn(i);
    void this.stop(w, false);
    this.pump();
  }

  /** Ends a worker process: politely if idle, SIGTERM then SIGKILL otherwise. */
  private stop(w: Worker, graceful: boolean): Promise<void> {
    if (w.exited) return Promise.resolve();
    w.killing = true;
    // Whoever awaits this keeps the event loop alive until the process is gone.
    this.setRef(w, true);
    return new Promise<void>((resolve) => {
      let t: NodeJS.Timeout | undefined;
      w.proc.once('exit', () => {
        if (t) clearTimeout(t);
        resolve();
      });
      if (graceful && !w.job && w.proc.connected) {
        try {
          w.proc.send({ type: 'shutdown' } satisfies ToWorker);
        } catch {
          w.proc.kill('SIGTERM');
        }
      } else {
        w.proc.kill('SIGTERM');
      }
      t = setTimeout(() => {
        if (!w.exited) w.proc.kill('SIGKILL');
      }, this.opts.killGraceMs ?? 2000);
    });
  }

  private setRef(w: Worker, on: boolean): void {
    // Keep the parent's event loop alive only while a worker has work.
    const ch = (w.proc as unknown as { channel?: { ref(): void; unref(): void } }).channel;
    if (on) {
      w.proc.ref();
      ch?.ref();
    } else {
      w.proc.unref();
      ch?.unref();
    }
  }

  private finish(job: Job, err?: Error, result?: unknown): void {
    if (job.done) return;
    job.done = true;
    this.jobs.delete(job.id);
    job.unlisten?.();
    if (err) job.reject(err);
    else job.resolve(result);
  }

  private pump(): void {
    if (this.closed) return;
    if (this.size === 0) {
      void this.pumpLocal();
      return;
    }
    for (const w of this.workers) {
      if (this.queue.length === 0) return;
      if (w.job || w.exited || w.killing || !w.proc.connected) continue;
      const job = this.queue.shift()!;
      job.worker = w;
      w.job = job;
      this.setRef(w, true);
      try {
        w.proc.send({ type: 'task', id: job.id, task: job.task } satisfies ToWorker);
      } catch (e) {
        w.job = undefined;
        this.finish(job, new WorkerCrashError(job.id, w.pid, null, null, `could not send the task: ${(e as Error).message}`));
      }
    }
  }

  private async pumpLocal(): Promise<void> {
    if (this.localBusy) return;
    this.localBusy = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const job = this.queue.shift()!;
        job.abort = new AbortController();
        // Required lazily: the pool itself must not load tfjs in processes that only fork.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { executeTask } = require('./worker-main') as typeof import('./worker-main');
        try {
          // Structured clone both ways: the same semantics as the process boundary.
          const result = await executeTask(structuredClone(job.task), {
            signal: job.abort.signal,
            progress: (p) => {
              if (!job.done) job.opts.onProgress?.(structuredClone(p));
            },
          });
          this.finish(job, undefined, structuredClone(result));
        } catch (e) {
          this.finish(job, job.done ? undefined : new TaskError(job.id, (e as Error).message ?? String(e), (e as Error).stack));
        }
      }
    } finally {
      this.localBusy = false;
    }
  }
}

/** Default pool size for `jobs` tasks: min(cores, jobs), at least 1. */
export function defaultWorkers(jobs: number): number {
  return Math.max(1, Math.min(os.cpus().length, jobs));
}
