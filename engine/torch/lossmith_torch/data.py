"""Data sets: readers for the three `task.data` kinds, and their copy on the device.

A `Dataset` holds three splits as CPU tensors: images NCHW (uint8, or float32 in [0, 1] from a
float LMDS file) and int64 labels. Readers:

- `tensors`: the LMDS file the Node side writes (format in protocol/torch-task.ts): the exact
  splits the tfjs engine trains on. Read once into a bytearray and viewed with
  torch.frombuffer, converted from NHWC to NCHW once.
- `cifar`: a folder of CIFAR-10 (data_batch_1..5.bin + test_batch.bin, 1 label byte + 3072
  CHW pixel bytes per record) or CIFAR-100 (train.bin + test.bin, coarse + fine label byte;
  the fine label is used) binary files, or a folder holding exactly one such folder. The
  validation split is the tfjs engine's: a stratified 10% of the training files drawn with
  the Rng port (rng.py, split.py) from the same fixed seed, so both engines validate on the
  same 5,000 images.
- `imagefolder`: <path>/<class>/<image>, or <path>/{train,val,test}/<class>/<image>; classes
  are the sorted subfolder names; images (PIL, via torchvision's loader) are resized so the
  shorter side is `size` (default 224) and centre-cropped to size x size, RGB. Without split
  folders: a stratified 80/10/10 split with a fixed seed; with train/ but no val/: a
  stratified 10% of train; no test/: no test split (testAcc null).

`data.maxTrain` (cifar, imagefolder) keeps a stratified subset of the training split drawn
from the task seed exactly as the tfjs engine's loader does (Rng.derive(seed, 'data',
'maxTrain')); the full set stays cached and the subset is an index list.

`DeviceData` puts the images on the device once when they fit (uint8 stays uint8: a quarter
of the memory; batches are converted to float / 255 as they are gathered), else keeps them on
the host (pinned when the device is CUDA) and moves each batch.
"""
import json
import os
import struct
from typing import Dict, List, Optional, Tuple

import torch

from .errors import RunnerError
from .models import import_torchvision
from .rng import Rng
from .split import stratified_split_indices, stratified_subset_indices
from .task import DataSpec

HOLDOUT_SEED = 20240611  # engine/src/data/idx.ts
CIFAR_PIXELS = 3 * 32 * 32


class Split:
    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x = x  # [n, c, h, w] uint8 or float32
        self.y = y  # [n] int64

    @property
    def n(self) -> int:
        return int(self.y.shape[0])


class Dataset:
    def __init__(self, name: str, shape: Tuple[int, int, int], classes: int, train: Split, val: Split, test: Split,
                 info: Optional[dict] = None):
        self.name = name
        self.shape = shape  # (h, w, c)
        self.classes = classes
        self.train = train
        self.val = val
        self.test = test
        self.info = info or {}


def _take(split: Split, idx: List[int]) -> Split:
    t = torch.tensor(idx, dtype=torch.long)
    return Split(split.x.index_select(0, t), split.y.index_select(0, t))


def _empty_like(split: Split) -> Split:
    return Split(split.x[:0].clone(), split.y[:0].clone())


# ---------------------------------------------------------------- LMDS (tensors)

_LMDS_FIX = 'the file is written by the Node side (format in protocol/torch-task.ts); write it again'


def _open_lmds(path: str):
    """(file bytes, JSON header dict, bad(msg) -> RunnerError) of an LMDS file."""
    fix = _LMDS_FIX
    if not os.path.isfile(path):
        raise RunnerError('dataset', 'tensors file %s not found; %s' % (path, fix))
    with open(path, 'rb') as f:
        buf = bytearray(os.fstat(f.fileno()).st_size)
        f.readinto(buf)
    if len(buf) < 10 or bytes(buf[:6]) != b'LMDS1\n':
        raise RunnerError('dataset', '%s is not an LMDS file (it does not start with "LMDS1\\n"); %s' % (path, fix))
    (hlen,) = struct.unpack_from('<I', buf, 6)
    if 10 + hlen > len(buf):
        raise RunnerError('dataset', '%s: header length %d runs past the end of the file (%d bytes); %s' % (path, hlen, len(buf), fix))
    try:
        header = json.loads(bytes(buf[10:10 + hlen]).decode('utf-8'))
    except Exception as e:
        raise RunnerError('dataset', '%s: the JSON header does not parse (%s); %s' % (path, e, fix))

    def bad(msg):
        return RunnerError('dataset', '%s: %s; %s' % (path, msg, fix))

    if not isinstance(header, dict):
        raise bad('the header is not a JSON object')
    return buf, header, bad


