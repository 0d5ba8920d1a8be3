/**
 * Compare-run configuration: the JSON form (`lossmith run CONFIG.json`, schemas/lossrun.schema.json),
 * the same options from the command line (`lossmith compare`), validation with JSON paths, and
 * resolution into the CompareConfigJson a run records (loss files read and checked, labels made
 * unique, defaults filled in).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { anyInputSpec, checkText, editDistance, TASKS, trainedInputs, transitiveNames } from '../../../grammar/src/index';
import { LineIndex } from '../../../grammar/src/text';
import type { CompareConfigJson, EngineName, LossRefJson, ModelKind, SegModelKind } from '../../../protocol/run-events';
import { chooseEngine, EngineError, type EngineChoice } from '../compute/select';
import { parseAugment } from '../augment';
import { datasetSpecProblem, imageFolderRoot } from '../data/load';
import { CLUTTER_DIGIT_SIDE, SEG_DATASETS } from '../data/segmentation';
import { modelProblem } from '../compute/engines';
import { parseQueueUrl, QueueError, type QueueTarget } from '../queue/connection';

/** Bad configuration: the message names the JSON path (or option) and the problem. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The cross-entropy baseline (examples/cross-entropy.loss), built in so it works from any folder. */
export const BUILTIN_CE_SOURCE = `# Cross-entropy: the negative log-probability of the target, summed against the target
# distribution y (one-hot, or soft under label smoothing / mixup / cutmix).
# Computed from the logits with log_softmax, which is stable where log(p) underflows.
# Formula: CE = -sum_k y_k log p_k = logsumexp(z) - sum_k y_k z_k
# Source: the standard baseline every Lossmith comparison runs against.
loss ce = -sum(y * log_softmax(logits))
`;
export const BUILTIN_FILE = '<builtin>';

/** The GAN baseline (examples/gan/non-saturating.loss), built in like CE: `--baseline ns`, the default of gan files. */
export const BUILTIN_NS_GAN_SOURCE = `# Non-saturating GAN: the discriminator as in the minimax game; the generator maximises
# log D(G(z)) instead of minimising log(1 - D(G(z))): the same fixed point, strong gradients
# when D rejects G's samples. The usual baseline (DCGAN, StyleGAN).
# Formula: L_D = softplus(-d_real) + softplus(d_fake),  L_G = -log D(G(z)) = softplus(-d_fake)
# Source: Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014, section 3.
task gan
loss ns_d = softplus(-d_real) + softplus(d_fake)
loss ns_g = softplus(-d_fake)
`;

/**
 * The segmentation baseline (examples/segmentation/cross-entropy-pixel.loss), built in like CE:
 * `--baseline ce_pixel`, the default of `task segmentation` files.
 */
export const BUILTIN_CE_PIXEL_SOURCE = `# Cross-entropy per pixel, averaged over the image: the baseline of segmentation runs.
# Formula: L = (1/P) Σ_i -Σ_c y_ic log(p_ic)
# Source: Long et al., Fully Convolutional Networks for Semantic Segmentation, CVPR 2015
# (the per-pixel multinomial logistic loss); torch.nn.functional.cross_entropy on [N, C, H, W].
task segmentation
loss ce_pixel = mean_px(-sum(y * log(p)))
`;

/**
 * GAN comparisons' defaults (`task gan` files): 3 epochs of 150 alternating D/G steps, batch 64,
 * Adam with DCGAN's beta1 0.5 at 5e-4 (DCGAN's 2e-4 draws recognisable digits only after about
 * twice the steps), z of 32, 16/32 filters; metrics on 100 generated digits per class. About a
 * minute per training on one CPU core (wasm): the non-saturating baseline then draws digits the
 * classifier reads about 75% right (chance: 10%).
 */
export const GAN_DEFAULTS = { epochs: 3, stepsPerEpoch: 150, batchSize: 64, lr: 5e-4, zDim: 32, filters: 16, beta1: 0.5, beta2: 0.999, samplesPerClass: 100 } as const;

/**
 * Segmentation comparisons' defaults (`task segmentation` files): the tfjs engine's two-level
 * U-Net (`filters` at its first level) on digits-clutter (`size` x `size` canvases; `train`,
 * `val`, `test` images), `epochs` passes over the training images in batches of `batchSize`,
 * Adam at `lr` (constant). Sized so that `lossmith compare examples/segmentation/dice.loss` (2
 * losses x 3 seeds) takes a few minutes on 2 CPU cores (wasm): one training is about 20-35 s per
 * epoch on one core; batch 16 rather than 32 gives CE per pixel 70% test Dice after 3 epochs
 * instead of about 55% (measured); see docs/segmentation-example.md.
 */
export const SEG_DEFAULTS = { dataset: 'digits-clutter', epochs: 3, batchSize: 16, lr: 3e-3, size: 40, train: 2000, val: 500, test: 1000, filters: 8 } as const;

