/**
 * uPlot's live legend shows every series with a placeholder value ("pt: – loss: –") until the
 * pointer is on the chart. With this hook the chart's root carries `legend-idle` while no point is
 * under the pointer, and base.css then shows the series' names only (values on hover).
 */
import type uPlot from 'uplot';

export function markLegendIdle(u: uPlot): void {
  u.root.classList.toggle('legend-idle', u.cursor.idx == null);
}

/** The hooks to add to a chart's options. */
export const idleLegendHooks = (): Pick<uPlot.Hooks.Arrays, 'ready' | 'setLegend'> => ({ ready: [markLegendIdle], setLegend: [markLegendIdle] });
