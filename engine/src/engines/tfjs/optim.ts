/**
 * Optimizers with an explicit per-step learning rate (the schedule lives in train.ts).
 * Adam: Kingma & Ba with bias correction; weightDecay is decoupled (AdamW style).
 * SGD: PyTorch semantics (weight decay added to the gradient, momentum buffer b = m*b + g,
 * Nesterov step g + m*b).
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamConfig, OptimizerConfig, SgdConfig } from '../../compute/types';

export type { AdamConfig, OptimizerConfig, SgdConfig } from '../../compute/types';

export interface Optimizer {
  /** Apply one step with gradients aligned to `vars`. Does not dispose the gradients. */
  step(grads: tf.Tensor[], lr: number): void;
  dispose(): void;
}

export function createOptimizer(cfg: OptimizerConfig, vars: tf.Variable[]): Optimizer {
  if (cfg.kind === 'adam') return adam(cfg, vars);
  return sgd(cfg, vars);
}

function adam(cfg: AdamConfig, vars: tf.Variable[]): Optimizer {
  const b1 = cfg.beta1 ?? 0.9;
  const b2 = cfg.beta2 ?? 0.999;
  const eps = cfg.epsilon ?? 1e-7; // Keras default, as in the seed system
  const wd = cfg.weightDecay ?? 0;
  const m: tf.Tensor[] = vars.map((v) => tf.keep(tf.zerosLike(v)));
  const s: tf.Tensor[] = vars.map((v) => tf.keep(tf.zerosLike(v)));
  let t = 0;
  return {
    step(grads, lr) {
      t++;
      const c1 = 1 - Math.pow(b1, t);
      const c2 = 1 - Math.pow(b2, t);
      const stepSize = (lr * Math.sqrt(c2)) / c1;
      const epsHat = eps * Math.sqrt(c2);
      tf.tidy(() => {
        vars.forEach((v, i) => {
          const g = grads[i];
          const mi = tf.add(tf.mul(m[i], b1), tf.mul(g, 1 - b1));
          const si = tf.add(tf.mul(s[i], b2), tf.mul(tf.square(g), 1 - b2));
          let nv = tf.sub(v, tf.mul(tf.div(mi, tf.add(tf.sqrt(si), epsHat)), stepSize));
          if (wd > 0) nv = tf.sub(nv, tf.mul(v, lr * wd));
          m[i].dispose();
          s[i].dispose();
          m[i] = tf.keep(mi);
          s[i] = tf.keep(si);
          v.assign(nv);
        });
      });
    },
    dispose() {
      tf.dispose([...m, ...s]);
    },
  };
}

function sgd(cfg: SgdConfig, vars: tf.Variable[]): Optimizer {
  const mom = cfg.momentum ?? 0;
  const nesterov = cfg.nesterov ?? false;
  const wd = cfg.weightDecay ?? 0;
  if (nesterov && mom <= 0) throw new Error('Nesterov momentum needs momentum > 0');
  const buf: (tf.Tensor | undefined)[] = vars.map(() => undefined);
  return {
    step(grads, lr) {
      tf.tidy(() => {
        vars.forEach((v, i) => {
          let g = grads[i];
          if (wd > 0) g = tf.add(g, tf.mul(v, wd));
          if (mom > 0) {
            const prev = buf[i];
            const b = prev ? tf.add(tf.mul(prev, mom), g) : tf.clone(g);
            prev?.dispose();
            buf[i] = tf.keep(b);
            g = nesterov ? tf.add(g, tf.mul(b, mom)) : b;
          }
          v.assign(tf.sub(v, tf.mul(g, lr)));
        });
      });
    },
    dispose() {
      tf.dispose(buf.filter((b): b is tf.Tensor => !!b));
    },
  };
}
