/**
 * Wire types of a compare run (`lossmith compare` / `lossmith run`): the JSON events it appends to
 * `.lossmith/runs/<id>/events.jsonl` (and prints one per line on stdout with --json), and the
 * `summary.json` it writes. The extension and any later tooling read these; nothing here imports
 * engine code.
 *
 * Order of events in a run:
 *   run-start (written by the run store: id, kind, created, pid, host)
 *   compare-start (the resolved config, grid and requested backend)
 *   backend (once per distinct backend a worker reports)
 *   per training: seed-start, epoch*, seed-end
 *   result (one per loss x augmentation, after all trainings)
 *   run-end | run-cancelled | run-failed
 * A resumed run (`lossmith compare --resume RUN`) appends to the same file: run-resume, then
 * compare-resume (how many trainings are kept), then seed-start/epoch/seed-end for the
 * trainings that had not finished (cancelled, failed or cut off), the results and the end event.
 * A reader keeps the latest seed-start..seed-end of each training.
 *
 * Accuracies are fractions in [0, 1]; differences are differences of fractions. Numbers that
 * could not be measured are null (JSON has no NaN).
 */

import type { TorchDevice, TorchInfo, TorchPrecision } from './torch-task';
import type { ModelKind } from './train-spec';
import type { ExcludedCounts, Verdict } from './verdict';

export type TrainingStatus = 'completed' | 'nan' | 'early-stopped' | 'cancelled' | 'failed';

export type TfjsBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
/** The compute engines: tfjs (embedded, Node) and torch (the user's Python). */
export type EngineName = 'tfjs' | 'torch';
export const ENGINE_NAMES: readonly EngineName[] = ['tfjs', 'torch'];
export type { ModelKind } from './train-spec';

/** Model kinds per engine (checked before a run starts; the client offers them per engine). */
export const ENGINE_MODELS: Record<EngineName, readonly ModelKind[]> = {
  tfjs: ['mlp', 'convnet', 'resnet9', 'lenet'],
  torch: ['mlp', 'convnet', 'resnet9', 'lenet', 'wrn-16-4', 'wrn-28-10', 'resnet18', 'torchvision'],
};

/**
 * What a worker actually ran on: the tfjs backend, or for the torch engine `name: 'torch'`
 * with the runner's environment in `torch`. `engine` is absent in runs older than the torch engine.
 */
export interface BackendJson {
  name: TfjsBackendName | 'torch';
  engine?: EngineName;
  device: 'gpu' | 'cpu';
  threads: number;
  detail: string;
  warnings: string[];
  torch?: TorchInfo;
}

/** How a run asks the torch engine to run (recorded in its config; resolved paths). */
export interface TorchOptionsJson {
  /** The Python executable (absolute path as resolved when the run started). */
  python: string;
  device: TorchDevice;
  precision: TorchPrecision;
  compile?: boolean;
  channelsLast?: boolean;
}

/** One loss of a comparison, as resolved from FILE#LOSS or the built-in baseline. */
export interface LossRefJson {
  /** Display label, unique within the run (the loss name, or file#loss on a clash). */
  label: string;
  /** Path as given, or '<builtin>' for the built-in cross-entropy. */
  file: string;
  loss: string;
  params?: Record<string, number>;
}

/**
 * A GAN comparison's training settings (`task gan` files): a small class-conditional DCGAN on
 * the digits, `epochs` x `stepsPerEpoch` alternating steps (one discriminator step with
 * mean(NAME_d), one generator step with mean(NAME_g)), Adam with `lr`, `beta1`, `beta2`.
 */
export interface GanSettingsJson {
  /** Latent size z (the label is one-hot on top). */
  zDim: number;
  /** Filters of the first discriminator conv / last generator conv (the other has twice as many). */
  filters: number;
  beta1: number;
  beta2: number;
  /** Generated digits per class for the final metrics. */
  samplesPerClass: number;
  /**
   * Weight clipping of the discriminator (WGAN, Arjovsky et al. 2017: c = 0.01): after every D
   * step each of its weights is clipped to [-clip, clip]. Absent: no clipping.
   */
  clip?: number;
  /** The digit classifier behind FD and the accuracy on generated digits (trained once, cached). */
  classifier: DigitClassifierJson;
}

