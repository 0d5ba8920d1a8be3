import json
import os
import unittest

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))  # for helpers, whatever the cwd

from helpers import EXAMPLES, example

from lossmith_torch.errors import RunnerError
from lossmith_torch.task import GanTask, SegTask, Task, parse_any_task, parse_gan_task, parse_seg_task, parse_task, task_to_dict


def base():
    return {
        'version': 1,
        'loss': {'module': example('focal.py'), 'fn': 'focal', 'params': {'gamma': 1.5}},
        'model': {'kind': 'resnet9', 'width': 0.5, 'bnMomentum': 0.9},
        'data': {'kind': 'cifar', 'path': '/data/cifar', 'maxTrain': 1000},
        'augment': 'flipcrop+cutout:8',
        'train': {'optimizer': {'kind': 'sgd', 'momentum': 0.9, 'nesterov': True, 'weightDecay': 5e-4}, 'lr': 0.1,
                  'warmup': 0.05, 'schedule': 'cosine', 'batchSize': 64, 'epochs': 3, 'stepsPerEpoch': 10,
                  'maxVal': 100, 'seed': 7, 'earlyStop': {'minTrainAcc': 0.2, 'afterEpochs': 1}, 'testWith': 'final',
                  'sam': {'rho': 0.2, 'adaptive': False, 'normalize': False}},
        'perturbLoss': {'module': example('aace.py'), 'fn': 'aace'},
        'device': 'cuda:1',
        'precision': 'bf16',
        'channelsLast': True,
        'compile': False,
        'threads': 2,
        'stepEvery': 5,
    }


def seg_base():
    """A TorchSegTask with every field (protocol/torch-task.ts)."""
    return {
        'version': 1,
        'kind': 'segmentation',
        'loss': {'module': example('focal.py'), 'fn': 'focal', 'params': {'gamma': 2}},
        'model': {'kind': 'unet', 'filters': 8},
        'data': {'kind': 'seg-tensors', 'path': '/tmp/x-seg.lmds'},
        'train': {'lr': 1e-3, 'batchSize': 32, 'epochs': 0, 'stepsPerEpoch': 50, 'seed': 3},
        'device': 'cuda',
        'precision': 'auto',
        'channelsLast': False,
        'compile': True,
        'threads': 4,
        'stepEvery': 2,
    }


def gan_base():
    """A TorchGanTask with every field (protocol/torch-task.ts)."""
    return {
        'version': 1,
        'kind': 'gan',
        'gLoss': {'module': example('focal.py'), 'fn': 'wgan_gp_g'},
        'dLoss': {'module': example('focal.py'), 'fn': 'wgan_gp_d', 'params': {'lambda_': 10}},
        'data': {'kind': 'tensors', 'path': '/tmp/x.lmds'},
        'train': {'zDim': 32, 'filters': 16, 'beta1': 0.5, 'beta2': 0.999, 'lr': 5e-4, 'batchSize': 64, 'epochs': 3,
                  'stepsPerEpoch': 150, 'seed': 2, 'samplesPerClass': 100, 'clip': 0.01},
        'device': 'cpu',
        'precision': 'fp32',
        'threads': 1,
        'stepEvery': 6,
    }


class TaskTest(unittest.TestCase):
    def bad(self, d):
        with self.assertRaises(RunnerError) as cm:
            parse_task(d)
        self.assertEqual(cm.exception.code, 'bad-task')
        self.assertNotIn('\n', cm.exception.message)
        return cm.exception.message

    def test_round_trip(self):
        d = base()
        self.assertEqual(task_to_dict(parse_task(d)), d)
        with open(os.path.join(EXAMPLES, 'tiny-task.json')) as f:
            tiny = json.load(f)
        self.assertEqual(task_to_dict(parse_task(tiny)), tiny)

    def test_every_bad_field_is_named(self):
        d = base()
        d['train']['lr'] = -1
        d['model']['kind'] = 'vgg'
        d['device'] = 'gpu'
        msg = self.bad(d)
        self.assertIn('task.train.lr: must be a finite number > 0, got -1', msg)
        self.assertIn("task.model.kind: must be one of", msg)
        self.assertIn("task.device:", msg)

    def test_missing_and_unknown(self):
        d = base()
        del d['train']['seed']
        d['extra'] = 1
        msg = self.bad(d)
        self.assertIn('task.train.seed: is required', msg)
        self.assertIn('task.extra: unknown field', msg)

    def test_types(self):
        d = base()
        d['train']['epochs'] = 1.5
        d['channelsLast'] = 1
        d['loss']['params'] = {'gamma': 'x'}
        msg = self.bad(d)
        self.assertIn('task.train.epochs: must be an integer', msg)
        self.assertIn('task.channelsLast: must be true or false', msg)
        self.assertIn('task.loss.params.gamma: must be a finite number', msg)

    def test_cross_field_rules(self):
        d = base()
        del d['train']['sam']
        self.assertIn('task.perturbLoss: needs task.train.sam', self.bad(d))
        d = base()
        d['model'] = {'kind': 'torchvision'}
        self.assertIn('task.model.arch: is required', self.bad(d))
        d = base()
        d['train']['optimizer'] = {'kind': 'sgd', 'nesterov': True}
        self.assertIn('Nesterov momentum needs momentum > 0', self.bad(d))

    def test_augment_and_version(self):
        d = base()
        d['augment'] = 'flipcrop+blur'
        self.assertIn("task.augment: unknown augmentation 'blur'", self.bad(d))
        d = base()
        d['version'] = 2
        self.assertIn('task.version: must be 1', self.bad(d))

    def test_not_an_object(self):
        self.assertIn('must be an object', self.bad([1, 2]))


