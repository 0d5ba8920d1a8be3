/**
 * The networks of the tfjs engine: an MLP, the seed system's 3-conv ConvNet and ResNet9V2
 * surrogates (as in NLFS fitness_functions.py) and a LeNet-style CNN, scaled by a width
 * multiplier, initialised deterministically from a seed (Glorot-uniform kernels, zero biases,
 * BN gamma 1 / beta 0).
 *
 * Differences from the Keras originals, none of which changes the function computed:
 * convolutions followed directly by batch norm have no bias (BN cancels it exactly), and the
 * network returns logits (the loss applies softmax).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../../../compute/types';
import { Rng } from '../../../rng';
import {
  ParamStore, batchNorm, conv2d, dense, dropout, flatten, globalAvgPool, maxPool2, relu, swish,
  type ApplyOptions, type Ctx, type Layer,
} from './layers';

export type { ApplyOptions } from './layers';

export type { ModelSpec } from '../../../compute/types';

export interface Model {
  readonly spec: ModelSpec;
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  readonly trainableVariables: tf.Variable[];
  /** Non-trainable state (batch-norm moving statistics). */
  readonly stateVariables: tf.Variable[];
  /** x: [N,H,W,C] (or [N,H*W*C] for the MLP). Returns logits [N, numClasses]. */
  apply(x: tf.Tensor, training: boolean, opts?: ApplyOptions): tf.Tensor2D;
  /** The penultimate layer's activations [N, F] (inference mode), for models that name it (lenet: the dense 128 after ReLU). */
  features?(x: tf.Tensor): tf.Tensor2D;
  numParams(): number;
  dispose(): void;
}

function scaled(n: number, width: number): number {
  return Math.max(1, Math.round(n * width));
}

function seq(...layers: Layer[]): Layer {
  return (x, ctx) => {
    let h = x;
    for (const l of layers) h = l(h, ctx);
    return h;
  };
}

function buildMlp(p: ParamStore, spec: ModelSpec, shape: [number, number, number], k: number): Layer {
  const width = spec.width ?? 1;
  const hidden = (spec.hidden ?? [256]).map((h) => scaled(h, width));
  const inDim = shape[0] * shape[1] * shape[2];
  const layers: Layer[] = [(x) => (x.rank === 2 ? x : tf.reshape(x, [x.shape[0], inDim]))];
  let cin = inDim;
  hidden.forEach((h, i) => {
    layers.push(dense(p, `dense${i}`, cin, h), relu);
    cin = h;
  });
  layers.push(dense(p, 'logits', cin, k));
  return seq(...layers);
}

/** NLFS ConvNet: conv12-BN-swish, conv24/2-BN-swish, conv48/2, GAP, dropout 0.1, dense. */
function buildConvNet(p: ParamStore, spec: ModelSpec, shape: [number, number, number], k: number): Layer {
  const w = spec.width ?? 1;
  const [f1, f2, f3] = [12, 24, 48].map((f) => scaled(f, w));
  return seq(
    conv2d(p, 'conv1', 3, shape[2], f1, { bias: false }),
    batchNorm(p, 'bn1', f1, spec.bnMomentum),
    swish,
    conv2d(p, 'conv2', 3, f1, f2, { stride: 2, bias: false }),
    batchNorm(p, 'bn2', f2, spec.bnMomentum),
    swish,
    conv2d(p, 'conv3', 3, f2, f3, { stride: 2 }),
    globalAvgPool,
    dropout(0.1),
    dense(p, 'logits', f3, k)
  );
}

/**
 * A small classic CNN, LeNet-style: conv5x5-8-ReLU, maxpool 2, conv5x5-16-ReLU, maxpool 2,
 * flatten, dense 128-ReLU, dense; 'same' convolutions with biases, 'valid' pooling (28 -> 14
 * -> 7), no batch norm or dropout. Not a surrogate of the search literature: a model that
 * reaches MNIST's usual accuracies (98%) in a few epochs on the CPU (README, "The main job").
 */