/** The digit classifier of GAN metrics: `lenet` trained on the embedded digits' training split with CE. */
export interface DigitClassifierJson {
  model: 'lenet';
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
}

/**
 * What a GAN training measured with the digit classifier: `fd`, the Fréchet distance between the
 * classifier's penultimate-layer features (128) of the real test digits and of generated digits
 * (lower is better; NOT Inception FID: a digit classifier's feature space), and its accuracy on
 * generated digits (the label each was generated for is the target), overall and per class.
 */
export interface GanMetricsJson {
  fd: number | null;
  genAccuracy: number | null;
  /** Per class 0..9. */
  perClassAccuracy: (number | null)[];
  /** The classifier's own accuracy on the real test digits (how far its features can be trusted). */
  classifierAccuracy: number | null;
}

/** The fully resolved configuration a compare run used (also config.json). */
export interface CompareConfigJson {
  kind: 'compare';
  /**
   * 'gan' for comparisons of GAN loss pairs (a loss label names a pair NAME: NAME_g + NAME_d);
   * 'segmentation' for comparisons of `task segmentation` losses (a U-Net per loss and seed);
   * absent: classification.
   */
  task?: 'gan' | 'segmentation';
  /** GAN settings (task 'gan'). */
  gan?: GanSettingsJson;
  /** Segmentation settings (task 'segmentation'): the built-in data's splits and size, the U-Net's width. */
  seg?: SegSettingsJson;
  losses: LossRefJson[];
  baseline: LossRefJson;
  /** Segmentation runs: spec is 'digits-clutter' or the absolute path of a folder of images/ and masks/ PNGs. */
  dataset: { spec: string; seed: number; maxTrain?: number; labelNoise?: number; imbalance?: number; imageSize?: number };
  model: { kind: ModelKind | SegModelKind; width?: number; hidden?: number[]; bnMomentum?: number; arch?: string; init?: string };
  augmentations: string[];
  /** Training seeds; seed i is the same for every loss and augmentation. */
  seeds: number[];
  epochs: number;
  stepsPerEpoch?: number;
  batchSize: number;
  lr: number;
  optimizer: 'adam' | 'sgd';
  /** Weight decay (Adam: decoupled; SGD: L2); absent = 0. */
  weightDecay?: number;
  warmup?: number;
  schedule?: 'cosine' | 'constant';
  maxVal?: number;
  sam?: { rho: number; adaptive?: boolean; loss?: LossRefJson };
  /**
   * Learning-rate tuning: every loss (the baseline too) is trained at each rate of `grid` on
   * each of the tuning `seeds` (never the run's seeds) per augmentation; the rate with the best
   * mean validation accuracy is the one its test runs use.
   */
  tuneLr?: { grid: number[]; seeds: number[] };
  /** tfjs backend preference (used by the tfjs engine). */
  backend: 'auto' | TfjsBackendName;
  /** The engine the run trains on, resolved when it started (absent in older runs: tfjs). */
  engine?: EngineName;
  /** The torch engine's settings (engine 'torch' only). */
  torch?: TorchOptionsJson;
  workers: number;
  /** Trainings went to this Redis job queue (`--queue`), password masked: `redis://user:***@host:port/db`. */
  queue?: string;
}

/** Where a training ran when it went through the job queue (`--queue`): the `lossmith worker` that finished it. */
export interface WorkerRefJson {
  /** The worker's id (host-pid-random), as it announced itself. */
  id: string;
  /** Its machine's host name. */
  host: string;
  /** Attempts it took: 1, or more after a worker died (stalled job given to another) or a training crashed. */
  attempt: number;
}

