/**
 * `loadDataset(spec, opts)`: one entry point for every dataset.
 *
 * spec: 'mnist' (the embedded 10,000 digits), 'fashion-mnist' (Debian's dataset-fashion-mnist
 * files, if installed), or a path to a folder in IDX or CIFAR binary format (detected from the
 * file names; one level of nesting such as `cifar-10-batches-bin/` is followed).
 *
 * Training-split options are applied in this order, each with its own stream derived from
 * `opts.seed`: maxTrain (stratified subset) -> imbalance (long-tailed) -> labelNoise
 * (symmetric). Validation and test splits are never touched.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../rng';
import type { Dataset } from './types';
import { loadEmbeddedMnist } from './mnist';
import { findIdxFiles, loadIdxFolder } from './idx';
import { detectCifar, loadCifarFolder } from './cifar';
import { applyImbalance, applyLabelNoise, classCounts, stratifiedSubset } from './split';

export interface LoadOptions {
  /** Seed of the training-split transformations below (default 0). Does not change the split itself. */
  seed?: number;
  /** Keep at most this many training samples (stratified, seeded). */
  maxTrain?: number;
  /** Symmetric label noise rate r in [0, 1]: round(r*n) training labels get another class, uniformly. */
  labelNoise?: number;
  /** Long-tailed imbalance ratio k >= 1: class c keeps n * k^(-c/(C-1)) samples (n = smallest class). */
  imbalance?: number;
  /** Validation fraction held out of the training files of IDX / CIFAR folders (default 0.1). */
  valFraction?: number;
  /** IDX only: number of classes the labels must lie in (default 10). */
  numClasses?: number;
  /** Base for relative paths (default process.cwd()). */
  cwd?: string;
}

export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/** Resolves a spec to a base dataset (no training-split transformations). */
function loadBase(spec: string, opts: LoadOptions): Dataset {
  const s = spec.trim();
  if (s === 'mnist') return loadEmbeddedMnist();
  if (s === 'fashion-mnist' || s === 'fashion_mnist') {
    if (!fs.existsSync(FASHION_MNIST_DEBIAN_DIR)) {
      throw new Error(
        `dataset 'fashion-mnist': ${FASHION_MNIST_DEBIAN_DIR} not found (install Debian's dataset-fashion-mnist package, or pass the folder holding the IDX files)`,
      );
    }
    return loadIdxFolder(FASHION_MNIST_DEBIAN_DIR, { valFraction: opts.valFraction, name: 'fashion-mnist' });
  }
  const dir = path.resolve(opts.cwd ?? process.cwd(), s);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new Error(`dataset '${spec}': no such folder ${dir} (built-in names: mnist, fashion-mnist)`);
  }
  if (!st.isDirectory()) {
    throw new Error(`dataset '${spec}': ${dir} is a file; pass the folder holding the IDX or CIFAR binary files`);
  }
  const tryDir = (d: string): Dataset | null => {
    if (findIdxFiles(d)) return loadIdxFolder(d, { numClasses: opts.numClasses, valFraction: opts.valFraction });
    if (detectCifar(d)) return loadCifarFolder(d, { valFraction: opts.valFraction });
    return null;
  };
  const direct = tryDir(dir);
  if (direct) return direct;
  const subdirs = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.join(dir, e.name));
  if (imageFolderRoot(dir)) throw new Error(`dataset '${spec}': ${dir} is an image folder (one subfolder per class); image folders are read by the torch engine: add --engine torch`);
  const found = subdirs.filter((d) => findIdxFiles(d) || detectCifar(d));
  if (found.length === 1) return tryDir(found[0])!;
  if (found.length > 1) throw new Error(`dataset '${spec}': ${dir} holds several datasets: ${found.map((d) => path.basename(d)).join(', ')}; pass one of them`);
  throw new Error(
    `dataset '${spec}': unrecognised format in ${dir}: expected IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) or CIFAR binary batches (data_batch_1..5.bin + test_batch.bin, or train.bin + test.bin)`,
  );
}

const IMAGE_EXT = /\.(png|jpe?g|bmp|gif|webp|tiff?)$/i;

function hasClassFolders(dir: string): boolean {
  let classes = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const sub = path.join(dir, e.name);
    if (fs.readdirSync(sub).some((f) => IMAGE_EXT.test(f))) classes++;
  }
  return classes >= 2;
}

/**
 * The folder as an absolute path when `spec` names an image folder in the ImageFolder layout
 * (<dir>/<class>/<image>, or train/ (val/, test/) subfolders in that layout), else undefined.
 * Built-in names, files and IDX or CIFAR folders are not image folders.
 */
