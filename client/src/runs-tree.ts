/**
 * The "Lossmith Runs" tree: the workspace's runs (from .lossmith/runs, newest first) merged with
 * the run manager's live and queued runs, with status icons, live progress and context values
 * the menus use (`lossmithRun.<kind>.<status>`).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { isLive, type ActiveRun, type RunManager } from './runs/run-manager';
import { listRuns, progressOf, readSummary, runEvents, runLabel, runSetup } from './runs/run-files';
import { runAccessibleLabel, runDescription, runRowLabel, runTooltip, type RunItem } from './runs/run-item-text';
import type { VerdictSummary } from '../../media/src/shared/verdict';

interface RunDetails {
  mtime: number;
  label: string;
  setup: string;
  detail: string;
  backend: string | null;
  compute: string | null;
  progress: number;
  verdicts: VerdictSummary | null;
}

export type { RunItem };

const ICONS: Record<string, [string, string?]> = {
  queued: ['watch'],
  starting: ['loading~spin'],
  running: ['sync~spin', 'charts.blue'],
  stopping: ['loading~spin', 'charts.orange'],
  done: ['pass', 'charts.green'],
  cancelled: ['circle-slash', 'charts.orange'],
  failed: ['error', 'charts.red'],
  interrupted: ['debug-pause', 'charts.yellow'],
  unknown: ['question'],
};

export class RunsTree implements vscode.TreeDataProvider<RunItem>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<RunItem | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private cache = new Map<string, RunDetails>();

  constructor(private readonly manager: RunManager) {
    this.disposables.push(manager.onDidChange(() => this.refreshSoon()));
    const watcher = vscode.workspace.createFileSystemWatcher('**/.lossmith/runs/*/{summary.json,config.json}');
    this.disposables.push(watcher, watcher.onDidCreate(() => this.refreshSoon()), watcher.onDidChange(() => this.refreshSoon()), watcher.onDidDelete(() => this.refreshSoon()));
  }

  refreshSoon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.emitter.fire(undefined);
    }, 300);
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }

  items(): RunItem[] {
    const out = new Map<string, RunItem>();
    const live = new Set(this.manager.runs().map((r) => r.id ?? r.key));
    for (const ws of vscode.workspace.workspaceFolders ?? []) {
      for (const info of listRuns(ws.uri.fsPath)) {
        const kind = info.kind === 'evolve' ? 'evolve' : 'compare';
        const item: RunItem = { id: info.id, kind, status: info.status, label: kind === 'evolve' ? 'evolution' : 'evaluation', dir: info.dir, created: info.created, error: info.error };
        out.set(info.id, item);
        // A live run's progress comes from the manager (its tail), not from re-reading its events.
        if (live.has(info.id)) continue;
        const d = this.details(info.dir, kind);
        item.label = d.label;
        item.setup = d.setup;
        item.detail = d.detail;
        item.backend = d.backend;
        item.compute = d.compute;
        item.progress = d.progress;
        item.verdicts = d.verdicts;
        out.set(info.id, item);
      }
    }
    for (const r of this.manager.runs()) {
      const id = r.id ?? r.key;
      const prev = out.get(id);
      out.set(id, { ...(prev ?? { created: new Date().toISOString() }), id, kind: r.kind, status: r.state, label: r.label, setup: prev?.setup ?? (r.dir ? runSetup(r.dir, r.kind) : undefined), dir: r.dir ?? prev?.dir, progress: r.progress, detail: r.detail, backend: r.backend, compute: r.compute, verdicts: r.verdicts ?? prev?.verdicts, error: r.error });
    }
    return [...out.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  /** Label and progress from the run's files, cached by their mtimes. */
  private details(dir: string, kind: 'compare' | 'evolve'): RunDetails {
    // Keyed by both files: an evolution's summary (its compute) is written after its last event.
    let mtime = 0;
    for (const f of ['events.jsonl', 'summary.json']) {
      try {
        mtime += fs.statSync(path.join(dir, f)).mtimeMs;
      } catch {
        // none
      }
    }
    const c = this.cache.get(dir);
    if (c && c.mtime === mtime) return c;
    let summary: unknown;
    try {
      // An evolution names its compute only in its summary (written when it ends).
      summary = kind === 'evolve' ? readSummary(dir) : undefined;
    } catch {
      summary = undefined;
    }
    const p = progressOf(kind, runEvents(dir), summary);
    const d = { mtime, label: runLabel(dir, kind), setup: runSetup(dir, kind), detail: p.detail, backend: p.backend, compute: p.compute, progress: p.progress, verdicts: p.verdicts };
    this.cache.set(dir, d);
    return d;
  }

  getTreeItem(r: RunItem): vscode.TreeItem {
    const item = new vscode.TreeItem(runRowLabel(r), vscode.TreeItemCollapsibleState.None);
    item.id = r.id;
    const live = isLive(r.status as ActiveRun['state']);
    const when = r.created ? new Date(r.created).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : '';
    item.description = runDescription(r, live, when);
    const [icon, color] = ICONS[r.status] ?? ICONS.unknown;
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = `lossmithRun.${r.kind}.${r.status}`;
    item.tooltip = new vscode.MarkdownString(runTooltip(r), true);
    item.accessibilityInformation = { label: runAccessibleLabel(r) };
    if (r.dir) item.command = { command: 'lossmith.openRun', title: 'Open Results', arguments: [r] };
    return item;
  }

  getChildren(element?: RunItem): RunItem[] {
    return element ? [] : this.items();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.emitter.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
