/** The extension manifest (package.json `contributes`) against the code and the files it names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { COMMAND_IDS } from '../../client/src/command-ids';
import { PREVIEW_VIEW_TYPE } from '../../media/src/preview/messages';
import { ENGINES, isDevice, PRECISIONS } from '../../client/src/runs/cli-args';

const root = path.join(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

test('every contributed command is registered, and every registered command is contributed, under "Lossmith"', () => {
  const contributed = (pkg.contributes.commands as { command: string; title: string; category: string }[]).map((c) => c.command).sort();
  assert.deepEqual(contributed, [...COMMAND_IDS].sort());
  for (const c of pkg.contributes.commands) {
    assert.equal(c.category, 'Lossmith', c.command);
    assert.ok(c.title.length > 0);
  }
  const titles = pkg.contributes.commands.map((c: { title: string }) => c.title);
  for (const t of ['Show Derivative Preview', 'Format', 'Insert Catalogue Loss...', 'Open Catalogue']) assert.ok(titles.includes(t), t);
});

test('every setting has a description, a type and a default', () => {
  const props = pkg.contributes.configuration.properties as Record<string, Record<string, unknown>>;
  for (const k of ['lossmith.preview.classes', 'lossmith.inlayHints.types', 'lossmith.trace.server', 'lossmith.hover.classes']) assert.ok(props[k], k);
  for (const [k, v] of Object.entries(props)) {
    assert.ok(typeof v.description === 'string' || typeof v.markdownDescription === 'string', `${k} has no description`);
    assert.ok(v.type, `${k} has no type`);
    assert.ok('default' in v, `${k} has no default`);
  }
});

test('the compute settings offer what the client accepts and the CLI takes', () => {
  const props = pkg.contributes.configuration.properties as Record<string, { enum?: string[]; default?: unknown; markdownDescription?: string }>;
  assert.deepEqual(props['lossmith.engine'].enum, [...ENGINES]);
  assert.deepEqual(props['lossmith.precision'].enum, [...PRECISIONS]);
  for (const d of props['lossmith.device'].enum ?? []) assert.ok(isDevice(d), d);
  for (const k of ['lossmith.engine', 'lossmith.device', 'lossmith.precision']) assert.equal(props[k].default, 'auto', k);
  assert.equal(props['lossmith.pythonPath'].default, '');
  // Which Python is used, and how to change it, is said where the setting is.
  assert.match(props['lossmith.pythonPath'].markdownDescription ?? '', /Python extension.*LOSSMITH_PYTHON.*python3/s);
});

test('the files the manifest names exist and are shipped by .vscodeignore', () => {
  const lang = pkg.contributes.languages[0];
  const named = [
    pkg.icon,
    lang.configuration,
    lang.icon.light,
    lang.icon.dark,
    pkg.contributes.grammars[0].path,
    pkg.contributes.snippets[0].path,
    'icons/preview-light.svg',
    'icons/preview-dark.svg',
  ].map((p: string) => p.replace(/^\.\//, ''));
  const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  for (const f of named) {
    assert.ok(fs.existsSync(path.join(root, f)), `${f} is missing`);
    assert.ok(ignore.includes(`!${f}`), `${f} is not re-included in .vscodeignore`);
  }
  assert.equal(pkg.main, './dist/extension.js');
  assert.ok(pkg.activationEvents.includes(`onWebviewPanel:${PREVIEW_VIEW_TYPE}`));
  assert.ok(pkg.scripts.package.includes('vsce package'));
});

test('language configuration: # comments, brackets, auto-closing', () => {
  const conf = JSON.parse(fs.readFileSync(path.join(root, 'language-configuration.json'), 'utf8'));
  assert.equal(conf.comments.lineComment, '#');
  assert.deepEqual(conf.brackets, [['(', ')'], ['[', ']']]);
  assert.deepEqual(conf.autoClosingPairs.map((p: { open: string }) => p.open), ['(', '[']);
  new RegExp(conf.wordPattern);
});

test('snippets parse and each has a prefix, body and description', () => {
  const s = JSON.parse(fs.readFileSync(path.join(root, 'snippets/loss.code-snippets'), 'utf8')) as Record<string, { prefix: string; body: string[]; description: string }>;
  assert.ok(Object.keys(s).length >= 4);
  for (const [k, v] of Object.entries(s)) {
    assert.ok(v.prefix && Array.isArray(v.body) && v.description, k);
  }
});
