#!/usr/bin/env node
'use strict';
// Writes docs/builtins.md from the builtin table (run after `npx tsc -b`). A test checks the
// committed file is current, so the reference never drifts from the table.
const fs = require('fs');
const path = require('path');

function render() {
  const g = require(path.join(__dirname, '..', 'out', 'grammar', 'src', 'index.js'));
  const lines = [
    '# Builtin functions and inputs',
    '',
    'Generated from the builtin table (`grammar/src/builtins.ts`) by `node scripts/gen-builtin-docs.js`; do not edit by hand.',
    '',
    '## Inputs',
    '',
    'A file declares its task with a `task NAME` line before its first statement (none: classification); the task decides the inputs its losses read.',
    '',
    ...g.TASK_NAMES.flatMap((t) => [
      `### task ${t}`,
      '',
      g.TASKS[t].doc,
      '',
      '| name | type | meaning |',
      '|---|---|---|',
      ...g.TASKS[t].inputs.map((i) => `| \`${i.name}\` | ${i.type} | ${i.doc} |`),
      '',
    ]),
  ];
  const cats = [
    ['operator', 'Operators'],
    ['elementary', 'Elementary functions'],
    ['protected', 'Protected operators of the seed system'],
    ['special', 'Special functions'],
    ['tempered', 'Tempered functions (bi-tempered loss)'],
    ['reduction', 'Reductions over classes'],
    ['probability', 'Probability maps'],
    ['utility', 'Utility'],
  ];
  for (const [cat, title] of cats) {
    const items = g.BUILTINS.filter((b) => b.category === cat);
    if (!items.length) continue;
    lines.push(`## ${title}`, '', '| signature | formula | what it is for | source |', '|---|---|---|---|');
    for (const b of items) {
      const sig = b.operator && b.operator !== 'neg' ? `\`a ${b.operator} b\`` : `\`${g.signature(b)}\``;
      const esc = (s) => String(s ?? '').replace(/\|/g, '\\|');
      lines.push(`| ${sig} | ${esc(b.doc.formula)} | ${esc(b.doc.summary)} | ${esc(b.doc.reference)} |`);
    }
    lines.push('');
  }
  const esc = (s) => String(s ?? '').replace(/\|/g, '\\|');
  lines.push(
    '## Stable rewrites',
    '',
    'What the tfjs lowering and every export compute in place of a numerically fragile form (`grammar/src/stable.ts`, one table for all of them; see [export.md](export.md#numerics-stable-forms)). Each replacement equals what it replaces wherever that is defined; the editor shows, differentiates and evaluates the loss as written.',
    '',
    '| id | rewrite | why | applies when |',
    '|---|---|---|---|',
    ...g.STABLE_REWRITES.map((r) => `| \`${r.id}\` | \`${esc(r.title)}\` | ${esc(r.why)} | ${esc(r.when)} |`),
    '',
  );
  return lines.join('\n');
}

module.exports = { render };
if (require.main === module) {
  const out = path.join(__dirname, '..', 'docs', 'builtins.md');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, render());
  console.log(`wrote ${out}`);
}
