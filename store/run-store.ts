/**
 * The run store: every evaluation or evolution run lives in `<workspace>/.lossmith/runs/<id>/`:
 *
 *   config.json   the configuration it ran with (written once, atomically)
 *   events.jsonl  append-only, one JSON object per line; the first is written by createRun:
 *                 { type: 'run-start', id, kind, created, pid, host }
 *   summary.json  the latest summary, replaced atomically (tmp file + fsync + rename)
 *
 * Crash safety: each event is one write() of `JSON + '\n'`, so a crash can only leave a torn
 * final line (no newline; possibly NUL bytes after a power loss), which readers ignore;
 * appends are fsync'ed at checkpoints (`append(e, { sync: true })` or `sync()`), and a run
 * reopened for appending (openRun, e.g. to resume an evolution) first cuts a torn tail off so
 * the next event starts on a fresh line. Anything unparsable before the last line is real
 * corruption and is reported with its line number.
 *
 * Ids are `YYYYMMDD-HHMMSS-mmm-xxxx` (UTC time + 4 random hex digits): they sort
 * chronologically as strings. The suffix comes from crypto, not from the run's Rng: it only
 * names the folder and has no effect on results.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export type RunKind = 'compare' | 'evolve';
/** 'interrupted': no end event or summary status and its process is gone. 'unknown': unreadable run. */
export type RunStatus = 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted' | 'unknown';

export interface RunEvent {
  type: string;
  [key: string]: unknown;
}

export interface RunHandle {
  readonly id: string;
  readonly kind: RunKind;
  /** ISO 8601 creation time. */
  readonly created: string;
  /** Absolute path of the run folder. */
  readonly dir: string;
  /** Appends one event as one line; `sync` fsyncs the file afterwards (use at checkpoints). */
  append(event: RunEvent, opts?: { sync?: boolean }): void;
  /** fsyncs events.jsonl. */
  sync(): void;
  /** Atomically replaces summary.json with `{ id, kind, created, ...summary }`. */
  writeSummary(summary: Record<string, unknown>): void;
  /** fsyncs and closes events.jsonl; further appends throw. */
  close(): void;
}

export interface RunInfo {
  id: string;
  kind: RunKind | string;
  status: RunStatus;
  created: string;
  dir: string;
  /** Where status came from. */
  statusFrom: 'summary' | 'events' | 'none';
  /** Why the run could not be read, for status 'unknown'. */
  error?: string;
}

export const EVENTS_FILE = 'events.jsonl';
export const SUMMARY_FILE = 'summary.json';
export const CONFIG_FILE = 'config.json';

/** `<root>/.lossmith/runs` */
export function runsDir(root: string): string {
  return path.join(path.resolve(root), '.lossmith', 'runs');
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** A sortable run id for the given time: YYYYMMDD-HHMMSS-mmm-xxxx (UTC). */
export function makeRunId(now: Date = new Date(), suffix = crypto.randomBytes(2).toString('hex')): string {
  return (
    `${pad(now.getUTCFullYear(), 4)}${pad(now.getUTCMonth() + 1, 2)}${pad(now.getUTCDate(), 2)}-` +
    `${pad(now.getUTCHours(), 2)}${pad(now.getUTCMinutes(), 2)}${pad(now.getUTCSeconds(), 2)}-` +
    `${pad(now.getUTCMilliseconds(), 3)}-${suffix}`
  );
}

function fsyncDir(dir: string): void {
  // Makes a rename durable on POSIX; not possible on every platform (Windows), so best effort.
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

/** Writes JSON atomically: a temporary file in the same folder, fsync, rename over the target. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(value, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* ignore */
    }
    throw e;
  }
  fsyncDir(path.dirname(file));
}

class Handle implements RunHandle {
  private fd: number | null;
  constructor(
    readonly id: string,
    readonly kind: RunKind,
    readonly created: string,
    readonly dir: string,
  ) {
    this.fd = fs.openSync(path.join(dir, EVENTS_FILE), 'a');
  }

  append(event: RunEvent, opts: { sync?: boolean } = {}): void {
    if (this.fd === null) throw new Error(`run ${this.id}: append after close`);
    if (!event || typeof event !== 'object' || typeof event.type !== 'string') {
      throw new Error(`run ${this.id}: an event must be an object with a string 'type'`);
    }
    const line = JSON.stringify(event);
    if (line.includes('\n')) throw new Error('internal: JSON.stringify produced a newline');
    // One write call per event: a crash leaves at most this line torn.
    fs.writeSync(this.fd, line + '\n');
    if (opts.sync) fs.fsyncSync(this.fd);
  }

