/**
 * Catalogue snippets for completion at the start of a statement: read from `examples/*.loss`
 * at run time when the folder exists, otherwise (and for names it lacks) built-in texts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkText } from '../../../grammar/src/index';

export interface CatalogueEntry {
  /** Label, e.g. `focal`. */
  name: string;
  /** One line: what it is (the first comment line of the file, or a built-in description). */
  description: string;
  /** The plain text. */
  text: string;
  /** The snippet (param defaults as placeholders). */
  snippet: string;
  source: 'examples' | 'builtin';
  /** The task its file declares (none: classification); its text and snippet leave the task line out. */
  task?: string;
}

/** Subfolders of the examples folder read too: other tasks' catalogues (examples/gan, examples/segmentation) and detection's (examples/detection). */
const EXAMPLE_SUBDIRS = ['', 'detection', 'gan', 'segmentation'];

const BUILTIN: { name: string; description: string; text: string }[] = [
  { name: 'cross_entropy', description: 'Cross-entropy', text: 'loss ce = -sum(y * log(p))' },
  { name: 'focal', description: 'Focal loss (Lin et al., 2017)', text: 'param gamma = 2 in [0, 5]\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)' },
  { name: 'label_smoothing', description: 'Cross-entropy with label smoothing (Szegedy et al., 2016)', text: 'param eps = 0.1 in [0, 0.5]\nlet q = (1 - eps) * y + eps / C\nloss label_smoothing = -sum(q * log(p))' },
  { name: 'bi_tempered', description: 'Bi-tempered logistic loss (Amid et al., 2019)', text: 'param t1 = 0.8 in [0, 0.99]\nparam t2 = 1.2 in [1, 4]\nlet q = tempered_softmax(logits, t2)\nloss bi_tempered = sum(y * (log_t(y, t1) - log_t(q, t1))) - sum(y^(2 - t1) - q^(2 - t1)) / (2 - t1)' },
  { name: 'poly1', description: 'Poly-1 loss (Leng et al., 2022)', text: 'param eps = 1 in [-1, 10]\nlet pt = sum(y * p)\nloss poly1 = -log(pt) + eps * (1 - pt)' },
  { name: 'taylor_ce', description: 'Taylor cross-entropy, order 3 (Feng et al., 2020)', text: 'let pt = sum(y * p)\nloss taylor_ce = (1 - pt) + (1 - pt)^2 / 2 + (1 - pt)^3 / 3' },
  { name: 'gce', description: 'Generalized cross-entropy (Zhang & Sabuncu, 2018)', text: 'param q = 0.7 in [0.01, 1]\nlet pt = sum(y * p)\nloss gce = (1 - pt^q) / q' },
  { name: 'sce', description: 'Symmetric cross-entropy (Wang et al., 2019)', text: 'param alpha = 0.1 in [0, 10]\nparam beta = 1 in [0, 10]\nlet ce = -sum(y * log(p))\nlet rce = -sum(p * log(clamp(y, 1e-4, 1)))\nloss sce = alpha * ce + beta * rce' },
  { name: 'mae', description: 'Mean absolute error on probabilities (Ghosh et al., 2017)', text: 'loss mae = sum(abs(y - p))' },
];

const escapeSnippet = (s: string): string => s.replace(/[\\$}]/g, (c) => '\\' + c);

/** Turn a `.loss` text into a snippet whose param defaults are tab stops. */
export function toSnippet(text: string): string {
  const check = checkText(text, { integrity: false });
  const stops = check.model.params
    .filter((p) => Number.isFinite(p.value))
    .map((p) => p.valueRange)
    .sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  stops.forEach((r, i) => {
    out += escapeSnippet(text.slice(at, r.start)) + '${' + (i + 1) + ':' + escapeSnippet(text.slice(r.start, r.end)).replace(/:/g, '\\:') + '}';
    at = r.end;
  });
  out += escapeSnippet(text.slice(at));
  return out.replace(/\s+$/, '') + '\n$0';
}

function describe(name: string, text: string): string {
  const first = /^\s*#\s*(.+)$/m.exec(text);
  return first ? first[1].trim() : name;
}

/** The catalogue: examples/*.loss (when present) first, then built-ins not shadowed by a file of the same name. */
export class Catalogue {
  private cache: { dir: string; mtime: number; entries: CatalogueEntry[] } | undefined;
  private readonly builtins: CatalogueEntry[] = BUILTIN.map((b) => ({ ...b, snippet: toSnippet(b.text), source: 'builtin' as const }));

  constructor(private readonly dirs: () => string[]) {}

  entries(): CatalogueEntry[] {
    const fromFiles = this.fromExamples();
    const names = new Set(fromFiles.map((e) => e.name));
    return [...fromFiles, ...this.builtins.filter((b) => !names.has(b.name))];
  }

  private fromExamples(): CatalogueEntry[] {
    for (const dir of this.dirs()) {
      let st: fs.Stats;
      try {
        st = fs.statSync(dir);
        if (!st.isDirectory()) continue;
      } catch {
        continue;
      }
      if (this.cache && this.cache.dir === dir && this.cache.mtime === st.mtimeMs) return this.cache.entries;
      const entries: CatalogueEntry[] = [];
      try {
        for (const sub of EXAMPLE_SUBDIRS) {
          const folder = path.join(dir, sub);
          if (sub && !fs.existsSync(folder)) continue;
          for (const f of fs.readdirSync(folder).filter((f) => f.endsWith('.loss')).sort()) {
            const whole = fs.readFileSync(path.join(folder, f), 'utf8');
            if (whole.length > 20000) continue;
            const task = /^task[ \t]+(\w+)[ \t]*$/m.exec(whole)?.[1];
            const text = task ? whole.replace(/^task[ \t]+\w+[ \t]*\r?\n/m, '') : whole;
            const name = f.replace(/\.loss$/, '').replace(/[^A-Za-z0-9_]+/g, '_');
            entries.push({ name, description: describe(name, text), text, snippet: toSnippet(text), source: 'examples', ...(task ? { task } : {}) });
          }
        }
      } catch {
        continue;
      }
      this.cache = { dir, mtime: st.mtimeMs, entries };
      return entries;
    }
    return [];
  }
}

/** Candidate examples folders: the configured one, else the package's own. */
export function defaultExampleDirs(configured: string | undefined): string[] {
  const dirs: string[] = [];
  if (configured) return [configured];
  // out/server/src -> package root
  dirs.push(path.resolve(__dirname, '..', '..', '..', '..', 'examples'));
  return dirs;
}
