/**
 * The worker side of the pool (see worker-pool.ts). Run as a forked child it receives tasks over
 * IPC and answers with progress, result or error messages; imported (pool size 0) it provides
 * `executeTask`, the same code path in-process.
 *
 * Per process it keeps: the initialised backend (per preference, initialised once) and the
 * loaded datasets (cached by their spec object), so a worker that trains many losses or seeds
 * loads MNIST once.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { parseAugment } from './augment';
import { initBackend, type BackendInfo, type BackendName } from './backend';
import { compileSource } from './compile';
import { loadDatasetSync, type Dataset } from './data';
import { train, type LossFn } from './train';
import type { CallTask, DatasetTaskSpec, DebugResult, DebugTask, FromWorker, Progress, Task, ToWorker, TrainTask, TrainTaskResult } from './worker-pool';

export interface TaskContext {
  signal: AbortSignal;
  progress: (p: Progress) => void;
}

/** What a `call` task's function receives besides its input. */
export interface CallContext extends TaskContext {
  backend: (pref?: 'auto' | BackendName) => Promise<BackendInfo>;
  dataset: (spec: DatasetTaskSpec) => Dataset;
}

let backendInfo: { pref: string; info: BackendInfo } | undefined;

/** The prefix folder `lossmith backend install` installs native backends into (LOSSMITH_BACKENDS overrides). */
export function backendsPrefix(): string {
  return process.env.LOSSMITH_BACKENDS ?? path.join(os.homedir(), '.lossmith', 'backends');
}

/** <prefix>/node_modules if it exists (where the engine looks for native backends). */
export function defaultBackendsDir(): string | undefined {
  const d = path.join(backendsPrefix(), 'node_modules');
  return fs.existsSync(d) ? d : undefined;
}

/** Initialises the backend once per process and preference. */
export async function ensureBackend(pref: 'auto' | BackendName = 'auto'): Promise<BackendInfo> {
  if (backendInfo && (backendInfo.pref === pref || (pref !== 'auto' && backendInfo.info.name === pref))) {
    if (tf.getBackend() !== tfName(backendInfo.info.name)) await tf.setBackend(tfName(backendInfo.info.name));
    return backendInfo.info;
  }
  const info = await initBackend(pref, { backendsDir: defaultBackendsDir() });
  backendInfo = { pref, info };
  return info;
}

function tfName(b: BackendName): string {
  return b === 'tensorflow-gpu' ? 'tensorflow' : b;
}

const datasets = new Map<string, Dataset>();

function datasetKey(s: DatasetTaskSpec): string {
  return JSON.stringify([s.spec, s.seed, s.maxTrain ?? null, s.labelNoise ?? null, s.imbalance ?? null, s.cwd ?? null]);
}

/** Loads a dataset once per process (by spec). */
export function cachedDataset(s: DatasetTaskSpec): Dataset {
  const key = datasetKey(s);
  let ds = datasets.get(key);
  if (!ds) {
    ds = loadDatasetSync(s.spec, { seed: s.seed, maxTrain: s.maxTrain, labelNoise: s.labelNoise, imbalance: s.imbalance, cwd: s.cwd });
    // A handful of configurations at most per run; keep memory bounded anyway.
    if (datasets.size >= 4) datasets.delete(datasets.keys().next().value as string);
    datasets.set(key, ds);
  }
  return ds;
}

const nullIfNaN = (v: number): number | null => (Number.isFinite(v) ? v : null);

