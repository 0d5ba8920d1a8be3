import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CompletionRequest, SignatureHelpRequest, type CompletionItem, type CompletionList, type MarkupContent } from 'vscode-languageserver-protocol/node';
import { CALLABLE_NAMES } from '../../grammar/src/index';
import { startServer, type TestClient } from './helpers';
import { tmpDir } from '../helpers/tmp';

async function complete(c: TestClient, textWithCursor: string): Promise<CompletionItem[]> {
  const { uri, position } = await c.openDoc(textWithCursor);
  const r = (await c.conn.sendRequest(CompletionRequest.type, { textDocument: { uri }, position })) as CompletionList | null;
  return r ? r.items : [];
}
const labels = (items: CompletionItem[]): string[] => items.map((i) => i.label);

const BUILTIN_SNIPPETS = ['cross_entropy', 'focal', 'label_smoothing', 'bi_tempered', 'poly1', 'taylor_ce', 'gce', 'sce', 'mae'];

test('at the start of a statement: keywords and catalogue snippets, no names', async () => {
  const c = await startServer();
  try {
    for (const text of ['<|>', 'param a = 1\n<|>', 'let q = sum(y * p)\nlo<|>', 'loss a = log(p)\n\n<|>\nloss b = 1']) {
      const items = await complete(c, text);
      // `task` only where a task line may stand: before the first statement.
      assert.deepEqual(labels(items), ['param', 'let', 'loss', ...(text.startsWith('<|>') ? ['task'] : []), ...BUILTIN_SNIPPETS], text);
    }
    const items = await complete(c, '<|>');
    const focal = items.find((i) => i.label === 'focal')!;
    assert.equal(focal.insertTextFormat, 2);
    assert.equal(focal.insertText, 'param gamma = ${1:2} in [0, 5]\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)\n$0');
    assert.equal(focal.detail, 'Focal loss (Lin et al., 2017)');
    assert.equal((focal.documentation as MarkupContent).kind, 'markdown');
    const loss = items.find((i) => i.label === 'loss')!;
    assert.equal(loss.insertText, 'loss ${1:name} = $0');
  } finally {
    await c.dispose();
  }
});

