/**
 * Segmentation comparisons (`task segmentation` files), the run side: the resolution of a
 * comparison (defaults, the built-in baseline ce_pixel, overrides, and the refusals that come
 * before any run folder), a tiny real comparison of dice.loss against ce_pixel through the
 * worker pool (summary.json, events, the table), --resume of a finished run and of a run cut
 * off after three of its four trainings, and the CLI (`bin/lossmith.js`) in a temp folder.
 *
 * Trainings are tiny: 24x24 canvases, 64 training images, 1 epoch, 2 seeds (about a second each).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { main, type Io } from '../../engine/src/cli';
import { BUILTIN_CE_PIXEL_SOURCE, BUILTIN_FILE, ConfigError, loadSchema, resolveCompareConfig, SEG_DEFAULTS, validateSchema } from '../../engine/src/run/run-config';
import type { CompareEvent, CompareSummary, EpochEvent, SeedEndEvent, SegMetricsInfoJson } from '../../protocol/run-events';
import { tmpDir } from '../helpers/tmp';
import { findTorchPython, skipUnless } from '../export/python';

const ROOT = path.join(__dirname, '..', '..', '..');
const SEG = path.join(ROOT, 'examples', 'segmentation');
const DICE = path.join(SEG, 'dice.loss');
/** Tiny trainings: 2 seeds x 1 epoch of 64 images of 24x24 (4 steps of 16), 32 val and 32 test images. */
const TINY = ['--seeds', '2', '--epochs', '1', '--max-train', '64', '--max-val', '32', '--max-test', '32', '--image-size', '24', '--batch-size', '16', '--backend', 'wasm'];

function fakeIo(): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (s: string) => void (io.stdout += s), err: (s: string) => void (io.stderr += s) };
  return io;
}