  sync(): void {
    if (this.fd !== null) fs.fsyncSync(this.fd);
  }

  writeSummary(summary: Record<string, unknown>): void {
    writeJsonAtomic(path.join(this.dir, SUMMARY_FILE), { id: this.id, kind: this.kind, created: this.created, ...summary });
  }

  close(): void {
    if (this.fd === null) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Creates `<root>/.lossmith/runs/<id>/` (or `<opts.runsDir>/<id>/`) with config.json and a
 * first 'run-start' event. `opts.now` fixes the clock (tests).
 */
export function createRun(root: string, kind: RunKind, config: unknown, opts: { now?: Date; runsDir?: string } = {}): RunHandle {
  if (kind !== 'compare' && kind !== 'evolve') throw new Error(`createRun: kind must be 'compare' or 'evolve', got '${kind}'`);
  // `opts.runsDir` puts the run folder in that directory instead of <root>/.lossmith/runs.
  const base = opts.runsDir ? path.resolve(opts.runsDir) : runsDir(root);
  fs.mkdirSync(base, { recursive: true });
  const now = opts.now ?? new Date();
  let id = '';
  let dir = '';
  for (let attempt = 0; ; attempt++) {
    id = makeRunId(now);
    dir = path.join(base, id);
    try {
      fs.mkdirSync(dir);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 20) throw e;
    }
  }
  writeJsonAtomic(path.join(dir, CONFIG_FILE), config);
  const created = now.toISOString();
  const h = new Handle(id, kind, created, dir);
  h.append({ type: 'run-start', id, kind, created, pid: process.pid, host: os.hostname() }, { sync: true });
  return h;
}

/**
 * Reopens an existing run for appending (e.g. to resume from a checkpoint). A torn final line
 * is cut off first so the next event starts on its own line.
 */
export function openRun(dir: string): RunHandle {
  const file = path.join(dir, EVENTS_FILE);
  const { events, tornBytes, missingNewline } = readEventsDetailed(dir);
  if (tornBytes > 0) {
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - tornBytes);
  } else if (missingNewline) {
    fs.appendFileSync(file, '\n');
  }
  const start = events.find((e) => e.type === 'run-start');
  if (!start) throw new Error(`${file}: no run-start event: not a Lossmith run`);
  const h = new Handle(String(start.id), start.kind as RunKind, String(start.created), path.resolve(dir));
  h.append({ type: 'run-resume', pid: process.pid, host: os.hostname(), time: new Date().toISOString() }, { sync: true });
  return h;
}

export interface EventsRead {
  events: RunEvent[];
  /** Bytes of a torn final line that were ignored (0 if none). */
  tornBytes: number;
  /** The final line was a complete event but its newline is missing. */
  missingNewline: boolean;
}

/**
 * Reads events.jsonl. The final line is ignored if it is torn (no newline and not a complete
 * JSON object, or only NUL bytes); any other line that is not a JSON object throws an Error
 * naming the file and the 1-based line number. Blank lines are skipped.
 */
