"""The batched augmentations against straightforward per-pixel ports of engine/src/augment/image.ts."""
import math
import unittest

import torch

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))  # for helpers, whatever the cwd

import helpers  # noqa: F401  (sys.path)
from lossmith_torch import augment as A


def to8(v):
    return math.floor(min(max(v, 0), 1) * 255 + 0.5)


# --- per-pixel references (image.ts), on CHW nested lists of one image ---

def ref_affine(img, a, b, d, e):
    c, h, w = len(img), len(img[0]), len(img[0][0])
    cx, cy = (w - 1) / 2, (h - 1) / 2
    out = [[[0.0] * w for _ in range(h)] for _ in range(c)]
    for y in range(h):
        for x in range(w):
            sx = cx + a * (x - cx) + b * (y - cy)
            sy = cy + d * (x - cx) + e * (y - cy)
            fx = round(sx) if abs(sx - round(sx)) < 1e-9 else sx
            fy = round(sy) if abs(sy - round(sy)) < 1e-9 else sy
            x0, y0 = math.floor(fx), math.floor(fy)
            tx, ty = fx - x0, fy - y0
            for yy, xx, wt in ((y0, x0, (1 - tx) * (1 - ty)), (y0, x0 + 1, tx * (1 - ty)), (y0 + 1, x0, (1 - tx) * ty), (y0 + 1, x0 + 1, tx * ty)):
                if wt == 0 or yy < 0 or yy >= h or xx < 0 or xx >= w:
                    continue
                for k in range(c):
                    out[k][y][x] += wt * img[k][yy][xx]
    return out


