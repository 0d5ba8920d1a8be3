/**
 * Small helpers for writing wasm-backend kernels in JS on top of wasm's own kernels.
 * Everything here works on TensorInfo ({dataId, shape, dtype}), never on tf.Tensor, so no
 * engine bookkeeping is involved: intermediates must be freed with `free`.
 */
import * as tf from '@tensorflow/tfjs';

export type TensorInfo = { dataId: object; shape: number[]; dtype: 'float32' | 'int32' | 'bool' | string };

/** The wasm backend object (BackendWasm) as far as we use it. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: unknown): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
}

/** wasm's own kernel functions, captured before we override any of them. */
const original = new Map<string, tf.KernelFunc>();

export function wasmKernel(name: string): tf.KernelFunc {
  let k = original.get(name);
  if (!k) {
    const cfg = tf.getKernel(name, 'wasm');
    if (!cfg) throw new Error(`wasm backend has no ${name} kernel`);
    k = cfg.kernelFunc;
    original.set(name, k);
  }
  return k;
}

/** Remember wasm's implementation of `name` (call before overriding it). */
export function captureOriginal(name: string): void {
  if (!original.has(name)) {
    const cfg = tf.getKernel(name, 'wasm');
    if (cfg) original.set(name, cfg.kernelFunc);
  }
}

export function run(
  name: string,
  backend: WasmBackend,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {}
): TensorInfo {
  const k = wasmKernel(name);
  return k({ inputs: inputs as never, attrs: attrs as never, backend: backend as never }) as unknown as TensorInfo;
}

export function free(backend: WasmBackend, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

export function transpose(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return run('Transpose', backend, { x }, { perm });
}

/** A fresh float32 output; `zero` fills it (wasm's makeOutput leaves memory uninitialised). */
export function alloc(backend: WasmBackend, shape: number[], zero: boolean): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  if (zero) backend.typedArrayFromHeap(out).fill(0);
  return out;
}

/** A view of a tensor's data on the wasm heap; take it after the last allocation. */
export function heap(backend: WasmBackend, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t);
}

/** Same data, another shape (shares memory, bumps the ref count: free it like any output). */
export function reshape(backend: WasmBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return run('Reshape', backend, { x }, { shape });
}