def read_lmds(path: str) -> Dataset:
    buf, header, bad = _open_lmds(path)
    if header.get('kind') == 'segmentation':
        raise bad('it is a segmentation data file (masks, no labels), not a classification one')
    shape = header.get('shape')
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(v, int) and v > 0 for v in shape)):
        raise bad('header.shape must be [h, w, c] of positive integers, got %r' % (shape,))
    classes = header.get('classes')
    if isinstance(classes, list):
        classes = len(classes)
    if not isinstance(classes, int) or classes < 1:
        raise bad('header.classes must be a positive integer, got %r' % (header.get('classes'),))
    dtype = header.get('dtype', 'uint8')
    if dtype not in ('uint8', 'float32'):
        raise bad("header.dtype must be 'uint8' or 'float32', got %r" % (dtype,))
    tdtype, itemsize = (torch.uint8, 1) if dtype == 'uint8' else (torch.float32, 4)
    h, w, c = shape
    splits = header.get('splits')
    if not isinstance(splits, dict) or 'train' not in splits:
        raise bad('header.splits must hold at least a train split')
    out: Dict[str, Split] = {}
    for name in ('train', 'val', 'test'):
        s = splits.get(name)
        if s is None:
            out[name] = Split(torch.zeros((0, c, h, w), dtype=tdtype), torch.zeros(0, dtype=torch.long))
            continue
        n, xo, lo = s.get('n'), s.get('x'), s.get('labels')
        if not all(isinstance(v, int) and v >= 0 for v in (n, xo, lo)):
            raise bad('splits.%s needs integers n, x, labels >= 0, got %r' % (name, s))
        xbytes, lbytes = n * h * w * c * itemsize, n * 4
        if xo % 8 or lo % 8:
            raise bad('splits.%s offsets must be 8-byte aligned (x %d, labels %d)' % (name, xo, lo))
        if xo + xbytes > len(buf) or lo + lbytes > len(buf):
            raise bad('splits.%s (n=%d) runs past the end of the file (%d bytes)' % (name, n, len(buf)))
        if n == 0:
            out[name] = Split(torch.zeros((0, c, h, w), dtype=tdtype), torch.zeros(0, dtype=torch.long))
            continue
        x = torch.frombuffer(buf, dtype=tdtype, count=n * h * w * c, offset=xo).view(n, h, w, c)
        labels = torch.frombuffer(buf, dtype=torch.int32, count=n, offset=lo).long()
        if n and (int(labels.min()) < 0 or int(labels.max()) >= classes):
            bad_i = int(((labels < 0) | (labels >= classes)).nonzero()[0])
            raise bad('splits.%s label %d of sample %d is outside 0..%d' % (name, int(labels[bad_i]), bad_i, classes - 1))
        out[name] = Split(x.permute(0, 3, 1, 2).contiguous(), labels)
    return Dataset(str(header.get('name') or os.path.basename(path)), (h, w, c), classes, out['train'], out['val'], out['test'],
                   header.get('info') if isinstance(header.get('info'), dict) else None)


# ---------------------------------------------------------------- LMDS, segmentation variant

class SegSplit:
    def __init__(self, x: torch.Tensor, masks: torch.Tensor, dist: Optional[torch.Tensor] = None):
        self.x = x          # [n, c, h, w] uint8 or float32
        self.masks = masks  # [n, h, w] uint8 class indices
        self.dist = dist    # [n, classes, h, w] float32 signed distance maps, or None

    @property
    def n(self) -> int:
        return int(self.masks.shape[0])


class SegDataset:
    def __init__(self, name: str, shape: Tuple[int, int, int], classes: int, train: SegSplit, val: SegSplit, test: SegSplit):
        self.name = name
        self.shape = shape  # (h, w, c)
        self.classes = classes
        self.train = train
        self.val = val
        self.test = test


