/**
 * The entry of the engine's esbuild bundle, dist/engine/lossmith.js (scripts/build-extension.js):
 * the whole engine in one file that needs no node_modules, shipped in the .vsix and in the npm
 * package. Run as a program it is the `lossmith` CLI; the pool forks dist/engine/worker-main.js,
 * a two-line file that requires this one and calls `workerMain`, so the CLI and its workers
 * share one copy of tfjs. Beside it the build puts what the engine reads at run time: the wasm
 * binaries, the embedded MNIST digits (mnist/), the run schema (schemas/) and the torch runner
 * (torch/lossmith_torch).
 */
import { main } from './cli';

export { main } from './cli';
export { workerMain } from './run/worker-main';

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error && err.stack ? err.stack : String(err));
      process.exitCode = 2;
    },
  );
}
