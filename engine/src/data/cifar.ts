/**
 * CIFAR-10 / CIFAR-100 binary-version reader (https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * CIFAR-10 (`cifar-10-batches-bin`): data_batch_1.bin .. data_batch_5.bin and test_batch.bin,
 * each a sequence of 3073-byte records: 1 label byte (0..9), then 3072 pixel bytes, channel
 * planes R, G, B of 32x32 row-major (CHW). CIFAR-100 (`cifar-100-binary`): train.bin and
 * test.bin with 3074-byte records: coarse label (0..19), fine label (0..99), 3072 pixel bytes;
 * the fine label is used. Pixels are converted to NHWC float32 in [0, 1]. Class names come
 * from batches.meta.txt / fine_label_names.txt when present, else the published lists.
 * A stratified fixed-seed fraction (default 10%, i.e. 45,000/5,000) of train is held out as
 * validation; the test file is the test split.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../rng';
import type { Dataset, Split } from './types';
import { classCounts, stratifiedSplitIndices, takeSamples } from './split';
import { HOLDOUT_SEED } from './idx';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const CIFAR100_CLASSES = (
  'apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle ' +
  'caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish ' +
  'forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle ' +
  'mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy ' +
  'porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider ' +
  'squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle ' +
  'wardrobe whale willow_tree wolf woman worm'
).split(' ');

const PIXELS = 32 * 32 * 3;

export type CifarVariant = 'cifar10' | 'cifar100';

/** Decodes one binary batch file into a Split (NHWC [0,1]); validates length and label range. */
export function parseCifarBatch(buf: Buffer, file: string, variant: CifarVariant): Split {
  const labelBytes = variant === 'cifar10' ? 1 : 2;
  const rec = labelBytes + PIXELS;
  if (buf.length === 0) throw new Error(`${file}: empty CIFAR batch file`);
  if (buf.length % rec !== 0) {
    throw new Error(
      `${file}: truncated or not a ${variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} batch: ${buf.length} bytes is not a multiple of the ${rec}-byte record (${Math.floor(buf.length / rec)} whole records + ${buf.length % rec} bytes)`,
    );
  }
  const n = buf.length / rec;
  const labels = new Int32Array(n);
  const x = new Float32Array(n * PIXELS);
  const maxLabel = variant === 'cifar10' ? 9 : 99;
  for (let i = 0; i < n; i++) {
    const o = i * rec;
    if (variant === 'cifar100' && buf[o] > 19) {
      throw new Error(`${file}: coarse label out of range: ${buf[o]} in record ${i}, expected 0..19`);
    }
    const lab = buf[o + labelBytes - 1];
    if (lab > maxLabel) throw new Error(`${file}: label out of range: ${lab} in record ${i}, expected 0..${maxLabel}`);
    labels[i] = lab;
    const p = o + labelBytes;
    const out = i * PIXELS;
    for (let ch = 0; ch < 3; ch++) {
      const plane = p + ch * 1024;
      for (let k = 0; k < 1024; k++) x[out + k * 3 + ch] = buf[plane + k] / 255;
    }
  }
  return { x, labels, n };
}

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
}

function concat(splits: Split[]): Split {
  const n = splits.reduce((s, p) => s + p.n, 0);
  const x = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  let at = 0;
  for (const s of splits) {
    x.set(s.x, at * PIXELS);
    labels.set(s.labels, at);
    at += s.n;
  }
  return { x, labels, n };
}

/** Which CIFAR variant a folder holds, or null. */
export function detectCifar(dir: string): CifarVariant | null {
  const names = new Set(fs.readdirSync(dir));
  if (names.has('data_batch_1.bin') || names.has('test_batch.bin')) return 'cifar10';
  if (names.has('train.bin') && names.has('test.bin')) return 'cifar100';
  return null;
}

function readNames(file: string, expected: number): string[] | null {
  if (!fs.existsSync(file)) return null;
  const names = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  return names.length === expected ? names : null;
}

export interface CifarLoadOptions {
  valFraction?: number;
  name?: string;
}

export function loadCifarFolder(dir: string, opts: CifarLoadOptions = {}): Dataset {
  const variant = detectCifar(dir);
  if (!variant) throw new Error(`${dir}: no CIFAR binary files (expected data_batch_1..5.bin + test_batch.bin, or train.bin + test.bin)`);
  const valFraction = opts.valFraction ?? 0.1;
  if (!(valFraction > 0 && valFraction < 1)) throw new Error(`valFraction must be in (0, 1), got ${valFraction}`);
  let trainFiles: string[];
  let testFile: string;
  if (variant === 'cifar10') {
    trainFiles = [1, 2, 3, 4, 5].map((i) => path.join(dir, `data_batch_${i}.bin`));
    testFile = path.join(dir, 'test_batch.bin');
  } else {
    trainFiles = [path.join(dir, 'train.bin')];
    testFile = path.join(dir, 'test.bin');
  }
  for (const f of [...trainFiles, testFile]) {
    if (!fs.existsSync(f)) throw new Error(`${f}: missing file of the ${variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} dataset in ${dir}`);
  }
  const numClasses = variant === 'cifar10' ? 10 : 100;
  const full = concat(trainFiles.map((f) => parseCifarBatch(readFile(f), f, variant)));
  const test = parseCifarBatch(readFile(testFile), testFile, variant);
  const rng = Rng.derive(HOLDOUT_SEED, `${variant}-holdout`);
  const [trainIdx, valIdx] = stratifiedSplitIndices(full.labels, numClasses, [1 - valFraction, valFraction], rng);
  const train = takeSamples(full, trainIdx, PIXELS);
  const classNames =
    variant === 'cifar10'
      ? readNames(path.join(dir, 'batches.meta.txt'), 10) ?? CIFAR10_CLASSES.slice()
      : readNames(path.join(dir, 'fine_label_names.txt'), 100) ?? CIFAR100_CLASSES.slice();
  return {
    name: opts.name ?? variant,
    shape: [32, 32, 3],
    numClasses,
    classNames,
    train,
    val: takeSamples(full, valIdx, PIXELS),
    test,
    info: {
      format: variant,
      source: path.resolve(dir),
      split: `training batches minus a stratified ${Math.round(valFraction * 100)}% validation hold-out (fixed seed ${HOLDOUT_SEED}); test = ${path.basename(testFile)}`,
      trainClassCounts: classCounts(train.labels, numClasses),
      transforms: [],
    },
  };
}
