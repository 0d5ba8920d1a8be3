/**
 * `lossmith compare FILE[#LOSS]... [options]`, `lossmith compare --resume RUN` and
 * `lossmith run CONFIG.json`: compare losses with
 * the cross-entropy baseline on the worker pool (see evaluate-run.ts). With --json every event is
 * printed as one JSON line (the same objects as events.jsonl) and the summary object last;
 * otherwise one readable line per finished training and the results table at the end.
 * Ctrl-C / SIGTERM cancel the run: finished trainings stay in the events and summary.
 */
import { Command, Option } from 'commander';
import type { CompareEvent, ModelKind } from '../../../protocol/run-events';
import { ENGINE_MODELS } from '../compute/engines';
import { stdio, UsageError, type Io, type Registrar } from './io';
import { liveDisplay } from './live-progress';
import { excludedText, formatCompareTable, formatSeedEnd, loadCompareRun, runCompare, type LiveStep } from '../run/compare';
import { ConfigError, GAN_DEFAULTS, loadRunConfig, queueTarget, resolveCompareConfig, SEG_DEFAULTS, type RawCompareConfig, type ResolvedCompare } from '../run/run-config';
import { addQueueOptions, openQueue, queueRun } from './queue-commands';
import type { WorkerPool } from '../run/worker-pool';

const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const MODEL_KINDS: readonly ModelKind[] = ENGINE_MODELS.torch;
/** --model values: the classifiers, and unet (the network of segmentation runs). */
const MODEL_CHOICES: readonly string[] = [...MODEL_KINDS, 'unet'];

/** For tests: run on this pool instead of creating one. */
let poolOverride: WorkerPool | undefined;
export function setPoolForTests(pool: WorkerPool | undefined): void {
  poolOverride = pool;
}

/** For tests: an AbortSignal that cancels like Ctrl-C would. */
let signalOverride: AbortSignal | undefined;
export function setSignalForTests(signal: AbortSignal | undefined): void {
  signalOverride = signal;
}

function num(name: string, integer: boolean, min?: number, max?: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new UsageError(`${name} expects ${integer ? 'an integer' : 'a number'}, got '${v}'`);
    }
    if (min !== undefined && n < min) throw new UsageError(`${name} must be >= ${min}, got ${v}`);
    if (max !== undefined && n > max) throw new UsageError(`${name} must be <= ${max}, got ${v}`);
    return n;
  };
}

interface CompareCliOptions {
  baseline: string;
  dataset: string;
  model: string;
  aug: string;
  seeds: number;
  epochs: number;
  noise?: number;
  imbalance?: number;
  imageSize?: number;
  maxTrain?: number;
  maxVal?: number;
  maxTest?: number;
  stepsPerEpoch?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: string;
  weightDecay?: number;
  tuneLr?: boolean | string;
  tuneSeeds?: number;
  sam?: number;
  samLoss?: string;
  asam?: boolean;
  width?: number;
  bnMomentum?: number;
  backend: string;
  engine?: string;
  python?: string;
  device?: string;
  precision?: string;
  compile?: boolean;
  arch?: string;
  init?: string;
  workers?: number;
  json?: boolean;
  runsDir?: string;
  resume?: string;
  queue?: string;
  queuePasswordFile?: string;
  classifierEpochs?: number;
  clip?: number;
}

/** Options `compare --resume` accepts: the rest come from the run itself. */
const RESUME_OPTIONS = new Set(['resume', 'workers', 'json', 'runsDir', 'queue', 'queuePasswordFile']);

