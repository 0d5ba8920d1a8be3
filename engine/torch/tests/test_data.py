import os
import unittest

import torch

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))  # for helpers, whatever the cwd

from helpers import Collect, TempDir, pattern_images, task, write_cifar10

from lossmith_torch.data import read_cifar, read_imagefolder, read_lmds, train_subset, write_lmds
from lossmith_torch.errors import RunnerError
from lossmith_torch.rng import Rng
from lossmith_torch.split import stratified_split_indices, stratified_subset_indices
from lossmith_torch.train import run_task


class RngParityTest(unittest.TestCase):
    """Vectors computed with engine/src/rng.ts and engine/src/data/split.ts."""

    def test_rng_and_splits(self):
        r = Rng.derive(20240611, 'cifar10-holdout')
        self.assertEqual([r.next_uint32() for _ in range(5)], [560876300, 2605792826, 2446368684, 3231433955, 3775086216])
        labels = [(i * 7) % 10 for i in range(50)]
        parts = stratified_split_indices(labels, 10, [0.9, 0.1], Rng.derive(20240611, 'cifar10-holdout'))
        self.assertEqual(parts[1], [12, 43, 11, 5, 49, 14, 0, 27, 16, 38])
        self.assertEqual(parts[0][:8], [40, 33, 36, 41, 8, 6, 3, 19])
        sub = stratified_subset_indices(labels, 10, 23, Rng.derive(5, 'data', 'maxTrain'))
        self.assertEqual([labels[i] for i in sub], [0, 1, 8, 2, 6, 3, 6, 1, 8, 5, 9, 3, 0, 7, 4, 1, 5, 2, 0, 7, 4, 2, 9])
        self.assertEqual(Rng.derive(7, 'torch', 'init', '\u00fc').next_uint32(), 1263577649)


class LmdsTest(unittest.TestCase):
    def test_round_trip(self):
        g = torch.Generator().manual_seed(1)
        with TempDir() as d:
            for dtype in ('uint8', 'float32'):
                x, y = pattern_images(13, 3, g, 5, 4, 3)
                if dtype == 'float32':
                    x = x.float() / 255
                path = os.path.join(d, dtype + '.lmds')
                write_lmds(path, 'rt', {'train': (x, y), 'test': (x[:5], y[:5])}, 3, info={'format': 't'})
                ds = read_lmds(path)
                self.assertEqual((ds.name, ds.shape, ds.classes), ('rt', (5, 4, 3), 3))
                self.assertTrue(torch.equal(ds.train.x, x.permute(0, 3, 1, 2)))
                self.assertTrue(torch.equal(ds.train.y, y))
                self.assertEqual((ds.val.n, ds.test.n), (0, 5))
                self.assertEqual(ds.info, {'format': 't'})

    def test_errors(self):
        with TempDir() as d:
            p = os.path.join(d, 'x.lmds')
            with open(p, 'wb') as f:
                f.write(b'NOPE' * 10)
            with self.assertRaises(RunnerError) as cm:
                read_lmds(p)
            self.assertEqual(cm.exception.code, 'dataset')
            self.assertIn('not an LMDS file', cm.exception.message)
            with self.assertRaises(RunnerError) as cm:
                read_lmds(os.path.join(d, 'missing.lmds'))
            self.assertIn('not found', cm.exception.message)
            g = torch.Generator().manual_seed(1)
            x, y = pattern_images(4, 3, g)
            write_lmds(p, 'bad', {'train': (x, y + 5)}, 3)
            with self.assertRaises(RunnerError) as cm:
                read_lmds(p)
            self.assertIn('outside 0..2', cm.exception.message)


