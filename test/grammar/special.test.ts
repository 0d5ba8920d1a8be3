/**
 * Float64 special functions (grammar/src/special.ts) against mpmath reference values
 * (test/fixtures/special-reference.json, 40 digits, see make_special_reference.py).
 *
 * Tolerances (|got − ref| ≤ rel·|ref| + abs), about 3–10× the measured maximum:
 *   erf, erfc              rel 2e-15            (measured 2.4e-16, 4.3e-16)
 *   i0, i1, i0e, i1e       rel 3e-15            (measured ≤ 8.5e-16)
 *   j0, j1                 rel 2e-15, abs 1e-16 (measured abs 1.3e-17 at zeros beyond 8; relative
 *                                                ~1e-16 at the first two zeros, which are factored out)
 *   logI0, i1OverX, i1eOverX, j1OverX, dI1, dLogI0   rel 3e-15
 *   dI0e, dI1e             rel 2e-15, abs 1e-16 (cancellation i1e − i0e for large |x|: relative
 *                                                3e-12 at x = 1e4, absolute 1e-19)
 *   dJ1                    rel 1e-14, abs 1e-16
 *   logT, expT             rel 5e-14            (expT near t = 1 with |x| = 100: 5.7e-15)
 *   tempered softmax       |p − ref| ≤ 1e-14, |Σp − 1| ≤ 1e-12, λ rel 1e-14
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as S from '../../grammar/src/special';
import { uniform } from '../helpers/uniform';

interface Reference {
  functions: Record<string, [number, number][]>;
  logT: [number, number, number][];
  expT: [number, number, number][];
  temperedSoftmax: { z: number[]; t: number; lambda: number; p: number[] }[];
}

function findFixture(): string {
  // out/test/grammar -> test/fixtures (also works when run from the source tree)
  const candidates = [
    path.resolve(__dirname, '../../../test/fixtures/special-reference.json'),
    path.resolve(__dirname, '../fixtures/special-reference.json'),
    path.resolve(process.cwd(), 'test/fixtures/special-reference.json'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error('special-reference.json not found');
  return found;
}

const REF: Reference = JSON.parse(fs.readFileSync(findFixture(), 'utf8'));

type Tol = { rel: number; abs?: number };

const FUNCS: Record<string, [(x: number) => number, Tol]> = {
  erf: [S.erf, { rel: 2e-15 }],
  erfc: [S.erfc, { rel: 2e-15 }],
  i0: [S.i0, { rel: 3e-15 }],
  i1: [S.i1, { rel: 3e-15 }],
  i0e: [S.i0e, { rel: 3e-15 }],
  i1e: [S.i1e, { rel: 3e-15 }],
  j0: [S.j0, { rel: 2e-15, abs: 1e-16 }],
  j1: [S.j1, { rel: 2e-15, abs: 1e-16 }],
  logI0: [S.logI0, { rel: 3e-15 }],
  i1OverX: [S.i1OverX, { rel: 3e-15 }],
  i1eOverX: [S.i1eOverX, { rel: 3e-15 }],
  j1OverX: [S.j1OverX, { rel: 3e-15 }],
  dI1: [S.dI1, { rel: 3e-15 }],
  dI0e: [S.dI0e, { rel: 2e-15, abs: 1e-16 }],
  dI1e: [S.dI1e, { rel: 2e-15, abs: 1e-16 }],
  dJ1: [S.dJ1, { rel: 1e-14, abs: 1e-16 }],
  dLogI0: [S.dLogI0, { rel: 3e-15 }],
};

function close(got: number, want: number, tol: Tol): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= tol.rel * Math.abs(want) + (tol.abs ?? 0);
}

const rng = uniform;

for (const [name, [f, tol]] of Object.entries(FUNCS)) {
  test(`${name} matches mpmath (rel ${tol.rel}${tol.abs ? `, abs ${tol.abs}` : ''})`, () => {
    const rows = REF.functions[name];
    assert.ok(rows && rows.length >= 20, `reference rows for ${name}`);
    for (const [x, want] of rows) {
      const got = f(x);
      assert.ok(close(got, want, tol), `${name}(${x}) = ${got}, want ${want} (rel err ${Math.abs(got - want) / Math.abs(want)})`);
    }
  });
}

test('erfc keeps full relative accuracy in the tail', () => {
  assert.ok(Math.abs(S.erfc(10) / 2.088487583762545e-45 - 1) < 1e-15);
  assert.equal(S.erfc(30), 0);
  assert.equal(S.erfc(-30), 2);
  assert.equal(S.erf(Infinity), 1);
  assert.equal(S.erf(-Infinity), -1);
  assert.equal(S.erfc(Infinity), 0);
  assert.ok(Number.isNaN(S.erf(NaN)) && Number.isNaN(S.erfc(NaN)));
  // erf + erfc = 1 across the branch points
  for (const x of [-5, -0.46875, -0.3, 0, 0.2, 0.46875, 0.5, 1, 3.99, 4, 4.01, 6]) {
    assert.ok(Math.abs(S.erf(x) + S.erfc(x) - 1) <= 2.3e-16, `erf+erfc at ${x}`);
  }
});

test('scaled Bessel functions are stable for huge |x| and I0/I1 overflow only past 713.98', () => {
  for (const x of [1e10, 1e100, 1e300]) {
    // Hankel: √(2πx)·e^{−x}I_n(x) = 1 − (4n²−1)/(8x) + O(x⁻²)
    const want = 1 / Math.sqrt(2 * Math.PI * x);
    assert.ok(Math.abs(S.i0e(x) / (want * (1 + 1 / (8 * x))) - 1) < 1e-14, `i0e(${x})`);
    assert.ok(Math.abs(S.i1e(x) / (want * (1 - 3 / (8 * x))) - 1) < 1e-14, `i1e(${x})`);
    assert.ok(Math.abs(S.i1e(-x) / -(want * (1 - 3 / (8 * x))) - 1) < 1e-14, `i1e(-${x})`);
  }
  assert.ok(Number.isFinite(S.i0(713)) && S.i0(713) > 1e307);
  assert.equal(S.i0(715), Infinity);
  assert.equal(S.i1(-715), -Infinity);
  assert.equal(S.logI0(1e300), 1e300);
  assert.equal(S.j0(Infinity), 0);
  assert.ok(S.j1(-Infinity) === 0);
});

test('symmetries: i0, i0e, j0, logI0, *OverX even; i1, i1e, j1, erf odd; erfc(−x) = 2 − erfc(x)', () => {
  const r = rng(1);
  for (let k = 0; k < 400; k++) {
    const x = (r() - 0.5) * 2 * Math.pow(10, r() * 4 - 2); // |x| in [0, 100)
    for (const f of [S.i0, S.i0e, S.j0, S.logI0, S.i1OverX, S.i1eOverX, S.j1OverX, S.dI1, S.dI1e, S.dJ1]) {
      assert.equal(f(-x), f(x), `${f.name} even at ${x}`);
    }
    for (const f of [S.i1, S.i1e, S.j1, S.erf, S.dLogI0, S.dI0e]) {
      assert.equal(f(-x), -f(x), `${f.name} odd at ${x}`);
    }
    assert.ok(Math.abs(S.erfc(-x) - (2 - S.erfc(x))) <= 4.5e-16, `erfc reflection at ${x}`);
  }
});

test('derivative helpers have the right limits at 0', () => {
  for (const z of [0, -0]) {
    assert.equal(S.i1OverX(z), 0.5);
    assert.equal(S.i1eOverX(z), 0.5);
    assert.equal(S.j1OverX(z), 0.5);
    assert.equal(S.dI1(z), 0.5);
    assert.equal(S.dI1e(z), 0.5);
    assert.equal(S.dJ1(z), 0.5);
    assert.ok(S.dI0(z) === 0);
    assert.ok(S.dJ0(z) === 0);
    assert.ok(S.dI0e(z) === 0); // kink of i0e: subgradient 0 (one-sided slopes ∓1)
    assert.ok(S.dLogI0(z) === 0);
    assert.equal(S.dErf(z), 2 / Math.sqrt(Math.PI));
    assert.equal(S.i0(z), 1);
    assert.equal(S.i0e(z), 1);
    assert.equal(S.j0(z), 1);
  }
  // one-sided slopes of i0e at the kink
  const h = 1e-7;
  assert.ok(Math.abs((S.i0e(h) - S.i0e(0)) / h + 1) < 1e-6);
  assert.ok(Math.abs((S.i0e(0) - S.i0e(-h)) / h - 1) < 1e-6);
});

/** Central difference with Richardson extrapolation (error O(h⁴)). */
function numDeriv(f: (x: number) => number, x: number, step?: number): number {
  const h = step ?? 1e-3 / Math.max(1, Math.abs(x)); // e^{−x²} varies on a scale 1/(2|x|)
  const d1 = (f(x + h) - f(x - h)) / (2 * h);
  const d2 = (f(x + h / 2) - f(x - h / 2)) / h;
  return (4 * d2 - d1) / 3;
}