function toRaw(files: string[], o: CompareCliOptions): RawCompareConfig {
  if (!MODEL_CHOICES.includes(o.model)) throw new UsageError(`--model must be one of ${MODEL_CHOICES.join(', ')}, got '${o.model}'`);
  if (o.optimizer !== undefined && !['adam', 'sgd'].includes(o.optimizer)) throw new UsageError(`--optimizer must be adam or sgd, got '${o.optimizer}'`);
  if (o.samLoss && o.sam === undefined) throw new UsageError('--sam-loss needs --sam RHO');
  return {
    losses: files,
    baseline: o.baseline,
    dataset: o.dataset,
    model: o.model as RawCompareConfig['model'],
    augmentations: o.aug.split(',').map((s) => s.trim()).filter(Boolean),
    seeds: o.seeds,
    epochs: o.epochs,
    ...(o.noise !== undefined ? { noise: o.noise } : {}),
    ...(o.imbalance !== undefined ? { imbalance: o.imbalance } : {}),
    ...(o.imageSize !== undefined ? { imageSize: o.imageSize } : {}),
    ...(o.maxTrain !== undefined ? { maxTrain: o.maxTrain } : {}),
    ...(o.maxVal !== undefined ? { maxVal: o.maxVal } : {}),
    ...(o.maxTest !== undefined ? { maxTest: o.maxTest } : {}),
    ...(o.stepsPerEpoch !== undefined ? { stepsPerEpoch: o.stepsPerEpoch } : {}),
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.lr !== undefined ? { lr: o.lr } : {}),
    ...(o.optimizer ? { optimizer: o.optimizer as 'adam' | 'sgd' } : {}),
    ...(o.weightDecay !== undefined ? { weightDecay: o.weightDecay } : {}),
    ...(o.tuneLr !== undefined && o.tuneLr !== false ? { tuneLr: o.tuneLr === true ? true : parseGrid(o.tuneLr) } : {}),
    ...(o.tuneSeeds !== undefined ? { tuneSeeds: o.tuneSeeds } : {}),
    ...(o.sam !== undefined ? { sam: { rho: o.sam, ...(o.asam ? { adaptive: true } : {}), ...(o.samLoss ? { loss: o.samLoss } : {}) } } : {}),
    ...(o.width !== undefined ? { width: o.width } : {}),
    ...(o.bnMomentum !== undefined ? { bnMomentum: o.bnMomentum } : {}),
    backend: o.backend as RawCompareConfig['backend'],
    ...engineOptions(o),
    ...(o.arch ? { arch: o.arch } : {}),
    ...(o.init ? { init: o.init } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.runsDir ? { runsDir: o.runsDir } : {}),
    ...(o.queue ? { queue: o.queue } : {}),
    ...(o.queuePasswordFile ? { queuePasswordFile: o.queuePasswordFile } : {}),
    ...(o.classifierEpochs !== undefined || o.clip !== undefined ? { gan: { ...(o.classifierEpochs !== undefined ? { classifierEpochs: o.classifierEpochs } : {}), ...(o.clip !== undefined ? { clip: o.clip } : {}) } } : {}),
  };
}

/** '1e-3,3e-3,1e-2' -> numbers, or a usage error naming the bad entry. */
function parseGrid(s: string): number[] {
  return s.split(',').map((x) => {
    const v = Number(x.trim());
    if (!x.trim() || !Number.isFinite(v) || v <= 0) throw new UsageError(`--tune-lr: '${x}' is not a positive learning rate (e.g. --tune-lr 1e-3,3e-3,1e-2)`);
    return v;
  });
}

/** The engine flags shared by compare and evolve, as run-file fields. */
export function engineOptions(o: { engine?: string; python?: string; device?: string; precision?: string; compile?: boolean }): Pick<RawCompareConfig, 'engine' | 'python' | 'device' | 'precision' | 'compile'> {
  return {
    ...(o.engine ? { engine: o.engine as RawCompareConfig['engine'] } : {}),
    ...(o.python ? { python: o.python } : {}),
    ...(o.device ? { device: o.device } : {}),
    ...(o.precision ? { precision: o.precision } : {}),
    ...(o.compile ? { compile: true } : {}),
  };
}

/** Adds --engine, --python, --device, --precision and --compile to a command. */
export function addEngineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--engine <name>', 'compute engine: auto (torch when the Python has torch, else tfjs), tfjs (embedded), torch (your Python + PyTorch)').choices(['auto', 'tfjs', 'torch']))
    .option('--python <path>', 'torch engine: the Python with torch (default $LOSSMITH_PYTHON, else python3 on PATH)')
    .option('--device <d>', 'torch engine: auto | cpu | cuda (workers spread over the GPUs) | cuda:N | mps')
    .addOption(new Option('--precision <p>', 'torch engine: autocast precision (auto = bf16 on GPUs that have it, else fp32)').choices(['auto', 'fp32', 'bf16', 'fp16']))
    .option('--compile', 'torch engine: torch.compile the model (torch 2.x)');
}

