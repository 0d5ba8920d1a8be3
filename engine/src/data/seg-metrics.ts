/**
 * Segmentation metrics of predicted vs target label maps (n*H*W class indices, 0 =
 * background), over the foreground classes 1..C-1 only: Dice, IoU (Jaccard) and the 95th
 * percentile Hausdorff distance (hd95, in pixels, as MedPy's `medpy.metric.binary.hd95`).
 *
 * Each metric is computed per image and foreground class, averaged over the classes of the
 * image, then over the images (the usual "mean per image" reporting of medical segmentation,
 * where one large image does not outweigh many small lesions).
 */
import { distanceTransform } from './segmentation';

export interface SegImageMetrics {
  /** Mean over foreground classes of 2|P∩T| / (|P| + |T|) (1 when both are empty). */
  dice: number;
  /** Mean over foreground classes of |P∩T| / |P∪T| (1 when both are empty). */
  iou: number;
  /** Mean over foreground classes of hd95 (see `hd95`), in pixels. */
  hd95: number;
}

export interface SegMetrics extends SegImageMetrics {
  /** The same metrics for each image, in order. */
  perImage: SegImageMetrics[];
}

/**
 * The boundary of a binary region of an H x W image: its pixels that have a 4-neighbour outside
 * the region or lie on the image edge (MedPy: region XOR its erosion by the cross-shaped
 * structuring element, with the outside of the image counted as background).
 */
export function regionBoundary(region: ArrayLike<number>, H: number, W: number): Uint8Array {
  const out = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (!region[i]) continue;
      if (y === 0 || y === H - 1 || x === 0 || x === W - 1 || !region[i - W] || !region[i + W] || !region[i - 1] || !region[i + 1]) out[i] = 1;
    }
  }
  return out;
}

/** numpy.percentile's default (linear interpolation between the closest ranks) of sorted values. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The 95th percentile symmetric Hausdorff distance, in pixels, between two binary regions of an
 * H x W image, as MedPy's `hd95`: the distances of each boundary pixel of A to the nearest
 * boundary pixel of B, and of each boundary pixel of B to the nearest of A, pooled, and their
 * 95th percentile (numpy's linear interpolation). Both regions empty: 0. One empty and the
 * other not (where MedPy raises an error): the image diagonal sqrt(H^2 + W^2), larger than
 * any distance two pixels of the image can have, so a missed or hallucinated region costs
 * more than any misplaced one.
 */
export function hd95(a: ArrayLike<number>, b: ArrayLike<number>, H: number, W: number): number {
  let na = 0;
  let nb = 0;
  for (let i = 0; i < H * W; i++) {
    if (a[i]) na++;
    if (b[i]) nb++;
  }
  if (na === 0 && nb === 0) return 0;
  if (na === 0 || nb === 0) return Math.hypot(H, W);
  const ba = regionBoundary(a, H, W);
  const bb = regionBoundary(b, H, W);
  // Distance to the other boundary: the EDT of its complement.
  const notBa = new Uint8Array(H * W);
  const notBb = new Uint8Array(H * W);
  for (let i = 0; i < H * W; i++) {
    notBa[i] = 1 - ba[i];
    notBb[i] = 1 - bb[i];
  }
  const toA = distanceTransform(notBa, H, W);
  const toB = distanceTransform(notBb, H, W);
  const d: number[] = [];
  for (let i = 0; i < H * W; i++) if (ba[i]) d.push(toB[i]);
  for (let i = 0; i < H * W; i++) if (bb[i]) d.push(toA[i]);
  const sorted = Float64Array.from(d).sort();
  return percentileSorted(sorted, 95);
}

/**
 * Dice, IoU and hd95 of `pred` against `target` (both n*H*W class indices in 0..C-1), over the
 * foreground classes 1..C-1: per image and class, then the mean over classes per image, then
 * the mean over images (NaN when n = 0). Dice and IoU are 1 when a class is absent from both maps and 0 when it
 * is absent from one only; hd95 is 0 and the image diagonal in those cases (see `hd95`).
 */
export function segMetrics(pred: Int32Array, target: Int32Array, n: number, H: number, W: number, C: number): SegMetrics {
  const px = H * W;
  if (!(Number.isInteger(C) && C >= 2)) throw new Error(`segMetrics: C must be >= 2 (background and at least one foreground class), got ${C}`);
  if (pred.length !== n * px || target.length !== n * px) {
    throw new Error(`segMetrics: pred has ${pred.length} and target ${target.length} values, expected n*H*W = ${n * px}`);
  }
  const perImage: SegImageMetrics[] = [];
  const inter = new Float64Array(C);
  const np = new Float64Array(C);
  const nt = new Float64Array(C);
  const a = new Uint8Array(px);
  const b = new Uint8Array(px);
  for (let i = 0; i < n; i++) {
    inter.fill(0);
    np.fill(0);
    nt.fill(0);
    for (let p = i * px; p < (i + 1) * px; p++) {
      const u = pred[p];
      const v = target[p];
      if (!(u >= 0 && u < C && v >= 0 && v < C)) {
        throw new Error(`segMetrics: image ${i} pixel ${p - i * px} has class ${u} (pred) / ${v} (target), expected 0..${C - 1}`);
      }
      np[u]++;
      nt[v]++;
      if (u === v) inter[u]++;
    }
    let dice = 0;
    let iou = 0;
    let hd = 0;
    for (let c = 1; c < C; c++) {
      if (np[c] === 0 && nt[c] === 0) {
        dice += 1;
        iou += 1;
        continue;
      }
      dice += (2 * inter[c]) / (np[c] + nt[c]);
      iou += inter[c] / (np[c] + nt[c] - inter[c]);
      for (let p = 0; p < px; p++) {
        a[p] = pred[i * px + p] === c ? 1 : 0;
        b[p] = target[i * px + p] === c ? 1 : 0;
      }
      hd += hd95(a, b, H, W);
    }
    const k = C - 1;
    perImage.push({ dice: dice / k, iou: iou / k, hd95: hd / k });
  }
  const mean = (f: (m: SegImageMetrics) => number) => (n === 0 ? NaN : perImage.reduce((s, m) => s + f(m), 0) / n);
  return { dice: mean((m) => m.dice), iou: mean((m) => m.iou), hd95: mean((m) => m.hd95), perImage };
}
