import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as child from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  createRun,
  listRuns,
  makeRunId,
  openRun,
  readConfig,
  readEvents,
  readEventsDetailed,
  readSummary,
  runsDir,
  writeJsonAtomic,
} from '../../store/run-store';
import { tmpDir } from '../helpers/tmp';

function tmpRoot(): string {
  return tmpDir('lossmith-runs-');
}

test('createRun: folder, config, run-start event, sortable ids', () => {
  const root = tmpRoot();
  const h = createRun(root, 'compare', { losses: ['ce', 'focal'], seeds: [1, 2, 3] }, { now: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)) });
  assert.match(h.id, /^20250102-030405-006-[0-9a-f]{4}$/);
  assert.equal(h.dir, path.join(runsDir(root), h.id));
  assert.equal(h.created, '2025-01-02T03:04:05.006Z');
  assert.deepEqual(readConfig(h.dir), { losses: ['ce', 'focal'], seeds: [1, 2, 3] });
  const ev = readEvents(h.dir);
  assert.equal(ev.length, 1);
  assert.equal(ev[0].type, 'run-start');
  assert.equal(ev[0].kind, 'compare');
  assert.equal(ev[0].pid, process.pid);
  h.append({ type: 'epoch', seed: 1, acc: 0.9 });
  h.append({ type: 'epoch', seed: 1, acc: 0.92, note: 'line\nbreak inside a string is escaped' }, { sync: true });
  h.close();
  assert.deepEqual(readEvents(h.dir).slice(1), [
    { type: 'epoch', seed: 1, acc: 0.9 },
    { type: 'epoch', seed: 1, acc: 0.92, note: 'line\nbreak inside a string is escaped' },
  ]);
  assert.throws(() => h.append({ type: 'late' }), /append after close/);
  assert.throws(() => createRun(root, 'train' as 'compare', {}), /kind must be 'compare' or 'evolve'/);
  // Ids sort chronologically as strings (across day, month and millisecond boundaries).
  const times = [Date.UTC(2024, 11, 31, 23, 59, 59, 999), Date.UTC(2025, 0, 1, 0, 0, 0, 0), Date.UTC(2025, 0, 1, 0, 0, 0, 10), Date.UTC(2025, 9, 1)];
  const ids = times.map((t) => makeRunId(new Date(t), 'ffff'));
  assert.deepEqual([...ids].sort(), ids);
  // Same millisecond: distinct folders.
  const now = new Date();
  const a = createRun(root, 'evolve', {}, { now });
  const b = createRun(root, 'evolve', {}, { now });
  assert.notEqual(a.id, b.id);
  a.close();
  b.close();
});

test('readEvents: a torn last line is ignored, NUL tails too, complete last line without newline kept', () => {
  const root = tmpRoot();
  const h = createRun(root, 'evolve', {});
  h.append({ type: 'eval', i: 1 });
  h.append({ type: 'eval', i: 2 });
  h.close();
  const file = path.join(h.dir, 'events.jsonl');
  const good = fs.readFileSync(file);
  fs.appendFileSync(file, '{"type":"eval","i":3,"fitn');
  let r = readEventsDetailed(h.dir);
  assert.deepEqual(r.events.map((e) => e.i), [undefined, 1, 2]);
  assert.equal(r.tornBytes, '{"type":"eval","i":3,"fitn'.length);
  // Power loss can leave NUL bytes instead of data.
  fs.writeFileSync(file, Buffer.concat([good, Buffer.alloc(40)]));
  assert.equal(readEvents(h.dir).length, 3);
  // A complete object whose newline was lost is kept.
  fs.writeFileSync(file, Buffer.concat([good, Buffer.from('{"type":"eval","i":3}')]));
  r = readEventsDetailed(h.dir);
  assert.equal(r.events.length, 4);
  assert.equal(r.missingNewline, true);
  // A torn line that happens to be valid JSON but not an event object is still torn, not an error.
  fs.writeFileSync(file, Buffer.concat([good, Buffer.from('12')]));
  assert.equal(readEvents(h.dir).length, 3);
});

