/**
 * Command registrations. Every command the extension contributes is registered here, in one
 * table, so package.json's `contributes.commands` and this module can be checked against each
 * other (test/client/manifest.test.ts). Run commands (evaluation, evolution) will join this
 * table when the run manager lands.
 */
import * as vscode from 'vscode';
import { insertCatalogueLoss, openCatalogue } from './catalogue';
import { LANGUAGE_ID } from './language-client';
import { DerivativePanel, type PanelHost } from './panels/derivative-panel';

export interface CommandHost extends PanelHost {
  restartServer(): Promise<void>;
}

export const COMMAND_IDS = [
  'lossmith.showDerivativePreview',
  'lossmith.format',
  'lossmith.insertCatalogueLoss',
  'lossmith.openCatalogue',
  'lossmith.restartServer',
  'lossmith.showOutput',
] as const;
export type CommandId = (typeof COMMAND_IDS)[number];

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
