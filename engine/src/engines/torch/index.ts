/**
 * The torch engine: trains on the user's Python and PyTorch (GPU when there is one) through
 * the runner package engine/torch/lossmith_torch. This side, inside a worker process:
 *   - the loss (and SAM's perturbation loss) goes through the PyTorch exporter, the one
 *     compiler from the DSL to PyTorch, and travels as the module's source;
 *   - datasets the Node readers know (embedded MNIST, IDX, CIFAR) are loaded here with the
 *     same splits as the tfjs engine and handed over as an LMDS file; image folders (one
 *     subfolder per class) are read by the runner itself;
 *   - one runner process per worker (serve mode) takes the tasks one after the other;
 *     `device: 'cuda'` spreads workers over the visible GPUs (worker i on cuda:i mod n);
 *   - segmentation trainings (`segment`, a SegTask): the data is built here
 *     (data/segmentation.ts, with the distance maps when the loss reads dist) and handed over
 *     as a segmentation LMDS file; the runner trains its U-Net and sends back predicted label
 *     maps (validation after each epoch, test at the end), from which every reported metric
 *     is computed here with data/seg-metrics.ts, the one implementation of the metrics;
 *   - GAN trainings (`gan`, a GanTask): the embedded digits go over as the classification LMDS
 *     file; the runner trains its class-conditional DCGAN (lossmith_torch/gan.py) and sends back
 *     generated digits (50 per class after each epoch, samplesPerClass at the end), from which
 *     FD and the accuracies are computed here with the cached digit classifier on tfjs
 *     (engines/tfjs/gan/train-gan.ts ganMetricsOf, the one implementation of the metrics).
 */
import * as os from 'os';
import * as zlib from 'zlib';
import { exportSource, type ExportResult } from '../../../../grammar/src/export/index';
import { parse } from '../../../../grammar/src/parser';
import { declaredTask } from '../../../../grammar/src/semantics';
import {
  TORCH_TASK_VERSION,
  type TorchDataJson,
  type TorchGanImagesJson,
  type TorchGanMessage,
  type TorchGanResultJson,
  type TorchGanTask,
  type TorchLabelMapsJson,
  type TorchLossJson,
  type TorchSegMessage,
  type TorchSegResultJson,
  type TorchSegTask,
  type TorchTask,
} from '../../../../protocol/torch-task';
import { ENGINE_MODELS } from '../../../../protocol/run-events';
import {
  STEP_PROGRESS_MS,
  type BackendJson,
  type ComputeEngine,
  type EngineReadiness,
  type EngineRequest,
  type EngineStatus,
  type GanMetricsJson,
  type GanTask,
  type GanTaskResult,
  type SegTask,
  type SegTaskResult,
  type TaskContext,
  type TorchOptionsJson,
  type TrainTask,
  type TrainTaskResult,
} from '../../compute/types';
import { cachedDataset, datasetKey, imageFolderRoot } from '../../data';
import { segMetrics } from '../../data/seg-metrics';
import { segDataKey, segTrainingData, type SegSplit, type SegTrainingData } from '../../data/segmentation';
import { writeLmds, writeSegLmds } from './lmds';
import { deviceProblem, probePython, requestedPython, resolveDevice } from './python';
import { describeTorch, RunnerError, RunnerProcess } from './runner';

const runners = new Map<string, RunnerProcess>();
const dataFiles = new Map<string, string>();

function runnerFor(python: string): RunnerProcess {
  let r = runners.get(python);
  if (!r || !r.alive) {
    r = new RunnerProcess(python);
    runners.set(python, r);
  }
  return r;
}

/** The loss as the PyTorch exporter writes it; params renamed as the module names them. */
function exportedLoss(source: string, name: string, params: Record<string, number> | undefined): TorchLossJson {
  let ex: ExportResult;
  try {
    ex = exportSource(source, name, { target: 'pytorch' });
  } catch (e) {
    throw new Error(`loss '${name}' cannot be exported to PyTorch: ${(e as Error).message}`);
  }
  const py: Record<string, number> = {};
  for (const p of ex.params) py[p.python] = params?.[p.name] ?? p.value;
  return { module: ex.code, fn: ex.functionName, params: py };
}

