/**
 * Wire types of `lossmith evolve`: the JSON-lines events of a run (events.jsonl, and stdout
 * with --json) and its summary.json. Every event carries `type` and `time` (ISO 8601); events
 * of one search carry `search` (its index; one search per augmentation in the
 * augmentation-aware mode).
 *
 * A resumed run may repeat the proposal events made after its last checkpoint (the proposals
 * are redone identically); evaluations are never repeated once their result was checkpointed.
 */
import type { BackendJson } from './run-events';
import type { Verdict } from './verdict';

/** The name of the loss in every .loss file of an evolution (candidates, best-*.loss, files the panel writes). */
export const EVOLVED_LOSS_NAME = 'candidate';

export type RejectReasonCode =
  | 'checker'
  | 'no-target'
  | 'no-prediction'
  | 'integrity-non-finite'
  | 'integrity-flat'
  | 'integrity-extremum'
  | 'integrity-oscillating'
  | 'duplicate-text'
  | 'duplicate-phenotype'
  | 'logits-protocol';

interface Base {
  time: string;
}

export interface EvolveStartEvent extends Base {
  type: 'evolve-start';
  id: string;
  dir: string;
  augments: string[];
  population: number;
  sample: number;
  steps: number;
  workers: number;
  batch: number;
  seed: number;
}

export interface SearchStartEvent extends Base {
  type: 'search-start';
  search: number;
  augment: string;
}

export interface BaselineEvent extends Base {
  type: 'baseline';
  search: number;
  augment: string;
  stage1: number | null;
  /** CE's fitness on the surrogate (the full stage). */
  fitness: number | null;
}

export interface CandidateProposedEvent extends Base {
  type: 'candidate-proposed';
  search: number;
  id: number;
  origin: 'seed' | 'random' | 'child';
  parent: number | null;
  parent2: number | null;
  /** op | rewire | arity | insert | delete | const | crossover | random | seed */
  mutation: string;
  detail: string;
  /** The loss expression, one line. */
  loss: string;
}

export interface CandidateRejectedEvent extends Base {
  type: 'candidate-rejected';
  search: number;
  id: number;
  reason: RejectReasonCode;
  detail: string;
  /** Screening time until the rejection. */
  ms: number;
}

export interface CandidateAcceptedEvent extends Base {
  type: 'candidate-accepted';
  search: number;
  id: number;
  loss: string;
  /** The curve rose with pt: the candidate is kept upside down. */
  flipped: boolean;
  /** Accuracy the logits protocol reached. */
  logitsAcc: number | null;
  ms: number;
}

export interface CandidateEvaluatedEvent extends Base {
  type: 'candidate-evaluated';
  search: number;
  id: number;
  stage: 1 | 2;
  status: 'completed' | 'nan' | 'early-stopped' | 'cancelled' | 'error';
  fitness: number | null;
  ms: number;
  reason?: string;
}

export interface CandidateRetiredEvent extends Base {
  type: 'candidate-retired';
  search: number;
  id: number;
  age: number;
  fitness: number | null;
}

export interface GenerationEvent extends Base {
  type: 'generation';
  search: number;
  generation: number;
  /** Children evaluated so far. */
  evaluated: number;
  population: number;
  best: number;
  mean: number;
  median: number;
  bestEver: { id: number; fitness: number | null; loss: string } | null;
  baselineFitness: number | null;
  proposed: number;
  rejected: Partial<Record<RejectReasonCode, number>>;
}

export interface SearchEndEvent extends Base {
  type: 'search-end';
  search: number;
  augment: string;
  best: { id: number; loss: string; fitness: number | null }[];
  baselineFitness: number | null;
}

export interface CrossTable {
  augments: string[];
  /** One row per loss (the best of each search, then CE); fitness under each augmentation. */
  rows: { loss: string; from: string; rank: number; fitness: Record<string, number | null> }[];
}

export interface CrossEvaluatedEvent extends Base {
  type: 'cross-evaluated';
  key: string;
  from: number;
  augment: string;
  fitness: number | null;
}

export interface CrossTableEvent extends Base {
  type: 'crosstable';
  table: CrossTable;
}

/** What the evaluations run on (once per distinct engine/device a worker reports). */
export interface EvolveBackendEvent extends Base {
  type: 'backend';
  backend: BackendJson;
}

/** The transfer ladder begins (or resumes): its steps and how many trainings it plans in all (tuning included). */
export interface TransferStartEvent extends Base {
  type: 'transfer-start';
  steps: string[];
  /** Trainings of the whole ladder: per step, (top-k of each search + CE) x augmentations x (grid rates + seeds). */
  total: number;
}

/** The ladder's rows so far, after each of its steps (the summary's `transfer` at the end). */
export interface TransferRowsEvent extends Base {
  type: 'transfer-rows';
  steps: string[];
  rows: TransferRow[];
}

