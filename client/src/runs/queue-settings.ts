/**
 * The job queue in VS Code (pure; tested): the `lossmith.queue` setting (a Redis URL without
 * its password) becomes `--queue URL` on new evaluations and evolutions, and the password,
 * kept in VS Code's secret storage (`Lossmith: Set Job Queue Password`), reaches the engine as
 * $LOSSMITH_REDIS_PASSWORD in its environment only: never on its command line, never in a
 * setting or a run file (the engine records the URL with the password masked; docs/queue.md).
 */

/** The secret storage key of the queue's password. */
export const QUEUE_PASSWORD_SECRET = 'lossmith.queuePassword';

export type QueueSetting = { url: string } | { problem: string } | undefined;

/**
 * The setting read: undefined when empty (trainings run on this machine); a problem when it is
 * not a Redis URL with a host, or when it holds a password (settings are plain text, often
 * synced and committed: the password belongs in the secret storage).
 */
export function readQueueSetting(raw: unknown): QueueSetting {
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const text = raw.trim();
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    if (/^rediss?:\/\/(?:[^@/]*@)?(?::\d*)?(?:\/|$)/.test(text)) return { problem: `lossmith.queue names no host: '${text}'` };
    return { problem: `lossmith.queue is not a URL: '${text}' (expected redis://[user@]host:port[/db])` };
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return { problem: `lossmith.queue must start with redis:// or rediss://, got '${u.protocol}//'` };
  if (!u.hostname) return { problem: `lossmith.queue names no host: '${text}'` };
  if (u.password) return { problem: 'lossmith.queue holds a password: remove it from the setting and run "Lossmith: Set Job Queue Password" (kept in VS Code\'s secret storage)' };
  return { url: text };
}

/** The flags a new run gets from the setting. */
export function queueArgs(s: QueueSetting): string[] {
  return s && 'url' in s ? ['--queue', s.url] : [];
}

/** The environment a run gets: the stored password, if any (resumed runs too: their URL is in the run folder, masked). */
export function queueEnv(password: string | undefined): Record<string, string> {
  return password ? { LOSSMITH_REDIS_PASSWORD: password } : {};
}
