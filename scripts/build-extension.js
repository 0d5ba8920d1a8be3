#!/usr/bin/env node
'use strict';
/**
 * Bundles the VS Code extension with esbuild (type checking is `tsc -b`'s job):
 *   dist/extension.js   client (cjs, node, `vscode` external)
 *   dist/server.js      language server (cjs, node; runs in VS Code's Node)
 *   dist/media/         webview scripts and styles: preview.js, preview.css (uPlot's + the shared
 *                       base.css + ours),
 *                       evaluation.js, evolution.js, compare.js (runs side by side) and runs.css (the run panels: uPlot's
 *                       stylesheet + base.css + media/src/shared/run-panel.css),
 *                       katex/katex.min.css and its woff2 fonts
 *   dist/engine/        the engine, needing no node_modules (the .vsix runs it with VS Code's own
 *                       runtime; the npm package's bin/lossmith.js runs it too):
 *                       lossmith.js (the CLI: engine/src/bundle.ts, tfjs compiled in),
 *                       worker-main.js (a pool worker: calls the CLI bundle's workerMain),
 *                       tfjs-backend-wasm*.wasm, mnist/<digit>.json (the mnist package's digits
 *                       and its licence), schemas/lossrun.schema.json, torch/lossmith_torch/*.py
 * and regenerates grammar/syntaxes/loss.tmLanguage.json from the builtin table.
 *
 *   node scripts/build-extension.js          # minified, no source maps (what the .vsix ships)
 *   node scripts/build-extension.js --dev    # with source maps, not minified
 */
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
const dev = process.argv.includes('--dev');

async function main() {
  const t0 = Date.now();
  const { generate, loadTables } = require('./gen-tmlanguage.js');
  const grammarFile = path.join(root, 'grammar', 'syntaxes', 'loss.tmLanguage.json');
  const grammarText = JSON.stringify(generate(loadTables()), null, 2) + '\n';
  if (!fs.existsSync(grammarFile) || fs.readFileSync(grammarFile, 'utf8') !== grammarText) fs.writeFileSync(grammarFile, grammarText);

  fs.rmSync(dist, { recursive: true, force: true });
  const common = { bundle: true, minify: !dev, sourcemap: dev ? 'linked' : false, logLevel: 'warning', legalComments: 'none' };
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: { extension: path.join(root, 'client/src/extension.ts') },
      outdir: dist,
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      external: ['vscode'],
    }),
    esbuild.build({
      ...common,
      entryPoints: { server: path.join(root, 'server/src/main.ts') },
      outdir: dist,
      platform: 'node',
      format: 'cjs',
      target: 'node18',
    }),
    esbuild.build({
      ...common,
      entryPoints: { lossmith: path.join(root, 'engine/src/bundle.ts') },
      outdir: path.join(dist, 'engine'),
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      // backend.ts: tf is compiled in (wasm binaries beside the bundle; a native tfjs backend,
      // required at run time by a computed name, gets this tf). mnist: only read when the copy
      // beside the bundle is missing. node-fetch (with whatwg-url, 300 KB): tfjs-core's fall-back
      // when there is no global fetch; Node 20 has one, and the engine fetches nothing.
      define: { LOSSMITH_BUNDLED: 'true' },
      external: ['mnist', 'node-fetch'],
    }),
    esbuild.build({
      ...common,
      entryPoints: {
        preview: path.join(root, 'media/src/preview/main.ts'),
        evaluation: path.join(root, 'media/src/evaluation/main.ts'),
        evolution: path.join(root, 'media/src/evolution/main.ts'),
        compare: path.join(root, 'media/src/compare/main.ts'),
      },
      outdir: path.join(dist, 'media'),
      platform: 'browser',
      format: 'iife',
      target: 'es2020',
    }),
  ]);

  // Styles: uPlot's stylesheet, then ours (so ours wins), as one file.
  const css = [fs.readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'), fs.readFileSync(path.join(root, 'media/src/shared/base.css'), 'utf8'), fs.readFileSync(path.join(root, 'media/src/preview/preview.css'), 'utf8')].join('\n');
  const cssOut = await esbuild.transform(css, { loader: 'css', minify: !dev });
  fs.writeFileSync(path.join(dist, 'media', 'preview.css'), cssOut.code);
  const runsCss = [fs.readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'), fs.readFileSync(path.join(root, 'media/src/shared/base.css'), 'utf8'), fs.readFileSync(path.join(root, 'media/src/shared/run-panel.css'), 'utf8')].join('\n');
  fs.writeFileSync(path.join(dist, 'media', 'runs.css'), (await esbuild.transform(runsCss, { loader: 'css', minify: !dev })).code);

  // KaTeX: its stylesheet with only the woff2 fonts (every browser VS Code uses reads woff2).
  const katexDir = path.dirname(require.resolve('katex/dist/katex.min.css'));
  const kOut = path.join(dist, 'media', 'katex');
  fs.mkdirSync(path.join(kOut, 'fonts'), { recursive: true });
  const katexCss = fs
    .readFileSync(path.join(katexDir, 'katex.min.css'), 'utf8')
    .replace(/,\s*url\(fonts\/[^)]+\.woff\) format\("woff"\)/g, '')
    .replace(/,\s*url\(fonts\/[^)]+\.ttf\) format\("truetype"\)/g, '');
  if (/\.(?:woff|ttf)\)/.test(katexCss)) throw new Error('katex.min.css still refers to woff/ttf fonts: update the rewrite in build-extension.js');
  fs.writeFileSync(path.join(kOut, 'katex.min.css'), katexCss);
  for (const f of fs.readdirSync(path.join(katexDir, 'fonts'))) {
    if (f.endsWith('.woff2')) fs.copyFileSync(path.join(katexDir, 'fonts', f), path.join(kOut, 'fonts', f));
  }
  copyEngineFiles(path.join(dist, 'engine'));
  console.log(`built dist/ in ${Date.now() - t0} ms${dev ? ' (dev)' : ''}`);
}

