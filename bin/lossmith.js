#!/usr/bin/env node
'use strict';
// Entry point of the `lossmith` command: `lsp` starts the language server, everything else is the engine CLI.
// A checkout runs what `tsc -b` compiled (out/); the npm package has no out/ and runs the
// bundles of scripts/build-extension.js (dist/engine/lossmith.js, dist/server.js), which need
// no node_modules.
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const out = path.join(root, 'out');
const compiled = fs.existsSync(path.join(out, 'engine', 'src', 'cli.js'));
if (process.argv[2] === 'lsp') {
  require(compiled ? path.join(out, 'server', 'src', 'main.js') : path.join(root, 'dist', 'server.js'));
} else {
  require(compiled ? path.join(out, 'engine', 'src', 'cli.js') : path.join(root, 'dist', 'engine', 'lossmith.js')).main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { console.error(err && err.stack ? err.stack : String(err)); process.exitCode = 2; },
  );
}
