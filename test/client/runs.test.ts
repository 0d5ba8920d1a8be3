/** The run manager's pure parts and its process handling (no VS Code): locating Node and the engine, command lines, tailing events.jsonl, stopping a process tree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { compareArgs, compareLabel, configArgs, evolveArgs, parseChoices, resumeArgs, DEFAULT_COMPARE, EVOLVE_SIZE_CHOICES } from '../../client/src/runs/cli-args';
import { DEFAULT_SURROGATE } from '../../engine/src/evolve/config';
import { EventTail, LineBuffer, parseEventLines } from '../../client/src/runs/event-tail';
import { findOnPath, HOST_RUNTIME, locateEngine, locateNode, nodeVersionOk, type EngineSearch, type FsLike, type Located, type NotFound } from '../../client/src/runs/locate';
import { lossLines } from '../../client/src/runs/loss-lines';
import { bestLossFile, findRunDir, progressOf, ProgressTracker, runEvents, runLabel } from '../../client/src/runs/run-files';
import { alive, RunProcess } from '../../client/src/runs/run-process';
import { describeLoss, lossFileText } from '../../client/src/runs/describe-loss';
import { toStart } from '../../client/src/runs/queue';
import { tmpDir } from '../helpers/tmp';

const FIX = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'runs');

function fakeFs(files: Record<string, string>, links: Record<string, string> = {}): FsLike {
  return { isFile: (p) => p in files, realpath: (p) => links[p] ?? p, readFile: (p) => files[p] };
}

test('locate: node from the setting, else VS Code\u2019s own runtime (run as Node); errors name the fix and the setting', () => {
  const f = fakeFs({ '/opt/node/bin/node': '', '/usr/bin/node': '' });
  const host = { execPath: '/vscode/code', version: '20.18.1' };
  assert.deepEqual(locateNode('/opt/node/bin/node', host, f), { path: '/opt/node/bin/node', from: 'lossmith.nodePath' });
  // Not `node` on PATH: the runtime VS Code itself runs on, which every installation has.
  assert.deepEqual(locateNode('', host, f), { path: '/vscode/code', from: HOST_RUNTIME, env: { ELECTRON_RUN_AS_NODE: '1' }, version: '20.18.1' });
  assert.deepEqual(locateNode(undefined, host, f), locateNode('  ', host, f));
  const bad = locateNode('/missing', host, f) as NotFound;
  assert.equal(bad.setting, 'lossmith.nodePath');
  assert.match(bad.error, /lossmith.nodePath is set to \/missing, which is not a file: .*clear it/);
  assert.equal(findOnPath('node', 'C:\\node', 'win32', fakeFs({ [path.join('C:\\node', 'node.exe')]: '' })), path.join('C:\\node', 'node.exe'));
  assert.ok(nodeVersionOk('20.11.1') && nodeVersionOk('v22.0.0') && !nodeVersionOk('18.19.0') && !nodeVersionOk('x'));
});

test('locate: the engine from the setting, the workspace, a lossmith checkout, the extension\u2019s bundle, or PATH', () => {
  const find = (o: Partial<EngineSearch>, files: Record<string, string>, links: Record<string, string> = {}): Located | NotFound => locateEngine({ workspaceFolders: [], platform: 'linux', ...o }, fakeFs(files, links));
  const bundled = '/ext/dist/engine/lossmith.js';
  assert.equal((find({ setting: '/e/bin/lossmith.js', bundled }, { '/e/bin/lossmith.js': '', [bundled]: '' }) as Located).path, '/e/bin/lossmith.js');
  assert.equal((find({ workspaceFolders: ['/ws'], bundled }, { '/ws/node_modules/lossmith/bin/lossmith.js': '', [bundled]: '' }) as Located).path, '/ws/node_modules/lossmith/bin/lossmith.js');
  assert.equal((find({ workspaceFolders: ['/src'], bundled }, { '/src/bin/lossmith.js': '', '/src/package.json': '{"name":"lossmith"}', [bundled]: '' }) as Located).path, '/src/bin/lossmith.js');
  // Another package's bin/lossmith.js is not ours; the bundle comes before PATH.
  assert.deepEqual(find({ workspaceFolders: ['/other'], bundled, envPath: '/usr/local/bin' }, { '/other/bin/lossmith.js': '', '/other/package.json': '{"name":"x"}', [bundled]: '', '/usr/local/bin/lossmith': '' }), { path: bundled, from: 'the engine bundled with the extension' });
  assert.ok('error' in find({ workspaceFolders: ['/other'] }, { '/other/bin/lossmith.js': '', '/other/package.json': '{"name":"x"}' }));
  const viaPath = find({ envPath: '/usr/local/bin', bundled }, { '/usr/local/bin/lossmith': '' }, { '/usr/local/bin/lossmith': '/usr/local/lib/node_modules/lossmith/bin/lossmith.js' });
  assert.deepEqual(viaPath, { path: '/usr/local/lib/node_modules/lossmith/bin/lossmith.js', from: 'PATH' });
  const badSetting = find({ setting: '/nope.js', bundled }, { [bundled]: '' }) as NotFound;
  assert.equal(badSetting.setting, 'lossmith.enginePath');
  assert.match(badSetting.error, /lossmith.enginePath is set to \/nope.js, which is not a file/);
  // Nothing found: the message names what exists (the .vsix, the CLI package from npm pack), not a registry package.
  const none = find({ bundled }, {}) as NotFound;
  assert.equal(none.setting, 'lossmith.enginePath');
  assert.match(none.error, /no bundled engine \(\/ext\/dist\/engine\/lossmith.js\).*\.vsix.*lossmith.enginePath.*npm install -g \.\/lossmith-VERSION\.tgz/);
  assert.doesNotMatch(none.error, /npm install -g lossmith\b/);
});

test('cli args: compare, evolve, resume and configs', () => {
  const a = compareArgs(['/w/focal.loss#focal'], { dataset: 'mnist', model: 'mlp', augmentations: ['none', 'cutout'], seeds: 2, epochs: 1, maxTrain: 300 });
  assert.deepEqual(a, ['compare', '/w/focal.loss#focal', '--baseline', 'ce', '--dataset', 'mnist', '--model', 'mlp', '--aug', 'none,cutout', '--seeds', '2', '--epochs', '1', '--max-train', '300', '--json']);
  assert.deepEqual(evolveArgs({ model: 'mlp', augmentations: ['none'], steps: 20 }), ['evolve', '--model', 'mlp', '--aug', 'none', '--steps', '20', '--json']);
  assert.deepEqual(resumeArgs('evolve', '/w/.lossmith/runs/x'), ['evolve', '--resume', '/w/.lossmith/runs/x', '--json']);
  // Start Evolution's first size is the engine's own default (so it passes no --max-train).
  assert.equal(EVOLVE_SIZE_CHOICES[0], DEFAULT_SURROGATE.maxTrain);
  assert.deepEqual(evolveArgs({ model: 'mlp', augmentations: ['none'], steps: 20, maxTrain: 300 }), ['evolve', '--model', 'mlp', '--aug', 'none', '--steps', '20', '--max-train', '300', '--json']);
  assert.deepEqual(resumeArgs('compare', '/w/.lossmith/runs/y'), ['compare', '--resume', '/w/.lossmith/runs/y', '--json']);
  assert.deepEqual(configArgs('/w/a.lossrun.json'), { kind: 'compare', args: ['run', '/w/a.lossrun.json', '--json'] });
  assert.deepEqual(configArgs('/w/b.evolve.json'), { kind: 'evolve', args: ['evolve', '--config', '/w/b.evolve.json', '--json'] });
  assert.equal(configArgs('/w/c.json'), undefined);
  assert.equal(compareLabel(['/w/focal.loss#focal', '/w/gce.loss']), 'focal, gce vs ce');
});

test('remembered choices are validated', () => {
  assert.deepEqual(parseChoices(undefined), DEFAULT_COMPARE);
  assert.deepEqual(parseChoices({ dataset: 'fashion-mnist', model: 'mlp', augmentations: ['cutout'], seeds: 2, epochs: 3, maxTrain: 300 }), { dataset: 'fashion-mnist', model: 'mlp', augmentations: ['cutout'], seeds: 2, epochs: 3, maxTrain: 300 });
  assert.deepEqual(parseChoices({ model: 'gpt', augmentations: ['x; rm -rf'], seeds: -1, epochs: 1.5 }), DEFAULT_COMPARE);
});

test('LineBuffer keeps a torn line until its newline; parseEventLines skips junk', () => {
  const b = new LineBuffer();
  assert.deepEqual(b.push(Buffer.from('{"type":"a"}\n{"ty')), ['{"type":"a"}']);
  assert.equal(b.pending, 4);
  // A multi-byte character split across chunks.
  const e = Buffer.from('pe":"é"}\n');
  assert.deepEqual(b.push(e.subarray(0, 6)), []);
  assert.deepEqual(b.push(e.subarray(6)), ['{"type":"é"}']);
  const { events, skipped } = parseEventLines(['{"type":"x"}', '', 'not json', '[1]', '{"no":"type"}', '\0\0']);
  assert.deepEqual(events, [{ type: 'x' }]);
  assert.equal(skipped, 3);
});

test('EventTail follows appends, including a line written in two parts', async () => {
  const dir = tmpDir('lossmith-tail-');
  const file = path.join(dir, 'events.jsonl');
  const got: { from: number; types: string[] }[] = [];
  const tail = new EventTail(file, (ev, from) => got.push({ from, types: ev.map((e) => e.type) }), 20);
  tail.start();
  fs.writeFileSync(file, '{"type":"run-start"}\n{"type":"ep');
  tail.poll();
  fs.appendFileSync(file, 'och"}\n{"type":"run-end"}\n');
  tail.poll();
  tail.stop();
  assert.deepEqual(got, [
    { from: 0, types: ['run-start'] },
    { from: 1, types: ['epoch', 'run-end'] },
  ]);
  assert.equal(tail.events.length, 3);
});

test('run files: progress, labels and best loss of recorded runs', () => {
  const cmp = path.join(FIX, 'compare-finished');
  const p = progressOf('compare', runEvents(cmp));
  assert.equal(p.progress, 1);
  assert.equal(p.detail, '12 of 12 trainings');
  assert.match(p.backend ?? '', /\(CPU\)|\(GPU\)/);
  assert.equal(runLabel(cmp, 'compare'), 'focal vs ce');
  const mid = progressOf('evolve', runEvents(path.join(FIX, 'evolve-midrun')));
  assert.ok(mid.progress > 0 && mid.progress < 1, String(mid.progress));
  assert.match(mid.detail, /^\d+ candidates evaluated · \d+ of \d+ children \(\d+%\), best \d+\.\d+%/);
  assert.equal(path.basename(bestLossFile(path.join(FIX, 'evolve-finished')) ?? ''), 'best-none-1.loss');
  assert.equal(findRunDir([FIX], '../etc'), undefined);
});

test('loss lines and describing evolved losses', () => {
  assert.deepEqual(lossLines('param g = 2\nloss focal = 1\n  loss  ce=2\n# loss x = 3\n'), [
    { name: 'focal', line: 1 },
    { name: 'ce', line: 2 },
  ]);
  const d = describeLoss('sum(-asinh(pdiv(min(p, y), erfc(1))))');
  assert.match(d.latex, /asinh/);
  assert.ok(d.curve && d.curve.pt.length === d.curve.loss.length && d.curve.loss.some((v) => v !== null));
  assert.ok(describeLoss('sum(nosuchfn(p))').error);
  assert.equal(lossFileText('sum(y * p)', ['from run x']), '# from run x\nloss candidate = sum(y * p)\n');
});

/** A stand-in for the engine CLI: writes a run folder, starts a worker, cancels on SIGTERM (leaving its worker behind, so the group kill matters). */
const FAKE_CLI = `
const fs = require('fs'), path = require('path'), { spawn } = require('child_process');
const r = process.argv.indexOf('--resume');
if (r > 0) {
  const d = process.argv[r + 1];
  fs.appendFileSync(path.join(d, 'events.jsonl'), JSON.stringify({ type: 'run-resume', pid: process.pid, host: 'h', time: new Date().toISOString() }) + '\\n');
  setTimeout(() => process.exit(0), 400);
  return;
}
const id = 'fake-' + process.pid;
const dir = path.join(process.cwd(), '.lossmith', 'runs', id);
fs.mkdirSync(dir, { recursive: true });
const ev = (e) => fs.appendFileSync(path.join(dir, 'events.jsonl'), JSON.stringify(e) + '\\n');
ev({ type: 'run-start', id, kind: 'compare', created: new Date().toISOString(), pid: process.pid, host: require('os').hostname() });
const worker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
fs.writeFileSync(path.join(dir, 'worker.pid'), String(worker.pid));
process.stderr.write('fake engine started\\n');
if (process.argv.includes('--fail')) { process.stderr.write('Error: no such dataset\\n'); process.exit(2); }
process.on('SIGTERM', () => { ev({ type: 'run-cancelled', reason: 'SIGTERM', wallMs: 1, finished: 0 }); process.exit(0); });
setInterval(() => ev({ type: 'epoch' }), 50);
`;

