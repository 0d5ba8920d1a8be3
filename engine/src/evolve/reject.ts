/**
 * Rejection before any training, cheapest first. Each rule has a reason code that the run's
 * statistics count (with its mean cost), and every rejected candidate is recorded with it:
 *
 *   checker               the DSL checker reports an error (types, names, arity)
 *   no-target             the loss does not read `y`
 *   no-prediction         the loss reads neither `p` nor `logits`
 *   integrity-non-finite  } the seed system's integrity check on the 1000-point two-class
 *   integrity-flat        } grid: finite, not flat, extremum not in the middle, at most one
 *   integrity-extremum    } turn; a loss that rises with pt is kept upside down (wrapped in
 *   integrity-oscillating } a negation), as the seed system does
 *   duplicate-text        the canonical printed form was seen before
 *   duplicate-phenotype   the normalised curve lies within L2 `phenotypeTolerance` of one seen before
 *   logits-protocol       AutoLoss-Zero / EvoMAL: descending the loss on one batch's logits
 *                         alone must raise that batch's accuracy above a threshold
 *
 * Task segmentation genomes take the same path with the integrity check on the segmentation
 * view (grammar's imageIntegrity: the loss of a 5%-foreground image against pt at every pixel)
 * and without the logits protocol (its batch is of classification samples).
 *
 * The logits protocol runs on the float64 evaluator with the symbolic gradient (no tfjs): for
 * the small expressions of a search this costs a few milliseconds (see `npm run bench`).
 * Its optimiser is SGD with the step normalised by the gradient's RMS over the batch, so that
 * a loss is not rejected for its scale alone (the surrogate trains with Adam, which is
 * scale-invariant); plain SGD would reject `0.01 * CE`.
 */
import {
  builtinById,
  checkText,
  differentiate,
  OPERATOR_IDS,
  resolveCall,
  evalExpr,
  imageIntegrity,
  integrityCheck,
  sampleEnv,
  toVector,
  type Expr,
  type Model,
} from '../../../grammar/src/index';
import { Rng } from '../rng';
import { canonicalKey, genomeFromModel, inputsUsed, isSegmentation, LOSS_NAME, negate, printGenome, type Genome } from './genome';