/** Where the runner reads the task's data from. */
function dataFor(task: TrainTask): TorchDataJson {
  const folder = imageFolderRoot(task.dataset.spec, task.dataset.cwd);
  if (folder) {
    const d = task.dataset;
    return { kind: 'imagefolder', path: folder, ...(d.maxTrain !== undefined ? { maxTrain: d.maxTrain } : {}), ...(d.imageSize ? { size: d.imageSize } : {}) };
  }
  const key = datasetKey(task.dataset);
  let file = dataFiles.get(key);
  if (!file) {
    file = writeLmds(cachedDataset(task.dataset));
    dataFiles.set(key, file);
  }
  return { kind: 'tensors', path: file };
}

/** The backend record of a runner's `info` message (what ran a task: torch, device, versions). */
function torchBackend(i: Parameters<typeof describeTorch>[0]): BackendJson {
  return { name: 'torch', engine: 'torch', device: i.device.startsWith('cpu') ? 'cpu' : 'gpu', threads: i.threads, detail: describeTorch(i), warnings: [], torch: i };
}

/** What a task that ended before the runner's `info` ran on, as far as is known. */
const NO_INFO_BACKEND: BackendJson = { name: 'torch', engine: 'torch', device: 'cpu', threads: 0, detail: 'torch', warnings: [] };

/** The device this worker uses: plain 'cuda' (or 'auto' on a GPU machine) spreads workers over the GPUs. */
function deviceFor(opts: TorchOptionsJson): string {
  const probe = probePython(opts.python);
  if (!probe.ok) throw new Error(probe.problem);
  const d = resolveDevice(probe, opts.device);
  const n = probe.gpus.length;
  const index = Number(process.env.LOSSMITH_WORKER_INDEX ?? 0);
  if (d === 'cuda' && n > 1 && Number.isInteger(index)) return `cuda:${index % n}`;
  return d;
}

/** CPU threads per runner: the cores shared by the pool's workers (torch's default would take them all in each). */
function cpuThreads(): number {
  const workers = Math.max(1, Number(process.env.LOSSMITH_WORKER_COUNT) || 1);
  return Math.max(1, Math.floor(os.cpus().length / workers));
}

/** The TorchTask for a training task (also used by the bench and tests). */
export function torchTask(task: TrainTask, device: string, opts: TorchOptionsJson): TorchTask {
  const t = task.train;
  let perturbLoss: TorchLossJson | undefined;
  if (task.perturbLossName) {
    if (!t.sam) throw new Error(`perturbLossName '${task.perturbLossName}' needs train.sam`);
    perturbLoss = exportedLoss(task.perturbLossSource ?? task.lossSource, task.perturbLossName, task.perturbLossSource ? undefined : task.params);
  }
  return {
    version: TORCH_TASK_VERSION,
    loss: exportedLoss(task.lossSource, task.lossName, task.params),
    ...(perturbLoss ? { perturbLoss } : {}),
    model: t.model,
    data: dataFor(task),
    augment: task.augment,
    train: {
      ...(t.optimizer ? { optimizer: t.optimizer } : {}),
      ...(t.lr !== undefined ? { lr: t.lr } : {}),
      ...(t.warmup !== undefined ? { warmup: t.warmup } : {}),
      ...(t.schedule ? { schedule: t.schedule } : {}),
      ...(t.batchSize !== undefined ? { batchSize: t.batchSize } : {}),
      epochs: t.epochs,
      ...(t.stepsPerEpoch !== undefined ? { stepsPerEpoch: t.stepsPerEpoch } : {}),
      ...(t.maxVal !== undefined ? { maxVal: t.maxVal } : {}),
      seed: t.seed,
      ...(t.earlyStop ? { earlyStop: t.earlyStop } : {}),
      ...(t.testWith ? { testWith: t.testWith } : {}),
      ...(t.sam ? { sam: t.sam } : {}),
    },
    device: device as TorchTask['device'],
    precision: opts.precision,
    ...(device === 'cpu' ? { threads: cpuThreads() } : {}),
    ...(opts.compile !== undefined ? { compile: opts.compile } : {}),
    // Live step progress: about 25 reports an epoch (10 steps apart when the epoch is one pass);
    // the runner reads losses a step late anyway, so reporting adds no device sync.
    stepEvery: t.stepsPerEpoch ? Math.max(1, Math.floor(t.stepsPerEpoch / 25)) : 10,
    ...(opts.channelsLast !== undefined ? { channelsLast: opts.channelsLast } : {}),
  };
}

