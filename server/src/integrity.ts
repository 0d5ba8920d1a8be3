/**
 * The slow part of the diagnostics, the integrity check of each loss's curve, run loss by loss
 * in time slices so the server keeps answering other requests. The checker's own
 * `integrityDiagnostics` computes each loss (verdicts are cached by content inside grammar/,
 * so an edit re-computes only the losses it touches); the fast check plus these equals
 * `checkText(text)` exactly (a test checks it, also across random edits).
 *
 * Per document, the runner also remembers each loss's integrity diagnostics from the previous
 * run, keyed by the loss's source lines (with the line before it, where a suppression comment
 * may stand). While every param and let statement is unchanged, and the losses' names and
 * order too, a loss with the same lines has the same diagnostics, only moved: typing inside
 * one loss of a large file re-checks that loss alone, without even computing the grammar's
 * cache keys for the others.
 */
import { integrityDiagnostics, type CheckResult, type Diagnostic as GDiagnostic, type LossStmt } from '../../grammar/src/index';

export { INTEGRITY_CODES } from '../../grammar/src/index';

/** Merge integrity diagnostics into the fast ones in the checker's order (stable by range). */
export function mergeDiagnostics(fast: GDiagnostic[], integrity: GDiagnostic[]): GDiagnostic[] {
  if (integrity.length === 0) return fast;
  const all = [...fast, ...integrity];
  all.sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
  return all;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Memo {
  /** The params and lets, and the losses' names in order: what a loss's verdict can depend on besides its own lines. */
  env: string;
  /** Integrity diagnostics (ranges of the run that made them) by the loss's source lines. */
  byLines: Map<string, GDiagnostic[]>;
}

/** Everything but a loss's own text that its integrity diagnostics depend on. */
function environment(check: CheckResult, text: string): string {
  const parts: string[] = [];
  for (const s of check.model.program.statements) {
    parts.push(s.kind === 'Loss' ? `loss ${s.name}` : text.slice(s.range.start, s.range.end));
  }
  return parts.join('\u0000');
}

/** The loss's lines, from the start of the line before it to the end of its last line. */
function lossLines(text: string, loss: LossStmt): string {
  const lineStart = text.lastIndexOf('\n', loss.range.start - 1);
  const prevStart = lineStart <= 0 ? 0 : text.lastIndexOf('\n', lineStart - 1) + 1;
  const end = text.indexOf('\n', loss.range.end);
  return text.slice(prevStart, end < 0 ? text.length : end);
}

export class IntegrityRunner {
  /** Time slice before yielding to other messages, ms. */
  sliceMs = 15;
  private readonly memos = new Map<string, Memo>();
  /** Losses answered from the per-document memo and computed, so far (for tests and benchmarks). */
  readonly stats = { reused: 0, computed: 0 };

  /** Forget a document's memo (when it closes). */
  forget(doc: string): void {
    this.memos.delete(doc);
  }

  /** Synchronously: every diagnostic of the file (used by tests and as an oracle). */
  runSync(check: CheckResult, text: string): GDiagnostic[] {
    const extra: GDiagnostic[] = [];
    for (const loss of check.model.losses) extra.push(...integrityDiagnostics(text, check, loss));
    return mergeDiagnostics(check.diagnostics, extra);
  }

  /**
   * Every diagnostic of the file, in slices; resolves to undefined when `current()` turns false
   * (the document changed) before the work is done. With `doc`, losses whose lines and
   * environment are unchanged since the last complete run for `doc` reuse its diagnostics.
   */
  async run(check: CheckResult, text: string, current: () => boolean, doc?: string): Promise<GDiagnostic[] | undefined> {
    const extra: GDiagnostic[] = [];
    const env = doc === undefined ? '' : environment(check, text);
    const prev = doc === undefined ? undefined : this.memos.get(doc);
    const usable = prev !== undefined && prev.env === env;
    const byLines = new Map<string, GDiagnostic[]>();
    let sliceStart = Date.now();
    for (const loss of check.model.losses) {
      if (Date.now() - sliceStart >= this.sliceMs) {
        await yieldToEventLoop();
        if (!current()) return undefined;
        sliceStart = Date.now();
      }
      const key = doc === undefined ? '' : lossLines(text, loss);
      const old = usable ? prev.byLines.get(key) : undefined;
      let diags: GDiagnostic[];
      if (old) {
        // Integrity diagnostics sit on the loss's name: move them there.
        diags = old.map((d) => ({ ...d, range: { ...loss.nameRange } }));
        this.stats.reused++;
      } else {
        try {
          diags = integrityDiagnostics(text, check, loss);
        } catch {
          diags = []; // never let one loss take the diagnostics down
        }
        this.stats.computed++;
      }
      if (doc !== undefined && !byLines.has(key)) byLines.set(key, diags);
      extra.push(...diags);
    }
    if (doc !== undefined) this.memos.set(doc, { env, byLines });
    return mergeDiagnostics(check.diagnostics, extra);
  }
}
