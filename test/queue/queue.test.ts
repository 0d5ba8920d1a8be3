/**
 * The job queue end to end: a real redis-server (test/helpers/redis.ts, AOF on, a password),
 * real `lossmith worker` processes and real `lossmith compare --queue` submitters, all through
 * bin/lossmith.js. Every queued run must give exactly the trainings of a local run of the same
 * seeds (tfjs is deterministic per seed), each once, whatever dies on the way: a worker
 * (SIGKILL mid-training), the submitter (SIGKILL, then --resume), Redis (SIGKILL, restarted
 * from its append-only file). Bad queue input is one line and leaves no run folder; the
 * password is in no file of any run folder.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tmpDir } from '../helpers/tmp';
import { freePort, haveRedis, startRedis, type TestRedis } from '../helpers/redis';
import { findTorchPython } from '../export/python';

const ROOT = path.join(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'lossmith.js');
const LOSS = `${path.join(ROOT, 'examples', 'focal.loss')}#focal`;
// 2 losses x 2 seeds = 4 trainings of a few seconds: long enough to kill one mid-training.
const TINY = ['--model', 'mlp', '--max-train', '300', '--max-val', '200', '--batch-size', '32', '--epochs', '3', '--steps-per-epoch', '60', '--seeds', '2', '--backend', 'wasm'];
const PASSWORD = 'pw-Qx7#queue-test';
// Short locks and stalled checks, so a dead worker's task comes back within seconds.
const ENV: NodeJS.ProcessEnv = { ...process.env, LOSSMITH_QUEUE_LOCK_MS: '2000', LOSSMITH_QUEUE_STALLED_MS: '1000', LOSSMITH_QUEUE_POLL_MS: '500', LOSSMITH_REDIS_PASSWORD: '' };

const skip = !haveRedis();
const TORCH_PYTHON = findTorchPython() ?? '/usr/bin/python3';
const haveTorch = findTorchPython() !== null;
if (!haveTorch && process.env.CI === 'true') throw new Error('python3-torch is required when CI=true (.ci/run installs it)');
if (skip && process.env.CI === 'true') throw new Error('redis-server is required when CI=true (.ci/run installs it)');

interface Proc {
  proc: ChildProcess;
  out: string[];
  err: string;
  exit: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = ENV): Proc {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { proc, out: [], err: '', exit: new Promise((resolve) => proc.on('exit', (code) => resolve(code))) };
  let buf = '';
  proc.stdout!.on('data', (b: Buffer) => {
    buf += b.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop()!;
    p.out.push(...lines);
  });
  proc.stderr!.on('data', (b: Buffer) => (p.err += b.toString('utf8')));
  return p;
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Ev = Record<string, unknown> & { type: string };
function events(dir: string): Ev[] {
  const f = path.join(dir, 'events.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l) as Ev];
    } catch {
      return [];
    }
  });
}

/** The only run folder in `runsDir`, once it exists. */
const runDir = (runsDir: string): Promise<string> => until('the run folder', () => fs.existsSync(runsDir) && fs.readdirSync(runsDir).length === 1 && path.join(runsDir, fs.readdirSync(runsDir)[0]));

const keyOf = (e: Ev): string => `${String(e.loss)} seed ${String(e.seed)}`;

let redis: TestRedis;
let local: Map<string, Ev>;
const workers: (Proc & { id: string })[] = [];
const base = tmpDir('lossmith-queue-');

async function startWorker(url: string, env: NodeJS.ProcessEnv = ENV): Promise<Proc & { id: string }> {
  const w = start(['worker', '--queue', url, '--concurrency', '1'], env);
  const line = await until(`a worker to start (stderr: ${w.err})`, () => w.out.find((l) => / lossmith worker /.test(l)), 30_000);
  const id = / lossmith worker (\S+):/.exec(line)![1];
  const ww = Object.assign(w, { id });
  workers.push(ww);
  return ww;
}

/** Every training of the queued run once, completed, with the local run's numbers. */
function assertLikeLocal(dir: string): Ev[] {
  const ends = events(dir).filter((e) => e.type === 'seed-end');
  const keys = ends.map(keyOf).sort();
  assert.deepEqual(keys, [...local.keys()].sort(), 'each training ended exactly once');
  for (const e of ends) {
    const l = local.get(keyOf(e))!;
    assert.equal(e.status, 'completed', keyOf(e));
    assert.equal(e.testAcc, l.testAcc, `${keyOf(e)}: test accuracy as in the local run`);
    assert.equal(e.bestValAcc, l.bestValAcc, `${keyOf(e)}: validation accuracy as in the local run`);
    assert.ok(e.worker && typeof (e.worker as { host: unknown }).host === 'string', `${keyOf(e)} records its worker`);
  }
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { status: string; finished: number };
  assert.equal(summary.status, 'done');
  assert.equal(summary.finished, 4);
  return ends;
}