async function runTrain(task: TrainTask, ctx: TaskContext): Promise<TrainTaskResult> {
  const backend = await ensureBackend(task.backend);
  ctx.progress({ kind: 'backend', backend, pid: process.pid });
  const loss: LossFn = compileSource(task.lossSource, task.lossName, task.params);
  let perturbLoss: LossFn | undefined;
  if (task.perturbLossName) {
    if (!task.train.sam) throw new Error(`perturbLossName '${task.perturbLossName}' needs train.sam`);
    perturbLoss = compileSource(task.perturbLossSource ?? task.lossSource, task.perturbLossName, task.perturbLossSource ? undefined : task.params);
  }
  const ds = cachedDataset(task.dataset);
  const aug = parseAugment(task.augment);
  const t = task.train;
  const r = await train({
    model: t.model,
    dataset: ds,
    loss,
    augment: aug.name === 'none' ? undefined : aug.augment,
    optimizer: t.optimizer,
    lr: t.lr,
    warmup: t.warmup,
    schedule: t.schedule,
    batchSize: t.batchSize,
    epochs: t.epochs,
    stepsPerEpoch: t.stepsPerEpoch,
    maxVal: t.maxVal,
    seed: t.seed,
    sam: t.sam ? { ...t.sam, ...(perturbLoss ? { perturbLoss } : {}) } : undefined,
    earlyStop: t.earlyStop,
    testWith: t.testWith,
    signal: ctx.signal,
    onEpoch: (s) =>
      ctx.progress({ kind: 'epoch', epoch: { epoch: s.epoch, trainLoss: s.trainLoss, trainAcc: s.trainAcc, valAcc: s.valAcc ?? NaN, lr: s.lr, ms: s.ms } }),
  });
  return {
    status: r.status,
    history: r.history,
    bestValAcc: nullIfNaN(r.bestValAcc),
    bestEpoch: r.bestEpoch,
    testAcc: r.testAcc,
    testWeights: r.testWeights,
    steps: r.steps,
    wallMs: r.wallMs,
    backend,
    dataset: { name: ds.name, train: ds.train.n, val: ds.val.n, test: ds.test.n, classes: ds.numClasses },
    pid: process.pid,
    ...(r.reason ? { reason: r.reason } : {}),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runDebug(task: DebugTask, ctx: TaskContext): Promise<DebugResult> {
  const startedAt = Date.now();
  const n = task.progress ?? 0;
  const slice = (task.sleepMs ?? 0) / Math.max(1, n);
  for (let i = 0; i < n; i++) {
    await sleep(slice);
    if (ctx.signal.aborted) throw new Error('aborted');
    ctx.progress({ kind: 'custom', data: i });
  }
  if (n === 0 && task.sleepMs) await sleep(task.sleepMs);
  if (task.exitCode !== undefined) process.exit(task.exitCode);
  if (task.throwMessage !== undefined) throw new Error(task.throwMessage);
  return { echo: task.echo, pid: process.pid, startedAt, endedAt: Date.now() };
}

async function runCall(task: CallTask, ctx: TaskContext): Promise<unknown> {
  if (task.backend) await ensureBackend(task.backend);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(task.module) as Record<string, unknown>;
  const fn = mod[task.fn];
  if (typeof fn !== 'function') throw new Error(`${task.module} has no exported function ${task.fn}`);
  const cctx: CallContext = { ...ctx, backend: ensureBackend, dataset: cachedDataset };
  return (fn as (input: unknown, c: CallContext) => unknown)(task.input, cctx);
}

/** Runs one task in this process (the worker's code path; the pool's size-0 mode). */
export async function executeTask(task: Task, ctx: TaskContext): Promise<unknown> {
  switch (task.kind) {
    case 'train':
      return runTrain(task, ctx);
    case 'debug':
      return runDebug(task, ctx);
    case 'call':
      return runCall(task, ctx);
    default:
      throw new Error(`unknown task kind '${(task as { kind: string }).kind}'`);
  }
}

/** The forked child's message loop. */
function workerMain(): void {
  const send = (m: FromWorker): void => {
    if (process.connected) process.send!(m);
  };
  let busy = false;
  process.on('message', (m: ToWorker) => {
    if (m.type === 'shutdown') {
      process.disconnect();
      process.exit(0);
    }
    if (m.type !== 'task') return;
    if (busy) {
      send({ type: 'error', id: m.id, message: 'worker is busy (internal error: one task at a time)' });
      return;
    }
    busy = true;
    const abort = new AbortController();
    executeTask(m.task, { signal: abort.signal, progress: (p) => send({ type: 'progress', id: m.id, progress: p }) }).then(
      (result) => {
        busy = false;
        send({ type: 'result', id: m.id, result });
      },
      (e: unknown) => {
        busy = false;
        const err = e instanceof Error ? e : new Error(String(e));
        send({ type: 'error', id: m.id, message: err.message, stack: err.stack });
      },
    );
  });
  // The parent went away: nothing left to do.
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C in a terminal signals the whole process group: the parent decides what to cancel
  // (and kills this worker with SIGTERM if needed); a worker must not die on its own first.
  process.on('SIGINT', () => undefined);
  send({ type: 'ready', pid: process.pid });
}

if (require.main === module && typeof process.send === 'function') workerMain();
