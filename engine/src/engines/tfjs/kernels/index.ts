/**
 * Training kernels for tfjs's wasm backend: wasm lacks Conv2DBackpropFilter (so no CNN can
 * train) and its Conv2DBackpropInput and transposed BatchMatMul are naive loops. These
 * replacements are built on wasm's own XNNPACK kernels; see conv2d.ts and matmul.ts. Two
 * kernels of our own (fused training batch norm, batchnorm.ts) replace a dozen composed ops.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain, batchNormTrainGrad, BN_BACKWARD, BN_FORWARD, SWISH_BACKWARD, swishGrad } from './batchnorm';
import { conv2DBackpropFilter, conv2DBackpropInput } from './conv2d';
import { batchMatMul } from './matmul';
import { maxPoolGrad } from './pool';
import { captureOriginal } from './wasm-util';

export { setFilterGradVariant, setInputGradMode, chooseFilterVariant, type FilterGradVariant, type InputGradMode } from './conv2d';

let registered = false;

const KERNELS: { name: string; fn: unknown }[] = [
  { name: 'Conv2DBackpropFilter', fn: conv2DBackpropFilter },
  { name: 'Conv2DBackpropInput', fn: conv2DBackpropInput },
  { name: 'BatchMatMul', fn: batchMatMul },
  { name: 'MaxPoolGrad', fn: maxPoolGrad },
  { name: BN_FORWARD, fn: batchNormTrain },
  { name: BN_BACKWARD, fn: batchNormTrainGrad },
  { name: SWISH_BACKWARD, fn: swishGrad },
];

export { BN_BACKWARD, BN_FORWARD, SWISH_BACKWARD } from './batchnorm';

/** Names of the kernels this module supplies for 'wasm'. */
export const WASM_TRAINING_KERNELS = KERNELS.map((k) => k.name);

/**
 * Register (or replace) the wasm training kernels. Idempotent. Safe to call before the wasm
 * backend is initialised: kernels are looked up by name at run time.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  // wasm's own kernels we build on, captured before anything is replaced.
  for (const n of ['Conv2D', 'Transpose', 'Reshape', 'BatchMatMul', 'Conv2DBackpropInput']) captureOriginal(n);
  for (const { name, fn } of KERNELS) {
    const prev = tf.getKernel(name, 'wasm');
    if (prev) tf.unregisterKernel(name, 'wasm');
    // Keep wasm's setupFunc (it binds the C++ entry point the original kernelFunc uses, and
    // runs when the backend initialises).
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: fn as tf.KernelFunc,
      ...(prev?.setupFunc ? { setupFunc: prev.setupFunc } : {}),
      ...(prev?.disposeFunc ? { disposeFunc: prev.disposeFunc } : {}),
    });
  }
  registered = true;
}

export function wasmTrainingKernelsRegistered(): boolean {
  return registered;
}
