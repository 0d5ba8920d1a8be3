/** The evaluation panel of a compare run (curves, final table, metadata): see media/src/evaluation. */
import * as vscode from 'vscode';
import { EVALUATION_BODY } from '../../../media/src/evaluation/body';
import { EVALUATION_VIEW_TYPE, type FromRunWebview } from '../../../media/src/shared/run-messages';
import { RunPanel, type RunPanelHost, type RunPanelKind } from '../runs/run-panel';
import { runPanelTitle } from '../runs/panel-title';

const KIND: RunPanelKind = {
  viewType: EVALUATION_VIEW_TYPE,
  script: 'evaluation',
  body: EVALUATION_BODY,
  title: (id, label) => runPanelTitle('compare', label, id),
};

export class EvaluationPanel extends RunPanel {
  static createOrShow(host: RunPanelHost, runId: string, dir: string): EvaluationPanel {
    return RunPanel.openPanel(KIND, runId, host, (panel) => new EvaluationPanel(panel, host, runId, dir));
  }

  static revive(panel: vscode.WebviewPanel, host: RunPanelHost, runId: string, dir: string): EvaluationPanel {
    return RunPanel.revivePanel(panel, host, (p) => new EvaluationPanel(p, host, runId, dir));
  }

  private constructor(panel: vscode.WebviewPanel, host: RunPanelHost, runId: string, dir: string) {
    super(panel, host, KIND, runId, dir);
  }

  protected async onPanelMessage(_msg: FromRunWebview): Promise<void> {
    // The evaluation page only sends ready and save (handled by RunPanel).
  }
}
