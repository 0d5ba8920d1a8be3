/**
 * LaTeX and the 1-D curve of a loss expression as evolution events carry it (one line, the DSL's
 * expression syntax over `logits`, `p`, `y`), for the evolution panel's top-k table. Pure (the
 * grammar only): the client and the browser tests share it.
 */
import { checkText, lossReport } from '../../../grammar/src/index';
import { EVOLVED_LOSS_NAME } from '../../../protocol/evolve-events';
import type { LossDescription } from '../../../media/src/shared/run-messages';

export { EVOLVED_LOSS_NAME };

/** A `.loss` file's text for an evolved expression (what "Open as .loss" shows). */
export function lossFileText(expr: string, header: string[] = []): string {
  const name = EVOLVED_LOSS_NAME;
  return [...header.map((h) => `# ${h}`), `loss ${name} = ${expr.replace(/[\r\n]+/g, ' ')}`, ''].join('\n');
}

export function describeLoss(expr: string, classes = 10, points = 61): LossDescription {
  try {
    const { model, diagnostics } = checkText(lossFileText(expr), { integrity: false });
    const errors = diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) return { expr, latex: '', curve: null, error: errors.map((d) => d.message).join('; ') };
    const r = lossReport(model, EVOLVED_LOSS_NAME, { classes, points });
    const curve = r.curve ? { pt: r.curve.pt, loss: r.curve.loss.map((v) => (Number.isFinite(v) ? v : null)) } : null;
    return { expr, latex: r.latex, curve, ...(r.error ? { error: r.error } : {}) };
  } catch (e) {
    return { expr, latex: '', curve: null, error: e instanceof Error ? e.message : String(e) };
  }
}