def read_seg_lmds(path: str) -> SegDataset:
    """The segmentation variant of LMDS (protocol/torch-task.ts TorchSegDataJson): images as in
    the classification file, uint8 masks [n, h, w] and, where present, float32 distance maps
    [n, h, w, classes], returned as [n, classes, h, w]."""
    buf, header, bad = _open_lmds(path)
    if header.get('kind') != 'segmentation':
        raise bad("header.kind must be 'segmentation' (this is a classification data file), got %r" % (header.get('kind'),))
    shape = header.get('shape')
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)):
        raise bad('header.shape must be [h, w, c] of positive integers, got %r' % (shape,))
    classes = header.get('classes')
    if not isinstance(classes, int) or isinstance(classes, bool) or not 2 <= classes <= 256:
        raise bad('header.classes must be an integer in 2..256, got %r' % (classes,))
    dtype = header.get('dtype', 'uint8')
    if dtype not in ('uint8', 'float32'):
        raise bad("header.dtype must be 'uint8' or 'float32', got %r" % (dtype,))
    tdtype, itemsize = (torch.uint8, 1) if dtype == 'uint8' else (torch.float32, 4)
    h, w, c = shape
    splits = header.get('splits')
    if not isinstance(splits, dict) or 'train' not in splits:
        raise bad('header.splits must hold at least a train split')
    out: Dict[str, SegSplit] = {}
    for name in ('train', 'val', 'test'):
        s = splits.get(name)
        if s is None:
            out[name] = SegSplit(torch.zeros((0, c, h, w), dtype=tdtype), torch.zeros((0, h, w), dtype=torch.uint8))
            continue
        n, xo, mo, do = s.get('n'), s.get('x'), s.get('masks'), s.get('dist')
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (n, xo, mo)) or \
                not (do is None or (isinstance(do, int) and not isinstance(do, bool) and do >= 0)):
            raise bad('splits.%s needs integers n, x, masks (and dist) >= 0, got %r' % (name, s))
        px = h * w
        spans = [(xo, n * px * c * itemsize), (mo, n * px)] + ([(do, n * px * classes * 4)] if do is not None else [])
        for off, size in spans:
            if off % 8:
                raise bad('splits.%s offsets must be 8-byte aligned (got %d)' % (name, off))
            if size and off + size > len(buf):
                raise bad('splits.%s (n=%d) runs past the end of the file (%d bytes)' % (name, n, len(buf)))
        if n == 0:
            out[name] = SegSplit(torch.zeros((0, c, h, w), dtype=tdtype), torch.zeros((0, h, w), dtype=torch.uint8))
            continue
        x = torch.frombuffer(buf, dtype=tdtype, count=n * px * c, offset=xo).view(n, h, w, c)
        masks = torch.frombuffer(buf, dtype=torch.uint8, count=n * px, offset=mo).view(n, h, w).clone()
        top = int(masks.max())
        if top >= classes:
            i = int((masks.view(n, -1) >= classes).any(1).nonzero()[0])
            raise bad('splits.%s mask %d holds class %d, outside 0..%d' % (name, i, top, classes - 1))
        dist = None
        if do is not None:
            dist = torch.frombuffer(buf, dtype=torch.float32, count=n * px * classes, offset=do).view(n, h, w, classes)
            dist = dist.permute(0, 3, 1, 2).contiguous()
        out[name] = SegSplit(x.permute(0, 3, 1, 2).contiguous(), masks, dist)
    return SegDataset(str(header.get('name') or os.path.basename(path)), (h, w, c), classes, out['train'], out['val'], out['test'])


def write_seg_lmds(path: str, name: str, splits: Dict[str, Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]],
                   classes: int) -> None:
    """Writes a segmentation LMDS file (for tests and tools; the Node side writes the real ones).
    splits: name -> (x NHWC uint8 or float32 [n, h, w, c], masks [n, h, w], dist [n, h, w, classes] float32 or None)."""
    first = next(iter(splits.values()))[0]
    h, w, c = (int(v) for v in first.shape[1:])
    dtype = 'uint8' if first.dtype == torch.uint8 else 'float32'

    def header_bytes(m):
        return json.dumps({'kind': 'segmentation', 'name': name, 'shape': [h, w, c], 'classes': classes, 'dtype': dtype,
                           'splits': m}).encode('utf-8')

    fake = {k: {'n': int(v[1].shape[0]), 'x': 10 ** 12, 'masks': 10 ** 12, **({'dist': 10 ** 12} if v[2] is not None else {})}
            for k, v in splits.items()}
    hlen = len(header_bytes(fake)) + 16
    at = 10 + hlen
    at += (-at) % 8
    meta, blobs = {}, []
    for k, (x, masks, dist) in splits.items():
        m = {'n': int(masks.shape[0])}
        for key, t in (('x', x), ('masks', masks.to(torch.uint8)), ('dist', dist.float() if dist is not None else None)):
            if t is None:
                continue
            b = tensor_bytes(t.contiguous())
            m[key] = at
            blobs.append(b + b'\0' * ((-len(b)) % 8))
            at += len(b) + (-len(b)) % 8
        meta[k] = m
    hb = header_bytes(meta)
    hb = hb + b' ' * (hlen - len(hb))
    with open(path, 'wb') as f:
        f.write(b'LMDS1\n' + struct.pack('<I', hlen) + hb)
        f.write(b'\0' * ((-(10 + hlen)) % 8))
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- CIFAR binary

