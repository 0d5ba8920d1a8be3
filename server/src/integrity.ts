/**
 * The slow part of the diagnostics, the integrity check of each loss's curve, run loss by loss
 * in time slices so the server keeps answering other requests. The checker's own
 * `integrityDiagnostics` computes each loss (verdicts are cached by content inside grammar/,
 * so an edit re-computes only the losses it touches); the fast check plus these equals
 * `checkText(text)` exactly (a test checks it).
 */
import { integrityDiagnostics, type CheckResult, type Diagnostic as GDiagnostic } from '../../grammar/src/index';

export { INTEGRITY_CODES } from '../../grammar/src/index';

/** Merge integrity diagnostics into the fast ones in the checker's order (stable by range). */
export function mergeDiagnostics(fast: GDiagnostic[], integrity: GDiagnostic[]): GDiagnostic[] {
  if (integrity.length === 0) return fast;
  const all = [...fast, ...integrity];
  all.sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
  return all;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class IntegrityRunner {
  /** Time slice before yielding to other messages, ms. */
  sliceMs = 15;

  /** Synchronously: every diagnostic of the file (used by tests and as an oracle). */
  runSync(check: CheckResult, text: string): GDiagnostic[] {
    const extra: GDiagnostic[] = [];
    for (const loss of check.model.losses) extra.push(...integrityDiagnostics(text, check, loss));
    return mergeDiagnostics(check.diagnostics, extra);
  }

  /**
   * Every diagnostic of the file, in slices; resolves to undefined when `current()` turns false
   * (the document changed) before the work is done.
   */
  async run(check: CheckResult, text: string, current: () => boolean): Promise<GDiagnostic[] | undefined> {
    const extra: GDiagnostic[] = [];
    let sliceStart = Date.now();
    for (const loss of check.model.losses) {
      if (Date.now() - sliceStart >= this.sliceMs) {
        await yieldToEventLoop();
        if (!current()) return undefined;
        sliceStart = Date.now();
      }
      try {
        extra.push(...integrityDiagnostics(text, check, loss));
      } catch {
        // never let one loss take the diagnostics down
      }
    }
    return mergeDiagnostics(check.diagnostics, extra);
  }
}