/** The JSON config (and, field for field, the compare command's options). */
export interface RawCompareConfig {
  kind?: 'compare';
  losses: (string | { file: string; loss?: string; params?: Record<string, number> })[];
  baseline?: string;
  dataset?: string;
  /** unet: the network of segmentation runs (and only theirs). */
  model?: ModelKind | SegModelKind;
  /** model torchvision: the constructor name in torchvision.models. */
  arch?: string;
  /** torch engine: checkpoint to start from. */
  init?: string;
  width?: number;
  bnMomentum?: number;
  augmentations?: string[];
  seeds?: number | number[];
  epochs?: number;
  noise?: number;
  imbalance?: number;
  /** Image folders (torch engine): side the images are resized to (default 224). */
  imageSize?: number;
  /** Classification: a stratified subset of the training split; segmentation (digits-clutter): the training images. */
  maxTrain?: number;
  /** Classification: validate on the first maxVal examples; segmentation (digits-clutter): the validation images. */
  maxVal?: number;
  /** Segmentation (digits-clutter) only: the test images. */
  maxTest?: number;
  dataSeed?: number;
  stepsPerEpoch?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: 'adam' | 'sgd';
  /** Weight decay (Adam: decoupled, AdamW; SGD: L2 added to the gradient). */
  weightDecay?: number;
  /** Tune every loss's learning rate on this grid (true: the default grid of the optimiser). */
  tuneLr?: boolean | number[];
  /** Seeds per grid point for the tuning (default 2; they are never the run's seeds). */
  tuneSeeds?: number;
  sam?: { rho: number; adaptive?: boolean; loss?: string };
  backend?: CompareConfigJson['backend'];
  engine?: 'auto' | EngineName;
  python?: string;
  device?: string;
  precision?: string;
  compile?: boolean;
  workers?: number;
  runsDir?: string;
  /** Train on the workers of this Redis job queue (`lossmith worker`): redis://[user:password@]host:port[/db]. */
  queue?: string;
  /** A file holding the queue's password (else the URL's, else $LOSSMITH_REDIS_PASSWORD). */
  queuePasswordFile?: string;
  /** GAN runs (`task gan` files): the networks' and metrics' settings. */
  gan?: { zDim?: number; filters?: number; beta1?: number; beta2?: number; samplesPerClass?: number; classifierEpochs?: number; clip?: number };
}

/** A resolved compare run: what to record and what the workers need. */
export interface ResolvedCompare {
  config: CompareConfigJson;
  /** Source text per loss label (baseline included), and for the SAM loss under key SAM_KEY. */
  sources: Map<string, string>;
  /** Folder the runs go to. */
  runsDir: string;
  /** Workers requested (undefined: min(cores, jobs)). */
  workers?: number;
  /** How the engine was chosen, in words (absent on resume: the run's own engine is used). */
  engineNote?: string;
  /** The job queue with its password (config.queue has it masked); checked before the run folder is made. */
  queue?: QueueTarget;
}

export const SAM_KEY = '\u0000sam';

/**
 * Batch-norm momentum of compare runs: surrogate trainings are a few hundred steps, and with
 * Keras' 0.99 the moving statistics stay close to their initial values (measured: ConvNet on
 * MNIST after one 55-step epoch, 28% training accuracy but 12% validation accuracy).
 */
export const DEFAULT_BN_MOMENTUM = 0.9;

// ------------------------------------------------------------------------------------ schema

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  anyOf?: Schema[];
};

let schemaCache: Schema | undefined;

/** schemas/lossrun.schema.json (looked for relative to the source and the compiled file). */
export function loadSchema(): Schema {
  if (schemaCache) return schemaCache;
  const candidates = [
    path.join(__dirname, 'schemas', 'lossrun.schema.json'), // the bundle (dist/engine): next to the file
    path.join(__dirname, '..', '..', '..', '..', 'schemas', 'lossrun.schema.json'), // out/engine/src/run -> repo
    path.join(__dirname, '..', '..', '..', 'schemas', 'lossrun.schema.json'), // engine/src/run -> repo
  ];
  for (const c of candidates) {
    if (fs.existsSync(c)) return (schemaCache = JSON.parse(fs.readFileSync(c, 'utf8')) as Schema);
  }
  throw new Error(`lossrun.schema.json not found (looked in ${candidates.join(', ')})`);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const vt = typeOf(v);
  return vt === t || (t === 'number' && vt === 'integer');
}

const childPath = (p: string, key: string | number): string =>
  typeof key === 'number' ? `${p}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${p}.${key}` : `${p}[${JSON.stringify(key)}]`;

/**
 * Validates a value against the subset of JSON Schema the lossrun schema uses (type, enum,
 * properties, required, additionalProperties, items, minItems, minLength, minimum, maximum,
 * exclusiveMinimum, anyOf). Returns problems as "$.path: message".
 */
export function validateSchema(v: unknown, s: Schema, p = '$'): string[] {
  if (s.anyOf) {
    const all = s.anyOf.map((alt) => validateSchema(v, alt, p));
    if (all.some((e) => e.length === 0)) return [];
    // Report the alternative whose type matched, else a summary.
    const typed = s.anyOf.findIndex((alt) => !alt.type || [alt.type].flat().some((t) => typeMatches(v, t)));
    if (typed >= 0) return all[typed];
    return [`${p}: expected ${s.anyOf.map((a) => [a.type].flat().join('|')).join(' or ')}, got ${typeOf(v)}`];
  }
  const errs: string[] = [];
  if (s.type) {
    const types = [s.type].flat();
    if (!types.some((t) => typeMatches(v, t))) return [`${p}: expected ${types.join(' or ')}, got ${typeOf(v)}${typeOf(v) === 'string' ? ` "${v}"` : ''}`];
  }
  if (s.enum && !s.enum.includes(v)) return [`${p}: must be one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(v)}`];
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) errs.push(`${p}: must be a finite number`);
    if (s.minimum !== undefined && v < s.minimum) errs.push(`${p}: must be >= ${s.minimum}, got ${v}`);
    if (s.maximum !== undefined && v > s.maximum) errs.push(`${p}: must be <= ${s.maximum}, got ${v}`);
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) errs.push(`${p}: must be > ${s.exclusiveMinimum}, got ${v}`);
  }
  if (typeof v === 'string' && s.minLength !== undefined && v.length < s.minLength) errs.push(`${p}: must not be empty`);
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) errs.push(`${p}: needs at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`);
    if (s.items) v.forEach((x, i) => errs.push(...validateSchema(x, s.items!, childPath(p, i))));
  }
  if (typeOf(v) === 'object') {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) errs.push(`${p}: missing required property '${r}'`);
    for (const [k, x] of Object.entries(o)) {
      const ps = s.properties?.[k];
      if (ps) errs.push(...validateSchema(x, ps, childPath(p, k)));
      else if (s.additionalProperties === false) {
        const known = Object.keys(s.properties ?? {});
        const near = known
          .map((n) => ({ n, d: n.toLowerCase() === k.toLowerCase() || n.startsWith(k) || k.startsWith(n) ? 0 : editDistance(n.toLowerCase(), k.toLowerCase()) }))
          .filter((x) => x.d <= 2)
          .sort((a, b) => a.d - b.d)[0]?.n;
        errs.push(`${childPath(p, k)}: unknown property${near ? ` (did you mean '${near}'?)` : ''}`);
      } else if (typeof s.additionalProperties === 'object') errs.push(...validateSchema(x, s.additionalProperties, childPath(p, k)));
    }
  }
  return errs;
}

