/**
 * `lossmith worker --queue URL`: takes training tasks from the queue of its engine and trains
 * them on this machine's local worker pool (run/worker-pool.ts: one forked process per slot, so
 * this process's event loop stays free to renew job locks while a training runs, and GPUs are
 * spread over slots as in a local run).
 *
 * - Announces itself in `lossmith:worker:<id>` (host, engine, devices, versions, running and
 *   done counts), refreshed every few seconds with a TTL three times as long: its heartbeat.
 * - A task of the torch engine is trained with this machine's Python and device (the
 *   submitter's are paths on another machine); precision and compile come from the task.
 * - A training that throws (its loss does not compile, ...) fails its job for good; a training
 *   process that dies fails the attempt (retried up to the job's attempts); this process dying
 *   leaves the job's lock to expire, and another worker's stalled check puts it back.
 * - SIGTERM/SIGINT: running trainings are stopped and their jobs put back in the queue at once,
 *   then the worker leaves (no wait for the stalled check).
 */
import * as os from 'os';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { QueueWorkerJson, WorkerRefJson } from '../../../protocol/run-events';
import type { ComputeTask, EngineName, GanTaskResult, Progress, SegTaskResult, TorchOptionsJson, TrainTaskResult } from '../compute/types';
import { STEP_PROGRESS_MS } from '../compute/types';
import { TaskCancelledError, TaskError, WorkerPool } from '../run/worker-pool';
import { KEY_PREFIX, queueName, redisOptions, tunable, workerKey, type DeviceClass, type QueueTarget } from './connection';

export interface QueueWorkerOptions {
  target: QueueTarget;
  engine: EngineName;
  /** torch: this machine's device class: it also takes the trainings pinned to it (`--device cuda` on the submitter). */
  deviceClass?: DeviceClass;
  /** Trainings at once (pool size). */
  concurrency: number;
  /** torch: this machine's Python and device. */
  torch?: TorchOptionsJson;
  /** The engine in words, and the devices. */
  summary: string;
  devices: string[];
  versions: Record<string, string>;
  /** One line per event (took, done, failed, connection). */
  log: (line: string) => void;
  /** Lock of a running job (ms; renewed at half of it). Default $LOSSMITH_QUEUE_LOCK_MS or 30 s. */
  lockMs?: number;
  /** How often stalled jobs are looked for (ms). Default $LOSSMITH_QUEUE_STALLED_MS or 30 s. */
  stalledMs?: number;
  /** Times a job may stall (its worker died) before it fails. Default $LOSSMITH_QUEUE_MAX_STALLED or 3. */
  maxStalled?: number;
  /** Pool options (tests). */
  workerScript?: string;
}

export interface RunningWorker {
  id: string;
  info(): QueueWorkerJson;
  /** Stops taking tasks, puts running ones back, leaves. */
  close(): Promise<void>;
}

/** How long a heartbeat lives; it is refreshed at a third of it. */
const HEARTBEAT_TTL_MS = 15_000;

