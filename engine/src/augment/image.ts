/**
 * Single-image operations on plain arrays. An image is an HWC Float32Array with values in
 * [0, 1] (length h*w*c). Every function returns a new array and leaves its input untouched;
 * none draws random numbers (the batch augmentations choose the parameters).
 *
 * Geometry: pixel (x, y) has its centre at integer coordinates; rotations and shears act about
 * the image centre ((w-1)/2, (h-1)/2); samples falling outside the image are 0 (black);
 * rotations and shears interpolate bilinearly, flips/crops/translations move whole pixels.
 * Colour operations follow PIL's ImageEnhance / ImageOps definitions (used by AutoAugment and
 * RandAugment) on float data; 8-bit quantisation happens only where the operation is defined
 * on 8-bit levels (solarize, posterize, equalize).
 */

export interface ImageShape {
  h: number;
  w: number;
  c: number;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const to8 = (v: number) => Math.round(clamp01(v) * 255);

/** Mirror left-right. */
export function flipHorizontal(img: Float32Array, { h, w, c }: ImageShape): Float32Array {
  const out = new Float32Array(img.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + (w - 1 - x)) * c;
      const d = (y * w + x) * c;
      for (let k = 0; k < c; k++) out[d + k] = img[s + k];
    }
  }
  return out;
}

/**
 * Integer translation with zero fill: out(x, y) = in(x - dx, y - dy). (A random crop of an
 * image zero-padded by p, with crop offset (ox, oy) in [0, 2p], is translate(-ox + p, -oy + p).)
 */
export function translate(img: Float32Array, { h, w, c }: ImageShape, dx: number, dy: number): Float32Array {
  const out = new Float32Array(img.length);
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      const sx = x - dx;
      if (sx < 0 || sx >= w) continue;
      const s = (sy * w + sx) * c;
      const d = (y * w + x) * c;
      for (let k = 0; k < c; k++) out[d + k] = img[s + k];
    }
  }
  return out;
}

/** Crop of the image zero-padded by `pad` on every side, with top-left at (ox, oy) in padded coordinates. */
export function padCrop(img: Float32Array, shape: ImageShape, pad: number, ox: number, oy: number): Float32Array {
  return translate(img, shape, pad - ox, pad - oy);
}

/** Zeroes the rows [y0, y1) x columns [x0, x1) (clipped to the image), all channels. */
export function zeroRect(img: Float32Array, { h, w, c }: ImageShape, x0: number, y0: number, x1: number, y1: number): Float32Array {
  const out = Float32Array.from(img);
  for (let y = Math.max(0, y0); y < Math.min(h, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(w, x1); x++) out.fill(0, (y * w + x) * c, (y * w + x + 1) * c);
  }
  return out;
}

/**
 * Inverse-mapped affine warp with bilinear interpolation: out(x, y) = in(sx, sy) where
 * (sx - cx, sy - cy) = M (x - cx, y - cy), M = [[a, b], [d, e]], zero outside.
 */
export function affine(img: Float32Array, { h, w, c }: ImageShape, a: number, b: number, d: number, e: number): Float32Array {
  const out = new Float32Array(img.length);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = cx + a * (x - cx) + b * (y - cy);
      const sy = cy + d * (x - cx) + e * (y - cy);
      // Snap values within 1e-9 of an integer so that exact pixel moves stay exact.
      const fx = Math.abs(sx - Math.round(sx)) < 1e-9 ? Math.round(sx) : sx;
      const fy = Math.abs(sy - Math.round(sy)) < 1e-9 ? Math.round(sy) : sy;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const tx = fx - x0;
      const ty = fy - y0;
      const o = (y * w + x) * c;
      for (const [yy, xx, wt] of [
        [y0, x0, (1 - tx) * (1 - ty)],
        [y0, x0 + 1, tx * (1 - ty)],
        [y0 + 1, x0, (1 - tx) * ty],
        [y0 + 1, x0 + 1, tx * ty],
      ]) {
        if (wt === 0 || yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const s = (yy * w + xx) * c;
        for (let k = 0; k < c; k++) out[o + k] += wt * img[s + k];
      }
    }
  }
  return out;
}

/** Rotation by `degrees` counter-clockwise (as seen on screen, y pointing down) about the centre. */
export function rotate(img: Float32Array, shape: ImageShape, degrees: number): Float32Array {
  const t = (degrees * Math.PI) / 180;
  const co = Math.cos(t);
  const si = Math.sin(t);
  return affine(img, shape, co, -si, si, co);
}

