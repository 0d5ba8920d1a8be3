/**
 * IDX reader (the MNIST / Fashion-MNIST / KMNIST file format, http://yann.lecun.com/exdb/mnist/):
 * a 4-byte magic number (0, 0, type code, number of dimensions), one big-endian uint32 per
 * dimension, then the data in row-major order, big-endian. Files may be gzip-compressed
 * (detected from the gzip magic bytes, whatever the file name).
 *
 * A dataset folder holds the four standard files (`train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, optionally
 * with `.gz`, or with a `.` instead of the last `-` as some mirrors spell them). t10k is the
 * test split; a stratified, fixed-seed fraction (default 10%) of train is held out as
 * validation.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { Rng } from '../rng';
import type { Dataset, Split } from './types';
import { classCounts, stratifiedSplitIndices, takeSamples } from './split';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  /** 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64' */
  dtype: string;
  dims: number[];
  data: IdxData;
}

const TYPES: Record<number, { name: string; size: number }> = {
  0x08: { name: 'u8', size: 1 },
  0x09: { name: 'i8', size: 1 },
  0x0b: { name: 'i16', size: 2 },
  0x0c: { name: 'i32', size: 4 },
  0x0d: { name: 'f32', size: 4 },
  0x0e: { name: 'f64', size: 8 },
};

/** Seed of the validation hold-out of IDX and CIFAR training sets (fixed: never the run seed). */
export const HOLDOUT_SEED = 20240611;

/** Reads a file, gunzipping it if it starts with the gzip magic bytes. */
export function readMaybeGzip(file: string): Buffer {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      throw new Error(`${file}: corrupt or truncated gzip data: ${(e as Error).message}`);
    }
  }
  return buf;
}

/** Parses an IDX buffer; `file` is used in error messages. */
export function parseIdx(buf: Buffer, file: string): IdxArray {
  if (buf.length < 4) throw new Error(`${file}: truncated IDX file: ${buf.length} bytes, too short for the 4-byte magic number`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(
      `${file}: wrong magic number 0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')}: an IDX file starts with two zero bytes`,
    );
  }
  const type = TYPES[buf[2]];
  if (!type) throw new Error(`${file}: wrong magic number: unknown IDX data type code 0x${buf[2].toString(16)}`);
  const ndim = buf[3];
  if (ndim === 0) throw new Error(`${file}: wrong magic number: IDX file with 0 dimensions`);
  const header = 4 + 4 * ndim;
  if (buf.length < header) {
    throw new Error(`${file}: truncated IDX file: header declares ${ndim} dimensions (${header} bytes) but the file has ${buf.length} bytes`);
  }
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const need = header + count * type.size;
  if (buf.length < need) {
    throw new Error(
      `${file}: truncated IDX file: dimensions ${dims.join('x')} of ${type.name} need ${need} bytes, the file has ${buf.length}`,
    );
  }
  if (buf.length > need) {
    throw new Error(
      `${file}: ${buf.length - need} unexpected trailing bytes after ${dims.join('x')} ${type.name} values (${need} bytes expected)`,
    );
  }
  let data: IdxData;
  const body = buf.subarray(header, need);
  switch (type.name) {
    case 'u8':
      data = new Uint8Array(body);
      break;
    case 'i8':
      data = new Int8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
      break;
    default: {
      const Ctor = { i16: Int16Array, i32: Int32Array, f32: Float32Array, f64: Float64Array }[type.name as 'i16'];
      const arr = new Ctor(count);
      const dv = new DataView(body.buffer, body.byteOffset, body.length);
      for (let i = 0; i < count; i++) {
        const o = i * type.size;
        arr[i] =
          type.name === 'i16' ? dv.getInt16(o, false)
          : type.name === 'i32' ? dv.getInt32(o, false)
          : type.name === 'f32' ? dv.getFloat32(o, false)
          : dv.getFloat64(o, false);
      }
      data = arr;
    }
  }
  return { dtype: type.name, dims, data };
}

export function readIdxFile(file: string): IdxArray {
  return parseIdx(readMaybeGzip(file), file);
}

/** Serialises an IDX array (big-endian); used by tests and tools that write small IDX files. */
export function encodeIdx(dtype: 'u8' | 'i32' | 'f32', dims: number[], values: ArrayLike<number>): Buffer {
  const code = { u8: 0x08, i32: 0x0c, f32: 0x0d }[dtype];
  const size = { u8: 1, i32: 4, f32: 4 }[dtype];
  const buf = Buffer.alloc(4 + 4 * dims.length + values.length * size);
  buf[2] = code;
  buf[3] = dims.length;
  dims.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  let o = 4 + 4 * dims.length;
  for (let i = 0; i < values.length; i++, o += size) {
    if (dtype === 'u8') buf[o] = values[i];
    else if (dtype === 'i32') buf.writeInt32BE(values[i], o);
    else buf.writeFloatBE(values[i], o);
  }
  return buf;
}

