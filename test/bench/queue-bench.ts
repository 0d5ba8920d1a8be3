/**
 * `npm run bench -- queue`: what the Redis job queue costs (docs/queue.md, "Scaling").
 *
 * 1. Trainings per minute, the same 6 small MLP trainings (MNIST 2000, 2 x 100 steps, batch 64)
 *    on the local worker pool (1 and 2 processes) and through the queue (QueueRunner here, 1 and
 *    2 real `lossmith worker` processes on this machine, Redis on 127.0.0.1, AOF fsynced always).
 *    Workers are warmed up first (tfjs and MNIST loaded), as a long-lived worker is; pool and
 *    queue are measured in turn, twice, and the best of each kept (the machine's load moves).
 * 2. The queue's overhead per training: tiny trainings one after another (latency) through the
 *    local pool and through the queue; the difference is what the queue adds to each task.
 * 3. What Redis + BullMQ sustain on their own: 2,000 jobs with a real TrainTask as data and a
 *    result-sized answer, taken by a no-op processor (8 at once): tasks per second, the ceiling
 *    that the worked estimate for 64 GPUs is compared with.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { WorkerPool, type TrainTask } from '../../engine/src/run/worker-pool';
import type { TaskRunner } from '../../engine/src/run/task-runner';
import { QueueRunner } from '../../engine/src/queue/queue-runner';
import { KEY_PREFIX, parseQueueUrl, redisOptions } from '../../engine/src/queue/connection';
import { haveRedis, startRedis } from '../helpers/redis';

const ROOT = path.join(__dirname, '..', '..', '..');
const WORKER = path.join(__dirname, '..', '..', 'engine', 'src', 'run', 'worker-main.js');
const FOCAL = fs.readFileSync(path.join(ROOT, 'examples', 'focal.loss'), 'utf8');

function task(seed: number, steps = 100, epochs = 2): TrainTask {
  return {
    kind: 'train',
    lossSource: FOCAL,
    lossName: 'focal',
    backend: 'wasm',
    dataset: { spec: 'mnist', seed: 0, maxTrain: 2000 },
    augment: 'none',
    train: { model: { kind: 'mlp' }, epochs, stepsPerEpoch: steps, batchSize: 64, seed, lr: 3e-3, maxVal: 200 },
  };
}

async function time(runner: TaskRunner, tasks: TrainTask[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(tasks.map((t) => runner.run(t)));
  return performance.now() - t0;
}

/** Mean ms of tiny trainings run one after another. */
async function latency(runner: TaskRunner, seeds: number[]): Promise<number> {
  const t0 = performance.now();
  for (const s of seeds) await runner.run(task(s, 1, 1));
  return (performance.now() - t0) / seeds.length;
}

function startWorkers(url: string, n: number): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: n }, () => {
      const p = spawn(process.execPath, [path.join(ROOT, 'bin', 'lossmith.js'), 'worker', '--queue', url, '--concurrency', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
      return new Promise<ChildProcess>((resolve) => {
        let out = '';
        p.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          if (/ lossmith worker /.test(out)) resolve(p);
        });
      });
    }),
  );
}

const stopAll = (ps: ChildProcess[]): Promise<unknown> => Promise.all(ps.map((p) => new Promise((r) => (p.kill('SIGTERM'), p.once('exit', r)))));

