/**
 * Command lines of the engine CLI for each kind of run, and the quick-pick choices of an
 * evaluation (pure; tested). Every run prints its events as JSON lines (--json) and is stored in
 * the workspace's .lossmith/runs (the CLI's working directory is the workspace folder).
 */

export interface CompareChoices {
  dataset: string;
  model: 'mlp' | 'convnet' | 'resnet9';
  augmentations: string[];
  seeds: number;
  epochs: number;
  /** Stratified subset of the training set (undefined: all of it). */
  maxTrain?: number;
  baseline?: string;
  backend?: string;
}

export const DEFAULT_COMPARE: CompareChoices = { dataset: 'mnist', model: 'convnet', augmentations: ['none'], seeds: 3, epochs: 5 };

export const DATASETS = ['mnist', 'fashion-mnist'];
export const MODELS: CompareChoices['model'][] = ['mlp', 'convnet', 'resnet9'];
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
  if (c.backend && c.backend !== 'auto') args.push('--backend', c.backend);
  args.push('--json');
  return args;
}

export interface EvolveChoices {
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
  args.push('--json');
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
  return d;
}

/** A short label of a run for the tree, notifications and the status bar. */
export function compareLabel(losses: string[], baseline = 'ce'): string {
  const names = losses.map((l) => l.split('#')[1] ?? l.replace(/^.*[\\/]/, '').replace(/\.loss$/, ''));
  return `${names.join(', ')} vs ${baseline}`;
}