/** Lines of every worker about jobs of this run (`took RUN.` / `done RUN.`). */
const jobLines = (verb: string, runId: string): string[] => workers.flatMap((w) => w.out.filter((l) => l.includes(` ${verb} ${runId}.`)));

before(async () => {
  if (skip) return;
  redis = await startRedis({ password: PASSWORD });
  // The local reference: the same trainings on the local worker pool.
  const runs = path.join(base, 'local');
  const r = start(['compare', LOSS, ...TINY, '--workers', '2', '--json', '--runs-dir', runs]);
  assert.equal(await r.exit, 0, r.err);
  local = new Map(events(await runDir(runs)).filter((e) => e.type === 'seed-end').map((e) => [keyOf(e), e]));
  assert.equal(local.size, 4);
});

after(async () => {
  for (const w of workers) w.proc.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exit));
  await redis?.stop();
});

test('a worker SIGKILLed mid-training: its task goes to another worker, every training once, results as a local run', { skip }, async () => {
  for (let i = 0; i < 3; i++) await startWorker(redis.url(true));
  const runs = path.join(base, 'kill-worker');
  const sub = start(['compare', LOSS, ...TINY, '--queue', redis.url(true), '--json', '--runs-dir', runs]);
  const dir = await runDir(runs);
  // A worker that took a training, once that training has reported an epoch: kill it.
  const [victim, key] = await until('a training with an epoch done', () => {
    for (const w of workers) {
      const m = w.out.map((l) => / took \S+ \((\S+) · \S+ · seed (\d+)\)/.exec(l)).find(Boolean);
      if (!m) continue;
      const k = `${m[1]} seed ${m[2]}`;
      const ev = events(dir);
      if (ev.some((e) => e.type === 'epoch' && keyOf(e) === k) && !ev.some((e) => e.type === 'seed-end' && keyOf(e) === k)) return [w, k] as const;
    }
    return undefined;
  });
  victim.proc.kill('SIGKILL');
  assert.equal(await sub.exit, 0, sub.err);
  workers.splice(workers.indexOf(victim), 1);
  const ends = assertLikeLocal(dir);
  const redone = ends.find((e) => keyOf(e) === key)!.worker as { id: string; attempt: number };
  assert.notEqual(redone.id, victim.id, 'another worker finished it');
  assert.ok(redone.attempt >= 2, `the retry is recorded (attempt ${redone.attempt})`);
  // Epochs of the killed attempt are not reported twice.
  assert.equal(events(dir).filter((e) => e.type === 'epoch' && keyOf(e) === key).length, 3);
  const q = events(dir).find((e) => e.type === 'queue') as { url: string; workers: { host: string; engine: string }[] } | undefined;
  assert.ok(q && q.workers.length === 3 && q.workers.every((w) => w.engine === 'tfjs'), 'the connected workers are recorded');
  assert.equal(q.url, `redis://:***@127.0.0.1:${redis.port}`);
});

test('the submitter SIGKILLed and resumed: it collects what finished meanwhile and trains nothing twice', { skip }, async () => {
  const pwFile = path.join(base, 'redis-password');
  fs.writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  const runs = path.join(base, 'kill-submitter');
  const sub = start(['compare', LOSS, ...TINY, '--queue', redis.url(), '--queue-password-file', pwFile, '--json', '--runs-dir', runs]);
  const dir = await runDir(runs);
  const id = path.basename(dir);
  await until('a first finished training', () => events(dir).some((e) => e.type === 'seed-end'));
  sub.proc.kill('SIGKILL');
  await sub.exit;
  // The workers finish the run's trainings without it.
  await until('the workers to finish every training', () => jobLines('done', id).length === 4);
  const res = start(['compare', '--resume', id, '--runs-dir', runs, '--queue-password-file', pwFile, '--json']);
  assert.equal(await res.exit, 0, res.err);
  assertLikeLocal(dir);
  assert.equal(jobLines('took', id).length, 4, 'each training was taken by a worker once');
  const resume = events(dir).find((e) => e.type === 'compare-resume') as { kept: number } | undefined;
  assert.ok(resume && resume.kept >= 1 && resume.kept < 4);
});

test('Redis SIGKILLed mid-run and restarted from its append-only file: nothing lost, nothing twice', { skip }, async () => {
  const runs = path.join(base, 'kill-redis');
  const sub = start(['compare', LOSS, ...TINY, '--queue', redis.url(), '--json', '--runs-dir', runs], { ...ENV, LOSSMITH_REDIS_PASSWORD: PASSWORD });
  const dir = await runDir(runs);
  await until('a first finished training', () => events(dir).some((e) => e.type === 'seed-end'));
  await redis.kill();
  await new Promise((r) => setTimeout(r, 700));
  await redis.start();
  assert.equal(await sub.exit, 0, sub.err);
  assertLikeLocal(dir);
});

