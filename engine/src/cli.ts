/**
 * The `lossmith` command line. Sub-commands register themselves from their modules; `main`
 * returns the process exit code instead of exiting, so tests can call it in-process.
 * (`lossmith lsp` is dispatched by bin/lossmith.js to the language server: the engine never
 * imports server code.) Heavy modules (tfjs, the run side) are loaded by the commands that
 * need them, so `lossmith check` starts fast.
 */
import { Command, CommanderError } from 'commander';
import { register as registerBackendCommands } from './commands/backend-commands';
import { register as registerEvolveCommands } from './commands/evolve-commands';
import { register as registerExportCommands } from './commands/export-commands';
import { registerGrammarCommands } from './commands/grammar-commands';
import { packageVersion as version, stdio, UsageError, type Io, type Registrar } from './commands/io';
import { register as registerQueueCommands } from './commands/queue-commands';
import { register as registerRunCommands } from './commands/run-commands';

export { stdio, UsageError, type Io, type Registrar } from './commands/io';

const registrars: Registrar[] = [registerGrammarCommands, registerRunCommands, registerEvolveCommands, registerExportCommands, registerBackendCommands, registerQueueCommands];

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let exitCode = 0;
  const program = new Command('lossmith')
    .description('Design, check, evaluate and evolve classification loss functions.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  program.version(version(), '-V, --version', 'print the version');
  program.addHelpText('after', '\n  lossmith lsp --stdio        start the language server (for Neovim, Emacs, Helix, ...)');
  for (const r of registrars) r(program, io, (c) => (exitCode = Math.max(exitCode, c)));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      io.err(`lossmith: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return exitCode;
}