/** A connected `lossmith worker`, as it announces itself in Redis (heartbeat key with a TTL). */
export interface QueueWorkerJson {
  id: string;
  host: string;
  pid: number;
  engine: EngineName;
  /** Trainings it runs at once. */
  concurrency: number;
  /** Its devices in words (`cpu`, `cuda:0 NVIDIA H100`, ...). */
  devices: string[];
  /** lossmith, node, bullmq (and torch) versions. */
  versions: Record<string, string>;
  /** Its engine in words (what it resolved at start). */
  summary: string;
  /** The BullMQ queues it takes trainings from: its engine's, and its device class's (`torch-cuda`). */
  queues?: string[];
  started: string;
  /** Trainings running now and finished since it started. */
  running: number;
  done: number;
}

/** The job queue of a run and the workers connected when it started (or resumed). */
export interface QueueWorkersEvent {
  type: 'queue';
  /** Masked URL. */
  url: string;
  workers: QueueWorkerJson[];
}

/** A resumed compare run: `kept` finished trainings are reused, `jobs - kept` are (re)trained. */
export interface CompareResumeEvent {
  type: 'compare-resume';
  jobs: number;
  kept: number;
  workers: number;
}

export interface RunStartEvent {
  type: 'run-start';
  id: string;
  kind: 'compare' | 'evolve';
  created: string;
  pid: number;
  host: string;
}

export interface RunResumeEvent {
  type: 'run-resume';
  pid: number;
  host: string;
  time: string;
}

export interface CompareStartEvent {
  type: 'compare-start';
  config: CompareConfigJson;
  /** Trainings in the grid (losses incl. baseline x augmentations x seeds). */
  jobs: number;
  /** Learning-rate tuning trainings before them (losses x augmentations x grid x tuning seeds); absent without tuning. */
  tuneJobs?: number;
  workers: number;
  /** Absolute path of the run folder. */
  dir: string;
}

/** One tuning training finished (learning-rate tuning on the validation split). */
export interface TuneEndEvent {
  type: 'tune-end';
  loss: string;
  augmentation: string;
  lr: number;
  seed: number;
  status: TrainingStatus;
  bestValAcc: number | null;
  wallMs: number;
  reason?: string;
  /** The queue worker that ran it (runs with --queue). */
  worker?: WorkerRefJson;
}

/** The learning rate chosen for one loss and augmentation, and the validation accuracy at each grid point. */
export interface LrChoiceJson {
  loss: string;
  augmentation: string;
  /** The chosen rate (the grid point with the best mean validation accuracy). */
  lr: number;
  /** Mean best validation accuracy over the tuning seeds that completed, per grid point (same order as the grid); null where none completed. */
  valAcc: (number | null)[];
  /** Completed tuning trainings per grid point. */
  finished: number[];
  /** Set when no grid point completed: the run's own lr was used. */
  note?: string;
}

export interface LrChosenEvent extends LrChoiceJson {
  type: 'lr-chosen';
}

export interface BackendEvent {
  type: 'backend';
  backend: BackendJson;
  pid: number;
}

/** Identifies one training of the grid. */
export interface TrainingKey {
  loss: string;
  augmentation: string;
  /** The training seed (weights init, data order, dropout, augmentation draws). */
  seed: number;
  /** Index of the seed in config.seeds. */
  seedIndex: number;
}

export interface SeedStartEvent extends TrainingKey {
  type: 'seed-start';
}

export interface EpochEvent extends TrainingKey {
  type: 'epoch';
  epoch: number;
  trainLoss: number | null;
  trainAcc: number | null;
  valAcc: number | null;
  lr: number;
  /** Wall time of the epoch including validation. */
  ms: number;
  /** GAN runs (trainLoss is the generator's loss; trainAcc and valAcc are null): the epoch's mean losses and a quick FD / accuracy on a few generated digits. */
  gan?: GanEpochJson;
  /** Segmentation runs (trainLoss is the mean training loss; trainAcc and valAcc are null): the mean loss and the validation Dice and IoU. */
  seg?: SegEpochJson;
}

