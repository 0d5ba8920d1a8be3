/**
 * "Lossmith: Export Loss": a loss of a .loss file as a self-contained Python module for PyTorch,
 * JAX or TensorFlow/Keras (grammar/src/export, the same code as `lossmith export`), opened in an
 * untitled Python editor or saved next to the file.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { checkText, exportSource, type ExportTarget } from '../../grammar/src/index';
import { currentLossEditor } from './walkthrough';

const TARGETS: { target: ExportTarget; label: string; detail: string }[] = [
  { target: 'pytorch', label: 'PyTorch', detail: 'torch: NAME(logits, target, **params) -> per-sample loss' },
  { target: 'jax', label: 'JAX', detail: 'jax.numpy, jit-compatible' },
  { target: 'keras', label: 'TensorFlow / Keras', detail: 'tf.math, usable as a Keras loss' },
];

/** Which loss of a document: the given name, the one under the cursor, or a pick. */
export async function pickLoss(doc: vscode.TextDocument, given: string | undefined, position: vscode.Position | undefined, placeHolder: string): Promise<string | undefined> {
  const { model } = checkText(doc.getText(), { integrity: false });
  const names = model.losses.map((l) => l.name);
  if (given && names.includes(given)) return given;
  if (!names.length) {
    void vscode.window.showErrorMessage(`Lossmith: ${path.basename(doc.uri.fsPath)} has no loss.`);
    return undefined;
  }
  if (names.length === 1) return names[0];
  if (position) {
    let best: string | undefined;
    for (const l of model.losses) {
      const line = doc.getText().slice(0, l.range.start).split('\n').length - 1;
      if (line <= position.line) best = l.name;
    }
    if (best) return best;
  }
  return vscode.window.showQuickPick(names, { placeHolder, title: 'Lossmith', ignoreFocusOut: true });
}

export async function resolveLossDocument(arg: unknown): Promise<{ doc: vscode.TextDocument; position?: vscode.Position } | undefined> {
  if (arg instanceof vscode.Uri) return { doc: await vscode.workspace.openTextDocument(arg) };
  if (typeof arg === 'string') return { doc: await vscode.workspace.openTextDocument(vscode.Uri.parse(arg)) };
  const editor = currentLossEditor();
  if (editor) return { doc: editor.document, position: editor.selection.active };
  const files = await vscode.workspace.findFiles('**/*.loss', '**/node_modules/**', 200);
  if (!files.length) {
    void vscode.window.showInformationMessage('Lossmith: open a .loss file first.');
    return undefined;
  }
  if (files.length === 1) return { doc: await vscode.workspace.openTextDocument(files[0]) };
  const pick = await vscode.window.showQuickPick(
    files.map((f) => ({ label: vscode.workspace.asRelativePath(f), uri: f })),
    { placeHolder: 'Which .loss file?', title: 'Lossmith', ignoreFocusOut: true },
  );
  return pick ? { doc: await vscode.workspace.openTextDocument(pick.uri) } : undefined;
}

export async function exportLoss(uriArg?: unknown, lossArg?: unknown): Promise<void> {
  const found = await resolveLossDocument(uriArg);
  if (!found) return;
  const { doc, position } = found;
  const loss = await pickLoss(doc, typeof lossArg === 'string' ? lossArg : undefined, position, 'Which loss to export?');
  if (!loss) return;
  const t = await vscode.window.showQuickPick(
    TARGETS.map((x) => ({ label: x.label, detail: x.detail, target: x.target })),
    // ignoreFocusOut: a walkthrough's button takes the focus back after starting the command.
    { placeHolder: `Export ${loss} to…`, title: 'Lossmith: Export Loss', ignoreFocusOut: true },
  );
  if (!t) return;
  let code: string;
  try {
    code = exportSource(doc.getText(), loss, { target: t.target, file: path.basename(doc.uri.fsPath) }).code;
  } catch (e) {
    void vscode.window.showErrorMessage(`Lossmith: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const where = await vscode.window.showQuickPick(
    [
      { label: 'Open in an editor', detail: 'an untitled Python file', save: false },
      { label: 'Save as…', detail: `${loss}_${t.target}.py next to the .loss file`, save: true },
    ],
    { placeHolder: 'Open or save the module?', title: 'Lossmith: Export Loss', ignoreFocusOut: true },
  );
  if (!where) return;
  if (where.save && doc.uri.scheme === 'file') {
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(path.dirname(doc.uri.fsPath), `${loss}_${t.target}.py`)), filters: { Python: ['py'] } });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, Buffer.from(code, 'utf8'));
    await vscode.window.showTextDocument(target, { preview: false });
    return;
  }
  const out = await vscode.workspace.openTextDocument({ language: 'python', content: code });
  await vscode.window.showTextDocument(out, { viewColumn: vscode.ViewColumn.Beside, preview: false });
}
