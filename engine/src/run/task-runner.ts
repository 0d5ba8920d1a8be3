/**
 * The seam between the run side (compare, evolve) and whatever runs its trainings: the local
 * worker pool (worker-pool.ts: forked processes on this machine) or the job queue
 * (queue/queue-runner.ts: `lossmith worker` processes on any machine, through Redis). Both take
 * a TrainTask (or a GanTask) and answer with progress and one result; the run side stays the only
 * writer of its run folder either way.
 *
 * Errors: TaskCancelledError when the signal aborts it, WorkerCrashError when its process died
 * (worth a retry), TaskError when the training itself threw (not worth one).
 */
import type { GanTask, GanTaskResult, SegTask, SegTaskResult, TrainTask, TrainTaskResult } from '../compute/types';
import type { RunOptions } from './worker-pool';

export type { RunOptions } from './worker-pool';

export interface TaskRunner {
  /** Trainings it runs at once (0: in this process). */
  readonly size: number;
  run(task: TrainTask, opts?: RunOptions): Promise<TrainTaskResult>;
  run(task: GanTask, opts?: RunOptions): Promise<GanTaskResult>;
  run(task: SegTask, opts?: RunOptions): Promise<SegTaskResult>;
  /** Stops it; tasks still running or waiting reject (TaskCancelledError). */
  close(): Promise<void>;
}

/** Makes the runner of one run, once its id is known (the queue names its jobs after the run). */
export type RunnerFactory = (runId: string) => TaskRunner;
