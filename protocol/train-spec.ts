/**
 * How to train one network: the model, optimiser, schedule and SAM of a training task. Shared
 * by the compute interface (engine/src/compute), the tfjs engine's training loop and the torch
 * runner's task (torch-task.ts), so each fact is written once.
 */

export type ModelKind = 'mlp' | 'convnet' | 'resnet9' | 'lenet' | 'wrn-16-4' | 'wrn-28-10' | 'resnet18' | 'torchvision' | 'dcgan';

export interface ModelSpec {
  /** mlp, convnet, resnet9, lenet on every engine; wrn-16-4, wrn-28-10, resnet18, torchvision on torch; dcgan: a GAN comparison's networks (not a classifier). */
  kind: ModelKind;
  /** Multiplies every layer's width (filters / hidden units); default 1. */
  width?: number;
  /** MLP hidden sizes before the width multiplier; default [256]. */
  hidden?: number[];
  /** Batch-norm moving-average momentum (Keras default 0.99; lower for short runs). */
  bnMomentum?: number;
  /** torchvision: the model's constructor name, e.g. 'efficientnet_v2_s', 'resnet50'. */
  arch?: string;
  /** Checkpoint file to start from (torch engine; the head is replaced to fit the classes). */
  init?: string;
}

export interface AdamConfig {
  kind: 'adam';
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
}

export interface SgdConfig {
  kind: 'sgd';
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export type OptimizerConfig = AdamConfig | SgdConfig;

/** SAM / ASAM; with a task's perturbLossName, AACE-style perturbation by that loss. */
export interface SamSpec {
  /** Perturbation radius (SAM default 0.05; ASAM 2.0; AACE 0.2). */
  rho: number;
  /** ASAM: eps = rho * w^2 * g / || |w| * g ||. */
  adaptive?: boolean;
  /** Divide by the gradient norm. Default: true without a perturbation loss, false with it. */
  normalize?: boolean;
}

/** How to train: everything but the loss, the data and the augmentation. */
export interface TrainSpec {
  model: ModelSpec;
  optimizer?: OptimizerConfig;
  /** Peak learning rate (default 1e-3). */
  lr?: number;
  /** Fraction of all steps spent in linear warm-up (default 0.1), then cosine decay to 0. */
  warmup?: number;
  /** 'cosine' (default) or 'constant' after warm-up. */
  schedule?: 'cosine' | 'constant';
  batchSize?: number;
  epochs: number;
  stepsPerEpoch?: number;
  /** Validate on only the first maxVal validation examples. */
  maxVal?: number;
  seed: number;
  sam?: SamSpec;
  /** Stop when the epoch's training accuracy is under minTrainAcc after `afterEpochs` epochs. */
  earlyStop?: { minTrainAcc: number; afterEpochs: number };
  /** Which weights the test accuracy uses: the best-validation epoch's (default) or final. */
  testWith?: 'best' | 'final';
}

/** One finished epoch of a training (validation accuracy on the first maxVal examples). */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAcc: number;
  valAcc: number;
  lr: number;
  ms: number;
}

/** How one training ended, as every engine reports it. */
export interface TrainOutcome {
  status: 'completed' | 'nan' | 'early-stopped' | 'cancelled';
  /** Finished epochs only. */
  history: EpochRecord[];
  /** null when no epoch finished. */
  bestValAcc: number | null;
  bestEpoch: number;
  /** Test accuracy of the weights `testWeights` names; null when cancelled or nothing was worth testing. */
  testAcc: number | null;
  testWeights: 'best' | 'final';
  steps: number;
  wallMs: number;
  /** Dataset name and sizes the training saw. */
  dataset: { name: string; train: number; val: number; test: number; classes: number };
  /** Why it did not complete, in words. */
  reason?: string;
}
