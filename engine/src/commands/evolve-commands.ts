/**
 * `lossmith evolve`: the evolutionary loss search (engine/src/evolve).
 *
 *   lossmith evolve [--config evolve.json] [--population N] [--sample N] [--steps N]
 *                   [--workers N] [--seed N] [--resume RUN] [--seed-losses a.loss b.loss]
 *                   [--dataset D] [--model M] [--width W] [--aug A[,B,...]] [--epochs N] [--backend B] [--max-train N]
 *                   [--json]
 *
 * Flags override the config file; the config file's shape is schemas/evolve.schema.json.
 * Several augmentations (`--aug none,cutout,mixup`) run one search each, then a cross-table.
 * Plain output ends with the run folder on its own line; `--json` prints the events instead.
 * Ctrl-C stops cleanly: the checkpoint stays, and `--resume RUN` continues.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { stdio, UsageError, type Io, type Registrar } from './io';
import { evolveLiveDisplay } from './live-progress';
import { resolveConfig, type EvolveConfigInput, type TransferStep } from '../evolve/config';
import { modelProblem } from '../compute/engines';
import { datasetSpecProblem } from '../data/load';
import { readCheckpoint, resolveRunDir, runEvolve, type FinalRow } from '../evolve/run';
import { addQueueOptions, openQueue, queueRun } from './queue-commands';
import { queueTarget } from '../run/run-config';
import { describeBackend } from '../compute/describe';
import { imageFolderRoot } from '../data/load';
import { DEFAULT_LR_GRID, resolveEngine } from '../run/run-config';
import { addEngineOptions, engineOptions } from './run-commands';
import type { ModelSpec, TfjsBackendName as BackendName } from '../compute/types';

interface EvolveFlags {
  config?: string;
  task?: string;
  form?: string;
  population?: string;
  sample?: string;
  steps?: string;
  workers?: string;
  seed?: string;
  resume?: string;
  seedLosses?: string[];
  dataset?: string;
  width?: string;
  maxVal?: string;
  stepsPerEpoch?: string;
  batchSize?: string;
  lr?: string;
  optimizer?: string;
  model?: string;
  aug?: string;
  epochs?: string;
  backend?: string;
  engine?: string;
  python?: string;
  device?: string;
  precision?: string;
  compile?: boolean;
  tuneLr?: boolean | string;
  transfer?: string[];
  maxTrain?: string;
  topK?: string;
  finalSeeds?: string;
  root?: string;
  runsDir?: string;
  json?: boolean;
  queue?: string;
  queuePasswordFile?: string;
}

function intFlag(v: string | undefined, name: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min} (got '${v}')`);
  return n;
}

/** `mlp`, `mlp:256,128` (hidden sizes), `convnet`, `convnet@0.5` (width), `resnet9`. */
export function parseModel(s: string): ModelSpec {
  const m = /^(mlp|convnet|resnet9|wrn-16-4|wrn-28-10|resnet18)(?::([\d,]+))?(?:@([\d.]+))?$/.exec(s.trim());
  if (!m) throw new UsageError(`--model must be mlp[:H1,H2..][@width], convnet[@width], resnet9[@width], or on the torch engine wrn-16-4, wrn-28-10, resnet18 (got '${s}')`);
  const spec: ModelSpec = { kind: m[1] as ModelSpec['kind'] };
  if (m[2]) spec.hidden = m[2].split(',').filter(Boolean).map(Number);
  if (m[3]) spec.width = Number(m[3]);
  return spec;
}

