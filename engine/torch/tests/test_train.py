import math
import os
import unittest

import torch

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))  # for helpers, whatever the cwd

from helpers import Collect, TempDir, example, task, tiny_lmds

from lossmith_torch.errors import RunnerError
from lossmith_torch.task import parse_task
from lossmith_torch.train import Setup, Trainer, learning_rate, run_task

NAN_AT_12 = '''
import torch
import torch.nn.functional as F
calls = [0]
def bad(logits, target):
    calls[0] += 1
    out = -(target * F.log_softmax(logits, dim=-1)).sum(-1)
    # call 1 is the runner's check; training step s is call s + 2
    if calls[0] == 14:
        out = out * float('nan')
    return out
'''


class Recorder:
    def __init__(self):
        self.batches = []

    def on_batch(self, step, idx):
        self.batches.append(idx.tolist())


def strip_ms(result):
    r = dict(result)
    r['history'] = [{k: v for k, v in e.items() if k != 'ms'} for e in r['history']]
    for k in ('wallMs', 'imagesPerSec'):
        r.pop(k)
    return r


class TrainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.dir = cls.tmp.__enter__()
        cls.data = tiny_lmds(cls.dir)
        torch.set_num_threads(1)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__()

    def run_task(self, t, hooks=None):
        out = Collect()
        res = run_task(t, out, hooks=hooks)
        self.assertEqual(out.messages[0]['type'], 'info')
        self.assertEqual(out.messages[-1], {'type': 'result', 'result': res})
        return res, out

    def test_convnet_and_mlp_learn(self):
        for kind, lr in (('convnet', 0.01), ('mlp', 0.003)):
            res, out = self.run_task(task(self.data, model={'kind': kind}, train={'lr': lr}))
            self.assertEqual(res['status'], 'completed')
            self.assertEqual(len(out.of('epoch')), 2)
            self.assertEqual(res['steps'], 20)  # ceil(200 / 20) per epoch
            self.assertGreater(res['testAcc'], 0.6, kind)  # chance is 0.25
            self.assertGreater(res['imagesPerSec'], 0)
            self.assertEqual(res['dataset'], {'name': 'tiny', 'train': 200, 'val': 80, 'test': 80, 'classes': 4})

    def test_same_seed_same_run(self):
        t = task(self.data, augment='flipcrop:1+cutout:2+mixup')
        a, _ = self.run_task(t)
        b, _ = self.run_task(t)
        self.assertEqual(strip_ms(a), strip_ms(b))
        c, _ = self.run_task(task(self.data, augment='flipcrop:1+cutout:2+mixup', train={'seed': 2}))
        self.assertNotEqual(strip_ms(a)['history'], strip_ms(c)['history'])

    def test_other_loss_same_batches(self):
        ra, rb, rc = Recorder(), Recorder(), Recorder()
        self.run_task(task(self.data), hooks=ra)
        self.run_task(task(self.data, loss={'module': example('focal.py'), 'fn': 'focal', 'params': {'gamma': 2}}), hooks=rb)
        self.run_task(task(self.data, train={'seed': 5}), hooks=rc)
        self.assertEqual(len(ra.batches), 20)
        self.assertEqual(ra.batches, rb.batches)
        self.assertNotEqual(ra.batches, rc.batches)
        # a continuous stream: every pass over the data is a permutation
        first_pass = sorted(sum(ra.batches[:10], []))
        self.assertEqual(first_pass, list(range(200)))
        # and the same initial weights
        sa = Setup(parse_task(task(self.data)))
        sb = Setup(parse_task(task(self.data, loss={'module': example('focal.py'), 'fn': 'focal'})))
        for (ka, va), (kb, vb) in zip(sa.built.state.state_dict().items(), sb.built.state.state_dict().items()):
            self.assertTrue(torch.equal(va, vb), ka)

    def test_nan_stops_without_applying_the_step(self):
        t = task(self.data, loss={'module': NAN_AT_12, 'fn': 'bad'}, train={'stepsPerEpoch': 10, 'epochs': 3, 'testWith': 'final'})
        res, out = self.run_task(t)
        self.assertEqual(res['status'], 'nan')
        self.assertEqual(res['reason'], 'loss is NaN at step 12')
        self.assertEqual(res['steps'], 12)
        self.assertEqual(len(res['history']), 1)
        self.assertIsNotNone(res['testAcc'])  # the final weights are the pre-NaN ones
        self.assertGreater(res['testAcc'], 0.3)

    def test_lagged_mode_is_identical(self):
        # The lagged control flow (used on CUDA) with a host-side gate gives the sync mode's results.
        cases = [task(self.data, augment='flipcrop:1+mixup', train={'testWith': 'final'}, stepEvery=3)]
        for i in range(2):
            cases.append(task(self.data, loss={'module': NAN_AT_12 + '# %d\n' % i, 'fn': 'bad'},
                              train={'stepsPerEpoch': 10, 'epochs': 3, 'testWith': 'final'}))
        results = []
        for i, t in enumerate(cases):
            if i == 2:
                os.environ['LOSSMITH_TORCH_LAG'] = 'emulate'
            try:
                r, out = self.run_task(t)
            finally:
                os.environ.pop('LOSSMITH_TORCH_LAG', None)
            results.append((strip_ms(r), [m for m in out.messages if m['type'] == 'step']))
        self.assertEqual(results[1], results[2])
        self.assertEqual(results[1][0]['status'], 'nan')
        os.environ['LOSSMITH_TORCH_LAG'] = 'emulate'
        try:
            r, out = self.run_task(cases[0])
        finally:
            os.environ.pop('LOSSMITH_TORCH_LAG', None)
        self.assertEqual((strip_ms(r), [m for m in out.messages if m['type'] == 'step']), results[0])
        self.assertEqual(len(results[0][1]), 6)

    def test_lagged_mode_final_state(self):
        # A NaN found one step late: the step after it was queued, its BN update is undone.
        states = []
        for i, lag in enumerate((None, 'emulate')):
            t = task(self.data, loss={'module': NAN_AT_12 + '# state %d\n' % i, 'fn': 'bad'}, train={'stepsPerEpoch': 10, 'testWith': 'final'})
            s = Setup(parse_task(t))
            tr = Trainer(s, Collect(), lag=lag)
            self.assertEqual(tr.mode, 'lagged' if lag else 'sync')
            self.assertEqual(tr.run()['reason'], 'loss is NaN at step 12')
            states.append(s.built.state.state_dict())
        for k in states[0]:
            self.assertTrue(torch.equal(states[0][k], states[1][k]), k)

    def test_nan_at_first_step(self):
        mod = 'import torch\ndef bad(logits, target):\n    return (logits * float("nan")).sum(-1)\n'
        res, _ = self.run_task(task(self.data, loss={'module': mod, 'fn': 'bad'}))
        self.assertEqual(res['status'], 'nan')
        self.assertEqual(res['reason'], 'loss is NaN at step 0')
        self.assertEqual(res['steps'], 0)
        self.assertIsNone(res['testAcc'])
        self.assertIsNone(res['bestValAcc'])

    def test_sam_asam_aace(self):
        for sam, perturb in (({'rho': 0.05}, None), ({'rho': 0.5, 'adaptive': True}, None),
                             ({'rho': 0.2}, {'module': example('aace.py'), 'fn': 'aace'})):
            t = task(self.data, train={'sam': sam, 'epochs': 1})
            if perturb:
                t['perturbLoss'] = perturb
            res, _ = self.run_task(t)
            self.assertEqual(res['status'], 'completed', (sam, res.get('reason')))
            self.assertTrue(math.isfinite(res['history'][0]['trainLoss']))
            self.assertGreater(res['testAcc'], 0.3)

    def test_sam_second_pass_replays_dropout_and_keeps_bn(self):
        s = Setup(parse_task(task(self.data)))
        tr = Trainer(s, Collect())
        x = torch.rand(16, 1, 8, 8)
        s.module.train()
        st = tr.rng_state()
        bn = s.module.bn1
        before = bn.running_mean.clone()
        with tr.frozen_bn():
            a = s.net(x)
        self.assertTrue(torch.equal(bn.running_mean, before))
        tr.set_rng_state(st)
        with tr.frozen_bn():
            b = s.net(x)
        c = s.net(x)  # fresh dropout mask, BN statistics updated
        self.assertTrue(torch.equal(a, b))
        self.assertFalse(torch.equal(a, c))
        self.assertFalse(torch.equal(bn.running_mean, before))
        self.assertTrue(bn.track_running_stats)

    def test_early_stop_steps_and_final(self):
        res, out = self.run_task(task(self.data, train={'epochs': 3, 'earlyStop': {'minTrainAcc': 1.0, 'afterEpochs': 1}},
                                      stepEvery=4))
        self.assertEqual(res['status'], 'early-stopped')
        self.assertTrue(res['reason'].startswith('training accuracy 0.'), res['reason'])
        self.assertEqual(len(res['history']), 1)
        steps = out.of('step')
        self.assertEqual([m['step'] for m in steps], [3, 7])
        res, _ = self.run_task(task(self.data, train={'epochs': 1, 'testWith': 'final', 'maxVal': 0}))
        self.assertEqual(res['testWeights'], 'final')
        self.assertIsNone(res['history'][0]['valAcc'])

    def test_research_models_run(self):
        for kind in ('resnet9', 'wrn-16-4', 'resnet18'):
            res, _ = self.run_task(task(self.data, model={'kind': kind}, train={'epochs': 1, 'stepsPerEpoch': 2, 'batchSize': 8}))
            self.assertEqual(res['status'], 'completed', kind)
            self.assertEqual(res['steps'], 2)

    def test_torchvision_model(self):
        try:
            import torchvision  # noqa: F401
        except ImportError:
            self.skipTest('no torchvision')
        t = task(self.data, model={'kind': 'torchvision', 'arch': 'resnet18'}, train={'epochs': 1, 'stepsPerEpoch': 2, 'batchSize': 8})
        res, out = self.run_task(t)
        self.assertEqual(res['status'], 'completed')
        with self.assertRaises(RunnerError) as cm:
            run_task(task(self.data, model={'kind': 'torchvision', 'arch': 'resnet_51'}), Collect())
        self.assertEqual(cm.exception.code, 'bad-task')
        self.assertIn('resnet_51', cm.exception.message)

    def test_learning_rate(self):
        # warm = round(0.1 * 100) = 10 steps of linear warm-up, then cosine to 0
        self.assertAlmostEqual(learning_rate(0, 100, 1.0, 0.1, 'cosine'), 0.1)
        self.assertAlmostEqual(learning_rate(9, 100, 1.0, 0.1, 'cosine'), 1.0)
        self.assertAlmostEqual(learning_rate(10, 100, 1.0, 0.1, 'cosine'), 1.0)
        self.assertAlmostEqual(learning_rate(55, 100, 1.0, 0.1, 'cosine'), 0.5)
        self.assertAlmostEqual(learning_rate(55, 100, 1.0, 0.1, 'constant'), 1.0)
        self.assertAlmostEqual(learning_rate(3, 10, 2.0, 0.25, 'cosine'), 2.0)  # round(2.5) = 3 as in JS

    def test_loss_errors(self):
        cases = [
            ('def f(logits, target):\n    return (logits * target).sum()\n', 'f', 'shape [N] = [2], got shape []'),
            ('def f(logits, target:\n    pass\n', 'f', 'does not compile'),
            ('import not_a_module_xyz\n', 'f', 'fails to import'),
            ('def g(logits, target):\n    return logits.sum(-1)\n', 'f', "defines no function 'f'"),
        ]
        for mod, fn, want in cases:
            with self.assertRaises(RunnerError) as cm:
                run_task(task(self.data, loss={'module': mod, 'fn': fn}), Collect())
            self.assertEqual(cm.exception.code, 'loss')
            self.assertIn(want, cm.exception.message)
        with self.assertRaises(RunnerError) as cm:
            run_task(task(self.data, loss={'module': example('focal.py'), 'fn': 'focal', 'params': {'alpha': 1}}), Collect())
        self.assertEqual(cm.exception.code, 'loss')
        self.assertIn('alpha', cm.exception.message)

    def test_device_unavailable(self):
        if torch.cuda.is_available():
            self.skipTest('this machine has CUDA')
        for dev in ('cuda', 'cuda:3'):
            with self.assertRaises(RunnerError) as cm:
                run_task(task(self.data, device=dev), Collect())
            self.assertEqual(cm.exception.code, 'device-unavailable')
            self.assertIn('torch.cuda.is_available() is False', cm.exception.message)
            self.assertIn('nvidia-smi' if torch.version.cuda else 'CPU-only build', cm.exception.message)
        with self.assertRaises(RunnerError) as cm:
            run_task(task(self.data, device='mps'), Collect())
        self.assertEqual(cm.exception.code, 'device-unavailable')
        with self.assertRaises(RunnerError) as cm:
            run_task(task(self.data, precision='fp16'), Collect())
        self.assertEqual(cm.exception.code, 'bad-task')


if __name__ == '__main__':
    unittest.main()
