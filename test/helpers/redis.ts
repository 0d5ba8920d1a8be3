/**
 * A real Redis for tests: Debian's `redis-server` (installed by .ci/run) on 127.0.0.1, on a
 * free port, in a temporary folder (test/helpers/tmp.ts), with the append-only file on and
 * fsynced at every write, so a restart (`kill()` then `start()`) keeps every acknowledged
 * write. Stopped by `stop()`, and killed when the test process exits whatever happened.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { tmpDir } from './tmp';

export const REDIS_SERVER = process.env.LOSSMITH_REDIS_SERVER ?? 'redis-server';

/** Whether redis-server can be run here (tests skip without it locally and fail under CI=true). */
export function haveRedis(): boolean {
  return spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  port: number;
  dir: string;
  password?: string;
  /** redis://[:password@]127.0.0.1:port (the password only when `withPassword`). */
  url(withPassword?: boolean): string;
  /** (Re)starts it on the same port and folder; resolves when it accepts connections. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown save, only what the append-only file already holds survives. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

export async function startRedis(opts: { password?: string } = {}): Promise<TestRedis> {
  const dir = tmpDir('lossmith-redis-');
  const port = await freePort();
  let proc: ChildProcess | undefined;
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const p of live) p.kill('SIGKILL');
    });
  }
  const exited = (p: ChildProcess): Promise<void> => new Promise((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve() : p.once('exit', () => resolve())));
  const r: TestRedis = {
    port,
    dir,
    ...(opts.password ? { password: opts.password } : {}),
    url: (withPassword = false) => `redis://${withPassword && opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`,
    async start() {
      const log = path.join(dir, 'redis.log');
      fs.writeFileSync(log, '');
      proc = spawn(
        REDIS_SERVER,
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--logfile', log, ...(opts.password ? ['--requirepass', opts.password] : [])],
        { stdio: 'ignore' },
      );
      live.add(proc);
      const p = proc;
      p.once('exit', () => live.delete(p));
      const t0 = Date.now();
      while (!/Ready to accept connections/.test(fs.readFileSync(log, 'utf8'))) {
        if (p.exitCode !== null) throw new Error(`redis-server exited: ${fs.readFileSync(log, 'utf8').slice(-500)}`);
        if (Date.now() - t0 > 15_000) throw new Error('redis-server did not start in 15 s');
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    async kill() {
      if (!proc) return;
      proc.kill('SIGKILL');
      await exited(proc);
    },
    async stop() {
      if (!proc) return;
      proc.kill('SIGTERM');
      await exited(proc);
    },
  };
  await r.start();
  return r;
}