// ------------------------------------------------------------------------------------ resolution

/** The task of a loss file, and so of the comparison it is in (a comparison has one task). */
type TaskOfRun = 'classification' | 'gan' | 'segmentation';

/** "a 'task gan' file" / "a classification file": what a file is, in the words of the errors. */
const fileOfTask = (t: TaskOfRun): string => (t === 'classification' ? 'a classification file' : `a 'task ${t}' file`);
/** What a comparison of that task compares: "GAN pairs", "segmentation losses", "classification losses". */
const lossesOfTask = (t: TaskOfRun): string => (t === 'gan' ? 'GAN pairs' : `${t} losses`);

interface LossFile {
  file: string;
  source: string;
  task: TaskOfRun;
  /** GAN files: the complete pairs NAME (NAME_g and NAME_d both defined). */
  pairs: string[];
  losses: string[];
  params: Map<string, number>;
  /** Losses that read an input their task's trainings do not supply (iou), with that input. */
  detector: Map<string, string>;
}

function readLossFile(file: string, baseDir: string, where: string): LossFile {
  const abs = path.resolve(baseDir, file);
  let source: string;
  try {
    source = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError(`${where}: cannot read loss file ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { model, diagnostics } = checkText(source, { integrity: false });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    const li = new LineIndex(source);
    const lines = errors.map((d) => {
      const pos = li.position(d.range.start);
      return `  ${file}:${pos.line + 1}:${pos.character + 1}: ${d.message}`;
    });
    throw new ConfigError(`${where}: ${file} has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${lines.join('\n')}`);
  }
  // Losses that read an input the task's trainings do not supply (iou), with the input.
  const trained = trainedInputs(model.task);
  const untrainedOf = (names: Set<string>): string | undefined => TASKS[model.task].inputs.find((i) => !trained.has(i.name) && names.has(i.name))?.name;
  const detector = new Map(model.losses.flatMap((l) => {
    const input = untrainedOf(transitiveNames(l.expr, model));
    return input ? [[l.name, input] as [string, string]] : [];
  }));
  const losses = model.losses.map((l) => l.name);
  const pairs: string[] = [];
  if (model.task === 'gan') {
    for (const l of losses) {
      const m = /^(.+)_([gd])$/.exec(l);
      if (!m) continue;
      const partner = `${m[1]}_${m[2] === 'g' ? 'd' : 'g'}`;
      if (!losses.includes(partner)) {
        throw new ConfigError(`${where}: ${file}: '${l}' has no ${m[2] === 'g' ? "discriminator's" : "generator's"} loss '${partner}': a GAN comparison trains pairs NAME_g + NAME_d`);
      }
      if (!pairs.includes(m[1])) pairs.push(m[1]);
    }
  }
  return { file, source, task: model.task, pairs, losses, params: new Map(model.params.map((p) => [p.name, p.value])), detector };
}

/** A loss that reads an input its task's trainings do not supply (iou: boxes that classification data has not) cannot be trained. */
function trainable(lf: LossFile, loss: string, where: string): void {
  const input = lf.detector.get(loss);
  if (input) {
    throw new ConfigError(`${where}: loss '${loss}' in ${lf.file} reads ${input}, ${anyInputSpec(input)?.untrained ?? 'an input its trainings do not supply'} (check, preview and export work)`);
  }
}

/** Splits FILE#LOSS (the last '#'; Windows drive letters are fine). */
export function splitLossSpec(spec: string): { file: string; loss?: string } {
  const i = spec.lastIndexOf('#');
  if (i < 0) return { file: spec };
  return { file: spec.slice(0, i), loss: spec.slice(i + 1) || undefined };
}

interface PendingLoss {
  file: string;
  /** The loss, or in a GAN comparison the pair NAME (NAME_g + NAME_d). */
  loss: string;
  source: string;
  params?: Record<string, number>;
  task: TaskOfRun;
}

function resolveLossSpec(spec: string | { file: string; loss?: string; params?: Record<string, number> }, baseDir: string, where: string): PendingLoss[] {
  const o = typeof spec === 'string' ? splitLossSpec(spec) : spec;
  const params = typeof spec === 'string' ? undefined : spec.params;
  if (o.file === 'ce' && !o.loss && typeof spec === 'string') return [{ file: BUILTIN_FILE, loss: 'ce', source: BUILTIN_CE_SOURCE, task: 'classification' }];
  if (o.file === 'ns' && !o.loss && typeof spec === 'string') return [{ file: BUILTIN_FILE, loss: 'ns', source: BUILTIN_NS_GAN_SOURCE, task: 'gan' }];
  if (o.file === 'ce_pixel' && !o.loss && typeof spec === 'string') return [{ file: BUILTIN_FILE, loss: 'ce_pixel', source: BUILTIN_CE_PIXEL_SOURCE, task: 'segmentation' }];
  const lf = readLossFile(o.file, baseDir, where);
  if (lf.losses.length === 0) throw new ConfigError(`${where}: ${o.file} defines no loss`);
  const task = lf.task;
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (!lf.params.has(k)) throw new ConfigError(`${where}.params.${k}: ${o.file} has no param '${k}'${lf.params.size ? ` (params: ${[...lf.params.keys()].join(', ')})` : ''}`);
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${where}.params.${k}: must be a finite number`);
    }
  }
  if (task === 'gan') {
    // A GAN comparison's "loss" is a pair: FILE#NAME, FILE#NAME_g and FILE#NAME_d name pair NAME.
    if (lf.pairs.length === 0) throw new ConfigError(`${where}: ${o.file} defines no pair NAME_g + NAME_d`);
    if (o.loss) {
      const pair = lf.pairs.includes(o.loss) ? o.loss : /^(.+)_[gd]$/.exec(o.loss)?.[1];
      if (!pair || !lf.pairs.includes(pair)) throw new ConfigError(`${where}: ${o.file} has no GAN pair '${o.loss}' (it has: ${lf.pairs.join(', ')})`);
      return [{ file: o.file, loss: pair, source: lf.source, task, ...(params ? { params } : {}) }];
    }
    return lf.pairs.map((loss) => ({ file: o.file, loss, source: lf.source, task, ...(params ? { params } : {}) }));
  }
  if (o.loss) {
    if (!lf.losses.includes(o.loss)) throw new ConfigError(`${where}: ${o.file} has no loss '${o.loss}' (it has: ${lf.losses.join(', ')})`);
    trainable(lf, o.loss, where);
    return [{ file: o.file, loss: o.loss, source: lf.source, task, ...(params ? { params } : {}) }];
  }
  for (const loss of lf.losses) trainable(lf, loss, where);
  return lf.losses.map((loss) => ({ file: o.file, loss, source: lf.source, task, ...(params ? { params } : {}) }));
}

