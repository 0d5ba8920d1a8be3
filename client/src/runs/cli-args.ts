/**
 * Command lines of the engine CLI for each kind of run, and the quick-pick choices of an
 * evaluation (pure; tested). Every run prints its events as JSON lines (--json) and is stored in
 * the workspace's .lossmith/runs (the CLI's working directory is the workspace folder).
 */
import { ENGINE_MODELS, type EngineName, type ModelKind } from '../../../protocol/run-events';
import type { TorchPrecision } from '../../../protocol/torch-task';

/**
 * Where a run computes (the engine/device step of the quick picks): each field left out or
 * 'auto' passes no flag, so the CLI's own default applies.
 */
export interface ComputeChoices {
  /** --engine: auto (torch when the Python imports torch, else tfjs), tfjs or torch. */
  engine?: 'auto' | EngineName;
  /** --backend: the tfjs backend (tfjs engine). */
  backend?: string;
  /** --device (torch engine): auto, cpu, cuda, cuda:N, mps. */
  device?: string;
  /** --precision (torch engine). */
  precision?: TorchPrecision;
  /** --python: the Python with torch (never remembered: it comes from the settings each time). */
  python?: string;
}

export interface CompareChoices extends ComputeChoices {
  dataset: string;
  model: ModelKind;
  augmentations: string[];
  seeds: number;
  epochs: number;
  /** Stratified subset of the training set (undefined: all of it). */
  maxTrain?: number;
  baseline?: string;
}

export const DEFAULT_COMPARE: CompareChoices = { dataset: 'mnist', model: 'convnet', augmentations: ['none'], seeds: 3, epochs: 5 };

export const DATASETS = ['mnist', 'fashion-mnist'];
/** The models of every engine, and those only the torch engine has (`torchvision` needs --arch: not offered). */
export const MODELS: ModelKind[] = [...ENGINE_MODELS.tfjs];
export const TORCH_MODELS: ModelKind[] = ENGINE_MODELS.torch.filter((m) => !ENGINE_MODELS.tfjs.includes(m) && m !== 'torchvision');
export const ENGINES: readonly ('auto' | EngineName)[] = ['auto', 'tfjs', 'torch'];
export const PRECISIONS: readonly TorchPrecision[] = ['auto', 'fp32', 'bf16', 'fp16'];
/** Devices as --device takes them. */
export const isDevice = (x: unknown): x is string => typeof x === 'string' && /^(auto|cpu|mps|cuda(:\d{1,3})?)$/.test(x);

/** The models to offer for an engine: torch has more; unknown (auto) offers all, marked. */
export function modelsFor(engine: ComputeChoices['engine']): { model: ModelKind; torchOnly: boolean }[] {
  const all = [...MODELS.map((model) => ({ model, torchOnly: false })), ...TORCH_MODELS.map((model) => ({ model, torchOnly: true }))];
  return engine === 'tfjs' ? all.filter((m) => !m.torchOnly) : all;
}
export const AUGMENTATIONS = ['none', 'flipcrop', 'cutout', 'mixup', 'cutmix', 'randaugment:2:9'];
export const SEED_CHOICES = [1, 2, 3, 5, 10];
export const EPOCH_CHOICES = [1, 2, 3, 5, 10, 20, 50];
export const SIZE_CHOICES: (number | undefined)[] = [undefined, 10_000, 5_000, 1_000, 300];
/** Surrogate training-set sizes offered by Start Evolution; the first is the engine's default. */
export const EVOLVE_SIZE_CHOICES = [4_000, 1_000, 300];

/** A loss reference the CLI takes: FILE#LOSS. */
export const lossRef = (file: string, loss?: string): string => (loss ? `${file}#${loss}` : file);

export function compareArgs(losses: string[], c: CompareChoices): string[] {
  const args = ['compare', ...losses, '--baseline', c.baseline ?? 'ce', '--dataset', c.dataset, '--model', c.model, '--aug', (c.augmentations.length ? c.augmentations : ['none']).join(','), '--seeds', String(c.seeds), '--epochs', String(c.epochs)];
  if (c.maxTrain) args.push('--max-train', String(c.maxTrain));
  args.push(...computeArgs(c), '--json');
  return args;
}