def detect_cifar(folder: str) -> Optional[str]:
    try:
        names = set(os.listdir(folder))
    except OSError:
        return None
    if 'data_batch_1.bin' in names or 'test_batch.bin' in names:
        return 'cifar10'
    if 'train.bin' in names and 'test.bin' in names:
        return 'cifar100'
    return None


def read_cifar_file(path: str, variant: str) -> Split:
    label_bytes = 1 if variant == 'cifar10' else 2
    rec = label_bytes + CIFAR_PIXELS
    label_name = 'CIFAR-10' if variant == 'cifar10' else 'CIFAR-100'
    try:
        with open(path, 'rb') as f:
            buf = bytearray(os.fstat(f.fileno()).st_size)
            f.readinto(buf)
    except OSError as e:
        raise RunnerError('dataset', '%s: cannot read (%s); check the file and its permissions' % (path, e.strerror or e))
    if len(buf) == 0:
        raise RunnerError('dataset', '%s: empty %s batch file; download the binary version again' % (path, label_name))
    if len(buf) % rec:
        raise RunnerError('dataset', '%s: truncated or not a %s batch: %d bytes is not a multiple of the %d-byte record '
                          '(%d whole records + %d bytes); download the binary version again'
                          % (path, label_name, len(buf), rec, len(buf) // rec, len(buf) % rec))
    n = len(buf) // rec
    recs = torch.frombuffer(buf, dtype=torch.uint8).view(n, rec)
    labels = recs[:, label_bytes - 1].long()
    top = 9 if variant == 'cifar10' else 99
    if int(labels.max()) > top:
        i = int((labels > top).nonzero()[0])
        raise RunnerError('dataset', '%s: label out of range: %d in record %d, expected 0..%d; is this a %s file?'
                          % (path, int(labels[i]), i, top, label_name))
    if variant == 'cifar100' and int(recs[:, 0].max()) > 19:
        i = int((recs[:, 0] > 19).nonzero()[0])
        raise RunnerError('dataset', '%s: coarse label out of range: %d in record %d, expected 0..19; is this a CIFAR-100 file?'
                          % (path, int(recs[i, 0]), i))
    x = recs[:, label_bytes:].reshape(n, 3, 32, 32).clone()
    return Split(x, labels)


def read_cifar(folder: str, val_fraction: float = 0.1) -> Dataset:
    expected = 'data_batch_1..5.bin + test_batch.bin (CIFAR-10) or train.bin + test.bin (CIFAR-100), the "binary version" of https://www.cs.toronto.edu/~kriz/cifar.html'
    if not os.path.isdir(folder):
        what = 'is a file' if os.path.exists(folder) else 'does not exist'
        raise RunnerError('dataset', 'CIFAR folder %s %s; pass the folder holding %s' % (folder, what, expected))
    variant = detect_cifar(folder)
    if variant is None:
        subs = sorted(os.path.join(folder, d) for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
        found = [d for d in subs if detect_cifar(d)]
        if len(found) == 1:
            folder, variant = found[0], detect_cifar(found[0])
        elif len(found) > 1:
            raise RunnerError('dataset', '%s holds several CIFAR folders: %s; pass one of them' % (folder, ', '.join(os.path.basename(d) for d in found)))
        else:
            raise RunnerError('dataset', 'no CIFAR binary files in %s: expected %s' % (folder, expected))
    if variant == 'cifar10':
        train_files = [os.path.join(folder, 'data_batch_%d.bin' % i) for i in range(1, 6)]
        test_file = os.path.join(folder, 'test_batch.bin')
    else:
        train_files = [os.path.join(folder, 'train.bin')]
        test_file = os.path.join(folder, 'test.bin')
    for f in train_files + [test_file]:
        if not os.path.isfile(f):
            raise RunnerError('dataset', '%s: missing file of the %s dataset in %s (expected %s)'
                              % (f, 'CIFAR-10' if variant == 'cifar10' else 'CIFAR-100', folder, expected))
    parts = [read_cifar_file(f, variant) for f in train_files]
    full = Split(torch.cat([p.x for p in parts]), torch.cat([p.y for p in parts]))
    test = read_cifar_file(test_file, variant)
    k = 10 if variant == 'cifar10' else 100
    rng = Rng.derive(HOLDOUT_SEED, '%s-holdout' % variant)
    train_idx, val_idx = stratified_split_indices(full.y.tolist(), k, [1 - val_fraction, val_fraction], rng)
    return Dataset(variant, (32, 32, 3), k, _take(full, train_idx), _take(full, val_idx), test,
                   {'format': variant, 'source': os.path.abspath(folder),
                    'split': 'training batches minus a stratified %d%% validation hold-out (fixed seed %d); test = %s'
                             % (round(val_fraction * 100), HOLDOUT_SEED, os.path.basename(test_file))})


# ---------------------------------------------------------------- image folders

SPLIT_DIRS = {'train': ('train',), 'val': ('val', 'valid', 'validation'), 'test': ('test',)}


def _class_dirs(folder: str) -> List[str]:
    return sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)) and not d.startswith('.'))


