/**
 * The compute interface: what the run side (compare, evolve, the worker pool) hands to a
 * compute engine and what it gets back. One training task in (model, data, augmentation, loss
 * source, seed, optimiser, schedule, SAM), progress and one result out, all plain JSON, so a
 * task crosses process boundaries (worker processes, the torch runner, a queue) unchanged.
 *
 * The run side imports this module and `engines.ts`, never an engine's folder.
 */
import type { BackendJson, EngineName, GanEpochJson, GanMetricsJson, GanSettingsJson, ModelKind, SegEpochJson, SegMetricsJson, SegSettingsJson, TfjsBackendName, TorchOptionsJson, TrainingStatus, WorkerRefJson } from '../../../protocol/run-events';
import type { EpochRecord, TrainOutcome, TrainSpec } from '../../../protocol/train-spec';

export type { BackendJson, DigitClassifierJson, EngineName, GanEpochJson, GanMetricsJson, GanSettingsJson, ModelKind, SegEpochJson, SegMetricsJson, SegSettingsJson, TfjsBackendName, TorchOptionsJson } from '../../../protocol/run-events';

export type { AdamConfig, ModelSpec, OptimizerConfig, SamSpec, SgdConfig, TrainSpec } from '../../../protocol/train-spec';

/** Which dataset a worker loads (cached per worker by this whole object). */
export interface DatasetTaskSpec {
  /** 'mnist' (embedded), 'fashion-mnist', or a folder of IDX / CIFAR files (or, on torch, images per class). */
  spec: string;
  /** Seed of the training-split transformations (subset, noise, imbalance). */
  seed: number;
  maxTrain?: number;
  labelNoise?: number;
  imbalance?: number;
  /** Image folders (torch engine): images are resized to this side (default 224). */
  imageSize?: number;
  /** Base folder for relative dataset paths (default: the worker's cwd, i.e. the parent's). */
  cwd?: string;
}

export interface TrainTask {
  kind: 'train';
  /** A whole .loss file. */
  lossSource: string;
  lossName: string;
  /** Overrides of the file's params. */
  params?: Record<string, number>;
  /** SAM perturbation loss from the same file (needs train.sam). */
  perturbLossName?: string;
  /** The file of the perturbation loss, when it is not lossSource. */
  perturbLossSource?: string;
  /** The compute engine (default 'tfjs'). */
  engine?: EngineName;
  /** The tfjs engine's backend preference. */
  backend: 'auto' | TfjsBackendName;
  /** The torch engine's Python, device and precision (engine 'torch'). */
  torch?: TorchOptionsJson;
  dataset: DatasetTaskSpec;
  /** Augmentation spec (see parseAugment), e.g. 'none', 'cutout', 'flipcrop+cutout:8'. */
  augment: string;
  train: TrainSpec;
}

export type { EpochRecord } from '../../../protocol/train-spec';

/**
 * One GAN training (a `task gan` file's pair NAME_g + NAME_d): a small class-conditional DCGAN
 * on the dataset's digits, then its metrics with the cached digit classifier.
 */
export interface GanTask {
  kind: 'gan';
  /** A whole `task gan` .loss file. */
  lossSource: string;
  /** The generator's and the discriminator's loss (NAME_g, NAME_d). */
  gLoss: string;
  dLoss: string;
  /** Overrides of the file's params. */
  params?: Record<string, number>;
  /** The compute engine (default tfjs). */
  engine?: EngineName;
  backend: 'auto' | TfjsBackendName;
  /** The torch engine's Python, device and precision (engine 'torch'). */
  torch?: TorchOptionsJson;
  dataset: DatasetTaskSpec;
  gan: GanSettingsJson;
  /** Adam's learning rate, batch size, epochs x stepsPerEpoch steps, seed (init, noise, data order). */
  lr: number;
  batchSize: number;
  epochs: number;
  stepsPerEpoch: number;
  seed: number;
}

/** A GAN training's outcome. testAcc-like numbers are in `metrics`. */
export interface GanTaskResult {
  status: TrainStatus;
  /** Finished epochs. */
  history: (GanEpochJson & { epoch: number; ms: number })[];
  /** null fields when it did not complete. */
  metrics: GanMetricsJson;
  steps: number;
  wallMs: number;
  backend: BackendJson;
  pid: number;
  dataset: TrainTaskResult['dataset'];
  /** The digit classifier's cache file and whether this training had to train it. */
  classifier: { file: string; trainedNow: boolean; testAccuracy: number };
  reason?: string;
  worker?: WorkerRefJson;
}

/**
 * One segmentation training (a `task segmentation` file's loss): a small U-Net on the dataset's
 * images, trained with the loss per image, its weights kept at the best validation Dice, then
 * its metrics on the test images.
 */
export interface SegTask {
  kind: 'segmentation';
  /** A whole `task segmentation` .loss file. */
  lossSource: string;
  lossName: string;
  /** Overrides of the file's params. */
  params?: Record<string, number>;
  /** The compute engine (default tfjs). */
  engine?: EngineName;
  backend: 'auto' | TfjsBackendName;
  /** The torch engine's Python, device and precision (engine 'torch'). */
  torch?: TorchOptionsJson;
  /** 'digits-clutter' (built from the embedded digits) or a folder of images/ and masks/ PNGs. */
  dataset: { spec: string; seed: number; cwd?: string };
  seg: SegSettingsJson;
  /** Adam's learning rate, batch size, epochs (of stepsPerEpoch steps, default one pass over the training images), seed (init, data order). */
  lr: number;
  batchSize: number;
  epochs: number;
  stepsPerEpoch?: number;
  seed: number;
}

