/**
 * GAN trainings on the torch engine (Debian's python3-torch 1.13, CPU, in /usr/bin/python3): the
 * engine's `gan` end to end on the embedded digits (the DCGAN of lossmith_torch/gan.py, generated
 * digits back, FD and accuracies from the tfjs digit classifier with ganMetricsOf), WGAN-GP's
 * grad_norm, repeatability, weight clipping, NaN, a `lossmith compare --engine torch` of a GAN
 * file, and the wire format of the task.
 * Locally without torch these are skipped with a message; with CI=true they fail instead.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { GanTask, GanTaskResult, Progress, TaskContext, TorchOptionsJson } from '../../engine/src/compute/types';
import { engine, torchGanTask } from '../../engine/src/engines/torch';
import { runnerEnv } from '../../engine/src/engines/torch/python';
import { main, type Io } from '../../engine/src/cli';
import type { CompareSummary } from '../../protocol/run-events';
import { findTorchPython, skipUnless } from '../export/python';
import { tmpDir } from '../helpers/tmp';

const ROOT = path.join(__dirname, '..', '..', '..');
const GAN = path.join(ROOT, 'examples', 'gan');
const PY = findTorchPython();
const skip = skipUnless(PY, 'a Python with torch');

const DIR = tmpDir('lossmith-torch-gan-');
process.env.LOSSMITH_DATA_CACHE = path.join(DIR, 'data');
const oldCache = process.env.LOSSMITH_CACHE;
process.env.LOSSMITH_CACHE = path.join(DIR, 'cache');
// One CPU thread per runner on a 2-core machine: repeatable numbers.
process.env.LOSSMITH_WORKER_COUNT = '2';
after(() => {
  engine.shutdown?.();
  if (oldCache === undefined) delete process.env.LOSSMITH_CACHE;
  else process.env.LOSSMITH_CACHE = oldCache;
  fs.rmSync(DIR, { recursive: true, force: true });
});

const OPTS = (): TorchOptionsJson => ({ python: PY!, device: 'cpu', precision: 'auto' });

function ganTask(file: string, pair: string, over: Partial<GanTask> = {}, gan: Partial<GanTask['gan']> = {}): GanTask & { torch: TorchOptionsJson } {
  return {
    kind: 'gan',
    lossSource: file.includes('\n') ? file : fs.readFileSync(path.join(GAN, file), 'utf8'),
    gLoss: `${pair}_g`,
    dLoss: `${pair}_d`,
    engine: 'torch',
    torch: OPTS(),
    backend: 'auto',
    dataset: { spec: 'mnist', seed: 0 },
    gan: { zDim: 16, filters: 4, beta1: 0.5, beta2: 0.999, samplesPerClass: 5, classifier: { model: 'lenet', epochs: 1, batchSize: 32, lr: 1e-2, seed: 1 }, ...gan },
    lr: 5e-4,
    batchSize: 16,
    epochs: 1,
    stepsPerEpoch: 3,
    seed: 1,
    ...over,
  };
}

function ctx(): TaskContext & { seen: Progress[] } {
  const seen: Progress[] = [];
  return { signal: new AbortController().signal, seen, progress: (p) => void seen.push(p) };
}

const inUnit = (v: number | null): boolean => v !== null && v >= 0 && v <= 1;
const strip = (r: GanTaskResult) => ({ ...r, wallMs: 0, pid: 0, backend: null, classifier: { ...r.classifier, trainedNow: false }, history: r.history.map((h) => ({ ...h, ms: 0 })) });

test('a tiny GAN training (hinge) on the torch engine: completed, FD and accuracies from the classifier, repeatable', { skip }, async () => {
  const c = ctx();
  const r = await engine.gan!(ganTask('hinge.loss', 'hinge'), c);
  assert.equal(r.status, 'completed', r.reason);
  assert.equal(r.steps, 3);
  assert.equal(r.history.length, 1);
  const h = r.history[0];
  assert.ok(Number.isFinite(h.dLoss) && Number.isFinite(h.gLoss), JSON.stringify(h));
  assert.ok(h.fd !== null && Number.isFinite(h.fd) && h.fd > 0 && inUnit(h.genAccuracy), JSON.stringify(h));
  assert.ok(r.metrics.fd !== null && Number.isFinite(r.metrics.fd) && r.metrics.fd > 0, JSON.stringify(r.metrics));
  assert.ok(inUnit(r.metrics.genAccuracy));
  assert.equal(r.metrics.perClassAccuracy.length, 10);
  assert.ok(r.metrics.perClassAccuracy.every(inUnit));
  assert.ok(inUnit(r.metrics.classifierAccuracy));
  assert.equal(r.dataset.name, 'mnist');
  assert.equal(r.dataset.classes, 10);
  assert.equal(r.backend.engine, 'torch');
  assert.equal(r.backend.torch?.device, 'cpu');
  assert.ok(r.classifier.file.startsWith(path.join(DIR, 'cache')));
  assert.equal(c.seen[0].kind, 'backend');
  const epochs = c.seen.filter((p): p is Extract<Progress, { kind: 'gan-epoch' }> => p.kind === 'gan-epoch').map((p) => p.epoch);
  assert.deepEqual(epochs, r.history);
  // The same task again (the same runner, its data cached): the same numbers to the last bit.
  const again = await engine.gan!(ganTask('hinge.loss', 'hinge'), ctx());
  assert.deepEqual(strip(again), strip(r));
});

test('WGAN-GP reads grad_norm (a gradient of a gradient) and stays finite; clip keeps every D weight in range', { skip }, async () => {
  const gp = await engine.gan!(ganTask('wgan-gp.loss', 'wgan_gp'), ctx());
  assert.equal(gp.status, 'completed', gp.reason);
  assert.ok(Number.isFinite(gp.history[0].dLoss) && gp.metrics.fd !== null && Number.isFinite(gp.metrics.fd));
  const clipped = (await engine.gan!(ganTask('wgan.loss', 'wgan', {}, { clip: 0.01 }), ctx())) as GanTaskResult & { dMaxAbsWeight?: number };
  assert.equal(clipped.status, 'completed', clipped.reason);
  assert.ok(clipped.dMaxAbsWeight !== undefined && clipped.dMaxAbsWeight <= 0.01 && clipped.dMaxAbsWeight > 0, `max |w| ${clipped.dMaxAbsWeight}`);
  const free = (await engine.gan!(ganTask('wgan.loss', 'wgan'), ctx())) as GanTaskResult & { dMaxAbsWeight?: number };
  assert.ok(free.dMaxAbsWeight! > 0.01, `unclipped max |w| ${free.dMaxAbsWeight}`);
});

test("a GAN loss that turns NaN ends the training as 'nan' with a reason", { skip }, async () => {
  const nan = 'task gan\nloss bad_d = log(d_fake - 1e6) + d_real\nloss bad_g = -d_fake\n';
  const r = await engine.gan!(ganTask(nan, 'bad'), ctx());
  assert.equal(r.status, 'nan');
  assert.equal(r.reason, 'discriminator loss is not finite at step 0');
  assert.deepEqual(r.history, []);
  assert.equal(r.steps, 0);
  assert.equal(r.metrics.fd, null);
  assert.equal(r.metrics.genAccuracy, null);
});

function fakeIo(): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (s: string) => void (io.stdout += s), err: (s: string) => void (io.stderr += s) };
  return io;
}

test('compare of a GAN file on the torch engine (--engine torch): config.engine torch, FD per seed', { skip }, async () => {
  const runs = path.join(DIR, 'runs');
  const io = fakeIo();
  const code = await main(
    ['compare', path.join(GAN, 'hinge.loss'), '--seeds', '1', '--epochs', '1', '--steps-per-epoch', '2', '--batch-size', '16', '--classifier-epochs', '1', '--workers', '1', '--engine', 'torch', '--python', PY!, '--runs-dir', runs],
    io,
  );
  assert.equal(code, 0, io.stderr + io.stdout);
  assert.match(io.stdout, /engine torch[^\n]*\(GAN: a class-conditional DCGAN on the embedded digits\)/);
  const [id] = fs.readdirSync(runs);
  const config = JSON.parse(fs.readFileSync(path.join(runs, id, 'config.json'), 'utf8')) as { engine: string; torch?: { python: string } };
  assert.equal(config.engine, 'torch');
  assert.ok(config.torch?.python);
  const s = JSON.parse(fs.readFileSync(path.join(runs, id, 'summary.json'), 'utf8')) as CompareSummary;
  assert.equal(s.status, 'done');
  assert.deepEqual(s.results.map((r) => r.loss), ['ns', 'hinge']);
  for (const r of s.results) assert.ok(r.gan && r.gan.fd.perSeed.length === 1 && r.gan.fd.perSeed.every((v) => typeof v === 'number' && v > 0), JSON.stringify(r.gan));
});

test("protocol: a TorchGanTask round-trips through the runner's task.py field by field", { skip }, () => {
  const tasks = [torchGanTask(ganTask('wgan-gp.loss', 'wgan_gp', { params: { lambda: 5 } }, { clip: 0.5 }), 'cpu', OPTS()), torchGanTask(ganTask('hinge.loss', 'hinge'), 'cuda:1', { python: PY!, device: 'cuda', precision: 'bf16' })];
  assert.equal(tasks[0].kind, 'gan');
  assert.deepEqual(tasks[0].dLoss.params, { lambda_: 5 });
  assert.match(tasks[0].dLoss.module, /def wgan_gp_d\(d_real, d_fake, grad_norm, \*/);
  assert.equal(tasks[0].train.clip, 0.5);
  assert.equal(tasks[1].threads, undefined);
  const code = [
    'import json, sys',
    'from lossmith_torch.task import parse_any_task, task_to_dict, GanTask',
    'out = []',
    'for d in json.load(sys.stdin):',
    '    t = parse_any_task(d)',
    '    assert isinstance(t, GanTask)',
    '    out.append(task_to_dict(t))',
    'print(json.dumps(out))',
  ].join('\n');
  const back = JSON.parse(execFileSync(PY!, ['-c', code], { env: runnerEnv(), encoding: 'utf8', input: JSON.stringify(tasks) }));
  assert.deepEqual(back, JSON.parse(JSON.stringify(tasks)));
});
