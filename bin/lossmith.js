#!/usr/bin/env node
'use strict';
// Entry point of the `lossmith` command: `lsp` starts the language server, everything else is the engine CLI.
const path = require('path');
const out = path.join(__dirname, '..', 'out');
if (process.argv[2] === 'lsp') {
  require(path.join(out, 'server', 'src', 'main.js'));
} else {
  require(path.join(out, 'engine', 'src', 'cli.js')).main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { console.error(err && err.stack ? err.stack : String(err)); process.exitCode = 2; },
  );
}