test('derivative helpers agree with finite differences (rel 1e-8 + abs 1e-10·scale)', () => {
  const pairs: [string, (x: number) => number, (x: number) => number][] = [
    ['dErf', S.erf, S.dErf],
    ['dErfc', S.erfc, S.dErfc],
    ['dI0', S.i0, S.dI0],
    ['dI1', S.i1, S.dI1],
    ['dI0e', S.i0e, S.dI0e],
    ['dI1e', S.i1e, S.dI1e],
    ['dJ0', S.j0, S.dJ0],
    ['dJ1', S.j1, S.dJ1],
    ['dLogI0', S.logI0, S.dLogI0],
  ];
  const r = rng(2);
  for (const [name, f, df] of pairs) {
    for (let k = 0; k < 60; k++) {
      let x = (r() - 0.5) * 40;
      if (Math.abs(x) < 0.05) x = 0.05 * Math.sign(x || 1); // keep the stencil off i0e's kink
      const want = numDeriv(f, x);
      const got = df(x);
      const scale = Math.max(Math.abs(f(x)), Math.abs(want), name.startsWith('dErf') ? 0 : 1e-300);
      assert.ok(
        Math.abs(got - want) <= 1e-8 * Math.abs(want) + 1e-10 * scale,
        `${name}(${x}) = ${got}, finite difference ${want}`,
      );
    }
  }
  for (const t of [0.3, 0.5, 0.8, 1.2, 1.5, 2, 3]) {
    for (let k = 0; k < 20; k++) {
      const x = 0.05 + r() * 5;
      const u = (r() - 0.5) * Math.min(2, 0.8 / Math.abs(1 - t)); // well inside the support / before the pole
      // x^(-t) varies on the scale of x itself: the stencil scales with x.
      assert.ok(Math.abs(S.dLogT(x, t) / numDeriv((v) => S.logT(v, t), x, 1e-3 * Math.min(1, x)) - 1) < 1e-8, `dLogT(${x}, ${t})`);
      assert.ok(Math.abs(S.dExpT(u, t) / numDeriv((v) => S.expT(v, t), u) - 1) < 1e-8, `dExpT(${u}, ${t})`);
    }
  }
});