/** Reads seed files into { name, source }; paths relative to `base`. */
export function readSeeds(seeds: unknown[], base: string): { name: string; source: string; loss?: string }[] {
  return seeds.map((sd) => {
    if (typeof sd === 'string') {
      const file = path.resolve(base, sd);
      try {
        return { name: path.basename(file), source: fs.readFileSync(file, 'utf8') };
      } catch (e) {
        throw new UsageError(`cannot read seed ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
    }
    const o = sd as { name?: string; source?: string; file?: string; loss?: string };
    if (o.file) return { ...readSeeds([o.file], base)[0], ...(o.loss ? { loss: o.loss } : {}) };
    if (typeof o.source !== 'string') throw new UsageError('a seed must be a path or { name, source } / { file }');
    return { name: o.name ?? 'seed', source: o.source, ...(o.loss ? { loss: o.loss } : {}) };
  });
}

export function configFromFlags(f: EvolveFlags, cwd = process.cwd()): EvolveConfigInput {
  let input: EvolveConfigInput & { seeds?: unknown[] } = {};
  let base = cwd;
  if (f.config) {
    const file = path.resolve(cwd, f.config);
    try {
      input = JSON.parse(fs.readFileSync(file, 'utf8')) as EvolveConfigInput;
    } catch (e) {
      throw new UsageError(`cannot read config ${file}: ${(e as Error).message}`);
    }
    base = path.dirname(file);
    delete (input as { $schema?: string }).$schema;
  }
  const set = <K extends keyof EvolveConfigInput>(k: K, v: EvolveConfigInput[K] | undefined): void => {
    if (v !== undefined) input[k] = v;
  };
  set('population', intFlag(f.population, 'population', 2));
  set('sample', intFlag(f.sample, 'sample', 1));
  set('steps', intFlag(f.steps, 'steps', 0));
  set('workers', intFlag(f.workers, 'workers', 0));
  set('seed', intFlag(f.seed, 'seed', 0));
  set('topK', intFlag(f.topK, 'top-k', 1));
  set('finalSeeds', intFlag(f.finalSeeds, 'final-seeds', 0));
  const seeds = [...((input.seeds as unknown[]) ?? []), ...(f.seedLosses ?? [])];
  input.seeds = readSeeds(seeds, base);
  if (f.task) {
    if (f.task !== 'classification' && f.task !== 'segmentation') throw new UsageError(`--task must be classification or segmentation (got '${f.task}')`);
    input.task = f.task;
  } else if (!input.task && input.seeds.length && input.seeds.every((sd) => /^task[ \t]+segmentation[ \t]*$/m.test(sd.source))) {
    // Seeds that are all segmentation losses make a segmentation search.
    input.task = 'segmentation';
  }
  if (f.form) {
    if (f.form !== 'region' && f.form !== 'pixel' && f.form !== 'sum') throw new UsageError(`--form must be region or pixel (task segmentation), or sum (got '${f.form}')`);
    input.form = f.form;
  }
  const sur = { ...(input.surrogate ?? {}) };
  if (f.dataset) sur.dataset = f.dataset;
  if (f.model) sur.model = parseModel(f.model);
  if (f.width !== undefined) {
    const w = Number(f.width);
    if (!(w > 0)) throw new UsageError(`--width must be a positive number (got '${f.width}')`);
    sur.model = { ...(sur.model ?? { kind: 'mlp', hidden: [128] }), width: w };
  }
  const mv = intFlag(f.maxVal, 'max-val', 1);
  if (mv !== undefined) sur.maxVal = mv;
  const bs = intFlag(f.batchSize, 'batch-size', 1);
  if (bs !== undefined) sur.batchSize = bs;
  if (f.lr !== undefined) {
    const lr = Number(f.lr);
    if (!(lr > 0)) throw new UsageError(`--lr must be a positive number (got '${f.lr}')`);
    sur.lr = lr;
  }
  if (f.optimizer) {
    if (f.optimizer !== 'adam' && f.optimizer !== 'sgd') throw new UsageError(`--optimizer must be adam or sgd (got '${f.optimizer}')`);
    sur.optimizer = f.optimizer === 'adam' ? { kind: 'adam' } : { kind: 'sgd', momentum: 0.9 };
  }
  const spe = intFlag(f.stepsPerEpoch, 'steps-per-epoch', 1);
  if (f.backend) sur.backend = f.backend as 'auto' | BackendName;
  if (f.tuneLr) {
    sur.tuneLr =
      f.tuneLr === true
        ? DEFAULT_LR_GRID[sur.optimizer?.kind ?? 'adam']
        : f.tuneLr.split(',').map((x) => {
            const v = Number(x.trim());
            if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`--tune-lr: '${x}' is not a positive learning rate (e.g. --tune-lr 1e-3,3e-3,1e-2)`);
            return v;
          });
  }
  Object.assign(sur, engineOptions(f));
  const mt = intFlag(f.maxTrain, 'max-train', 1);
  if (mt !== undefined) sur.maxTrain = mt;
  const ep = intFlag(f.epochs, 'epochs', 1);
  if (ep !== undefined || spe !== undefined) {
    const st2 = { ...(sur.stage2 ?? { epochs: 4, stepsPerEpoch: 50 }) };
    if (ep !== undefined) st2.epochs = ep;
    if (spe !== undefined) st2.stepsPerEpoch = spe;
    sur.stage2 = st2;
  }
  if (f.aug) {
    const augs = f.aug.split(',').map((a) => a.trim()).filter(Boolean);
    if (augs.length > 1) input.augments = augs;
    else sur.augment = augs[0];
  }
  input.surrogate = sur;
  if (f.transfer?.length) input.transfer = f.transfer.map(parseTransferStep);
  return input;
}

/** A transfer step as written: `surrogate`, or MODEL[@WIDTH][=DATASET] (e.g. resnet9, wrn-16-4=~/data/cifar-10-batches-bin). */
export function parseTransferStep(s: string): TransferStep {
  const t = s.trim();
  if (t === 'surrogate') return { label: t };
  const eq = t.indexOf('=');
  const model = parseModel(eq >= 0 ? t.slice(0, eq) : t);
  const dataset = eq >= 0 ? t.slice(eq + 1).trim() : undefined;
  if (dataset === '') throw new UsageError(`--transfer ${s}: a dataset after '=' is missing`);
  return { label: t, model, ...(dataset ? { dataset } : {}) };
}

/** "worse than CE, -0.62 pp, p_adj = 0.03" (test accuracy), in the words of the compare table's verdicts. */
export function finalVerdictText(r: Pick<FinalRow, 'test' | 'excluded'>): string {
  const t = r.test;
  const skipped = r.excluded ? ` (${r.excluded} seed${r.excluded === 1 ? '' : 's'} left out: a training did not finish)` : '';
  if (!t) return `inconclusive: no seed where both finished${skipped}`;
  const pp = `${t.meanDiff >= 0 ? '+' : ''}${(100 * t.meanDiff).toFixed(2)} pp`;
  const p = t.pAdjusted != null ? `, p_adj = ${t.pAdjusted.toPrecision(2)}` : t.pValue != null ? `, p = ${t.pValue.toPrecision(2)}` : '';
  const dz = t.dz != null && t.dzCi95 ? `, d_z = ${t.dz.toFixed(2)} [${t.dzCi95[0].toFixed(2)}, ${t.dzCi95[1].toFixed(2)}]` : '';
  const words = { better: 'better than CE', worse: 'worse than CE', 'no-difference': 'no difference from CE detected', inconclusive: 'inconclusive' }[t.verdict ?? 'inconclusive'];
  return `${words}, ${pp}${dz}${p}${skipped}`;
}

export const register: Registrar = (program: Command, io: Io, setExit: (code: number) => void) => {
  addQueueOptions(addEngineOptions(program
    .command('evolve')))
    .description('Search for classification losses by regularized evolution over DSL expressions (see schemas/evolve.schema.json)')
    .option('--config <file>', 'JSON configuration (schemas/evolve.schema.json); flags override it')
    .option('--population <n>', 'population size P')
    .option('--sample <n>', 'tournament sample size S')
    .option('--steps <n>', 'children to evaluate per search (with --resume: extend to this many)')
    .option('--workers <n>', 'parallel worker processes (default: one per core; 0 = in this process)')
    .option('--seed <n>', 'search seed')
    .option('--resume <run>', 'continue a killed or finished run (folder or id)')
    .option('--seed-losses <files...>', '.loss files to put in the initial population (e.g. the catalogue); task segmentation files make a segmentation search')
    .option('--task <t>', 'classification (default) or segmentation (a U-Net on digits in clutter; fitness: validation Dice)')
    .option('--form <f>', "task segmentation: 'region' (mean over classes of E(tp, sp, sy): the Dice family; default) or 'pixel' (mean_px(sum(E(y, p))))")
    .option('--dataset <d>', "surrogate dataset: 'mnist', 'fashion-mnist' or a folder")
    .option('--model <kind>', 'surrogate model: mlp | convnet | resnet9 (also mlp:H1,H2 for hidden sizes)')
    .option('--width <w>', 'width multiplier of the surrogate network')
    .option('--aug <a>', 'augmentation; a comma list runs one search per augmentation and a cross-table')
    .option('--epochs <n>', 'epochs of the full fitness stage')
    .option('--backend <b>', 'auto, tensorflow-gpu, tensorflow, wasm or cpu')
    .option('--max-train <n>', 'stratified subset of n training examples')
    .option('--max-val <n>', 'validate on the first n validation examples')
    .option('--steps-per-epoch <n>', 'steps per epoch of the full stage')
    .option('--batch-size <b>', 'batch size (default 64)')
    .option('--lr <x>', 'peak learning rate (default 3e-3)')
    .option('--tune-lr [grid]', "tune every candidate's and CE's learning rate: the quick stage at each rate, the full stage at the best (default adam 1e-3,3e-3,1e-2; sgd 0.01,0.03,0.1)")
    .option('--optimizer <name>', 'adam | sgd (momentum 0.9)')
    .option('--top-k <n>', 'losses written to the run folder')
    .option('--transfer <steps...>', "transfer ladder after the search: re-train the top-k and CE at each step under every augmentation searched, on --final-seeds fresh seeds (>= 3): 'surrogate', MODEL[@WIDTH] or MODEL=DATASET (e.g. surrogate resnet9 wrn-16-4=~/cifar-10-batches-bin; wrn on the torch engine)")
    .option('--final-seeds <n>', 're-train the top-k and CE with n other seeds at the end, paired t-test vs CE (default 3; 0 = off)')
    .option('--runs-dir <dir>', 'where runs are stored (default <root>/.lossmith/runs); also where --resume looks up an id')
    .option('--root <dir>', 'workspace holding .lossmith/runs (default: cwd)')
    .option('--json', 'print events as JSON lines')
    .action(async (f: EvolveFlags) => {
      const root = path.resolve(f.root ?? process.cwd());
      let config;
      // The job queue (--queue, or the run's own on resume), parsed here and checked below before any run folder.
      let queueUrl = f.queue;
      let resumedEngine: 'tfjs' | 'torch' = 'tfjs';
      if (!f.resume) {
        try {
          config = resolveConfig(configFromFlags(f));
          queueUrl ??= config.queue;
          const sur = config.surrogate;
          if (config.task === 'segmentation') {
            // The U-Net loop is the tfjs engine's.
            if (sur.engine === 'torch' || f.engine === 'torch') throw new UsageError('task segmentation searches train on the tfjs engine (the torch engine has no U-Net loop yet): drop --engine torch');
            config.surrogate = { ...sur, engine: 'tfjs' };
            const problem = sur.dataset === 'digits-clutter' ? undefined : fs.existsSync(path.resolve(root, sur.dataset)) ? undefined : `no such folder ${path.resolve(root, sur.dataset)}`;
            if (problem) throw new UsageError(`--dataset: ${problem} (task segmentation: 'digits-clutter' or a folder of images/ and masks/)`);
          }
          for (const st of config.transfer ?? []) {
            const problem = (st.model && modelProblem(sur.engine === 'torch' ? 'torch' : resolveEngine(sur, sur.model.kind, !!imageFolderRoot(sur.dataset, root)).engine, st.model.kind)) ||
              (st.dataset ? datasetSpecProblem(st.dataset, root, true) : undefined);
            if (problem) throw new UsageError(`--transfer ${st.label}: ${problem}`);
          }
          if (config.task !== 'segmentation' && (sur.engine === undefined || sur.engine === 'auto' || !(sur.engine === 'tfjs' || sur.torch))) {
            const choice = resolveEngine(sur, sur.model.kind, !!imageFolderRoot(sur.dataset, root), !!queueUrl);
            const { python: _p, device: _d, precision: _q, compile: _c, ...rest } = sur;
            config.surrogate = { ...rest, engine: choice.engine, ...(choice.torch ? { torch: choice.torch } : {}) };
            if (f.workers === undefined && !f.config && choice.defaultWorkers !== undefined) {
              // torch on GPUs: one worker per GPU unless asked (--workers N shares a GPU between N / GPUs trainings).
              config.workers = choice.defaultWorkers;
              config.batch = config.workers <= 1 ? 1 : 2 * config.workers;
            }
            if (!f.json) io.out(`${choice.note}\n`);
          }
        } catch (e) {
          if (e instanceof UsageError) throw e;
          throw new UsageError((e as Error).message);
        }
      } else if (f.config || f.population || f.sample || f.dataset || f.model || f.aug || f.epochs || f.maxTrain || f.seedLosses) {
        throw new UsageError('--resume continues a run with its own configuration: only --steps (to extend it) may be given');
      } else {
        // A run that is not there is bad input (one line), not a crash.
        try {
          const prior = readCheckpoint(resolveRunDir(root, f.resume, f.runsDir ? path.resolve(f.runsDir) : undefined)).config;
          queueUrl ??= prior.queue;
          resumedEngine = prior.surrogate.engine === 'torch' ? 'torch' : 'tfjs';
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      }
      let queued: ReturnType<typeof queueRun> | undefined;
      if (queueUrl) {
        let target;
        try {
          target = queueTarget(queueUrl, f.queuePasswordFile);
        } catch (e) {
          throw new UsageError((e as Error).message.replace('$.queue', '--queue'));
        }
        const q = await openQueue(target);
        queued = queueRun(q.target, q.check, config ? (config.surrogate.engine === 'torch' ? 'torch' : 'tfjs') : resumedEngine, config?.surrogate.torch?.device ?? config?.surrogate.device);
        if (!f.json) io.out(`${queued.line}\n`);
        if (config) {
          config.queue = q.target.url;
          if (f.workers === undefined && !f.config) {
            // Trainings in flight: the connected workers' slots (at least one), two children each.
            config.workers = Math.max(1, queued.slots);
            config.batch = config.workers <= 1 ? 1 : 2 * config.workers;
          }
        }
      }
      // On a terminal: live bars (each search, the final and transfer phases) with the log lines above them.
      const steps = config?.steps ?? 0;
      const live = !f.json && io === stdio && process.stdout.isTTY && steps > 0 ? evolveLiveDisplay(process.stdout, steps) : null;
      const abort = new AbortController();
      const onSig = (): void => abort.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      try {
        const res = await runEvolve({
          root,
          ...(f.runsDir ? { runsDir: path.resolve(f.runsDir) } : {}),
          config,
          resume: f.resume,
          steps: f.resume ? intFlag(f.steps, 'steps', 0) : undefined,
          finalSeeds: f.resume ? intFlag(f.finalSeeds, 'final-seeds', 0) : undefined,
          signal: abort.signal,
          ...(queued ? { runner: queued.runner, queue: queued.queue } : {}),
          onEvent: f.json ? (e) => io.out(JSON.stringify(e) + '\n') : live ? (e) => live.event(e as { type: string } & Record<string, unknown>) : undefined,
          log: f.json ? undefined : (l) => (live ? live.log(l) : io.out(l + '\n')),
        });
        live?.stop();
        const s = res.summary;
        if (!f.json) {
          io.out(`\nstatus ${s.status}; ${s.compute ? describeBackend(s.compute) : `backend ${s.backend}`}; ${s.proposed} proposed, ${s.evaluated} trained, rejected: ${Object.entries(s.rejected).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
          io.out(`CE baseline fitness ${s.baselineFitness}\n`);
          for (const b of s.best) io.out(`${b.file}  ${b.fitness.toFixed(4)}  ${b.loss}\n`);
          if (s.transfer) {
            io.out(`\ntransfer ladder (test accuracy vs CE on fresh seeds; p adjusted with Holm over all ${s.transfer.rows.length} rows):\n`);
            for (const r of s.transfer.rows) io.out(`  #${r.id} ${r.loss.length > 50 ? `${r.loss.slice(0, 47)}...` : r.loss} · ${r.stepLabel} · ${r.augment}${r.lr ? ` (lr ${r.lr}, CE ${r.ceLr})` : ''}: ${finalVerdictText(r)}\n`);
          }
          for (const r of s.final ?? []) {
            const m = (xs: (number | null)[]): string => (xs.reduce<number>((a, v) => a + (v ?? NaN), 0) / xs.length).toFixed(4);
            io.out(`re-trained #${r.id} on ${r.seeds.length} new seed${r.seeds.length === 1 ? '' : 's'} (${r.seeds.join(',')}): ${finalVerdictText(r)}; val ${m(r.valAcc)} vs CE ${m(r.ceValAcc)}, test ${m(r.testAcc)} vs CE ${m(r.ceTestAcc)}\n`);
          }
          if (s.error) io.err(`lossmith evolve: ${s.error}\n`);
          io.out(res.dir + '\n');
        }
        if (s.status !== 'done') setExit(s.status === 'cancelled' ? 130 : 1);
      } finally {
        process.removeListener('SIGINT', onSig);
        process.removeListener('SIGTERM', onSig);
      }
    });
};
