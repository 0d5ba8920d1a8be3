/**
 * The two engines build the same networks: every model the tfjs engine has, created on tfjs
 * (cpu backend), has its weights copied into the torch runner's model of the same kind (kernels
 * HWIO -> OIHW, dense [in,out] -> [out,in], batch-norm gamma/beta/moving statistics), and both
 * give the same logits on the same images in eval mode. One key and one shape per parameter on
 * each side, so a layer added, dropped or resized on one engine fails here; the odd image size
 * checks TensorFlow's 'same' padding of strided convolutions, pooling that floors, and the
 * flatten order (NHWC on both).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../engine/src/engines/tfjs/backend';
import { createModel, type ModelSpec } from '../../../engine/src/engines/tfjs/models';
import { ENGINE_MODELS } from '../../../protocol/run-events';
import { Rng } from '../../../engine/src/rng';
import { findTorchPython, skipUnless } from '../../export/python';
import { tmpDir } from '../../helpers/tmp';

const TORCH_DIR = path.join(__dirname, '..', '..', '..', '..', 'engine', 'torch');
const PY = findTorchPython();

const CASES: [ModelSpec, [number, number, number]][] = [
  [{ kind: 'mlp', hidden: [16, 8] }, [6, 6, 1]],
  [{ kind: 'convnet', width: 0.5 }, [9, 7, 1]],
  [{ kind: 'resnet9', width: 0.5 }, [8, 8, 3]],
  [{ kind: 'lenet' }, [28, 28, 1]],
  [{ kind: 'lenet', width: 0.5 }, [9, 7, 3]],
];

/** tfjs parameter name (without its unique suffix) -> torch state-dict key. */
function torchKey(kind: string, name: string): string {
  const [layer, what] = [name.slice(0, name.lastIndexOf('/')), name.slice(name.lastIndexOf('/') + 1)];
  const suffix: Record<string, string> = { kernel: 'weight', bias: 'bias', gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };
  let mod = layer.replace(/\//g, '.');
  if (kind === 'mlp') {
    const m = /^dense(\d+)$/.exec(layer);
    if (m) mod = `hidden.${2 * Number(m[1])}`;
  }
  return `${mod}.${suffix[what]}`;
}

/** HWIO -> OIHW, [in,out] -> [out,in]; vectors as they are. */
function toTorch(v: tf.Tensor): { shape: number[]; data: number[] } {
  const t = v.rank === 4 ? tf.transpose(v, [3, 2, 0, 1]) : v.rank === 2 ? tf.transpose(v) : v;
  const out = { shape: t.shape, data: Array.from(t.dataSync()) };
  if (t !== v) t.dispose();
  return out;
}

const PY_SCRIPT = `
import json, sys, torch
from lossmith_torch.models import build_model
from lossmith_torch.task import ModelSpec
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    spec = ModelSpec(kind=c['spec']['kind'], width=c['spec'].get('width'), hidden=c['spec'].get('hidden'), bnMomentum=None, arch=None, init=None)
    b = build_model(spec, tuple(c['shape']), c['classes'], 1)
    own = {k: v for k, v in b.state.state_dict().items() if not k.endswith('num_batches_tracked')}
    given = c['weights']
    problems = ['torch has %s %s, tfjs none' % (k, list(v.shape)) for k, v in own.items() if k not in given]
    problems += ['tfjs has %s, torch none' % k for k in given if k not in own]
    problems += ['%s: tfjs %s, torch %s' % (k, given[k]['shape'], list(own[k].shape)) for k in given if k in own and list(own[k].shape) != given[k]['shape']]
    if problems:
        out.append({'problems': problems})
        continue
    with torch.no_grad():
        for k, v in given.items():
            own[k].copy_(torch.tensor(v['data']).view(v['shape']))
        b.net.eval()
        x = torch.tensor(c['x']).view([-1] + c['shape']).permute(0, 3, 1, 2)
        out.append({'logits': b.net(x).flatten().tolist()})
print(json.dumps(out))
`;

test('models: tfjs and torch build the same networks (same parameters; copied weights give the same logits)', { skip: skipUnless(PY, 'a Python with torch') }, async () => {
  await initBackend('cpu');
  assert.deepEqual(new Set(CASES.map(([s]) => s.kind)), new Set(ENGINE_MODELS.tfjs), 'every tfjs model is covered');
  const classes = 5;
  const n = 3;
  const cases = CASES.map(([spec, shape], i) => {
    const m = createModel(spec, shape, classes, 7 + i);
    const rng = new Rng(100 + i);
    const x = Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, () => rng.next());
    // Moving statistics away from 0/1 so that eval-mode batch norm is checked too.
    for (const v of m.stateVariables) v.assign(tf.tidy(() => tf.add(tf.mul(tf.randomUniform(v.shape, 0, 1, 'float32', 11 + i), 0.5), v.name.includes('variance') ? 0.75 : -0.25)));
    const weights: Record<string, { shape: number[]; data: number[] }> = {};
    for (const v of [...m.trainableVariables, ...m.stateVariables]) {
      const key = torchKey(spec.kind, v.name.replace(/_[0-9a-z]+$/, ''));
      assert.ok(!(key in weights), `${spec.kind}: ${key} twice`);
      weights[key] = toTorch(v);
    }
    const xt = tf.tensor4d(x, [n, ...shape]);
    const logits = m.apply(xt, false);
    const expected = Array.from(logits.dataSync());
    tf.dispose([xt, logits]);
    m.dispose();
    return { spec, shape, classes, weights, x: Array.from(x), expected };
  });
  const dir = tmpDir('lossmith-models-parity-');
  const file = path.join(dir, 'cases.json');
  fs.writeFileSync(file, JSON.stringify(cases.map(({ expected, ...c }) => c)));
  const r = spawnSync(PY!, ['-c', PY_SCRIPT, file], { cwd: TORCH_DIR, env: { ...process.env, PYTHONPATH: TORCH_DIR }, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { logits?: number[]; problems?: string[] }[];
  cases.forEach((c, i) => {
    const label = `${c.spec.kind} ${JSON.stringify(c.spec)} on ${c.shape.join('x')}`;
    assert.deepEqual(got[i].problems ?? [], [], label);
    const scale = Math.max(...c.expected.map(Math.abs));
    const err = Math.max(...c.expected.map((v, j) => Math.abs(v - got[i].logits![j])));
    assert.ok(err <= 1e-5 * scale + 1e-6, `${label}: max |tfjs - torch| ${err} (scale ${scale})`);
  });
});
