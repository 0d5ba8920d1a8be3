/** The run panels' event follower (media/src/shared/follow.ts), without a DOM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventFollower } from '../../media/src/shared/follow';
import type { WireEvent } from '../../media/src/shared/validate';

interface M {
  runId: string;
  seen: string[];
  resets: number;
}

test('batches fold in order, overlaps are skipped, a gap asks for everything, a new run or index 0 starts afresh', () => {
  let resets = 0;
  const f = new EventFollower<M>((runId) => ({ runId, seen: [], resets: 0 }), (m, e) => void m.seen.push(e.type), (m) => void (m.resets = ++resets));
  const ev = (...types: string[]): WireEvent[] => types.map((type) => ({ type }));
  assert.equal(f.apply('a', 0, ev('e0', 'e1')), 'applied');
  assert.equal(f.apply('a', 1, ev('e1', 'e2')), 'applied'); // overlap: e1 once
  assert.deepEqual(f.model.seen, ['e0', 'e1', 'e2']);
  assert.equal(f.apply('a', 5, ev('e5')), 'gap');
  assert.deepEqual(f.model.seen, ['e0', 'e1', 'e2']);
  assert.equal(f.apply('a', 0, ev('x0')), 'applied'); // everything again from 0
  assert.deepEqual(f.model.seen, ['x0']);
  assert.equal(f.apply('b', 0, ev('b0')), 'applied');
  assert.equal(f.model.runId, 'b');
  assert.deepEqual(f.model.seen, ['b0']);
  assert.equal(f.model.resets, 3, 'onReset ran for each fresh model');
});