export async function startQueueWorker(o: QueueWorkerOptions): Promise<RunningWorker> {
  const host = os.hostname();
  const id = `${host}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const pool = new WorkerPool({ size: o.concurrency, ...(o.workerScript ? { workerScript: o.workerScript } : {}) });
  let running = 0;
  let done = 0;
  let closing = false;
  const started = new Date().toISOString();
  const names = [queueName(o.engine), ...(o.deviceClass ? [queueName(o.engine, o.deviceClass)] : [])];
  const info = (): QueueWorkerJson => ({
    id, host, pid: process.pid, engine: o.engine, concurrency: o.concurrency, devices: o.devices, versions: o.versions, summary: o.summary, queues: names, started, running, done,
  });

  // Slots shared by the queues this worker serves (its engine's, and its device class's): at
  // most `concurrency` trainings run; a job taken while every slot is busy waits here, its lock
  // renewed, and starts when one frees.
  let free = o.concurrency;
  const waiting: (() => void)[] = [];
  const acquire = (): Promise<void> => (free > 0 ? (free--, Promise.resolve()) : new Promise<void>((r) => waiting.push(r)));
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };

  const processor = async (job: Job, token?: string): Promise<TrainTaskResult | GanTaskResult | SegTaskResult> => {
    await acquire();
    try {
      return await train(job, token);
    } finally {
      release();
    }
  };

  const train = async (job: Job, token?: string): Promise<TrainTaskResult | GanTaskResult | SegTaskResult> => {
    const task = adapt(job.data as ComputeTask, o);
    const attempt = job.attemptsStarted;
    const what = `${job.id} (${task.kind === 'gan' ? `${task.gLoss} + ${task.dLoss} · seed ${task.seed}` : task.kind === 'segmentation' ? `${task.lossName} · seed ${task.seed}` : `${task.lossName} · ${task.augment} · seed ${task.train.seed}`}${attempt > 1 ? ` · attempt ${attempt}` : ''})`;
    o.log(`took ${what}`);
    running++;
    const t0 = performance.now();
    let lastStep = 0;
    const onProgress = (p: Progress): void => {
      if (p.kind === 'step') {
        // Live bars only: at most one a second through Redis.
        if (performance.now() - lastStep < Math.max(1000, STEP_PROGRESS_MS)) return;
        lastStep = performance.now();
      }
      job.updateProgress(p as object).catch(() => undefined);
    };
    try {
      const r: TrainTaskResult | GanTaskResult | SegTaskResult = await pool.run(task, { onProgress });
      done++;
      const [what, value] = 'testAcc' in r ? ['test', r.testAcc] : 'genAccuracy' in r.metrics ? ['accuracy on generated digits', r.metrics.genAccuracy] : ['test Dice', r.metrics.dice];
      o.log(`done ${job.id} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${r.status}${value !== null ? `, ${what} ${(100 * value).toFixed(2)}%` : ''}`);
      const worker: WorkerRefJson = { id, host, attempt };
      return { ...r, worker };
    } catch (e) {
      if (e instanceof TaskCancelledError && closing && token) {
        // Leaving: the job goes back to the queue now, for another worker.
        o.log(`put back ${job.id}`);
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      o.log(`failed ${job.id}: ${(e as Error).message.split('\n')[0]}`);
      // The training itself threw: it would throw again anywhere.
      if (e instanceof TaskError) throw new UnrecoverableError((e as Error).message);
      throw e;
    } finally {
      running--;
    }
  };

  const workers = names.map(
    (name) =>
      new Worker(name, processor, {
        connection: redisOptions(o.target),
        prefix: KEY_PREFIX,
        concurrency: o.concurrency,
        lockDuration: o.lockMs ?? tunable('LOCK_MS', 30_000),
        stalledInterval: o.stalledMs ?? tunable('STALLED_MS', 30_000),
        maxStalledCount: o.maxStalled ?? tunable('MAX_STALLED', 3),
        autorun: false,
      }),
  );
  let lastError = '';
  for (const worker of workers) {
    worker.on('error', (e) => {
      const line = (e as Error).message.split('\n')[0];
      if (line !== lastError) o.log(`queue: ${line} (retrying)`);
      lastError = line;
    });
    worker.on('ready', () => {
      if (lastError) o.log('queue: connected again');
      lastError = '';
    });
  }

  // The heartbeat: its own connection, so a blocked worker connection never delays it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: Redis } = require('ioredis') as typeof import('ioredis');
  const beat = new Redis(redisOptions(o.target));
  beat.on('error', () => undefined);
  const announce = (): Promise<unknown> => beat.set(workerKey(id), JSON.stringify(info()), 'PX', HEARTBEAT_TTL_MS).catch(() => undefined);
  await announce();
  const timer = setInterval(() => void announce(), HEARTBEAT_TTL_MS / 3);
  for (const worker of workers) void worker.run();
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    clearInterval(timer);
    // Trainings stop; their processors put the jobs back; then the worker closes. With Redis
    // away none of that can reach it: after a few seconds the worker leaves anyway (its jobs'
    // locks expire and the stalled check of another worker puts them back).
    const within = (p: Promise<unknown>, ms: number): Promise<unknown> => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
    const stopping = Promise.all(workers.map((w) => w.close()));
    await pool.close();
    await within(stopping, 5000);
    await within(beat.del(workerKey(id)), 1000);
    beat.disconnect();
    await within(Promise.all(workers.map((w) => w.disconnect())), 1000);
  };
  return { id, info, close };
}

/** The task as this machine runs it: a torch task gets this machine's Python and device. */
export function adapt<T extends ComputeTask>(task: T, o: Pick<QueueWorkerOptions, 'engine' | 'torch'>): T {
  if (task.kind !== 'train' || task.engine !== 'torch' || !o.torch) return task;
  return { ...task, torch: { ...(task.torch ?? o.torch), python: o.torch.python, device: o.torch.device } };
}
