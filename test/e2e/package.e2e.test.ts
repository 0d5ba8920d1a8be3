/**
 * The packaged .vsix ships only the bundles (the engine's with what it reads at run time), media,
 * grammar, configuration, snippets, icons and the catalogue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ensurePackaged, ROOT, VSIX } from './helpers';

/** Names and sizes of the entries of a zip file, from its central directory. */
function zipEntries(file: string): { name: string; size: number }[] {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, 'not a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const out: { name: string; size: number }[] = [];
  for (let k = 0; k < count; k++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50);
    const size = buf.readUInt32LE(at + 24);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    out.push({ name: buf.toString('utf8', at + 46, at + 46 + nameLen), size });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

test('lossmith.vsix contains only what the extension needs, and is small', { timeout: 180_000 }, async (t) => {
  await ensurePackaged();
  const entries = zipEntries(VSIX);
  const allowed = [
    /^extension\.vsixmanifest$/,
    /^\[Content_Types\]\.xml$/,
    /^extension\/package\.json$/,
    /^extension\/readme\.md$/,
    /^extension\/(LICENSE|license)(\.md|\.txt)?$/,
    /^extension\/changelog\.md$/,
    /^extension\/dist\/(extension|server)\.js$/,
    /^extension\/dist\/engine\/(lossmith|worker-main)\.js$/,
    /^extension\/dist\/engine\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/,
    /^extension\/dist\/engine\/mnist\/(\d\.json|LICENSE)$/,
    /^extension\/dist\/engine\/schemas\/lossrun\.schema\.json$/,
    /^extension\/dist\/engine\/torch\/lossmith_torch\/\w+\.py$/,
    /^extension\/dist\/media\/preview\.(js|css)$/,
    /^extension\/dist\/media\/(evaluation|evolution|compare)\.js$/,
    /^extension\/media\/walkthrough\/[\w-]+\.md$/,
    /^extension\/dist\/media\/runs\.css$/,
    /^extension\/schemas\/(lossrun|evolve)\.schema\.json$/,
    /^extension\/dist\/media\/katex\/katex\.min\.css$/,
    /^extension\/dist\/media\/katex\/fonts\/KaTeX_[\w-]+\.woff2$/,
    /^extension\/grammar\/syntaxes\/loss\.tmLanguage\.json$/,
    /^extension\/language-configuration\.json$/,
    /^extension\/snippets\/loss\.code-snippets$/,
    /^extension\/icons\/[\w-]+\.(svg|png)$/,
    /^extension\/examples\/(?:(?:gan|detection|segmentation)\/)?[\w-]+\.loss$/,
  ];
  const stray = entries.filter((e) => !allowed.some((re) => re.test(e.name)));
  assert.deepEqual(stray, [], 'unexpected files in the .vsix');
  const names = new Set(entries.map((e) => e.name));
  // The engine stands alone: its bundle, the pool's worker entry, the wasm binaries, the ten
  // digit files, the schema and the whole torch runner.
  const engineFiles = ['lossmith.js', 'worker-main.js', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm', 'schemas/lossrun.schema.json', ...Array.from({ length: 10 }, (_, d) => `mnist/${d}.json`)];
  const runner = fs.readdirSync(path.join(ROOT, 'engine', 'torch', 'lossmith_torch')).filter((f) => f.endsWith('.py'));
  for (const f of [...engineFiles, ...runner.map((r) => `torch/lossmith_torch/${r}`)]) assert.ok(names.has(`extension/dist/engine/${f}`), `dist/engine/${f} is missing`);
  for (const f of ['extension/dist/media/compare.js', 'extension/media/walkthrough/write.md', 'extension/media/walkthrough/export.md', 'extension/dist/extension.js', 'extension/dist/server.js', 'extension/dist/media/preview.js', 'extension/dist/media/preview.css', 'extension/dist/media/katex/katex.min.css', 'extension/dist/media/katex/fonts/KaTeX_Main-Regular.woff2', 'extension/grammar/syntaxes/loss.tmLanguage.json', 'extension/icons/lossmith.png']) {
    assert.ok(names.has(f), `${f} is missing`);
  }
  // The catalogue and the other tasks' catalogues (examples/gan, examples/detection, examples/segmentation).
  for (const sub of ['', 'gan/', 'detection/', 'segmentation/']) {
    const examples = fs.readdirSync(path.join(ROOT, 'examples', sub)).filter((f) => f.endsWith('.loss'));
    assert.ok(examples.length > 0, sub);
    for (const f of examples) assert.ok(names.has(`extension/examples/${sub}${f}`), `${sub}${f}`);
  }
  const bytes = fs.statSync(VSIX).size;
  t.diagnostic(`lossmith.vsix: ${entries.length} entries, ${(bytes / 1024).toFixed(0)} KB`);
  // The engine with tfjs, its wasm binaries and the 10,000 digits is most of it; the goal is 15 MB.
  assert.ok(bytes < 15 * 1024 * 1024, `${bytes} bytes`);
});
