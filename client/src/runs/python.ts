/**
 * Which Python the torch engine uses, decided in one place and always said (no vscode import;
 * tested with fake extensions). In order:
 *
 *  1. the setting `lossmith.pythonPath` (`~` and `${workspaceFolder}` expanded, relative to the
 *     workspace folder);
 *  2. the interpreter selected in the Python extension (ms-python.python), when it is installed;
 *  3. nothing: the engine's own default applies, $LOSSMITH_PYTHON, else `python3` on PATH.
 *
 * The result names where it came from, for the quick pick and the output channel, because a
 * `python3` first on PATH (pyenv, a venv, conda) is often not the one that has torch.
 */
import * as path from 'path';

export interface PythonChoice {
  /** What to pass as --python (undefined: pass nothing, the engine's default applies). */
  python?: string;
  /** The Python that will be used, as far as known here ('python3' when left to the engine). */
  shown: string;
  /** Where it came from, in words. */
  from: string;
}

export const PYTHON_SETTING = 'lossmith.pythonPath';

/** `~`, `${workspaceFolder}` and `${userHome}` expanded; a relative path is taken from the workspace folder. */
export function expandPythonPath(p: string, workspaceFolder: string | undefined, home: string): string {
  let s = p.trim();
  if (workspaceFolder) s = s.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  s = s.replace(/\$\{userHome\}/g, home);
  if (s === '~' || s.startsWith('~/') || s.startsWith('~\\')) s = path.join(home, s.slice(1));
  // A bare name ('python3.11') is looked up on PATH by the engine; a relative path is the workspace's.
  if (workspaceFolder && !path.isAbsolute(s) && /[\\/]/.test(s)) s = path.resolve(workspaceFolder, s);
  return s;
}

export function choosePython(o: { setting?: string; interpreter?: string; workspaceFolder?: string; home: string; env: { LOSSMITH_PYTHON?: string } }): PythonChoice {
  if (o.setting && o.setting.trim()) {
    const python = expandPythonPath(o.setting, o.workspaceFolder, o.home);
    return { python, shown: python, from: `the setting ${PYTHON_SETTING}` };
  }
  if (o.interpreter) return { python: o.interpreter, shown: o.interpreter, from: `the Python extension's selected interpreter (set ${PYTHON_SETTING} to use another)` };
  if (o.env.LOSSMITH_PYTHON) return { shown: o.env.LOSSMITH_PYTHON, from: `the LOSSMITH_PYTHON environment variable (set ${PYTHON_SETTING} to use another)` };
  return { shown: 'python3', from: `python3 on PATH, the engine's default (set ${PYTHON_SETTING}, or select an interpreter with the Python extension)` };
}

/** The parts of the Python extension's API read here (both are optional: older and newer versions differ). */
interface PythonExtensionExports {
  environments?: {
    getActiveEnvironmentPath?(resource?: unknown): { id?: string; path?: string } | undefined;
    resolveEnvironment?(env: unknown): Promise<{ executable?: { uri?: { fsPath?: string } } } | undefined> | { executable?: { uri?: { fsPath?: string } } } | undefined;
  };
  settings?: {
    getExecutionDetails?(resource?: unknown): { execCommand?: string[] } | undefined;
  };
}

/** The part of `vscode.Extension` used here. */
export interface ExtensionLike {
  isActive: boolean;
  exports: unknown;
  activate(): PromiseLike<unknown>;
}

/** `p`, or undefined after `ms` (an extension that never finishes activating must not hold up a run). */
function withTimeout<T>(p: PromiseLike<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  return Promise.race([Promise.resolve(p), late]).finally(() => clearTimeout(timer));
}

/**
 * The interpreter selected in the Python extension for `resource` (a workspace folder's Uri),
 * or undefined when the extension is absent, fails, or names none. Never throws.
 */
export async function pythonExtensionInterpreter(ext: ExtensionLike | undefined, resource: unknown, timeoutMs = 10_000): Promise<string | undefined> {
  if (!ext) return undefined;
  try {
    if (!ext.isActive) await withTimeout(ext.activate(), timeoutMs);
    const api = (ext.exports ?? undefined) as PythonExtensionExports | undefined;
    if (!api || typeof api !== 'object') return undefined;
    const envs = api.environments;
    const active = typeof envs?.getActiveEnvironmentPath === 'function' ? envs.getActiveEnvironmentPath(resource) : undefined;
    if (active && typeof active.path === 'string' && active.path) {
      // The path may be an environment folder (conda): resolving gives its executable.
      if (typeof envs?.resolveEnvironment === 'function') {
        const resolved = await withTimeout(Promise.resolve(envs.resolveEnvironment(active)), timeoutMs);
        const exe = resolved?.executable?.uri?.fsPath;
        if (typeof exe === 'string' && exe) return exe;
      }
      return active.path;
    }
    // Older versions of the extension.
    const cmd = typeof api.settings?.getExecutionDetails === 'function' ? api.settings.getExecutionDetails(resource)?.execCommand : undefined;
    // Only a lone executable: ['conda', 'run', ...] is not a Python path.
    if (Array.isArray(cmd) && cmd.length === 1 && typeof cmd[0] === 'string' && cmd[0]) return cmd[0];
  } catch {
    // An extension that fails is as good as none: the engine's default applies, and says so.
  }
  return undefined;
}
