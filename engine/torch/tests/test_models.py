import os
import unittest

import torch

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))  # for helpers, whatever the cwd

from helpers import Collect, TempDir, task, tiny_lmds

from lossmith_torch.errors import RunnerError
from lossmith_torch.models import ConvSame, build_model, head_names, load_checkpoint
from lossmith_torch.task import ModelSpec
from lossmith_torch.train import run_task


def nparams(m):
    return sum(p.numel() for p in m.parameters())


class ModelTest(unittest.TestCase):
    def test_shapes_and_sizes(self):
        x = torch.rand(2, 3, 32, 32)
        expect = {'wrn-16-4': 2748890, 'wrn-28-10': 36479194, 'resnet18': 11173962}
        for kind in ('mlp', 'convnet', 'resnet9', 'lenet', 'wrn-16-4', 'wrn-28-10', 'resnet18'):
            b = build_model(ModelSpec(kind=kind), (32, 32, 3), 10, 1)
            self.assertEqual(tuple(b.net(x).shape), (2, 10), kind)
            if kind in expect:
                self.assertEqual(nparams(b.net), expect[kind], kind)
        # the convnet's parameter count equals the tfjs one (no bias before BN)
        b = build_model(ModelSpec(kind='convnet'), (28, 28, 1), 10, 1)
        self.assertEqual(nparams(b.net), 3 * 3 * 12 + 2 * 12 + 3 * 3 * 12 * 24 + 2 * 24 + 3 * 3 * 24 * 48 + 48 + 48 * 10 + 10)

    def test_lenet_mirrors_tfjs(self):
        # parameter count and shapes as tfjs' (test/engine/models.test.ts), in torch layout
        b = build_model(ModelSpec(kind='lenet'), (28, 28, 1), 10, 1)
        self.assertEqual(nparams(b.net), 5 * 5 * 1 * 8 + 8 + 5 * 5 * 8 * 16 + 16 + 7 * 7 * 16 * 128 + 128 + 128 * 10 + 10)
        self.assertEqual([list(p.shape) for p in b.net.parameters()],
                         [[8, 1, 5, 5], [8], [16, 8, 5, 5], [16], [128, 784], [128], [10, 128], [10]])
        self.assertTrue(b.conv)
        # pooling floors odd sizes (9x7 -> 4x3 -> 2x1); width scales filters and the dense layer
        odd = build_model(ModelSpec(kind='lenet', width=0.5), (9, 7, 3), 4, 1).net
        self.assertEqual(odd.dense.weight.shape[1], 2 * 1 * 8)
        self.assertEqual(odd.conv1.weight.shape[0], 4)
        self.assertEqual(tuple(odd(torch.rand(2, 3, 9, 7)).shape), (2, 4))
        # flatten is NHWC, as tfjs: a pixel that reaches channel 3 at (0, 1) of the 2x2x16 map
        # is dense input (0 * 2 + 1) * 16 + 3 = 19 (NCHW would make it 3 * 4 + 1 = 13)
        net = build_model(ModelSpec(kind='lenet'), (8, 8, 1), 2, 1).net
        with torch.no_grad():
            for p in net.parameters():
                p.zero_()
            net.conv1.weight[0, 0, 2, 2] = 1.0  # centre taps: channel 0 -> 0 -> 3
            net.conv2.weight[3, 0, 2, 2] = 1.0
            net.dense.weight[0, 19] = 1.0
            net.logits.weight[0, 0] = 1.0
            x = torch.zeros(1, 1, 8, 8)
            x[0, 0, 0, 4] = 1.0  # pools to (0, 2), then (0, 1)
            self.assertEqual(net(x).tolist(), [[1.0, 0.0]])
        with self.assertRaises(RunnerError) as cm:
            build_model(ModelSpec(kind='lenet'), (3, 8, 1), 2, 1)
        self.assertIn('at least 4x4', cm.exception.message)

    def test_init_is_seeded(self):
        a = build_model(ModelSpec(kind='resnet9'), (8, 8, 1), 4, 5).net.state_dict()
        b = build_model(ModelSpec(kind='resnet9'), (8, 8, 1), 4, 5).net.state_dict()
        c = build_model(ModelSpec(kind='resnet9'), (8, 8, 1), 4, 6).net.state_dict()
        self.assertTrue(all(torch.equal(a[k], b[k]) for k in a))
        self.assertFalse(torch.equal(a['stem.weight'], c['stem.weight']))
        self.assertTrue(torch.equal(a['block1.bn1.weight'], torch.ones(8)))
        bn = build_model(ModelSpec(kind='resnet9'), (8, 8, 1), 4, 5).net.block1.bn1
        self.assertAlmostEqual(bn.momentum, 0.01)  # Keras 0.99
        self.assertEqual(bn.eps, 1e-3)
        wrn = build_model(ModelSpec(kind='wrn-16-4', bnMomentum=0.95), (8, 8, 1), 4, 5).net
        self.assertAlmostEqual(wrn.bn.momentum, 0.05)

    def test_tf_same_padding(self):
        # TF 'same': a stride-2 3x3 conv of an even input pads only bottom/right
        conv = ConvSame(1, 1, 3, stride=2, bias=False)
        with torch.no_grad():
            conv.weight.zero_()
            conv.weight[0, 0, 0, 0] = 1  # out(i, j) = in(2i - pad_top, 2j - pad_left)
        x = torch.arange(16.).view(1, 1, 4, 4)
        out = conv(x)
        self.assertEqual(tuple(out.shape), (1, 1, 2, 2))
        self.assertEqual(out.flatten().tolist(), [0., 2., 8., 10.])  # pad_top = pad_left = 0
        self.assertEqual(tuple(ConvSame(1, 1, 3, stride=2)(torch.rand(1, 1, 7, 7)).shape), (1, 1, 4, 4))

    def test_checkpoints(self):
        with TempDir() as d:
            data = tiny_lmds(d)
            src = build_model(ModelSpec(kind='convnet'), (8, 8, 1), 7, 3)
            good = os.path.join(d, 'good.pt')
            torch.save(src.net.state_dict(), good)
            dst = build_model(ModelSpec(kind='convnet'), (8, 8, 1), 4, 9)
            skipped = load_checkpoint(dst, good)
            self.assertEqual(skipped, head_names(dst.state))  # 7 -> 4 classes: the head stays fresh
            self.assertTrue(torch.equal(dst.net.conv2.weight, src.net.conv2.weight))
            res = run_task(task(data, model={'kind': 'convnet', 'init': good}, train={'epochs': 1}), Collect())
            self.assertEqual(res['status'], 'completed')
            wrapped = os.path.join(d, 'wrapped.pt')
            torch.save({'state_dict': {'module.' + k: v for k, v in src.net.state_dict().items()}, 'epoch': 3}, wrapped)
            load_checkpoint(build_model(ModelSpec(kind='convnet'), (8, 8, 1), 7, 9), wrapped)

            cases = [
                (os.path.join(d, 'missing.pt'), 'not found'),
                (self.save(d, 'list.pt', [1, 2, 3]), 'is not a state dict'),
                (self.save(d, 'wide.pt', build_model(ModelSpec(kind='convnet', width=2), (8, 8, 1), 4, 1).net.state_dict()),
                 "key 'conv1.weight' has shape [24, 1, 3, 3] there, [12, 1, 3, 3] in the model"),
                (self.save(d, 'mlp.pt', build_model(ModelSpec(kind='mlp'), (8, 8, 1), 4, 1).net.state_dict()),
                 "key 'conv1.weight' (shape [12, 1, 3, 3]) is missing from it"),
            ]
            text = os.path.join(d, 'text.pt')
            with open(text, 'w') as f:
                f.write('not a checkpoint')
            cases.append((text, 'cannot be read by torch.load'))
            for path, want in cases:
                with self.assertRaises(RunnerError) as cm:
                    run_task(task(data, model={'kind': 'convnet', 'init': path}), Collect())
                self.assertEqual(cm.exception.code, 'checkpoint', path)
                self.assertIn(path, cm.exception.message)
                self.assertIn(want, cm.exception.message)

    @staticmethod
    def save(d, name, obj):
        p = os.path.join(d, name)
        torch.save(obj, p)
        return p


if __name__ == '__main__':
    unittest.main()
