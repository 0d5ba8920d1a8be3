/** The run panels' tab titles (client/src/runs/panel-title.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPanelTitle, runStart, startText } from '../../client/src/runs/panel-title';

test('a run panel is titled by what ran and when it started, never by its id', () => {
  assert.equal(runPanelTitle('compare', 'focal vs ce', '20261206-145332-896-1ba8', 'UTC'), 'focal vs ce · Dec 6, 14:53:32');
  assert.equal(runPanelTitle('evolve', 'evolution (none, cutout)', '20261206-145332-896-1ba8', 'UTC'), 'Evolution (none, cutout) · Dec 6, 14:53:32');
  // Before the label is read (the panel opens as the run starts).
  assert.equal(runPanelTitle('compare', '', '20261206-145332-896-1ba8', 'UTC'), 'Evaluation · Dec 6, 14:53:32');
  // An id that is not the store's: the kind alone, not the id.
  assert.equal(runPanelTitle('evolve', '', 'my-run'), 'Evolution');
});

test('two evaluations of the same loss, a second apart, get different titles', () => {
  const a = runPanelTitle('compare', 'focal vs ce', '20261206-145332-896-1ba8');
  const b = runPanelTitle('compare', 'focal vs ce', '20261206-145333-101-77aa');
  assert.notEqual(a, b);
});

test('the id is UTC; the title is in the local time zone', () => {
  const d = runStart('20261231-235959-999-0000')!;
  assert.equal(d.toISOString(), '2026-12-31T23:59:59.999Z');
  assert.equal(startText(d, 'Asia/Tokyo'), 'Jan 1, 08:59:59');
  assert.equal(runStart('nope'), undefined);
});
