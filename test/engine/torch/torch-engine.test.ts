/**
 * The torch engine with a real PyTorch (Debian's python3-torch 1.13 and python3-torchvision,
 * CPU, in /usr/bin/python3): the runner alone on a tiny task, the data hand-over (LMDS) with the
 * tfjs engine's exact splits, the exported loss inside the runner against the float64
 * evaluator, `compare --engine torch` end to end, cancel and resume (the runner processes go
 * with the cancel), and every bad input as one line before a run folder exists.
 * Locally without torch these are skipped with a message; with CI=true they fail instead.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkText, evalExpr, sampleEnv } from '../../../grammar/src/index';
import { main, type Io } from '../../../engine/src/cli';
import { setSignalForTests } from '../../../engine/src/commands/run-commands';
import { loadDatasetSync, type Dataset } from '../../../engine/src/data';
import { writeLmds } from '../../../engine/src/engines/torch/lmds';
import { runnerEnv } from '../../../engine/src/engines/torch/python';
import { torchTask } from '../../../engine/src/engines/torch';
import type { TrainTask } from '../../../engine/src/compute/types';
import { Rng } from '../../../engine/src/rng';
import type { CompareConfigJson, CompareSummary } from '../../../protocol/run-events';
import type { TorchMessage } from '../../../protocol/torch-task';
import { findTorchPython, skipUnless } from '../../export/python';
import { tmpDir } from '../../helpers/tmp';

const ROOT = path.join(__dirname, '..', '..', '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');
const PY = findTorchPython();
const skip = skipUnless(PY, 'a Python with torch');

function fakeIo(onOut?: (s: string) => void): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (s: string) => {
      io.stdout += s;
      onOut?.(s);
    },
    err: (s: string) => void (io.stderr += s),
  };
  return io;
}

const made: string[] = [];
const tmp = (): string => {
  const d = tmpDir('lossmith-torch-');
  made.push(d);
  return d;
};
// The data files handed to the runner go to a folder of this test file (workers inherit it), removed at the end.
process.env.LOSSMITH_DATA_CACHE = tmp();
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function task(over: Partial<TrainTask['train']> = {}, lossName = 'focal', file = 'focal.loss'): TrainTask {
  return {
    kind: 'train',
    lossSource: fs.readFileSync(path.join(EXAMPLES, file), 'utf8'),
    lossName,
    backend: 'auto',
    engine: 'torch',
    dataset: { spec: 'mnist', seed: 0, maxTrain: 300 },
    augment: 'none',
    train: { model: { kind: 'mlp', hidden: [64] }, lr: 3e-3, batchSize: 50, epochs: 2, seed: 1, ...over },
  };
}

function runTaskFile(t: unknown, dir: string): { code: number | null; messages: TorchMessage[]; stderr: string } {
  const file = path.join(dir, 'task.json');
  fs.writeFileSync(file, JSON.stringify(t));
  const r = spawnSync(PY!, ['-m', 'lossmith_torch', file], { env: runnerEnv(), encoding: 'utf8', timeout: 300_000 });
  const messages = r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as TorchMessage);
  return { code: r.status, messages, stderr: r.stderr };
}

test('the runner alone: one task file in, JSON lines out (info, one line per epoch, the result)', { skip }, () => {
  const dir = tmp();
  const t = torchTask(task({ epochs: 3 }), 'cpu', { python: PY!, device: 'cpu', precision: 'auto' });
  assert.equal(t.data.kind, 'tensors');
  const r = runTaskFile(t, dir);
  assert.equal(r.code, 0, r.stderr);
  // Step lines (live progress, every stepEvery steps, with the planned total) between the epochs.
  const types = r.messages.map((m) => m.type).filter((x) => x !== 'step');
  assert.deepEqual(types, ['info', 'epoch', 'epoch', 'epoch', 'result']);
  const steps = r.messages.filter((m): m is Extract<TorchMessage, { type: 'step' }> => m.type === 'step');
  assert.ok(steps.length > 0 && steps.every((m) => m.steps === t.train.epochs * (t.train.stepsPerEpoch ?? 0) || (m.steps ?? 0) > m.step), JSON.stringify(steps.slice(0, 2)));
  const info = r.messages[0] as Extract<TorchMessage, { type: 'info' }>;
  assert.equal(info.info.engine, 'torch');
  assert.equal(info.info.device, 'cpu');
  assert.equal(info.info.precision, 'fp32');
  assert.match(info.info.torch, /^\d+\.\d+/);
  const res = (r.messages.at(-1) as Extract<TorchMessage, { type: 'result' }>).result;
  assert.equal(res.status, 'completed');
  assert.deepEqual(res.dataset, { name: 'mnist', train: 300, val: 999, test: 2000, classes: 10 });
  assert.equal(res.history.length, 3);
  assert.ok(res.testAcc !== null && res.testAcc > 0.6, `test accuracy ${res.testAcc}`);
  assert.ok(res.imagesPerSec > 0);
  assert.equal(res.steps, 3 * 6);

  // The same task again: bit-identical (one seed fixes weights, data order and dropout).
  const again = runTaskFile(t, dir);
  assert.deepEqual((again.messages.at(-1) as Extract<TorchMessage, { type: 'result' }>).result.history.map((h) => [h.trainLoss, h.valAcc]), res.history.map((h) => [h.trainLoss, h.valAcc]));

  // A bad task: one error line with its code, exit 2, no traceback as the message.
  const bad = runTaskFile({ ...t, train: { ...t.train, epochs: 0 } }, dir);
  assert.equal(bad.code, 2);
  assert.equal(bad.messages.length, 1);
  const err = bad.messages[0] as Extract<TorchMessage, { type: 'error' }>;
  assert.equal(err.type, 'error');
  assert.equal(err.code, 'bad-task');
  assert.match(err.message, /epochs/);
  assert.ok(!err.message.includes('\n') && !/Traceback/.test(err.message));
});

test('data hand-over: the runner reads exactly the splits the tfjs engine trains on (float32 and uint8 files)', { skip }, () => {
  const dir = tmp();
  const mnist = loadDatasetSync('mnist', { seed: 3, maxTrain: 500, labelNoise: 0.1 });
  // A byte-valued dataset (like CIFAR or IDX): stored as uint8, read back to the same floats.
  const rng = new Rng(5);
  const bytes = (n: number) => Float32Array.from({ length: n * 4 * 4 * 3 }, () => Math.floor(rng.next() * 256) / 255);
  const labels = (n: number) => Int32Array.from({ length: n }, () => Math.floor(rng.next() * 3));
  const tiny: Dataset = {
    name: 'tiny',
    shape: [4, 4, 3],
    numClasses: 3,
    train: { x: bytes(20), labels: labels(20), n: 20 },
    val: { x: bytes(5), labels: labels(5), n: 5 },
    test: { x: bytes(7), labels: labels(7), n: 7 },
  };
  for (const ds of [mnist, tiny]) {
    const file = writeLmds(ds, dir);
    assert.equal(writeLmds(ds, dir), file, 'the same content is written once');
    const code = [
      'import json, sys, torch',
      'from lossmith_torch.data import read_lmds, to_float',
      'ds = read_lmds(sys.argv[1])',
      'out = {"dtype": str(ds.train.x.dtype), "shape": list(ds.shape), "classes": ds.classes}',
      'for s in ("train", "val", "test"):',
      '    sp = getattr(ds, s)',
      '    x = to_float(sp.x).permute(0, 2, 3, 1).contiguous().reshape(-1)',
      '    out[s] = {"n": sp.n, "labels": sp.y.tolist(), "x": x.tolist()[:3000:7], "sum": float(x.double().sum())}',
      'print(json.dumps(out))',
    ].join('\n');
    const r = JSON.parse(execFileSync(PY!, ['-c', code, file], { env: runnerEnv(), encoding: 'utf8', maxBuffer: 1 << 28 }));
    assert.equal(r.dtype, ds === tiny ? 'torch.uint8' : 'torch.float32');
    assert.deepEqual(r.shape, ds.shape);
    assert.equal(r.classes, ds.numClasses);
    for (const s of ['train', 'val', 'test'] as const) {
      assert.equal(r[s].n, ds[s].n);
      assert.deepEqual(r[s].labels, Array.from(ds[s].labels), `${ds.name} ${s} labels`);
      const mine = Array.from(ds[s].x.subarray(0, 3000)).filter((_, i) => i % 7 === 0);
      assert.deepEqual(r[s].x, mine, `${ds.name} ${s} pixels (exact float32 values)`);
      const sum = ds[s].x.reduce((a, v) => a + v, 0);
      assert.ok(Math.abs(r[s].sum - sum) <= 1e-9 * Math.max(1, Math.abs(sum)), `${ds.name} ${s} sum ${r[s].sum} vs ${sum}`);
    }
  }
});

test('the exported loss inside the runner equals the float64 evaluator (every catalogue loss)', { skip }, () => {
  const rng = new Rng(11);
  const cases: { label: string; module: string; fn: string; params: Record<string, number>; logits: number[][]; y: number[][]; ref: number[] }[] = [];
  for (const f of fs.readdirSync(EXAMPLES).filter((n) => n.endsWith('.loss')).sort()) {
    const source = fs.readFileSync(path.join(EXAMPLES, f), 'utf8');
    const { model } = checkText(source);
    for (const l of model.losses) {
      const tt = torchTask({ ...task(), lossSource: source, lossName: l.name, dataset: { spec: 'mnist', seed: 0, maxTrain: 50 } }, 'cpu', { python: PY!, device: 'cpu', precision: 'fp32' });
      const logits: number[][] = [];
      const y: number[][] = [];
      const ref: number[] = [];
      for (let i = 0; i < 24; i++) {
        const z = Array.from({ length: 5 }, () => Math.fround((rng.next() - 0.5) * 6));
        const soft = i % 2 === 1;
        const t = soft ? Array.from({ length: 5 }, () => rng.next() + 0.05) : Array.from({ length: 5 }, (_, k) => (k === i % 5 ? 1 : 0));
        const sum = t.reduce((a, v) => a + v, 0);
        const yy = t.map((v) => Math.fround(v / sum));
        const env = sampleEnv(model, { logits: z, y: yy });
        const v = evalExpr(l.expr, (n) => env.get(n)) as number;
        if (!Number.isFinite(v)) continue;
        logits.push(z);
        y.push(yy);
        ref.push(v);
      }
      cases.push({ label: `${f}#${l.name}`, module: tt.loss.module, fn: tt.loss.fn, params: tt.loss.params ?? {}, logits, y, ref });
    }
  }
  const code = [
    'import json, sys, torch',
    'from lossmith_torch.losses import make_loss, call_loss',
    'from lossmith_torch.task import LossSpec',
    'out = []',
    'for c in json.load(sys.stdin):',
    '    loss = make_loss(LossSpec(c["module"], c["fn"], c["params"]), 5, c["label"])',
    '    z = torch.tensor(c["logits"], dtype=torch.float64); y = torch.tensor(c["y"], dtype=torch.float64)',
    '    v64 = loss(z, y).tolist()',
    '    v32 = call_loss(loss, z.float(), y.float(), c["fn"], c["label"]).double().tolist()',
    '    out.append({"label": c["label"], "v64": v64, "v32": v32})',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(PY!, ['-c', code], { env: runnerEnv(), input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { label: string; v64: number[]; v32: number[] }[];
  assert.equal(got.length, cases.length);
  assert.ok(cases.length >= 15, `${cases.length} catalogue losses`);
  got.forEach((g, i) => {
    cases[i].ref.forEach((ref, j) => {
      const scale = Math.max(Math.abs(ref), 1e-6);
      assert.ok(Math.abs(g.v64[j] - ref) / scale <= 1e-9, `${g.label} float64 point ${j}: ${g.v64[j]} vs ${ref}`);
      assert.ok(Math.abs(g.v32[j] - ref) / Math.max(Math.abs(ref), 1e-2) <= 1e-4, `${g.label} float32 point ${j}: ${g.v32[j]} vs ${ref}`);
    });
  });
});

const TINY = ['--model', 'mlp', '--max-train', '300', '--max-val', '300', '--batch-size', '50', '--epochs', '2'];

test('compare --engine torch end to end on MNIST: the summary and events record engine, device, versions and precision', { skip }, async () => {
  const dir = tmp();
  const io = fakeIo();
  const runs = path.join(dir, 'runs');
  const code = await main(['compare', path.join(EXAMPLES, 'focal.loss'), ...TINY, '--seeds', '2', '--engine', 'torch', '--python', PY!, '--workers', '2', '--runs-dir', runs], io);
  assert.equal(code, 0, io.stderr + io.stdout);
  assert.match(io.stdout, /^engine torch \(asked\): .*torch \d+\.\d+.*device cpu/m);
  assert.match(io.stdout, /engine torch \d+\.\d+\S* on cpu .*fp32 · 4\/4 trainings/);
  const id = fs.readdirSync(runs)[0];
  const summary = JSON.parse(fs.readFileSync(path.join(runs, id, 'summary.json'), 'utf8')) as CompareSummary;
  assert.equal(summary.status, 'done');
  assert.equal(summary.backend?.name, 'torch');
  assert.equal(summary.backend?.engine, 'torch');
  assert.equal(summary.backend?.torch?.device, 'cpu');
  assert.equal(summary.backend?.torch?.precision, 'fp32');
  assert.equal(summary.backend?.torch?.compile, false);
  assert.match(summary.backend?.torch?.torch ?? '', /^\d+\.\d+/);
  for (const r of summary.results) for (const s of r.seeds) assert.ok(s.status === 'completed' && (s.testAcc ?? 0) > 0.6, `${r.loss} seed ${s.seed}: ${s.status} ${s.testAcc}`);
  const config = JSON.parse(fs.readFileSync(path.join(runs, id, 'config.json'), 'utf8')) as CompareConfigJson;
  assert.equal(config.engine, 'torch');
  assert.equal(config.torch?.python, fs.realpathSync(PY!) === PY ? PY : config.torch?.python);
  const events = fs.readFileSync(path.join(runs, id, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const be = events.find((e) => e.type === 'backend');
  assert.equal(be.backend.torch.engine, 'torch');
});

function runnerProcesses(): number[] {
  const r = spawnSync('pgrep', ['-f', 'lossmith_torch --serve'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

test('cancel kills the runner processes; --resume keeps finished trainings and trains the rest', { skip: skip || (process.platform === 'win32' ? 'POSIX only' : false) }, async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  const before = new Set(runnerProcesses());
  const ac = new AbortController();
  setSignalForTests(ac.signal);
  let io: ReturnType<typeof fakeIo>;
  try {
    io = fakeIo((s) => {
      if (/\[1\/6\]/.test(s)) ac.abort();
    });
    const code = await main(['compare', path.join(EXAMPLES, 'focal.loss'), ...TINY, '--epochs', '4', '--seeds', '3', '--engine', 'torch', '--python', PY!, '--workers', '1', '--runs-dir', runs], io);
    assert.equal(code, 130, io.stderr + io.stdout);
  } finally {
    setSignalForTests(undefined);
  }
  // The worker and its runner are gone (the runner's process group is killed with the worker).
  for (let i = 0; i < 50 && runnerProcesses().some((p) => !before.has(p)); i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(runnerProcesses().filter((p) => !before.has(p)), [], 'no runner left behind');
  const id = fs.readdirSync(runs)[0];
  const first = JSON.parse(fs.readFileSync(path.join(runs, id, 'summary.json'), 'utf8')) as CompareSummary;
  assert.equal(first.status, 'cancelled');
  const kept = first.results.flatMap((r) => r.seeds).filter((s) => s.status === 'completed').length;
  assert.ok(kept >= 1);

  const io2 = fakeIo();
  assert.equal(await main(['compare', '--resume', id, '--runs-dir', runs], io2), 0, io2.stderr);
  assert.match(io2.stdout, new RegExp(`${kept} of 6 trainings finished before and are kept`));
  const done = JSON.parse(fs.readFileSync(path.join(runs, id, 'summary.json'), 'utf8')) as CompareSummary;
  assert.equal(done.status, 'done');
  assert.equal(done.backend?.name, 'torch');
  assert.equal(done.results.flatMap((r) => r.seeds).filter((s) => s.status === 'completed').length, 6);
});

/** A Python that starts but cannot import torch (site-packages off). */
function pythonWithoutTorch(dir: string): string {
  const f = path.join(dir, 'python-no-torch');
  fs.writeFileSync(f, `#!/bin/sh\nexec ${PY} -S "$@"\n`, { mode: 0o755 });
  return f;
}

