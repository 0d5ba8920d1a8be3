/** The evaluation panel of a compare run (curves, final table, metadata): see media/src/evaluation. */
import * as vscode from 'vscode';
import { EVALUATION_BODY } from '../../../media/src/evaluation/body';
import { EVALUATION_VIEW_TYPE, type FromRunWebview } from '../../../media/src/shared/run-messages';
import { RunPanel, type RunPanelHost, type RunPanelKind } from '../runs/run-panel';

const KIND: RunPanelKind = {
  viewType: EVALUATION_VIEW_TYPE,
  script: 'evaluation',
  body: EVALUATION_BODY,
  title: (id, label) => `Evaluation: ${label || id}`,
};

export class EvaluationPanel extends RunPanel {
  static createOrShow(host: RunPanelHost, runId: string, dir: string): EvaluationPanel {
    const existing = RunPanel.find(KIND.viewType, runId);
    if (existing) {
      existing.reveal();
      return existing as EvaluationPanel;
    }
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    const panel = vscode.window.createWebviewPanel(KIND.viewType, KIND.title(runId, ''), { viewColumn: column, preserveFocus: true }, RunPanel.webviewOptions(host.context));
    return new EvaluationPanel(panel, host, runId, dir);
  }

  static revive(panel: vscode.WebviewPanel, host: RunPanelHost, runId: string, dir: string): EvaluationPanel {
    panel.webview.options = RunPanel.webviewOptions(host.context);
    return new EvaluationPanel(panel, host, runId, dir);
  }

  private constructor(panel: vscode.WebviewPanel, host: RunPanelHost, runId: string, dir: string) {
    super(panel, host, KIND, runId, dir);
  }

  protected async onPanelMessage(_msg: FromRunWebview): Promise<void> {
    // The evaluation page only sends ready and save (handled by RunPanel).
  }
}
