import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { encodeIdx, loadDataset, loadDatasetSync, parseIdx, readIdxFile, parseCifarBatch, FASHION_MNIST_DEBIAN_DIR } from '../../../engine/src/data';
import { tmpDir } from '../../helpers/tmp';

function tmpdir(): string {
  return tmpDir('lossmith-data-');
}

/** Writes a tiny IDX dataset: nTrain/nTest images of h x w, pixel value = (index*7 + k) % 256. */
function writeIdx(
  dir: string,
  o: { nTrain?: number; nTest?: number; h?: number; w?: number; gz?: boolean; sep?: '-' | '.'; classes?: number } = {},
): { trainPix: number[]; trainLab: number[]; testPix: number[]; testLab: number[] } {
  const { nTrain = 40, nTest = 10, h = 3, w = 2, gz = false, sep = '-', classes = 10 } = o;
  const pix = (n: number, off: number) => Array.from({ length: n * h * w }, (_, k) => (k * 7 + off) % 256);
  const lab = (n: number) => Array.from({ length: n }, (_, i) => i % classes);
  const trainPix = pix(nTrain, 0);
  const testPix = pix(nTest, 3);
  const trainLab = lab(nTrain);
  const testLab = lab(nTest);
  const put = (name: string, buf: Buffer) => fs.writeFileSync(path.join(dir, name + (gz ? '.gz' : '')), gz ? zlib.gzipSync(buf) : buf);
  put(`train-images${sep}idx3-ubyte`, encodeIdx('u8', [nTrain, h, w], trainPix));
  put(`train-labels${sep}idx1-ubyte`, encodeIdx('u8', [nTrain], trainLab));
  put(`t10k-images${sep}idx3-ubyte`, encodeIdx('u8', [nTest, h, w], testPix));
  put(`t10k-labels${sep}idx1-ubyte`, encodeIdx('u8', [nTest], testLab));
  return { trainPix, trainLab, testPix, testLab };
}

test('parseIdx: header, big-endian dims and values, several dtypes', () => {
  const u8 = parseIdx(encodeIdx('u8', [2, 3], [0, 1, 2, 253, 254, 255]), 'a');
  assert.equal(u8.dtype, 'u8');
  assert.deepEqual(u8.dims, [2, 3]);
  assert.deepEqual(Array.from(u8.data), [0, 1, 2, 253, 254, 255]);
  // Hand-written bytes: magic 00 00 0C 01, dim 2, two big-endian int32 values.
  const raw = Buffer.from([0, 0, 0x0c, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0]);
  const i32 = parseIdx(raw, 'b');
  assert.deepEqual(i32.dims, [2]);
  assert.deepEqual(Array.from(i32.data), [-2, 256]);
  const f32 = parseIdx(encodeIdx('f32', [1, 2], [0.5, -1.25]), 'c');
  assert.deepEqual(Array.from(f32.data), [0.5, -1.25]);
  // 300 x 1 dims to exercise multi-byte dimension sizes.
  const big = parseIdx(encodeIdx('u8', [300, 1], new Array(300).fill(9)), 'd');
  assert.deepEqual(big.dims, [300, 1]);
});

