/**
 * The derivative preview panel (webview-sample's pattern: `createOrShow`, `revive`, `dispose`).
 * It follows the active `.loss` editor and the loss under the cursor, asks the language server
 * for `lossmith/derivative` (after each new analysis, cursor move into another loss, or control
 * change), and posts the validated result to the webview. One request is in flight at a time;
 * changes made meanwhile coalesce into the next one.
 */
import * as crypto from 'crypto';
import * as path from 'path';
import * as vscode from 'vscode';
import { RequestType, type LanguageClient } from 'vscode-languageclient/node';
import { DerivativeRequest, type DerivativeParams, type DerivativeResult } from '../../../protocol/lsp';
import { MAX_CLASSES, MIN_CLASSES, PREVIEW_VIEW_TYPE, parseDerivativeResult, parseFromWebview, parseState, type FromWebview, type PreviewState, type ToWebview } from '../../../media/src/preview/messages';
import { LANGUAGE_ID } from '../language-client';
import { keepKnown, lossAt } from './pick-loss';
import { makeNonce, previewHtml } from './preview-html';

const derivativeType = new RequestType<DerivativeParams, DerivativeResult | null, void>(DerivativeRequest.method);

export interface PanelHost {
  context: vscode.ExtensionContext;
  /** The running client, or undefined while it is (re)starting. */
  client(): LanguageClient | undefined;
  log: vscode.LogOutputChannel;
}

const isLossDoc = (d: vscode.TextDocument | undefined): d is vscode.TextDocument => !!d && d.languageId === LANGUAGE_ID;

export class DerivativePanel {
  static current: DerivativePanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private uri: string | undefined;
  private position: vscode.Position | undefined;
  /** A loss chosen in the panel; cleared when the cursor moves in the editor. */
  private chosenLoss: string | undefined;
  private classes: number;
  private readonly overrides = new Map<string, Record<string, number>>();
  private last: DerivativeResult | undefined;
  private inFlight = false;
  private queued = false;
  private webviewReady = false;
  private selectionTimer: NodeJS.Timeout | undefined;
  private disposed = false;

  static createOrShow(host: PanelHost): DerivativePanel {
    // Beside the .loss editor, also when the walkthrough has the focus (never over the editor).
    const lossEditor = vscode.window.activeTextEditor ? undefined : vscode.window.visibleTextEditors.find((e) => isLossDoc(e.document));
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : lossEditor?.viewColumn ? ((lossEditor.viewColumn + 1) as vscode.ViewColumn) : vscode.ViewColumn.Active;
    if (DerivativePanel.current) {
      DerivativePanel.current.panel.reveal(column, true);
      DerivativePanel.current.followActiveEditor();
      return DerivativePanel.current;
    }
    const panel = vscode.window.createWebviewPanel(PREVIEW_VIEW_TYPE, 'Derivative Preview', { viewColumn: column, preserveFocus: true }, DerivativePanel.webviewOptions(host.context));
    DerivativePanel.current = new DerivativePanel(panel, host, undefined);
    return DerivativePanel.current;
  }

  /** Called by the serializer after a reload, with the state the webview saved. */
  static revive(panel: vscode.WebviewPanel, host: PanelHost, state: unknown): DerivativePanel {
    DerivativePanel.current?.dispose();
    panel.webview.options = DerivativePanel.webviewOptions(host.context);
    DerivativePanel.current = new DerivativePanel(panel, host, parseState(state));
    return DerivativePanel.current;
  }