def _list_images(folder: str, classes: List[str], exts: tuple, layout: str) -> Tuple[List[str], List[int]]:
    files, labels = [], []
    for ci, cname in enumerate(classes):
        cdir = os.path.join(folder, cname)
        if not os.path.isdir(cdir):
            continue
        found = []
        for root, _, names in sorted(os.walk(cdir, followlinks=True)):
            for nm in sorted(names):
                if nm.lower().endswith(exts):
                    found.append(os.path.join(root, nm))
        files += found
        labels += [ci] * len(found)
    return files, labels


def _load_images(files: List[str], size: int) -> torch.Tensor:
    from PIL import Image
    out = torch.empty((len(files), 3, size, size), dtype=torch.uint8)
    for i, path in enumerate(files):
        try:
            with open(path, 'rb') as f:
                img = Image.open(f)
                img = img.convert('RGB')
        except Exception as e:
            raise RunnerError('dataset', 'image %s cannot be read (%s: %s); remove or replace it' % (path, type(e).__name__, e))
        w, h = img.size
        scale = size / min(w, h)
        nw, nh = max(size, int(round(w * scale))), max(size, int(round(h * scale)))
        img = img.resize((nw, nh), Image.BILINEAR)
        left, top = (nw - size) // 2, (nh - size) // 2
        img = img.crop((left, top, left + size, top + size))
        t = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(size, size, 3)
        out[i] = t.permute(2, 0, 1)
    return out


