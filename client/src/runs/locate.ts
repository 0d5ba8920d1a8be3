/**
 * Finding the programs a run needs (no vscode import; tested with fake file systems):
 *
 *  - the Node that runs the engine: `lossmith.nodePath` when the user sets one (a system Node:
 *    the native tfjs backends, built for Node, need it), else VS Code's own runtime, the
 *    extension host's executable run as plain Node (`ELECTRON_RUN_AS_NODE=1`), which every VS
 *    Code has and which runs the tfjs wasm engine and the torch engine's Python runner.
 *  - the engine CLI: `lossmith.enginePath`, else the workspace's node_modules/lossmith, else the
 *    workspace itself when it is a checkout of lossmith, else the engine bundled in the
 *    extension (dist/engine/lossmith.js: needs no node_modules), else `lossmith` on PATH (npm's
 *    bin link, resolved).
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFile } from 'child_process';

export interface FsLike {
  isFile(p: string): boolean;
  realpath(p: string): string;
  readFile(p: string): string | undefined;
}

export const realFs: FsLike = {
  isFile: (p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  },
  realpath: (p) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return p;
    }
  },
  readFile: (p) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  },
};

/** The first `name` (with Windows' extensions) in the PATH directories. */
export function findOnPath(name: string, envPath: string | undefined, platform: NodeJS.Platform, f: FsLike = realFs): string | undefined {
  const sep = platform === 'win32' ? ';' : ':';
  const exts = platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (envPath ?? '').split(sep)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = path.join(dir, name + ext);
      if (f.isFile(p)) return p;
    }
  }
  return undefined;
}

export interface Located {
  path: string;
  /** Where it came from, for messages. */
  from: string;
}

/** What went wrong, in one line with its fix, and the setting that fixes it. */
export interface NotFound {
  error: string;
  setting?: 'lossmith.nodePath' | 'lossmith.enginePath';
}

/** VS Code's own runtime: the extension host's executable and its Node version. */
export interface HostRuntime {
  execPath: string;
  version: string;
}

export interface NodeProgram extends Located {
  /** Variables the program needs in its environment (VS Code's runtime: ELECTRON_RUN_AS_NODE). */
  env?: Record<string, string>;
  /** Its Node version when known without running it (VS Code's runtime). */
  version?: string;
}

export const HOST_RUNTIME = 'VS Code\u2019s own runtime';

export function locateNode(setting: string | undefined, host: HostRuntime, f: FsLike = realFs): NodeProgram | NotFound {
  if (setting && setting.trim()) {
    const p = setting.trim();
    return f.isFile(p)
      ? { path: p, from: 'lossmith.nodePath' }
      : { error: `lossmith.nodePath is set to ${p}, which is not a file: set it to a Node.js 20+ executable, or clear it to run the engine with ${HOST_RUNTIME}.`, setting: 'lossmith.nodePath' };
  }
  return { path: host.execPath, from: HOST_RUNTIME, env: { ELECTRON_RUN_AS_NODE: '1' }, version: host.version };
}

const isLossmithPackage = (dir: string, f: FsLike): boolean => {
  const text = f.readFile(path.join(dir, 'package.json'));
  if (!text) return false;
  try {
    return (JSON.parse(text) as { name?: unknown }).name === 'lossmith';
  } catch {
    return false;
  }
};

export interface EngineSearch {
  /** lossmith.enginePath. */
  setting?: string;
  workspaceFolders: readonly string[];
  /** The engine bundled in the extension (dist/engine/lossmith.js). */
  bundled?: string;
  envPath?: string;
  platform: NodeJS.Platform;
}

export function locateEngine(o: EngineSearch, f: FsLike = realFs): Located | NotFound {
  if (o.setting && o.setting.trim()) {
    const p = o.setting.trim();
    return f.isFile(p)
      ? { path: p, from: 'lossmith.enginePath' }
      : { error: `lossmith.enginePath is set to ${p}, which is not a file: set it to a lossmith bin/lossmith.js, or clear it to use the engine bundled with the extension.`, setting: 'lossmith.enginePath' };
  }
  for (const ws of o.workspaceFolders) {
    const p = path.join(ws, 'node_modules', 'lossmith', 'bin', 'lossmith.js');
    if (f.isFile(p)) return { path: p, from: 'the workspace\u2019s node_modules' };
    const own = path.join(ws, 'bin', 'lossmith.js');
    if (f.isFile(own) && isLossmithPackage(ws, f)) return { path: own, from: 'the workspace (a lossmith checkout)' };
  }
  if (o.bundled && f.isFile(o.bundled)) return { path: o.bundled, from: 'the engine bundled with the extension' };
  const link = findOnPath('lossmith', o.envPath, o.platform, f);
  if (link) {
    const real = f.realpath(link);
    if (real.endsWith('.js')) return { path: real, from: 'PATH' };
    const js = path.join(path.dirname(link), 'node_modules', 'lossmith', 'bin', 'lossmith.js');
    if (f.isFile(js)) return { path: js, from: 'PATH' };
  }
  return {
    error: `The Lossmith engine was not found: this build of the extension has no bundled engine (${o.bundled ?? 'dist/engine/lossmith.js'}). Reinstall the extension from its .vsix, or set lossmith.enginePath to the bin/lossmith.js of a lossmith checkout or of the CLI package (npm install -g ./lossmith-VERSION.tgz, see the README).`,
    setting: 'lossmith.enginePath',
  };
}

/** The major version of a Node executable (runs `node -p process.versions.node`). */
export function nodeVersion(node: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(node, ['-p', 'process.versions.node'], { timeout: 15_000, windowsHide: true }, (err, stdout) => {
      if (err) reject(new Error(`${node} could not be run: ${err.message}`));
      else resolve(stdout.trim());
    });
  });
}

export const MIN_NODE_MAJOR = 20;
export function nodeVersionOk(v: string): boolean {
  const major = Number(/^v?(\d+)\./.exec(v)?.[1]);
  return Number.isFinite(major) && major >= MIN_NODE_MAJOR;
}
