/**
 * Command registrations: one handler per id of `COMMAND_IDS` (a `Record`, so a command listed
 * without a handler fails to compile). Run commands (evaluation, evolution) will join this
 * table when the run manager lands, as a `runs` module beside the catalogue.
 */
import * as vscode from 'vscode';
import { insertCatalogueLoss, openCatalogue } from './catalogue';
import { COMMAND_IDS, type CommandId } from './command-ids';
import { LANGUAGE_ID } from './language-client';
import { DerivativePanel, type PanelHost } from './panels/derivative-panel';

export interface CommandHost extends PanelHost {
  restartServer(): Promise<void>;
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
  const handlers: Record<CommandId, () => unknown> = {
    'lossmith.showDerivativePreview': () => DerivativePanel.createOrShow(host),
    'lossmith.format': formatActive,
    'lossmith.insertCatalogueLoss': () => insertCatalogueLoss(host.context),
    'lossmith.openCatalogue': () => openCatalogue(host.context),
    'lossmith.restartServer': () => host.restartServer(),
    'lossmith.showOutput': () => host.log.show(true),
  };
  return COMMAND_IDS.map((id) => vscode.commands.registerCommand(id, handlers[id]));
}
