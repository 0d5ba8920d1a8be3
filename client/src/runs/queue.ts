/** The run queue's rule (pure; tested): which queued runs may start under the concurrency cap. */
export type QueueState = 'queued' | 'starting' | 'running' | 'stopping' | 'done' | 'cancelled' | 'failed' | 'interrupted';

/** Indices of the queued runs to start now, oldest first, so that at most `max` are active. */
export function toStart(states: readonly QueueState[], max: number): number[] {
  const active = states.filter((s) => s === 'starting' || s === 'running' || s === 'stopping').length;
  let free = Math.max(0, Math.floor(max) - active);
  const out: number[] = [];
  states.forEach((s, i) => {
    if (s === 'queued' && free > 0) {
      out.push(i);
      free--;
    }
  });
  return out;
}