def read_imagefolder(folder: str, size: int = 224) -> Dataset:
    layout = ('<folder>/<class>/<image> (classes = subfolder names), or <folder>/train/<class>/<image> '
              'with optional val/ and test/ beside train/')
    if not os.path.isdir(folder):
        what = 'is a file' if os.path.exists(folder) else 'does not exist'
        raise RunnerError('dataset', 'image folder %s %s; expected %s' % (folder, what, layout))
    import_torchvision()
    try:
        from torchvision.datasets.folder import IMG_EXTENSIONS as exts
    except Exception:
        exts = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')
    exts = tuple(e.lower() for e in exts)
    top = _class_dirs(folder)
    split_dirs = {}
    for key, names in SPLIT_DIRS.items():
        for nm in names:
            if nm in top:
                split_dirs[key] = os.path.join(folder, nm)
                break
    if split_dirs and 'train' not in split_dirs:
        raise RunnerError('dataset', '%s has %s but no train/ folder; expected %s' % (folder, '/ and '.join(os.path.basename(v) for v in split_dirs.values()) + '/', layout))
    base = split_dirs.get('train', folder)
    classes = _class_dirs(base)
    if not classes:
        loose = [n for n in os.listdir(base) if n.lower().endswith(exts)]
        raise RunnerError('dataset', 'image folder %s has no class subfolders%s; expected %s'
                          % (base, ' (it holds %d images directly: put each class in its own subfolder)' % len(loose) if loose else '', layout))
    files, labels = _list_images(base, classes, exts, layout)
    counts = [labels.count(i) for i in range(len(classes))]
    empty = [classes[i] for i, n in enumerate(counts) if n == 0]
    if not files:
        raise RunnerError('dataset', 'image folder %s has class subfolders (%s) but no images in them (extensions: %s); expected %s'
                          % (base, ', '.join(classes[:5]) + (', ...' if len(classes) > 5 else ''), ' '.join(exts), layout))
    if empty:
        raise RunnerError('dataset', 'class folder %s has no images; remove it or add images (expected %s)' % (os.path.join(base, empty[0]), layout))
    k = len(classes)
    x = _load_images(files, size)
    full = Split(x, torch.tensor(labels, dtype=torch.long))
    info = {'format': 'imagefolder', 'source': os.path.abspath(folder), 'classNames': classes}
    if not split_dirs:
        parts = stratified_split_indices(labels, k, [0.8, 0.1, 0.1], Rng.derive(HOLDOUT_SEED, 'imagefolder-split'))
        info['split'] = 'stratified 80/10/10 (fixed seed %d)' % HOLDOUT_SEED
        return Dataset(os.path.basename(os.path.normpath(folder)), (size, size, 3), k,
                       _take(full, parts[0]), _take(full, parts[1]), _take(full, parts[2]), info)

    def other(key: str) -> Optional[Split]:
        d = split_dirs.get(key)
        if d is None:
            return None
        unknown = [c for c in _class_dirs(d) if c not in classes]
        if unknown:
            raise RunnerError('dataset', '%s has class folder %r that train/ lacks; the class folders of val/ and test/ must be among train/\'s' % (d, unknown[0]))
        f, l = _list_images(d, classes, exts, layout)
        return Split(_load_images(f, size), torch.tensor(l, dtype=torch.long))

    val = other('val')
    test = other('test')
    train = full
    if val is None:
        tr, va = stratified_split_indices(labels, k, [0.9, 0.1], Rng.derive(HOLDOUT_SEED, 'imagefolder-holdout'))
        train, val = _take(full, tr), _take(full, va)
    if test is None:
        test = _empty_like(full)
    info['split'] = 'folders %s' % ', '.join(os.path.basename(v) + '/' for v in split_dirs.values())
    return Dataset(os.path.basename(os.path.normpath(folder)), (size, size, 3), k, train, val, test, info)


# ---------------------------------------------------------------- loading and caching

def data_key(spec: DataSpec) -> str:
    """What identifies the loaded data (maxTrain is applied afterwards, per task)."""
    size = (spec.size or 224) if spec.kind == 'imagefolder' else None
    return json.dumps({'kind': spec.kind, 'path': os.path.abspath(spec.path), 'size': size})


def load_dataset(spec: DataSpec) -> Dataset:
    if spec.kind == 'tensors':
        return read_lmds(spec.path)
    if spec.kind == 'cifar':
        return read_cifar(spec.path)
    return read_imagefolder(spec.path, spec.size or 224)


def train_subset(ds: Dataset, max_train: Optional[int], seed: int) -> Optional[List[int]]:
    """Indices of the stratified maxTrain subset (tfjs loader's draw), or None for all."""
    if max_train is None or max_train >= ds.train.n:
        return None
    return stratified_subset_indices(ds.train.y.tolist(), ds.classes, max_train, Rng.derive(seed, 'data', 'maxTrain'))