test('logT and expT match mpmath', () => {
  for (const [x, t, want] of REF.logT) {
    const got = S.logT(x, t);
    assert.ok(close(got, want, { rel: 5e-14 }), `logT(${x}, ${t}) = ${got}, want ${want}`);
  }
  for (const [x, t, want] of REF.expT) {
    const got = S.expT(x, t);
    assert.ok(close(got, want, { rel: 5e-14 }), `expT(${x}, ${t}) = ${got}, want ${want}`);
  }
});

test('logT/expT: inverse pair, t = 1 limits, positive part before the power', () => {
  const r = rng(3);
  for (const t of [0, 0.3, 0.5, 0.8, 0.99, 1, 1.01, 1.2, 1.5, 2, 3]) {
    for (let k = 0; k < 50; k++) {
      const x = Math.exp((r() - 0.5) * 8); // (e^-4, e^4)
      assert.ok(Math.abs(S.expT(S.logT(x, t), t) / x - 1) < 1e-13, `expT(logT(${x}))`);
      // logT(expT(u)) = u on the support / before the pole
      const lo = t < 1 ? -1 / (1 - t) : -10;
      const hi = t > 1 ? 1 / (t - 1) : 10;
      const u = lo + (hi - lo) * (0.05 + 0.9 * r());
      assert.ok(Math.abs(S.logT(S.expT(u, t), t) - u) <= 1e-12 * Math.max(1, Math.abs(u)), `logT(expT(${u}, ${t}))`);
    }
  }
  for (const x of [1e-3, 0.5, 1, 2, 100]) {
    assert.ok(Math.abs(S.logT(x, 1 + 1e-12) - Math.log(x)) < 1e-10);
    assert.ok(Math.abs(S.logT(x, 1 - 1e-12) - Math.log(x)) < 1e-10);
    assert.equal(S.logT(x, 1), Math.log(x));
  }
  for (const u of [-20, -1, 0, 0.5, 3]) {
    // exp_t(u) = e^u·(1 − (1−t)u²/2 + …)
    assert.ok(Math.abs(S.expT(u, 1 + 1e-12) / Math.exp(u) - 1) < 1e-12 * (1 + u * u));
    assert.ok(Math.abs(S.expT(u, 1 - 1e-12) / Math.exp(u) - 1) < 1e-12 * (1 + u * u));
    assert.equal(S.expT(u, 1), Math.exp(u));
  }
  // [.]_+ before the power: zeros for t < 1, +∞ past the pole for t > 1, never NaN.
  assert.equal(S.expT(-10, 0.5), 0);
  assert.equal(S.expT(-2, 0.5), 0);
  assert.equal(S.dExpT(-10, 0.5), 0);
  assert.equal(S.expT(5, 1.5), Infinity);
  assert.equal(S.expT(2, 1.5), Infinity);
  assert.equal(S.expT(-Infinity, 1.5), 0);
  assert.equal(S.logT(0, 0.5), -2);
  assert.equal(S.logT(0, 1.5), -Infinity);
});