/** The engine flags of a choice: only those that differ from auto or empty. */
export function computeArgs(c: ComputeChoices): string[] {
  const args: string[] = [];
  if (c.engine && c.engine !== 'auto') args.push('--engine', c.engine);
  if (c.backend && c.backend !== 'auto') args.push('--backend', c.backend);
  // The tfjs engine never runs Python: --python, --device and --precision are the torch engine's.
  if (c.engine !== 'tfjs') {
    if (c.python) args.push('--python', c.python);
    if (c.device && c.device !== 'auto') args.push('--device', c.device);
    if (c.precision && c.precision !== 'auto') args.push('--precision', c.precision);
  }
  return args;
}

export interface EvolveChoices extends ComputeChoices {
  config?: string;
  model?: string;
  augmentations?: string[];
  steps?: number;
  population?: number;
  maxTrain?: number;
  epochs?: number;
}

export function evolveArgs(c: EvolveChoices): string[] {
  const args = ['evolve'];
  if (c.config) args.push('--config', c.config);
  if (c.model) args.push('--model', c.model);
  if (c.augmentations?.length) args.push('--aug', c.augmentations.join(','));
  if (c.steps) args.push('--steps', String(c.steps));
  if (c.population) args.push('--population', String(c.population));
  if (c.maxTrain) args.push('--max-train', String(c.maxTrain));
  if (c.epochs) args.push('--epochs', String(c.epochs));
  args.push(...computeArgs(c), '--json');
  return args;
}

/** Continue a run in its folder: an evolution from its checkpoint, a comparison from its finished trainings. */
export const resumeArgs = (kind: 'compare' | 'evolve', runDir: string): string[] => [kind, '--resume', runDir, '--json'];

/** `lossmith run` for *.lossrun.json, `lossmith evolve --config` for *.evolve.json. */
export function configArgs(file: string): { kind: 'compare' | 'evolve'; args: string[] } | undefined {
  if (/\.lossrun\.json$/i.test(file)) return { kind: 'compare', args: ['run', file, '--json'] };
  if (/\.evolve\.json$/i.test(file)) return { kind: 'evolve', args: ['evolve', '--config', file, '--json'] };
  return undefined;
}

/** Validate remembered choices (workspace state may hold anything from an older version). */
export function parseChoices(x: unknown): CompareChoices {
  const d = { ...DEFAULT_COMPARE };
  if (!x || typeof x !== 'object') return d;
  const o = x as Record<string, unknown>;
  if (typeof o.dataset === 'string' && o.dataset.length < 500) d.dataset = o.dataset;
  if (MODELS.includes(o.model as CompareChoices['model'])) d.model = o.model as CompareChoices['model'];
  if (Array.isArray(o.augmentations) && o.augmentations.length && o.augmentations.every((a) => typeof a === 'string' && /^[\w:+.-]{1,60}$/.test(a))) d.augmentations = o.augmentations as string[];
  if (Number.isInteger(o.seeds) && (o.seeds as number) >= 1 && (o.seeds as number) <= 100) d.seeds = o.seeds as number;
  if (Number.isInteger(o.epochs) && (o.epochs as number) >= 1 && (o.epochs as number) <= 1000) d.epochs = o.epochs as number;
  if (Number.isInteger(o.maxTrain) && (o.maxTrain as number) >= 10) d.maxTrain = o.maxTrain as number;
  Object.assign(d, parseComputeChoices(o));
  if (TORCH_MODELS.includes(o.model as ModelKind) && d.engine === 'torch') d.model = o.model as ModelKind;
  return d;
}

/** The remembered engine step (no Python: that comes from the settings each time). */
function parseComputeChoices(o: Record<string, unknown>): ComputeChoices {
  const c: ComputeChoices = {};
  if ((ENGINES as readonly unknown[]).includes(o.engine)) c.engine = o.engine as ComputeChoices['engine'];
  if (typeof o.backend === 'string' && /^(auto|tensorflow-gpu|tensorflow|wasm|cpu)$/.test(o.backend)) c.backend = o.backend;
  if (isDevice(o.device)) c.device = o.device;
  if ((PRECISIONS as readonly unknown[]).includes(o.precision)) c.precision = o.precision as TorchPrecision;
  return c;
}

/** A short label of a run for the tree, notifications and the status bar. */
export function compareLabel(losses: string[], baseline = 'ce'): string {
  const names = losses.map((l) => l.split('#')[1] ?? l.replace(/^.*[\\/]/, '').replace(/\.loss$/, ''));
  return `${names.join(', ')} vs ${baseline}`;
}
