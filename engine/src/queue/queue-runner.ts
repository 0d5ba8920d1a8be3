/**
 * The job queue as a TaskRunner (run/task-runner.ts): a run's trainings go to a BullMQ queue in
 * Redis, `lossmith worker` processes on any machine train them (queue/worker.ts), and progress
 * and results come back here; the run, on the submitting machine, stays the only writer of its
 * run folder.
 *
 * - One queue per engine (`lossmith:tfjs`, `lossmith:torch`): a task waits for a worker of its
 *   engine; a torch task whose device names a class (`cuda`, `cuda:N`, `mps`, `cpu`) goes to
 *   that class's queue (`lossmith:torch-cuda`, ...) and waits for a worker of that class. A job's id is `<runId>.<hash of the task>`: deterministic, so a task is one job
 *   whoever submits it how often. A resumed run (same run id) finds the jobs that finished
 *   while it was away and takes their results; only what is missing is trained; a job that
 *   failed for good is retried once more when its run asks again.
 * - A worker that dies mid-training stops renewing its job's lock; BullMQ's stalled-job check
 *   (in every other worker) puts the job back, and another worker trains it. Attempts are
 *   bounded (`attempts`, the workers' maxStalledCount) and the result says which attempt it was.
 * - Results arrive through QueueEvents, and a sweep every `pollMs` asks Redis for the state of
 *   every job still awaited, so nothing is lost when events are (Redis restarted, a reconnect).
 * - Progress: job progress (the worker's `updateProgress`) is forwarded; epochs already
 *   reported by an earlier attempt of the same job are not repeated.
 * - Cancelling (the signal) rejects the task and removes its job if no worker has taken it;
 *   a running one finishes on its worker and stays for a resume. `close()` removes the jobs
 *   whose results were handed over.
 */
import { createHash } from 'crypto';
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { ComputeTask, EngineName, GanTask, GanTaskResult, Progress, SegTask, SegTaskResult, TrainTask, TrainTaskResult } from '../compute/types';

/** A training's result, of any task (train, gan, segmentation). */
type AnyResult = TrainTaskResult | GanTaskResult | SegTaskResult;
import { TaskCancelledError, TaskError, type RunOptions } from '../run/worker-pool';
import type { TaskRunner } from '../run/task-runner';
import { deviceClassOf, KEY_PREFIX, queueName, redisOptions, tunable, type QueueTarget } from './connection';

export interface QueueRunnerOptions {
  target: QueueTarget;
  /** The run id: jobs are named `<namespace>.<task hash>`. */
  namespace: string;
  /** Trainings the connected workers run at once (shown as the run's worker count). */
  size?: number;
  /** Attempts per job when its training crashes (default $LOSSMITH_QUEUE_ATTEMPTS or 3). */
  attempts?: number;
  /** How often the jobs still awaited are looked up in Redis (default $LOSSMITH_QUEUE_POLL_MS or 2000). */
  pollMs?: number;
  /** Finished jobs are kept this long for a resume (s, default 7 days). */
  keepSeconds?: number;
}

/** Canonical JSON (sorted keys): the same task gives the same text whatever order its fields were built in. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The job id of a task in a run: `<runId>.<20 hex digits of its hash>` (BullMQ ids may not hold ':'). */
export function jobId(namespace: string, task: ComputeTask): string {
  return `${namespace.replace(/:/g, '_')}.${createHash('sha256').update(canonicalJson(task)).digest('hex').slice(0, 20)}`;
}

interface Waiter {
  opts: RunOptions;
  resolve: (r: AnyResult) => void;
  reject: (e: Error) => void;
  /** Stops listening to its signal. */
  unlisten: () => void;
}

interface Pending {
  id: string;
  /** The BullMQ queue: the engine's, or its device class's. */
  queue: string;
  task: ComputeTask;
  waiters: Set<Waiter>;
  /** The highest epoch forwarded (a retried attempt repeats the first ones). */
  epoch: number;
  backend: boolean;
  settled: boolean;
}

export class QueueRunner implements TaskRunner {
  readonly size: number;
  private readonly opts: QueueRunnerOptions;
  private readonly queues = new Map<string, Promise<{ queue: Queue; events: QueueEvents }>>();
  private readonly pending = new Map<string, Pending>();
  /** Jobs whose results were handed over: removed at close. */
  private readonly handed = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;
  private closed = false;

  constructor(opts: QueueRunnerOptions) {
    this.opts = opts;
    this.size = opts.size ?? 0;
    this.timer = setInterval(() => void this.sweep(), opts.pollMs ?? tunable('POLL_MS', 2000));
    this.timer.unref();
  }