export async function runQueueBench(): Promise<void> {
  if (!haveRedis()) {
    console.log('redis-server not found: skipped (Debian: apt-get install redis-server)');
    return;
  }
  const redis = await startRedis();
  const url = redis.url();
  const target = parseQueueUrl(url);
  const N = 6;
  const tasks = Array.from({ length: N }, (_, i) => task(i + 1));
  const rows: [string, number, number][] = [];
  const overhead: [string, number][] = [];
  try {
    for (const size of [1, 2]) {
      // Both warmed up, then measured in turn, twice (the best of each): the machine's load moves.
      const pool = new WorkerPool({ size, workerScript: WORKER });
      await Promise.all(Array.from({ length: size }, (_, i) => pool.run(task(100 + i, 30, 1))));
      const workers = await startWorkers(url, size);
      const runner = new QueueRunner({ target, namespace: `bench-${size}-${Date.now()}`, pollMs: 2000 });
      await Promise.all(Array.from({ length: size }, (_, i) => runner.run(task(100 + i, 30, 1))));
      let [poolMs, queueMs] = [Infinity, Infinity];
      for (let round = 0; round < 2; round++) {
        poolMs = Math.min(poolMs, await time(pool, tasks.map((t) => ({ ...t, train: { ...t.train, seed: t.train.seed + 1000 * round } }))));
        queueMs = Math.min(queueMs, await time(runner, tasks.map((t) => ({ ...t, train: { ...t.train, seed: t.train.seed + 1000 * round } }))));
      }
      rows.push([`local pool, ${size} process${size === 1 ? '' : 'es'}`, size, poolMs], [`queue, ${size} worker${size === 1 ? '' : 's'}`, size, queueMs]);
      if (size === 1) {
        overhead.push(['local pool', await latency(pool, Array.from({ length: 15 }, (_, i) => 300 + i))]);
        overhead.push(['queue', await latency(runner, Array.from({ length: 15 }, (_, i) => 300 + i))]);
      }
      await pool.close();
      await runner.close();
      await stopAll(workers);
    }
    console.log(`Trainings per minute: ${N} MLP trainings (MNIST 2000, 2 x 100 steps, batch 64, wasm), warmed-up workers on this machine:`);
    const perMin = (ms: number): number => (N / ms) * 60_000;
    for (const [label, size, ms] of rows) {
      const localMs = rows.find(([l, s]) => l.startsWith('local') && s === size)![2];
      const oneMs = rows.find(([l, s]) => l.startsWith(label.split(',')[0]) && s === 1)![2];
      console.log(`  ${label.padEnd(26)} ${(ms / 1000).toFixed(1).padStart(6)} s  ${perMin(ms).toFixed(1).padStart(6)}/min  ${label.startsWith('queue') ? `${((100 * ms) / localMs - 100).toFixed(1).padStart(5)}% time vs local pool` : ''.padEnd(27)}  ${size > 1 ? `${(oneMs / ms).toFixed(2)}x one` : ''}`);
    }
    console.log('\nOverhead per training: 15 tiny trainings (1 step) one after another, mean round trip:');
    for (const [label, ms] of overhead) console.log(`  ${label.padEnd(12)} ${ms.toFixed(1).padStart(7)} ms`);
    console.log(`  the queue adds ${(overhead[1][1] - overhead[0][1]).toFixed(1)} ms per training (submit, Redis, a worker taking it, progress and result back)`);
    await bullmqCeiling(target);
  } finally {
    await redis.stop();
  }
}

/** Redis + BullMQ alone: jobs with a real task as data, a no-op worker, tasks per second. */
async function bullmqCeiling(target: ReturnType<typeof parseQueueUrl>): Promise<void> {
  const connection = redisOptions(target);
  const name = `ceiling${Date.now()}`;
  const queue = new Queue(name, { connection, prefix: KEY_PREFIX });
  const events = new QueueEvents(name, { connection, prefix: KEY_PREFIX });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const data = task(1);
  const answer = { status: 'completed', history: Array.from({ length: 5 }, (_, e) => ({ epoch: e + 1, trainLoss: 0.5, trainAcc: 0.9, valAcc: 0.9, lr: 3e-3, ms: 1000 })), testAcc: 0.9, bestValAcc: 0.9, pad: 'x'.repeat(800) };
  const M = 2000;
  let done = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => (finish = r));
  const worker = new Worker(name, async (job) => {
    await job.updateProgress({ kind: 'epoch' });
    return answer;
  }, { connection, prefix: KEY_PREFIX, concurrency: 8 });
  events.on('completed', () => {
    if (++done === M) finish();
  });
  const t0 = performance.now();
  for (let i = 0; i < M; i += 100) await queue.addBulk(Array.from({ length: 100 }, (_, k) => ({ name: 'train', data, opts: { jobId: `ceiling.${i + k}`, removeOnComplete: true } })));
  await all;
  const ms = performance.now() - t0;
  console.log(`\nRedis + BullMQ alone (127.0.0.1, AOF fsync always, 2 cores shared with the submitter and the worker): ${M} jobs with a TrainTask as data,`);
  console.log(`one progress message and a result-sized answer each, a no-op worker taking 8 at once: ${(M / (ms / 1000)).toFixed(0)} tasks/s (${((1000 * ms) / M / 1000).toFixed(2)} ms of queue time per task)`);
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
}

if (require.main === module) {
  runQueueBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
