/**
 * Syntax and structure of the exported modules, for all three targets, for every builtin's test
 * loss and every catalogue loss. JAX and TensorFlow cannot be installed where the tests run, so
 * their output is only checked here (the PyTorch output is also run: pytorch.test.ts):
 *
 *  - `python -m py_compile` accepts every file (syntax, no import);
 *  - with Python's `ast` (no import): the module defines `NAME(logits, target, *, params...)`
 *    with the file's defaults as keyword-only arguments; exactly the helpers the exporter reports
 *    (and no other top-level functions); no name is used without being bound in the module or
 *    being a Python builtin; it imports only its own library;
 *  - every library attribute it uses (jnp.where, tf.math.bessel_i1e, ...) is in the list of
 *    documented APIs below — so a misspelt template fails here. For PyTorch, every one is
 *    resolved in the real torch module instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkText, type BuiltinId } from '../../grammar/src/index';
import { EXPORT_TARGETS, exportLoss, type ExportResult, type ExportTarget } from '../../grammar/src/export/index';
import { BUILTIN_LOSSES } from '../helpers/builtin-losses';
import { findPython, findTorchPython, skipUnless } from './python';

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');

/** Documented JAX / TensorFlow APIs the templates may use (JAX 0.4, TensorFlow 2.x). */
const KNOWN: Record<Exclude<ExportTarget, 'pytorch'>, string[]> = {
  jax: [
    'functools.partial', 'jax.custom_jvp', 'jax.lax.fori_loop', 'jax.lax.stop_gradient', 'jax.lax.while_loop',
    'jax.nn.log_softmax', 'jax.nn.one_hot', 'jax.nn.relu', 'jax.nn.softmax', 'jax.nn.sigmoid', 'jax.nn.softplus', 'jax.nn.soft_sign',
    'jax.scipy.special.i0', 'jax.scipy.special.i0e', 'jax.scipy.special.i1', 'jax.scipy.special.i1e',
    'jax.scipy.special.erf', 'jax.scipy.special.erfc', 'jax.scipy.special.logsumexp',
    ...['abs', 'all', 'any', 'argmax', 'asarray', 'clip', 'exp', 'expm1', 'finfo', 'full_like', 'integer', 'issubdtype', 'log', 'log1p', 'log10',
      'max', 'min', 'mean', 'squeeze', 'sum', 'where', 'zeros_like', 'ones_like', 'sqrt', 'sign', 'square', 'sin', 'cos', 'tanh', 'sinh',
      'cosh', 'arcsinh', 'arctan', 'maximum', 'minimum', 'broadcast_to'].map((n) => `jnp.${n}`),
  ],
  keras: [
    ...['argmax', 'bool', 'cast', 'clip_by_value', 'constant', 'convert_to_tensor', 'custom_gradient', 'float64', 'int32', 'logical_and', 'logical_not',
      'one_hot', 'ones_like', 'zeros_like', 'reduce_all', 'reduce_any', 'reduce_logsumexp', 'reduce_max', 'reduce_min', 'reduce_mean',
      'reduce_sum', 'shape', 'squeeze', 'stop_gradient', 'where', 'while_loop', 'broadcast_to'].map((n) => `tf.${n}`),
    ...['abs', 'bessel_i0', 'bessel_i0e', 'bessel_i1', 'bessel_i1e', 'exp', 'expm1', 'log', 'log1p', 'sqrt', 'sign', 'square', 'sin', 'cos',
      'tanh', 'sinh', 'cosh', 'asinh', 'atan', 'sigmoid', 'softplus', 'erf', 'erfc', 'maximum', 'minimum'].map((n) => `tf.math.${n}`),
    ...['log_softmax', 'relu', 'softmax', 'softsign'].map((n) => `tf.nn.${n}`),
  ],
};

const IMPORTS: Record<ExportTarget, string[]> = {
  pytorch: ['torch', 'torch.nn.functional'],
  jax: ['jax', 'jax.numpy', 'jax.scipy.special', 'functools'],
  keras: ['tensorflow'],
};

