/** `lossmith export FILE --loss NAME --to pytorch|jax|keras [--out FILE]`: a loss as a Python module. */
import * as fs from 'fs';
import type { Command } from 'commander';
import { EXPORT_TARGETS, ExportError, exportLoss, type ExportTarget } from '../../../grammar/src/export/index';
import { UsageError, type Io, type Registrar } from './io';
import { loadChecked } from './grammar-commands';

export const register: Registrar = (program: Command, io: Io) => {
  program
    .command('export')
    .description("write a loss as a self-contained Python module: NAME(logits, target, **params) -> per-sample loss (task gan: NAME(d_real, d_fake, ...), the inputs it reads)")
    .argument('<file>', '.loss file')
    .option('--loss <name>', "the loss to export (default: the file's only loss)")
    .requiredOption('--to <target>', `target library: ${EXPORT_TARGETS.join(', ')}`)
    .option('--out <file>', 'write the module to this file (default: standard output)')
    .action((file: string, opts: { loss?: string; to: string; out?: string }) => {
      if (!(EXPORT_TARGETS as readonly string[]).includes(opts.to)) {
        throw new UsageError(`--to must be one of ${EXPORT_TARGETS.join(', ')}, got '${opts.to}'`);
      }
      const { text, result } = loadChecked(file);
      const names = result.model.losses.map((l) => l.name);
      if (names.length === 0) throw new UsageError(`no loss in ${file}: nothing to export`);
      if (!opts.loss && names.length > 1) throw new UsageError(`${file} has ${names.length} losses (${names.join(', ')}): choose one with --loss`);
      const lossName = opts.loss ?? names[0];
      let code: string;
      let fn: string;
      let args: string;
      try {
        const r = exportLoss(result.model, lossName, { target: opts.to as ExportTarget, file, source: text });
        code = r.code;
        fn = r.functionName;
        args = /^def \w+\(([^*)]*)/m.exec(code)?.[1]?.replace(/,\s*$/, '') ?? '';
      } catch (e) {
        if (e instanceof ExportError) throw new UsageError(`${file}: ${e.message}`);
        throw e;
      }
      if (!opts.out) {
        io.out(code);
        return;
      }
      try {
        fs.writeFileSync(opts.out, code);
      } catch (e) {
        throw new UsageError(`cannot write ${opts.out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      io.err(`wrote ${opts.out}: ${fn}(${args}, ...) for ${opts.to}\n`);
    });
};