/** What the engine's bundle reads at run time, beside it (see the header). */
function copyEngineFiles(out) {
  // The pool forks worker-main.js next to the bundle (engine/src/run/worker-pool.ts).
  fs.writeFileSync(path.join(out, 'worker-main.js'), "'use strict';\n// A worker of the engine's pool: the CLI's bundle, entered at workerMain.\nrequire('./lossmith.js').workerMain();\n");
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const wasm = fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'));
  if (!wasm.includes('tfjs-backend-wasm.wasm')) throw new Error(`no tfjs-backend-wasm.wasm in ${wasmDir}`);
  for (const f of wasm) fs.copyFileSync(path.join(wasmDir, f), path.join(out, f));
  const mnistDir = path.dirname(require.resolve('mnist/package.json'));
  fs.mkdirSync(path.join(out, 'mnist'));
  for (let d = 0; d < 10; d++) fs.copyFileSync(path.join(mnistDir, 'src', 'digits', `${d}.json`), path.join(out, 'mnist', `${d}.json`));
  const licence = fs.readdirSync(mnistDir).find((f) => /^licen[cs]e/i.test(f));
  if (licence) fs.copyFileSync(path.join(mnistDir, licence), path.join(out, 'mnist', 'LICENSE'));
  fs.mkdirSync(path.join(out, 'schemas'));
  fs.copyFileSync(path.join(root, 'schemas', 'lossrun.schema.json'), path.join(out, 'schemas', 'lossrun.schema.json'));
  const runner = path.join(root, 'engine', 'torch', 'lossmith_torch');
  fs.mkdirSync(path.join(out, 'torch', 'lossmith_torch'), { recursive: true });
  for (const f of fs.readdirSync(runner).filter((f) => f.endsWith('.py'))) fs.copyFileSync(path.join(runner, f), path.join(out, 'torch', 'lossmith_torch', f));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
