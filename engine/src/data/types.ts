/** In-memory datasets as plain typed arrays (never tensors: they cross process boundaries). */
export interface Split {
  /** Images, NHWC, float32 in [0, 1], length n*h*w*c. */
  x: Float32Array;
  /** Class index per image. */
  labels: Int32Array;
  n: number;
  /**
   * Present only when label noise was injected into this split: the original label of each
   * sample (same order as `labels`), so that memorisation of noisy labels can be measured.
   */
  cleanLabels?: Int32Array;
}

/** Where a dataset came from and what was done to it (for run records and honest reporting). */
export interface DatasetInfo {
  /** 'mnist-embedded' | 'idx' | 'cifar10' | 'cifar100' */
  format: string;
  /** Folder or package the files were read from. */
  source: string;
  /** How train/val/test were formed, in words (e.g. "stratified 70/10/20, seed 20240611"). */
  split: string;
  /** Per-class sample counts of the (possibly subset/imbalanced) training split, by true (pre-noise) label. */
  trainClassCounts: number[];
  /** Training-split transformations applied, in order, e.g. ["maxTrain 1000", "labelNoise 0.2"]. */
  transforms: string[];
}

export interface Dataset {
  name: string;
  /** [height, width, channels] */
  shape: [number, number, number];
  numClasses: number;
  classNames?: string[];
  train: Split;
  val: Split;
  test: Split;
  info?: DatasetInfo;
}
