/**
 * The lossmith CLI as a package of its own: `npm pack` puts in bin/lossmith.js and the bundles of
 * scripts/build-extension.js (dist/engine: the engine with its wasm binaries, MNIST digits,
 * schema and torch runner; dist/server.js: `lossmith lsp`) and nothing else, and the package
 * runs every command with no node_modules anywhere on its path: extracted as it is, and
 * installed with `npm install -g --prefix` (offline: it has no dependencies to fetch).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ensurePackaged, ROOT, waitFor } from './helpers';
import { tmpDir } from '../helpers/tmp';
import { findTorchPython, skipUnless } from '../export/python';

const TORCH_PY = findTorchPython();

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };

/** A folder and its ancestors hold no node_modules (so nothing can be resolved from one). */
function noNodeModulesAbove(dir: string): void {
  for (let d = dir; ; d = path.dirname(d)) {
    assert.ok(!fs.existsSync(path.join(d, 'node_modules')), `${d}/node_modules exists`);
    if (path.dirname(d) === d) break;
  }
}

/** `env` without anything that could point Node at the checkout's packages. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', ...extra };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  return env;
}

function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}, timeout = 180_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: cleanEnv(extra), timeout, maxBuffer: 64 * 1024 * 1024 });
}

const ok = (r: SpawnSyncReturns<string>, what: string): string => {
  assert.equal(r.status, 0, `${what} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

/** `lossmith lsp --stdio` answers an initialize request. */
async function lspAnswers(bin: string, cwd: string): Promise<Record<string, unknown>> {
  const p = spawn(process.execPath, [bin, 'lsp', '--stdio'], { cwd, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
    p.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // The frames so far (Content-Length headers, JSON bodies); the answer is the one with id 1.
    const answer = (): { result: Record<string, unknown> } | undefined => {
      const buf = Buffer.from(out, 'utf8');
      for (let at = 0; at < buf.length; ) {
        const head = buf.indexOf('\r\n\r\n', at);
        const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(at, head).toString('utf8'))?.[1]);
        if (head < 0 || !Number.isFinite(len) || head + 4 + len > buf.length) return undefined;
        const m = JSON.parse(buf.subarray(head + 4, head + 4 + len).toString('utf8')) as { id?: number; result: Record<string, unknown> };
        if (m.id === 1) return m;
        at = head + 4 + len;
      }
      return undefined;
    };
    return (await waitFor('the initialize answer', answer, 30_000, 50)).result;
  } finally {
    p.kill();
  }
}

