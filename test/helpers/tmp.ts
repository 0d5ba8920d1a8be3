/**
 * Temporary folders for tests: made under the system's temporary folder and removed when the
 * test file's process exits (node's runner gives each file its own process), so a suite leaves
 * nothing behind even when an assertion fails halfway.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const made: string[] = [];
let hooked = false;

export function tmpDir(prefix = 'lossmith-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const d of made) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}
