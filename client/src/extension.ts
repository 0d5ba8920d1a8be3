/**
 * Entry point of the VS Code extension: activate and deactivate only. The extension is thin:
 * every language feature comes from the language server (dist/server.js); this side starts it,
 * contributes commands, and hosts the derivative preview webview.
 */
import * as vscode from 'vscode';
import { NotificationType, State, type LanguageClient } from 'vscode-languageclient/node';
import { AnalysisChangedNotification, type AnalysisChangedParams } from '../../protocol/lsp';
import { PREVIEW_VIEW_TYPE } from '../../media/src/preview/messages';
import { catalogueProvider } from './catalogue';
import { registerCommands, type CommandHost } from './commands';
import { CATALOGUE_SCHEME, createLanguageClient } from './language-client';
import { DerivativePanel } from './panels/derivative-panel';
import { LossCodeLensProvider } from './code-lens';
import { RunsTree } from './runs-tree';
import { RunManager } from './runs/run-manager';
import { RunPanel } from './runs/run-panel';
import { findRunDir } from './runs/run-files';
import { openRunPanel, type RunCommandsHost } from './runs/run-commands';
import { QUEUE_PASSWORD_SECRET, queueArgs, queueEnv, readQueueSetting } from './runs/queue-settings';
import { EvaluationPanel } from './panels/evaluation-panel';
import { EvolutionPanel } from './panels/evolution-panel';
import { EVALUATION_VIEW_TYPE, EVOLUTION_VIEW_TYPE, parseRunPanelState } from '../../media/src/shared/run-messages';

const analysisChangedType = new NotificationType<AnalysisChangedParams>(AnalysisChangedNotification.method);

let client: LanguageClient | undefined;

export interface LossmithApi {
  /** Resolves when the language server has started (used by tests). */
  ready: Promise<void>;
}

export async function activate(context: vscode.ExtensionContext): Promise<LossmithApi> {
  const log = vscode.window.createOutputChannel('Lossmith', { log: true });
  context.subscriptions.push(log);
  log.info(`Lossmith ${context.extension.packageJSON.version ?? ''} activating`);

  const startClient = async (): Promise<void> => {
    const c = createLanguageClient(context, log);
    client = c;
    c.onDidChangeState((e) => {
      if (e.newState === State.Running) DerivativePanel.current?.onClientReady();
    });
    c.onNotification(analysisChangedType, (p) => DerivativePanel.current?.onAnalysisChanged(p.uri));
    await c.start();
    log.info('language server started');
  };

  // Runs: the manager, the Runs view, panels that open when a run starts, and re-attaching to
  // runs that kept running through a window reload.
  const manager = new RunManager(log, vscode.Uri.joinPath(context.globalStorageUri, 'run-logs').fsPath, context.asAbsolutePath('dist/engine/lossmith.js'));
  // The job queue (lossmith.queue): new runs get --queue, every run the stored password in its environment.
  manager.queue = async () => {
    const s = readQueueSetting(vscode.workspace.getConfiguration('lossmith').get('queue'));
    if (!s) return undefined;
    if ('problem' in s) return s;
    return { args: queueArgs(s), env: queueEnv(await context.secrets.get(QUEUE_PASSWORD_SECRET)) };
  };
  const tree = new RunsTree(manager);
  const runsHost: RunCommandsHost = { context, log, manager, tree };
  const workspaceFolders = (): string[] => (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  context.subscriptions.push(
    manager,
    tree,
    // canSelectMany: two or more evaluations open side by side (Compare Runs Side by Side).
    vscode.window.createTreeView('lossmithRuns', { treeDataProvider: tree, showCollapseAll: false, canSelectMany: true }),
    manager.onDidStart((r) => {
      if (r.id && r.dir) openRunPanel(runsHost, r.id, r.kind, r.dir);
    }),
    vscode.languages.registerCodeLensProvider({ language: 'loss' }, new LossCodeLensProvider()),
    { dispose: () => RunPanel.disposeAll() },
  );
  for (const [viewType, Panel] of [
    [EVALUATION_VIEW_TYPE, EvaluationPanel],
    [EVOLUTION_VIEW_TYPE, EvolutionPanel],
  ] as const) {
    context.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(viewType, {
        async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
          const s = parseRunPanelState(state);
          const dir = s && findRunDir(workspaceFolders(), s.runId);
          if (!s || !dir) {
            panel.dispose();
            return;
          }
          Panel.revive(panel, runsHost, s.runId, dir);
        },
      }),
    );
  }
  try {
    manager.reattach(workspaceFolders());
  } catch (e) {
    log.warn(`re-attaching to running runs failed: ${String(e)}`);
  }

  const host: CommandHost = {
    context,
    log,
    runs: runsHost,
    client: () => client,
    restartServer: async () => {
      log.info('restarting the language server');
      const old = client;
      client = undefined;
      try {
        await old?.stop();
      } catch (e) {
        log.warn(`stopping the old server failed: ${String(e)}`);
      }
      await startClient();
      DerivativePanel.current?.onClientReady();
    },
  };

  context.subscriptions.push(
    ...registerCommands(host),
    vscode.workspace.registerTextDocumentContentProvider(CATALOGUE_SCHEME, catalogueProvider(context)),
    vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        DerivativePanel.revive(panel, host, state);
      },
    }),
    { dispose: () => DerivativePanel.current?.dispose() },
  );

  const ready = startClient().catch((e) => {
    log.error(`the language server failed to start: ${e instanceof Error ? e.stack : String(e)}`);
    void vscode.window.showErrorMessage('The Lossmith language server failed to start. See the "Lossmith" output.', 'Show Output').then((c) => {
      if (c) log.show();
    });
  });
  return { ready };
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) await c.stop();
}
