/**
 * The configuration of an evolutionary loss search (`lossmith evolve --config evolve.json`).
 * schemas/evolve.schema.json describes the same shape for editors; `resolveConfig` fills in
 * the defaults and checks every field, naming the offending one.
 */
import * as os from 'os';
import { ENGINE_MODELS } from '../compute/engines';
import type { EngineName, ModelSpec, OptimizerConfig, SegSettingsJson, TfjsBackendName as BackendName, TorchOptionsJson } from '../compute/types';
import { DEFAULT_MUTATION_WEIGHTS, type MutationWeights, type Terminal } from './genome';
import { checkFunctionSet, SEED_BINARY, SEED_UNARY } from './ops';
import { DEFAULT_SCREEN, type LogitsProtocolOptions } from './reject';

export interface StageConfig {
  epochs: number;
  stepsPerEpoch?: number;
  /** Abort when the epoch's training accuracy is under minTrainAcc after afterEpochs epochs. */
  earlyStop?: { minTrainAcc: number; afterEpochs: number };
}

export interface SurrogateConfig {
  /** 'mnist' (embedded), 'fashion-mnist', or a folder of IDX / CIFAR files. */
  dataset: string;
  /** Train on a stratified subset of this many examples. */
  maxTrain?: number;
  /** Validate on the first maxVal validation examples. */
  maxVal?: number;
  model: ModelSpec;
  /** Augmentation spec (parseAugment), e.g. 'none', 'cutout', 'mixup'. */
  augment: string;
  backend: 'auto' | BackendName;
  /** The compute engine: 'auto' until resolved (compute/select.ts) when the run starts. */
  engine?: 'auto' | EngineName;
  /** torch engine, as asked (resolved into `torch`). */
  python?: string;
  device?: string;
  precision?: string;
  compile?: boolean;
  /** The torch engine's resolved settings (engine 'torch'). */
  torch?: TorchOptionsJson;
  optimizer?: OptimizerConfig;
  lr: number;
  /**
   * Tune the learning rate of every candidate and of CE on this grid: the quick stage at each
   * rate, the full stage at the best one (successive halving); the re-trainings use each loss's rate.
   */
  tuneLr?: number[];
  batchSize: number;
  /** Training seed: every candidate and the CE baseline train with it (same weights, same batches). */
  seed: number;
  /** The quick stage: filters candidates before the full one (seed system: two stages). */
  stage1: StageConfig & {
    /** A candidate goes on to stage 2 if its stage-1 fitness >= passRatio x CE's stage-1 fitness. */
    passRatio: number;
  };
  /** The full stage; null: stage 1 alone gives the fitness. */
  stage2: StageConfig | null;
  /**
   * Task segmentation: the U-Net's data and width (the surrogate trains a segmentation task:
   * `dataset` 'digits-clutter' or an images/ + masks/ folder; fitness = best validation Dice).
   */
  seg?: SegSettingsJson;
}

export interface EvolveConfig {
  /** What the losses are for: classification (the seed system's search) or segmentation. */
  task: 'classification' | 'segmentation';
  /**
   * The form of random genomes (genome.ts): 'sum' (classification: sum(E) over y, p);
   * segmentation: 'region' (mean(E) over tp, sp, sy: the Dice family) or 'pixel' (mean_px(sum(E))).
   */
  form: 'sum' | 'pixel' | 'region';
  population: number;
  sample: number;
  /** Children evaluated after the initial population (each one fitness evaluation). */
  steps: number;
  /** Random valid candidates screened with the stage-1 fitness for the initial population (best `population` kept). */
  initialCandidates: number;
  /** Children proposed and evaluated together (default: 2 x workers; 1 with one worker). Part of the result: a run resumes with its own. */
  batch: number;
  workers: number;
  /** The Redis job queue the trainings go to (`--queue`), password masked; absent: the local worker pool. */
  queue?: string;
  seed: number;
  /** 'oldest' (regularized evolution) or 'worst-of-oldest' (the seed system: worst among the `oldestPool` oldest). */
  replace: 'oldest' | 'worst-of-oldest';
  oldestPool: number;
  /** Probability that a child comes from subtree crossover of two tournament winners instead of a mutation. */
  crossover: number;
  mutation: Required<MutationWeights>;
  maxDepth: number;
  maxSize: number;
  initDepth: number;
  functionSet: { unary: string[]; binary: string[]; terminals: Terminal[] };
  /** Seed losses: `.loss` sources (read from files when the run is created), each { name, source, loss? }. */
  seeds: { name: string; source: string; loss?: string }[];
  /** Proposal attempts per child before giving up (seed system: 2500). */
  maxAttempts: number;
  screen: { phenotypeTolerance: number; logits: LogitsProtocolOptions };
  surrogate: SurrogateConfig;
  /** Augmentation-aware mode: one search per augmentation, then a cross-table. Empty: one search with surrogate.augment. */
  augments: string[];
  /** Best losses of each search evaluated under every augmentation in the cross-table. */
  crossTop: number;
  /** Losses written to the run folder at the end. */
  topK: number;
  /**
   * The top-k of each search and CE retrained with this many other seeds (surrogate seed + 1..n)
   * at the end, with a paired comparison to CE: a guard against the winner's curse of picking the
   * best of many noisy fitness values. 0 = off.
   */
  finalSeeds: number;
  /**
   * The transfer ladder: after the search (and the final re-training), the top-k of each search
   * and CE re-trained at each step (another model and/or dataset) under each augmentation
   * searched, on finalSeeds fresh seeds (at least 3), at tuned learning rates under
   * surrogate.tuneLr; a verdict per loss and step tells which losses survive.
   */
  transfer?: TransferStep[];
}