export function imageFolderRoot(spec: string, cwd?: string): string | undefined {
  const s = spec.trim();
  if (s === 'mnist' || s === 'fashion-mnist' || s === 'fashion_mnist') return undefined;
  const dir = path.resolve(cwd ?? process.cwd(), s);
  try {
    if (!fs.statSync(dir).isDirectory() || findIdxFiles(dir) || detectCifar(dir)) return undefined;
    const train = path.join(dir, 'train');
    if (fs.existsSync(train) && fs.statSync(train).isDirectory() && hasClassFolders(train)) return dir;
    return hasClassFolders(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A quick check of a dataset spec before a run starts (no data is read): one line naming the
 * problem, or undefined. `imageFolders`: whether the engine reads image folders (torch).
 */
export function datasetSpecProblem(spec: string, cwd: string, imageFolders: boolean): string | undefined {
  const s = spec.trim();
  if (s === 'mnist') return undefined;
  if (s === 'fashion-mnist' || s === 'fashion_mnist') {
    return fs.existsSync(FASHION_MNIST_DEBIAN_DIR) ? undefined : `dataset 'fashion-mnist': ${FASHION_MNIST_DEBIAN_DIR} not found (install Debian's dataset-fashion-mnist package, or pass the folder holding the IDX files)`;
  }
  const dir = path.resolve(cwd, s);
  if (!fs.existsSync(dir)) return `dataset '${spec}': no such folder ${dir} (built-in names: mnist, fashion-mnist)`;
  if (!fs.statSync(dir).isDirectory()) return `dataset '${spec}': ${dir} is a file; pass the folder holding the IDX or CIFAR binary files${imageFolders ? ', or an image folder (one subfolder per class)' : ''}`;
  const known = (d: string): boolean => !!(findIdxFiles(d) || detectCifar(d));
  if (known(dir)) return undefined;
  if (imageFolderRoot(dir)) return imageFolders ? undefined : `dataset '${spec}': ${dir} is an image folder (one subfolder per class); image folders are read by the torch engine: add --engine torch`;
  const subs = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && known(path.join(dir, e.name)));
  if (subs.length === 1) return undefined;
  return `dataset '${spec}': unrecognised layout in ${dir}: expected IDX files, CIFAR binary batches${imageFolders ? ', or an image folder (<dir>/<class>/<image>, or train/ and test/ folders in that layout)' : ''}`;
}

/** Applies maxTrain / imbalance / labelNoise to the training split (returns a new Dataset). */
export function transformTrain(base: Dataset, opts: LoadOptions): Dataset {
  const seed = opts.seed ?? 0;
  const ppi = base.shape[0] * base.shape[1] * base.shape[2];
  let train = base.train;
  const transforms: string[] = [];
  if (opts.maxTrain !== undefined) {
    train = stratifiedSubset(train, base.numClasses, opts.maxTrain, ppi, Rng.derive(seed, 'data', 'maxTrain'));
    transforms.push(`maxTrain ${opts.maxTrain} (stratified, seed ${seed})`);
  }
  if (opts.imbalance !== undefined && opts.imbalance !== 1) {
    train = applyImbalance(train, base.numClasses, opts.imbalance, ppi, Rng.derive(seed, 'data', 'imbalance'));
    transforms.push(`imbalance ratio ${opts.imbalance} (long-tailed, seed ${seed})`);
  }
  if (opts.labelNoise !== undefined && opts.labelNoise !== 0) {
    train = applyLabelNoise(train, base.numClasses, opts.labelNoise, Rng.derive(seed, 'data', 'labelNoise'));
    transforms.push(`labelNoise ${opts.labelNoise} (symmetric, seed ${seed})`);
  }
  if (transforms.length === 0) return base;
  return {
    ...base,
    train,
    info: base.info && {
      ...base.info,
      trainClassCounts: classCounts(train.cleanLabels ?? train.labels, base.numClasses),
      transforms: [...base.info.transforms, ...transforms],
    },
  };
}

/** Synchronous loader (see the module comment). Throws an Error naming the file and the problem. */
export function loadDatasetSync(spec: string, opts: LoadOptions = {}): Dataset {
  return transformTrain(loadBase(spec, opts), opts);
}

/** Promise form of loadDatasetSync: rejects with the same Errors. */
export async function loadDataset(spec: string, opts: LoadOptions = {}): Promise<Dataset> {
  return loadDatasetSync(spec, opts);
}
