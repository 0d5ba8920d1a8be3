/**
 * The torch engine's wire types: what the Node bridge (engine/src/engines/torch/) sends to the
 * Python runner (engine/torch/lossmith_torch/) and what the runner prints back.
 *
 * One task is one training: one model, one loss, one seed (a classification TorchTask, or a
 * segmentation TorchSegTask or a GAN TorchGanTask, told apart by its `kind`). The runner takes it as a JSON file
 * (`python3 -m lossmith_torch TASK.json`) or, in serve mode (`python3 -m lossmith_torch
 * --serve`), as one JSON line per task on stdin; it answers with JSON lines on stdout
 * (`TorchMessage`), one `info` per task, `epoch` per finished epoch, then exactly one of
 * `result` or `error`. Nothing else goes to stdout (Python warnings go to stderr).
 *
 * The Python side mirrors these types in lossmith_torch/task.py; a test round-trips a task.
 */

import type { EpochRecord, ModelKind, ModelSpec, TrainOutcome, TrainSpec } from './train-spec';

export const TORCH_TASK_VERSION = 1;

/** A loss as the PyTorch exporter emits it: a module's source and the function to call. */
export interface TorchLossJson {
  /** Python source of the module (grammar/src/export, target 'pytorch'). */
  module: string;
  /** Function name inside the module: fn(logits, target, **params) -> per-sample loss [N]. */
  fn: string;
  /** Keyword arguments (the file's params with overrides). */
  params?: Record<string, number>;
}

export type TorchModelKind = ModelKind;

/** The model as the compute interface describes it (`init`: a checkpoint path the runner can read). */
export type TorchModelJson = ModelSpec;

/**
 * Where the data comes from.
 * - `tensors`: an LMDS file written by the Node side (the exact splits the tfjs engine uses):
 *     bytes 0..5  "LMDS1\n"
 *     bytes 6..9  header length L, uint32 little-endian
 *     L bytes     JSON header: {name, shape:[h,w,c], classes, dtype:'uint8'|'float32',
 *                  splits: {train|val|test: {n, x: byteOffset, labels: byteOffset}}, info?}
 *                 (offsets from the start of the file, each 8-byte aligned); x is NHWC,
 *                 uint8 (value/255 gives the float) or float32 in [0,1]; labels int32.
 * - `cifar`: a folder of CIFAR-10/100 binary files (data_batch_*.bin + test_batch.bin, or
 *   train.bin + test.bin); validation = a fixed-seed stratified 10% of the training files.
 * - `imagefolder`: <path>/<class>/<image> (train/val/test subfolders if present, else a
 *   stratified 80/10/10 split with a fixed seed); images resized to `size` (default 224).
 */
export type TorchDataJson =
  | { kind: 'tensors'; path: string }
  | { kind: 'cifar'; path: string; maxTrain?: number }
  | { kind: 'imagefolder'; path: string; size?: number; maxTrain?: number };

export type TorchDevice = 'auto' | 'cpu' | 'cuda' | `cuda:${number}` | 'mps';
export type TorchPrecision = 'auto' | 'fp32' | 'bf16' | 'fp16';

/** The training settings of the compute interface, less the model (a task field of its own). */
export type TorchTrainJson = Omit<TrainSpec, 'model'>;

export interface TorchTask {
  version: typeof TORCH_TASK_VERSION;
  loss: TorchLossJson;
  /** SAM's separate perturbation loss (AACE style); needs train.sam. */
  perturbLoss?: TorchLossJson;
  model: TorchModelJson;
  data: TorchDataJson;
  /** Augmentation spec, same grammar and meaning as the tfjs engine's (e.g. 'flipcrop+cutout:8'). */
  augment: string;
  train: TorchTrainJson;
  device: TorchDevice;
  precision: TorchPrecision;
  /** channels-last memory format for conv nets (default: on for CUDA). */
  channelsLast?: boolean;
  /** torch.compile the model where torch has it (default false). */
  compile?: boolean;
  /** CPU threads (torch.set_num_threads); default: torch's own. */
  threads?: number;
  /** Per-step progress every N steps (default 0: epochs only). */
  stepEvery?: number;
}

/** The environment the runner found, once per task (before training starts). */
export interface TorchInfo {
  engine: 'torch';
  python: string;
  executable: string;
  torch: string;
  torchvision: string | null;
  /** torch.version.cuda (null on CPU-only builds). */
  cuda: string | null;
  cudnn: number | null;
  /** The device the task runs on, e.g. 'cuda:0' or 'cpu'. */
  device: string;
  /** e.g. 'NVIDIA H100 80GB HBM3' or 'cpu (8 threads)'. */
  deviceName: string;
  precision: 'fp32' | 'bf16' | 'fp16';
  compile: boolean;
  channelsLast: boolean;
  threads: number;
  pid: number;
}

/** One finished epoch, as every engine reports it. */
export type TorchEpochJson = EpochRecord;