/** The refs of a comparison's losses (baseline first) under unique labels, and each label's source. */
function labelledRefs(pending: PendingLoss[]): { refs: LossRefJson[]; sources: Map<string, string> } {
  const labels = uniqueLabels(pending);
  const sources = new Map<string, string>();
  const refs = pending.map((p, i) => {
    sources.set(labels[i], p.source);
    return { label: labels[i], file: p.file, loss: p.loss, ...(p.params ? { params: p.params } : {}) };
  });
  return { refs, sources };
}

/** The training seeds: as listed, or 1..n (default 3); none twice. */
function seedList(r: Pick<RawCompareConfig, 'seeds'>): number[] {
  const seeds = Array.isArray(r.seeds) ? r.seeds : Array.from({ length: r.seeds ?? 3 }, (_, i) => i + 1);
  if (new Set(seeds).size !== seeds.length) throw new ConfigError('$.seeds: a seed is listed twice');
  return seeds;
}

const TORCH_SETTINGS = ['python', 'device', 'precision', 'compile'] as const;

/**
 * The engine of a GAN or segmentation run: tfjs (the embedded default) unless torch is asked
 * for, by name or by one of its settings; then its Python and devices are probed (or, on a
 * queue, left to its workers) as for classification runs. The model named for the check is any
 * conv net both engines train: the runner's DCGAN and U-Net (gan.py, seg.py) need torch alone.
 */
function torchIfAsked(r: RawCompareConfig, remote: boolean): EngineChoice | undefined {
  const given = TORCH_SETTINGS.filter((k) => r[k] !== undefined && r[k] !== false);
  if (r.engine === 'tfjs' && given.length) throw new ConfigError(`$.${given[0]}: a torch engine setting; this run trains on tfjs (--engine tfjs)`);
  if (r.engine !== 'torch' && !given.length) return undefined;
  return resolveEngine({ ...r, engine: 'torch' }, 'convnet', false, remote);
}

function uniqueLabels(items: PendingLoss[]): string[] {
  const labels: string[] = [];
  const used = new Set<string>();
  for (const it of items) {
    const candidates = [it.loss, `${path.basename(it.file)}#${it.loss}`, `${it.file}#${it.loss}`];
    let label = candidates.find((c) => !used.has(c));
    for (let n = 2; !label; n++) if (!used.has(`${it.loss}#${n}`)) label = `${it.loss}#${n}`;
    used.add(label);
    labels.push(label);
  }
  return labels;
}