export const REJECT_REASONS = [
  'checker',
  'no-target',
  'no-prediction',
  'integrity-non-finite',
  'integrity-flat',
  'integrity-extremum',
  'integrity-oscillating',
  'duplicate-text',
  'duplicate-phenotype',
  'logits-protocol',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export interface LogitsProtocolOptions {
  enabled: boolean;
  /** Samples in the batch. */
  samples: number;
  classes: number;
  steps: number;
  /** Step size of the normalised SGD. */
  lr: number;
  /** Accuracy the optimised logits must exceed. */
  threshold: number;
  seed: number;
}

export interface ScreenOptions {
  /** L2 distance under which two normalised curves are the same phenotype (seed system: 0.01). */
  phenotypeTolerance: number;
  logits: LogitsProtocolOptions;
}

export const DEFAULT_SCREEN: ScreenOptions = {
  phenotypeTolerance: 0.01,
  logits: { enabled: true, samples: 32, classes: 10, steps: 100, lr: 0.2, threshold: 0.6, seed: 0 },
};

export type ScreenResult =
  | {
      ok: true;
      /** The genome as it enters the search (sign-flipped if its curve rose). */
      genome: Genome;
      text: string;
      key: string;
      flipped: boolean;
      phenotype: Float64Array;
      /** Accuracy reached by the logits protocol (null when disabled). */
      logitsAcc: number | null;
      ms: number;
    }
  | {
      ok: false;
      reason: RejectReason;
      detail: string;
      ms: number;
      /** Canonical key, once it was added to the archive. */
      key?: string;
      /** The candidate's text, when its phenotype was added to the archive (logits-protocol). */
      text?: string;
    };

/** Canonical keys and phenotypes seen so far. */
export class Archive {
  private readonly keys = new Set<string>();
  private readonly curves: Float64Array[] = [];

  hasKey(k: string): boolean {
    return this.keys.has(k);
  }
  addKey(k: string): void {
    this.keys.add(k);
  }
  addPhenotype(c: Float64Array): void {
    this.curves.push(c);
  }
  get size(): number {
    return this.curves.length;
  }
  /** Smallest L2 distance to a stored phenotype, stopping early once under `tol`. */
  nearest(c: Float64Array, tol: number): number {
    let best = Infinity;
    const tol2 = tol * tol;
    for (const o of this.curves) {
      let s = 0;
      for (let i = 0; i < c.length && s < best; i++) {
        const d = c[i] - o[i];
        s += d * d;
      }
      if (s < best) best = s;
      if (best < tol2) break;
    }
    return Math.sqrt(best);
  }
}

const INTEGRITY_REASON: Record<string, RejectReason> = {
  'non-finite': 'integrity-non-finite',
  'flat-loss': 'integrity-flat',
  'extremum-in-middle': 'integrity-extremum',
  'oscillating-loss': 'integrity-oscillating',
};

/**
 * Prints and checks a genome. The genome that goes on is the one read back from its text, so
 * a candidate is the same object whether it was just built or restored from a checkpoint.
 */
function check(g0: Genome): { model: Model; genome: Genome; error?: string } {
  const res = checkText(printGenome(g0), { integrity: false });
  const err = res.diagnostics.find((d) => d.severity === 'error');
  if (err) return { model: res.model, genome: g0, error: `${err.message} [${err.code}]` };
  return { model: res.model, genome: genomeFromModel(res.model, LOSS_NAME) };
}

function paramValues(g: Genome): Record<string, number> {
  return Object.fromEntries(g.params.map((p) => [p.name, p.value]));
}

/**
 * Runs every rule in order; a candidate that passes is added to the archive (its key and
 * phenotype), so later duplicates of it are rejected, and so is one that fails only the
 * logits protocol (it was seen).
 */
export function screen(g0: Genome, archive: Archive, opts: ScreenOptions = DEFAULT_SCREEN): ScreenResult {
  const t0 = performance.now();
  const fail = (reason: RejectReason, detail: string, key?: string, text?: string): ScreenResult => ({
    ok: false,
    reason,
    detail,
    ms: performance.now() - t0,
    ...(key ? { key } : {}),
    ...(text ? { text } : {}),
  });
  let checked = check(g0);
  if (checked.error) return fail('checker', checked.error);
  let g = checked.genome;
  const used = inputsUsed(g);
  if (!used.has('y')) return fail('no-target', 'the loss does not read y');
  if (!used.has('p') && !used.has('logits')) return fail('no-prediction', 'the loss reads neither p nor logits');
  const integrity = (model: Model, genome: Genome) => (isSegmentation(genome) ? imageIntegrity : integrityCheck)(model, LOSS_NAME, paramValues(genome));
  let integ = integrity(checked.model, g);
  if (!integ.ok) {
    const p = integ.problems.find((q) => q.code !== 'loss-rises')!;
    return fail(INTEGRITY_REASON[p.code] ?? 'integrity-non-finite', p.message);
  }
  let flipped = false;
  if (integ.problems.some((p) => p.code === 'loss-rises')) {
    flipped = true;
    checked = check(negate(g));
    if (checked.error) return fail('checker', checked.error);
    g = checked.genome;
    integ = integrity(checked.model, g);
    if (!integ.ok) return fail('integrity-non-finite', integ.problems[0].message);
  }
  const key = canonicalKey(g);
  if (archive.hasKey(key)) return fail('duplicate-text', 'the same expression was seen before', key);
  archive.addKey(key);
  const phenotype = Float64Array.from(integ.phenotype!);
  const dist = archive.nearest(phenotype, opts.phenotypeTolerance);
  if (dist < opts.phenotypeTolerance) return fail('duplicate-phenotype', `its normalised curve is within L2 ${dist.toPrecision(2)} of one seen before`, key);
  archive.addPhenotype(phenotype);
  let logitsAcc: number | null = null;
  if (opts.logits.enabled && !isSegmentation(g)) {
    const r = logitsProtocol(checked.model, paramValues(g), opts.logits);
    logitsAcc = r.acc;
    if (!r.ok) return fail('logits-protocol', r.detail, key, printGenome(g));
  }
  return { ok: true, genome: g, text: printGenome(g), key, flipped, phenotype, logitsAcc, ms: performance.now() - t0 };
}

/** Re-enters an accepted genome into an archive (rebuilding it on resume). */
/** Re-enters the phenotype of an accepted candidate (its `.loss` text) into an archive. */
export function archivePhenotype(text: string, archive: Archive): void {
  const res = checkText(text, { integrity: false });
  if (res.diagnostics.some((d) => d.severity === 'error')) return;
  const model = res.model;
  const g = genomeFromModel(model, LOSS_NAME);
  const integ = (isSegmentation(g) ? imageIntegrity : integrityCheck)(model, LOSS_NAME, paramValues(g));
  if (integ.phenotype) archive.addPhenotype(Float64Array.from(integ.phenotype));
}

export interface ProtocolResult {
  ok: boolean;
  acc0: number;
  acc: number;
  detail: string;
}

/** The fixed batch: logits ~ N(0, 1) and uniform labels, from the protocol's seed. */
export function protocolBatch(o: LogitsProtocolOptions): { z: Float64Array[]; labels: number[] } {
  const rng = Rng.derive(o.seed, 'logits-protocol');
  const z: Float64Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    z.push(Float64Array.from({ length: o.classes }, () => rng.normal()));
    labels.push(rng.int(o.classes));
  }
  return { z, labels };
}

