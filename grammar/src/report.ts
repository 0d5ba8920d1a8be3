/**
 * Everything a reader wants to know about one loss's derivatives, in one object: used by
 * `lossmith derive`, the language server's hover and `lossmith/derivative` request.
 */
import type { LossStmt } from './ast';
import { lossHasErrors } from './checker';
import { differentiate, type Wrt } from './derivative';
import { toLatex } from './latex';
import { TASKS } from './builtins';
import { printExpr } from './printer';
import { nameTypes, type Model } from './semantics';
import { curve, type Curve } from './view1d';

export interface DerivativeText {
  wrt: Wrt;
  text: string;
  latex: string;
}

export interface LossReport {
  loss: string;
  /** The loss itself. */
  text: string;
  latex: string;
  derivatives: DerivativeText[];
  curve?: Curve;
  error?: string;
}

export function derivativeText(model: Model, lossName: string, wrt: Wrt): DerivativeText {
  const d = differentiate(model, lossName, wrt);
  return { wrt, text: printExpr(d), latex: toLatex(d, { nameType: nameTypes(model) }) };
}

export function lossReport(
  model: Model,
  lossName: string,
  opts: { classes?: number; points?: number; params?: Record<string, number>; curve?: boolean; lo?: number; hi?: number } = {},
): LossReport {
  const loss: LossStmt | undefined = model.losses.find((l) => l.name === lossName);
  if (!loss) return { loss: lossName, text: '', latex: '', derivatives: [], error: `no loss named '${lossName}'` };
  const nt = nameTypes(model);
  if (lossHasErrors(loss.expr, model)) {
    // The formula still renders (unknown functions as operator names); no derivative or curve.
    return { loss: lossName, text: printExpr(loss.expr), latex: toLatex(loss.expr, { nameType: nt }), derivatives: [], error: `loss '${lossName}' has errors: fix them to see its derivative and curve` };
  }
  const report: LossReport = { loss: lossName, text: printExpr(loss.expr), latex: toLatex(loss.expr, { nameType: nt }), derivatives: [] };
  try {
    for (const wrt of TASKS[model.task].wrt) report.derivatives.push(derivativeText(model, lossName, wrt as Wrt));
    if (opts.curve !== false) report.curve = curve(model, lossName, { classes: opts.classes, points: opts.points, params: opts.params, lo: opts.lo, hi: opts.hi });
  } catch (e) {
    report.error = e instanceof Error ? e.message : String(e);
  }
  return report;
}