async function trainTorch(task: TrainTask, ctx: TaskContext): Promise<TrainTaskResult> {
  const opts: TorchOptionsJson = task.torch ?? { python: requestedPython(), device: 'auto', precision: 'auto' };
  const device = deviceFor(opts);
  const tt = torchTask(task, device, opts);
  const runner = runnerFor(opts.python);
  let backend: BackendJson | undefined;
  let lastStep = -Infinity;
  try {
    const r = await runner.run(
      tt,
      (m) => {
        if (m.type === 'info') {
          const i = m.info;
          backend = torchBackend(i);
          ctx.progress({ kind: 'backend', backend, pid: i.pid });
        } else if (m.type === 'epoch') {
          ctx.progress({ kind: 'epoch', epoch: { ...m.epoch, valAcc: m.epoch.valAcc ?? NaN } });
        } else if (m.type === 'step' && m.steps && performance.now() - lastStep >= STEP_PROGRESS_MS) {
          lastStep = performance.now();
          ctx.progress({ kind: 'step', step: m.step + 1, steps: m.steps, epoch: m.epoch, epochs: task.train.epochs });
        }
      },
      ctx.signal,
    );
    return {
      status: r.status,
      history: r.history,
      bestValAcc: r.bestValAcc,
      bestEpoch: r.bestEpoch,
      testAcc: r.testAcc,
      testWeights: r.testWeights,
      steps: r.steps,
      wallMs: r.wallMs,
      backend: backend ?? NO_INFO_BACKEND,
      dataset: r.dataset,
      pid: backend?.torch?.pid ?? process.pid,
      imagesPerSec: r.imagesPerSec,
      ...(r.reason ? { reason: r.reason } : {}),
    };
  } catch (e) {
    if (e instanceof RunnerError && e.code !== 'internal' && e.code !== 'cancelled') throw new Error(`torch engine: ${e.message}`);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Segmentation
// ---------------------------------------------------------------------------------------------

/** The data file of a segmentation dataset in this worker, and whether it holds the training distance maps (a file with them serves every loss). */
const segFiles = new Map<string, { file: string; hasDist: boolean }>();

/** The task's data (data/segmentation.ts, shared with the tfjs engine) and its data file (written again, with the distance maps, for the first loss that reads dist). */
function segData(task: SegTask, withDist: boolean): SegTrainingData & { file: string } {
  const d = segTrainingData(task.dataset, task.seg, withDist);
  const key = segDataKey(task.dataset, task.seg);
  let f = segFiles.get(key);
  if (!f || (withDist && !f.hasDist)) {
    f = { file: writeSegLmds(d.ds, withDist ? d.dist : undefined), hasDist: withDist };
    segFiles.set(key, f);
  }
  return { ...d, file: f.file };
}

/**
 * A segmentation loss as the PyTorch exporter writes it, and whether it reads dist (its
 * function's signature names it: `NAME(logits, target, dist, *, params)`).
 */
export function exportedSegLoss(source: string, name: string, params: Record<string, number> | undefined): { loss: TorchLossJson; readsDist: boolean } {
  const loss = exportedLoss(source, name, params);
  if (declaredTask(parse(source).program) !== 'segmentation') {
    throw new Error(`loss '${name}' is not a segmentation loss (the file has no 'task segmentation' line)`);
  }
  const escaped = loss.fn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const sig = new RegExp(`^def ${escaped}\\(([^)]*)\\)`, 'm').exec(loss.module);
  if (!sig) throw new Error(`internal: the exported module of '${name}' has no function ${loss.fn}`);
  const readsDist = sig[1].split(',').map((a) => a.trim()).includes('dist');
  return { loss, readsDist };
}

/** The torch engine's options of a segmentation task (SegTask carries them as TrainTask does, when the run side sets them). */
function segTorchOptions(task: SegTask): TorchOptionsJson {
  return task.torch ?? { python: requestedPython(), device: 'auto', precision: 'auto' };
}

function checkSegTask(task: SegTask): void {
  for (const [name, v, min] of [['batchSize', task.batchSize, 1], ['epochs', task.epochs, 0], ['seg.filters', task.seg.filters, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`segmentation task: ${name} must be a whole number >= ${min}, got ${v}`);
  }
  if (task.stepsPerEpoch !== undefined && !(Number.isInteger(task.stepsPerEpoch) && task.stepsPerEpoch >= 1)) {
    throw new Error(`segmentation task: stepsPerEpoch must be a whole number >= 1, got ${task.stepsPerEpoch}`);
  }
  if (!(task.lr > 0)) throw new Error(`segmentation task: lr must be > 0, got ${task.lr}`);
}

/**
 * The runner's task for a segmentation task, and the data it trains on. The loss is exported
 * first (a loss that does not compile fails with the exporter's message before any data is
 * built or the runner started), then the data file is written (once per worker and dataset).
 */
function prepareSeg(task: SegTask, device: string, opts: TorchOptionsJson): { tt: TorchSegTask; data: SegTrainingData & { file: string } } {
  checkSegTask(task);
  const { loss, readsDist } = exportedSegLoss(task.lossSource, task.lossName, task.params);
  const data = segData(task, readsDist);
  const ntrain = data.ds.train.n;
  const bs = Math.max(1, Math.min(task.batchSize, ntrain));
  const spe = task.stepsPerEpoch ?? Math.max(1, Math.ceil(ntrain / bs));
  const tt: TorchSegTask = {
    version: TORCH_TASK_VERSION,
    kind: 'segmentation',
    loss,
    model: { kind: 'unet', filters: task.seg.filters },
    data: { kind: 'seg-tensors', path: data.file! },
    train: { lr: task.lr, batchSize: task.batchSize, epochs: task.epochs, ...(task.stepsPerEpoch !== undefined ? { stepsPerEpoch: task.stepsPerEpoch } : {}), seed: task.seed },
    device: device as TorchSegTask['device'],
    precision: opts.precision,
    ...(device === 'cpu' ? { threads: cpuThreads() } : {}),
    ...(opts.compile !== undefined ? { compile: opts.compile } : {}),
    ...(opts.channelsLast !== undefined ? { channelsLast: opts.channelsLast } : {}),
    // About 25 step reports an epoch; the worker passes on at most one every STEP_PROGRESS_MS.
    stepEvery: Math.max(1, Math.floor(spe / 25)),
  };
  return { tt, data };
}

/** The TorchSegTask for a segmentation task (tests and the bench; writes the data file). */
export function torchSegTask(task: SegTask, device: string, opts: TorchOptionsJson): TorchSegTask {
  return prepareSeg(task, device, opts).tt;
}

/** Label maps from the runner as class indices (n*H*W), checked against the split they predict. */
export function decodeLabelMaps(m: TorchLabelMapsJson, split: SegSplit, H: number, W: number): Int32Array {
  if (m.encoding !== 'uint8-zlib-base64') throw new Error(`internal: label maps in an unknown encoding '${m.encoding}'`);
  if (m.n !== split.n || m.height !== H || m.width !== W) throw new Error(`internal: the runner predicted ${m.n} maps of ${m.height}x${m.width} for ${split.n} images of ${H}x${W}`);
  const raw = zlib.inflateSync(Buffer.from(m.data, 'base64'));
  if (raw.length !== m.n * H * W) throw new Error(`internal: label maps of ${raw.length} bytes, expected ${m.n * H * W}`);
  return Int32Array.from(raw);
}

async function segmentTorch(task: SegTask, ctx: TaskContext): Promise<SegTaskResult> {
  const t0 = performance.now();
  const opts = segTorchOptions(task);
  const device = deviceFor(opts);
  const { tt, data } = prepareSeg(task, device, opts);
  const { ds } = data;
  const { height: H, width: W, channels: CH, classes: K } = ds;
  const dataset: SegTaskResult['dataset'] = { name: ds.name, height: H, width: W, channels: CH, classes: K, train: ds.train.n, val: ds.val.n, test: ds.test.n, foreground: data.foreground };
  const runner = runnerFor(opts.python);
  const history: SegTaskResult['history'] = [];
  let backend: BackendJson | undefined;
  let lastStep = -Infinity;
  let stepsSeen = 0;
  let disagreement: string | undefined;
  const noMetrics = { dice: null, iou: null, hd95: null };
  const backendOr = (): BackendJson => backend ?? NO_INFO_BACKEND;
  const spe = tt.train.stepsPerEpoch ?? Math.ceil(ds.train.n / Math.min(task.batchSize, ds.train.n));
  let res: TorchSegResultJson;
  try {
    res = (await runner.run(
      tt as unknown as TorchTask,
      (raw) => {
        const m = raw as unknown as TorchSegMessage;
        if (m.type === 'info') {
          const i = m.info;
          backend = torchBackend(i);
          ctx.progress({ kind: 'backend', backend, pid: i.pid });
        } else if (m.type === 'seg-epoch') {
          const e = m.epoch;
          let valDice: number | null = null;
          let valIou: number | null = null;
          if (m.val) {
            const v = segMetrics(decodeLabelMaps(m.val, ds.val, H, W), ds.val.masks, ds.val.n, H, W, K);
            valDice = v.dice;
            valIou = v.iou;
          }
          if (valDice !== e.valDice && !disagreement) {
            disagreement = `the runner chose the best epoch by a validation Dice of ${e.valDice} at epoch ${e.epoch}, where segMetrics gives ${valDice}`;
          }
          const rec = { epoch: e.epoch, loss: e.loss, valDice, valIou, ms: e.ms };
          history.push(rec);
          stepsSeen = e.epoch * spe;
          ctx.progress({ kind: 'seg-epoch', epoch: rec });
        } else if (m.type === 'step') {
          stepsSeen = m.step + 1;
          if (m.steps && performance.now() - lastStep >= STEP_PROGRESS_MS) {
            lastStep = performance.now();
            ctx.progress({ kind: 'step', step: m.step + 1, steps: m.steps, epoch: m.epoch, epochs: task.epochs });
          }
        }
      },
      ctx.signal,
    )) as unknown as TorchSegResultJson;
  } catch (e) {
    if (e instanceof RunnerError && e.code === 'cancelled') {
      // The runner is being killed (its process group); the next task starts a fresh one even
      // before the exit is seen. The finished epochs are kept, as the tfjs engine keeps them.
      if (runners.get(opts.python) === runner) runners.delete(opts.python);
      let best: number | null = null;
      for (const h of history) if (h.valDice !== null && (best === null || h.valDice > best)) best = h.valDice;
      return { status: 'cancelled', history, metrics: noMetrics, bestValDice: best, steps: stepsSeen, wallMs: performance.now() - t0, backend: backendOr(), pid: backend?.torch?.pid ?? process.pid, dataset, reason: 'cancelled' };
    }
    if (e instanceof RunnerError && e.code !== 'internal') throw new Error(`torch engine: ${e.message}`);
    throw e;
  }
  if (disagreement) throw new Error(`torch engine: internal: ${disagreement}; this is a bug, please report it`);
  const best = res.bestEpoch > 0 ? history[res.bestEpoch - 1] : undefined;
  if (res.bestEpoch > 0 && (!best || best.epoch !== res.bestEpoch)) throw new Error(`torch engine: internal: the runner's best epoch ${res.bestEpoch} is not among the ${history.length} reported`);
  let metrics: SegTaskResult['metrics'] = noMetrics;
  if (res.status === 'completed' && res.test) {
    const m = segMetrics(decodeLabelMaps(res.test, ds.test, H, W), ds.test.masks, ds.test.n, H, W, K);
    metrics = { dice: m.dice, iou: m.iou, hd95: m.hd95 };
  }
  return {
    status: res.status,
    history,
    metrics,
    bestValDice: best ? best.valDice : null,
    steps: res.steps,
    wallMs: performance.now() - t0,
    backend: backendOr(),
    pid: backend?.torch?.pid ?? process.pid,
    dataset,
    ...(res.reason ? { reason: res.reason } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// GAN trainings
// ---------------------------------------------------------------------------------------------

/** A GanTask as the torch engine takes it (its torch options on the task). */
export type TorchGanComputeTask = GanTask;

const GAN_CLASSES = 10;
const GAN_SIDE = 28;

/** A GAN loss as the PyTorch exporter writes it, checked to be one (`NAME(d_real, d_fake[, grad_norm], *, params)`). */
function exportedGanLoss(source: string, name: string, params: Record<string, number> | undefined): TorchLossJson {
  const loss = exportedLoss(source, name, params);
  if (declaredTask(parse(source).program) !== 'gan') throw new Error(`loss '${name}' is not a GAN loss (the file has no 'task gan' line)`);
  return loss;
}

function checkGanTask(task: GanTask): void {
  const s = task.gan;
  for (const [name, v, min] of [['batchSize', task.batchSize, 1], ['epochs', task.epochs, 0], ['stepsPerEpoch', task.stepsPerEpoch, 1], ['gan.zDim', s.zDim, 1], ['gan.filters', s.filters, 1], ['gan.samplesPerClass', s.samplesPerClass, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`GAN task: ${name} must be a whole number >= ${min}, got ${v}`);
  }
  if (!(task.lr > 0)) throw new Error(`GAN task: lr must be > 0, got ${task.lr}`);
  if (s.clip !== undefined && !(s.clip > 0)) throw new Error(`GAN task: gan.clip must be > 0, got ${s.clip}`);
}

/** The runner's task for a GAN task (the losses exported first, then the digits' data file written once per worker). */
export function torchGanTask(task: GanTask, device: string, opts: TorchOptionsJson): TorchGanTask {
  checkGanTask(task);
  const gLoss = exportedGanLoss(task.lossSource, task.gLoss, task.params);
  const dLoss = exportedGanLoss(task.lossSource, task.dLoss, task.params);
  const key = datasetKey(task.dataset);
  let file = dataFiles.get(key);
  if (!file) {
    file = writeLmds(cachedDataset(task.dataset));
    dataFiles.set(key, file);
  }
  const s = task.gan;
  return {
    version: TORCH_TASK_VERSION,
    kind: 'gan',
    gLoss,
    dLoss,
    data: { kind: 'tensors', path: file },
    train: {
      zDim: s.zDim,
      filters: s.filters,
      beta1: s.beta1,
      beta2: s.beta2,
      lr: task.lr,
      batchSize: task.batchSize,
      epochs: task.epochs,
      stepsPerEpoch: task.stepsPerEpoch,
      seed: task.seed,
      samplesPerClass: s.samplesPerClass,
      ...(s.clip !== undefined ? { clip: s.clip } : {}),
    },
    device: device as TorchGanTask['device'],
    precision: opts.precision,
    ...(device === 'cpu' ? { threads: cpuThreads() } : {}),
    stepEvery: Math.max(1, Math.floor(task.stepsPerEpoch / 25)),
  };
}

/** Generated digits from the runner: NHWC float32 in [0, 1] and the class of each (i mod 10). */
export function decodeGanImages(m: TorchGanImagesJson, perClass: number): { x: Float32Array; labels: Int32Array } {
  const n = perClass * GAN_CLASSES;
  if (m.encoding !== 'uint8-zlib-base64') throw new Error(`internal: images in an unknown encoding '${m.encoding}'`);
  if (m.n !== n || m.height !== GAN_SIDE || m.width !== GAN_SIDE) throw new Error(`internal: the runner generated ${m.n} digits of ${m.height}x${m.width}, expected ${n} of ${GAN_SIDE}x${GAN_SIDE}`);
  const raw = zlib.inflateSync(Buffer.from(m.data, 'base64'));
  if (raw.length !== n * GAN_SIDE * GAN_SIDE) throw new Error(`internal: images of ${raw.length} bytes, expected ${n * GAN_SIDE * GAN_SIDE}`);
  const x = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) x[i] = raw[i] / 255;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % GAN_CLASSES;
  return { x, labels };
}

async function ganTorch(task: TorchGanComputeTask, ctx: TaskContext): Promise<GanTaskResult & { dMaxAbsWeight?: number }> {
  const t0 = performance.now();
  const opts: TorchOptionsJson = task.torch ?? { python: requestedPython(), device: 'auto', precision: 'auto' };
  const device = deviceFor(opts);
  const tt = torchGanTask(task, device, opts);
  const ds = cachedDataset(task.dataset);
  if (ds.shape.join() !== '28,28,1' || ds.numClasses !== GAN_CLASSES) {
    throw new Error(`GAN runs train on 28x28 grey digits in 10 classes; ${ds.name} is ${ds.shape.join('x')} in ${ds.numClasses} classes`);
  }
  const dataset = { name: ds.name, train: ds.train.n, val: ds.val.n, test: ds.test.n, classes: ds.numClasses };
  // The metrics' feature space: the digit classifier on tfjs in this worker (loaded only for GAN tasks).
  const [{ ensureBackend }, { digitClassifier }, { ganMetricsOf }] = await Promise.all([import('../tfjs/index'), import('../tfjs/gan/classifier'), import('../tfjs/gan/train-gan')]);
  const tfBackend = await ensureBackend(task.backend);
  const clf = await digitClassifier(task.gan.classifier, tfBackend.name, ctx.signal);
  const classifier = { file: clf.file, trainedNow: clf.trainedNow, testAccuracy: clf.testAccuracy };
  const metricsOf = (m: TorchGanImagesJson, perClass: number): GanMetricsJson => {
    const { x, labels } = decodeGanImages(m, perClass);
    return ganMetricsOf(x, labels, clf);
  };
  const runner = runnerFor(opts.python);
  const history: GanTaskResult['history'] = [];
  let backend: BackendJson | undefined;
  let lastStep = -Infinity;
  let stepsSeen = 0;
  const none: GanMetricsJson = { fd: null, genAccuracy: null, perClassAccuracy: new Array<null>(GAN_CLASSES).fill(null), classifierAccuracy: clf.testAccuracy };
  const backendOr = (): BackendJson => backend ?? NO_INFO_BACKEND;
  let res: TorchGanResultJson;
  try {
    res = (await runner.run(
      tt as unknown as TorchTask,
      (raw) => {
        const m = raw as unknown as TorchGanMessage;
        if (m.type === 'info') {
          const i = m.info;
          backend = torchBackend(i);
          ctx.progress({ kind: 'backend', backend, pid: i.pid });
        } else if (m.type === 'gan-epoch') {
          const e = m.epoch;
          const quick = metricsOf(m.samples, 50);
          const rec = { epoch: e.epoch, dLoss: e.dLoss, gLoss: e.gLoss, fd: quick.fd, genAccuracy: quick.genAccuracy, ms: e.ms };
          history.push(rec);
          stepsSeen = e.epoch * task.stepsPerEpoch;
          ctx.progress({ kind: 'gan-epoch', epoch: rec });
        } else if (m.type === 'step') {
          stepsSeen = m.step + 1;
          if (m.steps && performance.now() - lastStep >= STEP_PROGRESS_MS) {
            lastStep = performance.now();
            ctx.progress({ kind: 'step', step: m.step + 1, steps: m.steps, epoch: m.epoch, epochs: task.epochs });
          }
        }
      },
      ctx.signal,
    )) as unknown as TorchGanResultJson;
  } catch (e) {
    if (e instanceof RunnerError && e.code === 'cancelled') {
      if (runners.get(opts.python) === runner) runners.delete(opts.python);
      return { status: 'cancelled', history, metrics: none, steps: stepsSeen, wallMs: performance.now() - t0, backend: backendOr(), pid: backend?.torch?.pid ?? process.pid, dataset, classifier, reason: 'cancelled' };
    }
    if (e instanceof RunnerError && e.code !== 'internal') throw new Error(`torch engine: ${e.message}`);
    throw e;
  }
  const metrics = res.status === 'completed' && res.samples ? metricsOf(res.samples, task.gan.samplesPerClass) : none;
  return {
    status: res.status,
    history,
    metrics,
    steps: res.steps,
    wallMs: performance.now() - t0,
    backend: backendOr(),
    pid: backend?.torch?.pid ?? process.pid,
    dataset,
    classifier,
    dMaxAbsWeight: res.dMaxAbsWeight,
    ...(res.reason ? { reason: res.reason } : {}),
  };
}

/** Whether the torch engine can serve a request: its Python, torch and device, in one line when not. */
function prepare(req: EngineRequest): EngineReadiness {
  const probe = probePython(req.python);
  if (!probe.ok) return { ok: false, problem: probe.problem ?? 'torch is not usable' };
  const device = req.device ?? 'auto';
  const bad = deviceProblem(probe, device);
  if (bad) return { ok: false, problem: bad };
  const precision = (req.precision ?? 'auto') as TorchOptionsJson['precision'];
  if ((precision === 'bf16' || precision === 'fp16') && resolveDevice(probe, device) === 'cpu') {
    return { ok: false, problem: `--precision ${precision} is for GPUs; on the CPU use --precision fp32 (or auto)` };
  }
  const needs = req.model === 'torchvision' ? 'model torchvision' : req.imageFolder ? 'reading an image folder' : undefined;
  if (needs && !probe.torchvision) {
    return { ok: false, problem: `${needs} needs torchvision, which ${probe.executable} cannot import; install it (${probe.executable} -m pip install torchvision, or Debian's python3-torchvision)` };
  }
  if (req.compile && !probe.compile) return { ok: false, problem: `--compile needs torch 2.0 or newer (this Python has torch ${probe.torch})` };
  const d = resolveDevice(probe, device);
  const where = d === 'cpu' ? 'cpu' : d === 'mps' ? 'mps' : `${probe.gpus.map((g) => g.name).join(', ')}`;
  return {
    ok: true,
    torch: { python: probe.executable, device: device as TorchOptionsJson['device'], precision, ...(req.compile ? { compile: true } : {}) },
    ...(d.startsWith('cuda') ? { defaultWorkers: d === 'cuda' ? probe.gpus.length : 1 } : {}),
    summary: `${probe.executable}, torch ${probe.torch}${probe.cuda ? `, CUDA ${probe.cuda}` : ''}, device ${d} (${where}), precision ${precision}`,
  };
}


/** `lossmith backend`: the Python, torch, CUDA and GPUs this engine would use, or why not. */
async function status(req: EngineRequest): Promise<EngineStatus> {
  const py = requestedPython(req.python);
  const p = probePython(req.python);
  if (!p.ok) return { engine: 'torch', available: false, lines: [`✗ ${p.problem}`], details: p };
  const lines = [
    `✓ Python ${p.python} (${p.executable}${py !== p.executable ? `, asked as '${py}'` : ''})`,
    `  torch ${p.torch}${p.torchvision ? `, torchvision ${p.torchvision}` : ', no torchvision (needed only for image folders and torchvision models)'}`,
    `  CUDA ${p.cuda ?? 'none (CPU-only build)'}${p.cudnn ? `, cuDNN ${p.cudnn}` : ''}; bf16 ${p.bf16 ? 'yes' : 'no'}; torch.compile ${p.compile ? 'yes' : 'no'}`,
    ...(p.gpus.length
      ? p.gpus.map((g) => `  GPU cuda:${g.index}: ${g.name}, ${g.memoryGiB.toFixed(0)} GiB, compute capability ${g.capability}`)
      : [`  no GPU${p.cuda ? `: ${p.cudaReason ?? 'torch.cuda.is_available() is false'} (check the NVIDIA driver with nvidia-smi)` : ''}${p.mps ? '; Apple GPU (mps) available' : ''}`]),
  ];
  const bad = req.device ? deviceProblem(p, req.device) : undefined;
  if (bad) lines.push(`✗ ${bad}`);
  lines.push(`--device auto picks: ${resolveDevice(p, 'auto')}`);
  return { engine: 'torch', available: !bad, lines, details: p };
}

export const engine: ComputeEngine = {
  name: 'torch',
  models: ENGINE_MODELS.torch,
  train: trainTorch,
  segment: segmentTorch,
  gan: ganTorch,
  prepare,
  status,
  shutdown() {
    for (const r of runners.values()) r.close();
    runners.clear();
  },
};