/** The network of segmentation runs: a small two-level U-Net (the tfjs engine's engines/tfjs/seg). */
export type SegModelKind = 'unet';

/** A segmentation comparison's settings (task segmentation): its data and its U-Net. */
export interface SegSettingsJson {
  /** Canvas side of the built-in digits-in-clutter images (folders keep their own size). */
  size: number;
  /** Images of the built-in data's train, validation and test splits (folders keep theirs). */
  train: number;
  val: number;
  test: number;
  /** U-Net width: filters of its first level, doubled at each of its two lower levels. */
  filters: number;
}

/**
 * A segmentation training's metrics on the test images, over the foreground classes (c >= 1):
 * Dice and IoU per image and class (1 when both prediction and target are empty), averaged;
 * hd95 the 95th-percentile symmetric Hausdorff distance of the boundaries in pixels (the image
 * diagonal when only one of them is empty). Null when it did not complete.
 */
export interface SegMetricsJson {
  dice: number | null;
  iou: number | null;
  hd95: number | null;
}

/** One segmentation epoch: the mean training loss over its steps and the validation metrics. */
export interface SegEpochJson {
  loss: number | null;
  valDice: number | null;
  valIou: number | null;
}

/** One GAN epoch: mean losses over its steps and quick metrics (fewer generated digits than the final ones). */
export interface GanEpochJson {
  dLoss: number | null;
  gLoss: number | null;
  fd: number | null;
  genAccuracy: number | null;
}

export interface SeedEndEvent extends TrainingKey {
  type: 'seed-end';
  status: TrainingStatus;
  /** Test accuracy with the best-validation weights (null if cancelled/failed). */
  testAcc: number | null;
  bestValAcc: number | null;
  bestEpoch: number;
  epochs: number;
  steps: number;
  wallMs: number;
  /** Why it did not complete (NaN loss at step s, the error, ...). */
  reason?: string;
  backend?: BackendJson['name'];
  /** The queue worker that ran it (runs with --queue). */
  worker?: WorkerRefJson;
  /** GAN runs: the final metrics (testAcc is the accuracy on generated digits, bestValAcc null). */
  gan?: GanMetricsJson;
  /**
   * Segmentation runs: the test metrics with the best-validation-Dice weights (testAcc is the
   * test Dice, bestValAcc the best validation Dice, bestEpoch the epoch that reached it).
   */
  seg?: SegMetricsJson;
}

export interface PairedTestJson {
  /** The test the p-value and interval come from. */
  test: 'paired t-test';
  /** Number of seed pairs used (seeds where both trainings produced a test accuracy). */
  n: number;
  /** mean(loss - baseline) of test accuracy (fraction). null with no pair. */
  meanDiff: number | null;
  /** t-based 95% confidence interval of meanDiff; null when n < 2. */
  ci95: [number, number] | null;
  /** Two-sided p-value; null when n < 2. */
  pValue: number | null;
  /** Exact Wilcoxon signed-rank p-value on the same pairs (distribution-free, coarse for few seeds). */
  wilcoxonP: number | null;
  /**
   * Standardized effect size, Cohen's d_z: meanDiff over the sample standard deviation of the
   * per-seed differences, with its exact 95% interval (non-central t inverted); null when n < 2
   * or the differences do not vary. Absent in older runs.
   */
  dz?: number | null;
  dzCi95?: [number, number] | null;
  /**
   * pValue adjusted with Holm's method over every loss x augmentation comparison of the run
   * (absent in older runs).
   */
  pAdjusted?: number | null;
  /**
   * better / worse (adjusted p < 0.05, by the sign of meanDiff), no-difference (none detected),
   * inconclusive (fewer than 3 pairs, or no test). Absent in older runs.
   */
  verdict?: Verdict;
  /** A caveat (degenerate test, too few pairs), else null. */
  note: string | null;
  /**
   * The metric compared (absent: test accuracy): 'fd' (GAN runs' primary metric, lower is
   * better: the verdict is `better` when the difference is significantly negative) or
   * 'genAccuracy'; in segmentation runs 'dice' (the primary, a fraction: differences of
   * fractions, shown in percentage points) or 'hd95' (pixels, lower is better). meanDiff and
   * ci95 are in the metric's own units.
   */
  metric?: 'fd' | 'genAccuracy' | 'dice' | 'hd95';
  lowerIsBetter?: boolean;
}

