/** Formatting and export helpers shared by the run panels (pure: tested without a DOM). */

/** An accuracy fraction as a percentage with 2 decimals ('—' when unknown). */
export function pct(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(digits)}%`;
}

/** A difference of fractions in percentage points, signed. */
export function pp(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const s = (x * 100).toFixed(digits);
  return `${x > 0 ? '+' : ''}${s} pp`;
}

/** A p-value: 3 significant digits, '< 0.001' below. */
export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  if (p < 0.001) return '< 0.001';
  return p.toPrecision(2);
}

export function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return String(Number(x.toFixed(digits)));
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** RFC 4180 CSV: fields with a comma, quote or newline are quoted; lines end with CRLF. */
export function toCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  const field = (v: string | number | null): string => {
    const s = v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r: ReadonlyArray<string | number | null>) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

export interface SvgSeries {
  label: string;
  color: string;
  y: (number | null)[];
  dash?: boolean;
  /** Draw points only (scatter). */
  points?: boolean;
  /** A band drawn under the line: [lower, upper] per x. */
  band?: { lo: (number | null)[]; hi: (number | null)[] };
}

export interface SvgChart {
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: SvgSeries[];
  width?: number;
  height?: number;
  foreground?: string;
  background?: string;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmtTick = (v: number): string => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-2) ? v.toExponential(1) : String(Number(v.toPrecision(3))));

function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** A self-contained SVG of a line/scatter chart (the "Export SVG" of the panels). */
export function chartSvg(c: SvgChart): string {
  const W = c.width ?? 800;
  const H = c.height ?? 440;
  const m = { l: 64, r: 16, t: 36, b: 70 };
  const fg = c.foreground ?? '#333333';
  const bg = c.background ?? '#ffffff';
  const ys: number[] = [];
  for (const s of c.series) {
    for (const v of s.y) if (v !== null && Number.isFinite(v)) ys.push(v);
    if (s.band) for (const v of [...s.band.lo, ...s.band.hi]) if (v !== null && Number.isFinite(v)) ys.push(v);
  }
  const xs = c.x.filter(Number.isFinite);
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (x1 === x0) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number): number => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number): number => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const f = (v: number): string => v.toFixed(1);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<title>${esc(c.title)}</title>`);
  parts.push(`<rect width="${W}" height="${H}" fill="${esc(bg)}"/>`);
  parts.push(`<text x="${m.l}" y="22" fill="${esc(fg)}" font-size="14" font-weight="bold">${esc(c.title)}</text>`);
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${f(py(t))}" y2="${f(py(t))}" stroke="${esc(fg)}" stroke-opacity="0.15"/>`);
    parts.push(`<text x="${m.l - 6}" y="${f(py(t) + 4)}" fill="${esc(fg)}" text-anchor="end">${fmtTick(t)}</text>`);
  }
  for (const t of ticks(x0, x1)) {
    parts.push(`<line x1="${f(px(t))}" x2="${f(px(t))}" y1="${m.t}" y2="${H - m.b}" stroke="${esc(fg)}" stroke-opacity="0.1"/>`);
    parts.push(`<text x="${f(px(t))}" y="${H - m.b + 16}" fill="${esc(fg)}" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  parts.push(`<text x="${f((m.l + W - m.r) / 2)}" y="${H - m.b + 34}" fill="${esc(fg)}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${f((m.t + H - m.b) / 2)}) rotate(-90)" fill="${esc(fg)}" text-anchor="middle">${esc(c.yLabel)}</text>`);
  const path = (ys2: (number | null)[]): string => {
    let d = '';
    let pen = false;
    ys2.forEach((y, i) => {
      if (y === null || !Number.isFinite(y) || !Number.isFinite(c.x[i])) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${f(px(c.x[i]))},${f(py(y))}`;
      pen = true;
    });
    return d;
  };
  for (const s of c.series) {
    if (s.band) {
      const idx = c.x.map((_, i) => i).filter((i) => s.band!.lo[i] !== null && s.band!.hi[i] !== null);
      if (idx.length > 1) {
        const up = idx.map((i) => `${f(px(c.x[i]))},${f(py(s.band!.hi[i] as number))}`);
        const down = idx.reverse().map((i) => `${f(px(c.x[i]))},${f(py(s.band!.lo[i] as number))}`);
        parts.push(`<polygon points="${[...up, ...down].join(' ')}" fill="${esc(s.color)}" fill-opacity="0.15"/>`);
      }
    }
    if (s.points) {
      s.y.forEach((y, i) => {
        if (y !== null && Number.isFinite(y) && Number.isFinite(c.x[i])) parts.push(`<circle cx="${f(px(c.x[i]))}" cy="${f(py(y))}" r="3" fill="${esc(s.color)}" fill-opacity="0.7"/>`);
      });
    } else {
      parts.push(`<path d="${path(s.y)}" fill="none" stroke="${esc(s.color)}" stroke-width="2"${s.dash ? ' stroke-dasharray="5 4"' : ''}/>`);
    }
  }
  // Legend under the x label.
  let lx = m.l;
  const ly = H - 16;
  for (const s of c.series) {
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="4" fill="${esc(s.color)}"/>`);
    parts.push(`<text x="${lx + 18}" y="${ly}" fill="${esc(fg)}">${esc(s.label)}</text>`);
    lx += 26 + s.label.length * 7;
  }
  parts.push('</svg>');
  return parts.join('\n');
}