test('catalogue snippets come from examples/*.loss when the folder exists', async () => {
  const dir = tmpDir('lossmith-examples-');
  fs.writeFileSync(path.join(dir, 'focal.loss'), '# Focal, from the examples folder\nparam gamma = 2 in [0, 5]\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)\n');
  fs.writeFileSync(path.join(dir, 'my-loss.loss'), '# Mine: $ and } are escaped\nparam a = 0.5\nparam b = 1e-3 in [0, 1]\nloss mine = -sum(y * log(p)) * a + b\n');
  const c = await startServer({ examplesDir: dir });
  try {
    const items = await complete(c, '<|>');
    assert.deepEqual(labels(items), ['param', 'let', 'loss', 'task', 'focal', 'my_loss', ...BUILTIN_SNIPPETS.filter((s) => s !== 'focal')]);
    const focal = items.find((i) => i.label === 'focal')!;
    assert.equal(focal.detail, 'Focal, from the examples folder');
    const mine = items.find((i) => i.label === 'my_loss')!;
    assert.equal(mine.insertText, '# Mine: \\$ and \\} are escaped\nparam a = ${1:0.5}\nparam b = ${2:1e-3} in [0, 1]\nloss mine = -sum(y * log(p)) * a + b\n$0');
  } finally {
    await c.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('in an expression: names defined before the statement, inputs, builtins; no keywords, no losses', async () => {
  const c = await startServer();
  try {
    const text = ['param gamma = 2 in [0, 5]', 'let pt = sum(y * p)', 'loss ce = -log(pt)', 'loss focal = -(1 - pt)^<|>', 'let later = 1'].join('\n');
    const items = await complete(c, text);
    assert.deepEqual(labels(items), ['gamma', 'pt', 'y', 'logits', 'p', 'C', 'iou', ...CALLABLE_NAMES]);
    const gamma = items[0];
    assert.equal(gamma.kind, 21); // Constant
    assert.equal(gamma.detail, 'param: scalar');
    const pt = items[1];
    assert.equal(pt.kind, 6); // Variable
    assert.equal(pt.detail, 'let: scalar');
    const max = items.find((i) => i.label === 'max')!;
    assert.equal(max.kind, 3); // Function
    assert.equal(max.detail, 'max(v: vector) -> scalar | max(a, b) -> scalar or vector (broadcast)');
    assert.equal(max.insertText, 'max($0)');
    assert.ok((max.documentation as MarkupContent).value.includes('max(a, b)'));
    // Right after '=', after '(' and ',' and while typing a name.
    for (const t of ['let a = <|>', 'let a = log(<|>', 'let a = clamp(p, <|>', 'let a = 1 +\n  <|>', 'let a = lo<|>']) {
      const l = labels(await complete(c, t));
      assert.ok(l.includes('log') && l.includes('p') && !l.includes('loss') && !l.includes('focal'), t);
    }
    // A let does not see itself.
    assert.ok(!labels(await complete(c, 'let a = <|>')).includes('a'));
  } finally {
    await c.dispose();
  }
});

test('no completion where nothing fits: comments, names being defined, param values, after a complete operand', async () => {
  const c = await startServer();
  try {
    for (const t of ['# a comment <|>', 'let <|>', 'loss na<|>', 'param g = <|>', 'param g = 1 in [<|>', 'let a = p <|>', 'loss a = 1<|>']) {
      assert.deepEqual(await complete(c, t), [], t);
    }
  } finally {
    await c.dispose();
  }
});

test('without snippet support, plain insert texts', async () => {
  const c = await startServer({ capabilities: { textDocument: { completion: { completionItem: { snippetSupport: false } } } } });
  try {
    const items = await complete(c, 'let a = <|>');
    const log = items.find((i) => i.label === 'log')!;
    assert.equal(log.insertText, 'log');
    assert.equal(log.insertTextFormat, undefined);
    const st = await complete(c, '<|>');
    assert.equal(st.find((i) => i.label === 'focal')!.insertText, 'param gamma = 2 in [0, 5]\nlet pt = sum(y * p)\nloss focal = -(1 - pt)^gamma * log(pt)');
  } finally {
    await c.dispose();
  }
});

test('signature help: active parameter by commas, overloads of max, nested calls', async () => {
  const c = await startServer();
  const help = async (t: string) => {
    const { uri, position } = await c.openDoc(t);
    return c.conn.sendRequest(SignatureHelpRequest.type, { textDocument: { uri }, position });
  };
  try {
    const clamp = await help('let a = clamp(p, 0.1, <|>');
    assert.deepEqual(clamp!.signatures.map((s) => s.label), ['clamp(x, lo, hi) -> scalar or vector (broadcast)']);
    assert.equal(clamp!.activeParameter, 2);
    assert.deepEqual(clamp!.signatures[0].parameters!.map((p) => p.label), [
      [6, 7],
      [9, 11],
      [13, 15],
    ]);
    const max1 = await help('let a = max(<|>p)');
    assert.deepEqual(max1!.signatures.map((s) => s.label), ['max(v: vector) -> scalar', 'max(a, b) -> scalar or vector (broadcast)']);
    assert.equal(max1!.activeSignature, 0);
    assert.equal(max1!.activeParameter, 0);
    const max2 = await help('let a = max(p, <|>');
    assert.equal(max2!.activeSignature, 1);
    assert.equal(max2!.activeParameter, 1);
    const max2b = await help('let a = max(<|>p, 0)');
    assert.equal(max2b!.activeSignature, 1);
    assert.equal(max2b!.activeParameter, 0);
    const nested = await help('let a = clamp(log(<|>p), 0, 1)');
    assert.equal(nested!.signatures[0].label, 'log(x) -> same as x');
    const outer = await help('let a = clamp(log(p), (1 + 2), <|>1)');
    assert.equal(outer!.signatures[0].label, 'clamp(x, lo, hi) -> scalar or vector (broadcast)');
    assert.equal(outer!.activeParameter, 2);
    assert.equal(await help('let a = log(p)<|>'), null);
    assert.equal(await help('let a = unknownfn(<|>'), null);
  } finally {
    await c.dispose();
  }
});

test('tasks: task names after `task`; a GAN file is offered its inputs and the GAN catalogue without its task line', async () => {
  const c = await startServer({ examplesDir: path.join(__dirname, '..', '..', '..', 'examples') });
  try {
    assert.deepEqual(labels(await complete(c, 'task <|>')), ['classification', 'gan', 'segmentation']);
    const expr = labels(await complete(c, 'task gan\nloss a_g = -<|>'));
    assert.deepEqual(expr.slice(0, 3), ['d_real', 'd_fake', 'grad_norm']);
    assert.ok(!expr.includes('p') && !expr.includes('logits'));
    const start = await complete(c, 'task gan\n<|>');
    const ls = labels(start);
    assert.ok(!ls.includes('task') && !ls.includes('focal'), ls.join(','));
    for (const n of ['hinge', 'lsgan', 'minimax', 'non_saturating', 'wgan', 'wgan_gp']) assert.ok(ls.includes(n), n);
    const hinge = start.find((i) => i.label === 'hinge')!;
    assert.ok(!/task gan/.test(String(hinge.insertText)), String(hinge.insertText));
    assert.match(String(hinge.insertText), /loss hinge_d = max\(0, 1 - d_real\) \+ max\(0, 1 \+ d_fake\)/);
    // The classification catalogue offers the IoU-balanced loss, not the GAN ones.
    const cls = labels(await complete(c, '<|>'));
    assert.ok(cls.includes('iou_balanced') && !cls.includes('hinge'));
  } finally {
    await c.dispose();
  }
});