/** One rung of the transfer ladder: the surrogate with another model and/or dataset. */
export interface TransferStep {
  /** As written: 'surrogate', 'resnet9', 'wrn-16-4=~/data/cifar-10-batches-bin', ... */
  label: string;
  model?: ModelSpec;
  dataset?: string;
  /** Train on this many examples (default: the surrogate's maxTrain on the surrogate's dataset, all of another). */
  maxTrain?: number;
}

export type EvolveConfigInput = Partial<Omit<EvolveConfig, 'surrogate' | 'screen' | 'functionSet' | 'mutation'>> & {
  surrogate?: Partial<Omit<SurrogateConfig, 'stage1'>> & { stage1?: Partial<SurrogateConfig['stage1']> };
  screen?: { phenotypeTolerance?: number; logits?: Partial<LogitsProtocolOptions> };
  functionSet?: Partial<EvolveConfig['functionSet']>;
  mutation?: MutationWeights;
  /** In a config file: paths of `.loss` files (relative to the file) or { name, source }. */
  seeds?: (string | { name: string; source: string; loss?: string })[];
};

/** The segmentation surrogate: a small U-Net on small digits-in-clutter images, a short budget. */
export const DEFAULT_SEG_SURROGATE: SurrogateConfig = {
  dataset: 'digits-clutter',
  model: { kind: 'mlp' },
  augment: 'none',
  backend: 'auto',
  lr: 3e-3,
  batchSize: 32,
  seed: 1,
  stage1: { epochs: 1, stepsPerEpoch: 16, passRatio: 0.9 },
  stage2: { epochs: 2, stepsPerEpoch: 24 },
  seg: { size: 32, train: 512, val: 128, test: 128, filters: 4 },
};

export function defaultWorkers(backend: string): number {
  // One per core; on a GPU, one per GPU (we cannot count GPUs portably: one).
  if (backend === 'tensorflow-gpu') return 1;
  return Math.max(1, os.cpus().length);
}

export const DEFAULT_SURROGATE: SurrogateConfig = {
  dataset: 'mnist',
  maxTrain: 4000,
  maxVal: 1000,
  model: { kind: 'mlp', hidden: [128] },
  augment: 'none',
  backend: 'auto',
  lr: 3e-3,
  batchSize: 64,
  seed: 1,
  stage1: { epochs: 1, stepsPerEpoch: 40, passRatio: 0.9 },
  stage2: { epochs: 4, stepsPerEpoch: 50, earlyStop: { minTrainAcc: 0.3, afterEpochs: 1 } },
};

function fail(field: string, msg: string): never {
  throw new Error(`config: ${field} ${msg}`);
}

function int(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(field, `must be an integer >= ${min} (got ${JSON.stringify(v)})`);
  return v;
}

