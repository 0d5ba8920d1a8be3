/**
 * The engine/device step of Evaluate Loss and Start Evolution: which Python (python.ts), what
 * `lossmith backend --json` finds with it, run through the same Node and engine CLI as the runs
 * (cached per Python for the session: the probe imports torch, which takes seconds), and the
 * quick pick built from it (compute-choice.ts).
 */
import * as os from 'os';
import * as vscode from 'vscode';
import { ENGINES, isDevice, PRECISIONS, type ComputeChoices } from './cli-args';
import { computeItems, parseEngineReport, type ComputeItem, type ComputeSettings, type EngineReport } from './compute-choice';
import { choosePython, PYTHON_SETTING, pythonExtensionInterpreter, type PythonChoice } from './python';
import type { RunManager } from './run-manager';
import { runCliOnce } from './run-process';

type Report = EngineReport | { error: string };

/** The three compute settings of a folder, checked (a bad value counts as auto). */
export function computeSettings(folder?: vscode.Uri): ComputeSettings {
  const conf = vscode.workspace.getConfiguration('lossmith', folder);
  const engine = conf.get<string>('engine', 'auto');
  const device = conf.get<string>('device', 'auto');
  const precision = conf.get<string>('precision', 'auto');
  return {
    engine: ENGINES.includes(engine as ComputeSettings['engine']) ? (engine as ComputeSettings['engine']) : 'auto',
    device: isDevice(device) ? device : 'auto',
    precision: PRECISIONS.includes(precision as ComputeSettings['precision']) ? (precision as ComputeSettings['precision']) : 'auto',
  };
}

/** The Python for runs in `folder`: the setting, the Python extension's interpreter, or the engine's default. */
export async function resolvePython(folder?: vscode.Uri): Promise<PythonChoice> {
  const raw = vscode.workspace.getConfiguration('lossmith', folder).get<unknown>('pythonPath');
  const setting = typeof raw === 'string' ? raw : '';
  const interpreter = setting.trim() ? undefined : await pythonExtensionInterpreter(vscode.extensions.getExtension('ms-python.python'), folder);
  return choosePython({ setting, interpreter, workspaceFolder: folder?.fsPath, home: os.homedir(), env: process.env });
}

export interface ComputePending {
  python: PythonChoice;
  report: Report;
}

/** What the engine CLI finds, per Node, CLI and Python, for this window's session. */
export class ComputeProbe {
  private readonly cache = new Map<string, Promise<Report>>();

  constructor(
    private readonly manager: RunManager,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Starts finding the Python and the engines (call early: the answer is needed a step later). */
  start(cwd: string, folder?: vscode.Uri): Promise<ComputePending> {
    return (async () => {
      const python = await resolvePython(folder);
      return { python, report: await this.report(cwd, python) };
    })().catch((e: unknown) => ({ python: choosePython({ home: os.homedir(), env: process.env }), report: { error: (e as Error).message } }));
  }

  private async report(cwd: string, py: PythonChoice): Promise<Report> {
    const programs = await this.manager.programs(cwd);
    if ('error' in programs) return { error: programs.error };
    const key = [programs.node, programs.cli, py.python ?? ''].join('\0');
    let p = this.cache.get(key);
    if (!p) {
      const args = ['backend', '--json', ...(py.python ? ['--python', py.python] : [])];
      this.log.info(`finding the compute engines: ${programs.node} ${programs.cli} ${args.join(' ')} (Python from ${py.from})`);
      p = runCliOnce(programs.node, programs.cli, args, { cwd, ...(programs.env ? { env: { ...process.env, ...programs.env } } : {}) }).then((r) => {
        const parsed = parseEngineReport(r.stdout);
        if ('error' in parsed) {
          const why = r.stderr.trim().split('\n').pop() || parsed.error;
          this.log.warn(`lossmith backend --json failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-5).join('\n') || parsed.error}`);
          // Not cached: the next run asks again.
          this.cache.delete(key);
          return { error: `lossmith backend failed: ${why}` };
        }
        this.log.info(`compute engines: tfjs ${parsed.tfjs.available ? `(${parsed.tfjs.backends.filter((b) => b.available).map((b) => b.name).join(', ')})` : 'unavailable'}; torch ${parsed.torch.available ? `${parsed.torch.probe?.torch} at ${parsed.torch.probe?.executable}` : `unavailable: ${parsed.torch.problem}`}; auto picks ${parsed.auto}`);
        return parsed;
      });
      this.cache.set(key, p);
    }
    return p;
  }

  /** Forget what was found (after installing torch, or changing the Python). */
  clear(): void {
    this.cache.clear();
  }
}

/** Waits for `p`, with a progress notification only if it is not ready yet. */
async function withProgressIfSlow<T>(p: Promise<T>, title: string): Promise<T> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  if (done) return p;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () => p);
}

export interface PickedCompute {
  choice: ComputeChoices;
  /** The item's words and the Python's provenance, for the output channel. */
  label: string;
  python: PythonChoice;
}

type Item = vscode.QuickPickItem & { item?: ComputeItem; refresh?: boolean };

/**
 * The engine/device quick pick. `pending` comes from ComputeProbe.start; `last` is the
 * remembered choice. An item that cannot run shows why (and where to change the Python) and
 * the pick comes back; "Look again" runs the probe again.
 */
export async function pickCompute(probe: ComputeProbe, start: () => Promise<ComputePending>, pending: Promise<ComputePending>, title: string, settings: ComputeSettings, last?: ComputeChoices): Promise<PickedCompute | undefined> {
  for (;;) {
    const { python, report } = await withProgressIfSlow(pending, 'Lossmith: finding the compute engines (tfjs, and torch in your Python)…');
    const { items } = computeItems(report, settings, python, last);
    const picks: Item[] = [
      ...items.map((item) => ({ label: item.label, description: item.description, detail: item.detail, item })),
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(refresh) Look again', description: `after installing torch or changing ${PYTHON_SETTING}`, detail: `Python: ${python.shown} (from ${python.from})`, refresh: true },
    ];
    const r = await vscode.window.showQuickPick(picks, { title, placeHolder: 'Compute engine and device', ignoreFocusOut: true, matchOnDescription: true });
    if (!r) return undefined;
    if (r.refresh) {
      probe.clear();
      pending = start();
      continue;
    }
    const it = r.item;
    if (!it) continue;
    if (!it.choice) {
      const action = await vscode.window.showWarningMessage(`Lossmith: ${it.problem ?? 'this engine cannot run here'} (Python: ${python.shown}, from ${python.from})`, 'Choose Another', 'Open Settings');
      if (action === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', PYTHON_SETTING);
        return undefined;
      }
      if (action !== 'Choose Another') return undefined;
      continue;
    }
    return { choice: it.choice, label: it.label.replace(/\$\([\w~-]+\)\s*/g, ''), python };
  }
}
