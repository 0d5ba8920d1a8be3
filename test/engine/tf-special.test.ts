/**
 * Float32 tfjs special functions (engine/src/tf-special.ts) against the float64 oracle
 * (grammar/src/special.ts), on the cpu and the wasm backends.
 *
 * Tolerances (|got − ref| ≤ rel·|ref| + abs), measured maxima in brackets (cpu = wasm unless noted):
 *   i0e, i0, logI0, erfc   rel 2e-6                       [2.4e-7, 3.2e-7, 1.9e-7, 3.5e-7]
 *   i1e, i1                rel 4e-6                       [9.8e-7, 1.0e-6: Clenshaw round-off near x = 8]
 *   erfc tail x ∈ [4, 9]   rel 2e-6                       (1 − erf would be useless past 4)
 *   j0, j1                 rel 2e-6 + abs 6e-7·min(1, √(2/(π|x|)))   [abs/amplitude 3e-7 cpu; near
 *                          zeros past 8 only absolute accuracy is possible in float32]
 *   gradients vs analytic float64 derivatives: rel 1e-4 + abs 1e-6·scale
 *   tempered softmax: |Σp − 1| ≤ 1e-5, |p − p64| ≤ 1e-5, tf.grad vs float64 central differences 1e-4
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as S from '../../grammar/src/special';
import * as T from '../../engine/src/engines/tfjs/tf-special';
import { uniform } from '../helpers/uniform';

type Tol = { rel: number; abs?: number | ((x: number) => number) };

const rng = uniform;

const amp = (x: number) => Math.min(1, Math.sqrt(2 / (Math.PI * Math.abs(x))));

const grid = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => Math.fround(a + ((b - a) * i) / (n - 1)));

interface Case {
  name: string;
  f: (x: tf.Tensor) => tf.Tensor;
  ref: (x: number) => number;
  dref: (x: number) => number;
  xs: number[];
  tol: Tol;
  /** points for the gradient check */
  gx: number[];
}

const CASES: Case[] = [
  { name: 'i0e', f: T.i0e, ref: S.i0e, dref: S.dI0e, xs: grid(-60, 60, 2001).concat([1e3, 1e5, 1e10, 1e30, -1e30]), tol: { rel: 2e-6 }, gx: [] },
  { name: 'i1e', f: T.i1e, ref: S.i1e, dref: S.dI1e, xs: grid(-60, 60, 2001).concat([1e3, 1e5, 1e10, 1e30, -1e30]), tol: { rel: 4e-6 }, gx: [] },
  { name: 'i0', f: T.i0, ref: S.i0, dref: S.dI0, xs: grid(-91, 91, 2001), tol: { rel: 2e-6 }, gx: [] },
  { name: 'i1', f: T.i1, ref: S.i1, dref: S.dI1, xs: grid(-91, 91, 2001), tol: { rel: 4e-6 }, gx: [] },
  { name: 'logI0', f: T.logI0, ref: S.logI0, dref: S.dLogI0, xs: grid(-60, 60, 2001).concat([1e-3, 1e-2, -0.1, 1e5, 1e30]), tol: { rel: 2e-6 }, gx: [] },
  { name: 'erfc', f: T.erfc, ref: S.erfc, dref: S.dErfc, xs: grid(-6, 9, 2001), tol: { rel: 2e-6 }, gx: [] },
  { name: 'j0', f: T.j0, ref: S.j0, dref: S.dJ0, xs: grid(-60, 60, 2001).concat([1e3, 1e4, 1e5]), tol: { rel: 2e-6, abs: (x) => 6e-7 * amp(x) }, gx: [] },
  { name: 'j1', f: T.j1, ref: S.j1, dref: S.dJ1, xs: grid(-60, 60, 2001).concat([1e3, 1e4, 1e5]), tol: { rel: 2e-6, abs: (x) => 6e-7 * amp(x) }, gx: [] },
];
{
  const r = rng(11);
  for (const c of CASES) {
    const span = c.name === 'i0' || c.name === 'i1' ? 80 : c.name === 'erfc' ? 8 : 40;
    c.gx = Array.from({ length: 200 }, () => Math.fround((r() - 0.5) * 2 * span));
  }
}