const REDUCING = new Set(['sum', 'mean', 'max', 'min', 'logsumexp', 'softmax', 'log_softmax', 'tempered_softmax']);

/**
 * For a loss sum(E(y, p)) with E elementwise, dL/dp is elementwise too: returns it when the
 * symbolic derivative reads only y, p and numbers and reduces nothing (then one evaluation on
 * the flattened batch gives every sample's gradient at once).
 */
function elementwiseGradP(model: Model): Expr | null {
  const loss = model.losses.find((l) => l.name === LOSS_NAME);
  if (!loss || model.params.length || model.lets.length) return null;
  const e = loss.expr;
  if (e.kind !== 'Call' || e.callee !== 'sum' || e.args.length !== 1) return null;
  let gp: Expr;
  try {
    gp = differentiate(model, LOSS_NAME, 'p');
  } catch {
    return null;
  }
  let ok = true;
  const visit = (x: Expr): void => {
    if (!ok) return;
    if (x.kind === 'Name' && x.name !== 'y' && x.name !== 'p') ok = false;
    else if (x.kind === 'Call' && (REDUCING.has(x.callee) && x.args.length === 1)) ok = false;
    else if (x.kind === 'Missing') ok = false;
    if (x.kind === 'Unary') visit(x.operand);
    else if (x.kind === 'Binary') {
      visit(x.left);
      visit(x.right);
    } else if (x.kind === 'Call') x.args.forEach(visit);
  };
  visit(gp);
  return ok ? gp : null;
}

type Kernel = (n: number) => Float64Array;

/**
 * Compiles an elementwise expression over named arrays into a closure with preallocated
 * buffers (the tree-walking evaluator allocates per node and spreads arguments: 10x slower).
 * Returns null for anything that is not elementwise.
 */
export function compileElementwise(e: Expr, inputs: Record<string, Float64Array>, n: number): Kernel | null {
  const rec = (x: Expr): Kernel | null => {
    switch (x.kind) {
      case 'Number': {
        const buf = new Float64Array(n).fill(x.value);
        return () => buf;
      }
      case 'Name': {
        const a = inputs[x.name];
        return a && a.length === n ? () => a : null;
      }
      case 'Unary': {
        const a = rec(x.operand);
        if (!a) return null;
        const out = new Float64Array(n);
        return () => {
          const u = a(n);
          for (let i = 0; i < n; i++) out[i] = -u[i];
          return out;
        };
      }
      case 'Binary':
      case 'Call': {
        const args = x.kind === 'Binary' ? [x.left, x.right] : x.args;
        const b = x.kind === 'Binary' ? builtinById(OPERATOR_IDS[x.op]) : resolveCall(x.callee, x.args.length);
        if (!b || b.shape !== 'elementwise') return null;
        const ks = args.map(rec);
        if (ks.some((k) => !k)) return null;
        const f = b.fn;
        const out = new Float64Array(n);
        if (ks.length === 1) {
          const a = ks[0]!;
          return () => {
            const u = a(n);
            for (let i = 0; i < n; i++) out[i] = f(u[i]);
            return out;
          };
        }
        if (ks.length === 2) {
          const [a, c] = ks as Kernel[];
          return () => {
            const u = a(n);
            const v = c(n);
            for (let i = 0; i < n; i++) out[i] = f(u[i], v[i]);
            return out;
          };
        }
        return () => {
          const us = (ks as Kernel[]).map((k) => k(n));
          for (let i = 0; i < n; i++) out[i] = f(...us.map((u) => u[i]));
          return out;
        };
      }
      default:
        return null;
    }
  };
  return rec(e);
}

function softmaxRows(z: Float64Array[], out: Float64Array): void {
  const c = z[0].length;
  z.forEach((row, i) => {
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let s = 0;
    for (let k = 0; k < c; k++) s += out[i * c + k] = Math.exp(row[k] - m);
    for (let k = 0; k < c; k++) out[i * c + k] /= s;
  });
}