test('readEvents: corruption before the last line is an error with its line number', () => {
  const root = tmpRoot();
  const h = createRun(root, 'compare', {});
  h.append({ type: 'a' });
  h.close();
  const file = path.join(h.dir, 'events.jsonl');
  fs.appendFileSync(file, '{"type":"b", oops}\n{"type":"c"}\n');
  assert.throws(() => readEvents(h.dir), (e: Error) => e.message.includes(`${file}:3: corrupted event line (invalid JSON`));
  fs.writeFileSync(file, '{"type":"run-start"}\n[1,2]\n{"type":"c"}\n');
  assert.throws(() => readEvents(h.dir), /events\.jsonl:2: corrupted event line \(not an object with a string 'type'\)/);
  // Blank lines are not corruption.
  fs.writeFileSync(file, '{"type":"run-start"}\n\n{"type":"c"}\n');
  assert.equal(readEvents(h.dir).length, 2);
  assert.throws(() => readEvents(path.join(root, 'missing')), /cannot read/);
});

test('openRun: resumes appending after cutting a torn tail', () => {
  const root = tmpRoot();
  const h = createRun(root, 'evolve', { population: 10 });
  h.append({ type: 'eval', i: 1 }, { sync: true });
  h.close();
  const file = path.join(h.dir, 'events.jsonl');
  fs.appendFileSync(file, '{"type":"eval","i":2,"fit');
  const r = openRun(h.dir);
  assert.equal(r.id, h.id);
  assert.equal(r.kind, 'evolve');
  r.append({ type: 'eval', i: 2 });
  r.close();
  const ev = readEvents(h.dir);
  assert.deepEqual(ev.map((e) => e.type), ['run-start', 'eval', 'run-resume', 'eval']);
  assert.equal(ev[3].i, 2);
  // A complete last line without its newline gets one before the next append.
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').trimEnd());
  const r2 = openRun(h.dir);
  r2.append({ type: 'eval', i: 3 });
  r2.close();
  assert.deepEqual(readEvents(h.dir).map((e) => e.i ?? null).slice(-3), [2, null, 3]);
});

test('writeSummary: atomic replace; readers never see a partial file', () => {
  const root = tmpRoot();
  const h = createRun(root, 'compare', {});
  assert.equal(readSummary(h.dir), null);
  h.writeSummary({ status: 'running', done: 1 });
  assert.deepEqual(readSummary(h.dir), { id: h.id, kind: 'compare', created: h.created, status: 'running', done: 1 });
  h.writeSummary({ status: 'done', done: 2 });
  assert.equal(readSummary(h.dir)?.done, 2);
  assert.deepEqual(fs.readdirSync(h.dir).sort(), ['config.json', 'events.jsonl', 'summary.json']); // no temporary files left
  h.close();

  // A writer process replaces a ~100 kB summary 60 times while we read it: every read must
  // parse and be one of the writer's complete versions.
  const target = path.join(h.dir, 'summary.json');
  const modulePath = require.resolve('../../store/run-store');
  const script = `
    const { writeJsonAtomic } = require(${JSON.stringify(modulePath)});
    const big = 'x'.repeat(100000);
    for (let i = 0; i < 60; i++) writeJsonAtomic(${JSON.stringify(target)}, { version: i, big });
  `;
  const proc = child.spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  let reads = 0;
  let exited = false;
  proc.on('exit', () => (exited = true));
  return new Promise<void>((resolve, reject) => {
    const tick = () => {
      try {
        for (let k = 0; k < 20; k++) {
          const s = readSummary(h.dir)!;
          assert.ok(s.version === undefined || (typeof s.version === 'number' && (s.big as string).length === 100000));
          reads++;
        }
      } catch (e) {
        proc.kill();
        reject(e);
        return;
      }
      if (exited) {
        assert.equal(readSummary(h.dir)?.version, 59);
        assert.ok(reads > 0);
        assert.deepEqual(fs.readdirSync(h.dir).filter((f) => f.includes('.tmp-')), []);
        resolve();
      } else setImmediate(tick);
    };
    tick();
  });
});

