/**
 * Starts the bundled language server (dist/server.js) over Node IPC and keeps it running: if
 * it dies, it is restarted with a message, up to a limit, after which the user can restart it
 * from the command palette.
 */
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type Message,
  type ServerOptions,
} from 'vscode-languageclient/node';

export const LANGUAGE_ID = 'loss';
/** Read-only catalogue documents (Open Catalogue) use this scheme. */
export const CATALOGUE_SCHEME = 'lossmith-catalogue';

/** Restarts allowed within `RESTART_WINDOW_MS` before giving up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 3 * 60 * 1000;

class RestartingErrorHandler implements ErrorHandler {
  private restarts: number[] = [];

  constructor(private readonly log: vscode.LogOutputChannel) {}

  error(error: Error, _message: Message | undefined, count: number | undefined): ErrorHandlerResult {
    this.log.error(`connection error: ${error.message}`);
    return { action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown };
  }

  closed(): CloseHandlerResult {
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    this.restarts.push(now);
    if (this.restarts.length > MAX_RESTARTS) {
      const message = `The Lossmith language server stopped ${MAX_RESTARTS + 1} times in the last 3 minutes and will not be restarted. See the "Lossmith" output for details.`;
      this.log.error(message);
      void vscode.window.showErrorMessage(message, 'Restart Server', 'Show Output').then((choice) => {
        if (choice === 'Restart Server') void vscode.commands.executeCommand('lossmith.restartServer');
        else if (choice === 'Show Output') this.log.show();
      });
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    const message = 'The Lossmith language server stopped unexpectedly and is being restarted.';
    this.log.warn(message);
    void vscode.window.showWarningMessage(message);
    return { action: CloseAction.Restart, handled: true };
  }
}

export function createLanguageClient(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const config = vscode.workspace.getConfiguration('lossmith');
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: LANGUAGE_ID },
      { scheme: 'untitled', language: LANGUAGE_ID },
      { scheme: CATALOGUE_SCHEME, language: LANGUAGE_ID },
    ],
    outputChannel: log,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    errorHandler: new RestartingErrorHandler(log),
    initializationOptions: {
      examplesDir: context.asAbsolutePath('examples'),
      lossmith: {
        inlayHints: { types: config.get<boolean>('inlayHints.types', false) },
        hover: { classes: config.get<number>('hover.classes', 10) },
      },
    },
    synchronize: { configurationSection: 'lossmith' },
  };
  return new LanguageClient('lossmith', 'Lossmith Language Server', serverOptions, clientOptions);
}
