/**
 * Per-sample augmentations that keep the targets: none, flipcrop, cutout.
 * Augmentations never mutate their input batch; targets that do not change are shared (the
 * returned batch's `y` is the input's `y`), so treat batches as read-only.
 */
import type { Rng } from '../rng';
import type { Augment, Batch } from './types';
import { flipHorizontal, padCrop, zeroRect, type ImageShape } from './image';

/** Throws if the batch's arrays do not match n, shape and numClasses. */
export function checkBatch(batch: Batch): void {
  const [h, w, c] = batch.shape;
  if (batch.x.length !== batch.n * h * w * c) {
    throw new Error(`batch: x has ${batch.x.length} values, expected n*h*w*c = ${batch.n}*${h}*${w}*${c}`);
  }
  if (batch.y.length !== batch.n * batch.numClasses) {
    throw new Error(`batch: y has ${batch.y.length} values, expected n*numClasses = ${batch.n}*${batch.numClasses}`);
  }
}

/** Applies `f` to each image of the batch (in order, so Rng draws are sample-ordered). */
export function mapImages(batch: Batch, rng: Rng, f: (img: Float32Array, shape: ImageShape, rng: Rng) => Float32Array): Batch {
  checkBatch(batch);
  const [h, w, c] = batch.shape;
  const ppi = h * w * c;
  const x = new Float32Array(batch.x.length);
  const shape = { h, w, c };
  for (let i = 0; i < batch.n; i++) x.set(f(batch.x.subarray(i * ppi, (i + 1) * ppi), shape, rng), i * ppi);
  return { ...batch, x };
}

/** The identity: returns its input batch itself. */
export const none: Augment = (batch) => batch;

/**
 * Random horizontal flip (probability 1/2) then a random crop of the image zero-padded by
 * `pad` pixels on each side (offsets uniform in [0, 2*pad] on each axis), the standard CIFAR
 * augmentation (He et al. 2016). Draws per sample, in order: flip, row offset, column offset.
 */
export function flipcrop(pad = 4, flip = true): Augment {
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`flipcrop: padding must be an integer >= 0, got ${pad}`);
  return (batch, rng) =>
    mapImages(batch, rng, (img, shape, r) => {
      const doFlip = r.next() < 0.5;
      const oy = r.int(2 * pad + 1);
      const ox = r.int(2 * pad + 1);
      const src = flip && doFlip ? flipHorizontal(img, shape) : img;
      return padCrop(src, shape, pad, ox, oy);
    });
}

/** Default cutout patch side: half the shorter image side, rounded (16 for 32x32 as in DeVries & Taylor 2017 on CIFAR-10; 14 for 28x28). */
export function defaultCutoutSize(h: number, w: number): number {
  return Math.max(1, Math.round(Math.min(h, w) / 2));
}

/**
 * Cutout (DeVries & Taylor 2017): one size x size square, centred on a uniformly random pixel
 * (rows [cy - floor(size/2), cy - floor(size/2) + size), clipped at the borders, so the patch can
 * be partly outside), is set to 0 in every channel. Our images are unnormalised [0, 1], so 0
 * is black (the original zeroes normalised images, i.e. fills with the mean colour).
 * Draws per sample: centre row, centre column. `size` undefined = defaultCutoutSize.
 */
export function cutout(size?: number): Augment {
  if (size !== undefined && (!Number.isInteger(size) || size < 1)) throw new Error(`cutout: size must be a positive integer, got ${size}`);
  return (batch, rng) => {
    const s = size ?? defaultCutoutSize(batch.shape[0], batch.shape[1]);
    return mapImages(batch, rng, (img, shape, r) => {
      const cy = r.int(shape.h);
      const cx = r.int(shape.w);
      const y0 = cy - Math.floor(s / 2);
      const x0 = cx - Math.floor(s / 2);
      return zeroRect(img, shape, x0, y0, x0 + s, y0 + s);
    });
  };
}
