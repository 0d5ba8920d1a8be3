/**
 * How long a run will take, said in the quick picks before it starts (pure; tested). The unit of
 * work is one training example seen in one epoch; its wall time per model comes from the
 * workspace's last finished compare runs of that model (summary.json: wallMs over trainings x
 * epochs x training examples), else from the figures below.
 *
 * The figures: the embedded tfjs engine (WebAssembly) on 2 CPU cores, two workers, batch 128,
 * measured on the README's main job and its quick trial (lenet: 4 trainings x 2 epochs x 3,000
 * digits in 16.5 s, 6 x 3 x 7,001 in about 40 s: 10 s to start, 0.23 ms per example-epoch);
 * convnet from the README's 19 s job, mlp from the training benchmark; the models for a GPU are
 * rough CPU figures (a GPU run corrects them from its own records).
 */
import type { CompareChoices } from './cli-args';

/** Wall milliseconds per training example per epoch, per model (2 CPU cores, tfjs wasm). */
export const MS_PER_EXAMPLE_EPOCH: Readonly<Record<string, number>> = {
  mlp: 0.03,
  lenet: 0.25,
  convnet: 0.25,
  resnet9: 3,
  'wrn-16-4': 8,
  'wrn-28-10': 60,
  resnet18: 10,
};
/** Starting the engine and its workers, loading the data, testing (once per run). */
export const RUN_OVERHEAD_MS = 10_000;
/** Training examples of a built-in dataset when the run takes all of them (the rest is validation and test). */
export const TRAIN_EXAMPLES: Readonly<Record<string, number>> = { mnist: 7001, 'fashion-mnist': 54_000 };
/** Examples one evolution child trains on at most: the surrogate's default stages (1 epoch of 40 steps, then 4 of 50; batch 64). */
export const CHILD_STEPS = { stage1: { epochs: 1, steps: 40 }, stage2: { epochs: 4, steps: 50 }, batch: 64 };

/** One finished compare run, as its summary.json records it. */
export interface RecordedRun {
  model: string;
  trainings: number;
  epochs: number;
  examples: number;
  wallMs: number;
}

export interface Estimate {
  ms: number;
  /** Where the rate came from: the workspace's runs of this model (how many), or the model's figure. */
  from: { runs: number } | 'figure';
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined);

/** A done compare run's figures from its summary.json (anything else: undefined). */
export function recordedRun(summary: unknown): RecordedRun | undefined {
  if (!summary || typeof summary !== 'object') return undefined;
  const s = summary as Record<string, unknown>;
  if (s.kind !== 'compare' || s.status !== 'done') return undefined;
  const model = s.model && typeof s.model === 'object' ? (s.model as { kind?: unknown }).kind : undefined;
  const examples = s.dataset && typeof s.dataset === 'object' ? num((s.dataset as { train?: unknown }).train) : undefined;
  const trainings = num(s.jobs);
  const epochs = num(s.epochs);
  const wallMs = num(s.wallMs);
  if (typeof model !== 'string' || !examples || !trainings || !epochs || !wallMs) return undefined;
  return { model, trainings, epochs, examples, wallMs };
}

/** Wall ms per example-epoch for `model`: the median of its last (up to 3) recorded runs, newest first, else the figure. */
export function rate(model: string, records: readonly RecordedRun[]): { ms: number; from: Estimate['from'] } {
  const mine = records.filter((r) => r.model === model).slice(0, 3);
  if (!mine.length) return { ms: MS_PER_EXAMPLE_EPOCH[model] ?? MS_PER_EXAMPLE_EPOCH.convnet, from: 'figure' };
  const rates = mine.map((r) => Math.max(1e-4, (r.wallMs - Math.min(RUN_OVERHEAD_MS, r.wallMs / 2)) / (r.trainings * r.epochs * r.examples))).sort((a, b) => a - b);
  return { ms: rates[Math.floor(rates.length / 2)], from: { runs: mine.length } };
}

/** Trainings and example-epochs of an evaluation of `losses` losses against the baseline. */
export function compareWork(c: Pick<CompareChoices, 'dataset' | 'augmentations' | 'seeds' | 'epochs' | 'maxTrain'>, losses = 1): { trainings: number; exampleEpochs: number } {
  const all = TRAIN_EXAMPLES[c.dataset] ?? TRAIN_EXAMPLES.mnist;
  const examples = c.maxTrain ? Math.min(c.maxTrain, all) : all;
  const trainings = (losses + 1) * Math.max(1, c.augmentations.length) * c.seeds;
  return { trainings, exampleEpochs: trainings * c.epochs * examples };
}

export function estimateCompare(c: Pick<CompareChoices, 'dataset' | 'model' | 'augmentations' | 'seeds' | 'epochs' | 'maxTrain'>, records: readonly RecordedRun[], losses = 1): Estimate {
  const r = rate(c.model, records);
  return { ms: RUN_OVERHEAD_MS + compareWork(c, losses).exampleEpochs * r.ms, from: r.from };
}

/** The search of an evolution (its final re-training comes after): every child trained in full (screened-out children cost less). */
export function estimateEvolve(c: { model: string; steps: number; maxTrain: number; augmentations: number }, records: readonly RecordedRun[]): Estimate {
  const r = rate(c.model, records);
  const epoch = (steps: number): number => Math.min(steps * CHILD_STEPS.batch, c.maxTrain);
  const perChild = CHILD_STEPS.stage1.epochs * epoch(CHILD_STEPS.stage1.steps) + CHILD_STEPS.stage2.epochs * epoch(CHILD_STEPS.stage2.steps);
  return { ms: RUN_OVERHEAD_MS + c.steps * Math.max(1, c.augmentations) * perChild * r.ms, from: r.from };
}

/** "about 20 s", "about 3 min", "about 1.5 h", "about 2 days". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 90) return `about ${Math.max(5, Math.round(s / 5) * 5)} s`;
  if (s < 90 * 60) return `about ${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `about ${+(s / 3600).toFixed(1)} h`;
  return `about ${Math.round(s / 86400)} days`;
}

/** "about 3 min (from your last 2 lenet runs)" / "about 3 min (lenet's figure for 2 CPU cores)". */
export function estimateText(e: Estimate, model: string): string {
  const from = e.from === 'figure' ? `${model}'s figure for 2 CPU cores` : `from your last ${e.from.runs === 1 ? '' : `${e.from.runs} `}${model} run${e.from.runs === 1 ? '' : 's'}`;
  return `${formatDuration(e.ms)} (${from})`;
}