export interface SeedResultJson {
  seed: number;
  status: TrainingStatus;
  testAcc: number | null;
  bestValAcc: number | null;
  bestEpoch: number;
  wallMs: number;
  reason?: string;
  /** The queue worker that ran it (runs with --queue). */
  worker?: WorkerRefJson;
  /** GAN runs: the training's metrics. */
  gan?: GanMetricsJson;
  /** Segmentation runs: the training's test metrics (testAcc is its Dice, bestValAcc its best validation Dice). */
  seg?: SegMetricsJson;
}

/** The GAN metrics of one loss pair over seeds (summary.json of a gan run). */
export interface GanResultJson {
  /** Fréchet distance in the digit classifier's feature space (not Inception FID); lower is better. */
  fd: { mean: number | null; std: number | null; perSeed: (number | null)[] };
  /** Accuracy of the digit classifier on generated digits (= testAccuracy). */
  genAccuracy: { mean: number | null; std: number | null; perSeed: (number | null)[] };
  /** Mean over seeds, per class 0..9. */
  perClassAccuracy: (number | null)[];
  /** The paired comparison of genAccuracy with the baseline pair (Holm over the run's genAccuracy comparisons). */
  genAccuracyVsBaseline: PairedTestJson;
}

/** Mean, sample standard deviation and per-seed values of one metric (perSeed aligned with config.seeds; null where no completed training). */
export interface MetricStatsJson {
  mean: number | null;
  std: number | null;
  perSeed: (number | null)[];
}

/**
 * The segmentation metrics of one loss over seeds (summary.json of a segmentation run), on the
 * test images over the foreground classes, with each training's best-validation-Dice weights.
 */
export interface SegResultJson {
  /** Dice (a fraction; the primary metric, higher is better; = testAccuracy). */
  dice: MetricStatsJson;
  /** IoU (a fraction, higher is better). */
  iou: MetricStatsJson;
  /** 95th-percentile Hausdorff distance in pixels (lower is better). */
  hd95: MetricStatsJson;
  /** The paired comparison of hd95 with the baseline (lower is better; Holm over the run's hd95 comparisons). */
  hd95VsBaseline: PairedTestJson;
}

export interface CompareResultJson {
  loss: string;
  augmentation: string;
  /** File and loss name it came from. */
  ref: LossRefJson;
  baseline: boolean;
  testAccuracy: {
    /** Over the seeds with a test accuracy; null if none. */
    mean: number | null;
    /** Sample standard deviation (n - 1); null when fewer than 2. */
    std: number | null;
    /** Aligned with config.seeds; null where the training produced no test accuracy. */
    perSeed: (number | null)[];
  };
  /** The learning rate its trainings used (the tuned one under tuneLr). */
  lr?: number;
  /**
   * Paired comparison with the baseline on the same augmentation and seeds (finished trainings
   * only): of test accuracy, in a GAN run of FD (`metric: 'fd'`, lower is better), in a
   * segmentation run of Dice (`metric: 'dice'`).
   */
  vsBaseline: PairedTestJson;
  /** GAN runs: FD, accuracy on generated digits (also testAccuracy) and its comparison. */
  gan?: GanResultJson;
  /** Segmentation runs: Dice (also testAccuracy), IoU, HD95 and the HD95 comparison. */
  seg?: SegResultJson;
  /**
   * Trainings left out of the mean and the test: ended `nan` (diverged), `failed` or
   * `early-stopped`; `finished` counts the completed ones (absent in older runs).
   */
  excluded?: ExcludedCounts;
  finished?: number;
  seeds: SeedResultJson[];
  /** Mean wall time of one training (ms). */
  meanWallMs: number | null;
}

