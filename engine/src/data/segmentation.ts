/**
 * Segmentation data: images with a class index per pixel, for losses beyond classification
 * (Dice, Tversky, focal, boundary losses on unbalanced masks).
 *
 * - `digitsInClutter`: the built-in task, made from the embedded real MNIST digits (see
 *   mnist.ts): one downscaled target digit to segment on a canvas littered with fragments of
 *   other digits. Binary and unbalanced (the digit is a few percent of the pixels), the regime
 *   where the choice of segmentation loss matters.
 * - `loadSegmentationFolder`: users' own data, PNG images and PNG masks of the same names.
 * - `signedDistanceMaps`: the per-class signed distance maps of the boundary loss (Kervadec et
 *   al., MIDL 2019), on an exact linear-time Euclidean distance transform.
 * - `loadSegmentation(spec)`: one entry point, a built-in name or a folder.
 *
 * Everything is plain typed arrays (NHWC images, NHW masks), like the classification datasets.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import { Rng } from '../rng';
import { loadEmbeddedMnist } from './mnist';

/** One split of a segmentation dataset. */
export interface SegSplit {
  n: number;
  /** Images, NHWC, float32 in [0, 1], row-major, length n*H*W*channels. */
  images: Float32Array;
  /** Class index per pixel (0 = background), length n*H*W. */
  masks: Int32Array;
  /**
   * digits-clutter only: the index of each image's target digit among the 10,000 embedded
   * MNIST digits, numbered in the order train, val, test of the embedded split (see
   * `digitsInClutter`), so that the provenance of every image can be checked.
   */
  sources?: Int32Array;
}

export interface SegDataset {
  name: string;
  height: number;
  width: number;
  channels: number;
  /** Number of classes C, background (class 0) included. */
  classes: number;
  classNames: string[];
  train: SegSplit;
  val: SegSplit;
  test: SegSplit;
  /** What the data is and how it was split, in words (for run records). */
  description: string;
}

// ---------------------------------------------------------------------------------------------
// digits-clutter
// ---------------------------------------------------------------------------------------------

/** Side of the downscaled target digit (2x2 average pooling of the 28x28 MNIST digit). */
export const CLUTTER_DIGIT_SIDE = 14;
/** Downscaled ink at or above which a target pixel is foreground. */
export const CLUTTER_INK_THRESHOLD = 0.35;

export interface DigitsInClutterOptions {
  train: number;
  val: number;
  test: number;
  seed: number;
  /** Canvas side in pixels (default 40, at least 14). */
  size?: number;
}

/** 2x2 average pooling of the 28x28 digit at `offset` of `x` into `out` (14x14). */
function downscaleDigit(x: Float32Array, offset: number, out: Float32Array): void {
  for (let y = 0; y < 14; y++) {
    for (let c = 0; c < 14; c++) {
      const p = offset + 2 * y * 28 + 2 * c;
      out[y * 14 + c] = (x[p] + x[p + 1] + x[p + 28] + x[p + 29]) / 4;
    }
  }
}

/** Number of crop positions tried per clutter fragment before one with little ink is kept. */
const CROP_TRIES = 8;

/**
 * Renders one split of digits-clutter from the MNIST digits `pool` (28x28 each, `poolN` of them,
 * numbered from `firstIndex` among the 10,000). Targets cycle through a shuffled order of the
 * pool, so every digit is a target once before any is a target twice; clutter comes from the
 * same pool (never the image's own target), so no source digit is shared between splits.
 */
