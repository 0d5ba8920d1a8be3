import type { Rng } from '../rng';

/**
 * A batch augmentation: takes a batch (NHWC float32 images and per-sample target
 * distributions, both plain arrays) and returns a new batch of the same shape. Mixup and
 * cutmix return soft targets. Deterministic given the Rng's state.
 */
export interface Batch {
  x: Float32Array;
  /** Targets, n * numClasses, rows sum to 1. */
  y: Float32Array;
  n: number;
  shape: [number, number, number];
  numClasses: number;
}

export type Augment = (batch: Batch, rng: Rng) => Batch;