/** Validates (schema and semantics) and resolves a raw config. `baseDir`: for relative paths. */
export function resolveCompareConfig(raw: unknown, baseDir: string, opts: { validate?: boolean } = {}): ResolvedCompare {
  if (opts.validate !== false) {
    const errs = validateSchema(raw, loadSchema());
    if (errs.length) throw new ConfigError(`invalid run config:\n${errs.map((e) => '  ' + e).join('\n')}`);
  }
  const r = raw as RawCompareConfig;
  const given: PendingLoss[] = [];
  r.losses.forEach((spec, i) => {
    const got = resolveLossSpec(spec, baseDir, `$.losses[${i}]`);
    const other = given.find((g) => g.task !== got[0]?.task);
    if (got.length && (other || (given.length && given[0].task !== got[0].task))) {
      throw new ConfigError(`$.losses[${i}]: ${fileOfTask(got[0].task)} cannot be compared with ${given[0].file}'s ${lossesOfTask(given[0].task)}: a comparison has one task`);
    }
    given.push(...got);
  });
  const task = given[0]?.task ?? 'classification';
  if (task === 'gan') return resolveGanCompare(r, given, baseDir);
  if (task === 'segmentation') return resolveSegCompare(r, given, baseDir);
  const baselineSpec = r.baseline ?? 'ce';
  const base = resolveLossSpec(baselineSpec, baseDir, '$.baseline');
  if (base.length !== 1) throw new ConfigError(`$.baseline: ${baselineSpec} holds ${base.length} losses; name one with FILE#LOSS`);
  if (base[0].task !== 'classification') throw new ConfigError(`$.baseline: ${baselineSpec} is ${fileOfTask(base[0].task)}; the losses compared are classification losses`);
  if (r.model === 'unet') throw new ConfigError("$.model: unet is the network of segmentation runs ('task segmentation' files); the losses compared are classification losses");
  if (r.gan) throw new ConfigError(`$.gan${Object.keys(r.gan).length === 1 ? `.${Object.keys(r.gan)[0]}` : ''}: GAN settings are for 'task gan' files; the losses compared are classification losses`);
  if (r.maxTest !== undefined) throw new ConfigError("$.maxTest: only for segmentation runs (the test images of digits-clutter); classification data keeps its test split");
  const pending: PendingLoss[] = [base[0], ...given];
  const { refs, sources } = labelledRefs(pending);

  const augmentations = r.augmentations ?? ['none'];
  augmentations.forEach((a, i) => {
    try {
      parseAugment(a);
    } catch (e) {
      throw new ConfigError(`$.augmentations[${i}]: ${(e as Error).message}`);
    }
  });
  if (new Set(augmentations).size !== augmentations.length) throw new ConfigError('$.augmentations: listed twice');
  const seeds = seedList(r);
  const optimizer = r.optimizer ?? 'adam';
  let sam: CompareConfigJson['sam'];
  if (r.sam) {
    sam = { rho: r.sam.rho, ...(r.sam.adaptive ? { adaptive: true } : {}) };
    if (r.sam.loss) {
      const s = resolveLossSpec(r.sam.loss, baseDir, '$.sam.loss');
      if (s.length !== 1) throw new ConfigError(`$.sam.loss: ${r.sam.loss} holds ${s.length} losses; name one with FILE#LOSS`);
      sam.loss = { label: `${path.basename(s[0].file)}#${s[0].loss}`, file: s[0].file, loss: s[0].loss };
      sources.set(SAM_KEY, s[0].source);
    }
  }
  const model = r.model ?? 'convnet';
  if (model === 'torchvision' && !r.arch) throw new ConfigError("$.model: torchvision needs arch (e.g. --arch efficientnet_v2_s) and usually init (a checkpoint file)");
  if (r.arch && model !== 'torchvision') throw new ConfigError(`$.arch: only for model torchvision (model is ${model})`);
  const init = r.init ? path.resolve(baseDir, r.init) : undefined;
  if (init && !fs.existsSync(init)) throw new ConfigError(`$.init: no checkpoint file ${init} (nothing is downloaded: save a state dict with torch.save and pass its path)`);
  const queue = r.queue ? queueTarget(r.queue, r.queuePasswordFile ? path.resolve(baseDir, r.queuePasswordFile) : undefined) : undefined;
  const choice = resolveEngine(r, model, !!imageFolderRoot(r.dataset ?? 'mnist', baseDir), !!queue);
  const tuneLr = resolveTuneLr(r.tuneLr, r.tuneSeeds, optimizer, seeds);
  const dataProblem = datasetSpecProblem(r.dataset ?? 'mnist', baseDir, choice.engine === 'torch');
  if (dataProblem) throw new ConfigError(dataProblem);
  if (r.imageSize && !imageFolderRoot(r.dataset ?? 'mnist', baseDir)) throw new ConfigError('$.imageSize: only for image folders (the other formats keep their size)');
  const config: CompareConfigJson = {
    kind: 'compare',
    baseline: refs[0],
    losses: refs.slice(1),
    dataset: {
      spec: r.dataset ?? 'mnist',
      seed: r.dataSeed ?? 0,
      ...(r.maxTrain !== undefined ? { maxTrain: r.maxTrain } : {}),
      ...(r.noise ? { labelNoise: r.noise } : {}),
      ...(r.imbalance && r.imbalance !== 1 ? { imbalance: r.imbalance } : {}),
      ...(r.imageSize ? { imageSize: r.imageSize } : {}),
    },
    model: {
      kind: model,
      ...(r.width !== undefined && r.width !== 1 ? { width: r.width } : {}),
      ...(['convnet', 'resnet9'].includes(model) ? { bnMomentum: r.bnMomentum ?? DEFAULT_BN_MOMENTUM } : {}),
      ...(r.arch ? { arch: r.arch } : {}),
      ...(init ? { init } : {}),
    },
    augmentations,
    seeds,
    epochs: r.epochs ?? 5,
    ...(r.stepsPerEpoch !== undefined ? { stepsPerEpoch: r.stepsPerEpoch } : {}),
    batchSize: r.batchSize ?? 128,
    lr: r.lr ?? (optimizer === 'sgd' ? 0.05 : 3e-3),
    optimizer,
    ...(r.weightDecay ? { weightDecay: r.weightDecay } : {}),
    ...(tuneLr ? { tuneLr } : {}),
    ...(r.maxVal !== undefined ? { maxVal: r.maxVal } : {}),
    ...(sam ? { sam } : {}),
    backend: r.backend ?? 'auto',
    engine: choice.engine,
    ...(choice.torch ? { torch: choice.torch } : {}),
    workers: r.workers ?? -1,
    ...(queue ? { queue: queue.url } : {}),
  };
  const runsDir = path.resolve(baseDir, r.runsDir ?? path.join('.lossmith', 'runs'));
  const workers = r.workers ?? choice.defaultWorkers;
  return { config, sources, runsDir, engineNote: choice.note, ...(workers !== undefined ? { workers } : {}), ...(queue ? { queue } : {}) };
}

