/**
 * What the evaluation and evolution panels share: one webview panel per run (keyed by view type
 * and run id), the HTML shell with the nonce-based CSP, sending the run's events (all of them on
 * `ready`, then what the tail appends), its status and summary, and saving exports.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { pageHtml } from '../../../media/src/shared/html';
import { MAX_EVENTS_PER_MESSAGE, parseFromRunWebview, type FromRunWebview, type ToRunWebview } from '../../../media/src/shared/run-messages';
import type { WireEvent } from '../../../media/src/shared/validate';
import { contentSecurityPolicy, makeNonce } from '../panels/preview-html';
import { listRuns, readSummary, runEvents, runLabel } from './run-files';
import type { RunManager } from './run-manager';

export interface RunPanelHost {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  manager: RunManager;
}

export interface RunPanelKind {
  viewType: string;
  script: 'evaluation' | 'evolution';
  body: string;
  title(runId: string, label: string): string;
}

export abstract class RunPanel {
  private static readonly panels = new Map<string, RunPanel>();
  protected readonly disposables: vscode.Disposable[] = [];
  private sent = 0;
  private disposed = false;

  static find(viewType: string, runId: string): RunPanel | undefined {
    return RunPanel.panels.get(`${viewType}:${runId}`);
  }

  static webviewOptions(context: vscode.ExtensionContext): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, enableCommandUris: false, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'media')], retainContextWhenHidden: false };
  }

  /** Reveal this kind's panel for the run, or open one (beside the editor when there is one). */
  protected static openPanel<T extends RunPanel>(kind: RunPanelKind, runId: string, host: RunPanelHost, make: (panel: vscode.WebviewPanel) => T): T {
    const existing = RunPanel.find(kind.viewType, runId);
    if (existing) {
      existing.reveal();
      return existing as T;
    }
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    return make(vscode.window.createWebviewPanel(kind.viewType, kind.title(runId, ''), { viewColumn: column, preserveFocus: true }, RunPanel.webviewOptions(host.context)));
  }

  /** A panel VS Code restores after a reload (its serializer). */
  protected static revivePanel<T extends RunPanel>(panel: vscode.WebviewPanel, host: RunPanelHost, make: (panel: vscode.WebviewPanel) => T): T {
    panel.webview.options = RunPanel.webviewOptions(host.context);
    return make(panel);
  }

  static disposeAll(): void {
    for (const p of [...RunPanel.panels.values()]) p.dispose();
  }

  protected constructor(
    protected readonly panel: vscode.WebviewPanel,
    protected readonly host: RunPanelHost,
    protected readonly kind: RunPanelKind,
    readonly runId: string,
    protected readonly dir: string,
  ) {
    RunPanel.panels.get(`${kind.viewType}:${runId}`)?.dispose();
    RunPanel.panels.set(`${kind.viewType}:${runId}`, this);
    panel.webview.html = this.html();
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m), null, this.disposables);
    host.manager.onEvents(
      (c) => {
        if (c.run.id === this.runId) this.sendFrom(c.run.tail?.events ?? []);
      },
      null,
      this.disposables,
    );
    host.manager.onDidChange(
      (r) => {
        if (!r || r.id === this.runId) this.sendState();
      },
      null,
      this.disposables,
    );
  }

  private html(): string {
    const w = this.panel.webview;
    const media = vscode.Uri.joinPath(this.host.context.extensionUri, 'dist', 'media');
    const nonce = makeNonce((n) => crypto.randomBytes(n));
    const uri = (...p: string[]): string => w.asWebviewUri(vscode.Uri.joinPath(media, ...p)).toString();
    return pageHtml({
      csp: contentSecurityPolicy(w.cspSource, nonce),
      nonce,
      title: this.kind.title(this.runId, ''),
      scriptUri: uri(`${this.kind.script}.js`),
      styleUris: [uri('katex', 'katex.min.css'), uri('runs.css')],
      body: this.kind.body,
    });
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  /** All events: the live run's (tail) or the file's. */
  private events(): WireEvent[] {
    const live = this.host.manager.get(this.runId);
    return live?.tail?.events ?? runEvents(this.dir);
  }

  private post(msg: ToRunWebview): void {
    void this.panel.webview.postMessage(msg).then(undefined, () => undefined);
  }

  /** Send events[sent..] in chunks. */
  private sendFrom(all: readonly WireEvent[]): void {
    if (all.length < this.sent) this.sent = 0;
    while (this.sent < all.length) {
      const chunk = all.slice(this.sent, this.sent + MAX_EVENTS_PER_MESSAGE);
      this.post({ type: 'events', runId: this.runId, from: this.sent, events: chunk });
      this.sent += chunk.length;
    }
  }

  private sendState(): void {
    const live = this.host.manager.get(this.runId);
    let status: string = live?.state ?? 'unknown';
    if (!live) {
      const ws = path.dirname(path.dirname(path.dirname(this.dir)));
      status = listRuns(ws).find((r) => r.id === this.runId)?.status ?? 'unknown';
    }
    let summary: unknown = null;
    try {
      summary = readSummary(this.dir);
    } catch {
      summary = null;
    }
    this.post({ type: 'runState', runId: this.runId, status, summary });
    const title = this.kind.title(this.runId, live?.label ?? runLabel(this.dir, this.kind.script === 'evolution' ? 'evolve' : 'compare'));
    if (this.panel.title !== title) this.panel.title = title;
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg = parseFromRunWebview(raw);
    if (!msg) {
      this.host.log.warn(`${this.kind.script} panel: ignored a webview message of unknown shape`);
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.sent = 0;
        this.sendState();
        this.sendFrom(this.events());
        return;
      case 'save':
        return this.save(msg);
      default:
        return this.onPanelMessage(msg);
    }
  }

  /** Messages particular to a panel (describe, lossAction). */
  protected abstract onPanelMessage(msg: FromRunWebview): Promise<void>;

  protected postMessage(msg: ToRunWebview): void {
    this.post(msg);
  }

  private save(msg: Extract<FromRunWebview, { type: 'save' }>): Promise<void> {
    return saveFromWebview(msg, this.dir);
  }

  protected fileInRun(name: string): string | undefined {
    if (!/^[\w.-]+\.loss$/.test(name)) return undefined;
    const f = path.join(this.dir, name);
    return fs.existsSync(f) ? f : undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (RunPanel.panels.get(`${this.kind.viewType}:${this.runId}`) === this) RunPanel.panels.delete(`${this.kind.viewType}:${this.runId}`);
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

/** An export a run page asks for (CSV, PNG, SVG): a save dialog in `dir`, then an offer to open it. */
export async function saveFromWebview(msg: Extract<FromRunWebview, { type: 'save' }>, dir: string): Promise<void> {
  const filters: Record<string, Record<string, string[]>> = { csv: { CSV: ['csv'] }, png: { PNG: ['png'] }, svg: { SVG: ['svg'] } };
  const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(dir, msg.name)), filters: filters[msg.format], title: `Export ${msg.format.toUpperCase()}` });
  if (!target) return;
  let data: Buffer;
  if (msg.format === 'png') {
    const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(msg.data);
    if (!m) return;
    data = Buffer.from(m[1], 'base64');
  } else data = Buffer.from(msg.data, 'utf8');
  await vscode.workspace.fs.writeFile(target, data);
  void vscode.window.showInformationMessage(`Saved ${path.basename(target.fsPath)}`, 'Open').then((c) => {
    if (c) void vscode.commands.executeCommand('vscode.open', target);
  });
}