test('npm pack: the lossmith CLI package holds the bundles, and runs every command without node_modules, extracted or installed with npm install -g', { timeout: 900_000 }, async (t) => {
  const t0 = Date.now();
  await ensurePackaged();
  const base = tmpDir('lossmith-cli-package-');
  noNodeModulesAbove(base);
  const timing: Record<string, number> = {};

  // The packed files: the bin, the engine's and the server's bundles, the catalogue and the schemas.
  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', base], ROOT, { npm_config_loglevel: 'error' });
  const info = (JSON.parse(ok(packed, 'npm pack')) as { filename: string; size: number; files: { path: string }[] }[])[0];
  const tgz = path.join(base, info.filename);
  assert.equal(info.filename, `${pkg.name}-${pkg.version}.tgz`);
  const files = info.files.map((f) => f.path).sort();
  const allowed = [
    /^package\.json$/,
    /^README\.md$/,
    /^LICENSE$/,
    /^bin\/lossmith\.js$/,
    /^dist\/server\.js$/,
    /^dist\/engine\/(lossmith|worker-main)\.js$/,
    /^dist\/engine\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/,
    /^dist\/engine\/mnist\/(\d\.json|LICENSE)$/,
    /^dist\/engine\/schemas\/lossrun\.schema\.json$/,
    /^dist\/engine\/torch\/lossmith_torch\/\w+\.py$/,
    /^schemas\/(lossrun|evolve)\.schema\.json$/,
    /^examples\/(?:(?:gan|detection|segmentation)\/)?[\w-]+\.loss$/,
  ];
  assert.deepEqual(files.filter((f) => !allowed.some((re) => re.test(f))), [], 'unexpected files in the package');
  for (const f of ['bin/lossmith.js', 'dist/server.js', 'dist/engine/lossmith.js', 'dist/engine/worker-main.js', 'dist/engine/tfjs-backend-wasm.wasm', 'dist/engine/mnist/9.json', 'dist/engine/schemas/lossrun.schema.json', 'dist/engine/torch/lossmith_torch/__main__.py', 'examples/focal.loss', 'examples/gan/hinge.loss']) {
    assert.ok(files.includes(f), `${f} is missing`);
  }
  const runner = fs.readdirSync(path.join(ROOT, 'engine', 'torch', 'lossmith_torch')).filter((f) => f.endsWith('.py'));
  for (const f of runner) assert.ok(files.includes(`dist/engine/torch/lossmith_torch/${f}`), `the torch runner's ${f} is missing`);
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies?: Record<string, string> };
  assert.deepEqual(manifest.bin, { lossmith: 'bin/lossmith.js' });
  assert.deepEqual(manifest.dependencies ?? {}, {}, 'everything the package runs is bundled: no dependency to install');
  t.diagnostic(`${info.filename}: ${files.length} files, ${(info.size / 1024 / 1024).toFixed(1)} MB`);
  assert.ok(info.size < 8 * 1024 * 1024, `${info.size} bytes`);

  // Extracted as it is: every command.
  const extracted = path.join(base, 'extracted');
  fs.mkdirSync(extracted);
  ok(run('tar', ['xzf', tgz, '-C', extracted], base), 'tar');
  const bin = path.join(extracted, 'package', 'bin', 'lossmith.js');
  const work = path.join(base, 'work');
  fs.mkdirSync(work);
  fs.copyFileSync(path.join(ROOT, 'examples', 'focal.loss'), path.join(work, 'focal.loss'));
  const cli = (args: string[], extra: Record<string, string> = {}, timeout?: number): SpawnSyncReturns<string> => run(process.execPath, [bin, ...args], work, extra, timeout);
  await t.test('--version, check, derive, probe, export, backend and lsp', async () => {
    assert.equal(ok(cli(['--version']), '--version').trim(), pkg.version);
    const check = cli(['check', 'focal.loss']);
    ok(check, 'check');
    assert.match(check.stderr, /1 file checked: 0 errors/);
    assert.match(ok(cli(['derive', 'focal.loss']), 'derive'), /d focal \/ d logits = /);
    fs.writeFileSync(path.join(work, 'points.json'), JSON.stringify([{ logits: [2, 0, -1], y: [1, 0, 0] }]));
    const probe = JSON.parse(ok(cli(['probe', 'focal.loss', '--points', 'points.json']), 'probe')) as { value: number; grad_logits: number[] }[];
    assert.equal(probe[0].grad_logits.length, 3);
    assert.ok(Number.isFinite(probe[0].value));
    assert.match(ok(cli(['export', 'focal.loss', '--loss', 'focal', '--to', 'pytorch']), 'export'), /import torch/);
    const report = JSON.parse(ok(cli(['backend', '--json']), 'backend --json')) as { backends: { name: string; available: boolean }[]; engines: { engine: string; available: boolean; details: { problem?: string } }[] };
    assert.equal(report.backends.find((b) => b.name === 'wasm')?.available, true, 'the wasm binaries beside the bundle load');
    // The torch runner ships in the package: whatever this Python has, it is never missing.
    const torch = report.engines.find((e) => e.engine === 'torch');
    assert.doesNotMatch(torch?.details.problem ?? '', /missing from this installation|No module named .?lossmith_torch/);
    const lsp = await lspAnswers(bin, work);
    assert.ok(lsp.capabilities, 'the language server answers initialize');
  });

  await t.test('a native tfjs backend installed beside it is given the bundled tf (one instance)', () => {
    const backends = path.join(base, 'backends');
    const fake = path.join(backends, 'node_modules', '@tensorflow', 'tfjs-node');
    fs.mkdirSync(fake, { recursive: true });
    fs.writeFileSync(path.join(fake, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }));
    // What tfjs-node 4.22 requires of tfjs, registering a 'tensorflow' backend that is never picked.
    fs.writeFileSync(
      path.join(fake, 'index.js'),
      [
        "const tf = require('@tensorflow/tfjs');",
        "const core = require('@tensorflow/tfjs-core');",
        "require('@tensorflow/tfjs-core/dist/register_all_gradients');",
        "require('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops');",
        "if (tf.registerBackend !== core.registerBackend) throw new Error('two tf instances');",
        "tf.registerBackend('tensorflow', () => { throw new Error('a fake'); }, -1);",
      ].join('\n'),
    );
    const report = JSON.parse(ok(cli(['backend', '--json'], { LOSSMITH_BACKENDS: backends }), 'backend --json')) as { backends: { name: string; available: boolean; reason?: string }[] };
    const native = report.backends.find((b) => b.name === 'tensorflow');
    assert.equal(native?.available, true, native?.reason);
  });

  await t.test('compare trains on the bundled digits and wasm binaries; a run config is checked against the bundled schema; evolve runs to its end', () => {
    const t1 = Date.now();
    const out = ok(cli(['compare', 'focal.loss', '--model', 'mlp', '--max-train', '300', '--epochs', '1', '--seeds', '2']), 'compare');
    timing.compareMs = Date.now() - t1;
    assert.match(out, /ce \(baseline\)\s+\d+\.\d+%/);
    assert.match(out, /focal\s+\d+\.\d+%/);
    const runs = path.join(work, '.lossmith', 'runs');
    const [id] = fs.readdirSync(runs);
    assert.equal(JSON.parse(fs.readFileSync(path.join(runs, id, 'summary.json'), 'utf8')).status, 'done');
    const events = fs.readFileSync(path.join(runs, id, 'events.jsonl'), 'utf8');
    assert.ok(events.includes(`binaries from ${path.join(extracted, 'package', 'dist', 'engine')}`), 'the wasm binaries beside the bundle');
    // The bundled schema is read: a misspelt field is named.
    fs.writeFileSync(path.join(work, 'bad.lossrun.json'), JSON.stringify({ losses: ['focal.loss#focal'], epochz: 1 }));
    const bad = cli(['run', 'bad.lossrun.json']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /epochz/);
    assert.doesNotMatch(bad.stderr, /schema\.json not found/);
    const cfg = { population: 4, sample: 2, steps: 6, workers: 1, seed: 3, topK: 2, finalSeeds: 2, surrogate: { model: { kind: 'mlp', hidden: [32] }, maxTrain: 200, maxVal: 200, epochs: 1 } };
    fs.writeFileSync(path.join(work, 'tiny.evolve.json'), JSON.stringify(cfg));
    const t2 = Date.now();
    ok(cli(['evolve', '--config', 'tiny.evolve.json'], {}, 400_000), 'evolve');
    timing.evolveMs = Date.now() - t2;
    const evo = fs.readdirSync(runs).find((d) => d !== id)!;
    const summary = JSON.parse(fs.readFileSync(path.join(runs, evo, 'summary.json'), 'utf8')) as { status: string; best: unknown[] };
    assert.equal(summary.status, 'done');
    assert.ok(summary.best.length >= 1);
  });

  await t.test('the torch engine trains through the runner in the package', { skip: skipUnless(TORCH_PY, 'a Python with torch') }, () => {
    assert.ok(TORCH_PY, 'a Python with torch (CI: python3-torch)');
    const out = ok(cli(['compare', 'focal.loss', '--engine', 'torch', '--python', TORCH_PY, '--device', 'cpu', '--model', 'mlp', '--max-train', '300', '--epochs', '1', '--seeds', '2'], { LOSSMITH_DATA_CACHE: path.join(base, 'data-cache') }, 400_000), 'compare --engine torch');
    assert.match(out, /focal\s+\d+\.\d+%/);
  });

  await t.test('npm install -g --prefix (offline) gives a `lossmith` command that checks and compares', () => {
    const prefix = path.join(base, 'prefix');
    const t3 = Date.now();
    // --omit=optional: the native TensorFlow packages download libtensorflow when they install.
    ok(run('npm', ['install', '-g', '--prefix', prefix, tgz, '--offline', '--omit=optional', '--no-audit', '--no-fund', '--loglevel=error'], base), 'npm install -g');
    timing.installMs = Date.now() - t3;
    const installed = path.join(prefix, 'bin', 'lossmith');
    assert.ok(fs.existsSync(installed));
    assert.ok(!fs.existsSync(path.join(prefix, 'lib', 'node_modules', 'lossmith', 'node_modules')), 'nothing installed beside it');
    const work2 = path.join(base, 'work2');
    fs.mkdirSync(work2);
    fs.copyFileSync(path.join(ROOT, 'examples', 'focal.loss'), path.join(work2, 'focal.loss'));
    const env = { PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH ?? ''}` };
    assert.equal(ok(run('lossmith', ['--version'], work2, env), 'lossmith --version').trim(), pkg.version);
    const check = run('lossmith', ['check', 'focal.loss'], work2, env);
    ok(check, 'lossmith check');
    assert.match(check.stderr, /1 file checked: 0 errors/);
    const out = ok(run('lossmith', ['compare', 'focal.loss', '--model', 'mlp', '--max-train', '300', '--epochs', '1', '--seeds', '2'], work2, env), 'lossmith compare');
    assert.match(out, /focal\s+\d+\.\d+%/);
  });
  timing.totalMs = Date.now() - t0;
  t.diagnostic(`timing ${JSON.stringify(timing)}`);
});
