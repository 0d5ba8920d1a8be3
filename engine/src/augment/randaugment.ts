/**
 * RandAugment (Cubuk et al. 2020): for every image, N operations drawn uniformly (with
 * replacement) from the list below, each applied with the shared magnitude M.
 *
 * Magnitude scale: M in [0, 10], strength m = M/10 of each operation's maximum, as in the
 * paper and its official TensorFlow code (and timm). (torchvision divides by 30 instead, so its
 * "magnitude 9" is a third as strong as ours.) Defaults N = 2, M = 9, the paper's ImageNet
 * ResNet-50 setting and the usual library default; the paper used N = 3, M = 4-5 for
 * Wide-ResNets on CIFAR-10, which suits small images: pass 'randaugment:3:5'.
 *
 * Maxima (at m = 1; signed ones get a random sign): rotate 30 degrees, shear 0.3, translate
 * 45% of the side (rounded to whole pixels), brightness/contrast/sharpness factor 1 +/- 0.9,
 * solarize threshold 256 -> 0 (8-bit levels), posterize 8 -> 4 bits; identity, autocontrast
 * and equalize have no magnitude. The "increasing" variants are used throughout (larger M is
 * always a stronger distortion). Colour-only ops ('color') are left out so the list means the
 * same on grayscale and RGB images.
 */
import type { Rng } from '../rng';
import type { Augment } from './types';
import { mapImages } from './basic';
import * as I from './image';

type Op = (img: Float32Array, shape: I.ImageShape, m: number, sign: number) => Float32Array;

export const RANDAUGMENT_OPS: ReadonlyArray<{ name: string; signed: boolean; apply: Op }> = [
  { name: 'identity', signed: false, apply: (img) => img },
  { name: 'rotate', signed: true, apply: (img, s, m, sg) => I.rotate(img, s, sg * 30 * m) },
  { name: 'shearX', signed: true, apply: (img, s, m, sg) => I.shearX(img, s, sg * 0.3 * m) },
  { name: 'shearY', signed: true, apply: (img, s, m, sg) => I.shearY(img, s, sg * 0.3 * m) },
  { name: 'translateX', signed: true, apply: (img, s, m, sg) => I.translate(img, s, sg * Math.round(0.45 * m * s.w), 0) },
  { name: 'translateY', signed: true, apply: (img, s, m, sg) => I.translate(img, s, 0, sg * Math.round(0.45 * m * s.h)) },
  { name: 'brightness', signed: true, apply: (img, s, m, sg) => I.brightness(img, s, 1 + sg * 0.9 * m) },
  { name: 'contrast', signed: true, apply: (img, s, m, sg) => I.contrast(img, s, 1 + sg * 0.9 * m) },
  { name: 'sharpness', signed: true, apply: (img, s, m, sg) => I.sharpness(img, s, 1 + sg * 0.9 * m) },
  { name: 'solarize', signed: false, apply: (img, s, m) => I.solarize(img, s, 256 * (1 - m)) },
  { name: 'posterize', signed: false, apply: (img, s, m) => I.posterize(img, s, 8 - Math.round(4 * m)) },
  { name: 'autocontrast', signed: false, apply: (img, s) => I.autocontrast(img, s) },
  { name: 'equalize', signed: false, apply: (img, s) => I.equalize(img, s) },
];

/**
 * RandAugment with N ops per image at magnitude M (see the module comment). Draws per image,
 * per op: op index (uniform), then for signed ops a sign (negative if next() < 0.5).
 * `onOps` (for tests and logging) receives the op names chosen for each image.
 */
export function randaugment(n = 2, magnitude = 9, onOps?: (sample: number, ops: string[]) => void): Augment {
  if (!Number.isInteger(n) || n < 0) throw new Error(`randaugment: N (number of ops) must be an integer >= 0, got ${n}`);
  if (!(magnitude >= 0 && magnitude <= 10)) throw new Error(`randaugment: magnitude M must be in [0, 10] (M/10 of each op's maximum), got ${magnitude}`);
  const m = magnitude / 10;
  return (batch, rng: Rng) => {
    let sample = 0;
    return mapImages(batch, rng, (img, shape, r) => {
      let out = img;
      const names: string[] = [];
      for (let k = 0; k < n; k++) {
        const op = RANDAUGMENT_OPS[r.int(RANDAUGMENT_OPS.length)];
        const sign = op.signed ? (r.next() < 0.5 ? -1 : 1) : 1;
        out = op.apply(out, shape, m, sign);
        names.push(op.name);
      }
      onOps?.(sample++, names);
      return out;
    });
  };
}