function within(got: number, want: number, x: number, tol: Tol): boolean {
  if (!Number.isFinite(want)) return got === want;
  const abs = typeof tol.abs === 'function' ? tol.abs(x) : tol.abs ?? 0;
  return Math.abs(got - want) <= tol.rel * Math.abs(want) + abs;
}

/** Run fn and assert it created no lasting tensors. */
function noLeak<R>(label: string, fn: () => R): R {
  const before = tf.memory().numTensors;
  const out = fn();
  assert.equal(tf.memory().numTensors, before, `${label} leaked tensors`);
  return out;
}

async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') {
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/index.js'));
    setWasmPaths(dist + path.sep);
  }
  const ok = await tf.setBackend(name);
  assert.ok(ok, `backend ${name} initialised`);
  await tf.ready();
  assert.equal(tf.getBackend(), name);
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`tf-special on ${backend}`, async (t) => {
    await useBackend(backend);

    for (const c of CASES) {
      await t.test(`${c.name}: values vs float64 oracle (rel ${c.tol.rel})`, () => {
        const ys = noLeak(c.name, () => tf.tidy(() => c.f(tf.tensor1d(c.xs)).dataSync()));
        let worst = 0;
        for (let i = 0; i < c.xs.length; i++) {
          const want = c.ref(c.xs[i]);
          assert.ok(within(ys[i], want, c.xs[i], c.tol), `${c.name}(${c.xs[i]}) = ${ys[i]}, want ${want}`);
          if (want !== 0 && Number.isFinite(want)) worst = Math.max(worst, Math.abs(ys[i] - want) / Math.abs(want));
        }
        t.diagnostic(`${backend} ${c.name} max rel err ${worst.toExponential(2)}`);
      });

      await t.test(`${c.name}: tf.grad vs analytic float64 derivative (rel 1e-4)`, () => {
        const g = noLeak(`${c.name} grad`, () => tf.tidy(() => tf.grad((x: tf.Tensor) => c.f(x))(tf.tensor1d(c.gx)).dataSync()));
        for (let i = 0; i < c.gx.length; i++) {
          const x = c.gx[i];
          const want = c.dref(x);
          const scale = Math.max(Math.abs(want), c.name === 'erfc' ? 0 : Math.abs(c.ref(x)) * 1e-2, c.name.startsWith('j') ? amp(x) : 0);
          assert.ok(Math.abs(g[i] - want) <= 1e-4 * Math.abs(want) + 1e-6 * scale, `${c.name}'(${x}) = ${g[i]}, want ${want}`);
        }
      });

      await t.test(`${c.name}: finite values and gradients at 0 and large |x|`, () => {
        const unscaled = c.name === 'i0' || c.name === 'i1';
        const xs = unscaled ? [0, -0, 1e-30, 1e-6, 80, -80] : [0, -0, 1e-30, 1e-6, 1e4, -1e4, 1e20, -1e20];
        const [v, g] = noLeak(`${c.name} edge`, () =>
          tf.tidy(() => {
            const x = tf.tensor1d(xs);
            return [c.f(x).dataSync(), tf.grad((u: tf.Tensor) => c.f(u))(x).dataSync()];
          }),
        );
        for (let i = 0; i < xs.length; i++) {
          assert.ok(Number.isFinite(v[i]), `${c.name}(${xs[i]}) = ${v[i]}`);
          assert.ok(Number.isFinite(g[i]), `${c.name}'(${xs[i]}) = ${g[i]}`);
        }
      });
    }

    await t.test('gradients at 0 take the analytic limits', () => {
      const at0 = (f: (x: tf.Tensor) => tf.Tensor) => tf.tidy(() => tf.grad((x: tf.Tensor) => f(x))(tf.scalar(0)).dataSync()[0]);
      noLeak('limits', () => {
        assert.ok(Math.abs(at0(T.i1e) - 0.5) < 1e-6);
        assert.ok(Math.abs(at0(T.i1) - 0.5) < 1e-6);
        assert.ok(Math.abs(at0(T.j1) - 0.5) < 1e-6);
        assert.ok(at0(T.i0e) === 0); // kink: subgradient 0
        assert.ok(at0(T.i0) === 0);
        assert.ok(at0(T.j0) === 0);
        assert.ok(at0(T.logI0) === 0);
        assert.ok(Math.abs(at0(T.erfc) + 2 / Math.sqrt(Math.PI)) < 1e-6);
      });
    });

    await t.test('ops keep the shape of any input (0-d to 3-d)', () => {
      noLeak('shapes', () =>
        tf.tidy(() => {
          for (const shape of [[], [3], [2, 3], [2, 2, 2]]) {
            const n = shape.reduce((a, b) => a * b, 1);
            const x = tf.tensor(Array.from({ length: n }, (_, i) => i - 1.5), shape);
            for (const f of [T.i0e, T.i1e, T.i0, T.i1, T.logI0, T.erfc, T.j0, T.j1]) assert.deepEqual(f(x).shape, shape);
            assert.deepEqual(T.expT(x, 1.5).shape, shape);
            assert.deepEqual(T.logT(tf.abs(x), 0.5).shape, shape);
          }
        }),
      );
    });

    await t.test('erfc is accurate in the tail where 1 − erf is not', () => {
      const xs = grid(4, 9, 101);
      const y = noLeak('erfc tail', () => tf.tidy(() => T.erfc(tf.tensor1d(xs)).dataSync()));
      xs.forEach((x, i) => assert.ok(Math.abs(y[i] / S.erfc(x) - 1) < 2e-6, `erfc(${x}) = ${y[i]} vs ${S.erfc(x)}`));
    });

    await t.test('logT / expT vs oracle, gradients, [.]_+ before the power', () => {
      const r = rng(12);
      for (const tt of [0.5, 0.8, 0.99, 1, 1.01, 1.2, 1.5, 2]) {
        const xs = Array.from({ length: 100 }, () => Math.fround(Math.exp((r() - 0.5) * 6)));
        const lim = Math.min(3, 0.8 / Math.abs(1 - tt));
        const us = Array.from({ length: 100 }, () => Math.fround((r() - 0.5) * 2 * lim));
        const [lv, lg, ev, eg] = noLeak(`tempered t=${tt}`, () =>
          tf.tidy(() => {
            const x = tf.tensor1d(xs);
            const u = tf.tensor1d(us);
            return [
              T.logT(x, tt).dataSync(),
              tf.grad((a: tf.Tensor) => T.logT(a, tt))(x).dataSync(),
              T.expT(u, tt).dataSync(),
              tf.grad((a: tf.Tensor) => T.expT(a, tt))(u).dataSync(),
            ];
          }),
        );
        for (let i = 0; i < xs.length; i++) {
          const want = S.logT(xs[i], tt);
          assert.ok(Math.abs(lv[i] - want) <= 2e-6 * Math.max(1, Math.abs(want)), `logT(${xs[i]}, ${tt}) = ${lv[i]} vs ${want}`);
          assert.ok(Math.abs(lg[i] / S.dLogT(xs[i], tt) - 1) < 1e-4, `logT'(${xs[i]}, ${tt})`);
          const we = S.expT(us[i], tt);
          assert.ok(Math.abs(ev[i] - we) <= 2e-6 * Math.abs(we) + 1e-30, `expT(${us[i]}, ${tt}) = ${ev[i]} vs ${we}`);
          assert.ok(Math.abs(eg[i] - S.dExpT(us[i], tt)) <= 1e-4 * Math.abs(S.dExpT(us[i], tt)) + 1e-30, `expT'(${us[i]}, ${tt})`);
        }
      }
      const [a, ga, b] = noLeak('relu-before-pow', () =>
        tf.tidy(() => [
          T.expT(tf.tensor1d([-10, -2, 0]), 0.5).dataSync(),
          tf.grad((x: tf.Tensor) => T.expT(x, 0.5))(tf.tensor1d([-10, -2, 0])).dataSync(),
          T.expT(tf.tensor1d([5, 2, -1e30]), 1.5).dataSync(),
        ]),
      );
      assert.deepEqual(Array.from(a), [0, 0, 1]);
      assert.deepEqual(Array.from(ga), [0, 0, 1]);
      assert.deepEqual(Array.from(b), [Infinity, Infinity, 0]); // never NaN
    });

    await t.test('temperedSoftmax: rows sum to 1, match the float64 oracle', () => {
      const r = rng(13);
      const rows: number[][] = [];
      for (const K of [2, 3, 10, 100]) for (const sc of [0.5, 3, 10]) rows.push(Array.from({ length: K }, () => Math.fround((r() - 0.5) * 2 * sc)));
      const hard = [
        [960, ...new Array(999).fill(0)],
        [30, ...new Array(999).fill(0)],
        [20, ...new Array(9).fill(0)],
        [1000, 999, -1000, 0],
      ];
      for (const tt of [0.3, 0.5, 0.8, 1, 1.2, 1.5, 2, 3]) {
        const groups = new Map<number, number[][]>();
        for (const z of [...rows, ...hard]) groups.set(z.length, [...(groups.get(z.length) ?? []), z]);
        for (const zs of groups.values()) {
          const p = noLeak(`temperedSoftmax t=${tt}`, () => tf.tidy(() => T.temperedSoftmax(tf.tensor2d(zs), tt).arraySync() as number[][]));
          zs.forEach((z, b) => {
            const ref = S.temperedSoftmax(z, tt);
            const sum = p[b].reduce((x, y) => x + y, 0);
            assert.ok(Math.abs(sum - 1) <= 1e-5, `t=${tt} K=${z.length}: Σp = ${sum}`);
            p[b].forEach((v, k) => assert.ok(Math.abs(v - ref[k]) <= 1e-5, `t=${tt} K=${z.length} p[${k}] = ${v} vs ${ref[k]}`));
          });
        }
      }
      // any rank: softmax along the last axis
      noLeak('rank 3', () =>
        tf.tidy(() => {
          const z = tf.randomNormal([2, 3, 5], 0, 2, 'float32', 3);
          const s = tf.sum(T.temperedSoftmax(z, 1.5), -1).dataSync();
          s.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-5));
        }),
      );
    });

    await t.test('temperedSoftmax: tf.grad matches float64 central differences of the oracle', () => {
      const r = rng(14);
      for (const tt of [0.5, 0.8, 1, 1.2, 1.5, 2]) {
        const B = 4;
        const K = 6;
        const z = Array.from({ length: B }, () => Array.from({ length: K }, () => Math.fround((r() - 0.5) * 4)));
        const c = Array.from({ length: B }, () => Array.from({ length: K }, () => Math.fround(r() - 0.5)));
        const g = noLeak(`tempered grad t=${tt}`, () =>
          tf.tidy(() => {
            const ct = tf.tensor2d(c);
            return tf.grad((zz: tf.Tensor) => tf.sum(tf.mul(T.temperedSoftmax(zz, tt), ct)))(tf.tensor2d(z)).arraySync() as number[][];
          }),
        );
        const h = 1e-6;
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < K; j++) {
            const zp = z[b].slice();
            const zm = z[b].slice();
            zp[j] += h;
            zm[j] -= h;
            const pp = S.temperedSoftmax(zp, tt);
            const pm = S.temperedSoftmax(zm, tt);
            let fd = 0;
            for (let k = 0; k < K; k++) fd += (c[b][k] * (pp[k] - pm[k])) / (2 * h);
            assert.ok(Math.abs(g[b][j] - fd) <= 1e-4 * Math.abs(fd) + 2e-6, `t=${tt} dz[${b}][${j}] = ${g[b][j]}, fd ${fd}`);
          }
        }
      }
    });
  });
}