test('RunProcess: finds its run by pid, stop cancels it and kills the process tree', { timeout: 30_000 }, async () => {
  const ws = tmpDir('lossmith-proc-');
  const cli = path.join(ws, 'fake-cli.js');
  fs.writeFileSync(cli, FAKE_CLI);
  let started: Record<string, unknown> | undefined;
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = new RunProcess({
      node: process.execPath,
      cli,
      args: [],
      cwd: ws,
      runsDir: path.join(ws, '.lossmith', 'runs'),
      logFile: path.join(ws, 'logs', 'run.log'),
      onStart: (e) => {
        started = e;
        setTimeout(() => p.stop(), 200);
      },
      onExit: (code, _signal, stderr) => resolve({ code, stderr }),
      graceMs: 2000,
    });
  });
  const { code, stderr } = await exited;
  assert.equal(code, 0);
  assert.match(stderr, /fake engine started/);
  assert.ok(started && typeof started.id === 'string');
  const dir = path.join(ws, '.lossmith', 'runs', started.id as string);
  const events = runEvents(dir);
  assert.equal(events[events.length - 1].type, 'run-cancelled');
  const worker = Number(fs.readFileSync(path.join(dir, 'worker.pid'), 'utf8'));
  const t0 = Date.now();
  while (alive(worker) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(worker), false, 'the worker left behind is killed with the group');
});