/** Horizontal shear about the centre: out(x, y) = in(x + s (y - cy), y). */
export function shearX(img: Float32Array, shape: ImageShape, s: number): Float32Array {
  return affine(img, shape, 1, s, 0, 1);
}

/** Vertical shear about the centre: out(x, y) = in(x, y + s (x - cx)). */
export function shearY(img: Float32Array, shape: ImageShape, s: number): Float32Array {
  return affine(img, shape, 1, 0, s, 1);
}

/** Luminance (ITU-R 601-2, as PIL's convert('L')) of pixel i, or the value itself if grayscale. */
function luma(img: Float32Array, i: number, c: number): number {
  return c === 3 ? 0.299 * img[i * 3] + 0.587 * img[i * 3 + 1] + 0.114 * img[i * 3 + 2] : img[i * c];
}

/** Blend with a degenerate image: clamp(deg + f (img - deg)) (PIL ImageEnhance). */
function blend(img: Float32Array, deg: Float32Array | number, f: number): Float32Array {
  const out = new Float32Array(img.length);
  for (let i = 0; i < img.length; i++) {
    const g = typeof deg === 'number' ? deg : deg[i];
    out[i] = clamp01(g + f * (img[i] - g));
  }
  return out;
}

/** Brightness: blend with black, factor f (1 = unchanged). */
export function brightness(img: Float32Array, _shape: ImageShape, f: number): Float32Array {
  return blend(img, 0, f);
}

/** Contrast: blend with the mean luminance (a uniform grey image), factor f. */
export function contrast(img: Float32Array, { h, w, c }: ImageShape, f: number): Float32Array {
  let m = 0;
  for (let i = 0; i < h * w; i++) m += luma(img, i, c);
  return blend(img, m / (h * w), f);
}

/**
 * Sharpness: blend with PIL's SMOOTH-style degenerate image (3x3 kernel [[1,1,1],[1,5,1],[1,1,1]]/13
 * on interior pixels, border pixels unchanged), factor f (> 1 sharpens, < 1 blurs).
 */
export function sharpness(img: Float32Array, { h, w, c }: ImageShape, f: number): Float32Array {
  const deg = Float32Array.from(img);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let k = 0; k < c; k++) {
        let s = 4 * img[(y * w + x) * c + k];
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += img[((y + dy) * w + x + dx) * c + k];
        deg[(y * w + x) * c + k] = s / 13;
      }
    }
  }
  return blend(img, deg, f);
}

/** Solarize: invert (1 - v) every value whose 8-bit level is >= threshold (0..256; 256 = no-op). */
export function solarize(img: Float32Array, _shape: ImageShape, threshold: number): Float32Array {
  const out = new Float32Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = to8(img[i]) >= threshold ? 1 - img[i] : img[i];
  return out;
}

/** Posterize: keep the top `bits` bits (0..8) of each 8-bit level. */
export function posterize(img: Float32Array, _shape: ImageShape, bits: number): Float32Array {
  const b = Math.max(0, Math.min(8, Math.round(bits)));
  const mask = (0xff << (8 - b)) & 0xff;
  const out = new Float32Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = (to8(img[i]) & mask) / 255;
  return out;
}

/** Autocontrast: per channel, stretch [min, max] linearly to [0, 1] (constant channels unchanged). */
export function autocontrast(img: Float32Array, { h, w, c }: ImageShape): Float32Array {
  const out = Float32Array.from(img);
  for (let k = 0; k < c; k++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < h * w; i++) {
      const v = img[i * c + k];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi <= lo) continue;
    for (let i = 0; i < h * w; i++) out[i * c + k] = (img[i * c + k] - lo) / (hi - lo);
  }
  return out;
}

/** Histogram equalisation per channel on 8-bit levels, exactly PIL's ImageOps.equalize. */
export function equalize(img: Float32Array, { h, w, c }: ImageShape): Float32Array {
  const out = Float32Array.from(img);
  const n = h * w;
  for (let k = 0; k < c; k++) {
    const hist = new Array<number>(256).fill(0);
    for (let i = 0; i < n; i++) hist[to8(img[i * c + k])]++;
    let last = 255;
    while (last > 0 && hist[last] === 0) last--;
    const step = Math.floor((n - hist[last]) / 255);
    if (step === 0) continue;
    const lut = new Array<number>(256);
    let acc = Math.floor(step / 2);
    for (let v = 0; v < 256; v++) {
      lut[v] = Math.min(255, Math.floor(acc / step));
      acc += hist[v];
    }
    for (let i = 0; i < n; i++) out[i * c + k] = lut[to8(img[i * c + k])] / 255;
  }
  return out;
}
