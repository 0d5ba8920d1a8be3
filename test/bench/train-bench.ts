/**
 * Training-step benchmark: median ms per Adam step (batch 128) for MLP 784-256-10 and the
 * NLFS ConvNet surrogate on 28x28x1 input, on the `cpu` and `wasm` backends, anchored
 * against PyTorch (Debian python3-torch, OpenBLAS selected for that process, one thread)
 * measured in the same run; the ConvNet on wasm with each of our speed-ups switched off in
 * turn (phase-split strided input gradient, fused batch norm and swish gradient); and a per-kernel profile of the
 * ConvNet step on wasm.
 *
 * Run alone: npx tsc -b && node -e "require('./out/test/bench/train-bench.js').runTrainBench()"
 * Set LOSSMITH_BENCH_APT=1 to let it apt-get install python3-torch + libopenblas0 if missing.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { setInputGradMode } from '../../engine/src/engines/tfjs/kernels';
import { setFusedBatchNorm } from '../../engine/src/engines/tfjs/models/layers';
import { createModel, type ModelSpec } from '../../engine/src/engines/tfjs/models';
import { createOptimizer } from '../../engine/src/engines/tfjs/optim';
import { Rng } from '../../engine/src/rng';

interface Net {
  label: string;
  spec: ModelSpec;
}
const NETS: Net[] = [
  { label: 'MLP 784-256-10', spec: { kind: 'mlp', hidden: [256] } },
  { label: 'ConvNet 12/24/48 (NLFS)', spec: { kind: 'convnet' } },
];
const SHAPE: [number, number, number] = [28, 28, 1];
const BATCH = 128;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function makeStep(spec: ModelSpec): { step: () => void; dispose: () => void } {
  const model = createModel(spec, SHAPE, 10, 1);
  const opt = createOptimizer({ kind: 'adam' }, model.trainableVariables);
  const rng = new Rng(3);
  const x = tf.tensor4d(Float32Array.from({ length: BATCH * 784 }, () => rng.next()), [BATCH, ...SHAPE]);
  const labels = Int32Array.from({ length: BATCH }, () => rng.int(10));
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() as tf.Tensor2D;
  const drop = new Rng(4);
  const step = () => {
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(model.apply(x, true, { rng: drop }))), 1))) as tf.Scalar,
      model.trainableVariables
    );
    opt.step(model.trainableVariables.map((v) => grads[v.name]), 1e-3);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  return { step, dispose: () => { tf.dispose([x, y]); opt.dispose(); model.dispose(); } };
}

function timeSteps(spec: ModelSpec, reps: number, warm: number): number {
  const { step, dispose } = makeStep(spec);
  for (let i = 0; i < warm; i++) step();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    step();
    ts.push(performance.now() - t);
  }
  dispose();
  return median(ts);
}

interface TorchResult { torch: string; blas: string[]; mlp: number; convnet: number }

/** Debian's python3-torch lives in the system interpreter; a pyenv/venv python3 on PATH lacks it. */
function python(): string {
  for (const p of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return p;
  }
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function torchAvailable(): boolean {
  return spawnSync(python(), ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function runTorch(): { result?: TorchResult; note: string } {
  if (!torchAvailable()) {
    if (process.env.LOSSMITH_BENCH_APT === '1' && process.getuid?.() === 0) {
      try {
        execFileSync('apt-get', ['install', '-y', '-qq', 'python3-torch', 'libopenblas0'], {
          stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        });
      } catch {
        return { note: 'PyTorch skipped: apt-get install python3-torch libopenblas0 failed' };
      }
    }
    if (!torchAvailable()) {
      return { note: 'PyTorch skipped: python3-torch not installed (apt-get install -y python3-torch libopenblas0, or set LOSSMITH_BENCH_APT=1 as root)' };
    }
  }
  const script = [
    path.join(__dirname, 'torch_bench.py'),
    path.join(__dirname, '..', '..', '..', 'test', 'bench', 'torch_bench.py'),
  ].find((p) => fs.existsSync(p));
  if (!script) return { note: 'PyTorch skipped: torch_bench.py not found' };
  const openblas = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
  if (fs.existsSync(openblas)) env.LD_LIBRARY_PATH = [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const r = spawnSync(python(), [script, '20'], { env, encoding: 'utf8' });
  if (r.status !== 0) return { note: `PyTorch run failed: ${(r.stderr || '').split('\n').slice(-3).join(' ')}` };
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
  const blas = result.blas.map((b) => path.basename(path.dirname(b)) + '/' + path.basename(b)).join(', ');
  const isOpen = result.blas.some((b) => b.includes('openblas'));
  return {
    result,
    note: `PyTorch ${result.torch}, 1 thread, BLAS loaded: ${blas || 'none reported'}${isOpen ? '' : '  (WARNING: not OpenBLAS)'}`,
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function profileConvNetWasm(): Promise<string[]> {
  await initBackend('wasm');
  const { step, dispose } = makeStep({ kind: 'convnet' });
  step();
  step();
  const t = performance.now();
  const prof = await tf.profile(() => step());
  const wall = performance.now() - t;
  dispose();
  const by = new Map<string, { ms: number; n: number }>();
  for (const k of prof.kernels) {
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    const e = by.get(key) ?? { ms: 0, n: 0 };
    e.ms += k.kernelTimeMs as number;
    e.n++;
    by.set(key, e);
  }
  const byName = new Map<string, number>();
  for (const k of prof.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const total = prof.kernels.reduce((a, k) => a + (k.kernelTimeMs as number), 0);
  const lines = [`ConvNet step on wasm, per-kernel profile (profiled step ${wall.toFixed(1)} ms wall, ${total.toFixed(1)} ms in ${prof.kernels.length} kernels; "unnamed scope" = the custom-gradient scope around batch norm):`];
  lines.push('  by kernel:');
  for (const [k, ms] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`    ${pad(k, 24)} ${ms.toFixed(1).padStart(7)} ms  ${((100 * ms) / total).toFixed(0).padStart(3)}%`);
  lines.push('  top calls:');
  for (const [k, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)) lines.push(`    ${pad(k, 64)} ${e.ms.toFixed(1).padStart(7)} ms x${e.n}`);
  return lines;
}

export async function runTrainBench(): Promise<void> {
  const rows: { net: string; backend: string; ms: number }[] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    await initBackend(backend);
    for (const n of NETS) {
      const slow = backend === 'cpu' && n.spec.kind !== 'mlp';
      rows.push({ net: n.label, backend, ms: timeSteps(n.spec, slow ? 3 : 15, slow ? 1 : 3) });
    }
  }
  // Ablation: the ConvNet on wasm without each speed-up, in the same run.
  await initBackend('wasm');
  const conv = NETS[1];
  const ablation: { what: string; ms: number }[] = [];
  setInputGradMode('upsample');
  ablation.push({ what: 'strided input gradient by zero-upsampling (not phase split)', ms: timeSteps(conv.spec, 10, 2) });
  setInputGradMode('phase');
  setFusedBatchNorm(false);
  ablation.push({ what: 'batch norm and swish gradient from composed tfjs ops (not fused)', ms: timeSteps(conv.spec, 10, 2) });
  setInputGradMode('upsample');
  ablation.push({ what: 'both off', ms: timeSteps(conv.spec, 10, 2) });
  setInputGradMode('phase');
  setFusedBatchNorm(true);
  const torch = runTorch();
  const torchMs: Record<string, number | undefined> = {
    [NETS[0].label]: torch.result?.mlp,
    [NETS[1].label]: torch.result?.convnet,
  };
  const lines: string[] = [];
  lines.push(`Train step, batch ${BATCH}, Adam, input 28x28x1, median ms (ratio = ms / PyTorch ms in this run)`);
  lines.push(`${pad('net', 26)} ${pad('backend', 8)} ${'ms/step'.padStart(9)} ${'vs torch'.padStart(9)}`);
  for (const r of rows) {
    const t = torchMs[r.net];
    lines.push(`${pad(r.net, 26)} ${pad(r.backend, 8)} ${r.ms.toFixed(1).padStart(9)} ${(t ? (r.ms / t).toFixed(1) + 'x' : '-').padStart(9)}`);
  }
  if (torch.result) {
    for (const n of NETS) lines.push(`${pad(n.label, 26)} ${pad('torch', 8)} ${torchMs[n.label]!.toFixed(1).padStart(9)} ${'1.0x'.padStart(9)}`);
  }
  lines.push(torch.note);
  lines.push('');
  const withAll = rows.find((r) => r.backend === 'wasm' && r.net === conv.label)!.ms;
  lines.push(`ConvNet on wasm with a speed-up switched off (ratio = ms / ${withAll.toFixed(1)} ms with all on):`);
  for (const a of ablation) lines.push(`  ${pad(a.what, 62)} ${a.ms.toFixed(1).padStart(7)} ms ${(a.ms / withAll).toFixed(2).padStart(6)}x`);
  lines.push('');
  lines.push(...(await profileConvNetWasm()));
  console.log(lines.join('\n'));
}

if (require.main === module) {
  runTrainBench().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
