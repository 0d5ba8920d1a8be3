import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import {
  TaskCancelledError,
  TaskError,
  WorkerCrashError,
  WorkerPool,
  type Progress,
  type TrainTask,
} from '../../engine/src/run/worker-pool';

const WORKER = path.join(__dirname, '..', '..', 'engine', 'src', 'run', 'worker-main.js');

const CE = 'loss ce = -sum(y * log_softmax(logits))\n';

function trainTask(seed: number): TrainTask {
  return {
    kind: 'train',
    lossSource: CE,
    lossName: 'ce',
    backend: 'wasm',
    dataset: { spec: 'mnist', seed: 1, maxTrain: 200 },
    augment: 'cutout',
    train: { model: { kind: 'mlp', hidden: [32] }, epochs: 2, batchSize: 50, maxVal: 200, seed, lr: 3e-3 },
  };
}

test('tasks run in parallel on two workers', async () => {
  const pool = new WorkerPool({ size: 2, workerScript: WORKER });
  try {
    await Promise.all([0, 1].map(() => pool.run({ kind: 'debug' }))); // workers started
    const rs = await Promise.all([0, 1].map((i) => pool.run({ kind: 'debug', sleepMs: 1500, echo: i })));
    assert.deepEqual(rs.map((r) => r.echo), [0, 1]);
    assert.notEqual(rs[0].pid, rs[1].pid, 'two different processes');
    // Overlap, not speed: each task was running while the other one was.
    assert.ok(rs[0].startedAt < rs[1].endedAt && rs[1].startedAt < rs[0].endedAt, `intervals do not overlap: ${JSON.stringify(rs)}`);
  } finally {
    await pool.close();
  }
});

test('a worker that dies rejects only its task; the pool recovers', async () => {
  const pool = new WorkerPool({ size: 2, workerScript: WORKER });
  try {
    const before = pool.pids();
    const dying = pool.run({ kind: 'debug', sleepMs: 100, exitCode: 3 });
    const fine = pool.run({ kind: 'debug', sleepMs: 400, echo: 'ok' });
    await assert.rejects(dying, (e: unknown) => e instanceof WorkerCrashError && /exit code 3/.test((e as Error).message));
    assert.equal((await fine).echo, 'ok');
    // Later tasks still run (on the replacement worker too).
    const more = await Promise.all([1, 2, 3].map((i) => pool.run({ kind: 'debug', sleepMs: 50, echo: i })));
    assert.deepEqual(more.map((r) => r.echo), [1, 2, 3]);
    assert.equal(pool.pids().length, 2);
    assert.notDeepEqual(pool.pids(), before);
    // An error thrown by the task is a TaskError, and the worker survives.
    await assert.rejects(pool.run({ kind: 'debug', throwMessage: 'boom' }), (e: unknown) => e instanceof TaskError && (e as Error).message === 'boom');
  } finally {
    await pool.close();
  }
});

test('cancellation: by id and by AbortSignal; queued and running; progress streams', async () => {
  const pool = new WorkerPool({ size: 1, workerScript: WORKER, killGraceMs: 500 });
  try {
    const seen: Progress[] = [];
    let firstProgress!: () => void;
    const progressed = new Promise<void>((r) => (firstProgress = r));
    const running = pool.submit({ kind: 'debug', sleepMs: 20000, progress: 200 }, {
      onProgress: (p) => {
        seen.push(p);
        firstProgress();
      },
    });
    const queued = pool.submit({ kind: 'debug', echo: 'never' });
    const pid = pool.pids()[0];
    await progressed; // progress arrives while the task runs
    assert.ok(seen.length > 0);
    assert.equal(pool.cancel(queued.id), true);
    await assert.rejects(queued.promise, TaskCancelledError);
    assert.equal(pool.cancel(running.id), true);
    await assert.rejects(running.promise, TaskCancelledError);
    assert.equal(pool.cancel(running.id), false, 'already finished');
    // The killed worker is gone (SIGTERM, SIGKILL after 500 ms) and replaced.
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(), false);
    assert.ok(!pool.pids().includes(pid));
    const ac = new AbortController();
    const viaSignal = pool.run({ kind: 'debug', sleepMs: 20000 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    await assert.rejects(viaSignal, TaskCancelledError);
    assert.equal((await pool.run({ kind: 'debug', echo: 5 })).echo, 5);
  } finally {
    await pool.close();
  }
});

test('in-process pool (size 0): same training result as a worker process for the same seed', async () => {
  const seen: number[] = [];
  const local = new WorkerPool({ size: 0 });
  const a = await local.run(trainTask(11), { onProgress: (p) => p.kind === 'epoch' && seen.push(p.epoch.epoch) });
  await local.close();
  const pool = new WorkerPool({ size: 1, workerScript: WORKER });
  try {
    const b = await pool.run(trainTask(11));
    assert.equal(a.status, 'completed');
    assert.deepEqual(seen, [1, 2]);
    assert.equal(a.backend.name, 'wasm');
    assert.equal(b.backend.name, 'wasm');
    assert.notEqual(a.pid, b.pid);
    assert.deepEqual(
      a.history.map((h) => [h.trainLoss, h.trainAcc, h.valAcc]),
      b.history.map((h) => [h.trainLoss, h.trainAcc, h.valAcc]),
    );
    assert.equal(a.testAcc, b.testAcc);
    assert.equal(a.dataset.train, 200);
  } finally {
    await pool.close();
  }
});

test('in-process cancellation rejects the task and stops the training', async () => {
  const local = new WorkerPool({ size: 0 });
  const ac = new AbortController();
  const task = trainTask(3);
  task.train.epochs = 50;
  const p = local.run(task, { signal: ac.signal, onProgress: (pr) => pr.kind === 'epoch' && ac.abort() });
  await assert.rejects(p, TaskCancelledError);
  await local.close();
});

test('train task with SAM and a perturbation loss from the same file (AACE style)', async () => {
  const local = new WorkerPool({ size: 0 });
  try {
    const task = trainTask(5);
    task.lossSource =
      'let pt = sum(y * p)\nlet t = stop_gradient((1 - y) * p / (1 - pt))\nloss aace = sum(t * (log(clamp(t, 1e-12, 1)) - log_softmax(logits)))\n' +
      'param eps = 0.1\nloss ls = -sum(((1 - eps) * y + eps / C) * log_softmax(logits))\n';
    task.lossName = 'ls';
    task.perturbLossName = 'aace';
    task.train.epochs = 1;
    task.train.sam = { rho: 0.05 };
    const r = await local.run(task);
    assert.equal(r.status, 'completed');
    const plain = await local.run({ ...task, perturbLossName: undefined, train: { ...task.train, sam: undefined } });
    assert.notEqual(r.history[0].trainLoss, plain.history[0].trainLoss, 'SAM changes the trajectory');
    await assert.rejects(local.run({ ...task, train: { ...task.train, sam: undefined } }), /needs train\.sam/);
  } finally {
    await local.close();
  }
});
