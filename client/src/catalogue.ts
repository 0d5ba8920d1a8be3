/**
 * The catalogue: the example losses shipped in the extension's `examples/` folder. Insert
 * Catalogue Loss copies one into the editor; Open Catalogue shows one read-only (a virtual
 * document under the `lossmith-catalogue:` scheme, so it gets every language feature but
 * cannot change the installed extension).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { CATALOGUE_SCHEME, LANGUAGE_ID } from './language-client';
import { describeExample, type CatalogueItem } from './catalogue-text';

export async function listCatalogue(context: vscode.ExtensionContext): Promise<CatalogueItem[]> {
  const dir = vscode.Uri.file(context.asAbsolutePath('examples'));
  let entries: [string, vscode.FileType][];
  try {
    entries = await vscode.workspace.fs.readDirectory(dir);
  } catch {
    return [];
  }
  const items: CatalogueItem[] = [];
  for (const [name, type] of entries.sort((a, b) => a[0].localeCompare(b[0]))) {
    if (type !== vscode.FileType.File || !name.endsWith('.loss')) continue;
    const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(dir, name));
    items.push(describeExample(name, new TextDecoder().decode(bytes)));
  }
  return items;
}

async function pick(context: vscode.ExtensionContext, placeHolder: string): Promise<CatalogueItem | undefined> {
  const items = await listCatalogue(context);
  if (items.length === 0) {
    void vscode.window.showWarningMessage('The Lossmith catalogue is empty (no examples/*.loss in the extension).');
    return undefined;
  }
  const chosen = await vscode.window.showQuickPick(
    items.map((it) => ({ label: it.name, description: it.file, detail: it.description, item: it })),
    { placeHolder, matchOnDescription: true, matchOnDetail: true },
  );
  return chosen?.item;
}

export async function insertCatalogueLoss(context: vscode.ExtensionContext): Promise<void> {
  const item = await pick(context, 'Insert a loss from the catalogue');
  if (!item) return;
  const editor = vscode.window.activeTextEditor;
  if (editor && editor.document.languageId === LANGUAGE_ID && editor.document.uri.scheme !== CATALOGUE_SCHEME) {
    const pos = editor.selection.active;
    const prefix = pos.character > 0 ? '\n' : '';
    await editor.insertSnippet(new vscode.SnippetString().appendText(prefix + item.body + '\n'), editor.selection);
    return;
  }
  const doc = await vscode.workspace.openTextDocument({ language: LANGUAGE_ID, content: item.text });
  await vscode.window.showTextDocument(doc);
}

export async function openCatalogue(context: vscode.ExtensionContext): Promise<void> {
  const item = await pick(context, 'Open a catalogue loss (read-only)');
  if (!item) return;
  const uri = vscode.Uri.from({ scheme: CATALOGUE_SCHEME, path: '/' + item.file });
  const doc = await vscode.workspace.openTextDocument(uri);
  if (doc.languageId !== LANGUAGE_ID) await vscode.languages.setTextDocumentLanguage(doc, LANGUAGE_ID);
  await vscode.window.showTextDocument(doc, { preview: true });
}

/** Serves `lossmith-catalogue:/name.loss` from the extension's examples folder. */
export function catalogueProvider(context: vscode.ExtensionContext): vscode.TextDocumentContentProvider {
  return {
    async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
      const name = path.posix.basename(uri.path);
      if (!/^[\w.-]+\.loss$/.test(name)) throw new Error(`not a catalogue file: ${uri.toString()}`);
      const bytes = await vscode.workspace.fs.readFile(vscode.Uri.file(context.asAbsolutePath(path.join('examples', name))));
      return new TextDecoder().decode(bytes);
    },
  };
}