const ANALYZE = String.raw`
import ast, builtins, json, sys
out = {}
for path in sys.argv[2:]:
    tree = ast.parse(open(path).read(), path)
    funcs, classes, consts, imports = {}, [], [], []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            funcs[node.name] = {"args": [x.arg for x in a.args], "kwonly": [x.arg for x in a.kwonlyargs],
                                "defaults": [ast.literal_eval(d) for d in a.kw_defaults], "vararg": bool(a.vararg or a.kwarg)}
        elif isinstance(node, ast.ClassDef):
            classes.append(node.name)
        elif isinstance(node, ast.Assign):
            consts += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.Import):
            imports += [al.name for al in node.names]
        elif isinstance(node, ast.ImportFrom):
            imports.append(node.module)
    bound = set(dir(builtins))
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            name = node.asname or node.name.split(".")[0]
            bound.add(name)
            aliases.add(name)
    undefined = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in bound})
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)}
    chains = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and id(n) not in inner:
            parts, cur = [], n
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name) and cur.id in aliases:
                chains.add(".".join([cur.id] + parts[::-1]))
    resolved = {}
    if sys.argv[1] == "resolve":
        import functools, torch
        import torch.nn.functional as F
        env = {"torch": torch, "F": F, "functools": functools}
        for c in chains:
            head, *rest = c.split(".")
            obj, ok = env.get(head), True
            for r in rest:
                if not hasattr(obj, r):
                    ok = False
                    break
                obj = getattr(obj, r)
            resolved[c] = ok
    out[path] = {"funcs": funcs, "classes": classes, "consts": consts, "imports": imports,
                 "undefined": undefined, "chains": sorted(chains), "resolved": resolved}
json.dump(out, sys.stdout)
`;

interface Analysis {
  funcs: Record<string, { args: string[]; kwonly: string[]; defaults: number[]; vararg: boolean }>;
  classes: string[];
  consts: string[];
  imports: string[];
  undefined: string[];
  chains: string[];
  resolved: Record<string, boolean>;
}

function sources(): { label: string; source: string; file: string; loss: string }[] {
  const out = (Object.keys(BUILTIN_LOSSES) as BuiltinId[]).filter((id) => BUILTIN_LOSSES[id]).map((id) => ({ label: `builtin ${id}`, source: `loss l = ${BUILTIN_LOSSES[id]}\n`, file: `builtin-${id}.loss`, loss: 'l' }));
  for (const f of fs.readdirSync(EXAMPLES).filter((n) => n.endsWith('.loss')).sort()) {
    const source = fs.readFileSync(path.join(EXAMPLES, f), 'utf8');
    for (const l of checkText(source).model.losses) out.push({ label: `${f}#${l.name}`, source, file: `examples/${f}`, loss: l.name });
  }
  // Reserved identifiers, constants only, params never used, a const function argument.
  out.push({
    label: 'names',
    source: 'param lambda = 0.5 in [0, 1]\nparam unused = 3\nlet torch = sum(y * logits)\nlet tf = exp(lambda) * clamp(0.2, logits, logits + 1)\nloss def = lambda * torch + sum(tf) + step(lambda)\n',
    file: 'names.loss',
    loss: 'def',
  });
  out.push({ label: 'constant', source: 'param a = 2\nloss k = a * 3 + sign(-a)\n', file: 'constant.loss', loss: 'k' });
  return out;
}

const python = findPython();