/** Runs a resolved comparison with CLI output and signal handling; returns the exit code. */
export async function runFromCli(resolved: ResolvedCompare, io: Io, json: boolean, resumeDir?: string): Promise<number> {
  // The queue is checked (reachable, password) before runCompare makes the run folder.
  const q = resolved.queue ? await openQueue(resolved.queue) : undefined;
  const qr = q ? queueRun(q.target, q.check, resolved.config.engine ?? 'tfjs', resolved.config.torch?.device) : undefined;
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    live?.stop();
    if (!json) io.err(`\nlossmith: ${sig}: cancelling the run (finished trainings are kept)...\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const outer = signalOverride;
  const fwd = (): void => ac.abort();
  outer?.addEventListener('abort', fwd, { once: true });
  // On a terminal: live bars (the run, each running training) with the finished lines above them.
  const live = !json && io === stdio && process.stdout.isTTY ? liveDisplay(process.stdout) : null;
  const out = (line: string): void => (live ? live.log(line) : io.out(line));
  let done = 0;
  let total = 0;
  let tuned = 0;
  let tuneTotal = 0;
  if (qr && !json) out(`${qr.line}\n`);
  const where = (workers: number): string => (qr ? `the queue's workers (${resolved.config.queue})` : workers === 0 ? 'this process' : `${workers} worker${workers === 1 ? '' : 's'}`);
  const onEvent = (e: CompareEvent): void => {
    if (json) {
      io.out(JSON.stringify(e) + '\n');
      return;
    }
    switch (e.type) {
      case 'compare-start':
        total = e.jobs;
        tuneTotal = e.tuneJobs ?? 0;
        live?.plan(total + tuneTotal);
        if (e.config.tuneLr) out(`learning-rate tuning: ${e.config.tuneLr.grid.join(', ')} on seeds ${e.config.tuneLr.seeds.join(', ')} (${tuneTotal} trainings, validation split) before the ${e.jobs} test trainings\n`);
        if (resolved.engineNote) out(`${resolved.engineNote}\n`);
        out(
          `lossmith compare: ${e.config.losses.length + 1} losses × ${e.config.augmentations.length} augmentation${e.config.augmentations.length === 1 ? '' : 's'} × ${e.config.seeds.length} seed${e.config.seeds.length === 1 ? '' : 's'} = ${e.jobs} trainings on ${where(e.workers)}\n  run folder ${e.dir}\n`,
        );
        break;
      case 'compare-resume':
        total = e.jobs;
        done = e.kept;
        live?.plan(total, e.kept);
        out(`lossmith compare: resuming ${resumeDir}: ${e.kept} of ${e.jobs} trainings finished before and are kept; training ${e.jobs - e.kept} on ${where(e.workers)}\n`);
        break;
      case 'backend':
        out(`  ${e.backend.engine === 'torch' ? 'engine' : 'backend'}: ${e.backend.name} — ${e.backend.detail}\n${e.backend.warnings.map((w) => `  warning: ${w}\n`).join('')}`);
        break;
      case 'tune-end':
        tuned++;
        {
          const line = `[tune ${tuned}/${tuneTotal || '?'}] ${e.loss} · ${e.augmentation} · lr ${e.lr} · seed ${e.seed}: ${e.status === 'completed' ? `best val ${e.bestValAcc === null ? '—' : `${(100 * e.bestValAcc).toFixed(2)}%`}` : `${e.status}${e.reason ? ` — ${e.reason}` : ''}`}\n`;
          if (live) live.ended({ loss: e.loss, augmentation: e.augmentation, seed: e.seed, tune: { lr: e.lr } }, line);
          else io.out(line);
        }
        break;
      case 'lr-chosen':
        out(`lr for ${e.loss} · ${e.augmentation}: ${e.lr}${e.note ? ` (${e.note})` : ''}\n`);
        break;
      case 'seed-end':
        if (e.status !== 'cancelled') done++;
        if (live) live.ended(e, formatSeedEnd(e, done, total), e.status === 'cancelled');
        else io.out(formatSeedEnd(e, done, total) + '\n');
        break;
      default:
        break;
    }
  };
  try {
    const r = await runCompare({ resolved, pool: poolOverride, signal: ac.signal, onEvent, ...(qr ? { runner: qr.runner, queue: qr.queue, workers: qr.slots } : {}), ...(live ? { onStep: (st: LiveStep) => live.step(st) } : {}), ...(resumeDir ? { resumeDir } : {}) });
    live?.stop();
    if (json) io.out(JSON.stringify(r.summary) + '\n');
    else io.out('\n' + formatCompareTable(r.summary) + `\n\nsummary: ${r.dir}/summary.json\n`);
    if (r.summary.status !== 'done') return r.summary.status === 'cancelled' ? 130 : 1;
    // A loss with no finished training has no result to report: the run did not answer its question.
    const empty = r.summary.results.filter((x) => x.finished === 0);
    for (const x of empty) io.err(`lossmith compare: ${x.loss} · ${x.augmentation}: no training finished (${excludedText(x) || 'none ran'}); nothing to compare\n`);
    return empty.length ? 1 : 0;
  } finally {
    live?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    outer?.removeEventListener('abort', fwd);
  }
}

/**
 * A config error as a usage error; `words` puts the config's JSON paths ("$.losses[0]: ...") in
 * the words the user wrote them in (the flag or argument), `file` names a run file they come from.
 */
function wrapConfigErrors<T>(f: () => T, words?: (jsonPath: string) => string, file?: string): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    let msg = e.message;
    if (words) msg = msg.replace(/\$(?:\.[A-Za-z_]\w*|\[\d+\])*/g, (m) => words(m));
    else if (file) msg = msg.replace(/(^|\n\s*)(\$[.[])/g, `$1${file}: $2`);
    throw new UsageError(msg);
  }
}

