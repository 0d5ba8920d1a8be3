/**
 * The worker side of the pool (see worker-pool.ts). Run as a forked child it receives tasks over
 * IPC and answers with progress, result or error messages; imported (pool size 0) it provides
 * `executeTask`, the same code path in-process.
 *
 * A train task goes to its compute engine (compute/engines.ts), loaded on first use; engines
 * keep what is worth keeping between tasks (the tfjs backend, datasets, the torch runner
 * process), so a worker that trains many losses or seeds loads MNIST once.
 */
import { loadEngine, loadedEngines } from '../compute/engines';
import type { TaskContext } from '../compute/types';
import type { DebugResult, DebugTask, FromWorker, Task, ToWorker } from './worker-messages';

export type { TaskContext } from '../compute/types';

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

/** Runs one task in this process (the worker's code path; the pool's size-0 mode). */
export async function executeTask(task: Task, ctx: TaskContext): Promise<unknown> {
  switch (task.kind) {
    case 'train':
      return loadEngine(task.engine ?? 'tfjs').train(task, ctx);
    case 'gan': {
      const engine = loadEngine(task.engine ?? 'tfjs');
      if (!engine.gan) throw new Error(`the ${engine.name} engine cannot train GANs yet (use --engine tfjs)`);
      return engine.gan(task, ctx);
    }
    case 'segmentation': {
      const engine = loadEngine(task.engine ?? 'tfjs');
      if (!engine.segment) throw new Error(`the ${engine.name} engine cannot train segmentation models yet (use --engine tfjs)`);
      return engine.segment(task, ctx);
    }
    case 'debug':
      return runDebug(task, ctx);
    default:
      throw new Error(`unknown task kind '${(task as { kind: string }).kind}'`);
  }
}

/** The forked child's message loop. */
export function workerMain(): void {
  const send = (m: FromWorker): void => {
    if (process.connected) process.send!(m);
  };
  let busy = false;
  const exit = (code: number): never => {
    for (const e of loadedEngines()) e.shutdown?.();
    process.exit(code);
  };
  process.on('message', (m: ToWorker) => {
    if (m.type === 'shutdown') {
      process.disconnect();
      exit(0);
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
  process.on('disconnect', () => exit(0));
  // Cancelling a task kills its worker with SIGTERM: child processes of an engine (the torch
  // runner) go with it. (After SIGKILL they notice on their own: the runner watches its parent.)
  process.on('SIGTERM', () => exit(143));
  // Ctrl-C in a terminal signals the whole process group: the parent decides what to cancel
  // (and kills this worker with SIGTERM if needed); a worker must not die on its own first.
  process.on('SIGINT', () => undefined);
  send({ type: 'ready', pid: process.pid });
}

if (require.main === module && typeof process.send === 'function') workerMain();
