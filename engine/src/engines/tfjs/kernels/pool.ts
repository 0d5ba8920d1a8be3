/**
 * MaxPoolGrad for the wasm backend. wasm's own kernel agrees with `cpu` on tie-free inputs
 * but breaks ties differently, and a composed BN-swish-maxpool gradient check disagreed with
 * `cpu` (rel. error 0.36) until this replacement was registered. This JS version on the wasm
 * heap matches `cpu` exactly, ties included (first maximum in row-major window order wins).
 * `lenet` (the README's main job) uses max pooling: this gradient is about 10% of its training step on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { alloc, heap, type TensorInfo, type WasmBackend } from './wasm-util';

export function maxPoolGrad(args: {
  inputs: { dy: TensorInfo; input: TensorInfo; output?: TensorInfo };
  attrs: { filterSize: number | [number, number]; strides: number | [number, number]; pad: unknown; dimRoundingMode?: unknown };
  backend: WasmBackend;
}): TensorInfo {
  const { inputs: { dy, input }, attrs, backend } = args;
  const ci = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1,
    attrs.pad as 'same', attrs.dimRoundingMode as 'floor' | undefined
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = ci;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: kh, effectiveFilterWidth: kw } = ci;
  const dilH = ci.dilationHeight;
  const dilW = ci.dilationWidth;
  const pt = ci.padInfo.top;
  const pl = ci.padInfo.left;
  const out = alloc(backend, input.shape, true);
  const x = heap(backend, input);
  const g = heap(backend, dy);
  const dx = heap(backend, out);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let a = 0; a < kh; a += dilH) {
            const r = i * sh - pt + a;
            if (r < 0 || r >= H) continue;
            for (let b = 0; b < kw; b += dilW) {
              const q = j * sw - pl + b;
              if (q < 0 || q >= W) continue;
              const idx = ((n * H + r) * W + q) * C + c;
              if (at < 0 || x[idx] > best) {
                best = x[idx];
                at = idx;
              }
            }
          }
          if (at >= 0) dx[at] += g[((n * Ho + i) * Wo + j) * C + c];
        }
      }
    }
  }
  return out;
}