class DeviceData:
    """A dataset's splits where batches are cut: on the device when they fit, else on the host."""

    def __init__(self, ds: Dataset, device: torch.device):
        self.ds = ds
        self.device = device
        total = sum(s.x.numel() * s.x.element_size() for s in (ds.train, ds.val, ds.test))
        on_device = device.type == 'cpu'
        if device.type == 'cuda':
            try:
                free, _ = torch.cuda.mem_get_info(device)
            except Exception:
                free = torch.cuda.get_device_properties(device).total_memory // 2
            on_device = total <= 0.4 * free
        elif device.type == 'mps':
            on_device = True
        self.on_device = on_device
        self.splits = {}
        for name in ('train', 'val', 'test'):
            s = getattr(ds, name)
            if on_device:
                x = s.x.to(device)
            elif device.type == 'cuda':
                x = s.x.pin_memory()
            else:
                x = s.x
            self.splits[name] = (x, s.y.to(device) if on_device else s.y)

    def gather(self, split: str, idx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(images as float in [0, 1] NCHW, int64 labels) on the device for CPU indices idx."""
        x, y = self.splits[split]
        if self.on_device:
            di = idx.to(self.device, non_blocking=True) if self.device.type != 'cpu' else idx
            xb, yb = x.index_select(0, di), y.index_select(0, di)
        else:
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            if self.device.type == 'cuda':
                xb, yb = xb.pin_memory(), yb.pin_memory()
            xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
        return to_float(xb), yb

    def range(self, split: str, start: int, stop: int) -> Tuple[torch.Tensor, torch.Tensor]:
        x, y = self.splits[split]
        xb, yb = x[start:stop], y[start:stop]
        if not self.on_device:
            xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
        return to_float(xb), yb


def to_float(x: torch.Tensor) -> torch.Tensor:
    if x.dtype == torch.uint8:
        return x.float().div_(255)
    return x.float()


class DataCache:
    """Loaded datasets (and their device copies) kept between tasks in serve mode."""

    def __init__(self, keep: int = 2):
        self.keep = keep
        self.entries: Dict[str, Dataset] = {}
        self.device_entries: Dict[Tuple[str, str], DeviceData] = {}

    def get(self, spec: DataSpec) -> Dataset:
        key = data_key(spec)
        if key in self.entries:
            ds = self.entries.pop(key)
            self.entries[key] = ds  # most recent last
            return ds
        ds = load_dataset(spec)
        self.entries[key] = ds
        while len(self.entries) > self.keep:
            old = next(iter(self.entries))
            del self.entries[old]
            for dk in [k for k in self.device_entries if k[0] == old]:
                del self.device_entries[dk]
        return ds

    def on_device(self, spec: DataSpec, device: torch.device) -> DeviceData:
        key = (data_key(spec), str(device))
        dd = self.device_entries.get(key)
        if dd is None:
            for k in [k for k in self.device_entries if k[1] == str(device)]:
                del self.device_entries[k]  # one data set per device at a time
            dd = DeviceData(self.get(spec), device)
            self.device_entries[key] = dd
        return dd


def write_lmds(path: str, name: str, splits: Dict[str, Tuple[torch.Tensor, torch.Tensor]], classes: int,
               info: Optional[dict] = None) -> None:
    """Writes an LMDS file (for tests and tools; the Node side writes the real ones).
    splits: name -> (x NHWC uint8 or float32 [n, h, w, c], labels [n])."""
    first = next(iter(splits.values()))[0]
    h, w, c = (int(v) for v in first.shape[1:])
    dtype = 'uint8' if first.dtype == torch.uint8 else 'float32'
    blobs: List[bytes] = []
    meta = {}

    def header_bytes(m):
        hd = {'name': name, 'shape': [h, w, c], 'classes': classes, 'dtype': dtype, 'splits': m}
        if info:
            hd['info'] = info
        return json.dumps(hd).encode('utf-8')

    # Offsets depend on the header length, which depends on the offsets: pad the header.
    fake = {k: {'n': int(v[1].shape[0]), 'x': 10 ** 12, 'labels': 10 ** 12} for k, v in splits.items()}
    hlen = len(header_bytes(fake)) + 16
    at = 10 + hlen
    at += (-at) % 8
    for k, (x, y) in splits.items():
        xb = tensor_bytes(x)
        yb = tensor_bytes(y.to(torch.int32))
        meta[k] = {'n': int(y.shape[0]), 'x': at, 'labels': at + len(xb) + (-len(xb)) % 8}
        blobs.append(xb + b'\0' * ((-len(xb)) % 8) + yb + b'\0' * ((-len(yb)) % 8))
        at = meta[k]['labels'] + len(yb) + (-len(yb)) % 8
    hb = header_bytes(meta)
    hb = hb + b' ' * (hlen - len(hb))
    with open(path, 'wb') as f:
        f.write(b'LMDS1\n' + struct.pack('<I', hlen) + hb)
        f.write(b'\0' * ((-(10 + hlen)) % 8))
        for b in blobs:
            f.write(b)


def tensor_bytes(t: torch.Tensor) -> bytes:
    """The raw bytes of a tensor (native byte order; no numpy needed)."""
    if t.numel() == 0:
        return b''
    buf = bytearray(t.numel() * t.element_size())
    torch.frombuffer(buf, dtype=t.dtype).copy_(t.reshape(-1))
    return bytes(buf)