test('parseIdx: malformed input names the file and the problem', () => {
  assert.throws(() => parseIdx(Buffer.from([0, 0]), 'f.idx'), /f\.idx: truncated IDX file/);
  assert.throws(() => parseIdx(Buffer.from([1, 2, 8, 1, 0, 0, 0, 0]), 'f.idx'), /f\.idx: wrong magic number 0x01020801/);
  assert.throws(() => parseIdx(Buffer.from([0, 0, 0x42, 1, 0, 0, 0, 0]), 'f.idx'), /f\.idx: wrong magic number: unknown IDX data type code 0x42/);
  const good = encodeIdx('u8', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.throws(() => parseIdx(good.subarray(0, good.length - 1), 'f.idx'), /f\.idx: truncated IDX file: dimensions 4x2 of u8 need 20 bytes, the file has 19/);
  assert.throws(() => parseIdx(good.subarray(0, 9), 'f.idx'), /f\.idx: truncated IDX file: header declares 2 dimensions/);
  assert.throws(() => parseIdx(Buffer.concat([good, Buffer.from([0])]), 'f.idx'), /f\.idx: 1 unexpected trailing bytes/);
});

test('readIdxFile: gzip detected from content; corrupt gzip reported', () => {
  const dir = tmpdir();
  const buf = encodeIdx('u8', [3], [7, 8, 9]);
  fs.writeFileSync(path.join(dir, 'plain'), buf);
  fs.writeFileSync(path.join(dir, 'z.gz'), zlib.gzipSync(buf));
  assert.deepEqual(Array.from(readIdxFile(path.join(dir, 'plain')).data), [7, 8, 9]);
  assert.deepEqual(Array.from(readIdxFile(path.join(dir, 'z.gz')).data), [7, 8, 9]);
  const gz = zlib.gzipSync(buf);
  fs.writeFileSync(path.join(dir, 'cut.gz'), gz.subarray(0, gz.length - 6));
  assert.throws(() => readIdxFile(path.join(dir, 'cut.gz')), (e: Error) => e.message.includes('cut.gz') && /corrupt or truncated gzip/.test(e.message));
});

for (const variant of [{ gz: false, sep: '-' as const }, { gz: true, sep: '-' as const }, { gz: false, sep: '.' as const }]) {
  test(`IDX folder (gz=${variant.gz}, separator '${variant.sep}'): pixels /255, t10k is test, stratified 10% validation`, async () => {
    const dir = tmpdir();
    const ref = writeIdx(dir, { nTrain: 100, nTest: 10, ...variant });
    const ds = await loadDataset(dir);
    assert.deepEqual(ds.shape, [3, 2, 1]);
    assert.equal(ds.numClasses, 10);
    assert.equal(ds.train.n, 90);
    assert.equal(ds.val.n, 10); // 10 per class, 10% -> 1 per class
    assert.equal(ds.test.n, 10);
    assert.equal(ds.info?.format, 'idx');
    // Test split is the t10k file in file order, exactly /255.
    assert.deepEqual(Array.from(ds.test.labels), ref.testLab);
    assert.deepEqual(Array.from(ds.test.x), ref.testPix.map((v) => Math.fround(v / 255)));
    // train + val is exactly the training file (as a multiset of (label, image) rows).
    const rows = (x: Float32Array, l: Int32Array, n: number) =>
      Array.from({ length: n }, (_, i) => `${l[i]}:${Array.from(x.subarray(i * 6, i * 6 + 6)).join(',')}`);
    const got = [...rows(ds.train.x, ds.train.labels, ds.train.n), ...rows(ds.val.x, ds.val.labels, ds.val.n)].sort();
    const want = rows(Float32Array.from(ref.trainPix.map((v) => v / 255)), Int32Array.from(ref.trainLab), 100).sort();
    assert.deepEqual(got, want);
    // Deterministic: loading again gives the same split.
    const again = loadDatasetSync(dir);
    assert.deepEqual(again.train.labels, ds.train.labels);
    assert.deepEqual(again.val.x, ds.val.x);
  });
}

test('IDX validation hold-out is stratified per class', () => {
  const dir = tmpdir();
  writeIdx(dir, { nTrain: 200, nTest: 10, classes: 4 });
  const ds = loadDatasetSync(dir, { numClasses: 4 });
  assert.equal(ds.val.n, 20);
  const counts = [0, 0, 0, 0];
  ds.val.labels.forEach((l) => counts[l]++);
  assert.deepEqual(counts, [5, 5, 5, 5]);
  assert.deepEqual(ds.info?.trainClassCounts, [45, 45, 45, 45]);
});

test('IDX folder: malformed datasets reject with the file and the problem', async () => {
  // Label / image count mismatch.
  let dir = tmpdir();
  writeIdx(dir);
  fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx('u8', [39], new Array(39).fill(1)));
  await assert.rejects(loadDataset(dir), /train-labels-idx1-ubyte: label\/image count mismatch: 39 labels but .*train-images-idx3-ubyte holds 40 images/);
  // Label out of range (default 10 classes).
  dir = tmpdir();
  writeIdx(dir);
  fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), encodeIdx('u8', [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 10]));
  await assert.rejects(loadDataset(dir), /t10k-labels-idx1-ubyte: label out of range: label 10 at index 9, expected 0\.\.9/);
  // Truncated image file.
  dir = tmpdir();
  writeIdx(dir);
  const f = path.join(dir, 'train-images-idx3-ubyte');
  fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 100));
  await assert.rejects(loadDataset(dir), /train-images-idx3-ubyte: truncated IDX file/);
  // Wrong magic (a CIFAR-ish random file under an IDX name).
  dir = tmpdir();
  writeIdx(dir);
  fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), Buffer.from([0x1a, 0x2b, 0x3c, 0x4d, 0, 0, 0, 0]));
  await assert.rejects(loadDataset(dir), /t10k-images-idx3-ubyte: wrong magic number 0x1a2b3c4d/);
  // Missing file.
  dir = tmpdir();
  writeIdx(dir);
  fs.unlinkSync(path.join(dir, 't10k-labels-idx1-ubyte'));
  await assert.rejects(loadDataset(dir), /incomplete IDX dataset: missing t10k-labels-idx1-ubyte/);
  // Labels stored with the wrong rank / type.
  dir = tmpdir();
  writeIdx(dir);
  fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx('i32', [40], new Array(40).fill(1)));
  await assert.rejects(loadDataset(dir), /train-labels-idx1-ubyte: labels must be unsigned bytes/);
  // Not a dataset at all.
  dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'readme.txt'), 'hi');
  await assert.rejects(loadDataset(dir), /unrecognised format/);
  await assert.rejects(loadDataset(path.join(dir, 'nope')), /no such folder/);
  await assert.rejects(loadDataset(path.join(dir, 'readme.txt')), /is a file/);
});

