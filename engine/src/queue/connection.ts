/**
 * Where the job queue is and how to reach it: `--queue redis://[user:password@]host:port[/db]`
 * (`rediss://` for TLS) parsed and checked, the password taken from the URL, a file
 * (`--queue-password-file`) or $LOSSMITH_REDIS_PASSWORD, and the URL as a run may record it
 * (password masked). `checkQueue` connects once with a short timeout and no retry, so bad input
 * is one line before any run folder exists.
 *
 * Keys, all under `lossmith:` (a Redis ACL user limited to `~lossmith:*` is enough; docs/queue.md):
 *   lossmith:<engine>:*     the BullMQ queue of an engine's trainings (a task waits for a
 *                           worker of its engine); job ids are `<runId>.<task hash>`
 *   lossmith:<engine>-<class>:*  trainings pinned to a device class (`--device cuda`, `mps`,
 *                           `cpu` on the torch engine): only workers of that class take them
 *   lossmith:worker:<id>    a worker's announcement (JSON), refreshed as its heartbeat (TTL)
 */
import * as fs from 'fs';
import type { RedisOptions } from 'ioredis';
import type { EngineName, QueueWorkerJson } from '../../../protocol/run-events';

/** The BullMQ prefix of every key (queues, jobs, events). */
export const KEY_PREFIX = 'lossmith';
/** A worker's heartbeat key. */
export const workerKey = (id: string): string => `${KEY_PREFIX}:worker:${id}`;
/** A device class a task may be pinned to (torch engine). */
export type DeviceClass = 'cuda' | 'mps' | 'cpu';

/** The BullMQ queue name of an engine's trainings, or of those pinned to a device class. */
export const queueName = (engine: EngineName, cls?: DeviceClass): string => (cls ? `${engine}-${cls}` : engine);

/** The device class a torch device string pins a task to (`auto` or none: any worker of the engine). */
export function deviceClassOf(device: string | undefined): DeviceClass | undefined {
  if (!device || device === 'auto') return undefined;
  if (device === 'cuda' || device.startsWith('cuda:')) return 'cuda';
  if (device === 'mps') return 'mps';
  if (device === 'cpu') return 'cpu';
  return undefined;
}

/** The environment variable a password may come from. */
export const PASSWORD_ENV = 'LOSSMITH_REDIS_PASSWORD';

/** Bad queue input or an unreachable queue: one line in the user's words. */
export class QueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueError';
  }
}

export interface QueueTarget {
  /** As a run records it: the password masked (`redis://user:***@host:6379/0`). */
  url: string;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
}

const FORM = 'redis://[user:password@]host:port[/db]';

/** The URL with its password replaced by *** (a URL that does not parse is returned as its scheme and `***`). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * Parses and checks a queue URL; the password comes from the URL, else `passwordFile`, else
 * $LOSSMITH_REDIS_PASSWORD. A masked password (`***`, from a run's config) counts as none.
 */
