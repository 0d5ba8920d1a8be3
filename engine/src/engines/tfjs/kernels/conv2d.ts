/**
 * Convolution gradient kernels for the wasm backend, built on wasm's XNNPACK Conv2D.
 *
 * Forward (NHWC): y[n,i,j,co] = sum_{a,b,ci} x[n, i*sh+a-pt, j*sw+b-pl, ci] * w[a,b,ci,co].
 *
 * Filter gradient dW[a,b,ci,co] = sum_{n,i,j} x[n, i*sh+a-pt, j*sw+b-pl, ci] * dy[n,i,j,co] is
 * itself a convolution, computed one of two ways:
 *  - 'dy-filter': input transpose(x,[3,1,2,0]) = [Ci,H,W,N], filter transpose(dy,[1,2,0,3]) =
 *    [Ho,Wo,N,Co], stride 1, dilation = forward stride, pads (pt, pl); output [Ci,kh',kw',Co]
 *    cropped to kh x kw and transposed to [kh,kw,Ci,Co].
 *  - 'x-filter': input transpose(upsample(dy),[3,1,2,0]) = [Co,Hu,Wu,N], filter
 *    transpose(x,[1,2,0,3]) = [H,W,N,Ci], stride 1, pads (kh-1-pt, H-Hu+pt); output
 *    [Co,kh,kw,Ci] reversed in space. Only sensible at stride 1 (upsampled zeros cost MACs).
 * XNNPACK re-packs every new filter (~10 ns per element), so the variant whose filter is
 * smaller wins when the MAC counts are equal (stride 1); see chooseFilterVariant.
 *
 * Input gradient at stride 1: dx = conv(dy padded by (kh-1-pt, ...), reverse_hw(w) with in/out
 * channels swapped). At stride s > 1, convolving the zero-upsampled dy would spend s^2 - 1 of
 * every s^2 multiply-adds on zeros, so the gradient is split by output phase (sub-pixel
 * decomposition): the rows r = s*q + rho of dx only meet the taps a = a0 + s*m with
 * a0 = (rho + pt) mod s, and
 *   dx[s*q + rho] = sum_m dy[q + delta - m] * w[a0 + s*m],   delta = floor((rho + pt) / s),
 * a stride-1 convolution of dy with a small reversed sub-filter; the s_h*s_w phase results are
 * interleaved into dx. Same multiply-adds as the forward pass, none on zeros (measured in the
 * train bench: ConvNet input gradients 42 -> see ARCHITECTURE.md).
 */
import * as tf from '@tensorflow/tfjs';
import { alloc, free, heap, run, transpose, wasmKernel, type TensorInfo, type WasmBackend } from './wasm-util';

type Pad = [[number, number], [number, number], [number, number], [number, number]];

export type FilterGradVariant = 'auto' | 'dy-filter' | 'x-filter';
let filterVariant: FilterGradVariant = 'auto';

/** For benchmarks and tests: force one filter-gradient variant ('auto' = heuristic). */
export function setFilterGradVariant(v: FilterGradVariant): void {
  filterVariant = v;
}

function conv(
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  dilations: [number, number],
  pad: Pad
): TensorInfo {
  return run('Conv2D', backend, { x, filter }, {
    strides: [1, 1],
    pad,
    dataFormat: 'NHWC',
    dilations,
    dimRoundingMode: undefined,
  });
}

interface Geometry {
  N: number; H: number; W: number; Ci: number;
  Ho: number; Wo: number; Co: number;
  kh: number; kw: number; sh: number; sw: number;
  pt: number; pl: number;
}

function geometry(
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: unknown,
  dimRoundingMode: unknown
): Geometry {
  const ci = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad as 'same',
    dimRoundingMode as 'floor' | undefined,
    false,
    'channelsLast'
  );
  return {
    N: ci.batchSize, H: ci.inHeight, W: ci.inWidth, Ci: ci.inChannels,
    Ho: ci.outHeight, Wo: ci.outWidth, Co: ci.outChannels,
    kh: ci.filterHeight, kw: ci.filterWidth, sh: ci.strideHeight, sw: ci.strideWidth,
    pt: ci.padInfo.top, pl: ci.padInfo.left,
  };
}

/**
 * dy [N,Ho,Wo,C] scattered into a zeroed [N,outH,outW,C] at rows offT + i*sh, columns
 * offL + j*sw (entries falling outside are dropped).
 */
