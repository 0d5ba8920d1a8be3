/**
 * One runner process (`python -m lossmith_torch --serve`) kept per worker, Python and device:
 * importing torch and moving a dataset to the GPU cost seconds, an evolution trains hundreds
 * of small candidates. Tasks go in as one JSON line each on stdin; the answer is JSON lines
 * on stdout (protocol/torch-task.ts). The process runs in its own process group, so a
 * cancellation kills it and anything it started at once; the runner also exits when its
 * parent disappears (a killed worker never leaves a GPU job behind).
 */
import { spawn, type ChildProcess } from 'child_process';
import * as readline from 'readline';
import type { TorchInfo, TorchMessage, TorchResultJson, TorchTask } from '../../../../protocol/torch-task';
import { runnerEnv } from './python';

export class RunnerError extends Error {
  constructor(message: string, readonly code: string, readonly detail?: string) {
    super(message);
    this.name = 'RunnerError';
  }
}

interface Pending {
  onMessage: (m: TorchMessage) => void;
  resolve: (r: TorchResultJson) => void;
  reject: (e: Error) => void;
}

export class RunnerProcess {
  private proc: ChildProcess;
  private pending?: Pending;
  private stderrTail = '';
  private exited = false;

  constructor(readonly python: string, env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(python, ['-m', 'lossmith_torch', '--serve'], {
      env: runnerEnv({ ...process.env, ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.proc.on('error', (e) => this.fail(new RunnerError(`could not start '${python}': ${e.message}`, 'internal')));
    this.proc.stderr!.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-4000);
    });
    readline.createInterface({ input: this.proc.stdout! }).on('line', (line) => this.onLine(line));
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
      this.fail(new RunnerError(`the torch runner (${python}) exited (${signal ? `signal ${signal}` : `code ${code}`}) during the task${tail ? `: ${tail}` : ''}`, 'internal'));
    });
    // Idle runners must not keep the worker (or an in-process run) alive.
    this.hold(false);
  }

  /** Keeps this process's event loop alive for the runner only while it has a task. */
  private hold(on: boolean): void {
    const handles = [this.proc, this.proc.stdin, this.proc.stdout, this.proc.stderr] as unknown as ({ ref?(): void; unref?(): void } | null)[];
    for (const h of handles) (on ? h?.ref : h?.unref)?.call(h);
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Runs one task; messages other than the result go to onMessage. Rejects on an error message. */
  run(task: TorchTask, onMessage: (m: TorchMessage) => void, signal?: AbortSignal): Promise<TorchResultJson> {
    if (this.pending) return Promise.reject(new RunnerError('internal: the runner is busy', 'internal'));
    if (this.exited) return Promise.reject(new RunnerError('internal: the runner has exited', 'internal'));
    return new Promise<TorchResultJson>((resolve, reject) => {
      const onAbort = (): void => {
        this.kill();
        reject(new RunnerError('cancelled', 'cancelled'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.pending = {
        onMessage,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      };
      this.hold(true);
      this.proc.stdin!.write(JSON.stringify(task) + '\n');
    });
  }

  /** Asks an idle runner to end (it cleans up after itself), a busy one is killed. */
  close(): void {
    if (this.exited) return;
    if (this.pending) return this.kill();
    try {
      this.proc.kill('SIGTERM');
    } catch {
      this.kill();
    }
  }

  /**
   * Ends the runner's whole process group now: SIGTERM (the runner removes its temporary files
   * and exits at once, mid-step), then SIGKILL for anything still there after a second.
   */
  kill(): void {
    if (this.exited || this.proc.pid === undefined) return;
    const pid = this.proc.pid;
    const signal = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-pid, sig);
      } catch {
        if (!this.exited) this.proc.kill(sig);
      }
    };
    signal('SIGTERM');
    setTimeout(() => {
      if (!this.exited) signal('SIGKILL');
    }, 1000).unref();
  }

  private onLine(line: string): void {
    if (!line.startsWith('{')) return;
    let m: TorchMessage;
    try {
      m = JSON.parse(line) as TorchMessage;
    } catch {
      return;
    }
    const p = this.pending;
    if (!p) return;
    if (m.type === 'result') {
      this.pending = undefined;
      this.hold(false);
      p.resolve(m.result);
    } else if (m.type === 'error') {
      this.pending = undefined;
      this.hold(false);
      p.reject(new RunnerError(m.message, m.code, m.detail));
    } else {
      try {
        p.onMessage(m);
      } catch {
        /* a faulty listener must not break the runner */
      }
    }
  }

  private fail(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }
}

/** The BackendJson line for a runner's environment. */
export function describeTorch(info: TorchInfo): string {
  return [
    `torch ${info.torch}`,
    info.deviceName,
    info.precision,
    ...(info.cuda ? [`CUDA ${info.cuda}`] : []),
    ...(info.cudnn ? [`cuDNN ${info.cudnn}`] : []),
    ...(info.channelsLast ? ['channels-last'] : []),
    ...(info.compile ? ['compiled'] : []),
  ].join(' · ');
}