const ROLES = {
  trainImages: /^train-images[-.]idx3-ubyte(\.gz)?$/,
  trainLabels: /^train-labels[-.]idx1-ubyte(\.gz)?$/,
  testImages: /^t10k-images[-.]idx3-ubyte(\.gz)?$/,
  testLabels: /^t10k-labels[-.]idx1-ubyte(\.gz)?$/,
};
export type IdxRole = keyof typeof ROLES;
const CANONICAL: Record<IdxRole, string> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** The four IDX files of a folder, or null if it holds none of them; throws if some are missing or duplicated. */
export function findIdxFiles(dir: string): Record<IdxRole, string> | null {
  const names = fs.readdirSync(dir);
  const found: Partial<Record<IdxRole, string>> = {};
  for (const role of Object.keys(ROLES) as IdxRole[]) {
    const hits = names.filter((n) => ROLES[role].test(n));
    if (hits.length > 1) throw new Error(`${dir}: ambiguous IDX files for ${role}: ${hits.join(', ')}`);
    if (hits.length === 1) found[role] = path.join(dir, hits[0]);
  }
  const have = Object.keys(found).length;
  if (have === 0) return null;
  if (have < 4) {
    const missing = (Object.keys(ROLES) as IdxRole[]).filter((r) => !found[r]);
    throw new Error(
      `${dir}: incomplete IDX dataset: missing ${missing.map((r) => CANONICAL[r] + '[.gz]').join(', ')}`,
    );
  }
  return found as Record<IdxRole, string>;
}

function imagesToSplit(images: IdxArray, labels: IdxArray, imgFile: string, lblFile: string, numClasses: number): { split: Split; shape: [number, number, number] } {
  if (images.dtype !== 'u8') throw new Error(`${imgFile}: images must be unsigned bytes (IDX type 0x08), got ${images.dtype}`);
  if (labels.dtype !== 'u8') throw new Error(`${lblFile}: labels must be unsigned bytes (IDX type 0x08), got ${labels.dtype}`);
  if (images.dims.length !== 3 && images.dims.length !== 4) {
    throw new Error(`${imgFile}: images must have 3 (n, h, w) or 4 (n, h, w, c) dimensions, got ${images.dims.length}`);
  }
  if (labels.dims.length !== 1) throw new Error(`${lblFile}: labels must have 1 dimension, got ${labels.dims.length}`);
  const [n, h, w] = images.dims;
  const c = images.dims.length === 4 ? images.dims[3] : 1;
  if (labels.dims[0] !== n) {
    throw new Error(`${lblFile}: label/image count mismatch: ${labels.dims[0]} labels but ${imgFile} holds ${n} images`);
  }
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels.data[i];
    if (v >= numClasses) {
      throw new Error(`${lblFile}: label out of range: label ${v} at index ${i}, expected 0..${numClasses - 1}`);
    }
    lab[i] = v;
  }
  const src = images.data as Uint8Array;
  const x = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) x[i] = src[i] / 255;
  return { split: { x, labels: lab, n }, shape: [h, w, c] };
}

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

export interface IdxLoadOptions {
  /** Classes the labels must lie in (default 10, as in MNIST, Fashion-MNIST and KMNIST). */
  numClasses?: number;
  /** Fraction of the training files held out as validation (stratified, fixed seed). Default 0.1. */
  valFraction?: number;
  /** Dataset name (default: the folder's name). */
  name?: string;
}

/** Loads an IDX dataset folder (see the module comment). */
export function loadIdxFolder(dir: string, opts: IdxLoadOptions = {}): Dataset {
  const files = findIdxFiles(dir);
  if (!files) throw new Error(`${dir}: no IDX files (expected train-images-idx3-ubyte[.gz] and the three others)`);
  const numClasses = opts.numClasses ?? 10;
  const valFraction = opts.valFraction ?? 0.1;
  if (!(valFraction > 0 && valFraction < 1)) throw new Error(`valFraction must be in (0, 1), got ${valFraction}`);
  const tr = imagesToSplit(readIdxFile(files.trainImages), readIdxFile(files.trainLabels), files.trainImages, files.trainLabels, numClasses);
  const te = imagesToSplit(readIdxFile(files.testImages), readIdxFile(files.testLabels), files.testImages, files.testLabels, numClasses);
  if (tr.shape.join('x') !== te.shape.join('x')) {
    throw new Error(`${files.testImages}: image shape ${te.shape.join('x')} differs from ${files.trainImages} (${tr.shape.join('x')})`);
  }
  const ppi = tr.shape[0] * tr.shape[1] * tr.shape[2];
  const rng = Rng.derive(HOLDOUT_SEED, 'idx-holdout');
  const [trainIdx, valIdx] = stratifiedSplitIndices(tr.split.labels, numClasses, [1 - valFraction, valFraction], rng);
  const train = takeSamples(tr.split, trainIdx, ppi);
  const name = opts.name ?? path.basename(path.resolve(dir));
  const ds: Dataset = {
    name,
    shape: tr.shape,
    numClasses,
    train,
    val: takeSamples(tr.split, valIdx, ppi),
    test: te.split,
    info: {
      format: 'idx',
      source: path.resolve(dir),
      split: `train file minus a stratified ${Math.round(valFraction * 100)}% validation hold-out (fixed seed ${HOLDOUT_SEED}); test = t10k file`,
      trainClassCounts: classCounts(train.labels, numClasses),
      transforms: [],
    },
  };
  if (/fashion/i.test(path.resolve(dir)) && numClasses === 10) ds.classNames = FASHION_MNIST_CLASSES.slice();
  return ds;
}
