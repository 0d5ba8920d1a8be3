/**
 * The job queue on the command line (docs/queue.md):
 *
 *   lossmith worker --queue redis://[user:password@]host:port[/db] [--engine E] [--concurrency N]
 *                   [--device D] [--python P] [--queue-password-file F]
 *
 * and what `compare`, `run` and `evolve` share for `--queue URL`: the options, and opening the
 * queue (URL, password, one connection check with a short timeout) before any run folder is
 * made, so bad input is one line and nothing is left behind. bullmq is loaded only by the
 * commands that use the queue.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import * as os from 'os';
import type { EngineName, QueueWorkerJson } from '../../../protocol/run-events';
import { chooseEngine, EngineError } from '../compute/select';
import { checkQueue, deviceClassOf, parseQueueUrl, queueName, QueueError, workersText, type DeviceClass, type QueueCheck, type QueueTarget } from '../queue/connection';
import type { RunnerFactory } from '../run/task-runner';
import { packageVersion, UsageError, type Io, type Registrar } from './io';

/** Adds --queue and --queue-password-file to a command. */
export function addQueueOptions(cmd: Command): Command {
  return cmd
    .option('--queue <url>', 'train on the workers of this Redis job queue (lossmith worker): redis://[user:password@]host:port[/db], rediss:// for TLS (docs/queue.md)')
    .option('--queue-password-file <file>', `the queue's password from this file (else the URL's, else $LOSSMITH_REDIS_PASSWORD)`);
}

/** A queue's URL parsed, its password found and the connection checked, or a UsageError in one line. */
export async function openQueue(target: QueueTarget | string, passwordFile?: string): Promise<{ target: QueueTarget; check: QueueCheck }> {
  try {
    const t = typeof target === 'string' ? parseQueueUrl(target, { passwordFile }) : target;
    return { target: t, check: await checkQueue(t) };
  } catch (e) {
    if (e instanceof QueueError) throw new UsageError(e.message);
    throw e;
  }
}

/** What a run needs of an open queue: the runner factory, its `queue` event, its worker count and a line for the user. */
export function queueRun(target: QueueTarget, check: QueueCheck, engine: EngineName, device?: string): { runner: RunnerFactory; queue: { url: string; workers: QueueWorkerJson[] }; slots: number; line: string } {
  const cls = engine === 'torch' ? deviceClassOf(device) : undefined;
  const slots = check.workers.filter((w) => w.engine === engine && (!cls || (w.queues ?? []).includes(queueName(engine, cls)))).reduce((s, w) => s + w.concurrency, 0);
  const runner: RunnerFactory = (namespace) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { QueueRunner } = require('../queue/queue-runner') as typeof import('../queue/queue-runner');
    return new QueueRunner({ target, namespace, size: slots });
  };
  return { runner, queue: { url: target.url, workers: check.workers }, slots, line: `queue ${target.url} (Redis ${check.redisVersion}): ${workersText(check.workers, engine, cls)}` };
}

interface WorkerFlags {
  queue: string;
  queuePasswordFile?: string;
  engine?: 'auto' | EngineName;
  python?: string;
  device?: string;
  concurrency?: string;
}

/** The engine, devices and slot count of this worker machine, or one line saying why it cannot serve. */
function workerEngine(f: WorkerFlags): { engine: EngineName; torch?: import('../compute/types').TorchOptionsJson; summary: string; devices: string[]; deviceClass?: DeviceClass; concurrency: number; versions: Record<string, string> } {
  let choice;
  try {
    choice = chooseEngine({ engine: f.engine ?? 'auto', python: f.python, device: f.device }, 'mlp');
  } catch (e) {
    // One line whatever the cause (an engine that cannot run, a broken installation).
    throw new UsageError(e instanceof EngineError ? e.message : String((e as Error)?.message ?? e).split('\n')[0]);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const versions: Record<string, string> = { lossmith: packageVersion(), node: process.versions.node, bullmq: (require('bullmq/package.json') as { version: string }).version };
  let devices = [`cpu (${os.cpus().length} cores)`];
  if (choice.engine === 'torch') {
    const m = /, torch ([^,]+)/.exec(choice.note);
    if (m) versions.torch = m[1];
    const gpus = /device (cuda[^ ]*) \(([^)]*)\)/.exec(choice.note);
    if (gpus) devices = gpus[2].split(', ').map((name, i) => `cuda:${i} ${name}`);
    else if (/device mps/.test(choice.note)) devices = ['mps'];
  }
  const n = f.concurrency === undefined ? undefined : Number(f.concurrency);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new UsageError(`--concurrency must be an integer >= 1, got '${f.concurrency}'`);
  const concurrency = n ?? choice.defaultWorkers ?? (choice.engine === 'torch' ? 1 : os.cpus().length);
  // A torch worker also takes the trainings pinned to its device class (`compare --device cuda`).
  const deviceClass: DeviceClass | undefined = choice.engine !== 'torch' ? undefined : devices[0].startsWith('cuda') ? 'cuda' : devices[0] === 'mps' ? 'mps' : 'cpu';
  return { engine: choice.engine, ...(choice.torch ? { torch: choice.torch } : {}), summary: choice.note, devices, ...(deviceClass ? { deviceClass } : {}), concurrency, versions };
}

export const register: Registrar = (program: Command, io: Io, setExit) => {
  program
    .command('worker')
    .description('Take training tasks from a Redis job queue and train them on this machine (compare/evolve --queue submit them); see docs/queue.md.')
    .requiredOption('--queue <url>', 'the queue: redis://[user:password@]host:port[/db] (rediss:// for TLS)')
    .option('--queue-password-file <file>', `the queue's password from this file (else the URL's, else $LOSSMITH_REDIS_PASSWORD)`)
    .addOption(new Option('--engine <name>', 'the engine this worker trains with: auto (torch when the Python has torch, else tfjs), tfjs, torch; it takes only tasks of that engine').choices(['auto', 'tfjs', 'torch']))
    .option('--python <path>', 'torch engine: the Python with torch (default $LOSSMITH_PYTHON, else python3)')
    .option('--device <d>', 'torch engine: auto | cpu | cuda (slots spread over the GPUs) | cuda:N | mps')
    .option('--concurrency <n>', 'trainings at once (default: one per GPU on torch with CUDA, 1 on torch otherwise, one per core on tfjs)')
    .action(async (f: WorkerFlags) => {
      const { target } = await openQueue(f.queue, f.queuePasswordFile);
      const e = workerEngine(f);
      const stamp = (): string => new Date().toISOString().slice(11, 19);
      const log = (line: string): void => io.out(`${stamp()} ${line}\n`);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startQueueWorker } = require('../queue/worker') as typeof import('../queue/worker');
      const w = await startQueueWorker({ target, engine: e.engine, ...(e.deviceClass ? { deviceClass: e.deviceClass } : {}), ...(e.torch ? { torch: e.torch } : {}), concurrency: e.concurrency, summary: e.summary, devices: e.devices, versions: e.versions, log });
      log(`lossmith worker ${w.id}: ${e.summary}; ${e.concurrency} slot${e.concurrency === 1 ? '' : 's'} on ${e.devices.join(', ')}; queue ${target.url} (${(w.info().queues ?? []).map((q) => `lossmith:${q}`).join(', ')})`);
      await new Promise<void>((resolve) => {
        const stop = (sig: NodeJS.Signals): void => {
          log(`${sig}: leaving (running trainings go back to the queue)`);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void w.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      setExit(0);
      // Connections that still try to reach a Redis that is gone must not keep the process.
      setTimeout(() => process.exit(0), 2000).unref();
    });
};