function num(v: unknown, field: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(field, `must be a number in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  return v;
}

function stage(s: StageConfig, field: string): void {
  int(s.epochs, `${field}.epochs`, 1);
  if (s.stepsPerEpoch !== undefined) int(s.stepsPerEpoch, `${field}.stepsPerEpoch`, 1);
  if (s.earlyStop) {
    num(s.earlyStop.minTrainAcc, `${field}.earlyStop.minTrainAcc`, 0, 1);
    int(s.earlyStop.afterEpochs, `${field}.earlyStop.afterEpochs`, 1);
  }
}

const KNOWN_KEYS = new Set([
  '$schema', 'task', 'form', 'population', 'sample', 'steps', 'initialCandidates', 'batch', 'workers', 'seed', 'replace', 'oldestPool', 'crossover', 'mutation',
  'maxDepth', 'maxSize', 'initDepth', 'functionSet', 'seeds', 'maxAttempts', 'screen', 'surrogate', 'augments', 'crossTop', 'topK', 'finalSeeds', 'transfer', 'queue',
]);

/** Defaults filled in and every field checked. Seeds must already be sources ({ name, source }). */
export function resolveConfig(input: EvolveConfigInput = {}): EvolveConfig {
  for (const k of Object.keys(input)) if (!KNOWN_KEYS.has(k)) fail(k, 'is not a known field');
  const task = input.task ?? 'classification';
  if (task !== 'classification' && task !== 'segmentation') fail('task', `must be 'classification' or 'segmentation' (got ${JSON.stringify(task)})`);
  const seg = task === 'segmentation';
  const s = input.surrogate ?? {};
  const base = seg ? DEFAULT_SEG_SURROGATE : DEFAULT_SURROGATE;
  const surrogate: SurrogateConfig = {
    ...base,
    ...s,
    model: s.model ?? base.model,
    stage1: { ...base.stage1, ...(s.stage1 ?? {}) },
    stage2: s.stage2 === null ? null : { ...base.stage2!, ...(s.stage2 ?? {}) },
    ...(seg ? { seg: { ...DEFAULT_SEG_SURROGATE.seg!, ...(s.seg ?? {}) } } : {}),
  };
  if (!seg && s.seg) fail('surrogate.seg', "is for task 'segmentation'");
  const form = input.form ?? (seg ? 'region' : 'sum');
  if (seg ? form !== 'region' && form !== 'pixel' : form !== 'sum') fail('form', seg ? `must be 'region' or 'pixel' for task segmentation (got ${JSON.stringify(form)})` : `is 'sum' for classification (got ${JSON.stringify(form)})`);
  const population = int(input.population ?? 16, 'population', 2);
  const workers = int(input.workers ?? defaultWorkers(surrogate.backend), 'workers', 0);
  const cfg: EvolveConfig = {
    task,
    form,
    population,
    sample: int(input.sample ?? Math.max(2, Math.round(population / 3)), 'sample', 1),
    steps: int(input.steps ?? 200, 'steps', 0),
    initialCandidates: int(input.initialCandidates ?? 2 * population, 'initialCandidates', 1),
    // Two children per worker: a child stopped after stage 1 would otherwise leave its worker idle.
    batch: int(input.batch ?? (workers <= 1 ? 1 : 2 * workers), 'batch', 1),
    workers,
    ...(typeof input.queue === 'string' ? { queue: input.queue } : {}),
    seed: int(input.seed ?? 0, 'seed', 0),
    replace: input.replace ?? 'oldest',
    oldestPool: int(input.oldestPool ?? 1, 'oldestPool', 1),
    crossover: num(input.crossover ?? 0.1, 'crossover', 0, 1),
    mutation: { ...DEFAULT_MUTATION_WEIGHTS, ...(input.mutation ?? {}) },
    maxDepth: int(input.maxDepth ?? 6, 'maxDepth', 2),
    maxSize: int(input.maxSize ?? 20, 'maxSize', 3),
    initDepth: int(input.initDepth ?? 4, 'initDepth', 2),
    functionSet: {
      unary: input.functionSet?.unary ?? [...SEED_UNARY],
      binary: input.functionSet?.binary ?? [...SEED_BINARY],
      terminals: input.functionSet?.terminals ?? (form === 'region' ? ['tp', 'sp', 'sy', 1, -1] : ['y', 'p', 1, -1]),
    },
    seeds: (input.seeds ?? []).map((sd, i) => {
      if (typeof sd === 'string') fail(`seeds[${i}]`, 'must be read into { name, source } first (resolveSeedFiles)');
      return sd;
    }),
    maxAttempts: int(input.maxAttempts ?? 2500, 'maxAttempts', 1),
    screen: {
      phenotypeTolerance: num(input.screen?.phenotypeTolerance ?? DEFAULT_SCREEN.phenotypeTolerance, 'screen.phenotypeTolerance', 0),
      logits: { ...DEFAULT_SCREEN.logits, ...(input.screen?.logits ?? {}) },
    },
    surrogate,
    augments: input.augments ?? [],
    crossTop: int(input.crossTop ?? 2, 'crossTop', 1),
    topK: int(input.topK ?? 5, 'topK', 1),
    finalSeeds: int(input.finalSeeds ?? 3, 'finalSeeds', 0),
    ...(input.transfer?.length ? { transfer: input.transfer } : {}),
  };
  for (const [i, st] of (cfg.transfer ?? []).entries()) {
    if (!st || typeof st.label !== 'string') fail(`transfer[${i}]`, 'must be { label, model?, dataset?, maxTrain? }');
    if (st.model && !ENGINE_MODELS.torch.includes(st.model.kind)) fail(`transfer[${i}].model.kind`, `must be one of ${ENGINE_MODELS.torch.join(', ')}`);
    if (st.maxTrain !== undefined) int(st.maxTrain, `transfer[${i}].maxTrain`, 1);
  }
  if (cfg.transfer?.length && cfg.finalSeeds < 3) fail('transfer', `needs finalSeeds >= 3 (fresh seeds per step for a paired test; got ${cfg.finalSeeds})`);
  if (cfg.replace !== 'oldest' && cfg.replace !== 'worst-of-oldest') fail('replace', `must be 'oldest' or 'worst-of-oldest'`);
  if (cfg.initialCandidates < cfg.population) fail('initialCandidates', `must be >= population (${cfg.population})`);
  for (const [k, w] of Object.entries(cfg.mutation)) num(w, `mutation.${k}`, 0);
  if (Object.values(cfg.mutation).every((w) => w === 0)) fail('mutation', 'needs at least one positive weight');
  try {
    checkFunctionSet(cfg.functionSet.unary, cfg.functionSet.binary);
  } catch (e) {
    fail('functionSet', (e as Error).message);
  }
  if (!cfg.functionSet.terminals.length) fail('functionSet.terminals', 'must not be empty');
  const inputs = form === 'region' ? ['tp', 'sp', 'sy'] : form === 'pixel' ? ['y', 'p'] : ['y', 'p', 'logits'];
  for (const t of cfg.functionSet.terminals) {
    if (typeof t === 'string' && !inputs.includes(t)) fail('functionSet.terminals', `'${t}' is not ${form === 'region' ? 'a region statistic' : 'an input'} (${inputs.join(', ')}) or a number`);
  }
  if (seg) {
    // One U-Net task: no augmentation searches, no transfer ladder of classification models.
    if (cfg.augments.length || surrogate.augment !== 'none') fail('augments', 'are not supported for task segmentation (the surrogate trains without augmentation)');
    if (cfg.transfer?.length) fail('transfer', 'is not supported for task segmentation');
    const sg = surrogate.seg!;
    int(sg.size, 'surrogate.seg.size', 8);
    int(sg.train, 'surrogate.seg.train', 1);
    int(sg.val, 'surrogate.seg.val', 1);
    int(sg.test, 'surrogate.seg.test', 1);
    int(sg.filters, 'surrogate.seg.filters', 1);
  }
  const lg = cfg.screen.logits;
  int(lg.samples, 'screen.logits.samples', 1);
  int(lg.classes, 'screen.logits.classes', 2);
  int(lg.steps, 'screen.logits.steps', 1);
  num(lg.lr, 'screen.logits.lr', 0);
  num(lg.threshold, 'screen.logits.threshold', 0, 1);
  if (!seg && !ENGINE_MODELS.torch.includes(surrogate.model.kind)) fail('surrogate.model.kind', `must be one of ${ENGINE_MODELS.torch.join(', ')}`);
  num(surrogate.lr, 'surrogate.lr', 0);
  if (surrogate.tuneLr !== undefined) {
    if (!Array.isArray(surrogate.tuneLr) || surrogate.tuneLr.length < 2) fail('surrogate.tuneLr', 'must list at least 2 learning rates');
    surrogate.tuneLr.forEach((v, i) => num(v, `surrogate.tuneLr[${i}]`, 1e-12));
    if (new Set(surrogate.tuneLr).size !== surrogate.tuneLr.length) fail('surrogate.tuneLr', 'lists a rate twice');
  }
  int(surrogate.batchSize, 'surrogate.batchSize', 1);
  int(surrogate.seed, 'surrogate.seed', 0);
  if (surrogate.maxTrain !== undefined) int(surrogate.maxTrain, 'surrogate.maxTrain', 1);
  if (surrogate.maxVal !== undefined) int(surrogate.maxVal, 'surrogate.maxVal', 1);
  stage(surrogate.stage1, 'surrogate.stage1');
  num(surrogate.stage1.passRatio, 'surrogate.stage1.passRatio', 0);
  if (surrogate.stage2) stage(surrogate.stage2, 'surrogate.stage2');
  return cfg;
}

/** The augmentation of each search: `augments`, or the surrogate's one. */
export function searchAugments(cfg: EvolveConfig): string[] {
  return cfg.augments.length ? cfg.augments : [cfg.surrogate.augment];
}
