/**
 * A small U-Net (Ronneberger, Fischer & Brox, MICCAI 2015) for small images, as plain variables
 * (models/layers.ts), two levels down instead of the paper's four:
 *
 *   x [N,H,W,channels] -> (conv3x3-IN-ReLU) x2 at F ─────────────────────────────┐ skip 1
 *     -> maxpool 2x2 -> (conv3x3-IN-ReLU) x2 at 2F ─────────────────────┐ skip 2   │
 *     -> maxpool 2x2 -> (conv3x3-IN-ReLU) x2 at 4F (bottleneck)         │          │
 *     -> up-conv 2x2/2 to 2F, concat skip 2 -> (conv3x3-IN-ReLU) x2 at 2F           │
 *     -> up-conv 2x2/2 to F,  concat skip 1 -> (conv3x3-IN-ReLU) x2 at F
 *     -> conv 1x1 to K: logits [N,H,W,K]
 *
 * 'same' padding throughout (the paper's valid convolutions and crops would shrink a 40x40
 * image to nothing). The up-convolution is the paper's: a 2x2 transposed convolution with
 * stride 2 that halves the channels. Two poolings need sides divisible by 4: other sizes are
 * zero-padded to the next multiple of 4 (split between both sides) inside `apply`, and the
 * logits are cropped back, so any H x W works and the output always matches the input.
 *
 * Normalisation: instance normalisation (IN: per image and channel over the pixels, then a
 * learnt scale and shift) after every 3x3 convolution, as nnU-Net does (Isensee et al., Nature
 * Methods 2021). Without any normalisation this network, trained with the soft Dice loss on
 * digits-clutter (Adam at 1e-3 or 3e-3), collapsed to all-background within the first epoch and
 * never left it (its loss constant to 8 digits), and cross-entropy per pixel needed 3 to 4 times
 * the steps; with batch or instance normalisation both learn from the first epoch (measured).
 * Instance rather than batch normalisation because it is the same function in training and
 * evaluation: no moving statistics to estimate or to keep with the best weights, and no
 * prediction depends on the other images of its batch.
 *
 * Initialisation: He uniform (Keras' he_uniform, U(±sqrt(6 / fan_in)), the ReLU-preserving
 * variance of He et al. 2015) for the 3x3 convolutions and the up-convolutions, Glorot uniform
 * for the final 1x1 (no ReLU after it), zero biases, IN scale 1 and shift 0; all drawn from
 * one stream derived from the seed, so a seed gives the same network on every backend and in
 * every process. The 3x3 convolutions have no bias (IN's shift takes its place).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../../rng';
import { ParamStore } from '../models/layers';

/** Sides the network's two 2x2 poolings divide exactly; `apply` pads other sizes up to it. */
export const UNET_SIDE_MULTIPLE = 4;

export interface UNetOptions {
  /** Input channels (1 for grey images). */
  channels: number;
  /** Output classes K (background included). */
  classes: number;
  /** Filters of the first level F (2F and 4F below it). */
  filters: number;
  /** Seed of the initial weights (stream 'init'/'unet'). */
  seed: number;
}

export interface UNet {
  /** Logits [N,H,W,K] of images [N,H,W,channels], any H and W. Not tidied: call inside tf.tidy. */
  apply(x: tf.Tensor4D): tf.Tensor4D;
  /** All its variables (all trainable), in a fixed order (optimizer state and snapshots align to it). */
  readonly vars: tf.Variable[];
  /** Number of weights. */
  readonly size: number;
  dispose(): void;
}

/** IN's epsilon (PyTorch's InstanceNorm2d default). */
const IN_EPS = 1e-5;

/**
 * Instance normalisation of x [N,H,W,C]: per image and channel, xhat = (x - mean) / sqrt(var +
 * eps) over the H*W pixels (biased variance), then gamma * xhat + beta. tfjs's autodiff of
 * these ops: a closed-form custom gradient (as models/layers.ts's batchNorm) measured no faster
 * on wasm, whose time goes to the elementwise ops either way.
 */
export function instanceNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, IN_EPS))), gamma), beta);
}