function renderClutterSplit(pool: Float32Array, poolN: number, firstIndex: number, n: number, size: number, rng: Rng): SegSplit {
  const S = size;
  const D = CLUTTER_DIGIT_SIDE;
  const images = new Float32Array(n * S * S);
  const masks = new Int32Array(n * S * S);
  const sources = new Int32Array(n);
  const small = new Float32Array(D * D);
  const order = new Int32Array(poolN);
  for (let i = 0; i < n; i++) {
    if (i % poolN === 0) {
      for (let k = 0; k < poolN; k++) order[k] = k;
      rng.shuffle(order);
    }
    const t = order[i % poolN];
    sources[i] = firstIndex + t;
    const base = i * S * S;
    // The target: downscaled, at a random position; its strong ink is the mask.
    downscaleDigit(pool, t * 784, small);
    const ty = rng.int(S - D + 1);
    const tx = rng.int(S - D + 1);
    for (let y = 0; y < D; y++) {
      for (let c = 0; c < D; c++) {
        const v = small[y * D + c];
        const p = base + (ty + y) * S + tx + c;
        images[p] = v;
        if (v >= CLUTTER_INK_THRESHOLD) masks[p] = 1;
      }
    }
    // Clutter: 3 to 5 full-resolution crops of other digits (thicker strokes than the target),
    // merged by pixelwise max; they stay background in the mask, even over the target.
    const fragments = 3 + rng.int(3);
    for (let f = 0; f < fragments; f++) {
      let src = rng.int(poolN - 1);
      if (src >= t) src++;
      const side = 7 + rng.int(4);
      // Crops of MNIST's empty margins are pointless clutter: retry a few positions until the
      // crop holds at least `side` pixels' worth of ink (a stroke across it).
      let oy = 0;
      let ox = 0;
      for (let tries = 0; tries < CROP_TRIES; tries++) {
        oy = rng.int(28 - side + 1);
        ox = rng.int(28 - side + 1);
        let ink = 0;
        for (let y = 0; y < side; y++) for (let c = 0; c < side; c++) ink += pool[src * 784 + (oy + y) * 28 + ox + c];
        if (ink >= side) break;
      }
      const py = rng.int(S - side + 1);
      const px = rng.int(S - side + 1);
      for (let y = 0; y < side; y++) {
        for (let c = 0; c < side; c++) {
          const v = pool[src * 784 + (oy + y) * 28 + ox + c];
          const p = base + (py + y) * S + px + c;
          if (v > images[p]) images[p] = v;
        }
      }
    }
  }
  return { n, images, masks, sources };
}

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new Error(`digits-clutter: ${name} must be a whole number >= 0, got ${v}`);
}

/**
 * The built-in segmentation task: on a `size`x`size` canvas (default 40), one real MNIST digit
 * downscaled to 14x14 (2x2 average pooling) at a random position, plus 3 to 5 random 7x7 to
 * 10x10 crops of other digits, not downscaled (so their strokes are about twice as thick),
 * pasted at random positions by pixelwise max. The mask is 1 where the target's downscaled
 * ink is >= 0.35 (also where clutter overlaps it), 0 elsewhere (clutter included): the network
 * must tell the thin whole digit from thick fragments, and the digit is about 2% of the
 * pixels of a 40x40 canvas.
 *
 * Source digits: the 10,000 embedded MNIST digits numbered in the order of the embedded split
 * (its 7,001 train digits, then its 999 val digits, then its 2,000 test digits); each split of
 * this dataset draws targets and clutter only from the matching part, so no digit appears in
 * two splits. Deterministic for a given seed (each split has its own stream).
 */
