/**
 * The tfjs engine: trains in this process on the best tfjs backend found (tensorflow-gpu,
 * tensorflow, wasm with our kernels, cpu). Per process it keeps the initialised backend (per
 * preference) and, through data/cache, the loaded datasets.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { parseAugment } from '../../augment';
import { STEP_PROGRESS_MS, type ComputeEngine, type EngineStatus, type GanTask, type GanTaskResult, type SegTask, type SegTaskResult, type TaskContext, type TrainTask, type TrainTaskResult } from '../../compute/types';
import { ENGINE_MODELS } from '../../../../protocol/run-events';
import { cachedDataset } from '../../data';
import { initBackend, listBackends, type BackendInfo, type BackendName } from './backend';
import { compileSource } from './compile';
import { train, type LossFn } from './train';
import { trainGan } from './gan';
import { trainSegmentation } from './seg';

let backendInfo: { pref: string; info: BackendInfo } | undefined;

/** The prefix folder `lossmith backend install` installs native backends into (LOSSMITH_BACKENDS overrides). */
export function backendsPrefix(): string {
  return process.env.LOSSMITH_BACKENDS ?? path.join(os.homedir(), '.lossmith', 'backends');
}

/** <prefix>/node_modules if it exists (where the engine looks for native backends). */
export function defaultBackendsDir(): string | undefined {
  const d = path.join(backendsPrefix(), 'node_modules');
  return fs.existsSync(d) ? d : undefined;
}

/** Initialises the backend once per process and preference. */
export async function ensureBackend(pref: 'auto' | BackendName = 'auto'): Promise<BackendInfo> {
  if (backendInfo && (backendInfo.pref === pref || (pref !== 'auto' && backendInfo.info.name === pref))) {
    if (tf.getBackend() !== tfName(backendInfo.info.name)) await tf.setBackend(tfName(backendInfo.info.name));
    return backendInfo.info;
  }
  const info = await initBackend(pref, { backendsDir: defaultBackendsDir() });
  backendInfo = { pref, info };
  return info;
}

function tfName(b: BackendName): string {
  return b === 'tensorflow-gpu' ? 'tensorflow' : b;
}

const nullIfNaN = (v: number): number | null => (Number.isFinite(v) ? v : null);

async function runTrain(task: TrainTask, ctx: TaskContext): Promise<TrainTaskResult> {
  const backend = { ...(await ensureBackend(task.backend)), engine: 'tfjs' as const };
  ctx.progress({ kind: 'backend', backend, pid: process.pid });
  const loss: LossFn = compileSource(task.lossSource, task.lossName, task.params);
  let perturbLoss: LossFn | undefined;
  if (task.perturbLossName) {
    if (!task.train.sam) throw new Error(`perturbLossName '${task.perturbLossName}' needs train.sam`);
    perturbLoss = compileSource(task.perturbLossSource ?? task.lossSource, task.perturbLossName, task.perturbLossSource ? undefined : task.params);
  }
  const ds = cachedDataset(task.dataset);
  const aug = parseAugment(task.augment);
  const t = task.train;
  let lastStep = -Infinity;
  const r = await train({
    model: t.model,
    dataset: ds,
    loss,
    augment: aug.name === 'none' ? undefined : aug.augment,
    optimizer: t.optimizer,
    lr: t.lr,
    warmup: t.warmup,
    schedule: t.schedule,
    batchSize: t.batchSize,
    epochs: t.epochs,
    stepsPerEpoch: t.stepsPerEpoch,
    maxVal: t.maxVal,
    seed: t.seed,
    sam: t.sam ? { ...t.sam, ...(perturbLoss ? { perturbLoss } : {}) } : undefined,
    earlyStop: t.earlyStop,
    testWith: t.testWith,
    signal: ctx.signal,
    onStep: (s, total) => {
      const now = performance.now();
      if (now - lastStep < STEP_PROGRESS_MS) return;
      lastStep = now;
      ctx.progress({ kind: 'step', step: s.step + 1, steps: total, epoch: s.epoch, epochs: t.epochs });
    },
    onEpoch: (s) =>
      ctx.progress({ kind: 'epoch', epoch: { epoch: s.epoch, trainLoss: s.trainLoss, trainAcc: s.trainAcc, valAcc: s.valAcc ?? NaN, lr: s.lr, ms: s.ms } }),
  });
  return {
    status: r.status,
    history: r.history,
    bestValAcc: nullIfNaN(r.bestValAcc),
    bestEpoch: r.bestEpoch,
    testAcc: r.testAcc,
    testWeights: r.testWeights,
    steps: r.steps,
    wallMs: r.wallMs,
    backend,
    dataset: { name: ds.name, train: ds.train.n, val: ds.val.n, test: ds.test.n, classes: ds.numClasses },
    pid: process.pid,
    ...(r.reason ? { reason: r.reason } : {}),
  };
}

/** One GAN training (gan/train-gan.ts) with the backend it ran on. */
async function runGan(task: GanTask, ctx: TaskContext): Promise<GanTaskResult> {
  const backend = { ...(await ensureBackend(task.backend)), engine: 'tfjs' as const };
  ctx.progress({ kind: 'backend', backend, pid: process.pid });
  const r = await trainGan(task, backend.name, ctx);
  return { ...r, backend, pid: process.pid };
}

/** One segmentation training (seg/train-seg.ts) with the backend it ran on. */
async function runSegment(task: SegTask, ctx: TaskContext): Promise<SegTaskResult> {
  const backend = { ...(await ensureBackend(task.backend)), engine: 'tfjs' as const };
  ctx.progress({ kind: 'backend', backend, pid: process.pid });
  const r = await trainSegmentation(task, backend.name, ctx);
  return { ...r, backend, pid: process.pid };
}

/** `lossmith backend`: the tfjs backends and why one is unavailable. */
async function status(): Promise<EngineStatus> {
  const dir = defaultBackendsDir();
  const list = await listBackends({ backendsDir: dir });
  const first = list.find((b) => b.available);
  return {
    engine: 'tfjs',
    available: !!first,
    lines: [
      `backends, in order of preference (native ones also looked for in ${backendsPrefix()}/node_modules):`,
      ...list.map((b) => `  ${b.available ? '✓' : '✗'} ${b.name.padEnd(15)}${b.device ? ` ${b.device}` : ''}${b.reason ? ` — ${b.reason}` : ''}`),
      `--backend auto picks: ${first ? first.name : 'nothing'}`,
    ],
    details: { backendsDir: dir ?? null, backends: list },
  };
}

export const engine: ComputeEngine = { name: 'tfjs', models: ENGINE_MODELS.tfjs, train: runTrain, gan: runGan, segment: runSegment, status };
