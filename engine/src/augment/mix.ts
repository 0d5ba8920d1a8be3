/**
 * Batch-mixing augmentations with soft targets: mixup and cutmix. As in the authors' reference
 * implementations (facebookresearch/mixup-cifar10, clovaai/CutMix-PyTorch), one lambda (and for
 * cutmix one box) is drawn per batch and every sample is mixed with the sample at the same
 * position of a random permutation of the batch (a sample may be paired with itself).
 */
import type { Rng } from '../rng';
import type { Augment, Batch } from './types';
import { checkBatch } from './basic';

/** Uniformly random permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  rng.shuffle(p);
  return p;
}

function mixTargets(batch: Batch, perm: Int32Array, lam: number): Float32Array {
  const C = batch.numClasses;
  const y = new Float32Array(batch.y.length);
  for (let i = 0; i < batch.n; i++) {
    const j = perm[i];
    for (let k = 0; k < C; k++) y[i * C + k] = lam * batch.y[i * C + k] + (1 - lam) * batch.y[j * C + k];
  }
  return y;
}

export interface MixInfo {
  lambda: number;
  perm: Int32Array;
}

/**
 * mixup (Zhang et al. 2018): lambda ~ Beta(alpha, alpha); x_i' = lambda x_i + (1-lambda) x_perm(i),
 * y_i' likewise. Default alpha = 1 (lambda uniform on [0, 1]), the paper's CIFAR-10 setting.
 * Draws: lambda (two gamma variates), then the permutation. `onMix` receives what was drawn.
 */
export function mixup(alpha = 1, onMix?: (info: MixInfo) => void): Augment {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`mixup: alpha must be a finite number > 0, got ${alpha}`);
  return (batch, rng) => {
    checkBatch(batch);
    if (batch.n === 0) return batch;
    const lam = rng.beta(alpha, alpha);
    const perm = permutation(batch.n, rng);
    const ppi = batch.shape[0] * batch.shape[1] * batch.shape[2];
    const x = new Float32Array(batch.x.length);
    for (let i = 0; i < batch.n; i++) {
      const a = i * ppi;
      const b = perm[i] * ppi;
      for (let k = 0; k < ppi; k++) x[a + k] = lam * batch.x[a + k] + (1 - lam) * batch.x[b + k];
    }
    onMix?.({ lambda: lam, perm });
    return { ...batch, x, y: mixTargets(batch, perm, lam) };
  };
}

export interface CutmixBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The CutMix box for a drawn lambda and centre, exactly as the reference rand_bbox:
 * cut side = floor(side * sqrt(1 - lambda)), box [c - floor(cut/2), c + floor(cut/2)) clipped.
 */
export function cutmixBox(h: number, w: number, lam: number, cx: number, cy: number): CutmixBox {
  const r = Math.sqrt(1 - lam);
  const cw = Math.floor(w * r);
  const ch = Math.floor(h * r);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return {
    x0: clip(cx - Math.floor(cw / 2), w),
    x1: clip(cx + Math.floor(cw / 2), w),
    y0: clip(cy - Math.floor(ch / 2), h),
    y1: clip(cy + Math.floor(ch / 2), h),
  };
}

export interface CutmixInfo extends MixInfo {
  box: CutmixBox;
  /** The target weight actually used: 1 - (pasted area) / (image area). */
  lambdaAdjusted: number;
}

/**
 * CutMix (Yun et al. 2019): lambda ~ Beta(alpha, alpha) (default alpha = 1, i.e. uniform), a box
 * of area about (1 - lambda) of the image at a uniformly random centre is pasted from the
 * permuted partner; targets are mixed by the area actually pasted (after clipping), so
 * y' = lam_adj y + (1 - lam_adj) y_perm with lam_adj = 1 - box area / image area.
 * Applied to a batch with probability `prob` (default 1; the reference CIFAR runs used 0.5).
 * Draws: apply-or-not (uniform), lambda, permutation, centre row, centre column.
 */
export function cutmix(alpha = 1, prob = 1, onMix?: (info: CutmixInfo | null) => void): Augment {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`cutmix: alpha must be a finite number > 0, got ${alpha}`);
  if (!(prob >= 0 && prob <= 1)) throw new Error(`cutmix: probability must be in [0, 1], got ${prob}`);
  return (batch, rng) => {
    checkBatch(batch);
    if (batch.n === 0) return batch;
    if (!(rng.next() < prob)) {
      onMix?.(null);
      return batch;
    }
    const lam = rng.beta(alpha, alpha);
    const perm = permutation(batch.n, rng);
    const [h, w, c] = batch.shape;
    const cy = rng.int(h);
    const cx = rng.int(w);
    const box = cutmixBox(h, w, lam, cx, cy);
    const ppi = h * w * c;
    const x = Float32Array.from(batch.x);
    for (let i = 0; i < batch.n; i++) {
      const a = i * ppi;
      const b = perm[i] * ppi;
      for (let yy = box.y0; yy < box.y1; yy++) {
        const o = (yy * w + box.x0) * c;
        x.set(batch.x.subarray(b + o, b + o + (box.x1 - box.x0) * c), a + o);
      }
    }
    const lamAdj = 1 - ((box.x1 - box.x0) * (box.y1 - box.y0)) / (h * w);
    onMix?.({ lambda: lam, perm, box, lambdaAdjusted: lamAdj });
    return { ...batch, x, y: mixTargets(batch, perm, lamAdj) };
  };
}
