/** The Getting Started walkthrough: its manifest entry, its files in the .vsix, its sample loss. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { checkText } from '../../grammar/src/index';
import { COMMAND_IDS } from '../../client/src/command-ids';
import { freeLossName, SAMPLE_LOSS, WALKTHROUGH_ID } from '../../client/src/walkthrough-text';

const root = path.join(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

interface Step {
  id: string;
  title: string;
  description: string;
  media: { markdown?: string; image?: string };
  completionEvents?: string[];
}

test('the walkthrough: write, derivative, evaluate, evolve, export; each step has a button that runs a contributed command', () => {
  const w = pkg.contributes.walkthroughs.find((x: { id: string }) => x.id === WALKTHROUGH_ID);
  assert.ok(w, 'no walkthrough');
  const steps = w.steps as Step[];
  assert.deepEqual(steps.map((s) => s.id), ['write', 'derivative', 'evaluate', 'evolve', 'export']);
  const expected = ['lossmith.newLossFile', 'lossmith.showDerivativePreview', 'lossmith.evaluateLoss', 'lossmith.startEvolution', 'lossmith.exportLoss'];
  steps.forEach((s, i) => {
    const buttons = [...s.description.matchAll(/\[([^\]]+)\]\(command:(?:toSide:)?([\w.]+)\)/g)].map((m) => m[2]);
    assert.equal(buttons[0], expected[i], s.id);
    for (const b of buttons) assert.ok((COMMAND_IDS as readonly string[]).includes(b), `${s.id}: ${b} is not a Lossmith command`);
    // Its button marks it done.
    assert.ok(s.completionEvents?.includes(`onCommand:${expected[i]}`), s.id);
  });
});

test('the walkthrough\'s media exist and ship in the .vsix', () => {
  const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  assert.ok(ignore.split('\n').includes('!media/walkthrough/**'));
  for (const s of pkg.contributes.walkthroughs[0].steps as Step[]) {
    const f = s.media.markdown ?? s.media.image;
    assert.ok(f && f.startsWith('media/walkthrough/'), s.id);
    assert.ok(fs.existsSync(path.join(root, f)), `${f} is missing`);
  }
  assert.ok(pkg.contributes.commands.some((c: { command: string; title: string }) => c.command === 'lossmith.openWalkthrough' && c.title === 'Open Getting Started Walkthrough'));
});

test('the sample loss checks without a diagnostic; its file name never overwrites one', () => {
  const { model, diagnostics } = checkText(SAMPLE_LOSS, { integrity: true });
  assert.deepEqual(diagnostics.map((d) => d.message), []);
  assert.deepEqual(model.losses.map((l) => l.name), ['focal']);
  assert.equal(freeLossName(() => false), 'my-loss.loss');
  const taken = new Set(['my-loss.loss', 'my-loss-2.loss']);
  assert.equal(freeLossName((n) => taken.has(n)), 'my-loss-3.loss');
});
