/**
 * The torch engine: trains on the user's Python and PyTorch (GPU when there is one) through
 * the runner package engine/torch/lossmith_torch. This side, inside a worker process:
 *   - the loss (and SAM's perturbation loss) goes through the PyTorch exporter, the one
 *     compiler from the DSL to PyTorch, and travels as the module's source;
 *   - datasets the Node readers know (embedded MNIST, IDX, CIFAR) are loaded here with the
 *     same splits as the tfjs engine and handed over as an LMDS file; image folders (one
 *     subfolder per class) are read by the runner itself;
 *   - one runner process per worker (serve mode) takes the tasks one after the other;
 *     `device: 'cuda'` spreads workers over the visible GPUs (worker i on cuda:i mod n).
 */
import * as os from 'os';
import { exportSource, type ExportResult } from '../../../../grammar/src/export/index';
import { TORCH_TASK_VERSION, type TorchDataJson, type TorchLossJson, type TorchTask } from '../../../../protocol/torch-task';
import { ENGINE_MODELS } from '../../../../protocol/run-events';
import { STEP_PROGRESS_MS, type BackendJson, type ComputeEngine, type EngineReadiness, type EngineRequest, type EngineStatus, type TaskContext, type TorchOptionsJson, type TrainTask, type TrainTaskResult } from '../../compute/types';
import { cachedDataset, datasetKey, imageFolderRoot } from '../../data';
import { writeLmds } from './lmds';
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
          backend = { name: 'torch', engine: 'torch', device: i.device.startsWith('cpu') ? 'cpu' : 'gpu', threads: i.threads, detail: describeTorch(i), warnings: [], torch: i };
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
      backend: backend ?? { name: 'torch', engine: 'torch', device: 'cpu', threads: 0, detail: 'torch', warnings: [] },
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
  prepare,
  status,
  shutdown() {
    for (const r of runners.values()) r.close();
    runners.clear();
  },
};
