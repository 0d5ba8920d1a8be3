/**
 * LMDS: the file a Node-side dataset is handed to the torch runner in, so that both engines
 * train on exactly the same splits (the embedded MNIST's stratified split, IDX and CIFAR
 * validation hold-outs, maxTrain, noise, imbalance). Format in protocol/torch-task.ts.
 *
 * Images are stored as uint8 when every value is exactly k/255 (CIFAR, IDX: 4x smaller; the
 * runner's uint8/255 in float32 gives back the same float32), else as float32 (the embedded
 * MNIST's JSON values are not k/255). Files are named by a hash of their content and written
 * atomically, so concurrent workers share one file and never read a torn one.
 *
 * Segmentation data (`writeSegLmds`) goes in the segmentation variant of the format: the same
 * images, uint8 masks instead of labels, and the training split's distance maps when the loss
 * reads them.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Dataset, Split } from '../../data/types';
import type { SegDataset, SegSplit } from '../../data/segmentation';

const MAGIC = 'LMDS1\n';
const SPLITS = ['train', 'val', 'test'] as const;

function isByteScaled(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const k = Math.round(v * 255);
    if (k < 0 || k > 255 || Math.fround(k / 255) !== v) return false;
  }
  return true;
}

const align8 = (n: number): number => (n + 7) & ~7;

/** The folder LMDS files are cached in (LOSSMITH_DATA_CACHE overrides). */
export function dataCacheDir(): string {
  return process.env.LOSSMITH_DATA_CACHE ?? path.join(os.tmpdir(), `lossmith-data-${os.userInfo().uid}`);
}

/** Writes `ds` as an LMDS file (once per content) and returns its path. */
export function writeLmds(ds: Dataset, dir = dataCacheDir()): string {
  const splits: Record<string, Split> = { train: ds.train, val: ds.val, test: ds.test };
  const uint8 = SPLITS.every((s) => isByteScaled(splits[s].x));
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify({ name: ds.name, shape: ds.shape, classes: ds.numClasses, uint8 }));
  for (const s of SPLITS) {
    hash.update(Buffer.from(splits[s].x.buffer, splits[s].x.byteOffset, splits[s].x.byteLength));
    hash.update(Buffer.from(splits[s].labels.buffer, splits[s].labels.byteOffset, splits[s].labels.byteLength));
  }
  const file = path.join(dir, `${ds.name.replace(/[^\w.-]+/g, '_')}-${hash.digest('hex').slice(0, 24)}.lmds`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });

  // Layout: magic, header length, header, then per split x and labels at 8-byte aligned offsets.
  const bodies: { buf: Buffer; offset: number }[] = [];
  const meta: Record<string, { n: number; x: number; labels: number }> = {};
  const headerFor = (base: number): string => {
    let off = base;
    const m: typeof meta = {};
    for (const s of SPLITS) {
      const sp = splits[s];
      const xBytes = uint8 ? sp.x.length : sp.x.byteLength;
      m[s] = { n: sp.n, x: off, labels: align8(off + xBytes) };
      off = align8(m[s].labels + sp.labels.byteLength);
    }
    Object.assign(meta, m);
    return JSON.stringify({ name: ds.name, shape: ds.shape, classes: ds.numClasses, dtype: uint8 ? 'uint8' : 'float32', splits: m, info: ds.info ?? null });
  };
  // The header's own length moves the offsets: iterate until stable (twice at most in practice).
  let base = align8(MAGIC.length + 4 + 256);
  let header = headerFor(base);
  while (align8(MAGIC.length + 4 + Buffer.byteLength(header)) !== base) {
    base = align8(MAGIC.length + 4 + Buffer.byteLength(header));
    header = headerFor(base);
  }
  const head = Buffer.alloc(base);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(Buffer.byteLength(header), MAGIC.length);
  head.write(header, MAGIC.length + 4, 'utf8');
  for (const s of SPLITS) {
    const sp = splits[s];
    const xb = uint8 ? Buffer.from(Uint8Array.from(sp.x, (v) => Math.round(v * 255))) : Buffer.from(sp.x.buffer, sp.x.byteOffset, sp.x.byteLength);
    bodies.push({ buf: xb, offset: meta[s].x });
    bodies.push({ buf: Buffer.from(sp.labels.buffer, sp.labels.byteOffset, sp.labels.byteLength), offset: meta[s].labels });
  }
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, head, 0, head.length, 0);
    for (const b of bodies) fs.writeSync(fd, b.buf, 0, b.buf.length, b.offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return file;
}

