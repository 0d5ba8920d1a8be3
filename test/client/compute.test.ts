/**
 * The engine/device step of the run quick picks, without VS Code: the engine flags of the command
 * lines, which Python is used (with fake Python extensions), the items built from recorded
 * `lossmith backend --json` output (test/fixtures/backend: this machine's `python3`, which has no
 * torch; /usr/bin/python3 with Debian's CPU-only torch; a Python that does not exist), the real
 * engine CLI answering through the same function the extension calls, and the Runs view's words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { compareArgs, computeArgs, DEFAULT_COMPARE, evolveArgs, MODELS, modelsFor, parseChoices, TORCH_MODELS } from '../../client/src/runs/cli-args';
import { computeItems, parseEngineReport, type ComputeSettings, type EngineReport } from '../../client/src/runs/compute-choice';
import { choosePython, expandPythonPath, pythonExtensionInterpreter, type ExtensionLike, type PythonChoice } from '../../client/src/runs/python';
import { runCliOnce } from '../../client/src/runs/run-process';
import { progressOf, runEvents } from '../../client/src/runs/run-files';
import { ENGINE_MODELS } from '../../protocol/run-events';

const ROOT = path.join(__dirname, '..', '..', '..');
const fixture = (name: string): string => fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'backend', `${name}.json`), 'utf8');
const report = (name: string): EngineReport => {
  const r = parseEngineReport(fixture(name));
  assert.ok(!('error' in r), JSON.stringify(r));
  return r;
};
const AUTO: ComputeSettings = { engine: 'auto', device: 'auto', precision: 'auto' };
const DEFAULT_PY: PythonChoice = choosePython({ home: '/home/u', env: {} });
const SETTING_PY: PythonChoice = choosePython({ setting: '/usr/bin/python3', home: '/home/u', env: {} });

test('cli args: engine flags only where they differ from auto or empty; the tfjs engine gets no torch flags', () => {
  const base = { dataset: 'mnist', model: 'mlp' as const, augmentations: ['none'], seeds: 2, epochs: 1 };
  assert.deepEqual(compareArgs(['/w/f.loss#f'], { ...base, engine: 'auto', device: 'auto', precision: 'auto' }).slice(-1), ['--json']);
  assert.deepEqual(compareArgs(['/w/f.loss#f'], { ...base, engine: 'torch', device: 'cuda:1', precision: 'bf16', python: '/opt/py/bin/python' }).slice(-9), ['--engine', 'torch', '--python', '/opt/py/bin/python', '--device', 'cuda:1', '--precision', 'bf16', '--json']);
  assert.deepEqual(computeArgs({ engine: 'tfjs', backend: 'cpu', device: 'cuda', python: '/p', precision: 'fp16' }), ['--engine', 'tfjs', '--backend', 'cpu']);
  // auto may still pick torch: the Python it would use is passed.
  assert.deepEqual(computeArgs({ engine: 'auto', python: '/p' }), ['--python', '/p']);
  assert.deepEqual(evolveArgs({ model: 'wrn-16-4', augmentations: ['none'], steps: 20, engine: 'torch', device: 'cuda' }), ['evolve', '--model', 'wrn-16-4', '--aug', 'none', '--steps', '20', '--engine', 'torch', '--device', 'cuda', '--json']);
});

test('models: the torch engine has more; the lists match the engine\u2019s', () => {
  assert.deepEqual(modelsFor('tfjs').map((m) => m.model), [...ENGINE_MODELS.tfjs]);
  // torchvision needs --arch: not offered in the quick pick.
  assert.deepEqual(modelsFor('torch').map((m) => m.model), ENGINE_MODELS.torch.filter((m) => m !== 'torchvision'));
  assert.deepEqual(modelsFor('auto').filter((m) => m.torchOnly).map((m) => m.model), TORCH_MODELS);
  assert.deepEqual(MODELS, [...ENGINE_MODELS.tfjs]);
});

test('remembered engine choices are validated; a torch model is kept only with the torch engine', () => {
  const ok = { ...DEFAULT_COMPARE, engine: 'torch', device: 'cuda:1', precision: 'bf16', backend: 'wasm' };
  assert.deepEqual(parseChoices(ok), ok);
  assert.deepEqual(parseChoices({ engine: 'jax', device: 'cuda;rm', precision: 'fp8', backend: '../x', python: '/evil' }), DEFAULT_COMPARE);
  assert.equal(parseChoices({ model: 'wrn-28-10', engine: 'torch' }).model, 'wrn-28-10');
  assert.equal(parseChoices({ model: 'wrn-28-10', engine: 'tfjs' }).model, DEFAULT_COMPARE.model);
  // The Python is never remembered: it comes from the settings each time.
  assert.equal(parseChoices({ ...ok, python: '/usr/bin/python3' }).python, undefined);
});

test('python: the setting, else the Python extension\u2019s interpreter, else the engine\u2019s default, each saying where it came from', () => {
  assert.deepEqual(choosePython({ setting: ' /opt/conda/bin/python ', interpreter: '/ws/.venv/bin/python', home: '/h', env: { LOSSMITH_PYTHON: '/x' } }), { python: '/opt/conda/bin/python', shown: '/opt/conda/bin/python', from: 'the setting lossmith.pythonPath' });
  const ext = choosePython({ setting: '', interpreter: '/ws/.venv/bin/python', home: '/h', env: {} });
  assert.equal(ext.python, '/ws/.venv/bin/python');
  assert.match(ext.from, /Python extension/);
  const env = choosePython({ home: '/h', env: { LOSSMITH_PYTHON: '/opt/py' } });
  assert.equal(env.python, undefined, 'left to the engine, which reads LOSSMITH_PYTHON itself');
  assert.equal(env.shown, '/opt/py');
  assert.match(env.from, /LOSSMITH_PYTHON/);
  assert.deepEqual(DEFAULT_PY.python, undefined);
  assert.equal(DEFAULT_PY.shown, 'python3');
  assert.match(DEFAULT_PY.from, /python3 on PATH.*lossmith\.pythonPath/);
  assert.equal(expandPythonPath('~/venv/bin/python', '/ws', '/home/u'), path.join('/home/u', 'venv/bin/python'));
  assert.equal(expandPythonPath('${workspaceFolder}/.venv/bin/python', '/ws', '/home/u'), '/ws/.venv/bin/python');
  assert.equal(expandPythonPath('.venv/bin/python', '/ws', '/home/u'), path.resolve('/ws', '.venv/bin/python'));
  assert.equal(expandPythonPath('python3.12', '/ws', '/home/u'), 'python3.12', 'a bare name is looked up on PATH');
});

test('python: the Python extension\u2019s API, new and old, used defensively', async () => {
  const fake = (exports: unknown, o: { active?: boolean; activate?: () => Promise<unknown> } = {}): ExtensionLike & { activated: number } => {
    const e = {
      isActive: o.active ?? false,
      exports,
      activated: 0,
      activate: () => {
        e.activated++;
        return o.activate ? o.activate() : Promise.resolve(exports);
      },
    };
    return e;
  };
  assert.equal(await pythonExtensionInterpreter(undefined, undefined), undefined);
  // The environments API: the active path resolved to its executable (a conda env is a folder).
  const seen: unknown[] = [];
  const modern = fake({
    environments: {
      getActiveEnvironmentPath: (r: unknown) => (seen.push(r), { id: 'x', path: '/envs/torch' }),
      resolveEnvironment: async (env: { path: string }) => ({ executable: { uri: { fsPath: `${env.path}/bin/python` } } }),
    },
  });
  assert.equal(await pythonExtensionInterpreter(modern, 'folder-uri'), '/envs/torch/bin/python');
  assert.equal(modern.activated, 1);
  assert.deepEqual(seen, ['folder-uri']);
  const unresolved = fake({ environments: { getActiveEnvironmentPath: () => ({ id: 'x', path: '/ws/.venv/bin/python' }), resolveEnvironment: async () => undefined } }, { active: true });
  assert.equal(await pythonExtensionInterpreter(unresolved, undefined), '/ws/.venv/bin/python');
  assert.equal(unresolved.activated, 0, 'an active extension is not activated again');
  // The older settings API: a lone executable only ('conda run ...' is not a Python path).
  assert.equal(await pythonExtensionInterpreter(fake({ settings: { getExecutionDetails: () => ({ execCommand: ['/usr/local/bin/python3.11'] }) } }), undefined), '/usr/local/bin/python3.11');
  assert.equal(await pythonExtensionInterpreter(fake({ settings: { getExecutionDetails: () => ({ execCommand: ['conda', 'run', '-n', 'x', 'python'] }) } }), undefined), undefined);
  // Failures and odd shapes: nothing, never a throw.
  assert.equal(await pythonExtensionInterpreter(fake(undefined, { activate: () => Promise.reject(new Error('boom')) }), undefined), undefined);
  assert.equal(await pythonExtensionInterpreter(fake({ environments: { getActiveEnvironmentPath: () => { throw new Error('x'); } } }), undefined), undefined);
  assert.equal(await pythonExtensionInterpreter(fake(42), undefined), undefined);
  assert.equal(await pythonExtensionInterpreter(fake({}, { activate: () => new Promise(() => undefined) }), undefined, 20), undefined, 'an activation that never ends times out');
});

test('backend --json without torch (this machine\u2019s python3): tfjs first and chosen by auto, torch not available with its reason', () => {
  const r = report('no-torch');
  assert.equal(r.auto, 'tfjs');
  assert.equal(r.torch.available, false);
  assert.match(r.torch.problem ?? '', /No module named 'torch'/);
  const { items } = computeItems(r, AUTO, DEFAULT_PY);
  assert.deepEqual(items.map((i) => i.label), ['tfjs (embedded) · wasm', 'tfjs (embedded) · cpu', '$(circle-slash) torch · not available']);
  assert.match(items[0].description ?? '', /--engine auto picks this/);
  assert.deepEqual(items[0].choice, { engine: 'tfjs' });
  assert.deepEqual(items[1].choice, { engine: 'tfjs', backend: 'cpu' });
  const torch = items[2];
  assert.equal(torch.choice, undefined, 'not selectable');
  assert.match(torch.problem ?? '', /pip install torch/);
  assert.match(torch.detail ?? '', /python3 on PATH/);
  // The settings ask for torch: the unusable item comes first, saying why.
  const asked = computeItems(r, { ...AUTO, engine: 'torch' }, DEFAULT_PY).items;
  assert.equal(asked[0].label, '$(circle-slash) torch · not available');
  assert.match(asked[0].description ?? '', /from the settings/);
});

test('backend --json with Debian\u2019s CPU-only torch (/usr/bin/python3): torch on the CPU first, and why there is no GPU', () => {
  const r = report('torch-cpu');
  assert.equal(r.auto, 'torch');
  assert.equal(r.torch.probe?.executable, '/usr/bin/python3');
  const { items } = computeItems(r, AUTO, SETTING_PY);
  assert.deepEqual(items.map((i) => i.label), ['torch · cpu · fp32', 'tfjs (embedded) · wasm', 'tfjs (embedded) · cpu', '$(circle-slash) torch · cuda · not available']);
  assert.deepEqual(items[0].choice, { engine: 'torch', device: 'cpu', python: '/usr/bin/python3' });
  assert.match(items[0].detail ?? '', /torch 1\.13\.0a0, CPU-only build · Python 3\.11\.2 at \/usr\/bin\/python3, from the setting lossmith\.pythonPath/);
  assert.match(items[3].problem ?? '', /CPU-only build/);
  // A remembered choice is the default while the settings say auto; the settings win otherwise.
  assert.equal(computeItems(r, AUTO, SETTING_PY, { engine: 'tfjs' }).items[0].label, 'tfjs (embedded) · wasm');
  assert.match(computeItems(r, AUTO, SETTING_PY, { engine: 'tfjs' }).items[0].description ?? '', /last used/);
  assert.equal(computeItems(r, { ...AUTO, engine: 'tfjs' }, SETTING_PY, { engine: 'torch', device: 'cpu' }).items[0].label, 'tfjs (embedded) · wasm');
  // A device the settings ask for that torch does not see: that item first, unusable, with the reason.
  assert.equal(computeItems(r, { ...AUTO, device: 'cuda' }, SETTING_PY).items[0].label, '$(circle-slash) torch · cuda · not available');
  // A remembered device that is gone falls back to auto's pick.
  assert.equal(computeItems(r, AUTO, SETTING_PY, { engine: 'torch', device: 'cuda:3' }).items[0].label, 'torch · cpu · fp32');
  // bf16 and fp16 are for CUDA: on the CPU the item says fp32 and passes no --precision.
  const bf = computeItems(r, { ...AUTO, precision: 'bf16' }, SETTING_PY).items[0];
  assert.equal(bf.label, 'torch · cpu · fp32');
  assert.equal(bf.choice?.precision, undefined);
  assert.match(bf.description ?? '', /bf16 is for CUDA GPUs/);
});

test('backend --json with a Python that does not exist: the reason names it and the setting', () => {
  const r = report('no-python');
  const torch = computeItems(r, AUTO, choosePython({ setting: '/nonexistent/python', home: '/h', env: {} })).items.find((i) => !i.choice);
  assert.match(torch?.problem ?? '', /no Python at '\/nonexistent\/python'.*lossmith\.pythonPath/);
});

test('GPU items (the recorded torch probe with GPUs added, as `lossmith backend` reports them on a CUDA machine)', () => {
  const base = report('torch-cpu');
  const probe = base.torch.probe!;
  const h100 = { name: 'NVIDIA H100 80GB HBM3', memoryGiB: 79.2, capability: '9.0' };
  const one: EngineReport = { ...base, torch: { available: true, probe: { ...probe, torch: '2.11.0+cu130', cuda: '13.0', cudnn: 91300, cudaAvailable: true, bf16: true, gpus: [{ index: 0, ...h100 }] } } };
  const { items } = computeItems(one, AUTO, DEFAULT_PY);
  assert.deepEqual(items.map((i) => i.label), ['torch · cuda (NVIDIA H100 80GB HBM3, 79 GiB) · bf16', 'torch · cpu · fp32', 'tfjs (embedded) · wasm', 'tfjs (embedded) · cpu']);
  assert.deepEqual(items[0].choice, { engine: 'torch', device: 'cuda' }, 'auto precision and the default Python: no flags for them');
  assert.match(items[0].detail ?? '', /torch 2\.11\.0\+cu130, CUDA 13\.0, cuDNN 91300/);
  // cuda:0 in the settings is the one GPU.
  assert.match(computeItems(one, { ...AUTO, device: 'cuda:0' }, DEFAULT_PY).items[0].description ?? '', /from the settings/);
  assert.deepEqual(computeItems(one, { ...AUTO, precision: 'fp16' }, DEFAULT_PY).items[0].choice, { engine: 'torch', device: 'cuda', precision: 'fp16' });
  const two: EngineReport = { ...one, torch: { ...one.torch, probe: { ...one.torch.probe!, gpus: [{ index: 0, ...h100 }, { index: 1, ...h100 }] } } };
  const labels = computeItems(two, { ...AUTO, device: 'cuda:1' }, DEFAULT_PY).items.map((i) => i.label);
  assert.deepEqual(labels.slice(0, 3), ['torch · cuda:1 (NVIDIA H100 80GB HBM3, 79 GiB) · bf16', 'torch · cuda (2 GPUs: NVIDIA H100 80GB HBM3; trainings spread over them) · bf16', 'torch · cuda:0 (NVIDIA H100 80GB HBM3, 79 GiB) · bf16']);
});

test('a CLI that cannot list its engines: one item from the settings, saying why', () => {
  assert.ok('error' in parseEngineReport('Error: unknown option --json\n'));
  assert.ok('error' in parseEngineReport('{"backends": []}'), 'an engine CLI older than the torch engine');
  const { items, note } = computeItems({ error: 'lossmith backend failed: boom' }, { engine: 'torch', device: 'cuda', precision: 'bf16' }, SETTING_PY);
  assert.equal(items.length, 1);
  assert.equal(items[0].label, 'torch · cuda · bf16 (from the settings)');
  assert.deepEqual(items[0].choice, { engine: 'torch', device: 'cuda', precision: 'bf16', python: '/usr/bin/python3' });
  assert.equal(note, 'lossmith backend failed: boom');
  // Malformed entries are dropped field by field.
  const odd = parseEngineReport(JSON.stringify({ engines: [{ engine: 'tfjs', available: true, details: { backends: [{ name: '<script>', available: true }, { name: 'wasm', available: true, device: 'cpu' }] } }, { engine: 'torch', available: true, details: { torch: '2.1', gpus: [{ index: 'x' }, { index: 0, name: 'G', memoryGiB: 'lots' }] } }], auto: 'jax' }));
  assert.ok(!('error' in odd));
  assert.equal(odd.auto, 'tfjs');
  assert.deepEqual(odd.tfjs.backends.map((b) => b.name), ['wasm']);
  assert.deepEqual(odd.torch.probe?.gpus, [{ index: 0, name: 'G', memoryGiB: 0, capability: '' }]);
});

test('the real engine CLI answers `backend --json` through runCliOnce, and its answer makes items', async () => {
  const r = await runCliOnce(process.execPath, path.join(ROOT, 'bin', 'lossmith.js'), ['backend', '--json', '--python', '/nonexistent/python'], { cwd: ROOT, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const parsed = parseEngineReport(r.stdout);
  assert.ok(!('error' in parsed), r.stdout);
  assert.equal(parsed.auto, 'tfjs');
  assert.ok(parsed.tfjs.backends.some((b) => b.name === 'wasm' && b.available));
  assert.match(parsed.torch.problem ?? '', /no Python at '\/nonexistent\/python'/);
  const { items } = computeItems(parsed, AUTO, choosePython({ setting: '/nonexistent/python', home: '/h', env: {} }));
  assert.equal(items[0].choice?.engine, 'tfjs');
  // A CLI that is not there: a failure in the result, not a throw.
  const missing = await runCliOnce(process.execPath, path.join(ROOT, 'no-such-cli.js'), [], { cwd: ROOT });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /no-such-cli/);
});

test('the Runs view and the status bar: what a recorded run ran on', () => {
  const FIX = path.join(ROOT, 'test', 'fixtures', 'runs');
  const tfjs = progressOf('compare', runEvents(path.join(FIX, 'compare-finished')));
  assert.deepEqual([tfjs.backend, tfjs.gpu], ['wasm (CPU)', false]);
  const torch = progressOf('compare', runEvents(path.join(FIX, 'compare-torch-cpu')));
  assert.deepEqual([torch.backend, torch.compute, torch.gpu], ['torch cpu', 'torch 1.13.0a0 · cpu (1 threads) · fp32', false]);
  // An evolution says what it ran on in its summary only.
  const evo = path.join(FIX, 'evolve-torch-cpu');
  assert.equal(progressOf('evolve', runEvents(evo)).backend, null);
  const summary = JSON.parse(fs.readFileSync(path.join(evo, 'summary.json'), 'utf8'));
  assert.deepEqual([progressOf('evolve', runEvents(evo), summary).backend, progressOf('evolve', runEvents(evo), summary).gpu], ['torch cpu', false]);
});