export interface ResultEvent extends CompareResultJson {
  type: 'result';
}

export interface RunEndEvent {
  type: 'run-end';
  status: 'done';
  wallMs: number;
}

export interface RunCancelledEvent {
  type: 'run-cancelled';
  reason: string;
  wallMs: number;
  /** Trainings that finished before the cancel. */
  finished: number;
}

export interface RunFailedEvent {
  type: 'run-failed';
  error: string;
  wallMs: number;
}

export type CompareEvent =
  | RunStartEvent
  | RunResumeEvent
  | CompareStartEvent
  | CompareResumeEvent
  | BackendEvent
  | SeedStartEvent
  | EpochEvent
  | SeedEndEvent
  | ResultEvent
  | TuneEndEvent
  | LrChosenEvent
  | QueueWorkersEvent
  | RunEndEvent
  | RunCancelledEvent
  | RunFailedEvent;

export type CompareStatus = 'running' | 'done' | 'cancelled' | 'failed';

/** summary.json's `metrics` of a GAN run. */
export interface GanMetricsInfoJson {
  primary: 'fd';
  secondary: 'genAccuracy';
  perClass: 'perClassAccuracy';
  note: string;
}

/**
 * summary.json's `metrics` of a segmentation run: the primary metric (verdicts, testAccuracy),
 * the others reported beside it, which of them improve downwards, and what they are in words.
 */
export interface SegMetricsInfoJson {
  primary: 'dice';
  secondary: ['iou', 'hd95'];
  lowerIsBetter: ['hd95'];
  note: string;
}

/** summary.json of a compare run (the run store adds id, kind and created). */
export interface CompareSummary {
  id?: string;
  created?: string;
  kind: 'compare';
  /**
   * 'gan' for GAN comparisons (results carry `gan`, vsBaseline compares FD); 'segmentation' for
   * segmentation comparisons (results carry `seg`, vsBaseline compares Dice); absent: classification.
   */
  task?: 'gan' | 'segmentation';
  /**
   * GAN runs: the metrics, in words (FD is in the digit classifier's feature space, not Inception
   * FID). Segmentation runs: Dice the primary (higher is better), IoU and HD95 (lower is better) beside it.
   */
  metrics?: GanMetricsInfoJson | SegMetricsInfoJson;
  /** GAN runs: the networks' and metrics' settings (config.gan). */
  gan?: GanSettingsJson;
  /** Segmentation runs: the data's and the U-Net's settings (config.seg). */
  seg?: SegSettingsJson;
  status: CompareStatus;
  /** The backend the trainings ran on (the first reported; see backends for all). */
  backend: BackendJson | null;
  backends: BackendJson[];
  /** Label of the baseline loss. */
  baseline: string;
  /** One per loss (baseline included, first) x augmentation. */
  results: CompareResultJson[];
  /** Segmentation runs add the images' size and the mean foreground fraction of the training masks. */
  dataset: CompareConfigJson['dataset'] & { name?: string; train?: number; val?: number; test?: number; classes?: number; height?: number; width?: number; foreground?: number };
  model: CompareConfigJson['model'];
  augmentations: string[];
  seeds: number[];
  epochs: number;
  /** Trainings finished / in the grid. */
  finished: number;
  jobs: number;
  wallMs: number;
  /** Per-epoch histories are in this file of the run folder (epoch events). */
  events: 'events.jsonl';
  /** Learning-rate tuning: the grid, the tuning seeds and each loss's choice per augmentation. */
  tuning?: { grid: number[]; seeds: number[]; choices: LrChoiceJson[]; finished: number; jobs: number };
  error?: string;
}
