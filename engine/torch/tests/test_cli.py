"""The command line as the Node bridge uses it: subprocesses, JSON lines on stdout."""
import json
import os
import subprocess
import sys
import unittest

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))  # for helpers, whatever the cwd

from helpers import ROOT, TempDir, example, task, tiny_lmds

PRINTING_LOSS = '''import os
import torch.nn.functional as F
print("hello from the loss module")
os.write(1, b"raw write to fd 1\\n")
def ce(logits, target):
    return -(target * F.log_softmax(logits, dim=-1)).sum(-1)
'''


def run(args, stdin=None, env=None):
    p = subprocess.run([sys.executable, '-m', 'lossmith_torch'] + args, cwd=ROOT, input=stdin, capture_output=True,
                       text=True, timeout=120, env=env)
    lines = [json.loads(l) for l in p.stdout.splitlines()]  # every stdout line is JSON
    return p.returncode, lines, p.stderr


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.dir = cls.tmp.__enter__()
        cls.data = tiny_lmds(cls.dir, n_train=60)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__()

    def small(self, **over):
        t = task(self.data, train={'epochs': 1, 'batchSize': 30}, threads=1)
        t.update(over)
        return t

    def test_probe(self):
        rc, lines, _ = run(['--probe'])
        self.assertEqual(rc, 0)
        self.assertEqual(len(lines), 1)
        p = lines[0]
        for key in ('python', 'executable', 'torch', 'torchvision', 'cuda', 'cudnn', 'cudaAvailable', 'mps', 'bf16', 'compile', 'gpus'):
            self.assertIn(key, p)
        self.assertNotIn('error', p)
        self.assertEqual(p['executable'], sys.executable)
        code = "import sys, runpy; sys.modules['torch'] = None; sys.argv = ['lossmith_torch', '--probe']; runpy.run_module('lossmith_torch', run_name='__main__')"
        out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0)
        p = json.loads(out.stdout)
        self.assertIsNone(p['torch'])
        self.assertIn('torch cannot be imported', p['error'])

    def test_task_file(self):
        path = os.path.join(self.dir, 'task.json')
        with open(path, 'w') as f:
            json.dump(self.small(loss={'module': PRINTING_LOSS, 'fn': 'ce'}), f)
        rc, lines, err = run([path])
        self.assertEqual(rc, 0, err)
        self.assertEqual([m['type'] for m in lines], ['info', 'epoch', 'result'])
        self.assertIn('hello from the loss module', err)
        self.assertIn('raw write to fd 1', err)
        self.assertEqual(lines[0]['info']['device'], 'cpu')
        self.assertEqual(lines[0]['info']['threads'], 1)

    def test_errors_exit_2_with_one_line(self):
        path = os.path.join(self.dir, 'bad.json')
        with open(path, 'w') as f:
            json.dump(self.small(device='cuda:0'), f)
        rc, lines, _ = run([path])
        self.assertEqual(rc, 2)
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0]['type'], 'error')
        self.assertEqual(lines[0]['code'], 'device-unavailable')
        self.assertNotIn('\n', lines[0]['message'])
        rc, lines, _ = run([os.path.join(self.dir, 'missing.json')])
        self.assertEqual((rc, lines[0]['code']), (2, 'bad-task'))
        with open(path, 'w') as f:
            f.write('{not json')
        rc, lines, _ = run([path])
        self.assertEqual((rc, lines[0]['code']), (2, 'bad-task'))
        self.assertIn('not valid JSON', lines[0]['message'])

    def test_no_torchvision(self):
        block = "import sys, runpy; sys.modules['torchvision'] = None; sys.argv = ['lossmith_torch', '--serve']; runpy.run_module('lossmith_torch', run_name='__main__')"
        t1 = self.small(data={'kind': 'imagefolder', 'path': self.dir})
        t2 = self.small(model={'kind': 'torchvision', 'arch': 'resnet18'})
        p = subprocess.run([sys.executable, '-c', block], cwd=ROOT, input=json.dumps(t1) + '\n' + json.dumps(t2) + '\n',
                           capture_output=True, text=True, timeout=60)
        lines = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([(m['type'], m['code']) for m in lines], [('error', 'no-torchvision')] * 2)
        self.assertIn('pip install torchvision', lines[0]['message'])

    def test_serve(self):
        t1 = self.small()
        t2 = self.small(loss={'module': example('focal.py'), 'fn': 'focal'}, augment='flipcrop:1')
        bad = dict(t1, device='tpu')
        stdin = '\n'.join(json.dumps(t) for t in (t1, t2)) + '\n\nnot json\n' + json.dumps(bad) + '\n' + json.dumps(t1) + '\n'
        rc, lines, err = run(['--serve'], stdin=stdin)
        self.assertEqual(rc, 0, err)
        kinds = [m['type'] for m in lines]
        self.assertEqual(kinds, ['info', 'epoch', 'result', 'info', 'epoch', 'result', 'error', 'error', 'info', 'epoch', 'result'])
        self.assertEqual(lines[6]['code'], 'bad-task')
        self.assertIn('task.device', lines[7]['message'])
        first, last = lines[2]['result'], lines[10]['result']
        self.assertEqual(first['history'][0]['trainLoss'], last['history'][0]['trainLoss'])  # same task, same run


if __name__ == '__main__':
    unittest.main()