function scatterUpsample(
  backend: WasmBackend, dy: TensorInfo, sh: number, sw: number,
  outH: number, outW: number, offT: number, offL: number
): TensorInfo {
  const [N, Ho, Wo, C] = dy.shape;
  const out = alloc(backend, [N, outH, outW, C], true);
  const o = heap(backend, out);
  const d = heap(backend, dy);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < Ho; i++) {
      const r = offT + i * sh;
      if (r < 0 || r >= outH) continue;
      const rowIn = ((n * Ho + i) * Wo) * C;
      const rowOut = ((n * outH + r) * outW) * C;
      for (let j = 0; j < Wo; j++) {
        const c = offL + j * sw;
        if (c < 0 || c >= outW) continue;
        const src = rowIn + j * C;
        const dst = rowOut + c * C;
        if (C >= 16) o.set(d.subarray(src, src + C), dst);
        else for (let k = 0; k < C; k++) o[dst + k] = d[src + k];
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- input gradient

export function conv2DBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  attrs: { strides: number | [number, number]; pad: unknown; dataFormat?: string; dimRoundingMode?: unknown; inputShape: number[] };
  backend: WasmBackend;
}): TensorInfo {
  const { inputs: { dy, filter }, attrs, backend } = args;
  if (attrs.dataFormat === 'NCHW') return wasmKernel('Conv2DBackpropInput')(args as never) as unknown as TensorInfo;
  const g = geometry(attrs.inputShape, filter.shape, attrs.strides, attrs.pad, attrs.dimRoundingMode);
  const { H, W, Ci, Ho, Wo, Co, kh, kw, sh, sw, pt, pl } = g;
  if ((sh > 1 || sw > 1) && inputGradMode === 'phase') {
    const out = inputGradByPhase(backend, dy, filter, g);
    if (out) return out;
  }

  // Reversed filter with in/out swapped: wf[a',b',co,ci] = w[kh-1-a', kw-1-b', ci, co].
  const wf = alloc(backend, [kh, kw, Co, Ci], false);
  {
    const src = heap(backend, filter);
    const dst = heap(backend, wf);
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const s0 = ((kh - 1 - a) * kw + (kw - 1 - b)) * Ci * Co;
        const d0 = (a * kw + b) * Co * Ci;
        for (let ci = 0; ci < Ci; ci++) {
          for (let co = 0; co < Co; co++) dst[d0 + co * Ci + ci] = src[s0 + ci * Co + co];
        }
      }
    }
  }

  const Hu = (Ho - 1) * sh + 1;
  const Wu = (Wo - 1) * sw + 1;
  const padT = kh - 1 - pt;
  const padL = kw - 1 - pl;
  const padB = H + kh - 1 - padT - Hu;
  const padR = W + kw - 1 - padL - Wu;
  let out: TensorInfo;
  if (padT >= 0 && padL >= 0 && padB >= 0 && padR >= 0) {
    const src = sh === 1 && sw === 1 ? dy : scatterUpsample(backend, dy, sh, sw, Hu, Wu, 0, 0);
    out = conv(backend, src, wf, [1, 1], [[0, 0], [padT, padB], [padL, padR], [0, 0]]);
    if (src !== dy) free(backend, src);
  } else {
    const src = scatterUpsample(backend, dy, sh, sw, H + kh - 1, W + kw - 1, padT, padL);
    out = conv(backend, src, wf, [1, 1], [[0, 0], [0, 0], [0, 0], [0, 0]]);
    free(backend, src);
  }
  free(backend, wf);
  return out;
}

export type InputGradMode = 'phase' | 'upsample';
let inputGradMode: InputGradMode = 'phase';

/** For benchmarks and tests: how strided input gradients are computed (default 'phase'). */
export function setInputGradMode(m: InputGradMode): void {
  inputGradMode = m;
}

/** One output phase along an axis: which taps, which dy offset, how many outputs. */
interface Phase {
  rho: number;
  /** First tap a0 and tap count M (taps a0, a0 + s, ...). */
  a0: number;
  M: number;
  /** dy row of the first tap for q = 0 is q + off + (M - 1 - m'), i.e. the sub-conv reads dy from row `off`. */
  off: number;
  /** Outputs of this phase: rows rho, rho + s, ... below `size`. */
  Q: number;
}

