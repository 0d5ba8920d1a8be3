/** Code lenses above each `loss NAME =`: "Evaluate vs CE | Derivative | Export". */
import * as vscode from 'vscode';
import { lossLines } from './runs/loss-lines';

export class LossCodeLensProvider implements vscode.CodeLensProvider {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.emitter.event;

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration('lossmith', doc.uri).get<boolean>('codeLens.enabled', true)) return [];
    const out: vscode.CodeLens[] = [];
    for (const { name, line } of lossLines(doc.getText())) {
      const range = new vscode.Range(line, 0, line, 0);
      out.push(
        new vscode.CodeLens(range, { title: 'Evaluate vs CE', tooltip: `Train ${name} and cross-entropy with the same seeds and compare`, command: 'lossmith.evaluateLoss', arguments: [doc.uri, name] }),
        new vscode.CodeLens(range, { title: 'Derivative', tooltip: `Show ${name} and its derivatives in the preview`, command: 'lossmith.previewLoss', arguments: [doc.uri, name] }),
        new vscode.CodeLens(range, { title: 'Export', tooltip: `Export ${name} to PyTorch, JAX or Keras`, command: 'lossmith.exportLoss', arguments: [doc.uri, name] }),
      );
    }
    return out;
  }

  refresh(): void {
    this.emitter.fire();
  }
}