/**
 * A GAN comparison (`task gan` files): the baseline pair (default the built-in non-saturating
 * `ns`) and each pair, trained by the conditional DCGAN on the embedded digits (tfjs, or torch
 * with --engine torch or a torch setting, as segmentation runs choose).
 * What a GAN run cannot do is refused here, before a run folder exists.
 */
function resolveGanCompare(r: RawCompareConfig, given: PendingLoss[], baseDir: string): ResolvedCompare {
  const baselineSpec = r.baseline ?? 'ns';
  const base = resolveLossSpec(baselineSpec, baseDir, '$.baseline');
  if (base.length !== 1) throw new ConfigError(`$.baseline: ${baselineSpec} holds ${base.length} GAN pairs; name one with FILE#NAME`);
  if (base[0].task !== 'gan') throw new ConfigError(`$.baseline: ${baselineSpec} is a ${base[0].task} loss; a GAN comparison's baseline is a pair NAME_g + NAME_d (default: ns, the non-saturating GAN)`);
  const refuse = (what: string, why: string): never => {
    throw new ConfigError(`${what}: ${why}`);
  };
  if (r.model !== undefined) refuse('$.model', 'GAN runs train their own networks (a class-conditional DCGAN); the model option is for classification');
  if (r.width !== undefined) refuse('$.width', 'GAN runs set their networks\' width with gan.filters');
  if ((r.augmentations ?? ['none']).some((a) => a !== 'none')) refuse('$.augmentations', 'GAN runs train without augmentation');
  if (r.sam) refuse('$.sam', 'GAN runs do not use SAM');
  if (r.tuneLr) refuse('$.tuneLr', 'GAN runs have no validation accuracy to tune the learning rate on');
  if (r.optimizer && r.optimizer !== 'adam') refuse('$.optimizer', "GAN runs train with Adam (DCGAN's beta1 0.5)");
  if (r.weightDecay) refuse('$.weightDecay', 'GAN runs train without weight decay');
  if (r.maxTest !== undefined) refuse('$.maxTest', 'only for segmentation runs (the test images of digits-clutter)');
  const spec = r.dataset ?? 'mnist';
  if (spec !== 'mnist') refuse('$.dataset', `GAN runs train on the embedded digits (mnist) only: the digit classifier behind their metrics knows those (got '${spec}')`);
  const pending = [base[0], ...given];
  const { refs, sources } = labelledRefs(pending);
  const seeds = seedList(r);
  const queue = r.queue ? queueTarget(r.queue, r.queuePasswordFile ? path.resolve(baseDir, r.queuePasswordFile) : undefined) : undefined;
  const choice = torchIfAsked(r, !!queue);
  const g = r.gan ?? {};
  const D = GAN_DEFAULTS;
  const config: CompareConfigJson = {
    kind: 'compare',
    task: 'gan',
    baseline: refs[0],
    losses: refs.slice(1),
    dataset: { spec, seed: r.dataSeed ?? 0, ...(r.maxTrain !== undefined ? { maxTrain: r.maxTrain } : {}), ...(r.noise ? { labelNoise: r.noise } : {}), ...(r.imbalance && r.imbalance !== 1 ? { imbalance: r.imbalance } : {}) },
    model: { kind: 'dcgan' },
    gan: {
      zDim: g.zDim ?? D.zDim,
      filters: g.filters ?? D.filters,
      beta1: g.beta1 ?? D.beta1,
      beta2: g.beta2 ?? D.beta2,
      samplesPerClass: g.samplesPerClass ?? D.samplesPerClass,
      ...(g.clip !== undefined ? { clip: g.clip } : {}),
      classifier: { model: 'lenet', epochs: g.classifierEpochs ?? 3, batchSize: 32, lr: 1e-2, seed: 1 },
    },
    augmentations: ['none'],
    seeds,
    epochs: r.epochs ?? D.epochs,
    stepsPerEpoch: r.stepsPerEpoch ?? D.stepsPerEpoch,
    batchSize: r.batchSize ?? D.batchSize,
    lr: r.lr ?? D.lr,
    optimizer: 'adam',
    backend: r.backend ?? 'auto',
    engine: choice?.engine ?? 'tfjs',
    ...(choice?.torch ? { torch: choice.torch } : {}),
    workers: r.workers ?? -1,
    ...(queue ? { queue: queue.url } : {}),
  };
  const runsDir = path.resolve(baseDir, r.runsDir ?? path.join('.lossmith', 'runs'));
  const what = 'a class-conditional DCGAN on the embedded digits';
  const workers = r.workers ?? choice?.defaultWorkers;
  return {
    config,
    sources,
    runsDir,
    engineNote: choice ? `${choice.note} (GAN: ${what})` : `engine tfjs${queue ? " on the queue's workers" : ''} (GAN runs train on tfjs unless --engine torch: ${what})`,
    ...(workers !== undefined ? { workers } : {}),
    ...(queue ? { queue } : {}),
  };
}

/** The layout of a segmentation folder, for its one-line error. */
const SEG_FOLDER_LAYOUT = 'images/*.png and masks/*.png (same names), or train/ (val/, test/) subfolders holding images/ and masks/';

/**
 * A quick check of a segmentation dataset spec before a run folder is made (no image is read):
 * a built-in name, or a folder in the layout of loadSegmentationFolder. The folder as an
 * absolute path (workers and resumed runs find it from any cwd), or a ConfigError.
 */
