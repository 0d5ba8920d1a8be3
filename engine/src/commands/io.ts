/**
 * What every sub-command module needs from the command line, kept apart from cli.ts so that
 * cli.ts imports the command modules and none of them imports cli.ts (no import circle).
 */
import type { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/** Adds sub-commands to the program; `setExit` raises the process exit code. */
export type Registrar = (program: Command, io: Io, setExit: (code: number) => void) => void;

/** Bad command-line input: reported as `lossmith: message`, exit code 2. */
export class UsageError extends Error {}

/** The package's version (package.json above the compiled tree, the source tree or the bundle). */
export function packageVersion(): string {
  for (const p of [path.join(__dirname, '..', '..', '..', '..', 'package.json'), path.join(__dirname, '..', '..', '..', 'package.json'), path.join(__dirname, '..', '..', 'package.json')]) {
    try {
      const j = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (j.name === 'lossmith' && j.version) return j.version;
    } catch {
      /* the next candidate */
    }
  }
  return 'unknown';
}