/**
 * Writes a segmentation data set as the segmentation variant of LMDS (format in
 * protocol/torch-task.ts, TorchSegDataJson): images as writeLmds stores them (uint8 when every
 * value is k/255, else float32), masks uint8 [n, H, W] and, when `trainDist` is given (losses
 * that read dist), the training split's signed distance maps float32 [n, H, W, classes].
 * Named by a hash of the content and written atomically, like writeLmds.
 */
export function writeSegLmds(ds: SegDataset, trainDist?: Float32Array, dir = dataCacheDir()): string {
  const { height: H, width: W, channels: CH, classes: K } = ds;
  if (K > 256) throw new Error(`segmentation data ${ds.name} has ${K} classes; the torch engine takes at most 256 (uint8 masks)`);
  if (trainDist && trainDist.length !== ds.train.n * H * W * K) {
    throw new Error(`internal: distance maps of ${trainDist.length} values for ${ds.train.n} training images of ${H}x${W}x${K}`);
  }
  const splits: Record<string, SegSplit> = { train: ds.train, val: ds.val, test: ds.test };
  const uint8 = SPLITS.every((s) => isByteScaled(splits[s].images));
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify({ kind: 'segmentation', name: ds.name, shape: [H, W, CH], classes: K, uint8, dist: !!trainDist }));
  for (const s of SPLITS) {
    const sp = splits[s];
    hash.update(Buffer.from(sp.images.buffer, sp.images.byteOffset, sp.images.byteLength));
    hash.update(Buffer.from(sp.masks.buffer, sp.masks.byteOffset, sp.masks.byteLength));
  }
  const file = path.join(dir, `${ds.name.replace(/[^\w.-]+/g, '_')}-seg-${hash.digest('hex').slice(0, 24)}.lmds`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });

  // The arrays in file order; their offsets depend on the header's length, which depends on them.
  const parts: { split: string; key: 'x' | 'masks' | 'dist'; buf: Buffer }[] = [];
  for (const s of SPLITS) {
    const sp = splits[s];
    const x = uint8 ? Buffer.from(Uint8Array.from(sp.images, (v) => Math.round(v * 255))) : Buffer.from(sp.images.buffer, sp.images.byteOffset, sp.images.byteLength);
    parts.push({ split: s, key: 'x', buf: x });
    parts.push({ split: s, key: 'masks', buf: Buffer.from(Uint8Array.from(sp.masks)) });
    if (s === 'train' && trainDist) parts.push({ split: s, key: 'dist', buf: Buffer.from(trainDist.buffer, trainDist.byteOffset, trainDist.byteLength) });
  }
  const offsets: number[] = [];
  const headerFor = (base: number): string => {
    const m: Record<string, Record<string, number>> = {};
    for (const s of SPLITS) m[s] = { n: splits[s].n };
    let off = base;
    parts.forEach((p, i) => {
      offsets[i] = off;
      m[p.split][p.key] = off;
      off = align8(off + p.buf.length);
    });
    return JSON.stringify({ kind: 'segmentation', name: ds.name, shape: [H, W, CH], classes: K, dtype: uint8 ? 'uint8' : 'float32', splits: m });
  };
  let base = align8(MAGIC.length + 4 + 256);
  let header = headerFor(base);
  while (align8(MAGIC.length + 4 + Buffer.byteLength(header)) !== base) {
    base = align8(MAGIC.length + 4 + Buffer.byteLength(header));
    header = headerFor(base);
  }
  const head = Buffer.alloc(base);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(Buffer.byteLength(header), MAGIC.length);
  head.write(header, MAGIC.length + 4, 'utf8');
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, head, 0, head.length, 0);
    parts.forEach((p, i) => fs.writeSync(fd, p.buf, 0, p.buf.length, offsets[i]));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return file;
}
