/**
 * Following a run's events.jsonl in a panel: the extension posts the events in batches with the
 * index of the first (`from`); the page folds them into its model with its reducer. A batch
 * for another run, or from index 0, starts a fresh model; a batch that starts past what was
 * received means some were missed, and the page asks for everything again. One piece for the
 * evaluation and the evolution pages (no DOM here: tested directly).
 */
import type { WireEvent } from './validate';

export class EventFollower<M extends { runId: string }> {
  model: M;
  private received = 0;

  constructor(
    private readonly empty: (runId: string) => M,
    private readonly reduce: (m: M, e: WireEvent) => void,
    /** Called on every fresh model (e.g. to apply a summary known before the events). */
    private readonly onReset?: (m: M) => void,
    runId = 'run',
  ) {
    this.model = empty(runId);
  }

  /** Fold a batch in; 'gap' when events before `from` are missing (ask for all of them again). */
  apply(runId: string, from: number, events: readonly WireEvent[]): 'applied' | 'gap' {
    if (from === 0 || runId !== this.model.runId) {
      this.model = this.empty(runId);
      this.received = 0;
      this.onReset?.(this.model);
    }
    if (from > this.received) return 'gap';
    for (let i = this.received - from; i < events.length; i++) this.reduce(this.model, events[i]);
    this.received = Math.max(this.received, from + events.length);
    return 'applied';
  }
}