function segDatasetSpec(spec: string, baseDir: string): string {
  const s = spec.trim();
  if (SEG_DATASETS[s]) return s;
  const names = Object.keys(SEG_DATASETS).join(', ');
  if (s === 'mnist' || s === 'fashion-mnist' || s === 'fashion_mnist') {
    throw new ConfigError(`$.dataset: '${s}' has no masks; segmentation runs train on ${names} (built in) or a folder of ${SEG_FOLDER_LAYOUT}`);
  }
  const dir = path.resolve(baseDir, s);
  const isDir = (p: string): boolean => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  if (!fs.existsSync(dir)) throw new ConfigError(`$.dataset: segmentation dataset '${spec}': not a built-in name (${names}) and no such folder ${dir}`);
  if (!isDir(dir)) throw new ConfigError(`$.dataset: segmentation dataset '${spec}': ${dir} is a file; pass the folder holding ${SEG_FOLDER_LAYOUT}`);
  const flat = isDir(path.join(dir, 'images')) && isDir(path.join(dir, 'masks'));
  const split = isDir(path.join(dir, 'train', 'images')) && isDir(path.join(dir, 'train', 'masks'));
  if (!flat && !split) throw new ConfigError(`$.dataset: segmentation dataset '${spec}': ${dir} has no images/ and masks/ folders (expected ${SEG_FOLDER_LAYOUT})`);
  return dir;
}

/**
 * A segmentation comparison (`task segmentation` files): the baseline (default the built-in
 * cross-entropy per pixel `ce_pixel`) and each loss, each trained by the tfjs engine's U-Net on
 * digits-clutter or a folder of images and masks. The options that have a meaning here map onto
 * its settings (maxTrain, maxVal, maxTest, imageSize: the built-in data's splits and canvas;
 * width: a multiplier of the U-Net's filters); what a segmentation run cannot do is refused
 * here, before a run folder exists.
 */
function resolveSegCompare(r: RawCompareConfig, given: PendingLoss[], baseDir: string): ResolvedCompare {
  const baselineSpec = r.baseline ?? 'ce_pixel';
  const base = resolveLossSpec(baselineSpec, baseDir, '$.baseline');
  if (base.length !== 1) throw new ConfigError(`$.baseline: ${baselineSpec} holds ${base.length} losses; name one with FILE#LOSS`);
  if (base[0].task !== 'segmentation') {
    throw new ConfigError(`$.baseline: ${baselineSpec} is ${base[0].task === 'gan' ? 'a GAN pair' : 'a classification loss'}; a segmentation comparison's baseline is a 'task segmentation' loss (default: ce_pixel, cross-entropy per pixel)`);
  }
  const refuse = (what: string, why: string): never => {
    throw new ConfigError(`${what}: ${why}`);
  };
  const D = SEG_DEFAULTS;
  if (r.model !== undefined && r.model !== 'unet') refuse('$.model', `segmentation runs train a small U-Net (unet), got '${r.model}'`);
  if (r.arch !== undefined || r.init !== undefined) refuse(r.arch !== undefined ? '$.arch' : '$.init', 'segmentation runs train their U-Net from scratch');
  if (r.bnMomentum !== undefined) refuse('$.bnMomentum', 'the U-Net of segmentation runs has no batch norm');
  if (r.augmentations && r.augmentations.some((a) => a !== 'none')) refuse('$.augmentations', `segmentation runs train without augmentation for now (only 'none'), got '${r.augmentations.find((a) => a !== 'none')}'`);
  if (r.sam) refuse('$.sam', 'segmentation runs do not use SAM');
  if (r.tuneLr) refuse('$.tuneLr', 'learning-rate tuning is not built for segmentation runs yet (set --lr)');
  if (r.tuneSeeds !== undefined) refuse('$.tuneSeeds', 'learning-rate tuning is not built for segmentation runs yet');
  if (r.optimizer && r.optimizer !== 'adam') refuse('$.optimizer', 'segmentation runs train with Adam');
  if (r.weightDecay) refuse('$.weightDecay', 'segmentation runs train without weight decay');
  if (r.noise) refuse('$.noise', 'label noise is for classification data');
  if (r.imbalance !== undefined && r.imbalance !== 1) refuse('$.imbalance', 'imbalance is for classification data (digits-clutter is unbalanced by nature: about 2% foreground)');
  if (r.gan) refuse('$.gan', "GAN settings are for 'task gan' files");
  const spec = segDatasetSpec(r.dataset ?? D.dataset, baseDir);
  const builtin = !!SEG_DATASETS[spec];
  if (!builtin) {
    const own = (['maxTrain', 'maxVal', 'maxTest', 'imageSize'] as const).find((k) => r[k] !== undefined);
    if (own) refuse(`$.${own}`, `only for the built-in digits-clutter: a folder keeps its own images, splits and size`);
  }
  const size = r.imageSize ?? D.size;
  if (size < CLUTTER_DIGIT_SIDE) refuse('$.imageSize', `digits-clutter's canvas must be at least ${CLUTTER_DIGIT_SIDE} pixels (the target digit's side), got ${size}`);
  const filters = r.width !== undefined ? Math.max(1, Math.round(D.filters * r.width)) : D.filters;
  const pending = [base[0], ...given];
  const { refs, sources } = labelledRefs(pending);
  const seeds = seedList(r);
  const queue = r.queue ? queueTarget(r.queue, r.queuePasswordFile ? path.resolve(baseDir, r.queuePasswordFile) : undefined) : undefined;
  const choice = torchIfAsked(r, !!queue);
  const config: CompareConfigJson = {
    kind: 'compare',
    task: 'segmentation',
    baseline: refs[0],
    losses: refs.slice(1),
    dataset: { spec, seed: r.dataSeed ?? 0 },
    model: { kind: 'unet' },
    seg: { size, train: r.maxTrain ?? D.train, val: r.maxVal ?? D.val, test: r.maxTest ?? D.test, filters },
    augmentations: ['none'],
    seeds,
    epochs: r.epochs ?? D.epochs,
    ...(r.stepsPerEpoch !== undefined ? { stepsPerEpoch: r.stepsPerEpoch } : {}),
    batchSize: r.batchSize ?? D.batchSize,
    lr: r.lr ?? D.lr,
    optimizer: 'adam',
    backend: r.backend ?? 'auto',
    engine: choice?.engine ?? 'tfjs',
    ...(choice?.torch ? { torch: choice.torch } : {}),
    workers: r.workers ?? -1,
    ...(queue ? { queue: queue.url } : {}),
  };
  const runsDir = path.resolve(baseDir, r.runsDir ?? path.join('.lossmith', 'runs'));
  const what = `a small U-Net on ${builtin ? spec : "the folder's images"}`;
  const workers = r.workers ?? choice?.defaultWorkers;
  return {
    config,
    sources,
    runsDir,
    engineNote: choice ? `${choice.note} (segmentation: ${what})` : `engine tfjs${queue ? " on the queue's workers" : ''} (segmentation runs train on tfjs unless --engine torch: ${what})`,
    ...(workers !== undefined ? { workers } : {}),
    ...(queue ? { queue } : {}),
  };
}

