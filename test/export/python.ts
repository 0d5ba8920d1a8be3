/**
 * Finding a Python with PyTorch for the export tests. Debian's python3-torch lives in the system
 * interpreter (/usr/bin/python3); a pyenv or venv python3 first on PATH usually lacks it.
 * With CI=true a missing interpreter fails the tests; locally they are skipped with a message.
 */
import { spawnSync } from 'child_process';

const CANDIDATES = ['/usr/bin/python3', 'python3', 'python'];

function works(py: string, code: string): boolean {
  const r = spawnSync(py, ['-c', code], { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
}

let torchPython: string | null | undefined;
let anyPython: string | null | undefined;

/** A Python 3 that can `import torch`, or null. */
export function findTorchPython(): string | null {
  if (torchPython === undefined) torchPython = CANDIDATES.find((p) => works(p, 'import torch')) ?? null;
  return torchPython;
}

/** Any Python 3 (for py_compile and ast), or null. */
export function findPython(): string | null {
  if (anyPython === undefined) anyPython = CANDIDATES.find((p) => works(p, 'import sys; assert sys.version_info >= (3, 8)')) ?? null;
  return anyPython;
}

export const inCI = (): boolean => process.env.CI === 'true' || process.env.CI === '1';

/**
 * `skip` option for node:test: false when the interpreter exists; a message when it does not
 * (locally). In CI the test runs anyway and fails with that message.
 */
export function skipUnless(found: string | null, what: string): string | false {
  if (found || inCI()) return false;
  return `${what} not found (tried ${CANDIDATES.join(', ')}; on Debian: apt-get install python3-torch) — skipped locally, fails with CI=true`;
}
