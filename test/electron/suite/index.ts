/// <reference types="vscode" />
/**
 * Runs inside VS Code's extension host (launched by ../electron.e2e.test.ts through
 * @vscode/test-electron): the extension under development activates on a `.loss` file, the
 * server publishes the error, hover and completion answer, and the preview command opens its
 * panel. Waits on conditions, never on fixed sleeps.
 */
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function run(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  const uri = vscode.Uri.file(path.join(folder.uri.fsPath, 'focal-typo.loss'));
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc);
  assert.equal(doc.languageId, 'loss');

  const ext = vscode.extensions.getExtension<{ ready: Promise<void> }>('lossmith.lossmith');
  assert.ok(ext, 'the extension is installed');
  const api = await ext.activate();
  await api.ready;

  const diags = await waitFor('diagnostics', () => {
    const d = vscode.languages.getDiagnostics(uri);
    return d.some((x) => x.message.includes('softplux')) ? d : undefined;
  });
  assert.ok(diags.some((d) => d.severity === vscode.DiagnosticSeverity.Error));

  const text = doc.getText();
  const logAt = doc.positionAt(text.indexOf('log(pt)') + 1);
  const hovers = await waitFor('a hover on log', async () => {
    const h = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, logAt);
    return h && h.length > 0 ? h : undefined;
  });
  const hoverText = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
  assert.match(hoverText, /logarithm/i);

  const end = doc.lineAt(3).range.end;
  const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', uri, end);
  const labels = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
  assert.ok(labels.includes('softmax'), `completion offers softmax: ${labels.slice(0, 20).join(', ')}`);

  await vscode.commands.executeCommand('lossmith.showDerivativePreview');
  await waitFor('the preview tab', () =>
    vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.label === 'Derivative Preview'),
  );
  const commands = await vscode.commands.getCommands(true);
  for (const c of ['lossmith.format', 'lossmith.insertCatalogueLoss', 'lossmith.openCatalogue']) assert.ok(commands.includes(c), c);
}