  run(task: TrainTask, opts?: RunOptions): Promise<TrainTaskResult>;
  run(task: GanTask, opts?: RunOptions): Promise<GanTaskResult>;
  run(task: SegTask, opts?: RunOptions): Promise<SegTaskResult>;
  async run(task: ComputeTask, opts: RunOptions = {}): Promise<AnyResult> {
    if (this.closed) throw new Error('the queue runner is closed');
    const id = jobId(this.opts.namespace, task);
    if (opts.signal?.aborted) throw new TaskCancelledError(id);
    let p = this.pending.get(id);
    const first = !p;
    if (!p) {
      const engine: EngineName = task.engine ?? 'tfjs';
      const queue = queueName(engine, engine === 'torch' ? deviceClassOf(task.kind === 'train' ? task.torch?.device : undefined) : undefined);
      p = { id, queue, task, waiters: new Set(), epoch: 0, backend: false, settled: false };
      this.pending.set(id, p);
    }
    const pend = p;
    const promise = new Promise<AnyResult>((resolve, reject) => {
      const onAbort = (): void => {
        if (!pend.waiters.delete(w)) return;
        reject(new TaskCancelledError(id));
        if (pend.waiters.size === 0 && !pend.settled) {
          this.pending.delete(id);
          void this.withdraw(pend);
        }
      };
      const w: Waiter = { opts, resolve, reject, unlisten: () => opts.signal?.removeEventListener('abort', onAbort) };
      pend.waiters.add(w);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
    if (first) this.submit(pend).catch((e: unknown) => this.settle(pend, e instanceof Error ? e : new Error(String(e))));
    return promise;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const p of [...this.pending.values()]) this.settle(p, new TaskCancelledError(p.id));
    for (const [name, qp] of this.queues) {
      const { queue, events } = await qp.catch(() => ({ queue: undefined, events: undefined }));
      if (queue) {
        const ids = [...this.handed].filter(([, q]) => q === name).map(([id]) => id);
        await Promise.all(ids.map((id) => queue.remove(id).catch(() => 0)));
      }
      await Promise.all([events?.close().catch(() => undefined), queue?.close().catch(() => undefined)]);
    }
  }

  // ------------------------------------------------------------------------------- internals

  private queueOf(name: string): Promise<{ queue: Queue; events: QueueEvents }> {
    let q = this.queues.get(name);
    if (!q) {
      q = (async () => {
        const connection = redisOptions(this.opts.target);
        const queue = new Queue(name, { connection, prefix: KEY_PREFIX });
        const events = new QueueEvents(name, { connection, prefix: KEY_PREFIX });
        // Errors (Redis restarting) are retried by the clients; the sweep catches up afterwards.
        queue.on('error', () => undefined);
        events.on('error', () => undefined);
        events.on('progress', ({ jobId: jid, data }) => this.progress(jid, data));
        // The event carries the result (a job completes once: its lock is checked when it finishes).
        events.on('completed', ({ jobId: jid, returnvalue }) => {
          const p = this.pending.get(jid);
          if (p && returnvalue && typeof returnvalue === 'object') this.settle(p, undefined, returnvalue as unknown as AnyResult);
          else void this.check(jid);
        });
        events.on('failed', ({ jobId: jid }) => void this.check(jid));
        await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
        return { queue, events };
      })();
      this.queues.set(name, q);
    }
    return q;
  }

  private async submit(p: Pending): Promise<void> {
    const { queue } = await this.queueOf(p.queue);
    const keep = this.opts.keepSeconds ?? 7 * 24 * 3600;
    await queue.add('train', p.task, {
      jobId: p.id,
      attempts: this.opts.attempts ?? tunable('ATTEMPTS', 3),
      removeOnComplete: { age: keep },
      removeOnFail: { age: keep },
    });
    // The id may be an old job: finished while this run was away, or failed for good.
    const state = await queue.getJobState(p.id);
    if (state === 'failed') {
      const job = await queue.getJob(p.id);
      await job?.retry('failed');
    } else if (state === 'completed') {
      await this.check(p.id);
    }
  }

  /** Looks the job up and settles it when it has finished. */
  private async check(id: string): Promise<void> {
    const p = this.pending.get(id);
    if (!p || p.settled) return;
    const { queue } = await this.queueOf(p.queue);
    const state = await queue.getJobState(id);
    if (state === 'completed') {
      const job: Job | undefined = await queue.getJob(id);
      if (job && job.returnvalue) this.settle(p, undefined, job.returnvalue as AnyResult);
    } else if (state === 'failed') {
      const job = await queue.getJob(id);
      const attempts = job ? ` after ${job.attemptsStarted} attempt${job.attemptsStarted === 1 ? '' : 's'}` : '';
      this.settle(p, new TaskError(id, `failed on the queue${attempts}: ${job?.failedReason ?? 'unknown reason'}`));
    } else if (state === 'unknown') {
      // Gone (removed by hand, or Redis lost it): submit it again.
      await this.submit(p);
    }
  }

  /** Every job still awaited, looked up (missed events, reconnects). */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    try {
      await Promise.all([...this.pending.keys()].map((id) => this.check(id).catch(() => undefined)));
    } finally {
      this.sweeping = false;
    }
  }

  private progress(id: string, data: unknown): void {
    const p = this.pending.get(id);
    if (!p || p.settled || !data || typeof data !== 'object') return;
    const pr = data as Progress;
    if (pr.kind === 'epoch' || pr.kind === 'gan-epoch' || pr.kind === 'seg-epoch') {
      if (pr.epoch.epoch <= p.epoch) return;
      p.epoch = pr.epoch.epoch;
    } else if (pr.kind === 'backend') {
      if (p.backend) return;
      p.backend = true;
    }
    for (const w of p.waiters) {
      try {
        w.opts.onProgress?.(pr);
      } catch {
        /* a faulty listener must not break the runner */
      }
    }
  }

  private settle(p: Pending, err?: Error, result?: AnyResult): void {
    if (p.settled) return;
    p.settled = true;
    this.pending.delete(p.id);
    if (!err) this.handed.set(p.id, p.queue);
    for (const w of p.waiters) {
      w.unlisten();
      if (err) w.reject(err);
      else w.resolve(structuredClone(result!));
    }
    p.waiters.clear();
  }

  /** Nobody waits for this job any more: remove it unless a worker has it. */
  private async withdraw(p: Pending): Promise<void> {
    try {
      const { queue } = await this.queueOf(p.queue);
      const state = await queue.getJobState(p.id);
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') await queue.remove(p.id);
    } catch {
      /* taken meanwhile, or Redis is away: it finishes and waits for a resume */
    }
  }
}