for (const target of EXPORT_TARGETS) {
  test(`${target} exports compile and have the expected structure`, { skip: skipUnless(python, 'python3'), timeout: 300_000 }, () => {
    assert.ok(python, 'CI=true: no python3 found');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lossmith-structure-${target}-`));
    const items: { label: string; file: string; r: ExportResult; params: ExportResult['params'] }[] = [];
    sources().forEach((s, i) => {
      const { model, diagnostics } = checkText(s.source, { integrity: false });
      assert.deepEqual(diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), [], s.label);
      const r = exportLoss(model, s.loss, { target, file: s.file, source: s.source });
      const file = path.join(dir, `m${i}.py`);
      fs.writeFileSync(file, r.code);
      items.push({ label: s.label, file, r, params: r.params });
    });
    const compile = spawnSync(python!, ['-m', 'py_compile', ...items.map((x) => x.file)], { encoding: 'utf8' });
    assert.equal(compile.status, 0, `py_compile failed:\n${compile.stderr}`);
    const torchPy = target === 'pytorch' ? findTorchPython() : null;
    const analyze = spawnSync(torchPy ?? python!, ['-c', ANALYZE, torchPy ? 'resolve' : 'parse', ...items.map((x) => x.file)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(analyze.status, 0, analyze.stderr);
    const res = JSON.parse(analyze.stdout) as Record<string, Analysis>;
    const failures: string[] = [];
    for (const it of items) {
      const a = res[it.file];
      const fail = (m: string): number => failures.push(`${it.label}: ${m}`);
      const f = a.funcs[it.r.functionName];
      if (!f) {
        fail(`no function ${it.r.functionName}`);
        continue;
      }
      if (f.args.join() !== 'logits,target' || f.vararg) fail(`signature (${f.args.join(', ')})`);
      if (f.kwonly.join() !== it.params.map((p) => p.python).join()) fail(`keyword arguments ${f.kwonly} vs ${it.params.map((p) => p.python)}`);
      it.params.forEach((p, k) => {
        if (f.defaults[k] !== p.value) fail(`default of ${p.python} is ${f.defaults[k]}, not ${p.value}`);
      });
      const defined = new Set([...Object.keys(a.funcs), ...a.classes, ...a.consts]);
      for (const h of it.r.helpers) if (!defined.has(h) && !/_TABLES$/.test(h)) fail(`helper ${h} not defined`);
      const extra = Object.keys(a.funcs).filter((n) => n !== it.r.functionName && !it.r.helpers.includes(n) && !n.endsWith('_jvp'));
      if (extra.length) fail(`unexpected functions ${extra}`);
      if (a.undefined.length) fail(`undefined names ${a.undefined}`);
      const badImports = a.imports.filter((m) => !IMPORTS[target].includes(m));
      if (badImports.length) fail(`imports ${badImports}`);
      if (target === 'pytorch') {
        if (torchPy) for (const [c, ok] of Object.entries(a.resolved)) if (!ok) fail(`${c} does not exist in torch`);
      } else {
        const known = new Set(KNOWN[target]);
        const unknown = a.chains.filter((c) => !known.has(c) && !c.startsWith('target.') && !c.startsWith('logits.'));
        if (unknown.length) fail(`unknown API ${unknown}`);
      }
    }
    // Spot checks of the helpers each library gets.
    const byLabel = (l: string): ExportResult => items.find((x) => x.label === l)!.r;
    assert.deepEqual(byLabel('cross-entropy.loss#ce').helpers, []);
    const bt = byLabel('bi-tempered.loss#bi_tempered');
    assert.ok(['tempered_softmax', 'log_t', 'exp_t'].every((h) => bt.helpers.includes(h)), bt.helpers.join());
    const tempered = { pytorch: 'torch.autograd.Function', jax: 'jax.custom_jvp', keras: '@tf.custom_gradient' }[target];
    assert.ok(bt.code.includes(tempered), `${target} tempered softmax uses ${tempered}`);
    assert.ok(byLabel('builtin j0').helpers.includes('bessel_j0'));
    assert.ok(!byLabel('builtin i0').helpers.some((h) => h.startsWith('bessel')), 'i0 comes from the library');
    assert.equal(byLabel('names').functionName, 'def_');
    assert.deepEqual(byLabel('names').params.map((p) => p.python), ['lambda_']);
    assert.deepEqual(failures, []);
    fs.rmSync(dir, { recursive: true, force: true });
  });
}