test('device classes: a torch training pinned to cuda waits for a cuda worker; a cpu torch worker takes the cpu-pinned one', { skip: skip || !haveTorch }, async () => {
  const env = { ...ENV, LOSSMITH_REDIS_PASSWORD: PASSWORD };
  const w = start(['worker', '--queue', redis.url(), '--engine', 'torch', '--python', TORCH_PYTHON, '--device', 'cpu', '--concurrency', '1'], env);
  workers.push(Object.assign(w, { id: 'torch-cpu' }));
  const line = await until(`the torch worker to start (stderr: ${w.err})`, () => w.out.find((l) => / lossmith worker /.test(l)), 60_000);
  assert.match(line, /queue redis:\/\/127\.0\.0\.1:\d+ \(lossmith:torch, lossmith:torch-cpu\)$/);
  const torchArgs = ['--engine', 'torch', '--python', TORCH_PYTHON, '--model', 'mlp', '--max-train', '200', '--max-val', '100', '--epochs', '1', '--steps-per-epoch', '5', '--seeds', '1', '--queue', redis.url(), '--json'];
  const cuda = start(['compare', LOSS, ...torchArgs, '--device', 'cuda', '--runs-dir', path.join(base, 'pinned-cuda')], env);
  const cpu = start(['compare', LOSS, ...torchArgs, '--device', 'cpu', '--runs-dir', path.join(base, 'pinned-cpu')], env);
  assert.equal(await cpu.exit, 0, cpu.err);
  const ends = events(await runDir(path.join(base, 'pinned-cpu'))).filter((e) => e.type === 'seed-end');
  assert.equal(ends.length, 2);
  assert.ok(ends.every((e) => e.status === 'completed'));
  // The cuda-pinned run is still waiting: nothing of it was taken.
  const cudaDir = await runDir(path.join(base, 'pinned-cuda'));
  assert.ok(!w.out.some((l) => l.includes(` took ${path.basename(cudaDir)}.`)), 'the cpu worker took no cuda-pinned training');
  assert.deepEqual(events(cudaDir).filter((e) => e.type === 'seed-end'), []);
  cuda.proc.kill('SIGTERM');
  await cuda.exit;
});

test('the password is in no file of any run folder; config.json has the URL masked', { skip }, () => {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (f: string) => files.push(f))(path.join(d, e.name));
  };
  for (const r of ['kill-worker', 'kill-submitter', 'kill-redis']) walk(path.join(base, r));
  assert.ok(files.length >= 9);
  for (const f of files) assert.ok(!fs.readFileSync(f, 'utf8').includes(PASSWORD), `${f} holds the password`);
  const dir = path.join(base, 'kill-worker', fs.readdirSync(path.join(base, 'kill-worker'))[0]);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).queue, `redis://:***@127.0.0.1:${redis.port}`);
});

test('bad queue input: one line, a non-zero exit, no run folder', { skip }, async () => {
  const closed = await freePort();
  const cases: [string, string[], RegExp][] = [
    ['unreachable', ['--queue', `redis://127.0.0.1:${closed}`], /cannot reach Redis at 127\.0\.0\.1:\d+: connection refused/],
    ['wrong password', ['--queue', `redis://:nope@127.0.0.1:${redis.port}`], /refused the password \(WRONGPASS\)/],
    ['no password', ['--queue', redis.url()], /needs a password/],
    ['no host', ['--queue', 'redis://:6379'], /--queue redis:\/\/:6379 names no host/],
    ['not redis', ['--queue', 'http://127.0.0.1:6379'], /starts with redis:\/\/ or rediss:\/\//],
  ];
  await Promise.all(
    cases.map(async ([what, args, re], i) => {
      const runs = path.join(base, `bad-${i}`);
      const r = start(['compare', LOSS, ...TINY, ...args, '--runs-dir', runs]);
      const code = await r.exit;
      assert.notEqual(code, 0, what);
      assert.equal(r.err.trim().split('\n').length, 1, `${what}: one line, got ${r.err}`);
      assert.match(r.err, re, what);
      assert.ok(!r.err.includes(PASSWORD));
      assert.ok(!fs.existsSync(runs) || fs.readdirSync(runs).length === 0, `${what}: no run folder`);
    }),
  );
  const w = start(['worker', '--queue', `redis://:nope@127.0.0.1:${redis.port}`]);
  assert.notEqual(await w.exit, 0);
  assert.match(w.err.trim(), /^lossmith: Redis at 127\.0\.0\.1:\d+ refused the password \(WRONGPASS\)[^\n]*$/);
});
