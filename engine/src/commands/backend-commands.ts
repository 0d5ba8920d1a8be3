/**
 * `lossmith backend`: list the compute engines (the tfjs backends, the torch engine's Python,
 * versions and GPUs) and why each is or is not available.
 * `lossmith backend install gpu|cpu`: npm-install @tensorflow/tfjs-node(-gpu)@4.22.0 into
 * ~/.lossmith/backends (a prefix folder outside the project), where the engine looks for native
 * backends. The install downloads libtensorflow from Google's servers; without internet access it
 * fails, which is reported plainly (the engine then keeps using wasm).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import type { Command } from 'commander';
import { UsageError, type Io, type Registrar } from './io';
import { ENGINE_NAMES } from '../../../protocol/run-events';
import { loadEngine } from '../compute/engines';

// tfjs is loaded only when a backend command runs, not on every `lossmith` invocation.
/* eslint-disable @typescript-eslint/no-require-imports */
const backend = (): typeof import('../engines/tfjs/backend') => require('../engines/tfjs/backend') as typeof import('../engines/tfjs/backend');
const worker = (): typeof import('../engines/tfjs') => require('../engines/tfjs') as typeof import('../engines/tfjs');
const listBackends: typeof import('../engines/tfjs/backend').listBackends = (o) => backend().listBackends(o);
const backendsPrefix = (): string => worker().backendsPrefix();
const defaultBackendsDir = (): string | undefined => worker().defaultBackendsDir();

const PACKAGES = { gpu: '@tensorflow/tfjs-node-gpu@4.22.0', cpu: '@tensorflow/tfjs-node@4.22.0' } as const;

/** For tests: replace the npm invocation. */
let npmCommand: { cmd: string; prefixArgs: string[] } = { cmd: process.platform === 'win32' ? 'npm.cmd' : 'npm', prefixArgs: [] };
export function setNpmForTests(cmd: string, prefixArgs: string[] = []): void {
  npmCommand = { cmd, prefixArgs };
}

function runNpm(args: string[], io: Io): Promise<{ code: number | null; tail: string }> {
  return new Promise((resolve) => {
    let tail = '';
    const child = spawn(npmCommand.cmd, [...npmCommand.prefixArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (b: Buffer): void => {
      const s = b.toString('utf8');
      tail = (tail + s).slice(-4000);
      io.err(s);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => resolve({ code: null, tail: `${tail}\n${e.message}` }));
    child.on('close', (code) => resolve({ code, tail }));
  });
}

export const register: Registrar = (program: Command, io: Io, setExit) => {
  program
    .command('backend')
    .description('List the compute engines: tfjs backends, and the torch engine with its Python, torch, CUDA, cuDNN and GPUs (or why not); `backend install gpu|cpu` installs a native TensorFlow backend into ~/.lossmith/backends.')
    .argument('[action]', "'install' (omit to list)")
    .argument('[which]', 'gpu | cpu (with install)')
    .option('--python <path>', 'the Python to check for the torch engine (default $LOSSMITH_PYTHON, else python3)')
    .option('--device <d>', 'check this torch device (cpu, cuda, cuda:N, mps)')
    .option('--json', 'machine-readable output')
    .action(async (action: string | undefined, which: string | undefined, o: { json?: boolean; python?: string; device?: string }) => {
      if (action === undefined || action === 'list') {
        const req = { python: o.python, device: o.device };
        const statuses = await Promise.all(ENGINE_NAMES.map((n) => loadEngine(n).status!(req)));
        const torch = statuses.find((x) => x.engine === 'torch');
        const auto = torch?.available ? 'torch' : 'tfjs';
        if (o.json) {
          const tfjs = statuses.find((x) => x.engine === 'tfjs')?.details as { backendsDir: string | null; backends: unknown[] };
          io.out(JSON.stringify({ ...tfjs, engines: statuses.map(({ engine, available, details }) => ({ engine, available, details })), auto }) + '\n');
          return;
        }
        for (const st of statuses) {
          io.out(`engine ${st.engine}${st.engine === 'tfjs' ? ' (embedded)' : ' (your Python + PyTorch)'}:\n${st.lines.map((l) => `  ${l}\n`).join('')}`);
        }
        io.out(`--engine auto picks: ${auto}${auto === 'tfjs' ? ' (the torch engine is not usable with this Python; --python PATH names another)' : ''}\n`);
        return;
      }
      if (action !== 'install') throw new UsageError(`unknown backend action '${action}' (use: lossmith backend, or lossmith backend install gpu|cpu)`);
      if (which !== 'gpu' && which !== 'cpu') throw new UsageError(`backend install needs 'gpu' or 'cpu', got '${which ?? ''}'`);
      const prefix = backendsPrefix();
      fs.mkdirSync(prefix, { recursive: true });
      const args = ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', PACKAGES[which]];
      io.out(`running: ${npmCommand.cmd} ${[...npmCommand.prefixArgs, ...args].join(' ')}\n`);
      const r = await runNpm(args, io);
      const list = await listBackends({ backendsDir: defaultBackendsDir() });
      const name = which === 'gpu' ? 'tensorflow-gpu' : 'tensorflow';
      const st = list.find((b) => b.name === name);
      if (r.code === 0 && st?.available) {
        io.out(`installed: ${PACKAGES[which]} in ${prefix}; backend '${name}' is available${st.reason ? ` (${st.reason})` : ''}.\n`);
        return;
      }
      const why = /libtensorflow|storage\.googleapis|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|getaddrinfo|network/i.test(r.tail)
        ? 'its install script could not download libtensorflow (no internet access to storage.googleapis.com?)'
        : r.code === null
          ? `npm could not be started (${r.tail.trim().split('\n').pop()})`
          : `npm exited with code ${r.code}`;
      io.err(
        `lossmith: installing ${PACKAGES[which]} failed: ${why}.\n` +
          `  backend '${name}': ${st?.reason ?? 'not available'}\n` +
          `  Lossmith keeps working with the wasm backend (lossmith backend lists what is available).\n`,
      );
      setExit(1);
    });
};
