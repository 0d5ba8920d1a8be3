/**
 * A `lossmith` run killed the hard way (SIGKILL to its process group, workers included) as soon
 * as its first training has finished: what the resume tests start from.
 */
import { spawn } from 'child_process';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..', '..');

export interface KilledRun {
  /** The JSON lines it printed (--json) before it died. */
  lines: Record<string, unknown>[];
  /** Its run folder (from compare-start). */
  dir: string;
  signal: NodeJS.Signals | null;
}

/** Runs `lossmith ARGS --json` in `cwd` and SIGKILLs it after the first seed-end event. */
export async function killAfterFirstTraining(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<KilledRun> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'lossmith.js'), ...args, '--json'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let killed = false;
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    if (!killed && /"type":"seed-end"/.test(out)) {
      killed = true;
      process.kill(-child.pid!, 'SIGKILL');
    }
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
  const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const start = lines.find((l) => l.type === 'compare-start') as { dir: string } | undefined;
  if (!start) throw new Error(`the run printed no compare-start before it died:\n${out}`);
  return { lines, dir: start.dir, signal };
}