export function parseQueueUrl(url: string, opts: { passwordFile?: string; env?: NodeJS.ProcessEnv; flag?: string } = {}): QueueTarget {
  const flag = opts.flag ?? '--queue';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    if (/^rediss?:\/\/(?:[^@/]*@)?(?::\d*)?(?:\/|$)/.test(url)) throw new QueueError(`${flag} ${maskUrl(url)} names no host (expected ${FORM})`);
    throw new QueueError(`${flag} ${maskUrl(url)} is not a URL (expected ${FORM})`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueError(`${flag} ${maskUrl(url)}: the queue is Redis, so the URL starts with redis:// or rediss:// (TLS), not ${u.protocol}//`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new QueueError(`${flag} ${maskUrl(url)} names no host (expected ${FORM})`);
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText && !/^\d+$/.test(dbText)) throw new QueueError(`${flag} ${maskUrl(url)}: the database after the port must be a number (e.g. /0), got '/${dbText}'`);
  if (u.search || u.hash) throw new QueueError(`${flag} ${maskUrl(url)}: no query or fragment expected (expected ${FORM})`);
  let password = u.password && u.password !== '***' && u.password !== '%2A%2A%2A' ? decodeURIComponent(u.password) : undefined;
  if (password === undefined && opts.passwordFile) {
    try {
      password = fs.readFileSync(opts.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new QueueError(`--queue-password-file ${opts.passwordFile}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (!password) throw new QueueError(`--queue-password-file ${opts.passwordFile} is empty`);
  }
  if (password === undefined) password = (opts.env ?? process.env)[PASSWORD_ENV] || undefined;
  return {
    url: maskUrl(url),
    host,
    port,
    db: dbText ? Number(dbText) : 0,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(password !== undefined ? { password } : {}),
    tls: u.protocol === 'rediss:',
  };
}

/** Tunables (tests shorten them): $LOSSMITH_QUEUE_<NAME> in ms or counts. */
export function tunable(name: string, fallback: number): number {
  const v = Number(process.env[`LOSSMITH_QUEUE_${name}`]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/**
 * ioredis options for a target. `failFast`: one connection attempt with a short timeout (the
 * check before a run); otherwise reconnect for ever with a short backoff (a run or a worker
 * rides out a Redis restart) and keep commands until Redis is back.
 */
export function redisOptions(t: QueueTarget, failFast = false): RedisOptions {
  return {
    host: t.host,
    port: t.port,
    db: t.db,
    ...(t.username ? { username: t.username } : {}),
    ...(t.password !== undefined ? { password: t.password } : {}),
    ...(t.tls ? { tls: { servername: t.host } } : {}),
    connectTimeout: failFast ? tunable('CONNECT_TIMEOUT_MS', 3000) : 5000,
    ...(failFast
      ? { retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: true, lazyConnect: true }
      : { retryStrategy: (n: number) => Math.min(100 * n, 2000), maxRetriesPerRequest: null }),
  };
}

/** A connection error in words, naming the target (never its password). */
export function connectionProblem(t: QueueTarget, e: unknown): string {
  const err = e as NodeJS.ErrnoException & { message: string };
  const where = `Redis at ${t.host}:${t.port}`;
  const msg = String(err?.message ?? e);
  if (/NOAUTH/i.test(msg)) return `${where} needs a password: put it in the URL, in $${PASSWORD_ENV} or in a file given by --queue-password-file`;
  if (/WRONGPASS|invalid username-password|invalid password/i.test(msg)) return `${where} refused the ${t.username ? `user '${t.username}' or its` : ''} password (WRONGPASS): check the password (URL, $${PASSWORD_ENV} or --queue-password-file)`.replace('  ', ' ');
  if (/NOPERM/i.test(msg)) return `${where}: the user${t.username ? ` '${t.username}'` : ''} lacks a permission the queue needs (${msg.split('\n')[0]}); see docs/queue.md for the ACL`;
  if (err?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) return `cannot reach ${where}: connection refused (is redis-server running and listening there?)`;
  if (err?.code === 'ENOTFOUND' || err?.code === 'EAI_AGAIN' || /ENOTFOUND|EAI_AGAIN/.test(msg)) return `cannot reach ${where}: no such host`;
  if (err?.code === 'ETIMEDOUT' || /ETIMEDOUT|timed? ?out/i.test(msg)) return `cannot reach ${where}: no answer within ${tunable('CONNECT_TIMEOUT_MS', 3000) / 1000} s`;
  return `cannot use ${where}: ${msg.split('\n')[0]}`;
}

/** What a successful check found. */
export interface QueueCheck {
  redisVersion: string;
  /** Workers whose heartbeat is alive. */
  workers: QueueWorkerJson[];
}

/** Connects once (short timeout, no retry), authenticates, checks the Redis version and lists the workers. */
export async function checkQueue(t: QueueTarget): Promise<QueueCheck> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: Redis } = require('ioredis') as typeof import('ioredis');
  const client = new Redis(redisOptions(t, true));
  // The cause comes as an 'error' event; connect() itself only says the connection closed.
  let cause: unknown;
  client.on('error', (e) => (cause ??= e));
  try {
    await client.connect();
    await client.ping();
    const info = await client.info('server');
    const redisVersion = /redis_version:([\d.]+)/.exec(info)?.[1] ?? '0';
    if (Number(redisVersion.split('.')[0]) < 6) throw new QueueError(`Redis at ${t.host}:${t.port} is version ${redisVersion}; the queue (BullMQ) needs Redis 6.2 or newer`);
    return { redisVersion, workers: await listWorkers(client) };
  } catch (e) {
    if (e instanceof QueueError) throw e;
    throw new QueueError(connectionProblem(t, /NOAUTH|WRONGPASS|NOPERM/.test(String((e as Error)?.message)) ? e : (cause ?? e)));
  } finally {
    client.disconnect();
  }
}

/** The workers whose heartbeat key is alive. */
export async function listWorkers(client: import('ioredis').Redis): Promise<QueueWorkerJson[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', workerKey('*'), 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (!keys.length) return [];
  const values = await client.mget(...keys);
  const out: QueueWorkerJson[] = [];
  for (const v of values) {
    if (!v) continue;
    try {
      out.push(JSON.parse(v) as QueueWorkerJson);
    } catch {
      /* a key written by something else: not a worker */
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** "3 tfjs workers (4 slots) on host-a, host-b" or "no tfjs worker yet ...". */
export function workersText(workers: QueueWorkerJson[], engine: EngineName, cls?: DeviceClass): string {
  // Workers that take this run's trainings: of its engine, and of its device class when it is pinned to one.
  const mine = workers.filter((w) => w.engine === engine && (!cls || (w.queues ?? []).includes(queueName(engine, cls))));
  if (!mine.length) {
    const others = workers.length ? ` (connected: ${workers.map((w) => `${w.engine} on ${w.host}${w.queues?.length ? ` [${w.queues.join(', ')}]` : ''}`).join(', ')})` : '';
    const what = cls ? `${engine} worker with a ${cls} device` : `${engine} worker`;
    return `no ${what} is connected yet${others}: the trainings wait in the queue until one starts (lossmith worker --queue URL --engine ${engine}${cls ? ` --device ${cls}` : ''})`;
  }
  const slots = mine.reduce((s, w) => s + w.concurrency, 0);
  const hosts = [...new Set(mine.map((w) => w.host))];
  return `${mine.length} ${engine} worker${mine.length === 1 ? '' : 's'} (${slots} slot${slots === 1 ? '' : 's'}) on ${hosts.join(', ')}`;
}
