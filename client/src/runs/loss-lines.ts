/** Where the code lenses go: each `loss NAME =` statement's line (pure; tested). */
export interface LossLine {
  name: string;
  line: number;
}

export function lossLines(text: string): LossLine[] {
  const out: LossLine[] = [];
  text.split(/\r?\n/).forEach((l, line) => {
    const m = /^\s*loss\s+([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(l);
    if (m) out.push({ name: m[1], line });
  });
  return out;
}
