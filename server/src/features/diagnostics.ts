/**
 * Diagnostics as the user types: debounced after changes, at once on open. The fast part
 * (everything but the integrity check) is available at once; the full set follows when the
 * integrity check is done. Push mode publishes once when the full set is ready within
 * `slowMs`, else the fast part first and the full set after. Every completed analysis is
 * announced with `lossmith/analysisChanged`.
 */
import type { Diagnostic as GDiagnostic } from '../../../grammar/src/index';
import type { Analysis, DocumentStore } from '../documents';

export interface DiagnosticsSink {
  publish(a: Analysis, diagnostics: GDiagnostic[]): void;
  analysed(a: Analysis): void;
  log(message: string): void;
}

export class DiagnosticsScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly done = new Map<string, number>();
  /** Publish the fast diagnostics first when the full set takes longer than this. */
  slowMs = 100;

  constructor(
    private readonly store: DocumentStore,
    private readonly sink: DiagnosticsSink,
    private readonly debounceMs: number,
  ) {}

  opened(uri: string): void {
    this.schedule(uri, 0);
  }

  changed(uri: string): void {
    this.schedule(uri, this.debounceMs);
  }

  closed(uri: string): void {
    const t = this.timers.get(uri);
    if (t) clearTimeout(t);
    this.timers.delete(uri);
    this.done.delete(uri);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(uri: string, delay: number): void {
    const old = this.timers.get(uri);
    if (old) clearTimeout(old);
    const t = setTimeout(() => {
      this.timers.delete(uri);
      this.run(uri).catch((e) => this.sink.log(`diagnostics failed for ${uri}: ${e instanceof Error ? e.stack : String(e)}`));
    }, delay);
    this.timers.set(uri, t);
  }

  /** Analyse the newest version now and publish. */
  async run(uri: string): Promise<void> {
    const a = this.store.get(uri);
    if (!a || this.done.get(uri) === a.version) return;
    const ready = a.fullDiagnosticsIfReady;
    if (ready) {
      this.finish(a, ready);
      return;
    }
    const full = a.fullDiagnostics();
    let publishedFast = false;
    const slow = setTimeout(() => {
      if (this.store.isCurrent(a) && !a.fullDiagnosticsIfReady) {
        publishedFast = true;
        this.sink.publish(a, a.fastDiagnostics);
      }
    }, this.slowMs);
    const d = await full;
    clearTimeout(slow);
    void publishedFast;
    if (!d || !this.store.isCurrent(a)) return;
    this.finish(a, d);
  }

  private finish(a: Analysis, d: GDiagnostic[]): void {
    this.done.set(a.uri, a.version);
    this.sink.publish(a, d);
    this.sink.analysed(a);
  }
}
