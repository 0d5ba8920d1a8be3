import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { main } from '../../engine/src/cli';
import { tmpDir } from '../helpers/tmp';

const root = path.join(__dirname, '..', '..', '..');
const ex = (f: string): string => path.join(root, 'examples', f);

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function tmp(name: string, text: string): string {
  const dir = tmpDir('lossmith-cli-');
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

test('check: compiler-style lines, exit 1 on errors', async () => {
  const f = tmp('bad.loss', 'loss a = sum(y * lgo(p))\nlet k = 1\n');
  const r = await run(['check', f]);
  assert.equal(r.code, 1);
  const lines = r.out.trim().split('\n');
  assert.ok(lines.includes(`${f}:1:18: error: unknown function 'lgo'; did you mean 'log'? [unknown-name]`), r.out);
  assert.ok(lines.some((l) => l.startsWith(`${f}:2:5: warning: let 'k' is never used [unused-binding]`)), r.out);
  assert.match(r.err, /1 error/);
});

test('check --json: the documented shape; the catalogue exits 0', async () => {
  const files = fs.readdirSync(path.join(root, 'examples')).filter((x) => x.endsWith('.loss')).map(ex);
  const r = await run(['check', '--json', ...files]);
  assert.equal(r.code, 0);
  const parsed = JSON.parse(r.out) as { file: string; diagnostics: { range: { start: { line: number; character: number } }; severity: string; code: string; message: string }[] }[];
  assert.equal(parsed.length, files.length);
  const aace = parsed.find((p) => p.file.endsWith('aace.loss'))!;
  // Allowed in the file: sum(q), the other classes' probability, is positive; the loss rises on purpose.
  assert.deepEqual(aace.diagnostics.map((d) => [d.severity, d.code]), [['info', 'domain-div'], ['info', 'loss-rises']]);
  assert.deepEqual(Object.keys(aace.diagnostics[0].range.start).sort(), ['character', 'line']);
});

test('derive: text, latex and json', async () => {
  const t = await run(['derive', ex('focal.loss'), '--wrt', 'logits']);
  assert.equal(t.code, 0);
  assert.equal(t.out, 'd focal / d logits = p * (gamma * log(pt) * (1 - pt)^(gamma - 1) - (1 - pt)^gamma / pt) * (y - pt)\n');
  const l = await run(['derive', ex('cross-entropy.loss'), '--format', 'latex', '--wrt', 'logits']);
  assert.equal(l.out.trim(), '\\frac{\\partial \\mathrm{ce}}{\\partial z_k} = p_k - y_k');
  const j = await run(['derive', ex('taylor-ce.loss'), '--format', 'json', '--loss', 'taylor2', '--classes', '4']);
  const obj = JSON.parse(j.out);
  assert.equal(obj[0].loss, 'taylor2');
  assert.deepEqual(obj[0].derivatives.map((d: { wrt: string }) => d.wrt), ['logits', 'p']);
  assert.equal(obj[0].curve.classes, 4);
  assert.equal(obj[0].curve.pt.length, obj[0].curve.loss.length);
});

test('derive on a file with errors fails with the diagnostics', async () => {
  const f = tmp('bad.loss', 'loss a = y');
  const r = await run(['derive', f]);
  assert.equal(r.code, 2);
  assert.match(r.err, /vector-loss/);
});

test('probe: value and symbolic gradient at given points, with --param', async () => {
  const pts = tmp('pts.json', JSON.stringify([{ logits: [1, 2, 0.5], y: [0, 1, 0] }, { logits: [0, 0], y: [0.3, 0.7] }]));
  const r = await run(['probe', ex('focal.loss'), '--loss', 'focal', '--points', pts, '--param', 'gamma=0']);
  assert.equal(r.code, 0);
  const out = JSON.parse(r.out) as { value: number; grad_logits: number[] }[];
  // gamma = 0 is cross-entropy: value -log p_true, gradient p - y.
  const z = [1, 2, 0.5];
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  const p = e.map((v) => v / s);
  assert.ok(Math.abs(out[0].value + Math.log(p[1])) < 1e-12);
  out[0].grad_logits.forEach((g, i) => assert.ok(Math.abs(g - (p[i] - (i === 1 ? 1 : 0))) < 1e-12));
  assert.equal(out[1].grad_logits.length, 2);
  const bad = await run(['probe', ex('focal.loss'), '--loss', 'focal', '--points', pts, '--param', 'nope=1']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /no param 'nope'/);
  // A file's only loss is the default; a param outside the range the file declares is refused.
  const only = await run(['probe', ex('focal.loss'), '--points', pts, '--param', 'gamma=0']);
  assert.equal(only.code, 0, only.err);
  assert.deepEqual(JSON.parse(only.out), out);
  const outside = await run(['probe', ex('focal.loss'), '--points', pts, '--param', 'gamma=99']);
  assert.equal(outside.code, 2);
  assert.match(outside.err, /--param gamma=99 is outside the range the file declares for it, \[0, 5\]/);
  const two = await run(['probe', ex('taylor-ce.loss'), '--points', pts]);
  assert.equal(two.code, 2);
  assert.match(two.err, /has 2 losses \(taylor2, taylor6\): name one with --loss/);
});

test('derive --wrt p of a loss written through the logits says why it is 0', async () => {
  const r = await run(['derive', ex('cross-entropy.loss'), '--wrt', 'p']);
  assert.equal(r.code, 0);
  assert.match(r.out, /d ce \/ d p = 0/);
  assert.match(r.err, /ce does not depend on p as a free vector .*--wrt logits/);
  const f = await run(['derive', ex('focal.loss'), '--wrt', 'p']);
  assert.equal(f.err, '');
});

test('check and derive on a file without a loss say so', async () => {
  const empty = tmp('empty.loss', '# nothing here yet\n');
  const c = await run(['check', empty]);
  assert.equal(c.code, 0);
  assert.match(c.err, /empty\.loss: no loss in this file/);
  const d = await run(['derive', empty]);
  assert.equal(d.code, 2);
  assert.match(d.err, /no loss in .*empty\.loss: nothing to differentiate/);
});

test('the bin works as a real process', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'lossmith.js'), 'check', ex('focal.loss')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /1 file checked: 0 errors, 0 warnings/);
  const h = spawnSync(process.execPath, [path.join(root, 'bin', 'lossmith.js'), '--help'], { encoding: 'utf8' });
  assert.match(h.stdout, /check/);
  assert.match(h.stdout, /lsp --stdio/);
});

