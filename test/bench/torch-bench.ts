/**
 * `npm run bench -- torch`: ms per training step of the torch engine (the runner's own loop on
 * a real task: the exported loss, the data on the device, the runner's augmentation and
 * finite-step check) against a plain hand-written PyTorch loop with the same model, data and
 * optimiser in the same Python process (goal: runner <= 1.05x the plain loop), and against the
 * tfjs engine on wasm (its training loop, one thread) in this process. MNIST, batch 128, Adam,
 * cross-entropy; MLP 784-256-10 and the NLFS ConvNet. Prints the device and versions.
 *
 * Environment: LOSSMITH_BENCH_PYTHON (default: the first of /usr/bin/python3, python3 that
 * imports torch); LOSSMITH_BENCH_DEVICE (default cpu; cuda on a GPU machine); on the CPU both
 * sides use one thread and OpenBLAS where Debian has it, as the train bench.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { TrainTask } from '../../engine/src/compute/types';
import { loadDatasetSync } from '../../engine/src/data';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { compileSource } from '../../engine/src/engines/tfjs/compile';
import { train } from '../../engine/src/engines/tfjs/train';
import { torchTask } from '../../engine/src/engines/torch';
import { runnerEnv } from '../../engine/src/engines/torch/python';

const ROOT = path.join(__dirname, '..', '..', '..');
const CE = fs.readFileSync(path.join(ROOT, 'examples', 'cross-entropy.loss'), 'utf8');
const NETS: { label: string; model: TrainTask['train']['model'] }[] = [
  { label: 'MLP 784-256-10', model: { kind: 'mlp', hidden: [256] } },
  { label: 'ConvNet 12/24/48 (NLFS)', model: { kind: 'convnet' } },
];
const BATCH = 128;

function python(): string | undefined {
  const cands = [process.env.LOSSMITH_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  return cands.find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function ceName(): string {
  const m = /^loss\s+(\w+)/m.exec(CE);
  return m ? m[1] : 'ce';
}

function task(model: TrainTask['train']['model']): TrainTask {
  return {
    kind: 'train',
    lossSource: CE,
    lossName: ceName(),
    backend: 'wasm',
    engine: 'torch',
    dataset: { spec: 'mnist', seed: 0 },
    augment: 'none',
    train: { model, lr: 1e-3, batchSize: BATCH, epochs: 1, stepsPerEpoch: 30, seed: 1 },
  };
}

interface StepResult { device: string; deviceName: string; torch: string; runnerMs: number; plainMs: number; ratio: number }

function torchStep(py: string, t: TrainTask, device: string, dir: string): StepResult | string {
  const tt = torchTask(t, device, { python: py, device: device as 'cpu', precision: 'auto' });
  if (device === 'cpu') tt.threads = 1;
  const file = path.join(dir, `task-${t.train.model.kind}.json`);
  fs.writeFileSync(file, JSON.stringify(tt));
  const env = runnerEnv({ ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' });
  const openblas = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
  if (device === 'cpu' && fs.existsSync(openblas)) env.LD_LIBRARY_PATH = [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const r = spawnSync(py, [path.join(ROOT, 'test', 'bench', 'torch_step.py'), file, '--steps', '30', '--warmup', '5', '--rounds', '5'], { env, encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line) as StepResult & { type?: string; message?: string };
    if (j.type === 'error') return `torch bench failed: ${j.message}`;
    return j;
  } catch {
    return `torch bench failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-2).join(' ')}`;
  }
}

async function tfjsStep(model: TrainTask['train']['model']): Promise<number> {
  await initBackend('wasm');
  const dataset = loadDatasetSync('mnist', { seed: 0 });
  const ms: number[] = [];
  await train({
    model,
    dataset,
    loss: compileSource(CE, ceName()),
    lr: 1e-3,
    batchSize: BATCH,
    epochs: 1,
    stepsPerEpoch: 35,
    seed: 1,
    skipTest: true,
    maxVal: 1,
    onStep: (s) => {
      if (s.step >= 5) ms.push(s.ms);
    },
  });
  return median(ms);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export async function runTorchBench(): Promise<void> {
  const py = python();
  if (!py) {
    console.log('torch bench skipped: no Python with torch (apt-get install python3-torch, or set LOSSMITH_BENCH_PYTHON)');
    return;
  }
  const device = process.env.LOSSMITH_BENCH_DEVICE ?? 'cpu';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lossmith-torch-bench-'));
  const rows: string[] = [];
  let head = '';
  for (const net of NETS) {
    const r = torchStep(py, task(net.model), device, dir);
    const wasm = await tfjsStep(net.model);
    if (typeof r === 'string') {
      rows.push(`${pad(net.label, 26)}${r}`);
      continue;
    }
    head = `device ${r.device} (${r.deviceName}) · torch ${r.torch} · ${py}${device === 'cpu' ? ' · 1 thread, OpenBLAS where present' : ''} · tfjs wasm 1 thread · batch ${BATCH}, Adam, MNIST`;
    const over = r.runnerMs / r.plainMs;
    rows.push(
      `${pad(net.label, 26)}${pad(r.runnerMs.toFixed(2), 12)}${pad(r.plainMs.toFixed(2), 12)}${pad(`${over.toFixed(3)}x${over <= 1.05 ? '' : '  (goal <= 1.05x)'}`, 24)}${pad(wasm.toFixed(2), 12)}${(wasm / r.runnerMs).toFixed(2)}x`,
    );
  }
  console.log(head || `device ${device} · ${py}`);
  console.log(`${pad('net', 26)}${pad('engine ms', 12)}${pad('plain ms', 12)}${pad('engine / plain', 24)}${pad('wasm ms', 12)}wasm / engine`);
  for (const r of rows) console.log(r);
  console.log('ms per training step (median); engine = the torch runner on a real task, plain = a hand-written PyTorch loop in the same process.');
}

if (require.main === module) void runTorchBench();
