/**
 * The evolution panel of an evolve run: see media/src/evolution. It describes the top-k losses
 * (LaTeX and curve, from the grammar) and runs the row actions: open a loss as a .loss file,
 * evaluate it against cross-entropy, export it.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { EVOLUTION_BODY } from '../../../media/src/evolution/body';
import { EVOLUTION_VIEW_TYPE, type FromRunWebview } from '../../../media/src/shared/run-messages';
import { describeLoss, EVOLVED_LOSS_NAME, lossFileText } from '../runs/describe-loss';
import { RunPanel, type RunPanelHost, type RunPanelKind } from '../runs/run-panel';
import { runPanelTitle } from '../runs/panel-title';

const KIND: RunPanelKind = {
  viewType: EVOLUTION_VIEW_TYPE,
  script: 'evolution',
  body: EVOLUTION_BODY,
  title: (id, label) => runPanelTitle('evolve', label, id),
};

export class EvolutionPanel extends RunPanel {
  static createOrShow(host: RunPanelHost, runId: string, dir: string): EvolutionPanel {
    return RunPanel.openPanel(KIND, runId, host, (panel) => new EvolutionPanel(panel, host, runId, dir));
  }

  static revive(panel: vscode.WebviewPanel, host: RunPanelHost, runId: string, dir: string): EvolutionPanel {
    return RunPanel.revivePanel(panel, host, (p) => new EvolutionPanel(p, host, runId, dir));
  }

  private constructor(panel: vscode.WebviewPanel, host: RunPanelHost, runId: string, dir: string) {
    super(panel, host, KIND, runId, dir);
  }

  protected async onPanelMessage(msg: FromRunWebview): Promise<void> {
    if (msg.type === 'describe') {
      this.postMessage({ type: 'losses', items: msg.exprs.map((e) => describeLoss(e)) });
      return;
    }
    if (msg.type !== 'lossAction') return;
    // The loss as a file: the run's best-*.loss when it has one, else a candidate file written
    // into the run folder (so evaluations and exports can name it).
    let file = msg.file ? this.fileInRun(msg.file) : undefined;
    let loss = 'candidate';
    if (!file) {
      file = path.join(this.dir, `candidate-${msg.id}.loss`);
      loss = EVOLVED_LOSS_NAME;
      if (!fs.existsSync(file)) fs.writeFileSync(file, lossFileText(msg.expr, [`Candidate #${msg.id} of Lossmith evolve run ${this.runId}`]));
    } else {
      const m = /^\s*loss\s+([A-Za-z_]\w*)\s*=/m.exec(fs.readFileSync(file, 'utf8'));
      if (m) loss = m[1];
    }
    const uri = vscode.Uri.file(file);
    switch (msg.action) {
      case 'open':
        await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One, preview: false });
        return;
      case 'evaluate':
        await vscode.commands.executeCommand('lossmith.evaluateLoss', uri, loss);
        return;
      case 'export':
        await vscode.commands.executeCommand('lossmith.exportLoss', uri, loss);
        return;
    }
  }
}