/** A Python whose torch is 1.8 (a stand-in package first on its path). */
function pythonWithOldTorch(dir: string): string {
  const pkg = path.join(dir, 'old', 'torch');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, '__init__.py'), "__version__ = '1.8.0'\n");
  const f = path.join(dir, 'python-old-torch');
  fs.writeFileSync(f, `#!/bin/sh\nPYTHONPATH=${path.join(dir, 'old')}:$PYTHONPATH exec ${PY} -S "$@"\n`, { mode: 0o755 });
  return f;
}

/** A Python with torch but without torchvision (a stand-in that fails to import). */
function pythonWithoutTorchvision(dir: string): string {
  const pkg = path.join(dir, 'novision', 'torchvision');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, '__init__.py'), "raise ImportError('No module named torchvision')\n");
  const f = path.join(dir, 'python-no-torchvision');
  fs.writeFileSync(f, `#!/bin/sh\nPYTHONPATH=${path.join(dir, 'novision')}:$PYTHONPATH exec ${PY} "$@"\n`, { mode: 0o755 });
  return f;
}

test('bad input: one line naming the cause and the fix, exit 2, and no run folder', { skip: skip || (process.platform === 'win32' ? 'POSIX only' : false) }, async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  const imgWrong = path.join(dir, 'images');
  fs.mkdirSync(path.join(imgWrong, 'just-files'), { recursive: true });
  fs.writeFileSync(path.join(imgWrong, 'a.png'), '');
  const imgs = path.join(dir, 'classes');
  for (const c of ['cat', 'dog']) {
    fs.mkdirSync(path.join(imgs, c), { recursive: true });
    fs.writeFileSync(path.join(imgs, c, '1.png'), '');
  }
  const focal = path.join(EXAMPLES, 'focal.loss');
  const cases: [string[], RegExp][] = [
    [['--engine', 'torch', '--python', '/nonexistent/python3'], /no Python at '\/nonexistent\/python3': install Python 3 with PyTorch, or name one with --python PATH/],
    [['--engine', 'torch', '--python', pythonWithoutTorch(dir)], /torch cannot be imported by .*; install it with `.* -m pip install torch`/],
    [['--engine', 'torch', '--python', pythonWithOldTorch(dir)], /torch 1\.8\.0 is too old: the runner needs torch >= 1\.13/],
    [['--engine', 'torch', '--python', PY!, '--device', 'cuda'], /device 'cuda' asked but CUDA is not usable: .*(CPU-only build|is_available\(\) is false).*--device cpu/],
    [['--engine', 'torch', '--python', PY!, '--device', 'tpu'], /unknown device 'tpu'/],
    [['--engine', 'torch', '--python', PY!, '--precision', 'bf16', '--device', 'cpu'], /--precision bf16 is for GPUs/],
    [['--engine', 'torch', '--python', PY!, '--init', path.join(dir, 'missing.pt')], /no checkpoint file .*missing\.pt \(nothing is downloaded/],
    [['--engine', 'torch', '--python', PY!, '--dataset', imgWrong], /unrecognised layout in .*images: expected IDX files, CIFAR binary batches, or an image folder/],
    [['--engine', 'tfjs', '--model', 'wrn-16-4'], /model 'wrn-16-4' is not available on the tfjs engine .*; use --engine torch/],
    [['--engine', 'tfjs', '--dataset', imgs], /image folders \(one subfolder per class\) are read by the torch engine/],
    [['--engine', 'torch', '--python', pythonWithoutTorchvision(dir), '--dataset', imgs], /reading an image folder needs torchvision, which .* cannot import/],
    [['--engine', 'torch', '--python', PY!, '--model', 'torchvision'], /torchvision needs arch/],
    [['--engine', 'tfjs', '--device', 'cuda'], /--device, --precision and --compile are settings of the torch engine/],
  ];
  for (const [args, re] of cases) {
    const io = fakeIo();
    const code = await main(['compare', focal, ...TINY, ...args, '--runs-dir', runs], io);
    assert.equal(code, 2, `${args.join(' ')}: ${io.stdout}${io.stderr}`);
    const line = io.stderr.trim();
    assert.match(line, re, args.join(' '));
    assert.ok(!line.includes('\n') && !/Traceback/.test(line), `one line: ${line}`);
    assert.ok(!fs.existsSync(runs), `${args.join(' ')}: no run folder`);
  }
});

