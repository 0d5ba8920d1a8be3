/** In-memory datasets as plain typed arrays (never tensors: they cross process boundaries). */
export interface Split {
  /** Images, NHWC, float32 in [0, 1], length n*h*w*c. */
  x: Float32Array;
  /** Class index per image. */
  labels: Int32Array;
  n: number;
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
}