function buildLeNet(p: ParamStore, spec: ModelSpec, shape: [number, number, number], k: number): Layer & { features: Layer } {
  const w = spec.width ?? 1;
  const [f1, f2, d] = [8, 16, 128].map((f) => scaled(f, w));
  const [h2, w2] = [Math.floor(shape[0] / 4), Math.floor(shape[1] / 4)];
  if (h2 < 1 || w2 < 1) throw new Error(`model 'lenet' needs images of at least 4x4 pixels (got ${shape[0]}x${shape[1]})`);
  const body = seq(
    conv2d(p, 'conv1', 5, shape[2], f1),
    relu,
    maxPool2,
    conv2d(p, 'conv2', 5, f1, f2),
    relu,
    maxPool2,
    flatten,
    dense(p, 'dense', h2 * w2 * f2, d),
    relu,
  );
  const head = dense(p, 'logits', d, k);
  // The penultimate layer (the GAN metrics' feature space: engines/tfjs/gan/classifier.ts).
  return Object.assign(seq(body, head), { features: body });
}

/** NLFS ResNet9V2 block: (BN-swish-conv/2, BN-swish-conv, BN-swish-conv) + conv1x1/2 shortcut. */
function resBlock(p: ParamStore, name: string, cin: number, f: number, mom?: number): Layer {
  const main = seq(
    batchNorm(p, `${name}/bn1`, cin, mom), swish, conv2d(p, `${name}/conv1`, 3, cin, f, { stride: 2, bias: false }),
    batchNorm(p, `${name}/bn2`, f, mom), swish, conv2d(p, `${name}/conv2`, 3, f, f, { bias: false }),
    batchNorm(p, `${name}/bn3`, f, mom), swish, conv2d(p, `${name}/conv3`, 3, f, f)
  );
  const short = conv2d(p, `${name}/shortcut`, 1, cin, f, { stride: 2 });
  return (x, ctx) => tf.add(main(x, ctx), short(x, ctx));
}

function buildResNet9(p: ParamStore, spec: ModelSpec, shape: [number, number, number], k: number): Layer {
  const w = spec.width ?? 1;
  const [f0, f1, f2] = [8, 16, 32].map((f) => scaled(f, w));
  return seq(
    conv2d(p, 'stem', 3, shape[2], f0, { bias: false }),
    resBlock(p, 'block1', f0, f1, spec.bnMomentum),
    resBlock(p, 'block2', f1, f2, spec.bnMomentum),
    globalAvgPool,
    dropout(0.5),
    dense(p, 'logits', f2, k)
  );
}

export function createModel(
  spec: ModelSpec,
  inputShape: [number, number, number],
  numClasses: number,
  seed: number
): Model {
  const params = new ParamStore(Rng.derive(seed, 'init', spec.kind));
  const defaultRng = Rng.derive(seed, 'dropout');
  let net: Layer & { features?: Layer };
  switch (spec.kind) {
    case 'mlp': net = buildMlp(params, spec, inputShape, numClasses); break;
    case 'convnet': net = buildConvNet(params, spec, inputShape, numClasses); break;
    case 'resnet9': net = buildResNet9(params, spec, inputShape, numClasses); break;
    case 'lenet': net = buildLeNet(params, spec, inputShape, numClasses); break;
    default: throw new Error(`model '${spec.kind}' is not available on the tfjs engine (use --engine torch)`);
  }
  return {
    spec: { ...spec },
    inputShape,
    numClasses,
    trainableVariables: params.trainable,
    stateVariables: params.state,
    apply(x, training, opts = {}) {
      const ctx: Ctx = { training, rng: opts.rng ?? defaultRng, updateStats: training && opts.updateStats !== false };
      return tf.tidy(() => {
        let h = x;
        if (spec.kind !== 'mlp' && h.rank === 2) h = tf.reshape(h, [h.shape[0], ...inputShape]);
        return net(h, ctx) as tf.Tensor2D;
      });
    },
    ...(net.features
      ? {
          features(x: tf.Tensor): tf.Tensor2D {
            const body = net.features!;
            return tf.tidy(() => body(x.rank === 2 ? tf.reshape(x, [x.shape[0], ...inputShape]) : x, { training: false, rng: defaultRng, updateStats: false }) as tf.Tensor2D);
          },
        }
      : {}),
    numParams() {
      return params.trainable.reduce((a, v) => a + v.size, 0);
    },
    dispose() {
      for (const v of [...params.trainable, ...params.state]) v.dispose();
    },
  };
}
