/**
 * Finding the programs a run needs (no vscode import; tested with fake file systems):
 *
 *  - the user's system Node: `lossmith.nodePath`, else `node` on PATH. VS Code's own runtime
 *    (Electron's Node) cannot load tfjs-node's native bindings, so runs never use it.
 *  - the engine CLI (`bin/lossmith.js` of the lossmith package, which has the tfjs engine):
 *    `lossmith.enginePath`, else the workspace's node_modules/lossmith, else the workspace itself
 *    when it is a checkout of lossmith, else `lossmith` on PATH (npm's bin link, resolved).
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

export function locateNode(setting: string | undefined, envPath: string | undefined, platform: NodeJS.Platform, f: FsLike = realFs): Located | { error: string } {
  if (setting && setting.trim()) {
    const p = setting.trim();
    return f.isFile(p) ? { path: p, from: 'lossmith.nodePath' } : { error: `lossmith.nodePath is set to ${p}, which is not a file.` };
  }
  const found = findOnPath('node', envPath, platform, f);
  if (found) return { path: found, from: 'PATH' };
  return { error: 'Node.js was not found on PATH. Install Node.js 20 or later, or set lossmith.nodePath to its executable.' };
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

export function locateEngine(setting: string | undefined, workspaceFolders: readonly string[], envPath: string | undefined, platform: NodeJS.Platform, f: FsLike = realFs): Located | { error: string } {
  if (setting && setting.trim()) {
    const p = setting.trim();
    return f.isFile(p) ? { path: p, from: 'lossmith.enginePath' } : { error: `lossmith.enginePath is set to ${p}, which is not a file.` };
  }
  for (const ws of workspaceFolders) {
    const p = path.join(ws, 'node_modules', 'lossmith', 'bin', 'lossmith.js');
    if (f.isFile(p)) return { path: p, from: 'the workspace\u2019s node_modules' };
    const own = path.join(ws, 'bin', 'lossmith.js');
    if (f.isFile(own) && isLossmithPackage(ws, f)) return { path: own, from: 'the workspace (a lossmith checkout)' };
  }
  const link = findOnPath('lossmith', envPath, platform, f);
  if (link) {
    const real = f.realpath(link);
    if (real.endsWith('.js')) return { path: real, from: 'PATH' };
    const js = path.join(path.dirname(link), 'node_modules', 'lossmith', 'bin', 'lossmith.js');
    if (f.isFile(js)) return { path: js, from: 'PATH' };
  }
  return {
    error: 'The Lossmith engine was not found. Install it (`npm install -g lossmith`, or `npm install lossmith` in the workspace) or set lossmith.enginePath to its bin/lossmith.js.',
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
