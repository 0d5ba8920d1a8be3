/**
 * The Getting Started walkthrough's commands: "New Loss File" (the sample loss as a file in the
 * workspace, so that evaluations, which train from a file on disk, can use it; untitled without
 * a folder) and "Open Getting Started Walkthrough".
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { LANGUAGE_ID } from './language-client';
import { freeLossName, SAMPLE_LOSS, WALKTHROUGH_ID } from './walkthrough-text';

export async function newLossFile(): Promise<vscode.TextEditor> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  let doc: vscode.TextDocument;
  if (folder?.scheme === 'file') {
    const file = path.join(folder.fsPath, freeLossName((n) => fs.existsSync(path.join(folder.fsPath, n))));
    fs.writeFileSync(file, SAMPLE_LOSS);
    doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  } else doc = await vscode.workspace.openTextDocument({ language: LANGUAGE_ID, content: SAMPLE_LOSS });
  // Beside the walkthrough when it has the focus.
  return vscode.window.showTextDocument(doc, { viewColumn: vscode.window.activeTextEditor ? vscode.ViewColumn.Active : vscode.ViewColumn.Beside, preview: false });
}

export function openWalkthrough(context: vscode.ExtensionContext): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#${WALKTHROUGH_ID}`, false);
}

/**
 * The .loss editor the user means: the active one; when neither a text editor nor a webview
 * panel has the focus (the walkthrough), a visible one.
 */
export function currentLossEditor(): vscode.TextEditor | undefined {
  const active = vscode.window.activeTextEditor;
  if (active) return active.document.languageId === LANGUAGE_ID ? active : undefined;
  if (vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof vscode.TabInputWebview) return undefined;
  return vscode.window.visibleTextEditors.find((e) => e.document.languageId === LANGUAGE_ID);
}