class CifarTest(unittest.TestCase):
    def test_cifar10(self):
        with TempDir() as d:
            folder = os.path.join(d, 'cifar-10-batches-bin')
            write_cifar10(folder, per_file=20, test=7)
            ds = read_cifar(d)  # one level of nesting is followed
            self.assertEqual((ds.name, ds.shape, ds.classes), ('cifar10', (32, 32, 3), 10))
            self.assertEqual(ds.train.n + ds.val.n, 100)
            self.assertEqual(ds.test.n, 7)
            self.assertEqual(ds.train.x.dtype, torch.uint8)
            with open(os.path.join(folder, 'test_batch.bin'), 'rb') as f:
                raw = f.read(3073)
            self.assertEqual(int(ds.test.y[0]), raw[0])
            self.assertEqual(ds.test.x[0].flatten().tolist(), list(raw[1:]))
            # the hold-out is the tfjs engine's: stratified with the fixed seed
            labels = []
            for i in range(1, 6):
                with open(os.path.join(folder, 'data_batch_%d.bin' % i), 'rb') as f:
                    b = f.read()
                labels += [b[j * 3073] for j in range(20)]
            _, val_idx = stratified_split_indices(labels, 10, [0.9, 0.1], Rng.derive(20240611, 'cifar10-holdout'))
            self.assertEqual(ds.val.y.tolist(), [labels[i] for i in val_idx])
            sub = train_subset(ds, 30, 4)
            self.assertEqual(len(sub), 30)
            # wrong size
            with open(os.path.join(folder, 'data_batch_3.bin'), 'ab') as f:
                f.write(b'\0' * 5)
            with self.assertRaises(RunnerError) as cm:
                read_cifar(folder)
            self.assertEqual(cm.exception.code, 'dataset')
            self.assertIn('data_batch_3.bin', cm.exception.message)
            self.assertIn('not a multiple of the 3073-byte record', cm.exception.message)

    def test_cifar100_and_missing(self):
        with TempDir() as d:
            g = torch.Generator().manual_seed(0)
            for name, n in (('train.bin', 40), ('test.bin', 10)):
                lab = torch.stack([torch.randint(0, 20, (n,), generator=g), torch.randint(0, 100, (n,), generator=g)], 1)
                rec = torch.cat([lab, torch.randint(0, 256, (n, 3072), generator=g)], 1).to(torch.uint8)
                with open(os.path.join(d, name), 'wb') as f:
                    f.write(bytes(rec.flatten().tolist()))
            ds = read_cifar(d)
            self.assertEqual((ds.name, ds.classes, ds.test.n), ('cifar100', 100, 10))
            with open(os.path.join(d, 'test.bin'), 'rb') as f:
                self.assertEqual(int(ds.test.y[0]), f.read(2)[1])  # the fine label
        with TempDir() as d:
            with self.assertRaises(RunnerError) as cm:
                read_cifar(d)
            self.assertIn('no CIFAR binary files in', cm.exception.message)
            with open(os.path.join(d, 'data_batch_1.bin'), 'wb') as f:
                f.write(b'\0' * 3073)
            with self.assertRaises(RunnerError) as cm:
                read_cifar(d)
            self.assertIn('data_batch_2.bin: missing file', cm.exception.message)

    def test_train_on_cifar_with_max_train(self):
        with TempDir() as d:
            write_cifar10(d, per_file=30, test=10)
            t = task(d, data={'kind': 'cifar', 'path': d, 'maxTrain': 40}, augment='flipcrop+randaugment:1:5',
                     train={'epochs': 1, 'batchSize': 16})
            res = run_task(t, Collect())
            val = read_cifar(d).val.n  # a stratified 10% of 150, rounded per class
            self.assertEqual(res['dataset'], {'name': 'cifar10', 'train': 40, 'val': val, 'test': 10, 'classes': 10})
            self.assertEqual(res['steps'], 3)


class ImageFolderTest(unittest.TestCase):
    def setUp(self):
        try:
            import torchvision  # noqa: F401
            from PIL import Image  # noqa: F401
        except ImportError:
            self.skipTest('no torchvision/PIL')

    def write(self, folder, n, size=(12, 10)):
        from PIL import Image
        os.makedirs(folder, exist_ok=True)
        for i in range(n):
            Image.new('RGB', size, (i * 20 % 256, 100, 50)).save(os.path.join(folder, 'img%d.png' % i))

    def test_layouts(self):
        with TempDir() as d:
            for cls in ('b_cat', 'a_dog'):
                self.write(os.path.join(d, 'flat', cls), 10)
            ds = read_imagefolder(os.path.join(d, 'flat'), 8)
            self.assertEqual((ds.shape, ds.classes), ((8, 8, 3), 2))
            self.assertEqual((ds.train.n, ds.val.n, ds.test.n), (16, 2, 2))
            self.assertEqual(ds.info['classNames'], ['a_dog', 'b_cat'])
            for split, n in (('train', 10), ('val', 3)):
                for cls in ('x', 'y'):
                    self.write(os.path.join(d, 'split', split, cls), n)
            ds = read_imagefolder(os.path.join(d, 'split'), 6)
            self.assertEqual((ds.train.n, ds.val.n, ds.test.n), (20, 6, 0))
            res = run_task(task(d, data={'kind': 'imagefolder', 'path': os.path.join(d, 'split'), 'size': 6},
                                train={'epochs': 1, 'batchSize': 8}), Collect())
            self.assertIsNone(res['testAcc'])
            self.assertEqual(res['dataset']['classes'], 2)

    def test_layout_errors(self):
        with TempDir() as d:
            with self.assertRaises(RunnerError) as cm:
                read_imagefolder(d, 8)
            self.assertEqual(cm.exception.code, 'dataset')
            self.assertIn('has no class subfolders', cm.exception.message)
            self.assertIn('<folder>/<class>/<image>', cm.exception.message)
            self.write(d, 3)
            with self.assertRaises(RunnerError) as cm:
                read_imagefolder(d, 8)
            self.assertIn('holds 3 images directly', cm.exception.message)
            os.makedirs(os.path.join(d, 'empty_class'))
            with self.assertRaises(RunnerError) as cm:
                read_imagefolder(d, 8)
            self.assertIn('no images in them', cm.exception.message)
            with self.assertRaises(RunnerError) as cm:
                read_imagefolder(os.path.join(d, 'nope'), 8)
            self.assertIn('does not exist', cm.exception.message)


if __name__ == '__main__':
    unittest.main()