export interface TorchResultJson extends TrainOutcome {
  /** Training images per second over the whole training (augmentation and steps, not validation). */
  imagesPerSec: number;
}

/** Error codes: each comes with a one-line message naming the cause and the fix. */
export type TorchErrorCode =
  | 'bad-task'
  | 'torch-too-old'
  | 'no-torchvision'
  | 'device-unavailable'
  | 'out-of-memory'
  | 'checkpoint'
  | 'dataset'
  | 'loss'
  | 'internal';

export type TorchMessage =
  | { type: 'info'; info: TorchInfo }
  /** Every `stepEvery` steps: the step index (0-based), its epoch, and the steps of the whole training. */
  | { type: 'step'; step: number; epoch: number; trainLoss: number; lr: number; steps?: number }
  | { type: 'epoch'; epoch: TorchEpochJson }
  | { type: 'result'; result: TorchResultJson }
  | { type: 'error'; code: TorchErrorCode; message: string; detail?: string };

// ---------------------------------------------------------------------------------------------
// Segmentation trainings (task kind 'segmentation'; the compute interface's SegTask)
// ---------------------------------------------------------------------------------------------

/**
 * A segmentation data set, written by the Node side (engine/src/engines/torch/lmds.ts) from
 * engine/src/data/segmentation.ts, so both engines train on exactly the same images:
 *   bytes 0..5  "LMDS1\n"
 *   bytes 6..9  header length L, uint32 little-endian
 *   L bytes     JSON header: {kind: 'segmentation', name, shape: [h,w,c], classes,
 *                dtype: 'uint8'|'float32', splits: {train|val|test: {n, x, masks, dist?}}}
 *               (offsets from the start of the file, each 8-byte aligned); x NHWC as in the
 *               classification file; masks uint8 [n, h, w] class indices (classes <= 256);
 *               dist float32 [n, h, w, classes] (class last, engine/src/data/segmentation.ts
 *               `signedDistanceMaps`), present only for the training split and only in files
 *               written for a loss that reads dist.
 */
export interface TorchSegDataJson {
  kind: 'seg-tensors';
  path: string;
}

/** The U-Net (the tfjs engine's engines/tfjs/seg/unet.ts): filters F, 2F, 4F on its three levels. */
export interface TorchSegModelJson {
  kind: 'unet';
  filters: number;
}

/** Adam (epsilon 1e-7, no weight decay) at a constant rate; epochs of stepsPerEpoch steps (default one pass, rounded up). */
export interface TorchSegTrainJson {
  lr: number;
  batchSize: number;
  /** 0 trains nothing: the test metrics are those of the initial weights. */
  epochs: number;
  stepsPerEpoch?: number;
  seed: number;
}

/**
 * One segmentation training. The runner tells it from a classification task by `kind` (a
 * TorchTask has none). The loss is `fn(logits [N,K,H,W], target [N,H,W] int64[, dist
 * [N,K,H,W]], **params)` returning the per-image loss [N] (the PyTorch exporter's
 * segmentation signature; the runner passes dist exactly when the function names it); the
 * objective is its batch mean. After each epoch the runner sends the validation split's
 * predicted label maps (`seg-epoch`), at the end the test split's, predicted with the weights
 * of the best validation Dice; the Node side computes every reported metric from them
 * (engine/src/data/seg-metrics.ts). The runner chooses the best epoch with the same per-image
 * foreground Dice, computed the same way in the same float64 operations, so both agree.
 */
export interface TorchSegTask {
  version: typeof TORCH_TASK_VERSION;
  kind: 'segmentation';
  loss: TorchLossJson;
  model: TorchSegModelJson;
  data: TorchSegDataJson;
  train: TorchSegTrainJson;
  device: TorchDevice;
  precision: TorchPrecision;
  /** channels-last memory format (default: on for CUDA). */
  channelsLast?: boolean;
  /** torch.compile the U-Net where torch has it (default false). */
  compile?: boolean;
  threads?: number;
  /** Per-step progress every N steps (default 0: epochs only). */
  stepEvery?: number;
}

// ---------------------------------------------------------------------------------------------
// GAN trainings (task kind 'gan'; the compute interface's GanTask)
// ---------------------------------------------------------------------------------------------

/**
 * The GAN settings of the tfjs trainer (engines/tfjs/gan/train-gan.ts): the class-conditional
 * DCGAN's latent size and width, Adam's rate and betas, the training's length and seed, the
 * final metrics' digits per class, WGAN's weight clipping of D (absent: none).
 */
export interface TorchGanTrainJson {
  zDim: number;
  filters: number;
  beta1: number;
  beta2: number;
  lr: number;
  batchSize: number;
  /** 0 trains nothing: the final samples are those of the initial generator. */
  epochs: number;
  stepsPerEpoch: number;
  seed: number;
  samplesPerClass: number;
  clip?: number;
}

