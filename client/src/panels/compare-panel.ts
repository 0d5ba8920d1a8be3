/**
 * Runs side by side (media/src/compare): one panel for two or more compare runs chosen in the
 * Runs view, their curves overlaid and their tables joined. It sends the runs' names, then each
 * run's events from its folder (on `ready`, so a reloaded page gets them again).
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { COMPARE_BODY } from '../../../media/src/compare/body';
import { pageHtml } from '../../../media/src/shared/html';
import { COMPARE_VIEW_TYPE, MAX_EVENTS_PER_MESSAGE, parseFromRunWebview, type ToRunWebview } from '../../../media/src/shared/run-messages';
import { contentSecurityPolicy, makeNonce } from './preview-html';
import { runPanelTitle } from '../runs/panel-title';
import { runEvents, runLabel } from '../runs/run-files';
import { RunPanel, saveFromWebview, type RunPanelHost } from '../runs/run-panel';

export interface ComparedRunRef {
  id: string;
  dir: string;
}

export class ComparePanel {
  static current: ComparePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  static show(host: RunPanelHost, runs: ComparedRunRef[]): ComparePanel {
    if (ComparePanel.current) {
      ComparePanel.current.setRuns(runs);
      ComparePanel.current.panel.reveal(undefined, false);
      return ComparePanel.current;
    }
    const panel = vscode.window.createWebviewPanel(COMPARE_VIEW_TYPE, 'Runs side by side', vscode.ViewColumn.Active, RunPanel.webviewOptions(host.context));
    ComparePanel.current = new ComparePanel(panel, host, runs);
    return ComparePanel.current;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly host: RunPanelHost,
    private runs: ComparedRunRef[],
  ) {
    const w = panel.webview;
    const media = vscode.Uri.joinPath(host.context.extensionUri, 'dist', 'media');
    const nonce = makeNonce((n) => crypto.randomBytes(n));
    const uri = (...p: string[]): string => w.asWebviewUri(vscode.Uri.joinPath(media, ...p)).toString();
    w.html = pageHtml({ csp: contentSecurityPolicy(w.cspSource, nonce), nonce, title: 'Runs side by side', scriptUri: uri('compare.js'), styleUris: [uri('runs.css')], body: COMPARE_BODY });
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    w.onDidReceiveMessage((m: unknown) => void this.onMessage(m), null, this.disposables);
    this.setTitle();
  }

  private setTitle(): void {
    this.panel.title = `Runs side by side: ${this.runs.map((r) => runLabel(r.dir, 'compare')).join(' | ')}`.slice(0, 120);
  }

  private setRuns(runs: ComparedRunRef[]): void {
    this.runs = runs;
    this.setTitle();
    this.sendAll();
  }

  private post(msg: ToRunWebview): void {
    void this.panel.webview.postMessage(msg).then(undefined, () => undefined);
  }

  private sendAll(): void {
    this.post({ type: 'compareRuns', runs: this.runs.map((r) => ({ runId: r.id, title: runPanelTitle('compare', runLabel(r.dir, 'compare'), r.id) })) });
    for (const r of this.runs) {
      const events = runEvents(r.dir);
      for (let from = 0; from === 0 || from < events.length; from += MAX_EVENTS_PER_MESSAGE) this.post({ type: 'events', runId: r.id, from, events: events.slice(from, from + MAX_EVENTS_PER_MESSAGE) });
    }
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg = parseFromRunWebview(raw);
    if (msg?.type === 'ready') this.sendAll();
    else if (msg?.type === 'save') await saveFromWebview(msg, this.runs[0]?.dir ?? this.host.context.globalStorageUri.fsPath);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (ComparePanel.current === this) ComparePanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