test('RunProcess: a failing engine reports its stderr', { timeout: 30_000 }, async () => {
  const ws = tmpDir('lossmith-proc-');
  const cli = path.join(ws, 'fake-cli.js');
  fs.writeFileSync(cli, FAKE_CLI);
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    new RunProcess({ node: process.execPath, cli, args: ['--fail'], cwd: ws, runsDir: path.join(ws, '.lossmith', 'runs'), logFile: path.join(ws, 'run.log'), onStart: () => undefined, onExit: (code, _s, stderr) => resolve({ code, stderr }) });
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no such dataset/);
});

test('queue: queued runs start oldest first while fewer than the cap are active', () => {
  assert.deepEqual(toStart(['queued', 'queued', 'queued'], 1), [0]);
  assert.deepEqual(toStart(['running', 'queued', 'queued'], 2), [1]);
  assert.deepEqual(toStart(['running', 'stopping', 'queued'], 2), []);
  assert.deepEqual(toStart(['done', 'cancelled', 'queued', 'queued'], 2), [2, 3]);
  assert.deepEqual(toStart(['queued'], 0), []);
});

test('RunProcess: a resumed run is found in its existing folder by its run-resume event', { timeout: 30_000 }, async () => {
  const ws = tmpDir('lossmith-proc-');
  const cli = path.join(ws, 'fake-cli.js');
  fs.writeFileSync(cli, `(function () {${FAKE_CLI}})();`);
  const dir = path.join(ws, '.lossmith', 'runs', 'r1');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), JSON.stringify({ type: 'run-start', id: 'r1', kind: 'evolve', created: 'x', pid: 1, host: 'h' }) + '\n');
  let started: Record<string, unknown> | undefined;
  await new Promise<void>((resolve) => {
    new RunProcess({ node: process.execPath, cli, args: ['--resume', dir], cwd: ws, runsDir: path.join(ws, '.lossmith', 'runs'), resumeDir: dir, logFile: path.join(ws, 'run.log'), onStart: (e) => (started = e), onExit: () => resolve() });
  });
  assert.equal(started?.id, 'r1');
  assert.equal(started?.kind, 'evolve');
});

test('ProgressTracker fed in batches agrees with reading the whole run', () => {
  for (const [kind, name] of [['compare', 'compare-finished'], ['evolve', 'evolve-midrun'], ['evolve', 'evolve-finished']] as const) {
    const events = runEvents(path.join(FIX, name));
    const t = new ProgressTracker(kind);
    for (let i = 0; i < events.length; i += 7) t.push(events.slice(i, i + 7));
    assert.deepEqual(t.get(), progressOf(kind, events), name);
  }
});
