/**
 * Evolved losses as people read them: the one-line `loss` of events and summaries and the top-k
 * `.loss` files are simplified (no `log10(-1)`, `p - -1`, `y - y + ...`) and evaluate equal to
 * the genome as trained, which the search keeps unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { build, checkText, evalLoss, printExpr } from '../../../grammar/src/index';
import { Rng } from '../../../engine/src/rng';
import { displayExpr, genomeFromSource, genomeText, lossExpr, printGenome, printGenomeSimplified, randomGenome, type Genome } from '../../../engine/src/evolve/genome';
import { SEED_BINARY, SEED_UNARY } from '../../../engine/src/evolve/ops';
import { resolveConfig } from '../../../engine/src/evolve/config';
import { runEvolve } from '../../../engine/src/evolve/run';
import { fakeEvaluate } from './fake-fitness';
import { tmpDir } from '../../helpers/tmp';

const { num, ref, sub, add, call, mul } = build;

function point(rng: Rng, classes = 5): { logits: Float64Array; y: Float64Array } {
  const logits = Float64Array.from({ length: classes }, () => rng.normal() * 2);
  const y = new Float64Array(classes);
  y[rng.int(classes)] = 1;
  return { logits, y };
}

/** Both files' `candidate` loss at the same points: equal (1e-9 relative) wherever the trained one is finite. */
function assertSameLoss(trained: string, shown: string, rng: Rng, points = 20): void {
  const a = checkText(trained, { integrity: false }).model;
  const b = checkText(shown, { integrity: false }).model;
  for (let i = 0; i < points; i++) {
    const pt = point(rng);
    const va = evalLoss(a, 'candidate', pt);
    if (!Number.isFinite(va)) continue;
    const vb = evalLoss(b, 'candidate', pt);
    assert.ok(Math.abs(va - vb) <= 1e-9 * Math.max(1, Math.abs(va)), `${trained}\n${shown}\n${va} != ${vb}`);
  }
}

test('genomeText is simplified; printGenome (what is trained) is not', () => {
  const g: Genome = { form: 'sum', params: [], expr: add(sub(ref('y'), ref('y')), mul(call('log10', num(-1)), sub(ref('p'), num(-1)))) };
  assert.equal(printGenome(g), 'loss candidate = sum(y - y + log10(-1) * (p - -1))\n');
  const shown = genomeText(g);
  assert.doesNotMatch(shown, /log10\(-1\)|- -1|y - y/);
  assert.equal(shown, `${Math.log10(1 + 1e-7)} * sum(p + 1)`);
  const f: Genome = { form: 'free', params: [{ name: 'gamma', value: 2, lo: 0, hi: 5 }], expr: mul(ref('gamma'), sub(call('sum', mul(ref('y'), ref('p'))), num(-1))) };
  assert.equal(genomeText(f), '[gamma=2] gamma * (sum(p * y) + 1)');
  assert.equal(printGenomeSimplified(f, ['note']), '# note\nparam gamma = 2 in [0, 5]\nloss candidate = gamma * (sum(p * y) + 1)\n');
});

test('displayExpr evaluates equal to the genome over random genomes of the seed function set', () => {
  const rng = new Rng(77);
  const fs = { unary: SEED_UNARY, binary: SEED_BINARY, terminals: ['y', 'p', 1, -1] as (string | number)[] };
  let changed = 0;
  for (let i = 0; i < 300; i++) {
    const g = randomGenome(rng, fs, { maxDepth: 6, maxSize: 40 });
    const shown = printExpr(displayExpr(g));
    if (shown !== printExpr(lossExpr(g))) changed++;
    assertSameLoss(printGenome(g), `loss candidate = ${shown}\n`, rng, 5);
  }
  assert.ok(changed > 30, `${changed}`);
});

test('top-k files hold the simplified loss, the trained one in a comment; both evaluate equal', async () => {
  const root = tmpDir('lossmith-display-');
  const res = await runEvolve({
    root,
    config: resolveConfig({ population: 6, sample: 3, steps: 10, initialCandidates: 8, workers: 2, batch: 2, seed: 11, topK: 3, surrogate: { stage1: { passRatio: 0.6 } } }),
    evaluate: fakeEvaluate({ maxDelayMs: 2 }),
  });
  const rng = new Rng(5);
  let seen = 0;
  for (const b of res.summary.best) {
    const text = fs.readFileSync(path.join(res.dir, b.file), 'utf8');
    const lossLine = text.split('\n').find((l) => l.startsWith('loss candidate = '))!;
    assert.doesNotMatch(lossLine, /- -\d/, b.file);
    const trainedLine = /^# as trained: (loss candidate = .*)$/m.exec(text)?.[1];
    const rec = Object.values(res.state.searches[0].cands).find((c) => c.id === b.id)!;
    // The comment quotes what was trained, and the summary's one-line loss is the file's.
    if (trainedLine) assert.ok(rec.text.includes(trainedLine), `${trainedLine}\n${rec.text}`);
    else assert.ok(rec.text.includes(lossLine));
    assert.equal(genomeText(genomeFromSource(rec.text, 'candidate')), b.loss);
    assertSameLoss(rec.text, text, rng);
    seen++;
  }
  assert.ok(seen > 0);
});