/** How much padding a side of `n` pixels needs before and after to reach a multiple of 4. */
export function unetPadding(n: number): [number, number] {
  const extra = (UNET_SIDE_MULTIPLE - (n % UNET_SIDE_MULTIPLE)) % UNET_SIDE_MULTIPLE;
  const before = Math.floor(extra / 2);
  return [before, extra - before];
}

export function createUNet(opts: UNetOptions): UNet {
  const { channels, classes, filters: F } = opts;
  for (const [name, v] of [['channels', channels], ['classes', classes], ['filters', F]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`U-Net: ${name} must be a whole number >= 1, got ${v}`);
  }
  const p = new ParamStore(Rng.derive(opts.seed, 'init', 'unet'));
  /** He uniform: ParamStore's Glorot uniform limit sqrt(6 / (fanIn + fanOut)) with fanOut 0. */
  const he = (name: string, shape: number[], fanIn: number): tf.Variable => p.glorot(name, shape, fanIn, 0);

  /** A 3x3 'same' convolution (no bias), instance normalisation, ReLU. */
  const convRelu = (name: string, cin: number, cout: number) => {
    const w = he(name + '/kernel', [3, 3, cin, cout], 9 * cin);
    const gamma = p.constant(name + '/in/gamma', [cout], 1);
    const beta = p.constant(name + '/in/beta', [cout], 0);
    return (x: tf.Tensor4D): tf.Tensor4D => tf.relu(instanceNorm(tf.conv2d(x, w as tf.Tensor4D, 1, 'same'), gamma as tf.Tensor1D, beta as tf.Tensor1D));
  };
  const block = (name: string, cin: number, cout: number) => {
    const a = convRelu(name + '/conv1', cin, cout);
    const b = convRelu(name + '/conv2', cout, cout);
    return (x: tf.Tensor4D): tf.Tensor4D => b(a(x));
  };
  /**
   * The 2x2 stride-2 up-convolution (transposed; tfjs filters are [k, k, out, in]). Each output
   * pixel is one kernel tap over the `cin` input channels, so its fan-in is cin.
   */
  const upConv = (name: string, cin: number, cout: number) => {
    const w = he(name + '/kernel', [2, 2, cout, cin], cin);
    const b = p.constant(name + '/bias', [cout], 0);
    return (x: tf.Tensor4D): tf.Tensor4D => {
      const [n, h, wd] = x.shape;
      return tf.add(tf.conv2dTranspose(x, w as tf.Tensor4D, [n, 2 * h, 2 * wd, cout], 2, 'same'), b);
    };
  };

  const down1 = block('down1', channels, F);
  const down2 = block('down2', F, 2 * F);
  const bottom = block('bottleneck', 2 * F, 4 * F);
  const up2 = upConv('up2', 4 * F, 2 * F);
  const dec2 = block('dec2', 4 * F, 2 * F);
  const up1 = upConv('up1', 2 * F, F);
  const dec1 = block('dec1', 2 * F, F);
  const headW = p.glorot('head/kernel', [1, 1, F, classes], F, classes);
  const headB = p.constant('head/bias', [classes], 0);
  const pool = (x: tf.Tensor4D): tf.Tensor4D => tf.maxPool(x, 2, 2, 'valid');

  return {
    apply(x) {
      const [n, H, W, c] = x.shape;
      if (c !== channels) throw new Error(`U-Net: images have ${c} channels, the network takes ${channels}`);
      const ph = unetPadding(H);
      const pw = unetPadding(W);
      const padded = ph[0] + ph[1] + pw[0] + pw[1] > 0;
      const xin = padded ? tf.pad(x, [[0, 0], ph, pw, [0, 0]]) : x;
      const s1 = down1(xin);
      const s2 = down2(pool(s1));
      const b = bottom(pool(s2));
      const d2 = dec2(tf.concat([up2(b), s2], 3));
      const d1 = dec1(tf.concat([up1(d2), s1], 3));
      const logits = tf.add(tf.conv2d(d1, headW as tf.Tensor4D, 1, 'same'), headB) as tf.Tensor4D;
      return padded ? tf.slice(logits, [0, ph[0], pw[0], 0], [n, H, W, classes]) : logits;
    },
    vars: p.trainable,
    size: p.trainable.reduce((a, v) => a + v.size, 0),
    dispose() {
      tf.dispose(p.trainable);
    },
  };
}