const readEvents = (run: string): CompareEvent[] =>
  fs.readFileSync(path.join(run, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CompareEvent);
const readSummary = (run: string): CompareSummary => JSON.parse(fs.readFileSync(path.join(run, 'summary.json'), 'utf8')) as CompareSummary;

test('segmentation comparisons resolve: defaults, the built-in ce_pixel baseline, overrides, a folder of images and masks', () => {
  const r = resolveCompareConfig({ losses: [DICE] }, ROOT);
  const c = r.config;
  assert.equal(c.task, 'segmentation');
  assert.deepEqual(c.baseline, { label: 'ce_pixel', file: BUILTIN_FILE, loss: 'ce_pixel' });
  assert.deepEqual(c.losses.map((l) => l.label), ['dice']);
  assert.deepEqual(c.dataset, { spec: 'digits-clutter', seed: 0 });
  assert.deepEqual(c.model, { kind: 'unet' });
  assert.deepEqual(c.seg, { size: SEG_DEFAULTS.size, train: SEG_DEFAULTS.train, val: SEG_DEFAULTS.val, test: SEG_DEFAULTS.test, filters: SEG_DEFAULTS.filters });
  assert.deepEqual(c.augmentations, ['none']);
  assert.deepEqual(c.seeds, [1, 2, 3]);
  assert.equal(c.epochs, SEG_DEFAULTS.epochs);
  assert.equal(c.batchSize, SEG_DEFAULTS.batchSize);
  assert.equal(c.lr, SEG_DEFAULTS.lr);
  assert.equal(c.engine, 'tfjs');
  assert.equal(c.optimizer, 'adam');
  assert.match(r.engineNote ?? '', /segmentation runs train on tfjs unless --engine torch: a small U-Net on digits-clutter/);
  // The built-in baseline is the catalogue's file, word for word.
  assert.equal(BUILTIN_CE_PIXEL_SOURCE, fs.readFileSync(path.join(SEG, 'cross-entropy-pixel.loss'), 'utf8'));
  assert.equal(r.sources.get('ce_pixel'), BUILTIN_CE_PIXEL_SOURCE);

  // Overrides: the shared options map onto the segmentation settings; params as for classification.
  const o = resolveCompareConfig(
    { losses: [{ file: DICE, params: { s: 2 } }, path.join(SEG, 'tversky.loss')], baseline: path.join(SEG, 'focal-pixel.loss'), model: 'unet', seeds: [4, 9], epochs: 2, batchSize: 8, lr: 1e-3, maxTrain: 64, maxVal: 32, maxTest: 16, imageSize: 24, width: 0.5, dataSeed: 3, augmentations: ['none'] },
    ROOT,
  ).config;
  assert.equal(o.baseline.label, 'focal_pixel');
  assert.deepEqual(o.losses.map((l) => [l.label, l.params]), [['dice', { s: 2 }], ['tversky', undefined]]);
  assert.deepEqual(o.seg, { size: 24, train: 64, val: 32, test: 16, filters: 4 });
  assert.deepEqual([o.seeds, o.epochs, o.batchSize, o.lr, o.dataset.seed], [[4, 9], 2, 8, 1e-3, 3]);
  assert.throws(() => resolveCompareConfig({ losses: [{ file: DICE, params: { gamma: 2 } }] }, ROOT), (e: unknown) => e instanceof ConfigError && /\$\.losses\[0\]\.params\.gamma: .*has no param 'gamma' \(params: s\)/.test((e as Error).message));

  // A folder in the images/ + masks/ layout is recorded by its absolute path (workers and resumes find it from anywhere).
  const dir = tmpDir('lossmith-seg-');
  fs.mkdirSync(path.join(dir, 'data', 'images'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'data', 'masks'));
  const f = resolveCompareConfig({ losses: [DICE], dataset: 'data' }, dir);
  assert.equal(f.config.dataset.spec, path.join(dir, 'data'));
  assert.match(f.engineNote ?? '', /a small U-Net on the folder's images/);

  // Run files: the schema knows unet and maxTest.
  assert.deepEqual(validateSchema({ losses: ['examples/segmentation/dice.loss'], model: 'unet', maxTest: 10, dataset: 'digits-clutter', baseline: 'ce_pixel' }, loadSchema()), []);
  assert.ok(validateSchema({ losses: ['x.loss'], maxTest: 0 }, loadSchema()).some((e) => e.startsWith('$.maxTest: must be >= 1')));
});

test('compare of segmentation files: refusals are one line before any run folder', async () => {
  const dir = tmpDir('lossmith-seg-');
  const runs = path.join(dir, 'runs');
  fs.writeFileSync(path.join(dir, 'a-file'), '');
  fs.mkdirSync(path.join(dir, 'empty'));
  const cases: [string[], RegExp][] = [
    [[DICE, path.join(ROOT, 'examples', 'focal.loss')], /^lossmith: [^\n]*focal\.loss: a classification file cannot be compared with [^\n]*dice\.loss's segmentation losses: a comparison has one task$/],
    [[path.join(ROOT, 'examples', 'focal.loss'), DICE], /^lossmith: [^\n]*dice\.loss: a 'task segmentation' file cannot be compared with [^\n]*focal\.loss's classification losses: a comparison has one task$/],
    [[DICE, path.join(ROOT, 'examples', 'gan', 'lsgan.loss')], /^lossmith: [^\n]*lsgan\.loss: a 'task gan' file cannot be compared with [^\n]*dice\.loss's segmentation losses: a comparison has one task$/],
    [[DICE, '--baseline', 'ce'], /^lossmith: --baseline: ce is a classification loss; a segmentation comparison's baseline is a 'task segmentation' loss \(default: ce_pixel, cross-entropy per pixel\)$/],
    [[path.join(ROOT, 'examples', 'focal.loss'), '--baseline', 'ce_pixel'], /^lossmith: --baseline: ce_pixel is a 'task segmentation' file; the losses compared are classification losses$/],
    [[DICE, '--dataset', 'nope'], /^lossmith: --dataset: segmentation dataset 'nope': not a built-in name \(digits-clutter\) and no such folder [^\n]*nope$/],
    [[DICE, '--dataset', path.join(dir, 'a-file')], /^lossmith: --dataset: segmentation dataset '[^']*a-file': [^\n]* is a file; pass the folder holding images\/\*\.png and masks\/\*\.png/],
    [[DICE, '--dataset', path.join(dir, 'empty')], /^lossmith: --dataset: segmentation dataset '[^']*empty': [^\n]* has no images\/ and masks\/ folders/],
    [[DICE, '--dataset', 'mnist'], /^lossmith: --dataset: 'mnist' has no masks; segmentation runs train on digits-clutter \(built in\) or a folder of images/],
    [[DICE, '--model', 'lenet'], /^lossmith: --model: segmentation runs train a small U-Net \(unet\), got 'lenet'$/],
    [[DICE, '--aug', 'none,cutout'], /^lossmith: --aug: segmentation runs train without augmentation for now \(only 'none'\), got 'cutout'$/],
    [[DICE, '--engine', 'tfjs', '--device', 'cpu'], /^lossmith: --device: a torch engine setting; this run trains on tfjs \(--engine tfjs\)$/],
    [[DICE, '--engine', 'torch', '--python', path.join(dir, 'no-python')], /^lossmith: [^\n]*no Python at '[^']*no-python'/],
    [[DICE, '--image-size', '12'], /^lossmith: --image-size: digits-clutter's canvas must be at least 14 pixels/],
    [[DICE, '--tune-lr'], /^lossmith: --tune-lr: learning-rate tuning is not built for segmentation runs yet \(set --lr\)$/],
    [[path.join(ROOT, 'examples', 'focal.loss'), '--model', 'unet'], /^lossmith: --model: unet is the network of segmentation runs \('task segmentation' files\)/],
    [[path.join(ROOT, 'examples', 'focal.loss'), '--max-test', '10'], /^lossmith: --max-test: only for segmentation runs/],
    [[DICE + '#nope'], /^lossmith: [^\n]*dice\.loss has no loss 'nope' \(it has: dice\)$/],
  ];
  for (const [args, re] of cases) {
    const io = fakeIo();
    assert.equal(await main(['compare', ...args, '--runs-dir', runs], io), 2, `${args.join(' ')}\n${io.stdout}${io.stderr}`);
    assert.match(io.stderr.trim(), re);
    assert.equal(io.stderr.trim().split('\n').length, 1, io.stderr);
  }
  // A folder's own splits and size cannot be overridden.
  fs.mkdirSync(path.join(dir, 'data', 'images'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'data', 'masks'));
  const io = fakeIo();
  assert.equal(await main(['compare', DICE, '--dataset', path.join(dir, 'data'), '--max-train', '10', '--runs-dir', runs], io), 2);
  assert.match(io.stderr.trim(), /^lossmith: --max-train: only for the built-in digits-clutter: a folder keeps its own images, splits and size$/);
  assert.equal(fs.existsSync(runs), false, 'no run folder was made');
});

test('compare dice.loss against ce_pixel end to end on a worker: summary.json, events, table; --resume keeps finished trainings', async () => {
  const dir = tmpDir('lossmith-seg-');
  const runs = path.join(dir, 'runs');
  const io = fakeIo();
  const code = await main(['compare', DICE, ...TINY, '--workers', '1', '--runs-dir', runs], io);
  assert.equal(code, 0, io.stderr + io.stdout);
  assert.match(io.stdout, /segmentation runs train on tfjs unless --engine torch: a small U-Net on digits-clutter/);
  assert.match(io.stdout, /2 losses × 1 augmentation × 2 seeds = 4 trainings on 1 worker/);
  assert.match(io.stdout, /\[4\/4\] dice · none · seed 2: Dice \d+\.\d\d%, IoU \d+\.\d\d%, HD95 \d+\.\d\d px \(best val Dice \d+\.\d\d% at epoch 1, /);
  assert.match(io.stdout, /— done \(task segmentation\)/);
  assert.match(io.stdout, /dataset digits-clutter \(24×24, train 64, val 32, test 32\) · U-Net \(8 filters\) · 1 epoch · seeds 1, 2/);
  assert.match(io.stdout, /loss\s+Dice\s+IoU\s+HD95 \(px\)\s+Δ Dice vs ce_pixel \[95% CI\] \(pp\)\s+p \(Holm\)\s+verdict\s+Δ HD95 \(px\) \[95% CI\]/);
  assert.match(io.stdout, /ce_pixel \(baseline\)\s+\d+\.\d\d% ± \d+\.\d\d \(n=2\)/);
  assert.match(io.stdout, /\n  dice\s+\d+\.\d\d% ± \d+\.\d\d \(n=2\)\s+\d+\.\d\d% ± \d+\.\d\d\s+\d+\.\d\d ± \d+\.\d\d\s+[+-]\d+\.\d\d \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\]\s+\d\.\d+\s+inconclusive/);
  assert.match(io.stdout, /Data: digits in clutter: one real MNIST digit \(14×14\) to segment among fragments of other digits on 24×24 canvases, \d+\.\d% foreground/);
  assert.match(io.stdout, /Metrics on the 32 test images with each training's best-validation-Dice weights, over the foreground classes only/);
  assert.match(io.stdout, /HD95: the 95th-percentile Hausdorff distance [\s\S]* in pixels/);

  const [id] = fs.readdirSync(runs);
  const run = path.join(runs, id);
  assert.deepEqual(['config.json', 'events.jsonl', 'sources.json', 'summary.json'].filter((f) => !fs.existsSync(path.join(run, f))), []);
  const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
  assert.equal(config.task, 'segmentation');
  assert.deepEqual(config.seg, { size: 24, train: 64, val: 32, test: 32, filters: 8 });
  assert.deepEqual(config.model, { kind: 'unet' });
  const sources = JSON.parse(fs.readFileSync(path.join(run, 'sources.json'), 'utf8'));
  assert.equal(sources.ce_pixel, BUILTIN_CE_PIXEL_SOURCE);

  const s = readSummary(run);
  assert.equal(s.status, 'done');
  assert.equal(s.task, 'segmentation');
  const metrics = s.metrics as SegMetricsInfoJson;
  assert.deepEqual([metrics.primary, metrics.secondary, metrics.lowerIsBetter], ['dice', ['iou', 'hd95'], ['hd95']]);
  assert.match(metrics.note, /foreground classes only/);
  assert.deepEqual(s.seg, config.seg);
  assert.equal(s.baseline, 'ce_pixel');
  assert.equal(s.dataset.name, 'digits-clutter');
  assert.deepEqual([s.dataset.train, s.dataset.val, s.dataset.test, s.dataset.classes, s.dataset.height, s.dataset.width], [64, 32, 32, 2, 24, 24]);
  assert.ok(s.dataset.foreground! > 0 && s.dataset.foreground! < 0.2, String(s.dataset.foreground));
  assert.deepEqual(s.results.map((r) => r.loss), ['ce_pixel', 'dice']);
  for (const r of s.results) {
    assert.equal(r.finished, 2);
    const g = r.seg!;
    for (const k of ['dice', 'iou'] as const) assert.ok(g[k].perSeed.every((v) => typeof v === 'number' && v >= 0 && v <= 1), `${r.loss} ${k} ${g[k].perSeed}`);
    assert.ok(g.hd95.perSeed.every((v) => typeof v === 'number' && v >= 0), `${r.loss} hd95 ${g.hd95.perSeed}`);
    assert.deepEqual(r.testAccuracy, g.dice);
    assert.deepEqual(r.seeds.map((x) => x.seg?.dice), g.dice.perSeed);
    assert.deepEqual(r.seeds.map((x) => x.testAcc), g.dice.perSeed);
  }
  const d = s.results[1];
  const base = s.results[0];
  assert.equal(d.vsBaseline.metric, 'dice');
  assert.equal(d.vsBaseline.lowerIsBetter, undefined);
  assert.equal(d.vsBaseline.n, 2);
  assert.equal(d.vsBaseline.verdict, 'inconclusive'); // 2 pairs
  assert.ok(Math.abs(d.vsBaseline.meanDiff! - (d.seg!.dice.mean! - base.seg!.dice.mean!)) < 1e-12);
  const h = d.seg!.hd95VsBaseline;
  assert.equal(h.metric, 'hd95');
  assert.equal(h.lowerIsBetter, true);
  assert.equal(h.n, 2);
  assert.ok(Math.abs(h.meanDiff! - (d.seg!.hd95.mean! - base.seg!.hd95.mean!)) < 1e-9);
  assert.equal(h.verdict, 'inconclusive');

  const events = readEvents(run);
  const ends = events.filter((e): e is SeedEndEvent => e.type === 'seed-end');
  assert.equal(ends.length, 4);
  for (const e of ends) {
    assert.equal(e.status, 'completed');
    assert.ok(e.seg && typeof e.seg.dice === 'number' && typeof e.seg.iou === 'number' && typeof e.seg.hd95 === 'number');
    assert.equal(e.steps, 4);
    assert.equal(e.bestEpoch, 1);
    assert.equal(e.testAcc, e.seg.dice);
  }
  const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
  assert.equal(epochs.length, 4);
  for (const e of epochs) {
    assert.ok(e.seg && typeof e.seg.loss === 'number' && typeof e.seg.valDice === 'number' && typeof e.seg.valIou === 'number', JSON.stringify(e));
    assert.equal(e.trainLoss, e.seg.loss);
    assert.equal(e.valAcc, null);
  }
  assert.equal(events.filter((e) => e.type === 'result').length, 2);

  // --resume of the finished run keeps all four trainings and trains nothing; --json stays machine-readable.
  const io2 = fakeIo();
  assert.equal(await main(['compare', '--resume', id, '--runs-dir', runs, '--json'], io2), 0, io2.stderr);
  const lines = io2.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.find((l) => l.type === 'compare-resume'), { type: 'compare-resume', jobs: 4, kept: 4, workers: 1 });
  assert.equal(lines.filter((l) => l.type === 'seed-start').length, 0);
  const resumed = lines.at(-1) as unknown as CompareSummary;
  assert.equal(resumed.task, 'segmentation');
  assert.deepEqual(resumed.results.map((r) => r.seg), s.results.map((r) => r.seg));
  assert.deepEqual(readSummary(run).results.map((r) => r.vsBaseline), s.results.map((r) => r.vsBaseline));

  // A run cut off after three trainings (a kill: the rest of events.jsonl never written) resumes
  // with those three kept and trains the fourth to the same numbers (deterministic per seed).
  const cut = path.join(runs, `${id}-cut`);
  fs.cpSync(run, cut, { recursive: true });
  const text = fs.readFileSync(path.join(run, 'events.jsonl'), 'utf8').split('\n');
  const third = text.findIndex((l, i) => l.includes('"type":"seed-end"') && text.slice(0, i + 1).filter((x) => x.includes('"type":"seed-end"')).length === 3);
  fs.writeFileSync(path.join(cut, 'events.jsonl'), text.slice(0, third + 1).join('\n') + '\n');
  fs.rmSync(path.join(cut, 'summary.json'));
  const io3 = fakeIo();
  assert.equal(await main(['compare', '--resume', cut, '--runs-dir', runs], io3), 0, io3.stderr + io3.stdout);
  assert.match(io3.stdout, /resuming [^\n]*: 3 of 4 trainings finished before and are kept; training 1 on 1 worker/);
  assert.match(io3.stdout, /\[4\/4\] dice · none · seed 2: Dice/);
  const again = readSummary(cut);
  assert.equal(again.status, 'done');
  assert.deepEqual(again.results.map((r) => r.seg), s.results.map((r) => r.seg));
});

test('the lossmith command in a folder of its own: compare a segmentation file with tiny settings prints the table', async () => {
  const dir = tmpDir('lossmith-seg-cli-');
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [path.join(ROOT, 'bin', 'lossmith.js'), 'compare', DICE, ...TINY], { cwd: dir, maxBuffer: 16 << 20, timeout: 240_000 }, (err, out, errOut) =>
      err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
    ),
  );
  assert.match(stdout, /lossmith compare: 2 losses × 1 augmentation × 2 seeds = 4 trainings on 2 workers/);
  assert.match(stdout, /Compare run \S+ — done \(task segmentation\)/);
  assert.match(stdout, /ce_pixel \(baseline\)\s+\d+\.\d\d% ± /);
  assert.match(stdout, /\n  dice\s+\d+\.\d\d% ± [^\n]*inconclusive/);
  assert.match(stdout, /Data: digits in clutter/);
  assert.match(stdout, /summary: .*\.lossmith\/runs\/\S+\/summary\.json/);
  const runs = path.join(dir, '.lossmith', 'runs');
  assert.equal(fs.readdirSync(runs).length, 1);
});

const torchPython = findTorchPython();

test('compare of a segmentation file on the torch engine (--engine torch): the runner\u2019s U-Net, metrics from the same segMetrics', { skip: skipUnless(torchPython, 'a python3 with torch') }, async () => {
  assert.ok(torchPython, 'CI=true: no python3 with torch');
  const dir = tmpDir('lossmith-seg-torch-');
  const runs = path.join(dir, 'runs');
  const io = fakeIo();
  const code = await main(['compare', DICE, ...TINY, '--engine', 'torch', '--python', torchPython!, '--workers', '1', '--runs-dir', runs], io);
  assert.equal(code, 0, io.stderr + io.stdout);
  assert.match(io.stdout, /engine torch[^\n]*\(segmentation: a small U-Net on digits-clutter\)/);
  const [id] = fs.readdirSync(runs);
  const s = JSON.parse(fs.readFileSync(path.join(runs, id, 'summary.json'), 'utf8')) as CompareSummary;
  assert.equal(s.status, 'done');
  assert.equal(s.task, 'segmentation');
  const config = JSON.parse(fs.readFileSync(path.join(runs, id, 'config.json'), 'utf8')) as { engine: string; torch?: { python: string } };
  assert.equal(config.engine, 'torch');
  assert.equal(config.torch?.python, torchPython);
  for (const r of s.results) {
    assert.ok(r.seg && r.seg.dice.perSeed.every((v) => typeof v === 'number' && v >= 0 && v <= 1), JSON.stringify(r.seg));
    assert.ok(r.seg.hd95.perSeed.every((v) => typeof v === 'number' && v >= 0));
  }
});

test('compare on a folder of images/ and masks/ PNGs (users\u2019 own data): trained end to end, the folder\u2019s size and classes', async () => {
  const { PNG } = await import('pngjs');
  const dir = tmpDir('lossmith-seg-folder-');
  const data = path.join(dir, 'data');
  fs.mkdirSync(path.join(data, 'images'), { recursive: true });
  fs.mkdirSync(path.join(data, 'masks'));
  // 30 grey 20×20 images: a bright square (class 1) or a bright disc (class 2) on noise.
  let s = 7;
  const rnd = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const W = 20;
  for (let n = 0; n < 30; n++) {
    const img = new PNG({ width: W, height: W });
    const mask = new PNG({ width: W, height: W });
    const cls = 1 + (n % 2);
    const cx = 5 + Math.floor(rnd() * 10);
    const cy = 5 + Math.floor(rnd() * 10);
    for (let y = 0; y < W; y++) {
      for (let x = 0; x < W; x++) {
        const inside = cls === 1 ? Math.abs(x - cx) <= 2 && Math.abs(y - cy) <= 2 : (x - cx) ** 2 + (y - cy) ** 2 <= 6;
        const v = inside ? 200 + Math.floor(rnd() * 55) : Math.floor(rnd() * 80);
        const i = (y * W + x) * 4;
        img.data.set([v, v, v, 255], i);
        const m = inside ? cls : 0;
        mask.data.set([m, m, m, 255], i);
      }
    }
    const name = `img${String(n).padStart(2, '0')}.png`;
    fs.writeFileSync(path.join(data, 'images', name), PNG.sync.write(img, { colorType: 0 }));
    fs.writeFileSync(path.join(data, 'masks', name), PNG.sync.write(mask, { colorType: 0 }));
  }
  const runs = path.join(dir, 'runs');
  const io = fakeIo();
  const code = await main(['compare', DICE, '--dataset', data, '--seeds', '2', '--epochs', '1', '--batch-size', '8', '--backend', 'wasm', '--workers', '0', '--runs-dir', runs], io);
  assert.equal(code, 0, io.stderr + io.stdout);
  const [id] = fs.readdirSync(runs);
  const sm = JSON.parse(fs.readFileSync(path.join(runs, id, 'summary.json'), 'utf8')) as CompareSummary & { dataset: { classes: number; height: number; width: number; train: number; val: number; test: number } };
  assert.equal(sm.status, 'done');
  assert.deepEqual([sm.dataset.classes, sm.dataset.height, sm.dataset.width], [3, 20, 20]);
  assert.equal(sm.dataset.train + sm.dataset.val + sm.dataset.test, 30);
  for (const r of sm.results) assert.ok(r.seg && r.seg.dice.perSeed.every((v) => typeof v === 'number' && v >= 0 && v <= 1), JSON.stringify(r.seg));
});
