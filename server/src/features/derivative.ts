/** The `lossmith/derivative` request: derivatives, the 1-D view, and the file's losses and params. */
import { lossReport, type LossStmt } from '../../../grammar/src/index';
import type { DerivativeParams, DerivativeResult, ParamInfo, LossInfo, CurveWire } from '../../../protocol/lsp';
import type { Analysis } from '../documents';
import { toOffset, toRange } from '../convert';

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** The loss named, else the loss under or nearest before the position, else the first. */
export function pickLoss(a: Analysis, params: DerivativeParams): LossStmt | undefined {
  const losses = a.model.losses.filter((l) => l.name);
  if (params.loss !== undefined) return losses.find((l) => l.name === params.loss);
  if (params.position) {
    const offset = toOffset(a.index, params.position);
    let best: LossStmt | undefined;
    for (const l of losses) if (l.range.start <= offset) best = l;
    if (best) return best;
  }
  return losses[0];
}

export function derivative(a: Analysis, params: DerivativeParams): DerivativeResult {
  const lossInfos: LossInfo[] = a.model.losses
    .filter((l) => l.name)
    .map((l) => ({ name: l.name, range: toRange(a.index, l.range), nameRange: toRange(a.index, l.nameRange) }));
  const paramInfos: ParamInfo[] = a.model.params
    .filter((p) => p.name)
    .map((p) => ({
      name: p.name,
      value: p.value,
      ...(p.bounds ? { lo: p.bounds.lo, hi: p.bounds.hi } : {}),
      range: toRange(a.index, p.range),
      nameRange: toRange(a.index, p.nameRange),
    }));
  const base: DerivativeResult = {
    uri: a.uri,
    version: a.version,
    loss: '',
    losses: lossInfos.map((l) => l.name),
    lossInfos,
    params: paramInfos,
    text: '',
    latex: '',
    derivatives: [],
    curve: null,
  };
  const loss = pickLoss(a, params);
  if (!loss) return { ...base, error: params.loss !== undefined ? `no loss named '${params.loss}'` : 'the file defines no loss' };
  const classes = clampInt(params.classes, 2, 10000, 10);
  const points = clampInt(params.points, 2, 2000, 199);
  const overrides: Record<string, number> = {};
  for (const [k, v] of Object.entries(params.params ?? {})) if (typeof v === 'number' && Number.isFinite(v)) overrides[k] = v;
  const report = lossReport(a.model, loss.name, { classes, points, params: overrides });
  const curve: CurveWire | null = report.curve
    ? {
        classes: report.curve.classes,
        pt: report.curve.pt,
        ...(report.curve.axes ? { axes: report.curve.axes } : {}),
        loss: report.curve.loss.map(finiteOrNull),
        gradTrue: report.curve.gradTrue ? report.curve.gradTrue.map(finiteOrNull) : null,
        gradOther: report.curve.gradOther ? report.curve.gradOther.map(finiteOrNull) : null,
      }
    : null;
  return {
    ...base,
    loss: loss.name,
    text: report.text,
    latex: report.latex,
    derivatives: report.derivatives.map((d) => ({ wrt: d.wrt, text: d.text, latex: d.latex })),
    curve,
    ...(report.error ? { error: report.error } : {}),
  };
}

function clampInt(v: unknown, lo: number, hi: number, dflt: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return dflt;
  return Math.max(lo, Math.min(hi, Math.floor(v)));
}
