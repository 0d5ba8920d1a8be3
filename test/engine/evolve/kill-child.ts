/**
 * Child process of the kill/resume test: runs a search with the fake surrogate until the test
 * kills it with SIGKILL. Does nothing unless LOSSMITH_EVOLVE_KILL_CHILD is set (the test
 * runner also loads every file under test/).
 */
import { resolveConfig } from '../../../engine/src/evolve/config';
import { runEvolve } from '../../../engine/src/evolve/run';
import { fakeEvaluate } from './fake-fitness';

if (process.env.LOSSMITH_EVOLVE_KILL_CHILD) {
  const [root, cfgJson] = process.argv.slice(2);
  void runEvolve({ root, config: resolveConfig(JSON.parse(cfgJson)), evaluate: fakeEvaluate({ maxDelayMs: 60 }) }).then((r) => {
    process.stdout.write(r.dir + '\n');
  });
}