test('temperedSoftmax matches mpmath root finding and sums to 1', () => {
  assert.ok(REF.temperedSoftmax.length >= 30);
  for (const c of REF.temperedSoftmax) {
    const p = S.temperedSoftmax(c.z, c.t);
    const lam = S.temperedLambda(c.z, c.t);
    const sum = p.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) <= 1e-12, `sum ${sum} for t=${c.t}, z=${c.z}`);
    assert.ok(Math.abs(lam - c.lambda) <= 1e-14 * Math.max(1, Math.abs(c.lambda)), `λ ${lam} vs ${c.lambda}`);
    p.forEach((v, k) => assert.ok(Math.abs(v - c.p[k]) <= 1e-14, `p[${k}] = ${v}, want ${c.p[k]} (t=${c.t}, z=${c.z})`));
    if (c.t < 1) p.forEach((v, k) => assert.equal(v === 0, c.p[k] === 0, 'same support'));
  }
});

test('temperedSoftmax converges on hard inputs (slow fixed point, many classes, big gaps)', () => {
  const r = rng(4);
  const cases: number[][] = [
    [960, ...new Array(999).fill(0)],
    [30, ...new Array(999).fill(0)],
    [20, ...new Array(9).fill(0)],
    Array.from({ length: 500 }, () => (r() - 0.5) * 60),
    [0],
    [1e6, -1e6],
    [-3, -3, -3],
  ];
  for (const t of [0.1, 0.5, 0.9, 1, 1.1, 1.5, 2, 3, 5]) {
    for (const z of cases) {
      const p = S.temperedSoftmax(z, t);
      const sum = p.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) <= 1e-12, `sum ${sum} for t=${t}, K=${z.length}, z0=${z[0]}`);
      assert.ok(p.every((v) => v >= 0 && v <= 1));
    }
  }
  // continuity in t across 1
  const z = [1.5, -0.3, 0.2, 2.2];
  const p1 = S.temperedSoftmax(z, 1);
  for (const t of [1 - 1e-9, 1 + 1e-9]) {
    S.temperedSoftmax(z, t).forEach((v, k) => assert.ok(Math.abs(v - p1[k]) < 1e-8));
  }
  // softmax at t = 1
  const e = z.map((v) => Math.exp(v));
  const se = e.reduce((a, b) => a + b, 0);
  p1.forEach((v, k) => assert.ok(Math.abs(v - e[k] / se) < 1e-16));
});

test('temperedSoftmaxVjp matches central differences of temperedSoftmax', () => {
  const r = rng(5);
  for (const t of [0.5, 0.8, 1, 1.2, 1.5, 2]) {
    for (let trial = 0; trial < 5; trial++) {
      const K = 2 + Math.floor(r() * 6);
      const z = Array.from({ length: K }, () => (r() - 0.5) * 4);
      const dp = Array.from({ length: K }, () => r() - 0.5);
      const p = S.temperedSoftmax(z, t);
      const vjp = S.temperedSoftmaxVjp(p, t, dp);
      const h = 1e-5;
      for (let j = 0; j < K; j++) {
        const zp = z.slice();
        const zm = z.slice();
        zp[j] += h;
        zm[j] -= h;
        const pp = S.temperedSoftmax(zp, t);
        const pm = S.temperedSoftmax(zm, t);
        let fd = 0;
        for (let k = 0; k < K; k++) fd += (dp[k] * (pp[k] - pm[k])) / (2 * h);
        assert.ok(Math.abs(vjp[j] - fd) <= 1e-7, `t=${t} dz[${j}] = ${vjp[j]}, fd ${fd}`);
      }
      // dz sums to 0 (softmax is shift invariant)
      assert.ok(Math.abs(vjp.reduce((a, b) => a + b, 0)) < 1e-15);
    }
  }
});
