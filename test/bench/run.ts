/**
 * `npm run bench`: every benchmark of the project in one run. Each prints its own table with
 * ratios against an anchor measured in the same run; none of them is a test.
 * `npm run bench -- grammar lsp` runs only the named ones.
 */
import * as path from 'path';

const BENCHES: [string, string, string][] = [
  ['grammar', './grammar-bench', 'runGrammarBench'],
  ['lsp', './lsp-bench', 'runLspBench'],
  ['train', './train-bench', 'runTrainBench'],
  ['run', './run-bench', 'runRunBench'],
  ['evolve', './evolve-bench', 'runEvolveBench'],
  ['torch', './torch-bench', 'runTorchBench'],
  ['queue', './queue-bench', 'runQueueBench'],
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  for (const [name, mod, fn] of BENCHES) {
    if (only.length && !only.includes(name)) continue;
    let m: Record<string, () => Promise<void>>;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      m = require(path.join(__dirname, mod));
    } catch (e) {
      console.log(`\n== ${name}: not available (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    console.log(`\n== ${name}`);
    await m[fn]();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
