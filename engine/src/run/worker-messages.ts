/**
 * What the worker pool and its worker processes say to each other: the tasks and the messages
 * over the IPC channel. Its own module, so worker-pool.ts and worker-main.ts both import it and
 * neither imports the other (the pool only `require`s the worker in its in-process mode).
 */
import type { GanTask, GanTaskResult, Progress, SegTask, SegTaskResult, TrainTask, TrainTaskResult } from '../compute/types';

// ------------------------------------------------------------------------------- task types

/** For tests of the pool itself: sleeps, echoes, crashes on demand. */
export interface DebugTask {
  kind: 'debug';
  sleepMs?: number;
  /** Exit the worker process with this code mid-task. */
  exitCode?: number;
  /** Throw an Error with this message. */
  throwMessage?: string;
  /** Progress messages to send (each after sleepMs / count). */
  progress?: number;
  echo?: unknown;
}

export type Task = TrainTask | GanTask | SegTask | DebugTask;

/** What a debug task returns: its echo, the worker's pid and when it ran (wall clock, ms). */
export interface DebugResult {
  echo: unknown;
  pid: number;
  startedAt: number;
  endedAt: number;
}

export type ResultOf<T extends Task> = T extends TrainTask ? TrainTaskResult : T extends GanTask ? GanTaskResult : T extends SegTask ? SegTaskResult : T extends DebugTask ? DebugResult : unknown;


// ------------------------------------------------------------------------------- wire messages

/** Parent -> worker. */
export type ToWorker = { type: 'task'; id: string; task: Task } | { type: 'shutdown' };
/** Worker -> parent. */
export type FromWorker =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; id: string; progress: Progress }
  | { type: 'result'; id: string; result: unknown }
  | { type: 'error'; id: string; message: string; stack?: string };