class SegTaskTest(unittest.TestCase):
    def bad(self, d):
        with self.assertRaises(RunnerError) as cm:
            parse_any_task(d)
        self.assertEqual(cm.exception.code, 'bad-task')
        self.assertNotIn('\n', cm.exception.message)
        return cm.exception.message

    def test_round_trip(self):
        d = seg_base()
        t = parse_any_task(d)
        self.assertIsInstance(t, SegTask)
        self.assertEqual(task_to_dict(t), d)
        self.assertEqual(task_to_dict(parse_seg_task(d)), d)
        minimal = {k: v for k, v in d.items() if k not in ('channelsLast', 'compile', 'threads', 'stepEvery')}
        minimal['train'] = {k: v for k, v in d['train'].items() if k != 'stepsPerEpoch'}
        self.assertEqual(task_to_dict(parse_any_task(minimal)), minimal)
        # Without a kind it is a classification task.
        self.assertIsInstance(parse_any_task(base()), Task)

    def test_bad_fields(self):
        d = seg_base()
        d['model']['filters'] = 0
        d['train']['epochs'] = -1
        d['train']['lr'] = 0
        d['data']['kind'] = 'tensors'
        d['augment'] = 'none'
        msg = self.bad(d)
        self.assertIn('task.model.filters: must be an integer >= 1, got 0', msg)
        self.assertIn('task.train.epochs: must be an integer >= 0, got -1', msg)
        self.assertIn('task.train.lr: must be a finite number > 0, got 0', msg)
        self.assertIn("task.data.kind: must be one of 'seg-tensors'", msg)
        self.assertIn('task.augment: unknown field', msg)
        d = seg_base()
        del d['train']['seed']
        d['model'] = {'kind': 'resnet9', 'filters': 4}
        msg = self.bad(d)
        self.assertIn('task.train.seed: is required', msg)
        self.assertIn("task.model.kind: must be one of 'unet'", msg)

    def test_kind(self):
        d = seg_base()
        d['kind'] = 'detection'
        self.assertIn("task.kind: must be 'segmentation', 'gan' or absent", self.bad(d))


class GanTaskTest(unittest.TestCase):
    def bad(self, d):
        with self.assertRaises(RunnerError) as cm:
            parse_any_task(d)
        self.assertEqual(cm.exception.code, 'bad-task')
        self.assertNotIn('\n', cm.exception.message)
        return cm.exception.message

    def test_round_trip(self):
        d = gan_base()
        t = parse_any_task(d)
        self.assertIsInstance(t, GanTask)
        self.assertEqual(task_to_dict(t), d)
        self.assertEqual(task_to_dict(parse_gan_task(d)), d)
        minimal = {k: v for k, v in d.items() if k not in ('threads', 'stepEvery')}
        minimal['train'] = {k: v for k, v in d['train'].items() if k != 'clip'}
        self.assertEqual(task_to_dict(parse_any_task(minimal)), minimal)

    def test_bad_fields(self):
        d = gan_base()
        d['train']['beta1'] = 1
        d['train']['clip'] = 0
        d['train']['zDim'] = 2.5
        d['data']['kind'] = 'seg-tensors'
        d['model'] = {'kind': 'dcgan'}
        del d['dLoss']
        msg = self.bad(d)
        self.assertIn('task.train.beta1: must be a finite number >= 0 and < 1, got 1', msg)
        self.assertIn('task.train.clip: must be a finite number > 0, got 0', msg)
        self.assertIn('task.train.zDim: must be an integer >= 1, got 2.5', msg)
        self.assertIn("task.data.kind: must be one of 'tensors'", msg)
        self.assertIn('task.model: unknown field', msg)
        self.assertIn('task.dLoss: is required', msg)
        d = gan_base()
        del d['train']['samplesPerClass']
        self.assertIn('task.train.samplesPerClass: is required', self.bad(d))


if __name__ == '__main__':
    unittest.main()
