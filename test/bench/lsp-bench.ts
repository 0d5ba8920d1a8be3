/**
 * Language-server latency on a generated 1000-line file, through a real client over
 * in-memory streams: p50/p99 of hover, completion, semantic tokens, and diagnostics (time
 * from didChange to the full publishDiagnostics, with a one-line edit so that the integrity
 * cache is warm as when typing), plus the analysis itself and the grammar's whole-file check
 * for reference. Goals: p99 < 5 ms for hover and completion, < 20 ms for diagnostics.
 *
 * Run alone: npx tsc -b && node -e "require('./out/test/bench/lsp-bench.js').runLspBench()"
 */
import {
  CompletionRequest,
  HoverRequest,
  SemanticTokensRequest,
  type Position,
} from 'vscode-languageserver-protocol/node';
import { checkText } from '../../grammar/src/index';
import { startServer } from '../server/helpers';

function generate(lines: number): string {
  const out: string[] = [];
  for (let i = 0; out.length < lines; i++) {
    out.push(`# block ${i}`, `param g${i} = 2 in [0, 5]`, `let pt${i} = sum(y * p)`, `loss focal${i} = -(1 - pt${i})^g${i} * log(pt${i})`, `let ce${i} = -sum(y * log(p))`, `loss lsm${i} = 0.9 * ce${i} - 0.1 * sum(log(p)) / C`);
  }
  return out.slice(0, lines).join('\n');
}

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export async function runLspBench(): Promise<void> {
  const text = generate(1000);
  const c = await startServer({ debounceMs: 0 });
  const rows: [string, number[]][] = [];
  try {
    const t0 = now();
    const { uri } = await c.openDoc(text);
    await c.diagnostics(uri, 1, 600000);
    const firstFull = now() - t0;
    const lines = text.split('\n');
    const rnd = ((s) => () => ((s = (s * 1103515245 + 12345) & 0x7fffffff), s / 0x7fffffff))(42);
    const td = { textDocument: { uri } };
    // positions on names (hover) and in expressions (completion)
    const hoverAt = (): Position => {
      const line = 2 + 6 * Math.floor(rnd() * 160); // a `let pt = sum(y * p)` line
      return { line, character: 1 + Math.floor(rnd() * (lines[line].length - 2)) };
    };
    const completeAt = (): Position => {
      const line = 3 + 6 * Math.floor(rnd() * 160); // a loss line
      return { line, character: lines[line].length };
    };
    const time = async (name: string, n: number, f: () => Promise<unknown>): Promise<void> => {
      for (let i = 0; i < 5; i++) await f();
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const s = now();
        await f();
        xs.push(now() - s);
      }
      rows.push([name, xs]);
    };
    await time('hover (names, builtins)', 300, () => c.conn.sendRequest(HoverRequest.type, { ...td, position: hoverAt() }));
    await time('hover (loss: derivative + 1-D view)', 100, () => c.conn.sendRequest(HoverRequest.type, { ...td, position: { line: 3 + 6 * Math.floor(rnd() * 160), character: 7 } }));
    await time('completion (expression)', 300, () => c.conn.sendRequest(CompletionRequest.type, { ...td, position: completeAt() }));
    await time('semantic tokens (full)', 100, () => c.conn.sendRequest(SemanticTokensRequest.type, td));
    let k = 0;
    await time('diagnostics (didChange -> full publish)', 300, async () => {
      k++;
      const line = 3 + 6 * (k % 160);
      const v = await c.edit(uri, { start: { line, character: lines[line].length }, end: { line, character: lines[line].length } }, k % 2 ? ' + 0' : '');
      await c.diagnostics(uri, v, 60000);
    });
    await time('analysis (checkText, no integrity)', 100, async () => {
      checkText(text + ' '.repeat(k++ % 3), { integrity: false });
    });
    const t1 = now();
    checkText(text.slice(0, text.split('\n').slice(0, 120).join('\n').length));
    const whole120 = now() - t1;
    console.log('\nLanguage server latency, generated 1000-line file (333 losses), ms');
    console.log('| measure | n | p50 | p99 | max |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [name, xs] of rows) console.log(`| ${name} | ${xs.length} | ${pct(xs, 0.5).toFixed(2)} | ${pct(xs, 0.99).toFixed(2)} | ${Math.max(...xs).toFixed(2)} |`);
    console.log(`| first full diagnostics after open (cold integrity cache) | 1 | ${firstFull.toFixed(0)} | | |`);
    console.log(`| grammar checkText with integrity, first 120 lines (reference) | 1 | ${whole120.toFixed(0)} | | |`);
  } finally {
    await c.dispose();
  }
  await bigDocuments();
}

/**
 * Big documents: the time from didOpen to the first publishDiagnostics (the fast part: all but
 * the integrity check) and to the full one, and how many the server pushes (at most 1000 and one
 * that counts the rest).
 */
async function bigDocuments(): Promise<void> {
  const size = 5 * 1024 * 1024;
  const line = 'loss a = sum(y * log(p)) + $\n';
  let seed = 5;
  const docs: [string, string][] = [
    ['5 MB of broken lines (180,000 statements, each an error and a duplicate)', line.repeat(Math.ceil(size / line.length))],
    ['5 MB of random bytes', Array.from({ length: size }, () => String.fromCharCode((seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255)).join('')],
    ['100,000 generated lines (params, lets, losses, comments)', generate(100_000)],
  ];
  console.log('\nBig documents: didOpen -> publishDiagnostics');
  console.log('| document | chars | first publish ms | full publish ms | diagnostics pushed | problems in all |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, text] of docs) {
    const c = await startServer({ debounceMs: 0 });
    try {
      const t0 = now();
      const { uri } = await c.openDoc(text);
      await c.waitFor(() => (c.published.get(uri) ?? []).length > 0, 'a first publish', 600000);
      const first = now() - t0;
      const d = await c.diagnostics(uri, 1, 600000);
      const ms = now() - t0;
      const more = d.find((x) => x.code === 'too-many-problems');
      const all = more ? d.length - 1 + Number((more.data as { hidden: number }).hidden) : d.length;
      console.log(`| ${name} | ${text.length} | ${first.toFixed(0)} | ${ms.toFixed(0)} | ${d.length} | ${all} |`);
    } finally {
      await c.dispose();
    }
  }
}
