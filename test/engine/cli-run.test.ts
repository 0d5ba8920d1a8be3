import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { main, type Io } from '../../engine/src/cli';
import { setPoolForTests } from '../../engine/src/commands/run-commands';
import { setNpmForTests } from '../../engine/src/commands/backend-commands';
import { WorkerPool } from '../../engine/src/run/worker-pool';
import type { CompareSummary } from '../../protocol/run-events';
import { killAfterFirstTraining } from '../helpers/kill-run';
import { tmpDir } from '../helpers/tmp';

const ROOT = path.join(__dirname, '..', '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');
const TINY = ['--model', 'mlp', '--max-train', '200', '--max-val', '200', '--batch-size', '50', '--epochs', '1', '--seeds', '2', '--backend', 'wasm'];

function fakeIo(): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (s: string) => void (io.stdout += s), err: (s: string) => void (io.stderr += s) };
  return io;
}

function tmp(): string {
  return tmpDir('lossmith-cli-');
}

test('compare: readable progress and table; --json: events then the summary', async () => {
  const dir = tmp();
  const pool = new WorkerPool({ size: 0 });
  setPoolForTests(pool);
  try {
    const io = fakeIo();
    const code = await main(['compare', path.join(EXAMPLES, 'focal.loss'), ...TINY, '--aug', 'none,cutout', '--runs-dir', path.join(dir, 'runs')], io);
    assert.equal(code, 0, io.stderr);
    assert.match(io.stdout, /2 losses × 2 augmentations × 2 seeds = 8 trainings/);
    assert.match(io.stdout, /\[8\/8\] /);
    assert.match(io.stdout, /augmentation: none[\s\S]*ce \(baseline\)[\s\S]*focal/);
    assert.match(io.stdout, /paired t-test/);
    // Holm over the run's 2 comparisons; 2 seeds are too few for a verdict.
    assert.match(io.stdout, /p \(Holm\)\s+verdict/);
    assert.match(io.stdout, /focal .*inconclusive/);
    assert.match(io.stdout, /adjusted over all 2 comparisons of this run/);
    assert.match(io.stdout, /summary: .*summary\.json/);

    const j = fakeIo();
    const code2 = await main(['compare', path.join(EXAMPLES, 'taylor-ce.loss#taylor2'), ...TINY, '--seeds', '1', '--json', '--runs-dir', path.join(dir, 'runs')], j);
    assert.equal(code2, 0, j.stderr);
    const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines[0].type, 'run-start');
    assert.equal(lines[1].type, 'compare-start');
    assert.ok(lines.some((l) => l.type === 'seed-end'));
    assert.equal(lines.at(-2)!.type, 'run-end');
    const summary = lines.at(-1) as unknown as CompareSummary;
    assert.equal(summary.kind, 'compare');
    assert.equal(summary.status, 'done');
    assert.deepEqual(summary.results.map((r) => r.loss), ['ce', 'taylor2']);
    // Same objects as events.jsonl.
    const runDir = (lines[1] as { dir: string }).dir;
    const stored = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(stored, lines.slice(0, -1));
  } finally {
    setPoolForTests(undefined);
    await pool.close();
  }
});