  static webviewOptions(context: vscode.ExtensionContext): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'media')],
      retainContextWhenHidden: false,
    };
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly host: PanelHost,
    restored: PreviewState | undefined,
  ) {
    this.classes = restored?.classes ?? this.configuredClasses();
    if (restored?.uri) {
      this.uri = restored.uri;
      this.chosenLoss = restored.loss;
      if (restored.overrides) this.overrides.set(restored.uri, restored.overrides);
    }
    panel.iconPath = {
      light: vscode.Uri.joinPath(host.context.extensionUri, 'icons', 'preview-light.svg'),
      dark: vscode.Uri.joinPath(host.context.extensionUri, 'icons', 'preview-dark.svg'),
    };
    panel.webview.html = this.html();
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), null, this.disposables);
    panel.onDidChangeViewState(
      (e) => {
        if (e.webviewPanel.visible) this.refresh();
      },
      null,
      this.disposables,
    );
    vscode.window.onDidChangeActiveTextEditor(() => this.followActiveEditor(), null, this.disposables);
    vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e), null, this.disposables);
    vscode.workspace.onDidCloseTextDocument(
      (d) => {
        if (d.uri.toString() === this.uri) this.overrides.delete(this.uri);
      },
      null,
      this.disposables,
    );
    vscode.workspace.onDidChangeConfiguration(
      (e) => {
        if (e.affectsConfiguration('lossmith.preview.classes')) {
          this.classes = this.configuredClasses();
          this.refresh();
        }
      },
      null,
      this.disposables,
    );
    if (!this.uri) this.followActiveEditor();
  }

  private configuredClasses(): number {
    const c = vscode.workspace.getConfiguration('lossmith').get<number>('preview.classes', 10);
    return Math.max(MIN_CLASSES, Math.min(MAX_CLASSES, Math.round(Number.isFinite(c) ? c : 10)));
  }

  private html(): string {
    const webview = this.panel.webview;
    const media = vscode.Uri.joinPath(this.host.context.extensionUri, 'dist', 'media');
    return previewHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce((n) => crypto.randomBytes(n)),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'preview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'preview.css')).toString(),
      katexStyleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'katex', 'katex.min.css')).toString(),
    });
  }

  /** Follow the active editor when it shows a `.loss` file; otherwise keep the last one. */
  followActiveEditor(): void {
    // Opened from a walkthrough (no text editor has the focus): the .loss editor beside it.
    const editor = vscode.window.activeTextEditor ?? (this.uri ? undefined : vscode.window.visibleTextEditors.find((e) => isLossDoc(e.document)));
    if (!editor || !isLossDoc(editor.document)) {
      if (!this.uri) this.post({ type: 'status', state: 'noEditor', message: 'Open a .loss file to see its loss, derivatives and curves.' });
      return;
    }
    const uri = editor.document.uri.toString();
    if (uri !== this.uri) {
      this.uri = uri;
      this.chosenLoss = undefined;
      this.last = undefined;
    }
    this.position = editor.selection.active;
    this.refresh();
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    if (!isLossDoc(e.textEditor.document) || e.textEditor.document.uri.toString() !== this.uri) return;
    this.position = e.selections[0]?.active;
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    this.selectionTimer = setTimeout(() => {
      this.selectionTimer = undefined;
      const pos = this.position;
      if (!pos || !this.last) return this.refresh();
      const target = lossAt(this.last.lossInfos, { line: pos.line, character: pos.character });
      if (this.chosenLoss !== undefined) {
        if (target === this.chosenLoss) return;
        this.chosenLoss = undefined;
      }
      if (target !== this.last.loss) this.refresh();
    }, 120);
  }

  /** The server analysed a document again (it changed): refresh when it is ours. */
  onAnalysisChanged(uri: string): void {
    if (uri === this.uri && this.panel.visible) this.refresh();
  }

  /** The client (re)started: ask again. */
  onClientReady(): void {
    this.refresh();
  }

  refresh(): void {
    if (!this.uri || !this.webviewReady) return;
    if (this.inFlight) {
      this.queued = true;
      return;
    }
    void this.request();
  }

  private async request(): Promise<void> {
    const client = this.host.client();
    const uri = this.uri;
    if (!uri) return;
    if (!client || !client.isRunning()) {
      this.post({ type: 'status', state: 'starting', message: 'Waiting for the Lossmith language server…' });
      return;
    }
    this.inFlight = true;
    const classes = this.classes;
    const overrides = this.overrides.get(uri) ?? {};
    try {
      const params: DerivativeParams = { uri, classes, params: overrides };
      if (this.chosenLoss) params.loss = this.chosenLoss;
      else if (this.position) params.position = { line: this.position.line, character: this.position.character };
      const raw = await client.sendRequest(derivativeType, params);
      if (raw === null) {
        // The document is not open in the server (yet): it will announce its analysis.
        this.post({ type: 'status', state: 'starting', message: 'Waiting for the language server to analyse the file…' });
      } else {
        const result = parseDerivativeResult(raw);
        if (!result) {
          this.host.log.error('lossmith/derivative returned a result of unexpected shape');
          this.post({ type: 'status', state: 'serverError', message: 'The language server sent a result this version of the preview does not understand.' });
        } else if (result.uri === this.uri) {
          const kept = keepKnown(overrides, result.params.map((p) => p.name));
          this.overrides.set(uri, kept);
          this.last = result;
          const fileName = path.posix.basename(vscode.Uri.parse(uri).path);
          this.post({ type: 'derivative', result, fileName, classes, overrides: kept });
        }
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.host.log.warn(`lossmith/derivative failed: ${message}`);
      this.post({ type: 'status', state: 'serverError', message: `The preview could not be computed: ${message}` });
    } finally {
      this.inFlight = false;
      if (this.queued) {
        this.queued = false;
        this.refresh();
      }
    }
  }

  private onMessage(raw: unknown): void {
    const msg: FromWebview | undefined = parseFromWebview(raw);
    if (!msg) {
      this.host.log.warn('derivative preview: ignored a webview message of unknown shape');
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.webviewReady = true;
        if (!this.uri) this.followActiveEditor();
        else this.refresh();
        return;
      case 'setClasses':
        this.classes = msg.classes;
        return this.refresh();
      case 'setParam': {
        if (!this.uri) return;
        const known = this.last?.params.find((p) => p.name === msg.name);
        if (!known) return;
        this.overrides.set(this.uri, { ...(this.overrides.get(this.uri) ?? {}), [msg.name]: msg.value });
        return this.refresh();
      }
      case 'resetParams':
        if (this.uri) this.overrides.delete(this.uri);
        return this.refresh();
      case 'selectLoss':
        if (this.last && !this.last.losses.includes(msg.loss)) return;
        this.chosenLoss = msg.loss;
        return this.refresh();
      case 'revealLoss':
        void this.reveal(msg.loss);
        return;
    }
  }

  private async reveal(loss: string): Promise<void> {
    const info = this.last?.lossInfos.find((l) => l.name === loss);
    if (!info || !this.uri) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(this.uri));
    const range = new vscode.Range(info.nameRange.start.line, info.nameRange.start.character, info.nameRange.end.line, info.nameRange.end.character);
    const column = vscode.window.visibleTextEditors.find((e) => e.document === doc)?.viewColumn ?? vscode.ViewColumn.One;
    await vscode.window.showTextDocument(doc, { viewColumn: column, selection: range });
  }

  private post(msg: ToWebview): void {
    void this.panel.webview.postMessage(msg).then(undefined, () => undefined);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (DerivativePanel.current === this) DerivativePanel.current = undefined;
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
