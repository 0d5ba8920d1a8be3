/**
 * The derivative preview's view model: everything the page shows, computed from a validated
 * message without touching the DOM (so it is tested in plain Node).
 */
import type { CurveWire, DerivativeResult, ParamInfo } from '../../../protocol/lsp';

export interface SliderModel {
  name: string;
  min: number;
  max: number;
  step: number;
  value: number;
  /** The file's value (what Reset returns to). */
  defaultValue: number;
  /** True when the panel overrides the file's value. */
  overridden: boolean;
  /** False when the file gives no range and the slider's range is a guess around the value. */
  bounded: boolean;
}

export interface MathModel {
  /** Label shown before the formula, e.g. `L`, `∂L/∂z`. */
  label: string;
  /** Accessible description. */
  description: string;
  latex: string;
  text: string;
}

export interface ChartModel {
  /** uPlot's aligned data: x (pt), loss, dL/dz_true, dL/dz_other. */
  data: [number[], (number | null)[], (number | null)[], (number | null)[]];
  hasGradTrue: boolean;
  hasGradOther: boolean;
  lossRange: [number, number];
  gradRange: [number, number];
  classes: number;
  /** What the x axis and the two gradients are: pt and dL/dz (true, other class), or a GAN file's D(G(z)) and dL/d d_fake, dL/d d_real. */
  labels: { x: string; xLong: string; grad: string; gradTrue: string; gradOther: string };
  /** The labels are the task's own (task gan, segmentation), not classification's. */
  own: boolean;
}

export interface PreviewModel {
  title: string;
  loss: string;
  losses: string[];
  math: MathModel[];
  sliders: SliderModel[];
  chart: ChartModel | null;
  error?: string;
  classes: number;
  /** One sentence for screen readers describing the plot. */
  summary: string;
}

/** A step of the form {1, 2, 5}·10^k giving about `n` steps over `span`. */
export function niceStep(span: number, n = 200): number {
  if (!(span > 0) || !Number.isFinite(span)) return 0.01;
  const raw = span / n;
  const k = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / k;
  const f = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
  return f * k;
}

/** Round to the precision of `step` (avoids 0.30000000000000004 in labels and messages). */
export function roundToStep(v: number, step: number): number {
  if (!(step > 0)) return v;
  const decimals = Math.max(0, Math.min(12, -Math.floor(Math.log10(step)) + 1));
  return Number((Math.round(v / step) * step).toFixed(decimals));
}

/** Slider for a param: its declared range, or (without one) a range around its value. */
export function sliderFor(p: ParamInfo, override: number | undefined): SliderModel {
  const dflt = Number.isFinite(p.value) ? p.value : 0;
  const hasLo = typeof p.lo === 'number' && Number.isFinite(p.lo);
  const hasHi = typeof p.hi === 'number' && Number.isFinite(p.hi);
  const spread = Math.max(1, Math.abs(dflt));
  let min = hasLo ? (p.lo as number) : dflt - 2 * spread;
  let max = hasHi ? (p.hi as number) : dflt + 2 * spread;
  if (hasLo && !hasHi) max = Math.max(min + 1, dflt + 2 * spread);
  if (hasHi && !hasLo) min = Math.min(max - 1, dflt - 2 * spread);
  if (!(max > min)) max = min + 1;
  const step = niceStep(max - min);
  const value = override !== undefined && Number.isFinite(override) ? Math.min(max, Math.max(min, override)) : Math.min(max, Math.max(min, dflt));
  return { name: p.name, min, max, step, value, defaultValue: dflt, overridden: override !== undefined, bounded: hasLo && hasHi };
}

/** Short display of a number: up to 4 significant digits, no trailing zeros. */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-4) return v.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(4)));
}

function finite(xs: (number | null)[] | null | undefined): number[] {
  return (xs ?? []).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i];
}

/**
 * A y range that shows the shape of the curve: from the data's min to max, but when a few
 * points near pt -> 0 or 1 shoot off (−log pt, 1/pt), clip at the 2nd/98th percentile
 * so the rest stays readable. Always contains 0 when the data crosses it, never empty.
 */