export interface OtherEvolveEvent extends Base {
  type: 'search-stalled' | 'seed-invalid' | 'run-end' | 'run-cancelled' | 'run-failed' | 'run-extended' | 'final-evaluated' | 'transfer-evaluated';
  [k: string]: unknown;
}

export type EvolveEvent =
  | EvolveStartEvent
  | SearchStartEvent
  | BaselineEvent
  | CandidateProposedEvent
  | CandidateRejectedEvent
  | CandidateAcceptedEvent
  | CandidateEvaluatedEvent
  | CandidateRetiredEvent
  | GenerationEvent
  | SearchEndEvent
  | CrossEvaluatedEvent
  | CrossTableEvent
  | EvolveBackendEvent
  | TransferStartEvent
  | TransferRowsEvent
  | OtherEvolveEvent;

export interface EvolveBest {
  /** File name in the run folder. */
  file: string;
  loss: string;
  fitness: number;
  id: number;
  augment: string;
  stage1: number | null;
  /** The learning rate its fitness came from, under surrogate.tuneLr. */
  lr?: number;
  lineage: { id: number; mutation: string; detail: string; parent: number | null; fitness: number | null; loss: string }[];
}

/** summary.json of an evolution run (the run store adds id and created). */
/** One of the top losses (or CE) re-trained with other seeds, paired with CE by seed. */
export interface FinalRow {
  augment: string;
  id: number;
  rank: number;
  loss: string;
  seeds: number[];
  valAcc: number[];
  testAcc: (number | null)[];
  ceValAcc: number[];
  ceTestAcc: (number | null)[];
  /**
   * Mean difference to CE of the validation (test) accuracy, paired by seed over the seeds
   * where both trainings completed (n), with its t-test; pAdjusted is Holm's over every row of
   * the final re-training, and verdict reads it (better / worse at p_adj < 0.05, no-difference,
   * inconclusive under 3 pairs). n, pAdjusted and verdict are absent in older runs.
   */
  val: FinalComparison | null;
  test: FinalComparison | null;
  /** Seeds left out because the candidate's or CE's training did not complete (diverged, failed, stopped early). */
  excluded?: number;
}

/** One loss at one step of the transfer ladder and one augmentation, paired with CE there. */
export interface TransferRow {
  step: number;
  stepLabel: string;
  augment: string;
  /** Search it comes from, its rank there and its candidate id. */
  from: number;
  rank: number;
  id: number;
  loss: string;
  /** The tuned learning rates (null without tuning). */
  lr: number | null;
  ceLr: number | null;
  seeds: number[];
  testAcc: (number | null)[];
  ceTestAcc: (number | null)[];
  /** Test accuracy vs CE over the seeds where both completed; Holm over every row of the ladder. */
  test: FinalComparison | null;
  excluded: number;
}

export interface FinalComparison {
  meanDiff: number;
  pValue: number | null;
  ci95: [number, number] | null;
  /** Cohen's d_z (meanDiff over the differences' sample standard deviation) and its exact 95% interval; absent in older runs. */
  dz?: number | null;
  dzCi95?: [number, number] | null;
  n?: number;
  pAdjusted?: number | null;
  verdict?: Verdict;
}

export interface EvolveSummary {
  kind: 'evolve';
  status: 'done' | 'failed' | 'cancelled';
  /** Backend the evaluations ran on ('torch' on the torch engine). */
  backend: string | null;
  /** What the evaluations ran on in full: engine, device, torch and CUDA versions, precision, compile. */
  compute?: BackendJson | null;
  /** Candidates that were trained (at least the quick stage). */
  evaluated: number;
  /** Candidates rejected before any training, per reason. */
  rejected: Record<string, number>;
  /** The transfer ladder: its steps and a row per loss, step and augmentation (absent without --transfer). */
  transfer?: { steps: string[]; rows: TransferRow[] };
  /** CE's fitness on the same surrogate and seed (the first search's). */
  baselineFitness: number | null;
  best: EvolveBest[];
  proposed: number;
  accepted: number;
  /** Trainings run (stage 1 and stage 2 counted separately). */
  evaluations: number;
  evaluationMs: number;
  /** Stopped after stage 1. */
  filtered: number;
  /** Trainings that failed (nan, early-stopped, error). */
  failed: Record<string, number>;
  /** Mean screening time of a rejection, per reason (ms). */
  meanRejectMs: Record<string, number>;
  searches: {
    augment: string;
    phase: string;
    baselineFitness: number | null;
    baselineStage1: number | null;
    /** CE's tuned learning rate, under surrogate.tuneLr. */
    baselineLr?: number;
    initialBest: number | null;
    best: number | null;
    children: number;
    generations: number;
    population: { id: number; age: number; fitness: number | null; loss: string }[];
  }[];
  crossTable?: CrossTable;
  /** The top losses and CE re-trained with other seeds (config finalSeeds), paired by seed. */
  final?: FinalRow[];
  error?: string;
}
