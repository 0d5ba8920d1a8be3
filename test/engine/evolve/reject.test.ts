import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, checkText } from '../../../grammar/src/index';
import { genomeFromSource, type Genome } from '../../../engine/src/evolve/genome';
import { Archive, DEFAULT_SCREEN, logitsProtocol, REJECT_REASONS, screen, type RejectReason } from '../../../engine/src/evolve/reject';

const g = (src: string): Genome => genomeFromSource(src);

function rejectedFor(genome: Genome, archive = new Archive()): RejectReason | 'ok' {
  const r = screen(genome, archive);
  return r.ok ? 'ok' : r.reason;
}

test('checker: an unknown function or a vector loss is rejected first', () => {
  assert.equal(rejectedFor({ form: 'sum', params: [], expr: build.call('nosuch', build.ref('y'), build.ref('p')) }), 'checker');
  assert.equal(rejectedFor({ form: 'free', params: [], expr: build.mul(build.ref('y'), build.ref('p')) }), 'checker');
});

test('uses both y and the prediction', () => {
  assert.equal(rejectedFor(g('loss l = sum(p * log(p))')), 'no-target');
  assert.equal(rejectedFor(g('loss l = sum(y * 2)')), 'no-prediction');
  // logits count as the prediction
  assert.equal(rejectedFor(g('loss l = -sum(y * log_softmax(logits))')), 'ok');
});

test('integrity check on the two-class grid: each failure has its reason', () => {
  // (log(p - p), -Infinity everywhere, is now the checker's error non-finite-everywhere.)
  assert.equal(rejectedFor(g('loss l = sum(y * log(p - 0.5))')), 'integrity-non-finite');
  assert.equal(rejectedFor(g('loss l = sum(y * p * 0)')), 'integrity-flat');
  assert.equal(rejectedFor(g('loss l = sum(y * square(p - 0.5))')), 'integrity-extremum');
  assert.equal(rejectedFor(g('loss l = sum(y * sin(20 * p))')), 'integrity-oscillating');
});

test('a loss that rises with pt is kept upside down', () => {
  const r = screen(g('loss l = sum(y * log(p))'), new Archive());
  assert.ok(r.ok);
  assert.equal(r.flipped, true);
  assert.equal(r.text, 'loss candidate = sum(-(y * log(p)))\n');
  // and its negation, CE itself, is then a duplicate of it
  const arch = new Archive();
  screen(g('loss l = sum(y * log(p))'), arch);
  assert.equal(rejectedFor(g('loss l = sum(-(y * log(p)))'), arch), 'duplicate-text');
});

test('duplicates: canonical printed form, then phenotype (normalised curve within L2 0.01)', () => {
  const arch = new Archive();
  assert.equal(rejectedFor(g('loss l = sum(-y * log(p))'), arch), 'ok');
  assert.equal(rejectedFor(g('loss l = sum(-y * log(p))'), arch), 'duplicate-text');
  // commutative operands swapped: the same canonical form
  assert.equal(rejectedFor(g('loss l = sum(log(p) * -y)'), arch), 'duplicate-text');
  // a scaled and shifted CE has the same normalised curve
  assert.equal(rejectedFor(g('loss l = sum(-2 * y * log(p)) + 0'), arch), 'duplicate-phenotype');
  // a different curve is new
  assert.equal(rejectedFor(g('loss l = sum(y * (1 - p))'), arch), 'ok');
});

test('logits protocol: a loss that passes the two-class checks but rewards any confident class is rejected', () => {
  // On two classes (C - 2) = 0 and this is -pt: monotone, fine. On ten classes it rewards
  // concentrating the mass on whichever class is largest, usually a wrong one.
  const bad = g('loss l = -sum(y * p) - 5 * (C - 2) * sum(p * p)');
  const r = screen(bad, new Archive());
  assert.ok(!r.ok);
  assert.equal(r.reason, 'logits-protocol');
  // CE passes it, and a scaled CE too (the step is normalised: scale does not matter)
  for (const src of ['loss l = -sum(y * log(p))', 'loss l = -0.001 * sum(y * log(p))']) {
    const res = checkText(src.replace(/loss l/, 'loss candidate'), { integrity: false });
    const pr = logitsProtocol(res.model, {}, DEFAULT_SCREEN.logits);
    assert.ok(pr.ok, `${src}: ${pr.detail}`);
    assert.ok(pr.acc > 0.9);
  }
});

test('every reason code is one of REJECT_REASONS, in the order the rules run', () => {
  assert.deepEqual([...REJECT_REASONS], [
    'checker', 'no-target', 'no-prediction', 'integrity-non-finite', 'integrity-flat', 'integrity-extremum', 'integrity-oscillating',
    'duplicate-text', 'duplicate-phenotype', 'logits-protocol',
  ]);
});

test('the fast elementwise path and the general per-sample path of the logits protocol agree', () => {
  // sum(E(y, p)) takes the vectorised path; the same loss written with a let takes the general one.
  const fast = checkText('loss candidate = sum(-y * log(p) + 0.5 * square(p))', { integrity: false }).model;
  const slow = checkText('let e = -y * log(p) + 0.5 * square(p)\nloss candidate = sum(e)', { integrity: false }).model;
  const a = logitsProtocol(fast, {}, DEFAULT_SCREEN.logits);
  const b = logitsProtocol(slow, {}, DEFAULT_SCREEN.logits);
  assert.equal(a.acc0, b.acc0);
  assert.equal(a.acc, b.acc);
});
