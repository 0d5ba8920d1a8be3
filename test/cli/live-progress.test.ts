/**
 * The CLI's live displays (engine/src/commands/live-progress.ts) drawn on a fake terminal: the
 * compare run's bars and the evolve run's (a bar per search with its best fitness against CE's,
 * the final re-training's bar sized from its announcement, the transfer ladder's from its event).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'stream';
import { evolveLiveDisplay, formatSeconds, liveDisplay } from '../../engine/src/commands/live-progress';

function terminal(): { stream: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  let out = '';
  s.on('data', (b: Buffer) => (out += b.toString('utf8')));
  Object.assign(s, { isTTY: true, columns: 160, rows: 40 });
  // eslint-disable-next-line no-control-regex
  return { stream: s, text: () => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '\n') };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

test('evolve: a bar per search with children, best fitness and CE; the final and transfer phases with their sizes', async () => {
  const t = terminal();
  const live = evolveLiveDisplay(t.stream, 6);
  live.event({ type: 'search-start', augment: 'none' });
  live.event({ type: 'baseline', fitness: 0.755 });
  for (let i = 0; i < 4; i++) live.event({ type: 'candidate-evaluated', fitness: 0.9 });
  live.event({ type: 'generation', evaluated: 3, bestEver: { fitness: 0.72 } });
  live.log('[none] generation 3: 3/6 children');
  await settle();
  live.log('final: re-training the top 2 of each search and CE with 3 other seed(s) (9 trainings)');
  live.event({ type: 'final-evaluated' });
  live.event({ type: 'final-evaluated' });
  live.event({ type: 'transfer-start', total: 12 });
  live.event({ type: 'transfer-evaluated' });
  await settle();
  live.stop();
  const out = t.text();
  assert.match(out, /search \[none\] [█░]+ 3\/6 children · best 0\.7200 \(CE 0\.7550\) · 4 evaluations · /);
  assert.match(out, /\[none\] generation 3: 3\/6 children/);
  assert.match(out, /final +[█░]+ 2\/9 trainings · /);
  assert.match(out, /transfer [█░]+ 1\/12 trainings · /);
});

test('compare: the run bar and a bar per running training; finished lines above them', async () => {
  const t = terminal();
  const live = liveDisplay(t.stream);
  live.plan(4);
  live.step({ loss: 'focal', augmentation: 'none', seed: 1, epoch: 1, epochs: 3, step: 20, steps: 60 } as never);
  await settle();
  live.ended({ loss: 'focal', augmentation: 'none', seed: 1 }, 'focal · none · seed 1: test 97.10%');
  await settle();
  live.stop();
  const out = t.text();
  assert.match(out, /focal · none · seed 1 [█░]+ epoch 1\/3 · step 20\/60 · /);
  assert.match(out, /focal · none · seed 1: test 97\.10%/);
  assert.match(out, /run +[█░]+ 1\/4 trainings · /);
  assert.equal(formatSeconds(75), '1m15s');
  assert.equal(formatSeconds(3725), '1h02m');
});