function phases(size: number, k: number, s: number, pad: number): Phase[] {
  const out: Phase[] = [];
  for (let rho = 0; rho < s && rho < size; rho++) {
    const a0 = (rho + pad) % s;
    const M = a0 < k ? Math.ceil((k - a0) / s) : 0;
    const delta = Math.floor((rho + pad) / s);
    out.push({ rho, a0, M, off: delta - (M - 1), Q: Math.ceil((size - rho) / s) });
  }
  return out;
}

/**
 * The strided input gradient by output phase (see the top of this file). Returns undefined
 * for geometries it does not cover (a phase whose first dy row lies past the top, i.e. padding
 * beyond the kernel), which take the upsampling path.
 */
function inputGradByPhase(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, g: Geometry): TensorInfo | undefined {
  const { N, H, W, Ci, Ho, Wo, Co, kh, kw, sh, sw, pt, pl } = g;
  const rows = phases(H, kh, sh, pt);
  const cols = phases(W, kw, sw, pl);
  if (rows.some((r) => r.M > 0 && r.off > 0) || cols.some((c) => c.M > 0 && c.off > 0)) return undefined;
  const dx = alloc(backend, [N, H, W, Ci], true);
  for (const r of rows) {
    for (const c of cols) {
      if (r.M === 0 || c.M === 0 || r.Q === 0 || c.Q === 0) continue; // no tap reaches this phase: zeros
      // Sub-filter, reversed in space, in/out swapped: wf[m',n',co,ci] = w[a0r + sh*(Mr-1-m'), a0c + sw*(Mc-1-n'), ci, co].
      const wf = alloc(backend, [r.M, c.M, Co, Ci], false);
      {
        const src = heap(backend, filter);
        const dst = heap(backend, wf);
        for (let m = 0; m < r.M; m++) {
          for (let n = 0; n < c.M; n++) {
            const a = r.a0 + sh * (r.M - 1 - m);
            const b = c.a0 + sw * (c.M - 1 - n);
            const s0 = (a * kw + b) * Ci * Co;
            const d0 = (m * c.M + n) * Co * Ci;
            for (let ci = 0; ci < Ci; ci++) {
              for (let co = 0; co < Co; co++) dst[d0 + co * Ci + ci] = src[s0 + ci * Co + co];
            }
          }
        }
      }
      const padT = -r.off;
      const padL = -c.off;
      const padB = Math.max(0, r.Q + r.M - 1 - Ho - padT);
      const padR = Math.max(0, c.Q + c.M - 1 - Wo - padL);
      const part = conv(backend, dy, wf, [1, 1], [[0, 0], [padT, padB], [padL, padR], [0, 0]]);
      free(backend, wf);
      // Interleave: part[n, q, u, :] -> dx[n, rho_r + sh*q, rho_c + sw*u, :].
      const [, Pq, Pu] = part.shape;
      const src = heap(backend, part);
      const dst = heap(backend, dx);
      const Qr = Math.min(r.Q, Pq);
      const Qc = Math.min(c.Q, Pu);
      for (let n = 0; n < N; n++) {
        for (let q = 0; q < Qr; q++) {
          const srcRow = ((n * Pq + q) * Pu) * Ci;
          const dstRow = ((n * H + r.rho + sh * q) * W) * Ci;
          for (let u = 0; u < Qc; u++) {
            const s0 = srcRow + u * Ci;
            const d0 = dstRow + (c.rho + sw * u) * Ci;
            if (Ci >= 16) dst.set(src.subarray(s0, s0 + Ci), d0);
            else for (let k = 0; k < Ci; k++) dst[d0 + k] = src[s0 + k];
          }
        }
      }
      free(backend, part);
    }
  }
  return dx;
}

// ---------------------------------------------------------------- filter gradient

/**
 * Which filter-gradient variant to use. Both do the same MACs at stride 1; 'x-filter' does
 * sh*sw times more at larger strides (it convolves the zero-upsampled dy). At stride 1 the
 * cost difference is the filter re-pack, proportional to the filter's size.
 */
function xFilterPossible(g: Geometry): boolean {
  const Hu = (g.Ho - 1) * g.sh + 1;
  const Wu = (g.Wo - 1) * g.sw + 1;
  return g.kh - 1 - g.pt >= 0 && g.kw - 1 - g.pl >= 0 && g.H - Hu + g.pt >= 0 && g.W - Wu + g.pl >= 0;
}