/**
 * One GAN training (a `task gan` pair NAME_g + NAME_d). The losses are the PyTorch exporter's
 * GAN functions `NAME(d_real, d_fake[, grad_norm], *, params)` returning [N]; the runner
 * passes the inputs each function's signature names (grad_norm computed only when one reads
 * it). The data is the embedded digits as the classification LMDS file (`tensors`; only the
 * training split is used). After each epoch the runner sends 50 generated digits per class from
 * fixed codes (`gan-epoch`), at the end `samplesPerClass` per class; the Node side computes FD
 * and the accuracies on them with the cached digit classifier (one implementation:
 * engines/tfjs/gan/train-gan.ts ganMetricsOf). The runner trains in fp32 whatever `precision`.
 */
export interface TorchGanTask {
  version: typeof TORCH_TASK_VERSION;
  kind: 'gan';
  gLoss: TorchLossJson;
  dLoss: TorchLossJson;
  data: { kind: 'tensors'; path: string };
  train: TorchGanTrainJson;
  device: TorchDevice;
  precision: TorchPrecision;
  threads?: number;
  /** Per-step progress every N steps (default 0: epochs only); trainLoss is the D loss. */
  stepEvery?: number;
}

/**
 * Generated digits: uint8 grey images n*28*28 row-major (round(255 x) of the generator's
 * sigmoid output), zlib + base64 as TorchLabelMapsJson; image i was generated for class i mod 10.
 */
export type TorchGanImagesJson = TorchLabelMapsJson;

/** One finished GAN epoch, as the runner sees it (mean D and G losses over its steps). */
export interface TorchGanEpochJson {
  epoch: number;
  dLoss: number | null;
  gLoss: number | null;
  ms: number;
}

export interface TorchGanResultJson {
  status: 'completed' | 'nan' | 'cancelled';
  /** Steps applied (a D and a G step each). */
  steps: number;
  wallMs: number;
  /** The largest |weight| of the discriminator after training (clip keeps it <= clip). */
  dMaxAbsWeight: number;
  reason?: string;
  /** samplesPerClass digits per class (status completed only, else null). */
  samples: TorchGanImagesJson | null;
}

/** What the runner prints for a GAN task (`info` and `step` as for a TorchTask). */
export type TorchGanMessage =
  | { type: 'info'; info: TorchInfo }
  | { type: 'step'; step: number; epoch: number; trainLoss: number; lr: number; steps?: number }
  | { type: 'gan-epoch'; epoch: TorchGanEpochJson; samples: TorchGanImagesJson }
  | { type: 'result'; result: TorchGanResultJson }
  | { type: 'error'; code: TorchErrorCode; message: string; detail?: string };

/** Any task the runner takes. */
export type TorchAnyTask = TorchTask | TorchSegTask | TorchGanTask;

/**
 * Predicted label maps of one split: the per-pixel argmax, uint8 class indices n*H*W row-major,
 * zlib-compressed (RFC 1950, Python's zlib.compress, Node's zlib.inflateSync) and base64-encoded
 * into the JSON line (masks are mostly background: 500 40x40 maps are ~800 KB raw and tens of
 * KB compressed).
 */
export interface TorchLabelMapsJson {
  n: number;
  height: number;
  width: number;
  encoding: 'uint8-zlib-base64';
  data: string;
}

/** One finished segmentation epoch, as the runner sees it. */
export interface TorchSegEpochJson {
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number | null;
  /** The runner's validation Dice (what it chose the best epoch with); null without validation images. */
  valDice: number | null;
  /** Training and validation prediction time of the epoch. */
  ms: number;
}

export interface TorchSegResultJson {
  status: 'completed' | 'nan' | 'cancelled';
  /** The epoch whose weights predicted `test` (0: none had a validation Dice; the final weights). */
  bestEpoch: number;
  bestValDice: number | null;
  /** Steps applied. */
  steps: number;
  wallMs: number;
  imagesPerSec: number;
  reason?: string;
  /** The test split's label maps (status completed and test images only, else null). */
  test: TorchLabelMapsJson | null;
}

/** What the runner prints for a segmentation task (`info` and `step` as for a TorchTask). */
export type TorchSegMessage =
  | { type: 'info'; info: TorchInfo }
  | { type: 'step'; step: number; epoch: number; trainLoss: number; lr: number; steps?: number }
  | { type: 'seg-epoch'; epoch: TorchSegEpochJson; val: TorchLabelMapsJson | null }
  | { type: 'result'; result: TorchSegResultJson }
  | { type: 'error'; code: TorchErrorCode; message: string; detail?: string };

/** `python3 -m lossmith_torch --probe`: one JSON line describing what is there. */
export interface TorchProbe {
  python: string;
  executable: string;
  torch: string | null;
  torchvision: string | null;
  cuda: string | null;
  cudnn: number | null;
  cudaAvailable: boolean;
  /** Why CUDA is not usable, when torch is built with CUDA but sees no device (driver named). */
  cudaReason?: string;
  mps: boolean;
  bf16: boolean;
  compile: boolean;
  gpus: { index: number; name: string; memoryGiB: number; capability: string }[];
  /** Set when torch cannot be imported or is too old. */
  error?: string;
}