function logitsProtocolElementwise(gradP: Expr, o: LogitsProtocolOptions): ProtocolResult {
  const { z, labels } = protocolBatch(o);
  const c = o.classes;
  const acc0 = accuracy(z, labels);
  const y = new Float64Array(z.length * c);
  labels.forEach((l, i) => (y[i * c + l] = 1));
  const p = new Float64Array(z.length * c);
  const gz = new Float64Array(z.length * c);
  const kernel = compileElementwise(gradP, { y, p }, p.length);
  if (!kernel) return { ok: false, acc0, acc: NaN, detail: 'gradient not evaluable' };
  for (let step = 0; step < o.steps; step++) {
    softmaxRows(z, p);
    const gv = kernel(p.length);
    let sq = 0;
    for (let i = 0; i < z.length; i++) {
      // Through the softmax: dL/dz_k = p_k (g_k - sum_j p_j g_j).
      let dot = 0;
      for (let k = 0; k < c; k++) dot += p[i * c + k] * gv[i * c + k];
      for (let k = 0; k < c; k++) {
        const v = p[i * c + k] * (gv[i * c + k] - dot);
        if (!Number.isFinite(v)) return { ok: false, acc0, acc: accuracy(z, labels), detail: `the gradient is ${v} at step ${step}` };
        gz[i * c + k] = v;
        sq += v * v;
      }
    }
    const rms = Math.sqrt(sq / gz.length);
    if (rms === 0) break;
    const s = o.lr / rms;
    z.forEach((row, i) => {
      for (let k = 0; k < c; k++) row[k] -= s * gz[i * c + k];
    });
  }
  const acc = accuracy(z, labels);
  const ok = acc > o.threshold && acc > acc0;
  return { ok, acc0, acc, detail: ok ? `accuracy ${acc0.toFixed(2)} -> ${acc.toFixed(2)}` : `descending it on one batch's logits takes accuracy ${acc0.toFixed(2)} -> ${acc.toFixed(2)} (needs > ${o.threshold})` };
}

function accuracy(z: Float64Array[], labels: number[]): number {
  let c = 0;
  z.forEach((row, i) => {
    let arg = 0;
    for (let k = 1; k < row.length; k++) if (row[k] > row[arg]) arg = k;
    if (arg === labels[i]) c++;
  });
  return c / z.length;
}

/** Descends the loss on the logits of one fixed batch; the accuracy must exceed the threshold. */
export function logitsProtocol(model: Model, params: Record<string, number>, o: LogitsProtocolOptions): ProtocolResult {
  const fast = elementwiseGradP(model);
  if (fast) return logitsProtocolElementwise(fast, o);
  let grad: Expr;
  try {
    grad = differentiate(model, LOSS_NAME, 'logits');
  } catch (e) {
    return { ok: false, acc0: NaN, acc: NaN, detail: `no symbolic gradient: ${(e as Error).message}` };
  }
  const { z, labels } = protocolBatch(o);
  const acc0 = accuracy(z, labels);
  const ys = labels.map((l) => Float64Array.from({ length: o.classes }, (_, k) => (k === l ? 1 : 0)));
  const g = z.map(() => new Float64Array(o.classes));
  for (let step = 0; step < o.steps; step++) {
    let sq = 0;
    for (let i = 0; i < z.length; i++) {
      const env = sampleEnv(model, { logits: z[i], y: ys[i] }, params);
      let v: Float64Array;
      try {
        v = toVector(evalExpr(grad, (n) => env.get(n)), o.classes);
      } catch (e) {
        return { ok: false, acc0, acc: NaN, detail: `gradient not evaluable: ${(e as Error).message}` };
      }
      for (let k = 0; k < o.classes; k++) {
        const gk = v[k];
        if (!Number.isFinite(gk)) return { ok: false, acc0, acc: accuracy(z, labels), detail: `the gradient is ${gk} at step ${step}` };
        g[i][k] = gk;
        sq += gk * gk;
      }
    }
    const rms = Math.sqrt(sq / (z.length * o.classes));
    if (rms === 0) break;
    const s = o.lr / rms;
    for (let i = 0; i < z.length; i++) for (let k = 0; k < o.classes; k++) z[i][k] -= s * g[i][k];
  }
  const acc = accuracy(z, labels);
  const ok = acc > o.threshold && acc > acc0;
  return { ok, acc0, acc, detail: ok ? `accuracy ${acc0.toFixed(2)} -> ${acc.toFixed(2)}` : `descending it on one batch's logits takes accuracy ${acc0.toFixed(2)} -> ${acc.toFixed(2)} (needs > ${o.threshold})` };
}
