/**
 * Segmentation trainings on the torch engine (Debian's python3-torch 1.13, CPU, in
 * /usr/bin/python3): the engine's `segment` end to end on tiny digits-clutter data (the U-Net
 * of lossmith_torch/seg.py, the data file, predictions back, metrics from segMetrics), the
 * boundary loss with its distance maps, the runner's best-epoch Dice against segMetrics, NaN,
 * cancellation, a loss that does not export, and the wire format of the task.
 * Locally without torch these are skipped with a message; with CI=true they fail instead.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Progress, SegTask, SegTaskResult, TaskContext, TorchOptionsJson } from '../../engine/src/compute/types';
import { segMetrics } from '../../engine/src/data/seg-metrics';
import { loadSegmentation } from '../../engine/src/data/segmentation';
import { decodeLabelMaps, engine, torchSegTask } from '../../engine/src/engines/torch';
import { runnerEnv } from '../../engine/src/engines/torch/python';
import { Rng } from '../../engine/src/rng';
import type { TorchSegMessage } from '../../protocol/torch-task';
import { findTorchPython, skipUnless } from '../export/python';
import { tmpDir } from '../helpers/tmp';

const ROOT = path.join(__dirname, '..', '..', '..');
const SEG_EXAMPLES = path.join(ROOT, 'examples', 'segmentation');
const PY = findTorchPython();
const skip = skipUnless(PY, 'a Python with torch');

// The data files go to a folder of this test file, removed at the end.
process.env.LOSSMITH_DATA_CACHE = tmpDir('lossmith-torch-seg-');
// CPU threads per runner = cores / workers: one thread on a 2-core machine. A fixed count makes
// the runs repeatable, and one thread keeps a busy machine from stalling torch's OpenMP threads.
process.env.LOSSMITH_WORKER_COUNT = '2';
after(() => engine.shutdown?.());

const SEG = { size: 24, train: 64, val: 32, test: 32, filters: 4 };

function segTask(file: string, lossName: string, over: Partial<SegTask> = {}): SegTask & { torch: TorchOptionsJson } {
  return {
    kind: 'segmentation',
    lossSource: file.includes('\n') ? file : fs.readFileSync(path.join(SEG_EXAMPLES, file), 'utf8'),
    lossName,
    engine: 'torch',
    backend: 'auto',
    torch: { python: PY!, device: 'cpu', precision: 'auto' },
    dataset: { spec: 'digits-clutter', seed: 0 },
    seg: SEG,
    lr: 3e-3,
    batchSize: 16,
    epochs: 2,
    seed: 1,
    ...over,
  };
}

function ctx(onProgress?: (p: Progress) => void, signal = new AbortController().signal): TaskContext & { seen: Progress[] } {
  const seen: Progress[] = [];
  return {
    signal,
    seen,
    progress: (p) => {
      seen.push(p);
      onProgress?.(p);
    },
  };
}

const inUnit = (v: number | null): boolean => v !== null && v >= 0 && v <= 1;
const strip = (r: SegTaskResult) => ({ ...r, wallMs: 0, pid: 0, backend: null, history: r.history.map((h) => ({ ...h, ms: 0 })) });

test('a tiny U-Net training with the Dice loss: completed, metrics from segMetrics, history per epoch, repeatable', { skip }, async () => {
  const c = ctx();
  const r = await engine.segment!(segTask('dice.loss', 'dice'), c);
  assert.equal(r.status, 'completed', r.reason);
  assert.equal(r.history.length, 2);
  assert.deepEqual(r.history.map((h) => h.epoch), [1, 2]);
  for (const h of r.history) {
    assert.ok(h.loss !== null && Number.isFinite(h.loss) && h.loss >= 0 && h.loss <= 1, `loss ${h.loss}`);
    assert.ok(inUnit(h.valDice) && inUnit(h.valIou) && h.valIou! <= h.valDice! + 1e-12, JSON.stringify(h));
  }
  assert.ok(inUnit(r.metrics.dice) && inUnit(r.metrics.iou), JSON.stringify(r.metrics));
  assert.ok(r.metrics.hd95 !== null && r.metrics.hd95 >= 0 && r.metrics.hd95 <= Math.hypot(24, 24), `hd95 ${r.metrics.hd95}`);
  assert.equal(r.bestValDice, Math.max(...r.history.map((h) => h.valDice!)));
  assert.equal(r.steps, 2 * 4);
  assert.deepEqual(r.dataset, { ...r.dataset, name: 'digits-clutter', height: 24, width: 24, channels: 1, classes: 2, train: 64, val: 32, test: 32 });
  assert.ok(r.dataset.foreground > 0 && r.dataset.foreground < 0.2);
  assert.equal(r.backend.engine, 'torch');
  assert.equal(r.backend.torch?.device, 'cpu');
  assert.equal(r.backend.torch?.precision, 'fp32');
  // Progress: the backend first, then seg-epoch records (the same as the history), steps between them.
  assert.equal(c.seen[0].kind, 'backend');
  const epochs = c.seen.filter((p): p is Extract<Progress, { kind: 'seg-epoch' }> => p.kind === 'seg-epoch').map((p) => p.epoch);
  assert.deepEqual(epochs, r.history);

  // The same task again (the same runner, its data cached): the same numbers to the last bit.
  const again = await engine.segment!(segTask('dice.loss', 'dice'), ctx());
  assert.deepEqual(strip(again), strip(r));
});

test('the boundary loss reads dist: the data file carries the distance maps and the training stays finite', { skip }, async () => {
  const r = await engine.segment!(segTask('boundary.loss', 'boundary'), ctx());
  assert.equal(r.status, 'completed', r.reason);
  assert.equal(r.history.length, 2);
  for (const h of r.history) assert.ok(h.loss !== null && Number.isFinite(h.loss), `loss ${h.loss}`);
  assert.ok(inUnit(r.metrics.dice) && inUnit(r.metrics.iou) && r.metrics.hd95 !== null && Number.isFinite(r.metrics.hd95));
  // The task names a file with the distance maps of the training split (float32 [n, H, W, C]).
  const tt = torchSegTask(segTask('boundary.loss', 'boundary'), 'cpu', { python: PY!, device: 'cpu', precision: 'auto' });
  const header = readSegHeader(tt.data.path);
  assert.equal(header.kind, 'segmentation');
  assert.ok(typeof header.splits.train.dist === 'number' && header.splits.val.dist === undefined);
  // A loss that does not read dist can use that file too (no second file is written for it).
  assert.equal(torchSegTask(segTask('dice.loss', 'dice'), 'cpu', { python: PY!, device: 'cpu', precision: 'auto' }).data.path, tt.data.path);
});

function readSegHeader(file: string): { kind: string; splits: Record<string, Record<string, number>> } {
  const buf = fs.readFileSync(file);
  assert.equal(buf.subarray(0, 6).toString('latin1'), 'LMDS1\n');
  return JSON.parse(buf.subarray(10, 10 + buf.readUInt32LE(6)).toString('utf8'));
}

test("the runner's best-epoch Dice is segMetrics' Dice, to the last bit", { skip }, () => {
  // 1. On the runner's own predictions: every epoch's valDice against segMetrics of the label maps it sent.
  const dir = tmpDir('lossmith-torch-seg-');
  const task = segTask('dice.loss', 'dice', { epochs: 3 });
  const tt = torchSegTask(task, 'cpu', { python: PY!, device: 'cpu', precision: 'auto' });
  const file = path.join(dir, 'task.json');
  fs.writeFileSync(file, JSON.stringify(tt));
  const run = spawnSync(PY!, ['-m', 'lossmith_torch', file], { env: runnerEnv(), encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, run.stderr);
  const msgs = run.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as TorchSegMessage);
  assert.deepEqual(msgs.map((m) => m.type).filter((t) => t !== 'step'), ['info', 'seg-epoch', 'seg-epoch', 'seg-epoch', 'result']);
  const ds = loadSegmentation('digits-clutter', { seed: 0, ...SEG });
  const node: number[] = [];
  for (const m of msgs) {
    if (m.type !== 'seg-epoch') continue;
    const pred = decodeLabelMaps(m.val!, ds.val, 24, 24);
    const d = segMetrics(pred, ds.val.masks, ds.val.n, 24, 24, 2).dice;
    assert.equal(m.epoch.valDice, d, `epoch ${m.epoch.epoch}`);
    node.push(d);
  }
  const res = msgs.at(-1) as Extract<TorchSegMessage, { type: 'result' }>;
  assert.equal(res.result.bestEpoch, node.indexOf(Math.max(...node)) + 1);
  assert.equal(res.result.bestValDice, Math.max(...node));
  assert.equal(res.result.steps, 3 * 4);
  assert.ok(res.result.test && res.result.test.n === 32);

  // 2. On random label maps of 3 classes, with classes absent from one or both maps.
  const rng = new Rng(11);
  const n = 60;
  const H = 7;
  const W = 5;
  const maps = (): Int32Array =>
    Int32Array.from({ length: n * H * W }, (_, i) => {
      const img = Math.floor(i / (H * W));
      if (img % 6 === 0) return 0; // all background
      if (img % 6 === 1) return rng.next() < 0.9 ? 0 : 2; // class 1 absent
      return Math.floor(rng.next() * 3);
    });
  const pred = maps();
  const target = maps();
  const code = [
    'import json, sys, torch',
    'from lossmith_torch.seg import foreground_dice',
    'd = json.load(sys.stdin)',
    'p = torch.tensor(d["pred"], dtype=torch.uint8).view(d["n"], d["h"], d["w"])',
    't = torch.tensor(d["target"], dtype=torch.uint8).view(d["n"], d["h"], d["w"])',
    'print(json.dumps([foreground_dice(p, t, 3), foreground_dice(p[:1], t[:1], 3), foreground_dice(t, t, 3), foreground_dice(p[:0], t[:0], 3)]))',
  ].join('\n');
  const out = JSON.parse(
    execFileSync(PY!, ['-c', code], { env: runnerEnv(), encoding: 'utf8', input: JSON.stringify({ n, h: H, w: W, pred: [...pred], target: [...target] }) }),
  ) as (number | null)[];
  const px = H * W;
  assert.equal(out[0], segMetrics(pred, target, n, H, W, 3).dice);
  assert.equal(out[1], segMetrics(pred.subarray(0, px), target.subarray(0, px), 1, H, W, 3).dice);
  assert.equal(out[1], 1, 'both maps empty of every foreground class: Dice 1');
  assert.equal(out[2], 1);
  assert.equal(out[3], null);
});

test("a loss that turns NaN ends the training as 'nan' with a reason; cancelling gives 'cancelled'", { skip }, async () => {
  const nan = 'task segmentation\nloss nanloss = log(mean(sum_px(p * y)) - 1e6)\n';
  const r = await engine.segment!(segTask(nan, 'nanloss'), ctx());
  assert.equal(r.status, 'nan');
  assert.equal(r.reason, 'loss is NaN at step 0');
  assert.deepEqual(r.history, []);
  assert.deepEqual(r.metrics, { dice: null, iou: null, hd95: null });
  assert.equal(r.steps, 0);

  // Cancelled after the first epoch: the runner is killed, the finished epochs are kept.
  const ac = new AbortController();
  const c = ctx((p) => {
    if (p.kind === 'seg-epoch') ac.abort();
  }, ac.signal);
  const cancelled = await engine.segment!(segTask('dice.loss', 'dice', { epochs: 50 }), c);
  assert.equal(cancelled.status, 'cancelled');
  assert.ok(cancelled.history.length >= 1 && cancelled.history.length < 50, `${cancelled.history.length} epochs`);
  assert.deepEqual(cancelled.metrics, { dice: null, iou: null, hd95: null });
  // The engine starts a fresh runner for the next task.
  const next = await engine.segment!(segTask('dice.loss', 'dice', { epochs: 1 }), ctx());
  assert.equal(next.status, 'completed');
});

test("a loss that does not export fails with the exporter's one-line message before the runner trains", { skip }, async () => {
  const c = ctx();
  await assert.rejects(
    engine.segment!(segTask('task segmentation\nloss bad = mean(sum_px(p * q))\n', 'bad'), c),
    (e: Error) => {
      assert.match(e.message, /^loss 'bad' cannot be exported to PyTorch: cannot export: the file has 1 error: unknown name 'q'/);
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
  assert.deepEqual(c.seen, [], 'nothing was sent to the runner');
  // A classification loss is not a segmentation loss.
  await assert.rejects(engine.segment!(segTask('loss ce = -sum(y * log(p))\n', 'ce'), ctx()), /loss 'ce' is not a segmentation loss/);
});

test('protocol: a TorchSegTask round-trips through the runner\'s task.py field by field', { skip }, () => {
  const opts: TorchOptionsJson = { python: PY!, device: 'cpu', precision: 'fp32', compile: false, channelsLast: false };
  const tasks = [
    torchSegTask(segTask('boundary.loss', 'boundary', { stepsPerEpoch: 3, params: { alpha: 0.25 } }), 'cpu', opts),
    torchSegTask(segTask('dice.loss', 'dice'), 'cuda:1', { python: PY!, device: 'cuda', precision: 'bf16' }),
  ];
  assert.equal(tasks[0].kind, 'segmentation');
  assert.deepEqual(tasks[0].loss.params, { alpha: 0.25, eps: 0.00001 });
  assert.equal(tasks[0].threads, Math.max(1, Math.floor(os.cpus().length / 2)));
  assert.equal(tasks[1].threads, undefined);
  const code = [
    'import json, sys',
    'from lossmith_torch.task import parse_any_task, task_to_dict, SegTask',
    'out = []',
    'for d in json.load(sys.stdin):',
    '    t = parse_any_task(d)',
    '    assert isinstance(t, SegTask)',
    '    out.append(task_to_dict(t))',
    'print(json.dumps(out))',
  ].join('\n');
  const back = JSON.parse(execFileSync(PY!, ['-c', code], { env: runnerEnv(), encoding: 'utf8', input: JSON.stringify(tasks) }));
  assert.deepEqual(back, JSON.parse(JSON.stringify(tasks)));
});
