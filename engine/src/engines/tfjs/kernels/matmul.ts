/**
 * BatchMatMul for the wasm backend: wasm's kernel runs a naive loop whenever transposeA or
 * transposeB is set (dense-layer gradients always set one of them). Materialise the
 * transpose with wasm's Transpose kernel, then call the no-transpose (XNNPACK) path.
 */
import { free, reshape, transpose, wasmKernel, type TensorInfo, type WasmBackend } from './wasm-util';

function transposeLast2(backend: WasmBackend, t: TensorInfo): TensorInfo {
  const r = t.shape.length;
  const batch = t.shape.slice(0, r - 2).reduce((a, b) => a * b, 1);
  const m = t.shape[r - 2];
  const n = t.shape[r - 1];
  const t3 = reshape(backend, t, [batch, m, n]);
  const tt = transpose(backend, t3, [0, 2, 1]);
  free(backend, t3);
  const out = reshape(backend, tt, [...t.shape.slice(0, r - 2), n, m]);
  free(backend, tt);
  return out;
}

export function batchMatMul(args: {
  inputs: { a: TensorInfo; b: TensorInfo };
  attrs: { transposeA: boolean; transposeB: boolean };
  backend: WasmBackend;
}): TensorInfo {
  const { inputs: { a, b }, attrs: { transposeA, transposeB }, backend } = args;
  const orig = wasmKernel('BatchMatMul');
  if (!transposeA && !transposeB) return orig(args as never) as unknown as TensorInfo;
  const a2 = transposeA ? transposeLast2(backend, a) : a;
  const b2 = transposeB ? transposeLast2(backend, b) : b;
  const out = orig({ inputs: { a: a2, b: b2 }, attrs: { transposeA: false, transposeB: false }, backend } as never) as unknown as TensorInfo;
  if (a2 !== a) free(backend, a2);
  if (b2 !== b) free(backend, b2);
  return out;
}
