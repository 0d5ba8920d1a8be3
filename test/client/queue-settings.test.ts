import { test } from 'node:test';
import assert from 'node:assert/strict';
import { queueArgs, queueEnv, readQueueSetting } from '../../client/src/runs/queue-settings';

test('the lossmith.queue setting: a Redis URL without password becomes --queue; anything else is one problem line', () => {
  assert.equal(readQueueSetting(''), undefined);
  assert.equal(readQueueSetting(undefined), undefined);
  assert.deepEqual(readQueueSetting(' redis://lossmith@redis.lab:6379/0 '), { url: 'redis://lossmith@redis.lab:6379/0' });
  assert.deepEqual(queueArgs(readQueueSetting('rediss://redis.lab:6380')), ['--queue', 'rediss://redis.lab:6380']);
  assert.deepEqual(queueArgs(undefined), []);
  assert.match((readQueueSetting('redis://u:secret@h:6379') as { problem: string }).problem, /holds a password: remove it .* "Lossmith: Set Job Queue Password"/);
  assert.match((readQueueSetting('http://h:6379') as { problem: string }).problem, /must start with redis:\/\/ or rediss:\/\//);
  assert.match((readQueueSetting('redis://:6379') as { problem: string }).problem, /names no host/);
  assert.match((readQueueSetting('not a url') as { problem: string }).problem, /is not a URL/);
  assert.deepEqual(queueArgs(readQueueSetting('redis://u:secret@h:6379')), []);
  assert.deepEqual(queueEnv('pw'), { LOSSMITH_REDIS_PASSWORD: 'pw' });
  assert.deepEqual(queueEnv(undefined), {});
});