test('a checkpoint that does not fit the model fails its trainings with a clear reason (the runner sees it first)', { skip }, async () => {
  const dir = tmp();
  const ckpt = path.join(dir, 'wrong.pt');
  execFileSync(PY!, ['-c', `import torch; torch.save({'fc.weight': torch.zeros(3, 3)}, ${JSON.stringify(ckpt)})`]);
  const io = fakeIo();
  const runs = path.join(dir, 'runs');
  const code = await main(['compare', path.join(EXAMPLES, 'focal.loss'), ...TINY, '--seeds', '1', '--engine', 'torch', '--python', PY!, '--init', ckpt, '--workers', '0', '--runs-dir', runs], io);
  assert.notEqual(code, 0);
  const summary = JSON.parse(fs.readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'summary.json'), 'utf8')) as CompareSummary;
  const seeds = summary.results.flatMap((r) => r.seeds);
  assert.ok(seeds.every((s) => s.status === 'failed'));
  assert.match(seeds[0].reason ?? '', /wrong\.pt/);
  assert.match(seeds[0].reason ?? '', /checkpoint/i);
  assert.ok(!(seeds[0].reason ?? '').includes('Traceback'));
});

test('a runner whose parent is killed (SIGKILL) exits on its own', { skip: skip || (process.platform === 'win32' ? 'POSIX only' : false) }, async () => {
  // A shell starts the runner in serve mode and is then killed: the runner notices within a second.
  const { spawn } = await import('child_process');
  // (bash, `<&0`: an explicit redirection, else the shell gives a background job /dev/null as stdin and serve mode ends at once.)
  const sh = spawn('bash', ['-c', `${PY} -m lossmith_torch --serve <&0 & echo $!; wait`], { env: runnerEnv(), stdio: ['pipe', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => sh.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
  await new Promise((r) => setTimeout(r, 1500));
  const alive = (p: number): boolean => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  assert.ok(alive(pid), 'the runner started');
  sh.kill('SIGKILL');
  for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!alive(pid), 'the runner exited after its parent was killed');
});

test('scripts/gpu-check.sh runs on the CPU (smoke): runner and plain loop, images/s and their ratio', { skip }, () => {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'gpu-check.sh'), '--device', 'cpu', '--steps', '2'], { env: { ...process.env, PYTHON: PY! }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  // `ok` is the speed goal (runner >= 0.9 x plain), meant for GPUs: two CPU steps are too noisy to hold it.
  assert.equal(j.error, undefined, r.stdout + r.stderr);
  assert.equal(typeof j.ok, 'boolean');
  assert.equal(j.device, 'cpu');
  assert.ok(j.results.length >= 1);
  for (const x of j.results) assert.ok(x.runnerImagesPerSec > 0 && x.plainImagesPerSec > 0 && x.ratio > 0, JSON.stringify(x));
  assert.match(r.stderr, /runner .* img\/s, plain loop .* img\/s, ratio/);
});

test('a NaN loss ends its torch training with status nan; the run completes (CE alongside is unaffected)', { skip }, async () => {
  const dir = tmp();
  const bad = path.join(dir, 'bad.loss');
  fs.writeFileSync(bad, '# NaN on purpose: log of negative logits\nloss bad = -sum(y * log(logits))\n');
  const io = fakeIo();
  const runs = path.join(dir, 'runs');
  const code = await main(['compare', bad, ...TINY, '--seeds', '2', '--engine', 'torch', '--python', PY!, '--workers', '1', '--runs-dir', runs], io);
  // The run completes; the exit code says a loss had no finished training.
  assert.equal(code, 1, io.stderr);
  assert.match(io.stderr, /bad · none: no training finished \(2 of 2 seeds diverged\); nothing to compare/);
  const summary = JSON.parse(fs.readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'summary.json'), 'utf8')) as CompareSummary;
  const badRes = summary.results.find((r) => r.loss === 'bad')!;
  assert.ok(badRes.seeds.every((s) => s.status === 'nan' && /loss is NaN at step \d+/.test(s.reason ?? '')), JSON.stringify(badRes.seeds));
  const ce = summary.results.find((r) => r.baseline)!;
  assert.ok(ce.seeds.every((s) => s.status === 'completed'));
});