test('writeJsonAtomic: a crashed writer leaves only a stray tmp file, never a broken target', () => {
  const dir = tmpRoot();
  const f = path.join(dir, 'x.json');
  writeJsonAtomic(f, { a: 1 });
  fs.writeFileSync(`${f}.tmp-99999-abcdef`, '{"a": 2, "trunc'); // what a crash mid-write leaves
  assert.deepEqual(JSON.parse(fs.readFileSync(f, 'utf8')), { a: 1 });
});

test('listRuns: id, kind, status, created from summary or events; oldest first; bad runs reported', () => {
  const root = tmpRoot();
  assert.deepEqual(listRuns(root), []);
  const t0 = Date.UTC(2025, 4, 1, 10, 0, 0);
  // 1. finished, with a summary
  const r1 = createRun(root, 'compare', {}, { now: new Date(t0) });
  r1.writeSummary({ status: 'done', table: [] });
  r1.close();
  // 2. no summary, ended by an event
  const r2 = createRun(root, 'evolve', {}, { now: new Date(t0 + 1000) });
  r2.append({ type: 'run-end' });
  r2.close();
  // 3. failed
  const r3 = createRun(root, 'compare', {}, { now: new Date(t0 + 2000) });
  r3.append({ type: 'run-failed', error: 'out of memory' });
  r3.close();
  // 4. still being written by this (live) process
  const r4 = createRun(root, 'evolve', {}, { now: new Date(t0 + 3000) });
  r4.writeSummary({ status: 'running', generation: 3 });
  // 5. written by a process that is gone (another host), no end event
  const d5 = path.join(runsDir(root), '20250501-100004-000-dead');
  fs.mkdirSync(d5);
  fs.writeFileSync(path.join(d5, 'events.jsonl'),
    JSON.stringify({ type: 'run-start', id: '20250501-100004-000-dead', kind: 'evolve', created: '2025-05-01T10:00:04.000Z', pid: 1, host: 'another-host' }) +
    '\n{"type":"eval","i":1}\n{"type":"eval","i":2,"fi');
  // 6. cancelled
  const r6 = createRun(root, 'compare', {}, { now: new Date(t0 + 5000) });
  r6.append({ type: 'cancelled' });
  r6.close();
  // 7. corrupted in the middle
  const r7 = createRun(root, 'compare', {}, { now: new Date(t0 + 6000) });
  r7.close();
  fs.appendFileSync(path.join(r7.dir, 'events.jsonl'), 'garbage\n{"type":"x"}\n');
  fs.writeFileSync(path.join(runsDir(root), 'stray-file.txt'), 'not a run');

  const runs = listRuns(root);
  assert.deepEqual(runs.map((r) => [r.kind, r.status, r.statusFrom]), [
    ['compare', 'done', 'summary'],
    ['evolve', 'done', 'events'],
    ['compare', 'failed', 'events'],
    ['evolve', 'running', 'events'],
    ['evolve', 'interrupted', 'events'],
    ['compare', 'cancelled', 'events'],
    ['compare', 'unknown', 'none'],
  ]);
  assert.deepEqual(runs.map((r) => r.id), [r1.id, r2.id, r3.id, r4.id, '20250501-100004-000-dead', r6.id, r7.id]);
  assert.deepEqual(runs.map((r) => r.created).slice(0, 6), [0, 1, 2, 3, 4, 5].map((k) => new Date(t0 + 1000 * k).toISOString()));
  assert.match(runs[6].error!, /events\.jsonl:2: corrupted event line/);
  r4.close();
});