/** "$.losses[1]" -> "policy.loss#focal" (the argument), "$.augmentations[0]" -> "--aug cutot", "$.sam.loss" -> "--sam-loss", "$.maxTrain" -> "--max-train". */
export function flagWords(files: readonly string[], o: Pick<CompareCliOptions, 'aug'>): (jsonPath: string) => string {
  const augs = o.aug.split(',').map((s) => s.trim()).filter(Boolean);
  const special: Record<string, string> = { '$.augmentations': '--aug', '$.sam.loss': '--sam-loss', '$.sam.rho': '--sam', '$.sam.adaptive': '--asam', '$.tuneLr': '--tune-lr', '$.losses': 'FILE arguments', '$.gan.clip': '--clip', '$.gan.classifierEpochs': '--classifier-epochs' };
  return (jp) => {
    let m = /^\$\.losses\[(\d+)\](.*)$/.exec(jp);
    if (m) return `${files[Number(m[1])] ?? 'FILE'}${m[2] ? ` (${m[2].replace(/^\./, '')})` : ''}`;
    m = /^\$\.augmentations\[(\d+)\]$/.exec(jp);
    if (m) return `--aug ${augs[Number(m[1])] ?? ''}`.trimEnd();
    m = /^\$\.tuneLr(?:\.grid)?\[(\d+)\]$/.exec(jp);
    if (m) return '--tune-lr';
    if (special[jp]) return special[jp];
    m = /^\$\.([A-Za-z_]\w*)/.exec(jp);
    return m ? `--${m[1].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : jp;
  };
}

export const register: Registrar = (program: Command, io: Io, setExit) => {
  addQueueOptions(addEngineOptions(program
    .command('compare')))
    .description("Train each loss and the cross-entropy baseline with the same seeds, data and augmentations; compare test accuracy (paired t-test over seeds). 'task gan' files compare FD, 'task segmentation' files Dice (U-Net on digits in clutter).")
    .argument('[files...]', 'FILE.loss (every loss in it) or FILE.loss#LOSS')
    .option('--baseline <loss>', "baseline: 'ce' (built-in cross-entropy) or FILE#LOSS; for 'task gan' files 'ns' (built-in non-saturating GAN, the default) or FILE#NAME; for 'task segmentation' files 'ce_pixel' (built-in cross-entropy per pixel, the default) or FILE#LOSS", 'ce')
    .option('--dataset <spec>', "'mnist' (embedded), 'fashion-mnist', a folder of IDX/CIFAR files, or (torch engine) an image folder with one subfolder per class; for 'task segmentation' files 'digits-clutter' (built in, the default) or a folder of images/ and masks/ PNGs", 'mnist')
    .option('--model <kind>', `${MODEL_KINDS.join(' | ')}: convnet and resnet9 are the seed system's search surrogates, lenet a small classic CNN (MNIST 98% in 3 epochs), the last four on the torch engine; 'task segmentation' files train a small U-Net (unet, their only model)`, 'convnet')
    .option('--arch <name>', 'model torchvision: the torchvision.models constructor, e.g. efficientnet_v2_s, resnet50')
    .option('--init <file>', 'torch engine: start from this checkpoint (a state dict; the classifier head is replaced to fit the classes)')
    .option('--width <w>', `width multiplier of the network (segmentation: of the U-Net's ${SEG_DEFAULTS.filters} filters)`, num('--width', false, 1e-6))
    .option('--bn-momentum <m>', 'batch-norm moving-average momentum (default 0.9)', num('--bn-momentum', false, 0, 1))
    .option('--aug <list>', 'comma-separated augmentations, each compared separately (none, flipcrop, cutout, mixup, cutmix, randaugment:N:M, a+b)', 'none')
    .option('--seeds <n>', 'number of seeds (1..n)', num('--seeds', true, 1, 1000), 3)
    .option('--epochs <n>', `epochs per training (default 5; GAN files: epochs of --steps-per-epoch alternating D/G steps, default ${GAN_DEFAULTS.epochs} x ${GAN_DEFAULTS.stepsPerEpoch}; segmentation files: passes over the training images, default ${SEG_DEFAULTS.epochs})`, num('--epochs', true, 1), 5)
    .option('--clip <c>', 'GAN files: clip every discriminator weight to [-c, c] after each of its steps (WGAN: 0.01)', num('--clip', false, 1e-12))
    .option('--classifier-epochs <n>', "GAN files: epochs of the digit classifier behind FD and the accuracy on generated digits (default 3; trained once per setting and cached)", num('--classifier-epochs', true, 1))
    .option('--noise <r>', 'symmetric label-noise rate on the training split', num('--noise', false, 0, 1))
    .option('--image-size <n>', `image folders (torch engine): resize the shorter side to n and centre-crop (default 224); segmentation on digits-clutter: the canvas side (default ${SEG_DEFAULTS.size})`, num('--image-size', true, 8))
    .option('--imbalance <k>', 'long-tailed imbalance ratio of the training split', num('--imbalance', false, 1))
    .option('--max-train <n>', `stratified subset of n training examples (segmentation on digits-clutter: the training images, default ${SEG_DEFAULTS.train})`, num('--max-train', true, 1))
    .option('--max-val <n>', `validate on the first n validation examples (segmentation on digits-clutter: the validation images, default ${SEG_DEFAULTS.val})`, num('--max-val', true, 1))
    .option('--max-test <n>', `segmentation on digits-clutter: the test images (default ${SEG_DEFAULTS.test})`, num('--max-test', true, 1))
    .option('--steps-per-epoch <n>', 'steps per epoch (default: one pass)', num('--steps-per-epoch', true, 1))
    .option('--batch-size <b>', `batch size (default 128; GAN files ${GAN_DEFAULTS.batchSize}; segmentation files ${SEG_DEFAULTS.batchSize})`, num('--batch-size', true, 1))
    .option('--lr <x>', `peak learning rate (default 3e-3 adam, 0.05 sgd; GAN files ${GAN_DEFAULTS.lr}; segmentation files ${SEG_DEFAULTS.lr}, constant)`, num('--lr', false, 1e-12))
    .option('--optimizer <name>', 'adam | sgd (momentum 0.9)')
    .option('--tune-lr [grid]', "tune every loss's learning rate (CE too) per augmentation on the validation split: comma-separated rates (default adam 1e-3,3e-3,1e-2; sgd 0.01,0.03,0.1)")
    .option('--tune-seeds <n>', 'seeds per grid point for --tune-lr (default 2; never the run seeds)', num('--tune-seeds', true, 1, 100))
    .option('--weight-decay <w>', 'weight decay (adam: decoupled, as AdamW; sgd: L2)', num('--weight-decay', false, 0))
    .option('--sam <rho>', 'sharpness-aware minimisation with radius rho', num('--sam', false, 1e-12))
    .option('--asam', 'adaptive SAM (with --sam)')
    .option('--sam-loss <file#loss>', 'perturb with this loss (AACE style) instead of the training loss')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto'))
    .option('--workers <n>', 'worker processes (default min(cores, trainings); 0 = in this process)', num('--workers', true, 0))
    .option('--json', 'print events as JSON lines and the summary last')
    .option('--runs-dir <dir>', 'where runs are stored', '.lossmith/runs')
    .option('--resume <run>', 'continue a cancelled, failed or killed compare run (folder or id): its finished trainings are kept, the rest are trained with its own configuration and loss sources')
    .action(async (files: string[], o: CompareCliOptions, cmd: Command) => {
      if (o.resume) {
        const extra = [...(files.length ? ['FILE arguments'] : []), ...Object.keys(o).filter((k) => cmd.getOptionValueSource(k) === 'cli' && !RESUME_OPTIONS.has(k)).map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)];
        if (extra.length) throw new UsageError(`--resume continues a run with its own configuration: ${extra.join(', ')} cannot be given (only --workers, --json, --runs-dir, --queue, --queue-password-file)`);
        const { dir, ...resolved } = wrapConfigErrors(() => {
          try {
            return loadCompareRun(o.resume!, o.runsDir ?? '.lossmith/runs');
          } catch (e) {
            throw new UsageError((e as Error).message);
          }
        });
        if (o.workers !== undefined) resolved.workers = o.workers;
        // A run on the queue resumes on it (its URL recorded masked: the password comes from the environment or a file).
        const url = o.queue ?? resolved.config.queue;
        if (url) {
          resolved.queue = wrapConfigErrors(() => queueTarget(url, o.queuePasswordFile), flagWords([], { aug: '' }));
          resolved.config = { ...resolved.config, queue: resolved.queue.url };
        }
        setExit(await runFromCli(resolved, io, !!o.json, dir));
        return;
      }
      if (files.length === 0) throw new UsageError('compare needs at least one FILE.loss or FILE.loss#LOSS (or --resume RUN)');
      const raw = toRaw(files, o);
      // Defaults that depend on the task (a 'task gan' file has its own) are left to the config.
      for (const k of ['baseline', 'model', 'epochs', 'dataset'] as const) if (cmd.getOptionValueSource(k) !== 'cli') delete raw[k];
      const resolved = wrapConfigErrors(() => resolveCompareConfig(raw, process.cwd()), flagWords(files, o));
      setExit(await runFromCli(resolved, io, !!o.json));
    });

  program
    .command('run')
    .description('Run a comparison described by a JSON config (schemas/lossrun.schema.json): the options of `compare`.')
    .argument('<config>', 'CONFIG.json')
    .option('--json', 'print events as JSON lines and the summary last')
    .option('--workers <n>', 'override the config: worker processes', num('--workers', true, 0))
    .option('--queue <url>', "override the config: train on this Redis job queue's workers (docs/queue.md)")
    .option('--queue-password-file <file>', `the queue's password from this file (else the URL's, else $LOSSMITH_REDIS_PASSWORD)`)
    .action(async (file: string, o: { json?: boolean; workers?: number; queue?: string; queuePasswordFile?: string }) => {
      const resolved = wrapConfigErrors(() => loadRunConfig(file), undefined, file);
      if (o.workers !== undefined) resolved.workers = o.workers;
      if (o.queue) {
        resolved.queue = wrapConfigErrors(() => queueTarget(o.queue!, o.queuePasswordFile), flagWords([], { aug: '' }));
        resolved.config = { ...resolved.config, queue: resolved.queue.url };
      }
      setExit(await runFromCli(resolved, io, !!o.json));
    });
};
