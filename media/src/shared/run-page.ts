/**
 * What the evaluation and evolution pages share around their own model and rendering: the
 * panel state VS Code keeps across reloads (the run id and the page's view choices), a render
 * batched to the next animation frame, and the run's events folded in by an EventFollower
 * (asking the extension for everything again after a gap).
 */
import { EventFollower } from './follow';
import { post, vscodeApi } from './page';
import { parseRunPanelState, type RunPanelState } from './run-messages';
import type { WireEvent } from './validate';

export class RunPage<M extends { runId: string }> {
  private state: RunPanelState | undefined = parseRunPanelState(vscodeApi().getState());
  private readonly follower: EventFollower<M>;
  private scheduled = false;

  constructor(
    empty: (runId: string) => M,
    reduce: (m: M, e: WireEvent) => void,
    private readonly render: () => void,
    onReset?: (m: M) => void,
  ) {
    this.follower = new EventFollower(empty, reduce, onReset, this.state?.runId ?? 'run');
  }

  get model(): M {
    return this.follower.model;
  }

  /** The page's saved view choices (validate each field where it is read). */
  get view(): Record<string, unknown> {
    return this.state?.view ?? {};
  }

  saveView(patch: Record<string, string | number | boolean>): void {
    if (!this.state) return;
    this.state = { ...this.state, view: { ...(this.state.view ?? {}), ...patch } };
    vscodeApi().setState(this.state);
  }

  /** Render on the next animation frame (once, however many events arrive before it). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  /** A batch of the run's events from the extension. */
  onEvents(runId: string, from: number, events: WireEvent[]): void {
    if (this.follower.apply(runId, from, events) === 'gap') {
      post({ type: 'ready' }); // ask for everything again
      return;
    }
    if (!this.state || this.state.runId !== runId) {
      this.state = { v: 1, runId, view: this.state?.view ?? {} };
      vscodeApi().setState(this.state);
    }
    this.schedule();
  }
}
