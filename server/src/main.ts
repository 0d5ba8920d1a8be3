/**
 * Entry point: `node out/server/src/main.js --stdio` (or `--node-ipc`, `--socket=PORT`,
 * `--pipe=NAME`); `lossmith lsp --stdio` comes here through bin/lossmith.js.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { LossServer } from './loss-server';

function main(): void {
  const argv = process.argv.slice(2);
  if (!argv.some((a) => a === '--stdio' || a === '--node-ipc' || a.startsWith('--socket') || a.startsWith('--pipe'))) {
    // `lossmith lsp` with no transport: stdio, the common default of editors.
    process.argv.push('--stdio');
  }
  const connection = createConnection(ProposedFeatures.all);
  const server = new LossServer(connection);
  // Never let a stray exception end the server: log it and carry on.
  process.on('uncaughtException', (e) => {
    try {
      connection.console.error(`uncaught: ${e instanceof Error ? e.stack : String(e)}`);
    } catch {
      // ignore
    }
  });
  process.on('unhandledRejection', (e) => {
    try {
      connection.console.error(`unhandled rejection: ${e instanceof Error ? e.stack : String(e)}`);
    } catch {
      // ignore
    }
  });
  server.listen();
}

main();
