/**
 * One engine CLI process (no vscode import): started with the system Node in its own process
 * group (it outlives a window reload: no pipe ties it to the extension host; stdout is
 * discarded and stderr goes to a log file), found in the runs folder by the pid its run-start
 * event names.
 *
 * Stopping: SIGTERM to the CLI, which cancels cleanly (finished trainings are kept, the run is
 * marked cancelled and its workers are ended); if it has not exited after `graceMs`, SIGKILL to
 * the whole process group (the CLI and any worker left). On Windows, `taskkill /T /F`.
 */
import { spawn, execFile, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseEventLines } from './event-tail';
import type { WireEvent } from '../../../media/src/shared/validate';

export interface RunProcessOptions {
  node: string;
  cli: string;
  args: string[];
  cwd: string;
  /** The runs folder the CLI writes to (<cwd>/.lossmith/runs). */
  runsDir: string;
  /** A run folder the CLI appends to (a resumed evolution) instead of creating one. */
  resumeDir?: string;
  /** Where stderr goes (kept after the window closes). */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  onStart(e: WireEvent): void;
  onExit(code: number | null, signal: NodeJS.Signals | null, stderr: string): void;
  graceMs?: number;
}

export class RunProcess {
  readonly child: ChildProcess;
  private stderr = '';
  private started = false;
  private exited = false;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: RunProcessOptions) {
    const windows = process.platform === 'win32';
    const before = new Set(listDirs(o.runsDir));
    fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
    const log = fs.openSync(o.logFile, 'w');
    try {
      this.child = spawn(o.node, [o.cli, ...o.args], {
        cwd: o.cwd,
        env: { ...(o.env ?? process.env), FORCE_COLOR: '0' },
        detached: !windows,
        windowsHide: true,
        stdio: ['ignore', 'ignore', log],
      });
    } finally {
      fs.closeSync(log);
    }
    this.child.on('error', (err) => {
      this.stderr += `\n${err.message}`;
    });
    const finder = setInterval(() => {
      if (this.started) return clearInterval(finder);
      const e = o.resumeDir ? findResume(o.resumeDir, this.child.pid) : findStart(o.runsDir, before, this.child.pid);
      if (e) {
        this.started = true;
        clearInterval(finder);
        o.onStart(e);
      }
    }, 150);
    this.child.on('close', (code, signal) => {
      this.exited = true;
      clearInterval(finder);
      if (!this.started) {
        const e = o.resumeDir ? findResume(o.resumeDir, this.child.pid) : findStart(o.runsDir, before, this.child.pid);
        if (e) {
          this.started = true;
          o.onStart(e);
        }
      }
      if (this.killTimer) clearTimeout(this.killTimer);
      // Anything of the group left behind (a worker of a killed CLI) goes too.
      if (!windows && this.child.pid) {
        try {
          process.kill(-this.child.pid, 'SIGKILL');
        } catch {
          // the group is empty
        }
      }
      let err = this.stderr;
      try {
        err = fs.readFileSync(o.logFile, 'utf8').slice(-65_536) + err;
      } catch {
        // no log
      }
      o.onExit(code, signal, err);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  stop(): void {
    if (this.exited || !this.child.pid) return;
    killTree(this.child.pid, this.o.graceMs ?? 10_000, () => this.exited, (t) => (this.killTimer = t));
  }
}

/**
 * Stop a run's process by pid (also one this window did not start: a re-attached run):
 * SIGTERM, then SIGKILL to its group after `graceMs` if it is still alive.
 */
export function killTree(pid: number, graceMs: number, exited: () => boolean = () => !alive(pid), keepTimer?: (t: NodeJS.Timeout) => void): void {
  if (process.platform === 'win32') {
    execFile('taskkill', ['/pid', String(pid), '/T', '/F'], () => undefined);
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    if (exited()) return;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone or not a group leader
      }
    }
  }, graceMs);
  t.unref?.();
  keepTimer?.(t);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listDirs(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The run-start event of a new run folder written by process `pid`. */
function findStart(runsDir: string, before: Set<string>, pid: number | undefined): WireEvent | undefined {
  if (!pid) return undefined;
  for (const name of listDirs(runsDir)) {
    if (before.has(name)) continue;
    try {
      const fd = fs.openSync(path.join(runsDir, name, 'events.jsonl'), 'r');
      const buf = Buffer.alloc(4096);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      fs.closeSync(fd);
      const first = buf.subarray(0, n).toString('utf8').split('\n')[0];
      const [e] = parseEventLines([first]).events;
      if (e && e.type === 'run-start' && e.pid === pid) return e;
    } catch {
      // not written yet
    }
  }
  return undefined;
}

/**
 * A resumed run announces itself with a run-resume event (pid) in its existing folder; it is
 * reported like a start: { type: 'run-start', id, kind } of the folder's first event.
 */
function findResume(dir: string, pid: number | undefined): WireEvent | undefined {
  if (!pid) return undefined;
  try {
    const file = path.join(dir, 'events.jsonl');
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r');
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const head = Buffer.alloc(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    const resumed = parseEventLines(buf.toString('utf8').split('\n')).events.some((e) => e.type === 'run-resume' && e.pid === pid);
    if (!resumed) return undefined;
    const [start] = parseEventLines([head.subarray(0, n).toString('utf8').split('\n')[0]]).events;
    return { type: 'run-start', id: typeof start?.id === 'string' ? start.id : path.basename(dir), kind: start?.kind ?? 'evolve', pid, resumed: true };
  } catch {
    return undefined;
  }
}

/**
 * A short engine CLI command whose output is read (not a run): `lossmith backend --json`.
 * Never rejects: a failure to start, a timeout or an exit code is in the result.
 */
export function runCliOnce(node: string, cli: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      node,
      [cli, ...args],
      { cwd: o.cwd, env: { ...(o.env ?? process.env), FORCE_COLOR: '0' }, timeout: o.timeoutMs ?? 180_000, maxBuffer: 16 * 1024 * 1024, windowsHide: true, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
        const why = e && typeof e.code !== 'number' ? `\n${e.killed ? `timed out after ${Math.round((o.timeoutMs ?? 180_000) / 1000)} s` : e.message}` : '';
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') + why });
      },
    );
  });
}
