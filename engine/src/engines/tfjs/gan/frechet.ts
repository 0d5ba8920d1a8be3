/**
 * The Fréchet distance between two Gaussians fitted to feature sets, in float64 (no tensors):
 *
 *   FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr( sqrt( sqrt(S1) S2 sqrt(S1) ) )
 *
 * (Dowson & Landau 1982; the formula of FID, Heusel et al. 2017). The matrix square roots come
 * from symmetric eigen-decompositions (cyclic Jacobi), eigenvalues clipped at 0, so the result
 * is exact for positive semi-definite covariances up to rounding; sqrt(S1) S2 sqrt(S1) is
 * symmetric, unlike S1 S2, whose square root scipy's sqrtm takes in the usual FID code.
 *
 * GAN runs apply it to the penultimate-layer features of Lossmith's digit classifier (lenet):
 * it is a Fréchet distance in that feature space, NOT Inception FID, and its values are not
 * comparable with published FIDs.
 */

/** A symmetric n x n matrix, row-major. */
export interface SymMatrix {
  n: number;
  a: Float64Array;
}

/** Mean and covariance (unbiased, n - 1) of `count` feature rows of length `dim`. */
export function meanCov(features: ArrayLike<number>, count: number, dim: number): { mean: Float64Array; cov: SymMatrix } {
  if (count < 2) throw new Error(`a covariance needs at least 2 samples, got ${count}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) mean[j] += features[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= count;
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) row[j] = features[i * dim + j] - mean[j];
    for (let j = 0; j < dim; j++) {
      const rj = row[j];
      if (rj === 0) continue;
      for (let k = j; k < dim; k++) cov[j * dim + k] += rj * row[k];
    }
  }
  for (let j = 0; j < dim; j++) {
    for (let k = j; k < dim; k++) {
      const v = cov[j * dim + k] / (count - 1);
      cov[j * dim + k] = v;
      cov[k * dim + j] = v;
    }
  }
  return { mean, cov: { n: dim, a: cov } };
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: values and the
 * eigenvectors as the columns of `vectors` (row-major n x n).
 */
export function symmetricEigen(m: SymMatrix, maxSweeps = 60): { values: Float64Array; vectors: Float64Array } {
  const n = m.n;
  const a = Float64Array.from(m.a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  if (scale === 0) return { values: new Float64Array(n), vectors: v };
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off <= 1e-30 * scale) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** The PSD square root V diag(sqrt(max(l, 0))) V^T of a symmetric matrix. */
export function sqrtPsd(m: SymMatrix): SymMatrix {
  const n = m.n;
  const { values, vectors } = symmetricEigen(m);
  const r = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * s;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) r[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return { n, a: r };
}

function matMul(x: Float64Array, y: Float64Array, n: number): Float64Array {
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const xik = x[i * n + k];
      if (xik === 0) continue;
      for (let j = 0; j < n; j++) r[i * n + j] += xik * y[k * n + j];
    }
  }
  return r;
}

/** The Fréchet distance between N(mu1, S1) and N(mu2, S2). */
export function frechetDistance(mu1: ArrayLike<number>, s1: SymMatrix, mu2: ArrayLike<number>, s2: SymMatrix): number {
  const n = s1.n;
  if (s2.n !== n || mu1.length !== n || mu2.length !== n) throw new Error('frechetDistance: dimensions differ');
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (mu1[i] - mu2[i]) ** 2;
  let tr = 0;
  for (let i = 0; i < n; i++) tr += s1.a[i * n + i] + s2.a[i * n + i];
  const r1 = sqrtPsd(s1).a;
  const m = matMul(matMul(r1, s2.a, n), r1, n);
  // Symmetrise against rounding before the eigen-decomposition.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (m[i * n + j] + m[j * n + i]);
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  const { values } = symmetricEigen({ n, a: m });
  let trSqrt = 0;
  for (const l of values) trSqrt += Math.sqrt(Math.max(l, 0));
  return Math.max(0, d2 + tr - 2 * trSqrt);
}

/** FD between two feature sets ([count, dim] row-major each). */
export function frechetOfFeatures(a: ArrayLike<number>, countA: number, b: ArrayLike<number>, countB: number, dim: number): number {
  const x = meanCov(a, countA, dim);
  const y = meanCov(b, countB, dim);
  return frechetDistance(x.mean, x.cov, y.mean, y.cov);
}
