/**
 * Evolution of segmentation losses: the 'pixel' and 'region' genome forms (the search space
 * with the pixel reductions), read from and printed to `task segmentation` files, random
 * genomes and mutations that stay valid, and the screen on the segmentation view.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { checkText, printExpr } from '../../../grammar/src/index';
import { displayExpr, genomeFromSource, mutate, printGenome, randomGenome, type FunctionSet } from '../../../engine/src/evolve/genome';
import { Archive, DEFAULT_SCREEN, screen } from '../../../engine/src/evolve/reject';
import { SEED_BINARY, SEED_UNARY } from '../../../engine/src/evolve/ops';
import { Rng } from '../../../engine/src/rng';
import { resolveConfig } from '../../../engine/src/evolve/config';
import { segTask } from '../../../engine/src/evolve/fitness';
import { runEvolve } from '../../../engine/src/evolve/run';
import type { EvalJob } from '../../../engine/src/evolve/search';
import { fakeEvaluate } from './fake-fitness';
import { tmpDir } from '../../helpers/tmp';
import { main } from '../../../engine/src/cli';

const SEG = path.join(__dirname, '..', '..', '..', '..', 'examples', 'segmentation');
const DICE_REGION = 'task segmentation\nlet tp = sum_px(p * y)\nlet sp = sum_px(p)\nlet sy = sum_px(y)\nloss candidate = mean(1 - pdiv(tp + tp, sp + sy))\n';

test('segmentation genomes: the region form over tp, sp, sy and the pixel form mean_px(sum(E)), printed back as task segmentation files', () => {
  const region = genomeFromSource(DICE_REGION, 'candidate');
  assert.equal(region.form, 'region');
  assert.equal(printExpr(region.expr), '1 - pdiv(tp + tp, sp + sy)');
  assert.equal(printGenome(region), DICE_REGION);
  const ce = genomeFromSource(fs.readFileSync(path.join(SEG, 'cross-entropy-pixel.loss'), 'utf8'));
  assert.equal(ce.form, 'pixel');
  assert.equal(printGenome(ce), 'task segmentation\nloss candidate = mean_px(sum(-(y * log(p))))\n');
  // A catalogue loss with params and its own lets is a free segmentation genome.
  const dice = genomeFromSource(fs.readFileSync(path.join(SEG, 'dice.loss'), 'utf8'));
  assert.equal(dice.form, 'free');
  assert.equal(dice.task, 'segmentation');
  assert.match(printGenome(dice), /^task segmentation\nparam s = 1 in \[0, 10\]\nloss candidate = 1 - mean\(/);
  for (const g of [region, ce, dice]) assert.deepEqual(checkText(printGenome(g)).diagnostics.filter((d) => d.severity === 'error'), []);
  // Lets other than the standard region statistics make it free (inlined), not region.
  const other = genomeFromSource('task segmentation\nlet tp = sum_px(p)\nloss candidate = mean(tp)\n');
  assert.equal(other.form, 'free');
  // Only the statistics the expression reads are printed.
  assert.equal(printGenome({ form: 'region', params: [], expr: genomeFromSource(DICE_REGION).expr }).split('\n').filter((l) => l.startsWith('let')).length, 3);
  assert.equal(printExpr(displayExpr(region)), 'mean(1 - pdiv(2 * tp, sp + sy))');
});

test('random region and pixel genomes type-check, read y and p, and so do their mutations', () => {
  const rng = new Rng(5);
  const limits = { maxDepth: 5, maxSize: 15 };
  const forms: [('region' | 'pixel'), FunctionSet][] = [
    ['region', { unary: [...SEED_UNARY], binary: [...SEED_BINARY], terminals: ['tp', 'sp', 'sy', 1, -1] }],
    ['pixel', { unary: [...SEED_UNARY], binary: [...SEED_BINARY], terminals: ['y', 'p', 1, -1] }],
  ];
  for (const [form, fs] of forms) {
    for (let i = 0; i < 40; i++) {
      let g = randomGenome(rng, fs, limits, 4, form);
      assert.equal(g.form, form);
      for (let k = 0; k < 3; k++) {
        const text = printGenome(g);
        const errors = checkText(text).diagnostics.filter((d) => d.severity === 'error');
        assert.deepEqual(errors, [], text);
        assert.equal(genomeFromSource(text).form, form, text);
        g = mutate(g, rng, fs).genome;
      }
    }
  }
});

test('the screen of segmentation genomes: the Dice family passes, a rising one is kept upside down, one without the target is rejected', () => {
  const archive = new Archive();
  const dice = screen(genomeFromSource(DICE_REGION), archive, DEFAULT_SCREEN);
  assert.ok(dice.ok, JSON.stringify(dice));
  // 2 tp / (sp + sy) rises as pt rises: negated, like the seed system keeps such a loss.
  const rising = screen(genomeFromSource(DICE_REGION.replace('mean(1 - pdiv(tp + tp, sp + sy))', 'mean(pdiv(tp * 3, sp + sy + 1))')), archive, DEFAULT_SCREEN);
  assert.ok(rising.ok && rising.flipped, JSON.stringify(rising));
  const noTarget = screen(genomeFromSource('task segmentation\nlet sp = sum_px(p)\nloss candidate = mean(sp)\n'), archive, DEFAULT_SCREEN);
  assert.ok(!noTarget.ok && noTarget.reason === 'no-target');
  const ce = screen(genomeFromSource(fs.readFileSync(path.join(SEG, 'cross-entropy-pixel.loss'), 'utf8')), archive, DEFAULT_SCREEN);
  assert.ok(ce.ok, JSON.stringify(ce));
  // The same curve twice is a duplicate phenotype.
  const again = screen(genomeFromSource(DICE_REGION.replace('1 - pdiv(tp + tp, sp + sy)', '2 - pdiv(tp + tp, sp + sy) - 1')), archive, DEFAULT_SCREEN);
  assert.ok(!again.ok && (again.reason === 'duplicate-phenotype' || again.reason === 'duplicate-text'), JSON.stringify(again));
  // A flat one (reads y and p but does not change with pt) is rejected by the integrity check.
  const flat = screen(genomeFromSource('task segmentation\nlet sp = sum_px(p)\nlet sy = sum_px(y)\nloss candidate = mean(sp + sy)\n'), new Archive(), DEFAULT_SCREEN);
  assert.ok(!flat.ok && flat.reason === 'integrity-flat', JSON.stringify(flat));
});

test('config of a segmentation search: its surrogate, form and terminals; what it refuses', () => {
  const cfg = resolveConfig({ task: 'segmentation' });
  assert.equal(cfg.form, 'region');
  assert.deepEqual(cfg.functionSet.terminals, ['tp', 'sp', 'sy', 1, -1]);
  assert.equal(cfg.surrogate.dataset, 'digits-clutter');
  assert.deepEqual(cfg.surrogate.seg, { size: 32, train: 512, val: 128, test: 128, filters: 4 });
  assert.deepEqual(resolveConfig({ task: 'segmentation', form: 'pixel' }).functionSet.terminals, ['y', 'p', 1, -1]);
  assert.equal(resolveConfig({}).form, 'sum');
  assert.throws(() => resolveConfig({ task: 'segmentation', form: 'sum' }), /^Error: config: form must be 'region' or 'pixel' for task segmentation/);
  assert.throws(() => resolveConfig({ form: 'region' }), /config: form is 'sum' for classification/);
  assert.throws(() => resolveConfig({ task: 'segmentation', augments: ['none', 'cutout'] }), /config: augments are not supported for task segmentation/);
  assert.throws(() => resolveConfig({ task: 'segmentation', functionSet: { terminals: ['y', 1] } }), /'y' is not a region statistic \(tp, sp, sy\)/);
  assert.throws(() => resolveConfig({ surrogate: { seg: { size: 32, train: 1, val: 1, test: 1, filters: 1 } } }), /surrogate.seg is for task 'segmentation'/);
  assert.throws(() => resolveConfig({ task: 'detection' as never }), /config: task must be 'classification' or 'segmentation'/);
  // An evaluation is a U-Net training with the stage's budget; its fitness the best validation Dice.
  const job: EvalJob = { key: '0:3:s2', source: DICE_REGION, lossName: 'candidate', augment: 'none', stage: 2 };
  const t = segTask(cfg.surrogate, job, '/tmp');
  assert.equal(t.kind, 'segmentation');
  assert.deepEqual([t.epochs, t.stepsPerEpoch, t.batchSize, t.dataset.spec, t.seg.filters], [2, 24, 32, 'digits-clutter', 4]);
});

test('a segmentation search with a fake surrogate: seeds from the catalogue, region children, task segmentation best files, the per-pixel CE baseline', async () => {
  const root = tmpDir('lossmith-evolve-seg-');
  const calls: EvalJob[] = [];
  const seeds = ['dice.loss', 'tversky.loss', 'cross-entropy-pixel.loss', '../focal.loss'].map((f) => ({ name: f, source: fs.readFileSync(path.join(SEG, f), 'utf8') }));
  const events: { type: string; [k: string]: unknown }[] = [];
  const cfg = resolveConfig({ task: 'segmentation', population: 6, sample: 3, steps: 12, initialCandidates: 8, workers: 2, batch: 2, seed: 3, seeds, surrogate: { stage1: { passRatio: 0.6 } } });
  const res = await runEvolve({ root, config: cfg, evaluate: fakeEvaluate({ calls }), onEvent: (e) => events.push(e as never) });
  assert.equal(res.summary.status, 'done');
  // The classification seed is refused with a reason; the others enter.
  const invalid = events.filter((e) => e.type === 'seed-invalid');
  assert.deepEqual(invalid.map((e) => [e.name, e.reason]), [['../focal.loss', 'a classification loss in a segmentation search']]);
  assert.match(calls[0].source, /^# cross-entropy per pixel, the baseline\ntask segmentation\n/);
  for (const c of calls) assert.match(c.source, /^task segmentation$/m, c.source);
  for (const b of res.summary.best) {
    const text = fs.readFileSync(path.join(res.dir, b.file), 'utf8');
    assert.match(text, /^task segmentation$/m);
    assert.deepEqual(checkText(text).diagnostics.filter((d) => d.severity === 'error'), [], text);
  }
  const st = res.state.searches[0];
  const forms = Object.values(st.cands).filter((c) => c.origin === 'random' || c.origin === 'child').map((c) => genomeFromSource(c.text, 'candidate').form);
  // Random candidates are of the region form; children keep their parent's form.
  const random = Object.values(st.cands).filter((c) => c.origin === 'random').map((c) => genomeFromSource(c.text, 'candidate').form);
  assert.ok(random.length > 0 && random.every((f) => f === 'region'), random.join(','));
  assert.ok(forms.length > 0);
});

test('lossmith evolve --task segmentation with the real U-Net surrogate: a tiny search to its end, best files that train', async () => {
  const dir = tmpDir('lossmith-evolve-seg-real-');
  const config = path.join(dir, 'tiny.evolve.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      task: 'segmentation', population: 3, sample: 2, steps: 2, initialCandidates: 4, workers: 0, finalSeeds: 0, topK: 2,
      surrogate: { backend: 'wasm', seg: { size: 24, train: 96, val: 32, test: 32, filters: 4 }, stage1: { epochs: 1, stepsPerEpoch: 4, passRatio: 0.5 }, stage2: { epochs: 1, stepsPerEpoch: 6 } },
    }),
  );
  const io = { stdout: '', stderr: '', out: (s: string) => void (io.stdout += s), err: (s: string) => void (io.stderr += s) };
  const code = await main(['evolve', '--config', config, '--root', dir], io);
  assert.equal(code, 0, io.stderr + io.stdout);
  assert.match(io.stdout, /status done/);
  const [id] = fs.readdirSync(path.join(dir, '.lossmith', 'runs'));
  const run = path.join(dir, '.lossmith', 'runs', id);
  const best = fs.readdirSync(run).filter((f) => /^best-\d+\.loss$/.test(f));
  assert.ok(best.length >= 1);
  for (const f of best) {
    const text = fs.readFileSync(path.join(run, f), 'utf8');
    assert.match(text, /^# fitness \(best validation Dice\) \d\.\d+; cross-entropy per pixel on the same surrogate and seed: \d\.\d+$/m);
    assert.match(text, /^# surrogate: U-Net \(4 filters\) on digits-clutter \(24×24, 96 training images\)/m);
    assert.match(text, /^task segmentation$/m);
    assert.deepEqual(checkText(text).diagnostics.filter((d) => d.severity === 'error'), [], text);
  }
});
