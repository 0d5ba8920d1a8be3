/**
 * A small class-conditional DCGAN for 28x28 grey digits, as plain variables (models/layers.ts):
 *
 * - generator: [z, one-hot label] -> dense 7x7x2F -> BN -> ReLU -> transposed conv 4x4/2 to
 *   14x14xF -> BN -> ReLU -> transposed conv 4x4/2 to 28x28x1 -> sigmoid (pixels in [0, 1], as
 *   the dataset's);
 * - discriminator: conv 4x4/2 to 14x14xF -> leaky ReLU(0.2) -> conv 4x4/2 to 7x7x2F -> leaky
 *   ReLU -> flatten phi -> one raw output w.phi + b + e_y.phi (a projection discriminator,
 *   Miyato & Koyama 2018: the label's embedding e_y projected on the features). No batch norm
 *   (gradient penalties are per sample).
 *
 * The discriminator is twice differentiable in tfjs (WGAN-GP's gradient of a gradient): its
 * leaky ReLU is 0.6x + 0.4|x|, whose gradient tfjs writes with ops of the input (tf.leakyRelu's
 * and tanh-like gradients use comparisons or saved outputs, through which tfjs's nested tapes
 * lose terms). Seeded Glorot initialisation from the training seed.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../../rng';
import { ParamStore, batchNorm, type Ctx } from '../models/layers';

export interface GanNets {
  generate(z: tf.Tensor2D, labels: tf.Tensor2D, ctx: Ctx): tf.Tensor4D;
  discriminate(x: tf.Tensor4D, labels: tf.Tensor2D): tf.Tensor1D;
  gVars: tf.Variable[];
  dVars: tf.Variable[];
  dispose(): void;
}

/** Leaky ReLU with slope 0.2, twice differentiable in tfjs (see the header). */
export function leaky(x: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, 0.6), tf.mul(tf.abs(x), 0.4));
}

export function createGanNets(zDim: number, classes: number, filters: number, seed: number, bnMomentum = 0.9): GanNets {
  const F = filters;
  const F2 = 2 * filters;
  const g = new ParamStore(Rng.derive(seed, 'init', 'gan-generator'));
  const gDense = g.glorot('g/dense/kernel', [zDim + classes, 7 * 7 * F2], zDim + classes, 7 * 7 * F2);
  const gBn0 = batchNorm(g, 'g/bn0', F2, bnMomentum);
  // Transposed convolutions: filters [k, k, out, in].
  const gT1 = g.glorot('g/up1/kernel', [4, 4, F, F2], 4 * 4 * F2, 4 * 4 * F);
  const gBn1 = batchNorm(g, 'g/bn1', F, bnMomentum);
  const gT2 = g.glorot('g/up2/kernel', [4, 4, 1, F], 4 * 4 * F, 4 * 4 * 1);
  const gB2 = g.constant('g/up2/bias', [1], 0);

  const d = new ParamStore(Rng.derive(seed, 'init', 'gan-discriminator'));
  const dC1 = d.glorot('d/conv1/kernel', [4, 4, 1, F], 4 * 4 * 1, 4 * 4 * F);
  const dB1 = d.constant('d/conv1/bias', [F], 0);
  const dC2 = d.glorot('d/conv2/kernel', [4, 4, F, F2], 4 * 4 * F, 4 * 4 * F2);
  const dB2 = d.constant('d/conv2/bias', [F2], 0);
  const phi = 7 * 7 * F2;
  const dOut = d.glorot('d/out/kernel', [phi, 1], phi, 1);
  const dOutB = d.constant('d/out/bias', [1], 0);
  const dEmbed = d.glorot('d/embed', [classes, phi], classes, phi);

  return {
    generate(z, labels, ctx) {
      return tf.tidy(() => {
        const n = z.shape[0];
        let h: tf.Tensor = tf.matMul(tf.concat([z, labels], 1), gDense as tf.Tensor2D);
        h = tf.relu(gBn0(tf.reshape(h, [n, 7, 7, F2]), ctx));
        h = tf.conv2dTranspose(h as tf.Tensor4D, gT1 as tf.Tensor4D, [n, 14, 14, F], 2, 'same');
        h = tf.relu(gBn1(h, ctx));
        h = tf.add(tf.conv2dTranspose(h as tf.Tensor4D, gT2 as tf.Tensor4D, [n, 28, 28, 1], 2, 'same'), gB2);
        return tf.sigmoid(h) as tf.Tensor4D;
      });
    },
    discriminate(x, labels) {
      return tf.tidy(() => {
        const n = x.shape[0];
        let h = leaky(tf.add(tf.conv2d(x, dC1 as tf.Tensor4D, 2, 'same'), dB1));
        h = leaky(tf.add(tf.conv2d(h as tf.Tensor4D, dC2 as tf.Tensor4D, 2, 'same'), dB2));
        const f = tf.reshape(h, [n, phi]) as tf.Tensor2D;
        const out = tf.add(tf.matMul(f, dOut as tf.Tensor2D), dOutB);
        const proj = tf.sum(tf.mul(f, tf.matMul(labels, dEmbed as tf.Tensor2D)), 1, true);
        return tf.reshape(tf.add(out, proj), [n]) as tf.Tensor1D;
      });
    },
    gVars: g.trainable,
    dVars: d.trainable,
    dispose() {
      tf.dispose([...g.trainable, ...g.state, ...d.trainable, ...d.state]);
    },
  };
}