/** A segmentation training's outcome. */
export interface SegTaskResult {
  status: TrainStatus;
  /** Finished epochs. */
  history: (SegEpochJson & { epoch: number; ms: number })[];
  /** Test metrics with the best-validation-Dice weights; null fields when it did not complete. */
  metrics: SegMetricsJson;
  bestValDice: number | null;
  steps: number;
  wallMs: number;
  backend: BackendJson;
  pid: number;
  /** What it trained on: image size, classes, split sizes and the mean foreground fraction of the training masks. */
  dataset: { name: string; height: number; width: number; channels: number; classes: number; train: number; val: number; test: number; foreground: number };
  reason?: string;
  worker?: WorkerRefJson;
}

/** What the run side hands to a runner: a training of any task. */
export type ComputeTask = TrainTask | GanTask | SegTask;
/** The result type of a compute task. */
export type ComputeResult<T extends ComputeTask> = T extends GanTask ? GanTaskResult : T extends SegTask ? SegTaskResult : TrainTaskResult;

export type TrainStatus = Exclude<TrainingStatus, 'failed'>;

export interface TrainTaskResult extends TrainOutcome {
  /** What it ran on (tfjs backend, or the torch runner's environment). */
  backend: BackendJson;
  /** Which process ran it. */
  pid: number;
  /** Training images per second (torch engine). */
  imagesPerSec?: number;
  /** The queue worker that ran it (tasks that went through a job queue; see queue/). */
  worker?: WorkerRefJson;
}

/**
 * A progress message: for train tasks, one per finished epoch, and `step` now and then while
 * one runs (at most a few per second: live displays, never written to a run folder); `step` is
 * the number of steps done of `steps` planned, `epoch` the one running (1-based).
 */
export type Progress =
  | { kind: 'epoch'; epoch: EpochRecord }
  | { kind: 'gan-epoch'; epoch: GanEpochJson & { epoch: number; ms: number } }
  | { kind: 'seg-epoch'; epoch: SegEpochJson & { epoch: number; ms: number } }
  | { kind: 'step'; step: number; steps: number; epoch: number; epochs: number }
  | { kind: 'backend'; backend: BackendJson; pid: number }
  | { kind: 'custom'; data: unknown };

/** How often at most a training reports its steps (ms). */
export const STEP_PROGRESS_MS = 250;

export interface TaskContext {
  signal: AbortSignal;
  progress: (p: Progress) => void;
}

/** How a run asks for compute (flags, run files, VS Code settings), before it is resolved. */
export interface EngineRequest {
  engine?: 'auto' | EngineName;
  /** torch: the Python executable (default LOSSMITH_PYTHON, else python3 on PATH). */
  python?: string;
  /** torch: auto | cpu | cuda | cuda:N | mps (default auto). */
  device?: string;
  /** torch: auto | fp32 | bf16 | fp16 (default auto: bf16 on GPUs that have it, else fp32). */
  precision?: string;
  /** torch: torch.compile the model (torch 2.x). */
  compile?: boolean;
  /** The run's model (engines check they have it and what it needs). */
  model?: ModelKind;
  /** The dataset is an image folder (the torch engine reads it with torchvision). */
  imageFolder?: boolean;
}

/** An engine's answer to a request: ready (with its resolved settings) or one line saying why not. */
export type EngineReadiness =
  | { ok: true; torch?: TorchOptionsJson; summary: string; /** Worker count when none is asked (one per GPU on GPUs). */ defaultWorkers?: number }
  | { ok: false; problem: string };

/** What `lossmith backend` prints of one engine. */
export interface EngineStatus {
  engine: EngineName;
  available: boolean;
  /** Lines in words (versions, devices), or why not and the fix. */
  lines: string[];
  /** Machine-readable details (the tfjs backend list; the torch probe). */
  details: unknown;
}

/** A compute engine, as the worker process sees it: one module per engine folder. */
export interface ComputeEngine {
  readonly name: EngineName;
  /** Model kinds it can train. */
  readonly models: readonly ModelKind[];
  /** Runs one training task in this process (or in a child it owns); resolves with its result. */
  train(task: TrainTask, ctx: TaskContext): Promise<TrainTaskResult>;
  /** Runs one GAN training (engines that have the GAN loop: tfjs). */
  gan?(task: GanTask, ctx: TaskContext): Promise<GanTaskResult>;
  /** Runs one segmentation training (engines that have the U-Net loop: tfjs). */
  segment?(task: SegTask, ctx: TaskContext): Promise<SegTaskResult>;
  /** What this engine finds on this machine (for `lossmith backend`). */
  status?(req: EngineRequest): Promise<EngineStatus>;
  /** Checks, before a run folder is made, that this engine can serve the request (the run's main process calls it). */
  prepare?(req: EngineRequest): EngineReadiness;
  /** Frees what the engine keeps between tasks (child processes); called when the worker exits. */
  shutdown?(): void;
}