test('compare and run: bad input is a usage error (exit 2) naming the problem', async () => {
  const dir = tmp();
  const io = fakeIo();
  assert.equal(await main(['compare', path.join(EXAMPLES, 'focal.loss#nope'), '--runs-dir', dir], io), 2);
  assert.match(io.stderr, /has no loss 'nope'/);
  const io2 = fakeIo();
  assert.equal(await main(['compare', path.join(EXAMPLES, 'focal.loss'), '--epochs', 'x'], io2), 2);
  assert.match(io2.stderr, /--epochs expects an integer/);
  const broken = path.join(dir, 'broken.loss');
  fs.writeFileSync(broken, 'loss l = sum(y * lg(p))\n');
  const io3 = fakeIo();
  assert.equal(await main(['compare', broken], io3), 2);
  assert.match(io3.stderr, /broken\.loss:1:\d+: /);
  const cfg = path.join(dir, 'bad.json');
  fs.writeFileSync(cfg, JSON.stringify({ losses: ['x.loss'], seeds: 0, optimiser: 'sgd' }));
  const io4 = fakeIo();
  assert.equal(await main(['run', cfg], io4), 2);
  assert.match(io4.stderr, /\$\.seeds/);
  assert.match(io4.stderr, /\$\.optimiser: unknown property \(did you mean 'optimizer'\?\)/);
  assert.match(io4.stderr, new RegExp(`${cfg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\$\\.seeds`), 'a run file names itself');
  // Flags and arguments are named as the user wrote them, not as config paths.
  const io5 = fakeIo();
  assert.equal(await main(['compare', path.join(EXAMPLES, 'focal.loss'), '--aug', 'none,cutot', '--runs-dir', dir], io5), 2);
  assert.equal(io5.stderr.trim(), "lossmith: --aug cutot: unknown augmentation 'cutot' in 'cutot' (known: none, flipcrop, cutout, mixup, cutmix, randaugment)");
  const io6 = fakeIo();
  assert.equal(await main(['compare', path.join(EXAMPLES, 'focal.loss'), '--baseline', `${path.join(EXAMPLES, 'focal.loss')}#q`, '--runs-dir', dir], io6), 2);
  assert.match(io6.stderr, /^lossmith: --baseline: .*focal\.loss has no loss 'q'/);
  // A GAN file on the torch engine with a Python that is not there; a loss that reads a detector's iou.
  const io7 = fakeIo();
  assert.equal(await main(['compare', path.join(EXAMPLES, 'gan', 'hinge.loss'), '--engine', 'torch', '--python', path.join(dir, 'no-python'), '--runs-dir', dir], io7), 2);
  assert.match(io7.stderr.trim(), /^lossmith: [^\n]*no Python at '[^']*no-python'/);
  const io8 = fakeIo();
  assert.equal(await main(['compare', path.join(EXAMPLES, 'detection', 'iou-balanced.loss'), '--runs-dir', dir], io8), 2);
  assert.match(io8.stderr.trim(), /^lossmith: [^\n]*loss 'iou_balanced' in [^\n]*iou-balanced\.loss reads iou, a detector's input: classification runs have no boxes \(check, preview and export work\)$/);
  assert.doesNotMatch(io.stderr + io5.stderr + io6.stderr, /\$\./);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f !== 'broken.loss' && f !== 'bad.json'), [], 'no run folder was made');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('run CONFIG.json: relative paths from the config folder', async () => {
  const dir = tmp();
  fs.copyFileSync(path.join(EXAMPLES, 'gce.loss'), path.join(dir, 'gce.loss'));
  const cfg = path.join(dir, 'run.json');
  fs.writeFileSync(cfg, JSON.stringify({
    $schema: '../schemas/lossrun.schema.json',
    losses: [{ file: 'gce.loss', params: { q: 0.5 } }],
    model: 'mlp', maxTrain: 200, maxVal: 200, batchSize: 50, epochs: 1, seeds: [7], augmentations: ['none'], backend: 'wasm', runsDir: 'runs',
  }));
  const pool = new WorkerPool({ size: 0 });
  setPoolForTests(pool);
  try {
    const io = fakeIo();
    assert.equal(await main(['run', cfg, '--json'], io), 0, io.stderr);
    const summary = JSON.parse(io.stdout.trim().split('\n').at(-1)!) as CompareSummary;
    assert.deepEqual(summary.seeds, [7]);
    assert.deepEqual(summary.results[1].ref.params, { q: 0.5 });
    assert.ok(fs.existsSync(path.join(dir, 'runs')));
  } finally {
    setPoolForTests(undefined);
    await pool.close();
  }
});

test('on a terminal: live bars for the run and each training (epoch, step, ETA); in a pipe: plain lines, no escape codes', { skip: process.platform !== 'linux' }, async () => {
  const dir = tmp();
  const bin = path.join(ROOT, 'bin', 'lossmith.js');
  const args = ['compare', path.join(EXAMPLES, 'focal.loss'), ...TINY, '--steps-per-epoch', '40', '--workers', '1', '--runs-dir', path.join(dir, 'runs')];
  const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const run = (file: string, argv: string[]): Promise<string> =>
    new Promise((resolve, reject) => execFile(file, argv, { cwd: dir, maxBuffer: 64 << 20, timeout: 240_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
  // util-linux's script(1) gives the CLI a pseudo-terminal and copies what it draws.
  const tty = await run('script', ['-qec', [process.execPath, bin, ...args].map(quote).join(' '), '/dev/null']);
  assert.match(tty, /\x1b\[/, 'cursor movement on a terminal');
  assert.match(tty, /focal · none · seed \d ░*█*|focal · none · seed \d █+/, 'a bar per training');
  assert.match(tty, /epoch 1\/1 · step \d+\/40 · ETA /);
  assert.match(tty, /\d\/4 trainings · \d+s elapsed · ETA /, 'the run\'s bar');
  assert.match(tty, /\[4\/4\] \w+ · none · seed \d: /, 'finished lines printed above the bars');
  assert.match(tty, /Compare run .* done/);
  const piped = await run(process.execPath, [bin, ...args]);
  assert.doesNotMatch(piped, /\x1b\[|ETA|█/);
  assert.match(piped, /^\[1\/4\] /m);
  const json = await run(process.execPath, [bin, ...args, '--json']);
  assert.ok(json.trim().split('\n').every((l) => l.startsWith('{')), 'nothing but JSON lines with --json');
});

test('bin/lossmith.js compare --json in a child process, on a worker process', async () => {
  const dir = tmp();
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'lossmith.js'), 'compare', path.join(EXAMPLES, 'label-smoothing.loss'), ...TINY, '--seeds', '1', '--workers', '1', '--json'],
      { cwd: dir, timeout: 120000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.at(-1) as unknown as CompareSummary;
  assert.equal(summary.status, 'done');
  assert.equal(summary.backend?.name, 'wasm');
  assert.ok(fs.existsSync(path.join(dir, '.lossmith', 'runs')), 'default runs folder under the cwd');
});

test('backend: lists backends with reasons; install failure is reported clearly', async () => {
  const io = fakeIo();
  assert.equal(await main(['backend'], io), 0);
  assert.match(io.stdout, /✓ wasm/);
  assert.match(io.stdout, /✗ tensorflow-gpu .*not installed/);
  assert.match(io.stdout, /--backend auto picks: wasm/);
  // The torch engine is listed with the Python asked for: here one that does not exist.
  const none = fakeIo();
  assert.equal(await main(['backend', '--python', '/nonexistent/python3'], none), 0);
  assert.match(none.stdout, /engine torch[\s\S]*✗ no Python at '\/nonexistent\/python3': install Python 3 with PyTorch, or name one with --python PATH/);
  assert.match(none.stdout, /--engine auto picks: tfjs/);
  const prefix = tmp();
  process.env.LOSSMITH_BACKENDS = prefix;
  setNpmForTests(process.execPath, ['-e', 'process.stderr.write("npm ERR! request to https://storage.googleapis.com/tf-builds/libtensorflow.tar.gz failed, reason: getaddrinfo ENOTFOUND\\n"); process.exit(1)', '--']);
  try {
    const io2 = fakeIo();
    assert.equal(await main(['backend', 'install', 'gpu'], io2), 1);
    assert.match(io2.stdout, /running: .* install --prefix .* @tensorflow\/tfjs-node-gpu@4\.22\.0/);
    assert.match(io2.stderr, /installing @tensorflow\/tfjs-node-gpu@4\.22\.0 failed: its install script could not download libtensorflow/);
    assert.match(io2.stderr, /keeps working with the wasm backend/);
    const io3 = fakeIo();
    assert.equal(await main(['backend', 'install', 'tpu'], io3), 2);
  } finally {
    delete process.env.LOSSMITH_BACKENDS;
    setNpmForTests(process.platform === 'win32' ? 'npm.cmd' : 'npm');
  }
});

test('Ctrl-C (SIGINT to the process group) cancels the run and keeps the summary', { skip: process.platform === 'win32' }, async () => {
  const dir = tmp();
  const killed = await killAfterFirstTraining(['compare', path.join(EXAMPLES, 'focal.loss'), ...TINY, '--aug', 'none', '--workers', '0'], dir);
  assert.equal(killed.signal, 'SIGKILL');
  const start = { dir: killed.dir };
  const id = path.basename(start.dir);
  // The killed run left no summary status but running, and no end event.
  assert.ok(!/"type":"run-(end|cancelled)"/.test(fs.readFileSync(path.join(start.dir, 'events.jsonl'), 'utf8')));

  const bad = fakeIo();
  assert.equal(await main(['compare', '--resume', id, '--model', 'convnet', '--runs-dir', path.join(dir, '.lossmith', 'runs')], bad), 2);
  assert.match(bad.stderr, /--resume continues a run with its own configuration: --model cannot be given/);

  const pool = new WorkerPool({ size: 0 });
  setPoolForTests(pool);
  try {
    const io = fakeIo();
    const code = await main(['compare', '--resume', id, '--runs-dir', path.join(dir, '.lossmith', 'runs')], io);
    assert.equal(code, 0, io.stderr);
    assert.match(io.stdout, /resuming .*: [1-3] of 4 trainings finished before and are kept; training [1-3] on this process/);
    assert.match(io.stdout, /\[4\/4\] /);
    assert.match(io.stdout, /Compare run .* — done/);
    const s = JSON.parse(fs.readFileSync(path.join(start.dir, 'summary.json'), 'utf8')) as CompareSummary;
    assert.equal(s.status, 'done');
    assert.equal(s.finished, 4);
    assert.ok(s.results.every((r) => r.testAccuracy.perSeed.every((v) => typeof v === 'number')));
  } finally {
    setPoolForTests(undefined);
    await pool.close();
  }
});

test('--version prints the package version; evolve --resume of a run that is not there is one line, exit 2', async () => {
  const io = fakeIo();
  assert.equal(await main(['--version'], io), 0);
  assert.equal(io.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  const dir = tmp();
  const bad = fakeIo();
  assert.equal(await main(['evolve', '--resume', 'nosuch', '--root', dir], bad), 2);
  assert.match(bad.stderr, /^lossmith: no evolution checkpoint \(checkpoint\.json\) in nosuch/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});
