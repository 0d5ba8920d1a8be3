/**
 * Hover: builtins (signature and doc), inputs, params and lets (definition and type), losses
 * (simplified derivatives and a small table of the 1-D view), keywords.
 */
import { Hover, MarkupKind, type Position } from 'vscode-languageserver';
import { anyInputSpec, curve, derivativeText, printExpr, printStatement, TASKS, type LossStmt, type Wrt } from '../../../grammar/src/index';
import type { Analysis } from '../documents';
import { toOffset, toRange } from '../convert';
import { builtinMarkdown, fmt, inputMarkdown, KEYWORD_DOCS, plain } from './docs';
import { keywordAt } from './tokens';

export interface HoverOptions {
  classes: number;
  markdown: boolean;
}

export function hover(a: Analysis, pos: Position, opts: HoverOptions): Hover | null {
  const offset = toOffset(a.index, pos);
  const md = hoverMarkdown(a, offset, opts);
  if (!md) return null;
  return { contents: { kind: opts.markdown ? MarkupKind.Markdown : MarkupKind.PlainText, value: opts.markdown ? md.value : plain(md.value) }, range: toRange(a.index, md.range) };
}

function hoverMarkdown(a: Analysis, offset: number, opts: HoverOptions): { value: string; range: { start: number; end: number } } | undefined {
  const o = a.occurrenceAt(offset);
  if (!o) {
    const kw = keywordAt(a, offset);
    if (kw) return { value: '```lossmith\n' + kw.text + '\n```\n\n' + KEYWORD_DOCS[kw.text], range: kw.range };
    return undefined;
  }
  switch (o.kind) {
    case 'call': {
      const v = builtinMarkdown(o.name, o.call.args.length);
      return v ? { value: v, range: o.range } : undefined;
    }
    case 'unresolved': {
      const v = builtinMarkdown(o.name);
      return v ? { value: v, range: o.range } : undefined;
    }
    case 'reference':
    case 'definition': {
      const sym = o.symbol;
      if (sym.kind === 'input') {
        const v = inputMarkdown(o.name);
        return v ? { value: v, range: o.range } : undefined;
      }
      const stmt = o.kind === 'definition' ? o.stmt : sym.stmt;
      if (!stmt) return undefined;
      if (stmt.kind === 'Loss') return { value: lossMarkdown(a, stmt, opts.classes), range: o.range };
      const type = sym.type ?? 'unknown';
      const what = stmt.kind === 'Param' ? 'param' : 'let';
      const lines = ['```lossmith', printStatement(stmt), '```', '', `(${what}) \`${stmt.name}\`: ${type}`];
      if (stmt.kind === 'Param') {
        lines.push('', `Default ${fmt(stmt.value)}${stmt.bounds ? `, range [${fmt(stmt.bounds.lo)}, ${fmt(stmt.bounds.hi)}]` : ', no range given'}.`);
      }
      const uses = a.model.references.filter((r) => r.symbol === sym).length;
      lines.push('', `Used ${uses} time${uses === 1 ? '' : 's'}.`);
      return { value: lines.join('\n'), range: o.range };
    }
  }
}

/** Markdown for a loss: its definition, derivatives, and the 1-D view at pt = 0.1, 0.5, 0.9. */
export function lossMarkdown(a: Analysis, loss: LossStmt, classes: number): string {
  const key = `hover:loss:${loss.nameRange.start}:${classes}`;
  const cached = a.memo.get(key);
  if (typeof cached === 'string') return cached;
  const lines = ['```lossmith', `loss ${loss.name} = ${printExpr(loss.expr)}`, '```'];
  const type = a.model.types.get(loss.expr);
  const hasErrors = a.check.diagnostics.some((d) => d.severity === 'error' && d.range.start >= loss.range.start && d.range.end <= loss.range.end);
  if (type !== 'scalar' || hasErrors) {
    lines.push('', hasErrors ? '*The loss has errors: no derivative.*' : `*The loss is ${type ?? 'ill-typed'}: no derivative.*`);
  } else {
    try {
      const wrts = TASKS[a.model.task].wrt as readonly Wrt[];
      for (const wrt of wrts) lines.push('', `**∂L/∂${wrt}** = \`` + derivativeText(a.model, loss.name, wrt).text + '`');
      const c = curve(a.model, loss.name, { classes, points: 3, lo: 0.1, hi: 0.9 });
      const x = c.axes ? c.axes.x : 'pt';
      lines.push('', `| ${x} | L | ${c.axes ? c.axes.gradTrue : '∂L/∂z_true'} |`, `|---:|---:|---:|`);
      for (let i = 0; i < c.pt.length; i++) lines.push(`| ${fmt(c.pt[i])} | ${fmt(c.loss[i])} | ${fmt(c.gradTrue ? c.gradTrue[i] : NaN)} |`);
      lines.push(
        '',
        a.model.task === 'gan'
          ? `*D(G(z)) = sigmoid(d_fake); d_real = ${fmt(anyInputSpec('d_real')!.view!)} (D(x) = ${fmt(1 / (1 + Math.exp(-anyInputSpec('d_real')!.view!)))}), params at their defaults.*`
          : a.model.task === 'segmentation'
            ? `*${c.axes!.xLong}; the other classes share 1 − pt; params at their defaults.*`
            : `*C = ${c.classes}, params at their defaults; the other classes share 1 − pt.*`,
      );
    } catch (e) {
      lines.push('', `*No derivative: ${e instanceof Error ? e.message : String(e)}*`);
    }
  }
  const md = lines.join('\n');
  a.memo.set(key, md);
  return md;
}