def ref_equalize(img):
    out = []
    for ch in img:
        flat = [to8(v) for row in ch for v in row]
        n = len(flat)
        hist = [0] * 256
        for v in flat:
            hist[v] += 1
        last = 255
        while last > 0 and hist[last] == 0:
            last -= 1
        step = (n - hist[last]) // 255
        if step == 0:
            out.append([row[:] for row in ch])
            continue
        lut, acc = [], step // 2
        for v in range(256):
            lut.append(min(255, acc // step))
            acc += hist[v]
        out.append([[lut[to8(v)] / 255 for v in row] for row in ch])
    return out


def ref_sharpness(img, f):
    c, h, w = len(img), len(img[0]), len(img[0][0])
    out = []
    for k in range(c):
        deg = [row[:] for row in img[k]]
        for y in range(1, h - 1):
            for x in range(1, w - 1):
                s = 4 * img[k][y][x]
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        s += img[k][y + dy][x + dx]
                deg[y][x] = s / 13
        out.append([[min(max(deg[y][x] + f * (img[k][y][x] - deg[y][x]), 0), 1) for x in range(w)] for y in range(h)])
    return out


def ref_contrast(img, f):
    c, h, w = len(img), len(img[0]), len(img[0][0])
    m = sum(0.299 * img[0][y][x] + 0.587 * img[1][y][x] + 0.114 * img[2][y][x] for y in range(h) for x in range(w)) / (h * w)
    return [[[min(max(m + f * (v - m), 0), 1) for v in row] for row in ch] for ch in img]


class AugmentTest(unittest.TestCase):
    def setUp(self):
        g = torch.Generator().manual_seed(3)
        self.x = torch.randint(0, 256, (6, 3, 9, 8), generator=g).float() / 255
        self.y = torch.nn.functional.one_hot(torch.arange(6) % 4, 4).float()

    def close(self, got, want, tol=2e-6):
        self.assertLess((got - torch.tensor(want, dtype=torch.float32)).abs().max().item(), tol)

    def test_shapes_and_targets(self):
        for spec in ('none', 'flipcrop', 'flipcrop:2', 'cutout', 'cutout:3', 'mixup', 'mixup:0.2', 'cutmix', 'cutmix:1:0.5',
                     'randaugment', 'randaugment:3:5', 'randaugment:2:10+cutmix', 'flipcrop+cutout:4+mixup:0.4'):
            aug = A.Augmenter(spec, 1)
            for _ in range(3):
                x, y = aug(self.x, self.y)
                self.assertEqual(x.shape, self.x.shape, spec)
                self.assertEqual(y.shape, self.y.shape, spec)
                self.assertTrue(torch.allclose(y.sum(1), torch.ones(6)), spec)
                self.assertTrue(bool(torch.isfinite(x).all()), spec)
                self.assertGreaterEqual(x.min().item(), 0, spec)
                self.assertLessEqual(x.max().item(), 1 + 1e-6, spec)

    def test_deterministic_per_seed(self):
        a1, b1 = A.Augmenter('randaugment+cutmix', 4)(self.x, self.y)
        a2, b2 = A.Augmenter('randaugment+cutmix', 4)(self.x, self.y)
        self.assertTrue(torch.equal(a1, a2) and torch.equal(b1, b2))
        a3, _ = A.Augmenter('randaugment+cutmix', 5)(self.x, self.y)
        self.assertFalse(torch.equal(a1, a3))

    def test_input_untouched(self):
        before = self.x.clone()
        A.Augmenter('flipcrop+cutout+randaugment+cutmix+mixup', 2)(self.x, self.y)
        self.assertTrue(torch.equal(before, self.x))

    def test_shift_is_pad_crop(self):
        x = self.x[:2]
        out = A.shift(x, torch.tensor([2, -1]), torch.tensor([0, 3]))
        self.assertTrue(torch.equal(out[0, :, :, 2:], x[0, :, :, :-2]))
        self.assertTrue(torch.equal(out[0, :, :, :2], torch.zeros(3, 9, 2)))
        self.assertTrue(torch.equal(out[1, :, 3:, :-1], x[1, :, :-3, 1:]))

    def test_cutout_zeroes_a_square(self):
        x = torch.ones(50, 1, 10, 10)
        out, _ = A.Augmenter('cutout:4', 0)(x, torch.ones(50, 1))
        zeros = (out == 0).sum((1, 2, 3))
        self.assertLessEqual(int(zeros.max()), 16)
        self.assertEqual(int(zeros.max()), 16)  # some patch fully inside
        self.assertGreater(int(zeros.min()), 0)

    def test_cutmix_target_weight_is_pasted_area(self):
        x = torch.zeros(2, 1, 10, 10)
        x[1] = 1
        y = torch.tensor([[1., 0.], [0., 1.]])
        aug = A.Augmenter('cutmix', 11)
        for _ in range(10):
            out, ym = aug(x, y)
            for i in range(2):
                own = 1.0 if i == 1 else 0.0
                frac_other = float((out[i] != own).float().mean())
                self.assertAlmostEqual(float(ym[i, 1 - i]), frac_other, places=5)

    def test_warp_matches_reference(self):
        img = self.x[:1]
        ref = self.x[0].tolist()
        for a, b, d, e in ((math.cos(0.3), -math.sin(0.3), math.sin(0.3), math.cos(0.3)), (1, 0.27, 0, 1), (1, 0, -0.27, 1), (1, 0, 0, 1)):
            t = lambda v: torch.tensor([float(v)], dtype=torch.float64)
            got = A.warp(img, t(a), t(b), t(d), t(e), t(0), t(0))[0]
            self.close(got, ref_affine(ref, a, b, d, e), 1e-4)
        got = A.warp(img, *(torch.tensor([v], dtype=torch.float64) for v in (1., 0., 0., 1., 3., -2.)))[0]
        self.assertTrue(torch.equal(got, A.shift(img, torch.tensor([3]), torch.tensor([-2]))[0]))

    def test_colour_ops_match_reference(self):
        for i in range(3):
            img = self.x[i:i + 1]
            ref = self.x[i].tolist()
            self.close(A.equalize(img)[0], ref_equalize(ref))
            f = torch.tensor([1.7]).view(1, 1, 1, 1)
            self.close(A.sharpen(img, f)[0], ref_sharpness(ref, 1.7), 1e-5)
            self.close(A._blend(img, A._luma_mean(img)[:, None, None, None], torch.tensor(0.4))[0], ref_contrast(ref, 0.4), 1e-5)
            self.close(A.solarize(img, 100)[0], [[[1 - v if to8(v) >= 100 else v for v in row] for row in ch] for ch in ref])
            self.close(A.posterize(img, 3)[0], [[[(to8(v) & 0xE0) / 255 for v in row] for row in ch] for ch in ref])
        flat = torch.full((1, 3, 4, 4), 0.5)
        self.assertTrue(torch.equal(A.autocontrast(flat), flat))
        self.assertTrue(torch.equal(A.equalize(flat), flat))
        ac = A.autocontrast(self.x[:1])
        self.assertAlmostEqual(ac.amin((2, 3)).max().item(), 0.0)
        self.assertAlmostEqual(ac.amax((2, 3)).min().item(), 1.0, places=6)

    def test_parse(self):
        self.assertEqual(A.parse_augment('flipcrop+cutout:8')[0], 'flipcrop:4+cutout:8')
        self.assertEqual(A.parse_augment('none+mixup')[0], 'mixup:1')
        self.assertEqual(A.parse_augment('cutmix:0.5')[0], 'cutmix:0.5:1')
        self.assertEqual(A.parse_augment('randaugment')[0], 'randaugment:2:9')
        self.assertEqual(A.parse_augment('')[0], 'none')
        for spec, msg in (('blur', "unknown augmentation 'blur'"), ('flipcrop:x', 'padding must be an integer'),
                          ('mixup:1:2', 'at most 1 parameter'), ('randaugment:2:11', 'magnitude M must be in [0, 10]'),
                          ('flipcrop++cutout', "empty part around '+'"), ('cutmix:1:2', 'probability must be in [0, 1]')):
            with self.assertRaises(ValueError) as cm:
                A.parse_augment(spec)
            self.assertIn(msg, str(cm.exception))

    def test_cutmix_box_reference(self):
        self.assertEqual(A.cutmix_box(32, 32, 0.75, 0, 0), (0, 8, 0, 8))
        self.assertEqual(A.cutmix_box(32, 32, 0.0, 16, 16), (0, 32, 0, 32))

    def test_beta_draws(self):
        d = A.Draws(1)
        xs = [d.beta(0.5, 0.5) for _ in range(400)]
        self.assertTrue(all(0 <= v <= 1 for v in xs))
        self.assertAlmostEqual(sum(xs) / len(xs), 0.5, delta=0.06)


if __name__ == '__main__':
    unittest.main()