/** A CIFAR record: label byte(s) then 3072 bytes, pixel (ch, k) = (ch*50 + k + seed) % 256. */
function cifarRecord(labels: number[], seed: number): Buffer {
  const b = Buffer.alloc(labels.length + 3072);
  labels.forEach((l, i) => (b[i] = l));
  for (let ch = 0; ch < 3; ch++) for (let k = 0; k < 1024; k++) b[labels.length + ch * 1024 + k] = (ch * 50 + k + seed) % 256;
  return b;
}

test('CIFAR-10 batch: CHW bytes -> NHWC [0,1], exact', () => {
  const buf = Buffer.concat([cifarRecord([3], 0), cifarRecord([9], 11)]);
  const s = parseCifarBatch(buf, 'b.bin', 'cifar10');
  assert.equal(s.n, 2);
  assert.deepEqual(Array.from(s.labels), [3, 9]);
  // Pixel (row 0, col 1) of image 0: R = 1, G = 51, B = 101.
  assert.deepEqual(Array.from(s.x.subarray(3, 6)), [1, 51, 101].map((v) => Math.fround(v / 255)));
  // Pixel (row 2, col 5) of image 1: k = 69 -> R = 80, G = 130, B = 180.
  const o = 3072 + (2 * 32 + 5) * 3;
  assert.deepEqual(Array.from(s.x.subarray(o, o + 3)), [80, 130, 180].map((v) => Math.fround(v / 255)));
});

test('CIFAR-10 folder: 5 training batches + test batch; nested folder followed; names from batches.meta.txt', async () => {
  const root = tmpdir();
  const dir = path.join(root, 'cifar-10-batches-bin');
  fs.mkdirSync(dir);
  for (let b = 1; b <= 5; b++) {
    fs.writeFileSync(path.join(dir, `data_batch_${b}.bin`), Buffer.concat(Array.from({ length: 10 }, (_, i) => cifarRecord([i], b))));
  }
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat([cifarRecord([4], 0), cifarRecord([2], 1), cifarRecord([7], 2)]));
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n');
  const ds = await loadDataset(root);
  assert.equal(ds.info?.format, 'cifar10');
  assert.deepEqual(ds.shape, [32, 32, 3]);
  assert.equal(ds.numClasses, 10);
  assert.equal(ds.train.n + ds.val.n, 50);
  assert.equal(ds.val.n, 10); // 5 per class * 10% = 0.5 -> rounds to 1 per class
  assert.deepEqual(Array.from(ds.test.labels), [4, 2, 7]);
  assert.equal(ds.classNames?.[9], 'j');
  assert.equal(ds.test.x.length, 3 * 3072);
});

