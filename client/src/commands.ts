/**
 * Command registrations: one handler per id of `COMMAND_IDS` (a `Record`, so a command listed
 * without a handler fails to compile). The run commands come from `runs/run-commands.ts`.
 */
import * as vscode from 'vscode';
import { insertCatalogueLoss, openCatalogue } from './catalogue';
import { COMMAND_IDS, type CommandId } from './command-ids';
import { LANGUAGE_ID } from './language-client';
import { exportLoss } from './export-command';
import { DerivativePanel, type PanelHost } from './panels/derivative-panel';
import { runCommandHandlers, type RunCommandsHost } from './runs/run-commands';
import { QUEUE_PASSWORD_SECRET } from './runs/queue-settings';
import { newLossFile, openWalkthrough } from './walkthrough';

export interface CommandHost extends PanelHost {
  restartServer(): Promise<void>;
  runs: RunCommandsHost;
}


async function formatActive(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== LANGUAGE_ID) {
    void vscode.window.showInformationMessage('Lossmith: Format works on a .loss file: open one first.');
    return;
  }
  await vscode.commands.executeCommand('editor.action.formatDocument');
}

export function registerCommands(host: CommandHost): vscode.Disposable[] {
  const runs = runCommandHandlers(host.runs);
  const handlers: Record<CommandId, (...args: unknown[]) => unknown> = {
    'lossmith.showDerivativePreview': () => DerivativePanel.createOrShow(host),
    'lossmith.format': formatActive,
    'lossmith.insertCatalogueLoss': () => insertCatalogueLoss(host.context),
    'lossmith.openCatalogue': () => openCatalogue(host.context),
    'lossmith.restartServer': () => host.restartServer(),
    'lossmith.showOutput': () => host.log.show(true),
    'lossmith.evaluateLoss': runs['lossmith.evaluateLoss'],
    'lossmith.startEvolution': runs['lossmith.startEvolution'],
    'lossmith.evaluateRunConfig': runs['lossmith.evaluateRunConfig'],
    'lossmith.stopRun': runs['lossmith.stopRun'],
    'lossmith.showRuns': runs['lossmith.showRuns'],
    'lossmith.refreshRuns': runs['lossmith.refreshRuns'],
    'lossmith.openRun': runs['lossmith.openRun'],
    'lossmith.resumeRun': runs['lossmith.resumeRun'],
    'lossmith.deleteRun': runs['lossmith.deleteRun'],
    'lossmith.revealRun': runs['lossmith.revealRun'],
    'lossmith.openBestLoss': runs['lossmith.openBestLoss'],
    'lossmith.compareRuns': runs['lossmith.compareRuns'],
    'lossmith.previewLoss': runs['lossmith.previewLoss'],
    'lossmith.exportLoss': exportLoss,
    'lossmith.newLossFile': newLossFile,
    'lossmith.openWalkthrough': () => openWalkthrough(host.context),
    'lossmith.setQueuePassword': () => setQueuePassword(host.context),
  };
  return COMMAND_IDS.map((id) => vscode.commands.registerCommand(id, handlers[id]));
}

/** Asks for the job queue's Redis password and keeps it in VS Code's secret storage (empty: forget it). */
async function setQueuePassword(context: vscode.ExtensionContext): Promise<void> {
  const pw = await vscode.window.showInputBox({
    title: 'Lossmith: Job Queue Password',
    prompt: "The Redis password of the queue in the lossmith.queue setting. Kept in VS Code's secret storage; runs get it in their environment, never in a file. Leave empty to forget it.",
    password: true,
    ignoreFocusOut: true,
  });
  if (pw === undefined) return;
  if (pw === '') await context.secrets.delete(QUEUE_PASSWORD_SECRET);
  else await context.secrets.store(QUEUE_PASSWORD_SECRET, pw);
  void vscode.window.showInformationMessage(pw === '' ? 'Lossmith: the job queue password was forgotten.' : 'Lossmith: the job queue password is stored.');
}
