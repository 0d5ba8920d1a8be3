/**
 * GAN runs (`task gan` files): the tfjs lowering of every examples/gan loss against the float64
 * evaluator (values, and gradients against central differences of the evaluator), the Fréchet
 * distance against known answers, a short end-to-end `lossmith compare` of a GAN file through
 * the CLI and a worker process (summary.json, run folder, events), and the refusals that come
 * before any run folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { checkText, evalExpr, sampleEnv } from '../../grammar/src/index';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { compileGanLoss } from '../../engine/src/engines/tfjs/compile';
import { createGanNets } from '../../engine/src/engines/tfjs/gan/nets';
import { clipWeights, gradNorm } from '../../engine/src/engines/tfjs/gan/train-gan';
import { frechetDistance, frechetOfFeatures, sqrtPsd, symmetricEigen } from '../../engine/src/engines/tfjs/gan/frechet';
import { main, type Io } from '../../engine/src/cli';
import { Rng } from '../../engine/src/rng';
import type { CompareSummary } from '../../protocol/run-events';
import { tmpDir } from '../helpers/tmp';
import { killAfterFirstTraining } from '../helpers/kill-run';

const ROOT = path.join(__dirname, '..', '..', '..');
const GAN = path.join(ROOT, 'examples', 'gan');

function fakeIo(): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (s: string) => void (io.stdout += s), err: (s: string) => void (io.stderr += s) };
  return io;
}

test('gan lowering: every examples/gan loss equals the float64 evaluator, values and gradients', async () => {
  await initBackend('cpu');
  const files = fs.readdirSync(GAN).filter((f) => f.endsWith('.loss')).sort();
  assert.ok(files.length >= 6);
  let checked = 0;
  for (const f of files) {
    const source = fs.readFileSync(path.join(GAN, f), 'utf8');
    const { model } = checkText(source, { integrity: false });
    assert.equal(model.task, 'gan', f);
    for (const l of model.losses) {
      const fn = compileGanLoss(model, l.name);
      const rng = new Rng(7 + checked);
      const n = 40;
      const pts = Array.from({ length: n }, () => ({ d_real: Math.fround(rng.uniform(-4, 4)), d_fake: Math.fround(rng.uniform(-4, 4)), grad_norm: Math.fround(rng.uniform(0, 3)) }));
      const inputs = { d_real: tf.tensor1d(pts.map((p) => p.d_real)), d_fake: tf.tensor1d(pts.map((p) => p.d_fake)), grad_norm: tf.tensor1d(pts.map((p) => p.grad_norm)) };
      const value = fn(inputs).dataSync();
      const names = ['d_real', 'd_fake', 'grad_norm'] as const;
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.add(tf.sum(fn({ d_real: a as tf.Tensor1D, d_fake: b as tf.Tensor1D, grad_norm: c as tf.Tensor1D })), tf.mul(0, tf.sum(tf.add(tf.add(a, b), c)))))([inputs.d_real, inputs.d_fake, inputs.grad_norm]).map((g) => g.dataSync());
      const expr = l.expr;
      const at = (p: Record<string, number>): number => {
        const env = sampleEnv(model, { logits: [0, 0], y: [1, 0], inputs: p });
        return evalExpr(expr, (x) => env.get(x)) as number;
      };
      pts.forEach((p, i) => {
        const v64 = at(p);
        assert.ok(Math.abs(value[i] - v64) <= 1e-5 * Math.max(1, Math.abs(v64)), `${f}#${l.name} value at ${JSON.stringify(p)}: ${value[i]} vs ${v64}`);
        names.forEach((name, k) => {
          const h = 1e-6;
          const g64 = (at({ ...p, [name]: p[name] + h }) - at({ ...p, [name]: p[name] - h })) / (2 * h);
          assert.ok(Math.abs(grads[k][i] - g64) <= 1e-4 * Math.max(1, Math.abs(g64)), `${f}#${l.name} d/d${name} at ${JSON.stringify(p)}: ${grads[k][i]} vs ${g64}`);
        });
      });
      assert.equal(fn.reads.has('grad_norm'), l.name === 'wgan_gp_d', `${f}#${l.name} reads`);
      tf.dispose(Object.values(inputs));
      checked++;
    }
  }
  assert.equal(checked, 12);
});

test('Fréchet distance: known answers (diagonal, rotated, identical) and the eigen-decomposition', () => {
  const diag = (d: number[]) => {
    const n = d.length;
    const a = new Float64Array(n * n);
    d.forEach((v, i) => (a[i * n + i] = v));
    return { n, a };
  };
  // Diagonal covariances: FD = |mu1 - mu2|^2 + sum (s1 - s2)^2 with s the standard deviations.
  const v1 = [1, 4, 9, 0.25];
  const v2 = [4, 1, 9, 1];
  const mu1 = [0, 1, 2, 3];
  const mu2 = [1, 1, 0, 3];
  const expected = 1 + 0 + 4 + 0 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0 + (0.5 - 1) ** 2;
  assert.ok(Math.abs(frechetDistance(mu1, diag(v1), mu2, diag(v2)) - expected) < 1e-9);
  // The same covariances rotated by one orthogonal matrix (they commute): the same FD.
  const n = 4;
  const rng = new Rng(3);
  const q = new Float64Array(n * n);
  // Gram-Schmidt of a random matrix.
  for (let j = 0; j < n; j++) {
    const col = Array.from({ length: n }, () => rng.normal());
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += col[i] * q[i * n + k];
      for (let i = 0; i < n; i++) col[i] -= dot * q[i * n + k];
    }
    const norm = Math.hypot(...col);
    for (let i = 0; i < n; i++) q[i * n + j] = col[i] / norm;
  }
  const rot = (d: number[]) => {
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += q[i * n + k] * d[k] * q[j * n + k];
    return { n, a };
  };
  assert.ok(Math.abs(frechetDistance(mu1, rot(v1), mu2, rot(v2)) - expected) < 1e-9);
  // Non-commuting 2x2 case against the closed form tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)).
  const s1 = { n: 2, a: Float64Array.from([2, 0.5, 0.5, 1]) };
  const s2 = { n: 2, a: Float64Array.from([1, -0.3, -0.3, 3]) };
  const r = sqrtPsd(s1).a;
  const m = [0, 0, 0, 0];
  const rs2 = [r[0] * s2.a[0] + r[1] * s2.a[2], r[0] * s2.a[1] + r[1] * s2.a[3], r[2] * s2.a[0] + r[3] * s2.a[2], r[2] * s2.a[1] + r[3] * s2.a[3]];
  m[0] = rs2[0] * r[0] + rs2[1] * r[2];
  m[1] = rs2[0] * r[1] + rs2[1] * r[3];
  m[2] = rs2[2] * r[0] + rs2[3] * r[2];
  m[3] = rs2[2] * r[1] + rs2[3] * r[3];
  const trM = m[0] + m[3];
  const det = m[0] * m[3] - m[1] * m[2];
  const fd2 = 2 + 1 + 1 + 3 - 2 * Math.sqrt(trM + 2 * Math.sqrt(det));
  assert.ok(Math.abs(frechetDistance([0, 0], s1, [0, 0], s2) - fd2) < 1e-10);
  // Identical feature sets: 0; the eigen-decomposition reconstructs a random symmetric matrix.
  const feats = Float64Array.from({ length: 300 * 5 }, () => rng.normal());
  assert.ok(frechetOfFeatures(feats, 300, feats, 300, 5) < 1e-9);
  const k = 12;
  const a = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) a[i * k + j] = a[j * k + i] = rng.normal();
  const { values, vectors } = symmetricEigen({ n: k, a });
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += vectors[i * k + l] * values[l] * vectors[j * k + l];
      assert.ok(Math.abs(s - a[i * k + j]) < 1e-10);
    }
  }
});

test('compare a GAN file end to end: tiny DCGAN trainings on a worker, FD and accuracy in summary.json', async () => {
  const dir = tmpDir('lossmith-gan-');
  const cache = process.env.LOSSMITH_CACHE;
  process.env.LOSSMITH_CACHE = path.join(dir, 'cache');
  try {
    const io = fakeIo();
    const runs = path.join(dir, 'runs');
    const code = await main(
      ['compare', path.join(GAN, 'hinge.loss'), '--seeds', '2', '--epochs', '2', '--steps-per-epoch', '2', '--batch-size', '16', '--classifier-epochs', '1', '--workers', '1', '--backend', 'wasm', '--runs-dir', runs],
      io,
    );
    assert.equal(code, 0, io.stderr + io.stdout);
    assert.match(io.stdout, /2 losses × 1 augmentation × 2 seeds = 4 trainings/);
    assert.match(io.stdout, /hinge · none · seed 2: FD \d+\.\d, accuracy on generated digits \d+\.\d%/);
    assert.match(io.stdout, /FD in the feature space of Lossmith's digit classifier, not Inception FID/);
    assert.match(io.stdout, /ns \(baseline\)/);
    const [id] = fs.readdirSync(runs);
    const run = path.join(runs, id);
    assert.deepEqual(['config.json', 'events.jsonl', 'sources.json', 'summary.json'].filter((f) => !fs.existsSync(path.join(run, f))), []);
    const s = JSON.parse(fs.readFileSync(path.join(run, 'summary.json'), 'utf8')) as CompareSummary;
    assert.equal(s.status, 'done');
    assert.equal(s.task, 'gan');
    assert.equal(s.metrics?.primary, 'fd');
    assert.match(s.metrics!.note, /not Inception FID/);
    assert.equal(s.baseline, 'ns');
    assert.deepEqual(s.results.map((r) => r.loss), ['ns', 'hinge']);
    for (const r of s.results) {
      assert.equal(r.finished, 2);
      assert.ok(r.gan && r.gan.fd.perSeed.every((v) => typeof v === 'number' && v > 0));
      assert.ok(r.gan.genAccuracy.perSeed.every((v) => typeof v === 'number' && v >= 0 && v <= 1));
      assert.equal(r.gan.perClassAccuracy.length, 10);
      assert.deepEqual(r.testAccuracy.perSeed, r.gan.genAccuracy.perSeed);
    }
    const h = s.results[1];
    assert.equal(h.vsBaseline.metric, 'fd');
    assert.equal(h.vsBaseline.lowerIsBetter, true);
    assert.equal(h.vsBaseline.n, 2);
    assert.equal(h.vsBaseline.verdict, 'inconclusive'); // 2 pairs
    assert.ok(Math.abs(h.vsBaseline.meanDiff! - (h.gan!.fd.mean! - s.results[0].gan!.fd.mean!)) < 1e-9);
    assert.equal(h.gan!.genAccuracyVsBaseline.metric, 'genAccuracy');
    const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
    assert.equal(config.task, 'gan');
    assert.equal(config.gan.classifier.epochs, 1);
    const events = fs.readFileSync(path.join(run, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const ends = events.filter((e) => e.type === 'seed-end');
    assert.equal(ends.length, 4);
    assert.ok(ends.every((e) => e.status === 'completed' && e.gan && typeof e.gan.fd === 'number' && e.steps === 4));
    const epochs = events.filter((e) => e.type === 'epoch');
    assert.equal(epochs.length, 8);
    assert.ok(epochs.every((e) => e.gan && typeof e.gan.dLoss === 'number' && typeof e.gan.gLoss === 'number'));
    assert.equal(events.filter((e) => e.type === 'result').length, 2);
    // The classifier is cached once under LOSSMITH_CACHE.
    assert.equal(fs.readdirSync(path.join(dir, 'cache', 'digit-classifier')).filter((f) => f.endsWith('.json')).length, 1);
  } finally {
    if (cache === undefined) delete process.env.LOSSMITH_CACHE;
    else process.env.LOSSMITH_CACHE = cache;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('compare of GAN files: refusals are one line before any run folder', async () => {
  const dir = tmpDir('lossmith-gan-');
  const runs = path.join(dir, 'runs');
  const half = path.join(dir, 'half.loss');
  fs.writeFileSync(half, 'task gan\nloss a_g = -d_fake\nloss a_d = d_fake - d_real\nloss b_g = softplus(-d_fake)\n');
  const cases: [string[], RegExp][] = [
    [[path.join(GAN, 'lsgan.loss'), '--engine', 'tfjs', '--device', 'cpu'], /^lossmith: --device: a torch engine setting; this run trains on tfjs \(--engine tfjs\)$/],
    [[half], /^lossmith: [^\n]*half\.loss: 'b_g' has no discriminator's loss 'b_d': a GAN comparison trains pairs NAME_g \+ NAME_d$/],
    [[path.join(GAN, 'lsgan.loss'), path.join(ROOT, 'examples', 'focal.loss')], /^lossmith: [^\n]*focal\.loss: a classification file cannot be compared with [^\n]*lsgan\.loss's GAN pairs: a comparison has one task$/],
    [[path.join(GAN, 'lsgan.loss'), '--model', 'lenet'], /^lossmith: --model: GAN runs train their own networks/],
    [[path.join(GAN, 'lsgan.loss#nope')], /^lossmith: [^\n]*lsgan\.loss has no GAN pair 'nope' \(it has: lsgan\)$/],
    [[path.join(GAN, 'lsgan.loss'), '--baseline', 'ce'], /^lossmith: --baseline: ce is a classification loss; a GAN comparison's baseline is a pair/],
  ];
  for (const [args, re] of cases) {
    const io = fakeIo();
    assert.equal(await main(['compare', ...args, '--runs-dir', runs], io), 2, io.stdout + io.stderr);
    assert.match(io.stderr.trim(), re);
    assert.equal(io.stderr.trim().split('\n').length, 1, io.stderr);
  }
  assert.equal(fs.existsSync(runs), false, 'no run folder was made');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the gradient penalty trains through a gradient of a gradient: tfjs double backprop of (||grad_x D(x^)|| - 1)^2 against finite differences', async () => {
  await initBackend('cpu');
  const nets = createGanNets(8, 10, 4, 7);
  try {
    const rng = new Rng(3);
    const img = () => tf.tensor4d(Float32Array.from({ length: 2 * 28 * 28 }, () => rng.next()), [2, 28, 28, 1]);
    const real = img();
    const fake = img();
    const eps = tf.tensor4d([0.3, 0.8], [2, 1, 1, 1]);
    const labels = tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10).toFloat() as tf.Tensor2D;
    const penalty = (): tf.Scalar => tf.mean(tf.square(tf.sub(gradNorm(nets, real, fake, eps, labels), 1))) as tf.Scalar;
    const { grads } = tf.variableGrads(penalty, nets.dVars);
    let checked = 0;
    let worst = 0;
    // Central differences on a few entries of every discriminator variable that gets a gradient.
    // The discriminator is piecewise linear (leaky ReLU as 0.6x + 0.4|x|): grad_x D changes with
    // the weights inside one linear piece and not with the biases (their penalty gradient is 0),
    // so the step must stay inside the piece: h = 1e-4 (1e-2 crosses kinks and disagrees).
    const used = nets.dVars.filter((v) => grads[v.name]);
    assert.ok(used.length >= 3, `gradients for ${used.length} of ${nets.dVars.length} discriminator variables`);
    for (const v of used) {
      const g = grads[v.name].dataSync();
      const w = v.dataSync().slice();
      for (const i of [0, Math.floor(w.length / 2), w.length - 1]) {
        const h = 1e-4;
        const at = (d: number): number => {
          const moved = w.slice();
          moved[i] += d;
          v.assign(tf.tensor(moved, v.shape));
          return tf.tidy(() => penalty().dataSync()[0]);
        };
        const f0 = at(0);
        const fwd = (at(h) - f0) / h;
        const bwd = (f0 - at(-h)) / h;
        v.assign(tf.tensor(w, v.shape));
        // A kink inside the step (the one-sided slopes disagree): no derivative to compare there.
        if (Math.abs(fwd - bwd) > 0.2 * Math.max(Math.abs(fwd), Math.abs(bwd)) + 2e-3) continue;
        const fd = (fwd + bwd) / 2;
        // float32 rounding of a 1e-4 step: an absolute allowance of 1e-3 beside 10% relative.
        const err = Math.abs(g[i] - fd) - 1e-3;
        worst = Math.max(worst, err <= 0 ? 0 : err / Math.max(Math.abs(fd), Math.abs(g[i])));
        if (Math.abs(g[i]) > 1e-3) checked++;
      }
    }
    assert.ok(checked >= 3, `only ${checked} entries with a non-zero gradient to check`);
    assert.ok(worst < 0.1, `double backprop differs from finite differences by ${(100 * worst).toFixed(2)}%`);
    tf.dispose([real, fake, eps, labels, ...Object.values(grads)]);
  } finally {
    nets.dispose();
  }
});

test('compare --resume of a GAN run whose process was killed (SIGKILL): finished pairs kept with their FD, the rest trained', { skip: process.platform === 'win32', timeout: 300_000 }, async () => {
  const dir = tmpDir('lossmith-gan-resume-');
  const env = { ...process.env, LOSSMITH_CACHE: path.join(dir, 'cache') };
  const tiny = ['--seeds', '2', '--epochs', '1', '--steps-per-epoch', '2', '--batch-size', '16', '--classifier-epochs', '1', '--backend', 'wasm'];
  const killed = await killAfterFirstTraining(['compare', path.join(GAN, 'hinge.loss'), ...tiny, '--workers', '0'], dir, env);
  assert.equal(killed.signal, 'SIGKILL');
  const start = { dir: killed.dir };
  const kept = killed.lines.filter((l) => l.type === 'seed-end') as { loss: string; seedIndex: number; gan: { fd: number } }[];
  assert.ok(kept.length >= 1);
  const id = path.basename(start.dir);
  const prev = process.env.LOSSMITH_CACHE;
  process.env.LOSSMITH_CACHE = env.LOSSMITH_CACHE;
  try {
    const io = fakeIo();
    const code = await main(['compare', '--resume', id, '--workers', '1', '--runs-dir', path.join(dir, '.lossmith', 'runs')], io);
    assert.equal(code, 0, io.stderr + io.stdout);
    assert.match(io.stdout, /resuming .*: [1-3] of 4 trainings finished before and are kept/);
    const s = JSON.parse(fs.readFileSync(path.join(start.dir, 'summary.json'), 'utf8')) as CompareSummary;
    assert.equal(s.status, 'done');
    assert.equal(s.task, 'gan');
    assert.equal(s.finished, 4);
    for (const r of s.results) assert.ok(r.gan && r.gan.fd.perSeed.every((v) => typeof v === 'number' && v > 0), JSON.stringify(r.gan));
    // A training finished before the kill keeps its FD; none is trained twice.
    for (const k of kept) {
      const r = s.results.find((x) => x.loss === k.loss)!;
      assert.equal(r.gan!.fd.perSeed[k.seedIndex], k.gan.fd);
    }
    const ends = fs.readFileSync(path.join(start.dir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"seed-end"'));
    assert.equal(ends.length, 4, 'each pair and seed ends once');
  } finally {
    if (prev === undefined) delete process.env.LOSSMITH_CACHE;
    else process.env.LOSSMITH_CACHE = prev;
  }
});

test('WGAN weight clipping (--clip): the discriminator\u2019s weights end in [-c, c]; the setting is recorded; refused outside GAN runs', async () => {
  await initBackend('cpu');
  const nets = createGanNets(8, 10, 4, 1);
  const c = 0.01;
  assert.ok(nets.dVars.some((v) => Math.max(...Array.from(v.dataSync()).map(Math.abs)) > c), 'initial weights exceed c');
  const before = tf.memory().numTensors;
  clipWeights(nets.dVars, c);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  for (const v of nets.dVars) assert.ok(Array.from(v.dataSync()).every((x) => Math.abs(x) <= c + 1e-9), v.name);
  nets.dispose();
  const dir = tmpDir('lossmith-gan-clip-');
  const io = fakeIo();
  const runs = path.join(dir, 'runs');
  const prev = process.env.LOSSMITH_CACHE;
  process.env.LOSSMITH_CACHE = path.join(dir, 'cache');
  try {
    const code = await main(['compare', path.join(GAN, 'wgan.loss'), '--clip', '0.01', '--seeds', '1', '--epochs', '1', '--steps-per-epoch', '2', '--batch-size', '16', '--classifier-epochs', '1', '--workers', '0', '--backend', 'wasm', '--runs-dir', runs], io);
    assert.equal(code, 0, io.stderr + io.stdout);
    const [id] = fs.readdirSync(runs);
    const config = JSON.parse(fs.readFileSync(path.join(runs, id, 'config.json'), 'utf8')) as { gan: { clip?: number } };
    assert.equal(config.gan.clip, 0.01);
    const bad = fakeIo();
    assert.equal(await main(['compare', path.join(ROOT, 'examples', 'focal.loss'), '--clip', '0.01', '--runs-dir', runs], bad), 2);
    assert.match(bad.stderr, /^lossmith: --clip: GAN settings are for .task gan. files/);
  } finally {
    if (prev === undefined) delete process.env.LOSSMITH_CACHE;
    else process.env.LOSSMITH_CACHE = prev;
  }
});