export function readEventsDetailed(dir: string): EventsRead {
  const file = path.join(dir, EVENTS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  const lines = text.split('\n');
  // After split, the last element is what follows the final newline ('' if the file ends with one).
  const tail = lines.pop() ?? '';
  const events: RunEvent[] = [];
  const parse = (line: string, lineNo: number): RunEvent => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${lineNo}: corrupted event line (invalid JSON: ${(e as Error).message}): ${line.slice(0, 80)}`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v) || typeof (v as RunEvent).type !== 'string') {
      throw new Error(`${file}:${lineNo}: corrupted event line (not an object with a string 'type'): ${line.slice(0, 80)}`);
    }
    return v as RunEvent;
  };
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    events.push(parse(line, i + 1));
  });
  let tornBytes = 0;
  let missingNewline = false;
  if (tail.replace(/\0/g, '').trim() !== '') {
    try {
      events.push(parse(tail, lines.length + 1));
      missingNewline = true;
    } catch {
      tornBytes = Buffer.byteLength(tail, 'utf8');
    }
  } else {
    tornBytes = Buffer.byteLength(tail, 'utf8');
  }
  return { events, tornBytes, missingNewline };
}

/**
 * The folder of a run given as a folder or an id (looked up in `runsFolder`), which must hold
 * `marker` (e.g. config.json, or an evolution's checkpoint).
 */
export function resolveRunDir(run: string, runsFolder: string, marker: string, what = 'run'): string {
  if (fs.existsSync(path.join(run, marker))) return path.resolve(run);
  const byId = path.join(path.resolve(runsFolder), run);
  if (fs.existsSync(path.join(byId, marker))) return byId;
  throw new Error(`no ${what} (${marker}) in ${run} or ${byId}`);
}

/** The events of a run (see readEventsDetailed). */
export function readEvents(dir: string): RunEvent[] {
  return readEventsDetailed(dir).events;
}

/** summary.json of a run, or null if none has been written. */
export function readSummary(dir: string): Record<string, unknown> | null {
  const file = path.join(dir, SUMMARY_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
  }
}

/** config.json of a run. */
export function readConfig(dir: string): unknown {
  const file = path.join(dir, CONFIG_FILE);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

const END_EVENTS: Record<string, RunStatus> = {
  'run-end': 'done',
  done: 'done',
  finished: 'done',
  'run-failed': 'failed',
  error: 'failed',
  failed: 'failed',
  cancelled: 'cancelled',
  'run-cancelled': 'cancelled',
};
const STATUSES: RunStatus[] = ['running', 'done', 'failed', 'cancelled', 'interrupted', 'unknown'];

function processAlive(pid: unknown, host: unknown): boolean {
  if (typeof pid !== 'number' || host !== os.hostname()) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Status from the events alone: the last end event, else running/interrupted by the writer's pid. */
export function statusFromEvents(events: RunEvent[]): RunStatus {
  for (let i = events.length - 1; i >= 0; i--) {
    const t = events[i].type;
    if (t in END_EVENTS) return END_EVENTS[t];
    if (t === 'run-start' || t === 'run-resume') {
      return processAlive(events[i].pid, events[i].host) ? 'running' : 'interrupted';
    }
  }
  return 'unknown';
}

/**
 * All runs under `<root>/.lossmith/runs`, oldest first. Status comes from summary.json's
 * `status` when it is a final one (done/failed/cancelled), else from the events: an end event
 * ('run-end'/'done'/'finished', 'run-failed'/'error'/'failed', 'cancelled'/'run-cancelled'), or,
 * without one, 'running' if the writing process is still alive on this host and 'interrupted'
 * otherwise. A run that cannot be read is listed with status 'unknown' and an error.
 */
export function listRuns(root: string, opts: { runsDir?: string } = {}): RunInfo[] {
  const base = opts.runsDir ? path.resolve(opts.runsDir) : runsDir(root);
  if (!fs.existsSync(base)) return [];
  const out: RunInfo[] = [];
  for (const ent of fs.readdirSync(base, { withFileTypes: true })) {
    if (!ent.isDirectory()) continue;
    const dir = path.join(base, ent.name);
    const info: RunInfo = { id: ent.name, kind: 'unknown', status: 'unknown', created: '', dir, statusFrom: 'none' };
    try {
      const summary = readSummary(dir);
      if (summary) {
        if (typeof summary.kind === 'string') info.kind = summary.kind;
        if (typeof summary.created === 'string') info.created = summary.created;
        const st = summary.status;
        if (st === 'done' || st === 'failed' || st === 'cancelled') {
          info.status = st;
          info.statusFrom = 'summary';
        }
      }
      if (info.statusFrom === 'none' || info.kind === 'unknown' || info.created === '') {
        const events = readEvents(dir);
        const start = events.find((e) => e.type === 'run-start');
        if (start) {
          if (info.kind === 'unknown' && typeof start.kind === 'string') info.kind = start.kind;
          if (info.created === '' && typeof start.created === 'string') info.created = start.created;
        }
        if (info.statusFrom === 'none') {
          const st = statusFromEvents(events);
          // A summary may carry a live status ('running') that events cannot contradict.
          info.status = st === 'unknown' && summary && STATUSES.includes(summary.status as RunStatus) ? (summary.status as RunStatus) : st;
          info.statusFrom = 'events';
        }
      }
    } catch (e) {
      info.status = 'unknown';
      info.error = (e as Error).message;
      // Still name the kind and time from the first line if it is intact.
      try {
        const first = fs.readFileSync(path.join(dir, EVENTS_FILE), 'utf8').split('\n', 1)[0];
        const start = JSON.parse(first) as RunEvent;
        if (start.type === 'run-start') {
          if (info.kind === 'unknown' && typeof start.kind === 'string') info.kind = start.kind;
          if (info.created === '' && typeof start.created === 'string') info.created = start.created;
        }
      } catch {
        /* nothing more to say */
      }
    }
    out.push(info);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