export function chooseFilterVariant(g: Geometry): 'dy-filter' | 'x-filter' {
  if (filterVariant === 'x-filter' && xFilterPossible(g)) return 'x-filter';
  if (filterVariant === 'dy-filter') return 'dy-filter';
  if (g.sh !== 1 || g.sw !== 1) return 'dy-filter';
  if (!xFilterPossible(g)) return 'dy-filter';
  const xSize = g.H * g.W * g.Ci;
  const dySize = g.Ho * g.Wo * g.Co;
  return xSize <= dySize && g.Ci >= 8 ? 'x-filter' : 'dy-filter';
}

export function conv2DBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  attrs: { strides: number | [number, number]; pad: unknown; dataFormat?: string; dimRoundingMode?: unknown; filterShape: number[] };
  backend: WasmBackend;
}): TensorInfo {
  const { inputs: { x, dy }, attrs, backend } = args;
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const g = geometry(x.shape, attrs.filterShape, attrs.strides, attrs.pad, attrs.dimRoundingMode);
  const v = chooseFilterVariant(g);
  return v === 'x-filter' ? filterGradXFilter(backend, x, dy, g) : filterGradDyFilter(backend, x, dy, g);
}

function filterGradDyFilter(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, g: Geometry): TensorInfo {
  const { H, W, Ci, Ho, Wo, Co, kh, kw, sh, sw, pt, pl } = g;
  const xt = transpose(backend, x, [3, 1, 2, 0]); // [Ci,H,W,N]
  const dyt = transpose(backend, dy, [1, 2, 0, 3]); // [Ho,Wo,N,Co]
  const pb = Math.max(0, kh - H - pt + (Ho - 1) * sh);
  const pr = Math.max(0, kw - W - pl + (Wo - 1) * sw);
  const o = conv(backend, xt, dyt, [sh, sw], [[0, 0], [pt, pb], [pl, pr], [0, 0]]); // [Ci,Hk,Wk,Co]
  free(backend, xt, dyt);
  const Hk = o.shape[1];
  const Wk = o.shape[2];
  const out = alloc(backend, [kh, kw, Ci, Co], false);
  const src = heap(backend, o);
  const dst = heap(backend, out);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      for (let ci = 0; ci < Ci; ci++) {
        const s0 = ((ci * Hk + a) * Wk + b) * Co;
        const d0 = ((a * kw + b) * Ci + ci) * Co;
        for (let co = 0; co < Co; co++) dst[d0 + co] = src[s0 + co];
      }
    }
  }
  free(backend, o);
  return out;
}

function filterGradXFilter(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, g: Geometry): TensorInfo {
  const { H, W, Ci, Ho, Wo, Co, kh, kw, sh, sw, pt, pl } = g;
  const Hu = (Ho - 1) * sh + 1;
  const Wu = (Wo - 1) * sw + 1;
  const dyu = sh === 1 && sw === 1 ? dy : scatterUpsample(backend, dy, sh, sw, Hu, Wu, 0, 0);
  const it = transpose(backend, dyu, [3, 1, 2, 0]); // [Co,Hu,Wu,N]
  if (dyu !== dy) free(backend, dyu);
  const ft = transpose(backend, x, [1, 2, 0, 3]); // [H,W,N,Ci]
  const padT = kh - 1 - pt;
  const padL = kw - 1 - pl;
  const padB = H - Hu + pt;
  const padR = W - Wu + pl;
  if (padT < 0 || padL < 0 || padB < 0 || padR < 0) throw new Error('x-filter variant: unsupported padding');
  const o = conv(backend, it, ft, [1, 1], [[0, 0], [padT, padB], [padL, padR], [0, 0]]); // [Co,kh,kw,Ci]
  free(backend, it, ft);
  const Hk = o.shape[1];
  const Wk = o.shape[2];
  const out = alloc(backend, [kh, kw, Ci, Co], false);
  const src = heap(backend, o);
  const dst = heap(backend, out);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const p = kh - 1 - a;
      const q = kw - 1 - b;
      for (let co = 0; co < Co; co++) {
        const s0 = ((co * Hk + p) * Wk + q) * Ci;
        const d0 = (a * kw + b) * Ci * Co + co;
        for (let ci = 0; ci < Ci; ci++) dst[d0 + ci * Co] = src[s0 + ci];
      }
    }
  }
  free(backend, o);
  return out;
}
