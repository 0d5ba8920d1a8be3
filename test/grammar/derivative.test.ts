/**
 * Symbolic gradients against central finite differences (Richardson-extrapolated, float64):
 * every builtin and every catalogue loss, 200 random points each, relative error < 1e-6
 * (norm-wise over the classes), points on a kink excluded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { BUILTINS, checkText, differentiate, printExpr, sampleEnv, evalExpr, toVector, softmax } from '../../grammar/src/index';
import { Rng } from '../../engine/src/rng';
import { checkGradient, randomSample } from '../helpers/gradcheck';
import { BUILTIN_LOSSES } from '../helpers/builtin-losses';

test('every builtin has a gradient test', () => {
  const missing = BUILTINS.map((b) => b.id).filter((id) => !(id in BUILTIN_LOSSES));
  assert.deepEqual(missing, []);
});

function runGradChecks(src: string, loss: string, wrts: ('logits' | 'p')[], seed: number, soft: boolean, points = 200): void {
  const r = checkText(src, { integrity: false });
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], src);
  const rng = new Rng(seed);
  for (const wrt of wrts) {
    const grad = differentiate(r.model, loss, wrt);
    let checked = 0;
    let worst = 0;
    for (let i = 0; i < points; i++) {
      const s = randomSample(rng, { soft: soft && i % 2 === 1, scale: 1.5 });
      const g = checkGradient(r.model, loss, s, wrt, grad);
      if (g.kink || g.symbolic.some((v) => !Number.isFinite(v)) || g.numeric.some((v) => !Number.isFinite(v))) continue;
      checked++;
      worst = Math.max(worst, g.relErr);
      assert.ok(g.relErr < 1e-6, `${loss} d/d${wrt} at ${JSON.stringify(s)}: rel err ${g.relErr}\n symbolic ${g.symbolic}\n numeric  ${g.numeric}\n d = ${printExpr(grad)}`);
    }
    assert.ok(checked >= points * 0.75, `${loss} d/d${wrt}: only ${checked} of ${points} points away from kinks`);
  }
}

for (const [id, expr] of Object.entries(BUILTIN_LOSSES)) {
  if (id === 'stop_gradient' || !expr) continue;
  test(`builtin ${id}: symbolic gradient = finite differences at 200 points`, () => {
    runGradChecks(`loss t = ${expr}`, 't', ['logits'], 1000 + id.length * 31 + id.charCodeAt(0), true);
  });
}

test('stop_gradient: the gradient treats its argument as a constant', () => {
  const r = checkText(`loss t = ${BUILTIN_LOSSES.stop_gradient}`);
  const g = differentiate(r.model, 't', 'logits');
  assert.equal(printExpr(g), 'stop_gradient(p)');
});

const examplesDir = path.join(__dirname, '..', '..', '..', 'examples');
const catalogue = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.loss'));

test('the catalogue has the required losses', () => {
  const names = new Set<string>();
  for (const f of catalogue) for (const l of checkText(fs.readFileSync(path.join(examplesDir, f), 'utf8'), { integrity: false }).model.losses) names.add(l.name);
  for (const n of ['ce', 'label_smoothing', 'focal', 'poly1', 'taylor2', 'taylor6', 'gce', 'sce', 'mae', 'mse', 'bi_tempered', 'dual_focal', 'baikal', 'aace', 'seed_bessel']) {
    assert.ok(names.has(n), `missing ${n}`);
  }
});

for (const file of catalogue) {
  const src = fs.readFileSync(path.join(examplesDir, file), 'utf8');
  const model = checkText(src, { integrity: false }).model;
  for (const loss of model.losses) {
    if (loss.name === 'aace') continue; // stop_gradient: checked against the paper's formula below
    test(`catalogue ${file} ${loss.name}: gradients wrt logits and p = finite differences at 200 points`, () => {
      runGradChecks(src, loss.name, ['logits', 'p'], 7 + loss.name.length, true);
    });
  }
}

test('AACE gradient is the paper\'s: p_true on the target, -p_j p_true / (1 - p_true) elsewhere', () => {
  const src = fs.readFileSync(path.join(examplesDir, 'aace.loss'), 'utf8');
  const r = checkText(src);
  const g = differentiate(r.model, 'aace', 'logits');
  const rng = new Rng(5);
  for (let i = 0; i < 200; i++) {
    const s = randomSample(rng, {});
    const env = sampleEnv(r.model, s);
    const got = toVector(evalExpr(g, (n) => env.get(n)), s.logits.length);
    const p = softmax(s.logits);
    const t = s.y.indexOf(1);
    for (let j = 0; j < p.length; j++) {
      const want = j === t ? p[t] : (-p[j] * p[t]) / (1 - p[t]);
      assert.ok(Math.abs(got[j] - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${got[j]} vs ${want}`);
    }
  }
});

test('simplified forms: CE is p - y, focal fits on one line', () => {
  const ce = checkText('loss ce = -sum(y * log(p))').model;
  assert.equal(printExpr(differentiate(ce, 'ce', 'logits')), 'p - y');
  assert.equal(printExpr(differentiate(ce, 'ce', 'p')), '-(y / p)');
  const ce2 = checkText('loss ce = logsumexp(logits) - sum(y * logits)').model;
  assert.equal(printExpr(differentiate(ce2, 'ce', 'logits')), 'p - y');
  const focal = checkText(fs.readFileSync(path.join(examplesDir, 'focal.loss'), 'utf8')).model;
  const text = printExpr(differentiate(focal, 'focal', 'logits'));
  assert.equal(text, 'p * (gamma * log(pt) * (1 - pt)^(gamma - 1) - (1 - pt)^gamma / pt) * (y - pt)');
  assert.ok(text.length < 100);
});