export function digitsInClutter(opts: DigitsInClutterOptions): SegDataset {
  const size = opts.size ?? 40;
  if (!Number.isInteger(size) || size < CLUTTER_DIGIT_SIDE) {
    throw new Error(`digits-clutter: size must be a whole number >= ${CLUTTER_DIGIT_SIDE} (the target digit's side), got ${size}`);
  }
  checkCount('train', opts.train);
  checkCount('val', opts.val);
  checkCount('test', opts.test);
  const mnist = loadEmbeddedMnist();
  const parts = { train: mnist.train, val: mnist.val, test: mnist.test };
  const first = { train: 0, val: mnist.train.n, test: mnist.train.n + mnist.val.n };
  const split = (name: 'train' | 'val' | 'test'): SegSplit =>
    renderClutterSplit(parts[name].x, parts[name].n, first[name], opts[name], size, Rng.derive(opts.seed, 'digits-clutter', name));
  const train = split('train');
  const val = split('val');
  const test = split('test');
  let fg = 0;
  for (let i = 0; i < train.masks.length; i++) fg += train.masks[i];
  const fraction = train.masks.length > 0 ? ` (${((100 * fg) / train.masks.length).toFixed(1)}% of the training pixels)` : '';
  return {
    name: 'digits-clutter',
    height: size,
    width: size,
    channels: 1,
    classes: 2,
    classNames: ['background', 'digit'],
    train,
    val,
    test,
    description:
      `digits-clutter: ${size}x${size} canvases, one real MNIST digit downscaled to 14x14 to segment among 3-5 full-size ` +
      `fragments of other digits; binary, foreground = target ink >= ${CLUTTER_INK_THRESHOLD}${fraction}; ` +
      `train ${train.n} / val ${val.n} / test ${test.n} images from the embedded MNIST train / val / test digits, seed ${opts.seed}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Folders of PNG images and masks
// ---------------------------------------------------------------------------------------------

export interface SegFolderOptions {
  /** Seed of the train/val/test split of a folder without train/ val/ test/ subfolders. */
  seed: number;
  /** Fraction of the images held out for val, and again for test, when they are not given (default 0.1). */
  valFraction?: number;
}

const LAYOUT_HINT = 'expected <dir>/images/*.png and <dir>/masks/*.png, or train/ (val/, test/) subfolders holding images/ and masks/';
const OTHER_IMAGE_EXT = /\.(jpe?g|bmp|gif|webp|tiff?)$/i;

interface PairFiles {
  name: string;
  image: string;
  mask: string;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The PNG files of a folder by base name; other image formats are an error (only PNG is read). */
function pngFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, f);
    if (OTHER_IMAGE_EXT.test(f)) throw new Error(`${p}: only PNG images and masks are read; convert it to PNG`);
    if (/\.png$/i.test(f) && !isDir(p)) out.set(f.slice(0, -4), p);
  }
  return out;
}

/** The image/mask pairs of a folder holding images/ and masks/ (sorted by name). */
function listPairs(dir: string): PairFiles[] {
  const imagesDir = path.join(dir, 'images');
  const masksDir = path.join(dir, 'masks');
  if (!isDir(imagesDir)) throw new Error(`${dir}: no images/ folder (${LAYOUT_HINT})`);
  if (!isDir(masksDir)) throw new Error(`${dir}: no masks/ folder (${LAYOUT_HINT})`);
  const images = pngFiles(imagesDir);
  const masks = pngFiles(masksDir);
  if (images.size === 0) throw new Error(`${imagesDir}: no PNG images`);
  const pairs: PairFiles[] = [];
  for (const [name, image] of images) {
    const mask = masks.get(name);
    if (!mask) throw new Error(`${image}: image without a mask (expected ${path.join(masksDir, name + '.png')})`);
    pairs.push({ name, image, mask });
  }
  for (const [name, mask] of masks) {
    if (!images.has(name)) throw new Error(`${mask}: mask without an image (expected ${path.join(imagesDir, name + '.png')})`);
  }
  return pairs;
}

/**
 * What pngjs returns: RGBA samples (Uint16Array for 16-bit files read with skipRescale) and the
 * header; `palette` holds the [r, g, b, a] entries of a palette PNG (colour type 3), which
 * @types/pngjs leaves out.
 */
type DecodedPng = PNG & { depth: number; colorType: number; palette?: unknown };

/** Decodes a PNG file; skipRescale keeps 1-, 2-, 4- and 16-bit samples as they are stored. */
function readPng(file: string, skipRescale: boolean): DecodedPng {
  try {
    return PNG.sync.read(fs.readFileSync(file), { skipRescale }) as DecodedPng;
  } catch (e) {
    throw new Error(`${file}: cannot read as PNG: ${(e as Error).message}`);
  }
}

interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 8 bits per channel. */
  rgba: Uint8Array;
  gray: boolean;
}

function decodeImage(file: string): DecodedImage {
  const png = readPng(file, false);
  const rgba = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length);
  // Grayscale PNG colour types (0, 4) are gray by construction; RGB(A) and palette images (2, 6,
  // 3: the colour bit set) are gray when every pixel has R = G = B.
  let gray = (png.colorType & 2) === 0;
  if (!gray) {
    gray = true;
    for (let p = 0; p < rgba.length; p += 4) {
      if (rgba[p] !== rgba[p + 1] || rgba[p] !== rgba[p + 2]) {
        gray = false;
        break;
      }
    }
  }
  return { width: png.width, height: png.height, rgba, gray };
}

interface DecodedMask {
  width: number;
  height: number;
  values: Int32Array;
  /** Whether the file is 8 bits per sample (for the 0/255 convention). */
  eightBit: boolean;
}

/**
 * A mask's class index per pixel: the gray value of a grayscale PNG (or of an RGB one with
 * R = G = B), the palette index of a palette PNG; 1-, 2-, 4- and 16-bit samples are read
 * unscaled; alpha is ignored.
 */
function decodeMask(file: string): DecodedMask {
  const png = readPng(file, true);
  const { width, height } = png;
  const data = png.data as unknown as ArrayLike<number>;
  const values = new Int32Array(width * height);
  if (png.colorType === 3) {
    // pngjs replaces palette indices by their colours: map each colour back to its first index.
    const palette = png.palette as unknown as number[][];
    const index = new Map<number, number>();
    for (let k = palette.length - 1; k >= 0; k--) {
      const [r, g, b, a] = palette[k];
      index.set(((r << 24) | (g << 16) | (b << 8) | a) >>> 0, k);
    }
    for (let i = 0; i < values.length; i++) {
      const p = 4 * i;
      values[i] = index.get(((data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3]) >>> 0) ?? 0;
    }
    // Palette indices are explicit class indices: the 0/255 convention does not apply.
    return { width, height, values, eightBit: false };
  }
  for (let i = 0; i < values.length; i++) {
    const p = 4 * i;
    const v = data[p];
    if (v !== data[p + 1] || v !== data[p + 2]) {
      throw new Error(
        `${file}: colour (${data[p]}, ${data[p + 1]}, ${data[p + 2]}) at x=${i % width}, y=${Math.floor(i / width)}: ` +
          'a mask holds one class index per pixel (grayscale, R = G = B, or a palette PNG)',
      );
    }
    if (v >= 256) {
      throw new Error(`${file}: mask value ${v} at x=${i % width}, y=${Math.floor(i / width)} is >= 256: at most 256 classes (0..255) are supported`);
    }
    values[i] = v;
  }
  return { width, height, values, eightBit: png.depth === 8 };
}

interface LoadedPairs {
  files: PairFiles[];
  images: DecodedImage[];
  masks: DecodedMask[];
}

function decodePairs(files: PairFiles[]): LoadedPairs {
  const images: DecodedImage[] = [];
  const masks: DecodedMask[] = [];
  for (const f of files) {
    const img = decodeImage(f.image);
    const mask = decodeMask(f.mask);
    if (mask.width !== img.width || mask.height !== img.height) {
      throw new Error(`${f.mask}: mask is ${mask.width}x${mask.height} but its image ${f.image} is ${img.width}x${img.height}`);
    }
    images.push(img);
    masks.push(mask);
  }
  return { files, images, masks };
}

/** Copies the listed pairs into a SegSplit (channels 1: the R channel; 3: RGB; alpha dropped). */
function toSplit(p: LoadedPairs, idx: number[], channels: number): SegSplit {
  const n = idx.length;
  const px = n === 0 ? 0 : p.images[idx[0]].width * p.images[idx[0]].height;
  const images = new Float32Array(n * px * channels);
  const masks = new Int32Array(n * px);
  for (let k = 0; k < n; k++) {
    const img = p.images[idx[k]];
    for (let i = 0; i < px; i++) {
      for (let ch = 0; ch < channels; ch++) images[(k * px + i) * channels + ch] = img.rgba[4 * i + ch] / 255;
    }
    masks.set(p.masks[idx[k]].values, k * px);
  }
  return { n, images, masks };
}

/** Seeded partition of 0..n-1 into [train, val, test] with `fraction` of n each for val and test. */
function carve(n: number, fraction: number, rng: Rng, val: boolean, test: boolean): [number[], number[], number[]] {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i)) as number[];
  // At least one image for a held-out part when the fraction is positive and there are >= 3 images.
  const count = fraction > 0 && n >= 3 ? Math.max(1, Math.round(fraction * n)) : Math.round(fraction * n);
  const nVal = val ? count : 0;
  const nTest = test ? count : 0;
  const sorted = (a: number[]) => a.sort((x, y) => x - y);
  return [sorted(order.slice(nVal + nTest)), sorted(order.slice(0, nVal)), sorted(order.slice(nVal, nVal + nTest))];
}

/**
 * Users' own segmentation data: `<dir>/images/<name>.png` with `<dir>/masks/<name>.png` (same
 * base names), split by seed into train / val / test with `valFraction` (default 0.1) of the
 * images for val and again for test; or `<dir>/train/{images,masks}` with optional `val/` and
 * `test/` alike (a missing one is carved out of train the same way).
 *
 * A mask's pixel value is the class index (grayscale, R = G = B, or palette PNGs). Binary masks
 * saved as 0/255: when every mask is 8-bit and the masks together hold only 0 and 255, 255
 * becomes class 1 (decided over the whole dataset, so one mask never changes meaning alone).
 * Classes = 1 + the largest value. Images may be grayscale or RGB(A) (alpha is dropped):
 * channels = 1 when every image is gray (R = G = B), else 3; all images must share one size.
 * Errors are one line naming the file.
 */
export function loadSegmentationFolder(dir: string, opts: SegFolderOptions): SegDataset {
  const root = path.resolve(dir);
  if (!fs.existsSync(root)) throw new Error(`${root}: no such folder`);
  if (!isDir(root)) throw new Error(`${root}: is a file; pass the folder holding images/ and masks/ (or train/, val/, test/)`);
  const fraction = opts.valFraction ?? 0.1;
  if (!(fraction >= 0 && fraction < 0.5)) throw new Error(`${root}: valFraction must be in [0, 0.5), got ${fraction}`);

  // Which layout: images/ + masks/ at the top, else train/ (val/, test/) subfolders.
  const flat = isDir(path.join(root, 'images')) || isDir(path.join(root, 'masks'));
  const given = (['train', 'val', 'test'] as const).filter((s) => isDir(path.join(root, s)));
  let parts: Record<'train' | 'val' | 'test', LoadedPairs | undefined>;
  if (!flat && given.length > 0) {
    if (!given.includes('train')) throw new Error(`${root}: no train/ folder beside ${given.join('/, ')}/ (${LAYOUT_HINT})`);
    parts = { train: undefined, val: undefined, test: undefined };
    for (const s of given) parts[s] = decodePairs(listPairs(path.join(root, s)));
  } else {
    parts = { train: decodePairs(listPairs(root)), val: undefined, test: undefined };
  }
  const all = [parts.train!, parts.val, parts.test].filter((p): p is LoadedPairs => !!p);

  // One size for every image; the 0/255 convention and the class count over every mask.
  const first = all[0];
  const W = first.images[0].width;
  const H = first.images[0].height;
  let channels = 1;
  let maxValue = 0;
  let only0or255 = true;
  for (const p of all) {
    p.images.forEach((img, i) => {
      if (img.width !== W || img.height !== H) {
        throw new Error(`${p.files[i].image}: ${img.width}x${img.height}, but ${first.files[0].image} is ${W}x${H}: all images must share one size`);
      }
      if (!img.gray) channels = 3;
    });
    for (const m of p.masks) {
      if (!m.eightBit) only0or255 = false;
      for (let i = 0; i < m.values.length; i++) {
        const v = m.values[i];
        if (v > maxValue) maxValue = v;
        if (v !== 0 && v !== 255) only0or255 = false;
      }
    }
  }
  if (only0or255 && maxValue === 255) {
    for (const p of all) for (const m of p.masks) for (let i = 0; i < m.values.length; i++) if (m.values[i] === 255) m.values[i] = 1;
    maxValue = 1;
  }
  if (maxValue === 0) throw new Error(`${root}: every mask is all 0 (background): nothing to segment`);
  const classes = maxValue + 1;

  // Splits: the given folders, the rest carved out of train by seed.
  const rng = Rng.derive(opts.seed, 'segmentation-folder-split');
  const train = parts.train!;
  const [trIdx, vaIdx, teIdx] = carve(train.files.length, fraction, rng, !parts.val, !parts.test);
  if (trIdx.length === 0) throw new Error(`${root}: too few images (${train.files.length}) to hold out val and test; add images or lower valFraction`);
  const whole = (p: LoadedPairs) => p.files.map((_, i) => i);
  const carved = [!parts.val && 'val', !parts.test && 'test'].filter(Boolean).join(' and ');
  const pct = `${+(100 * fraction).toFixed(1)}%`;
  const splitWords = parts.val && parts.test
    ? 'given train/, val/ and test/ folders'
    : `${carved} ${pct}${carved.includes(' and ') ? ' each' : ''} of the ${flat ? 'images' : 'train/ folder'} by seed ${opts.seed}`;
  const ds: SegDataset = {
    name: path.basename(root),
    height: H,
    width: W,
    channels,
    classes,
    classNames: ['background', ...Array.from({ length: classes - 1 }, (_, c) => `class ${c + 1}`)],
    train: toSplit(train, trIdx, channels),
    val: parts.val ? toSplit(parts.val, whole(parts.val), channels) : toSplit(train, vaIdx, channels),
    test: parts.test ? toSplit(parts.test, whole(parts.test), channels) : toSplit(train, teIdx, channels),
    description: '',
  };
  ds.description =
    `${ds.name}: PNG images and masks from ${root}, ${H}x${W}x${channels}, ${classes} classes; ` +
    `${splitWords}: train ${ds.train.n} / val ${ds.val.n} / test ${ds.test.n}`;
  return ds;
}

// ---------------------------------------------------------------------------------------------
// Euclidean distance transform and signed distance maps
// ---------------------------------------------------------------------------------------------

/** Squared distance of a pixel with no outside pixel found yet (none on its line). */
const FAR = Infinity;

/**
 * 1-D squared Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms
 * of Sampled Functions", 2012) in place: f[q] <- min_p (q - p)^2 + f[p], the lower envelope of
 * the parabolas rooted at the finite samples, in O(n), over f[off + q*stride], q < n. Only
 * finite samples enter the envelope (so no Infinity - Infinity); a line with none is left as
 * it is. v (n), z (n + 1) and g (n) are scratch.
 */
function dt1d(f: Float64Array, off: number, stride: number, n: number, v: Int32Array, z: Float64Array, g: Float64Array): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    const gq = f[off + q * stride];
    g[q] = gq;
    if (gq === FAR) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    // Pop the parabolas the new one hides; s: where it starts to be the lowest.
    let s: number;
    for (;;) {
      const p = v[k];
      s = (gq + q * q - (g[p] + p * p)) / (2 * (q - p));
      if (s > z[k]) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) return;
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const dq = q - v[k];
    f[off + q * stride] = dq * dq + g[v[k]];
  }
}

/** Reusable scratch of the transforms (grown on demand; the engine is single-threaded). */
let scratch = { v: new Int32Array(0), z: new Float64Array(0), g: new Float64Array(0) };

/**
 * Exact squared Euclidean distance transform of an H x W image into `out` (scipy semantics,
 * see `distanceTransform`): columns, then rows, O(H*W). Inside pixels with no outside pixel
 * anywhere stay Infinity.
 */
function squaredEdtInto(inside: ArrayLike<number>, H: number, W: number, out: Float64Array): void {
  for (let i = 0; i < H * W; i++) out[i] = inside[i] ? FAR : 0;
  const m = Math.max(H, W);
  if (scratch.v.length < m) scratch = { v: new Int32Array(m), z: new Float64Array(m + 1), g: new Float64Array(m) };
  const { v, z, g } = scratch;
  for (let x = 0; x < W; x++) dt1d(out, x, W, H, v, z, g);
  for (let y = 0; y < H; y++) dt1d(out, y * W, 1, W, v, z, g);
}

/**
 * Exact Euclidean distance transform (scipy.ndimage.distance_transform_edt semantics): for each
 * pixel of the H x W image with inside[i] != 0, the distance to the nearest pixel with
 * inside == 0; 0 for those pixels. When no pixel is outside, every inside pixel is Infinity.
 */
export function distanceTransform(inside: ArrayLike<number>, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  squaredEdtInto(inside, H, W, out);
  for (let i = 0; i < H * W; i++) out[i] = Math.sqrt(out[i]);
  return out;
}

/**
 * The signed distance maps of the boundary loss (Kervadec et al., "Boundary loss for highly
 * unbalanced segmentation", MIDL 2019; reference code `one_hot2dist`), n*H*W*C, NHWC with the
 * class last: for image i and class c, with R = {mask == c},
 *   dist = edt(outside R) * [outside R] - (edt(R) - 1) * [in R],
 * edt as in `distanceTransform`. Outside pixels get their distance to R (> 0, 1 next to it);
 * inside pixels 1 - their distance to the outside (<= 0, 0 on R's boundary). An empty R gives
 * 0 everywhere; so does an R covering the whole image (it has no boundary, and scipy's
 * transform of an all-ones array is an artefact there).
 */
export function signedDistanceMaps(masks: Int32Array, n: number, H: number, W: number, C: number): Float32Array {
  const px = H * W;
  if (masks.length !== n * px) throw new Error(`signedDistanceMaps: masks has ${masks.length} values, expected n*H*W = ${n * px}`);
  const out = new Float32Array(n * px * C);
  const inside = new Uint8Array(px);
  const outside = new Uint8Array(px);
  const dIn = new Float64Array(px);
  const dOut = new Float64Array(px);
  for (let i = 0; i < n; i++) {
    const mask = masks.subarray(i * px, (i + 1) * px);
    for (let p = 0; p < px; p++) {
      if (!(mask[p] >= 0 && mask[p] < C)) throw new Error(`signedDistanceMaps: image ${i} pixel ${p} has class ${mask[p]}, expected 0..${C - 1}`);
    }
    for (let c = 0; c < C; c++) {
      let count = 0;
      for (let p = 0; p < px; p++) {
        const a = mask[p] === c ? 1 : 0;
        inside[p] = a;
        outside[p] = 1 - a;
        count += a;
      }
      if (count === 0 || count === px) continue;
      squaredEdtInto(outside, H, W, dOut);
      squaredEdtInto(inside, H, W, dIn);
      // 1 - d rather than -(d - 1): +0, not -0, on the inner boundary.
      for (let p = 0; p < px; p++) out[(i * px + p) * C + c] = inside[p] ? 1 - Math.sqrt(dIn[p]) : Math.sqrt(dOut[p]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One entry point
// ---------------------------------------------------------------------------------------------

export interface SegLoadOptions {
  seed: number;
  /** digits-clutter: images per split (defaults 2,000 / 500 / 1,000) and canvas side (default 40). */
  train?: number;
  val?: number;
  test?: number;
  size?: number;
  /** Folders: see SegFolderOptions. */
  valFraction?: number;
  /** Base of relative folder paths (default process.cwd()). */
  cwd?: string;
}

/** The built-in segmentation datasets by name. */
export const SEG_DATASETS: Record<string, { description: string; load: (opts: SegLoadOptions) => SegDataset }> = {
  'digits-clutter': {
    description: 'one real MNIST digit (14x14) to segment among fragments of other digits on a 40x40 canvas; binary, about 2% foreground',
    load: (o) => digitsInClutter({ train: o.train ?? 2000, val: o.val ?? 500, test: o.test ?? 1000, seed: o.seed, size: o.size }),
  },
};

/** A built-in segmentation dataset by name (see SEG_DATASETS), else a folder (see loadSegmentationFolder). */
export function loadSegmentation(spec: string, opts: SegLoadOptions): SegDataset {
  const s = spec.trim();
  const builtin = SEG_DATASETS[s];
  if (builtin) return builtin.load(opts);
  const dir = path.resolve(opts.cwd ?? process.cwd(), s);
  if (!fs.existsSync(dir)) {
    throw new Error(`segmentation dataset '${spec}': not a built-in name (${Object.keys(SEG_DATASETS).join(', ')}) and no such folder ${dir}`);
  }
  return loadSegmentationFolder(dir, { seed: opts.seed, valFraction: opts.valFraction });
}

/**
 * A segmentation training's data as both engines use it: the dataset (built or read once per
 * process, by spec, seed, folder base and, for the built-in one, its canvas and split sizes),
 * the foreground fraction of its training masks, and the training split's signed distance
 * maps (`withDist`: computed once, on the first loss that reads `dist`).
 */
export interface SegTrainingData {
  ds: SegDataset;
  /** Mean over the training pixels of [mask != 0]. */
  foreground: number;
  /** Signed distance maps of the training masks, NHWC with the classes last (once asked for). */
  dist?: Float32Array;
}

const trainingData = new Map<string, SegTrainingData>();

/** The cache key of a training's data (also the key engines keep what they derive under). */
export function segDataKey(dataset: { spec: string; seed: number; cwd?: string }, seg: { size: number; train: number; val: number; test: number }): string {
  return JSON.stringify([dataset.spec, dataset.seed, dataset.cwd ?? null, seg.size, seg.train, seg.val, seg.test]);
}

export function segTrainingData(dataset: { spec: string; seed: number; cwd?: string }, seg: { size: number; train: number; val: number; test: number }, withDist: boolean): SegTrainingData {
  const key = segDataKey(dataset, seg);
  let d = trainingData.get(key);
  if (!d) {
    const ds = loadSegmentation(dataset.spec, { seed: dataset.seed, cwd: dataset.cwd, size: seg.size, train: seg.train, val: seg.val, test: seg.test });
    let fg = 0;
    const m = ds.train.masks;
    for (let i = 0; i < m.length; i++) if (m[i] !== 0) fg++;
    d = { ds, foreground: m.length > 0 ? fg / m.length : 0 };
    // A handful of configurations at most per run; keep memory bounded anyway.
    if (trainingData.size >= 4) trainingData.delete(trainingData.keys().next().value as string);
    trainingData.set(key, d);
  }
  if (withDist && !d.dist) d.dist = signedDistanceMaps(d.ds.train.masks, d.ds.train.n, d.ds.height, d.ds.width, d.ds.classes);
  return d;
}
