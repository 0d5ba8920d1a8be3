/**
 * The `lossmith` command line. Sub-commands register themselves from their modules; `main`
 * returns the process exit code instead of exiting, so tests can call it in-process.
 * (`lossmith lsp` is dispatched by bin/lossmith.js to the language server: the engine never
 * imports server code.)
 */
import { Command, CommanderError } from 'commander';
import { registerGrammarCommands } from './commands/grammar-commands';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export type Registrar = (program: Command, io: Io, setExit: (code: number) => void) => void;

const registrars: Registrar[] = [registerGrammarCommands];

/** Let other modules add commands (engine runs, evolution, export). */
export function addCommands(r: Registrar): void {
  if (!registrars.includes(r)) registrars.push(r);
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let exitCode = 0;
  const program = new Command('lossmith')
    .description('Design, check, evaluate and evolve classification loss functions.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  program.addHelpText('after', '\n  lossmith lsp --stdio        start the language server (for Neovim, Emacs, Helix, ...)');
  loadOptionalCommands();
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

/** Bad command-line input: reported as `lossmith: message`, exit code 2. */
export class UsageError extends Error {}

/** Engine commands live in modules that may not exist yet in a partial build. */
function loadOptionalCommands(): void {
  for (const mod of ['./commands/run-commands', './commands/evolve-commands', './commands/export-commands', './commands/backend-commands']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = require(mod) as { register?: Registrar };
      if (m.register) addCommands(m.register);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' || !String((e as Error).message).includes(mod.slice(2))) throw e;
    }
  }
}