test('check: at most --max-problems diagnostics per file (default 1000), errors first, then one that counts the rest', async () => {
  const f = tmp('many.loss', Array.from({ length: 1500 }, (_, i) => `loss l${i} = sum(y * p) + zz${i}`).join('\n'));
  const r = await run(['check', '--no-integrity', f]);
  assert.equal(r.code, 1);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, 1001);
  assert.ok(lines.slice(0, 1000).every((l) => / error: unknown name 'zz\d+' \[unknown-name\]$/.test(l)), lines[0]);
  assert.match(lines[1000], /: error: \d+ more problems not shown \(500 errors(, \d+ warnings?)?\); only the first 1000 are reported \[too-many-problems\]$/);
  // The count on stderr is the whole file's.
  assert.match(r.err, /1500 errors/);

  const json = await run(['check', '--no-integrity', '--json', '--max-problems', '10', f]);
  const [file] = JSON.parse(json.out) as { diagnostics: { code: string; message: string }[] }[];
  assert.equal(file.diagnostics.length, 11);
  assert.equal(file.diagnostics[10].code, 'too-many-problems');
  const all = await run(['check', '--no-integrity', '--max-problems', '0', f]);
  assert.ok(all.out.trim().split('\n').length >= 1500);
  const bad = await run(['check', '--max-problems', 'lots', f]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--max-problems expects a whole number/);
});

test('check: 5 MB of random bytes gives a few errors, quickly, not one per bad character', async () => {
  let seed = 11;
  const bytes = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255;
  const f = tmp('random.loss', bytes.toString('latin1'));
  const r = await run(['check', f]);
  assert.equal(r.code, 1);
  const lines = r.out.trim().split('\n');
  assert.ok(lines.length >= 1 && lines.length <= 1001, `${lines.length} lines`);
});