/** A queue URL parsed and its password found, or a ConfigError naming `$.queue`. */
export function queueTarget(url: string, passwordFile?: string): QueueTarget {
  try {
    return parseQueueUrl(url, { passwordFile, flag: '$.queue' });
  } catch (e) {
    if (e instanceof QueueError) throw new ConfigError(e.message);
    throw e;
  }
}

/**
 * The engine of a run. A tfjs backend named explicitly (--backend cpu, ...) means the tfjs
 * engine when the engine is left on auto. `remote`: the trainings go to the job queue, whose
 * workers bring their own engine, Python and devices: nothing of this machine is probed; torch
 * when asked (or torch settings are given), else tfjs.
 */
export function resolveEngine(
  r: Pick<RawCompareConfig, 'engine' | 'backend' | 'python' | 'device' | 'precision' | 'compile'>,
  model: ModelKind,
  imageFolder = false,
  remote = false,
): EngineChoice {
  const engine = r.engine ?? (r.backend && r.backend !== 'auto' ? 'tfjs' : 'auto');
  if (remote) {
    const torch = engine === 'torch' || (engine === 'auto' && (r.device !== undefined || r.precision !== undefined || !!r.compile || imageFolder || !!modelProblem('tfjs', model)));
    const problem = modelProblem(torch ? 'torch' : 'tfjs', model);
    if (problem) throw new ConfigError(problem);
    if (!torch) return { engine: 'tfjs', note: `engine tfjs on the queue's workers${engine === 'auto' ? ' (auto: --engine torch trains on their PyTorch)' : ''}` };
    const precision = (r.precision ?? 'auto') as NonNullable<EngineChoice['torch']>['precision'];
    return {
      engine: 'torch',
      // The workers put in their own Python and device; precision and compile travel with the task.
      torch: { python: 'python3', device: (r.device ?? 'auto') as NonNullable<EngineChoice['torch']>['device'], precision, ...(r.compile ? { compile: true } : {}) },
      note: `engine torch on the queue's workers (each with its own Python and devices), precision ${precision}`,
    };
  }
  try {
    return chooseEngine({ engine, python: r.python, device: r.device, precision: r.precision, compile: r.compile, imageFolder }, model);
  } catch (e) {
    if (e instanceof EngineError) throw new ConfigError(e.message);
    throw e;
  }
}

/** The default learning-rate grids: a factor of about 3 around each optimiser's default. */
export const DEFAULT_LR_GRID: Record<'adam' | 'sgd', number[]> = { adam: [1e-3, 3e-3, 1e-2], sgd: [0.01, 0.03, 0.1] };
/** Tuning seeds start here, far from the run's seeds (1..n by default), so no seed is both tuned on and tested on. */
export const TUNE_SEED_BASE = 10001;

function resolveTuneLr(grid: boolean | number[] | undefined, n: number | undefined, optimizer: 'adam' | 'sgd', seeds: number[]): CompareConfigJson['tuneLr'] {
  if (grid === undefined || grid === false) {
    if (n !== undefined) throw new ConfigError('--tune-seeds needs --tune-lr');
    return undefined;
  }
  const g = grid === true ? DEFAULT_LR_GRID[optimizer] : grid;
  if (g.length < 2) throw new ConfigError(`--tune-lr: a grid needs at least 2 learning rates, got ${g.length}`);
  if (g.some((v) => !(v > 0) || !Number.isFinite(v))) throw new ConfigError(`--tune-lr: learning rates must be positive numbers, got ${g.join(',')}`);
  if (new Set(g).size !== g.length) throw new ConfigError(`--tune-lr: a learning rate is listed twice in ${g.join(',')}`);
  const count = n ?? 2;
  if (!Number.isInteger(count) || count < 1) throw new ConfigError(`--tune-seeds must be a positive integer, got ${n}`);
  const tuneSeeds = Array.from({ length: count }, (_, i) => TUNE_SEED_BASE + i);
  const clash = tuneSeeds.find((sd) => seeds.includes(sd));
  if (clash !== undefined) throw new ConfigError(`seed ${clash} is both a run seed and a tuning seed; tuning seeds are ${TUNE_SEED_BASE}..${TUNE_SEED_BASE + count - 1}`);
  return { grid: [...g], seeds: tuneSeeds };
}

/** Reads and resolves CONFIG.json (relative paths in it are relative to its folder). */
export function loadRunConfig(file: string, cwd = process.cwd()): ResolvedCompare {
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  return resolveCompareConfig(raw, path.dirname(abs));
}

/** Number of cores, for default worker counts. */
export function cores(): number {
  return os.cpus().length;
}
