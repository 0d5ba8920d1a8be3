import unittest

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))  # for helpers, whatever the cwd

import helpers  # noqa: F401

from lossmith_torch.errors import RunnerError, classify


class ErrorsTest(unittest.TestCase):
    def test_oom_and_internal(self):
        e = classify(RuntimeError('CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total capacity)'),
                     {'device': 'cuda:0 (NVIDIA H100)', 'batchSize': 512})
        self.assertEqual(e.code, 'out-of-memory')
        self.assertIn('at batch size 512', e.message)
        self.assertIn('smaller --batch-size', e.message)
        self.assertIn('--workers', e.message)
        try:
            {}['x']
        except KeyError as k:
            e = classify(k)
        self.assertEqual(e.code, 'internal')
        self.assertIn('Traceback', e.detail)
        self.assertNotIn('\n', e.message)
        r = RunnerError('dataset', 'two\nlines')
        self.assertIs(classify(r), r)
        self.assertEqual(r.to_json(), {'type': 'error', 'code': 'dataset', 'message': 'two lines'})


if __name__ == '__main__':
    unittest.main()