test('CIFAR-100: fine label used, coarse label checked; errors name the file', async () => {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'train.bin'), Buffer.concat(Array.from({ length: 20 }, (_, i) => cifarRecord([i % 20, 99 - i], i))));
  fs.writeFileSync(path.join(dir, 'test.bin'), Buffer.concat([cifarRecord([19, 42], 0)]));
  const ds = loadDatasetSync(dir);
  assert.equal(ds.info?.format, 'cifar100');
  assert.equal(ds.numClasses, 100);
  assert.deepEqual(Array.from(ds.test.labels), [42]);
  assert.equal(ds.classNames?.[42], 'leopard');
  assert.deepEqual([11, 35, 46, 98].map((i) => ds.classNames?.[i]), ['boy', 'girl', 'man', 'woman']);
  assert.equal(ds.classNames?.length, 100);
  const all = [...ds.train.labels, ...ds.val.labels].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => 80 + i));

  fs.writeFileSync(path.join(dir, 'test.bin'), cifarRecord([3, 100], 0));
  await assert.rejects(loadDataset(dir), /test\.bin: label out of range: 100 in record 0, expected 0\.\.99/);
  fs.writeFileSync(path.join(dir, 'test.bin'), cifarRecord([20, 1], 0));
  await assert.rejects(loadDataset(dir), /test\.bin: coarse label out of range: 20/);
  fs.writeFileSync(path.join(dir, 'test.bin'), cifarRecord([3, 1], 0).subarray(0, 3000));
  await assert.rejects(loadDataset(dir), /test\.bin: truncated or not a CIFAR-100 batch: 3000 bytes is not a multiple of the 3074-byte record/);
});

test('CIFAR-10: label out of range, truncated batch, missing batch', async () => {
  const dir = tmpdir();
  for (let b = 1; b <= 5; b++) fs.writeFileSync(path.join(dir, `data_batch_${b}.bin`), cifarRecord([b], b));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarRecord([10], 0));
  await assert.rejects(loadDataset(dir), /test_batch\.bin: label out of range: 10 in record 0, expected 0\.\.9/);
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat([cifarRecord([1], 0), Buffer.alloc(5)]));
  await assert.rejects(loadDataset(dir), /test_batch\.bin: truncated or not a CIFAR-10 batch: 3078 bytes .*1 whole records \+ 5 bytes/);
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarRecord([1], 0));
  fs.unlinkSync(path.join(dir, 'data_batch_4.bin'));
  await assert.rejects(loadDataset(dir), /data_batch_4\.bin: missing file of the CIFAR-10 dataset/);
});

test('real Fashion-MNIST from Debian (dataset-fashion-mnist), if installed', (t) => {
  if (!fs.existsSync(path.join(FASHION_MNIST_DEBIAN_DIR, 'train-images-idx3-ubyte.gz'))) {
    // CI installs the package (.ci/run): there a missing file is a failure, not a skip.
    if (process.env.CI === 'true') assert.fail(`${FASHION_MNIST_DEBIAN_DIR} not present in CI: .ci/run must apt-get install dataset-fashion-mnist`);
    t.skip(`${FASHION_MNIST_DEBIAN_DIR} not present: apt-get install -y dataset-fashion-mnist to run this test`);
    return;
  }
  const lab = readIdxFile(path.join(FASHION_MNIST_DEBIAN_DIR, 'train-labels-idx1-ubyte.gz'));
  assert.deepEqual(lab.dims, [60000]);
  // First ten training labels of Fashion-MNIST (9 = ankle boot, 0 = T-shirt, ...).
  assert.deepEqual(Array.from(lab.data.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  const ds = loadDatasetSync('fashion-mnist');
  assert.deepEqual(ds.shape, [28, 28, 1]);
  assert.equal(ds.train.n, 54000);
  assert.equal(ds.val.n, 6000);
  assert.equal(ds.test.n, 10000);
  assert.deepEqual(ds.info?.trainClassCounts, new Array(10).fill(5400));
  assert.equal(ds.classNames?.[9], 'Ankle boot');
  // The commonly quoted per-pixel mean of the Fashion-MNIST training set is 0.2860.
  let s = 0;
  for (const v of ds.train.x) s += v;
  for (const v of ds.val.x) s += v;
  assert.ok(Math.abs(s / (60000 * 784) - 0.286) < 5e-4);
});