export function robustRange(series: ((number | null)[] | null | undefined)[]): [number, number] {
  const vals = series.flatMap(finite).sort((a, b) => a - b);
  if (vals.length === 0) return [0, 1];
  let lo = vals[0];
  let hi = vals[vals.length - 1];
  const qlo = quantile(vals, 0.02);
  const qhi = quantile(vals, 0.98);
  const span = qhi - qlo;
  if (span > 0) {
    if (qlo - lo > 3 * span) lo = qlo - 0.5 * span;
    if (hi - qhi > 3 * span) hi = qhi + 0.5 * span;
  }
  if (lo > 0 && lo < 0.25 * hi) lo = 0;
  if (hi < 0 && hi > 0.25 * lo) hi = 0;
  if (hi - lo < 1e-12) {
    const pad = Math.max(1e-6, Math.abs(hi) * 0.1);
    return [lo - pad, hi + pad];
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

export function chartModel(curve: CurveWire | null): ChartModel | null {
  if (!curve || curve.pt.length === 0) return null;
  const n = curve.pt.length;
  const nulls = (): (number | null)[] => new Array<number | null>(n).fill(null);
  const gradTrue = curve.gradTrue ?? nulls();
  const gradOther = curve.gradOther ?? nulls();
  return {
    data: [curve.pt.slice(), curve.loss.slice(), gradTrue.slice(), gradOther.slice()],
    hasGradTrue: curve.gradTrue !== null,
    hasGradOther: curve.gradOther !== null,
    lossRange: robustRange([curve.loss]),
    gradRange: robustRange([curve.gradTrue, curve.gradOther]),
    classes: curve.classes,
    labels: curve.axes
      ? { ...curve.axes }
      : { x: 'pt', xLong: 'true-class probability pt', grad: '∂L/∂z', gradTrue: '∂L/∂z (true class)', gradOther: '∂L/∂z (other class)' },
    own: curve.axes !== undefined,
  };
}

/** Value nearest to pt = x on the curve (for the keyboard cursor and the summary). */
export function nearestIndex(pt: number[], x: number): number {
  let best = 0;
  for (let i = 1; i < pt.length; i++) if (Math.abs(pt[i] - x) < Math.abs(pt[best] - x)) best = i;
  return best;
}

function describeCurve(c: ChartModel | null, loss: string): string {
  if (!c) return `No curve for ${loss || 'this file'}.`;
  const [pt, l, g] = c.data;
  const at = (x: number): string => {
    const i = nearestIndex(pt, x);
    return `${c.labels.x} ${formatNumber(pt[i])}: loss ${formatNumber(l[i])}` + (c.hasGradTrue ? `, gradient ${formatNumber(g[i])}` : '');
  };
  const against = c.own ? c.labels.xLong : `the true-class probability pt for ${c.classes} classes`;
  return `Plot of ${loss} against ${against}. ${at(0.1)}; ${at(0.5)}; ${at(0.9)}.`;
}

export function previewModel(result: DerivativeResult, fileName: string, classes: number, overrides: Record<string, number>): PreviewModel {
  const math: MathModel[] = [];
  if (result.latex) math.push({ label: 'L', description: `Loss ${result.loss}`, latex: result.latex, text: result.text });
  for (const d of result.derivatives) {
    if (d.wrt === 'logits') math.push({ label: '∂L/∂z', description: 'Derivative with respect to the logits z', latex: d.latex, text: d.text });
    else if (d.wrt === 'p') math.push({ label: '∂L/∂p', description: 'Derivative with respect to the probabilities p', latex: d.latex, text: d.text });
    else if (d.wrt === 'd_fake') math.push({ label: '∂L/∂d_fake', description: "Derivative with respect to the discriminator's output on generated samples", latex: d.latex, text: d.text });
    else math.push({ label: '∂L/∂d_real', description: "Derivative with respect to the discriminator's output on real samples", latex: d.latex, text: d.text });
  }
  const chart = chartModel(result.curve);
  return {
    title: fileName,
    loss: result.loss,
    losses: result.losses.slice(),
    math,
    sliders: result.params.map((p) => sliderFor(p, overrides[p.name])),
    chart,
    ...(result.error ? { error: result.error } : {}),
    classes,
    summary: describeCurve(chart, result.loss),
  };
}
