import json
import os
import unittest

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))  # for helpers, whatever the cwd

from helpers import EXAMPLES, example

from lossmith_torch.errors import RunnerError
from lossmith_torch.task import parse_task, task_to_dict


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


if __name__ == '__main__':
    unittest.main()