test('evolve --engine torch: candidates train on the runner; the backend event and the summary record the compute', { skip }, async () => {
  const dir = tmp();
  const io = fakeIo();
  const code = await main(['evolve', '--engine', 'torch', '--python', PY!, '--population', '4', '--steps', '2', '--max-train', '300', '--final-seeds', '0', '--workers', '1', '--root', dir], io);
  assert.equal(code, 0, io.stderr + io.stdout);
  assert.match(io.stdout, /^engine torch \(asked\)/m);
  const runs = path.join(dir, '.lossmith', 'runs');
  const run = path.join(runs, fs.readdirSync(runs)[0]);
  const summary = JSON.parse(fs.readFileSync(path.join(run, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'done');
  assert.equal(summary.backend, 'torch');
  assert.equal(summary.compute.torch.engine, 'torch');
  assert.ok(summary.evaluated >= 4);
  const events = fs.readFileSync(path.join(run, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events.filter((e) => e.type === 'backend').length, 1);
  const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
  assert.equal(config.surrogate.engine, 'torch');
  assert.equal(config.surrogate.torch.device, 'auto');
});

test('fine-tuning a torchvision model from a local checkpoint on an image folder (the head replaced to fit the classes)', { skip }, async () => {
  const dir = tmp();
  const imgs = path.join(dir, 'shapes');
  const ckpt = path.join(dir, 'resnet18.pt');
  // Two classes of 16x16 images (bright top half vs bright bottom half), and an ImageNet-shaped
  // resnet18 state dict (1000 classes) standing in for a downloaded checkpoint.
  const code = [
    'import os, sys, random, torch, torchvision',
    'from PIL import Image',
    'root, ckpt = sys.argv[1], sys.argv[2]',
    'rnd = random.Random(0)',
    'for c in ("top", "bottom"):',
    '    os.makedirs(os.path.join(root, c))',
    '    for i in range(20):',
    '        im = Image.new("RGB", (16, 16))',
    '        for y in range(16):',
    '            for x in range(16):',
    '                on = (y < 8) == (c == "top")',
    '                v = rnd.randint(150, 255) if on else rnd.randint(0, 90)',
    '                im.putpixel((x, y), (v, v, v))',
    '        im.save(os.path.join(root, c, "%d.png" % i))',
    'torch.manual_seed(0)',
    'torch.save(torchvision.models.resnet18(num_classes=1000).state_dict(), ckpt)',
  ].join('\n');
  execFileSync(PY!, ['-c', code, imgs, ckpt]);
  const io = fakeIo();
  const runs = path.join(dir, 'runs');
  const rc = await main(
    ['compare', path.join(EXAMPLES, 'focal.loss'), '--engine', 'torch', '--python', PY!, '--model', 'torchvision', '--arch', 'resnet18', '--init', ckpt, '--dataset', imgs, '--image-size', '16', '--epochs', '2', '--batch-size', '8', '--seeds', '1', '--workers', '1', '--runs-dir', runs],
    io,
  );
  assert.equal(rc, 0, io.stderr + io.stdout);
  const summary = JSON.parse(fs.readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'summary.json'), 'utf8')) as CompareSummary;
  assert.equal(summary.status, 'done');
  assert.equal(summary.dataset.train, 32);
  for (const r of summary.results) for (const s of r.seeds) assert.equal(s.status, 'completed', `${r.loss}: ${s.reason}`);
  const config = JSON.parse(fs.readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'config.json'), 'utf8')) as CompareConfigJson;
  assert.deepEqual([config.model.kind, config.model.arch, config.model.init], ['torchvision', 'resnet18', ckpt]);
  assert.equal(config.dataset.imageSize, 16);
});
