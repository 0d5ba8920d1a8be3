/**
 * DSL core benchmark: parse + check + derive time for a generated 1000-line file, and the
 * per-candidate cost of the integrity check (1000-point grid), against an anchor measured in
 * the same run (the time to merely tokenize the same text); then the check of big generated
 * files (1,000, 100,000 and 1,000,000 lines; goal: 100,000 lines under 2 s) and a short fuzz
 * run (`npm run fuzz` runs 100,000 inputs).
 */
import { checkText, clearIntegrityCache, differentiate, integrityCheck, parse } from '../../grammar/src/index';
import { clearStatementCache } from '../../grammar/src/parser';
import { lossLexer, tokenize } from '../../grammar/src/lexer';
import { fuzz } from '../helpers/fuzz-inputs';

export function generatedFile(lines: number): string {
  const out: string[] = [];
  const bodies = [
    (i: number) => `-(1 - pt${i})^g${i} * log(pt${i})`,
    (i: number) => `(1 - pt${i}^q${i}) / q${i}`,
    (i: number) => `-sum(y * log_softmax(logits)) + g${i} * (1 - pt${i})`,
    (i: number) => `sum(abs(y - p)) * q${i} + (1 - pt${i})^2`,
  ];
  let i = 0;
  while (out.length < lines) {
    out.push(`# block ${i}`);
    out.push(`param g${i} = ${1 + (i % 4)} in [0, 5]`);
    out.push(`param q${i} = 0.${1 + (i % 9)} in [0.01, 1]`);
    out.push(`let pt${i} = sum(y * p)`);
    out.push(`loss l${i} = ${bodies[i % bodies.length](i)}`);
    i++;
  }
  return out.slice(0, lines).join('\n') + '\n';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(f: () => void, reps: number): number {
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

export async function runGrammarBench(): Promise<void> {
  const text = generatedFile(1000);
  const lex = time(() => lossLexer.tokenize(text), 9);
  const parseMs = time(() => {
    clearStatementCache();
    parse(text);
  }, 9);
  // After a one-character edit in one loss, with the statements of the previous parse kept.
  const lines = text.split('\n');
  const edited = (k: number): string => lines.map((l, i) => (i === 4 + 5 * (k % 150) ? l + ' + 0' : l)).join('\n');
  let ek = 0;
  parse(text);
  const parseWarm = time(() => parse(edited(ek++)), 9);
  const checkNoIntegrity = time(() => checkText(text, { integrity: false }), 5);
  const checkCold = time(() => {
    clearIntegrityCache();
    checkText(text);
  }, 3);
  checkText(text);
  const checkFull = time(() => checkText(text), 5);
  const model = checkText(text, { integrity: false }).model;
  // Derivatives are memoised per analysis: each repetition derives on a fresh one.
  const fresh = [0, 1, 2].map(() => checkText(text, { integrity: false }).model);
  let rep = 0;
  const deriveAll = time(() => {
    const m = fresh[rep++];
    for (const l of m.losses) differentiate(m, l.name, 'logits');
  }, 3);
  const losses = model.losses.length;
  const focal = checkText('param g = 2\nlet pt = sum(y * p)\nloss f = -(1 - pt)^g * log(pt)').model;
  const cold = (m: typeof focal, name: string) => () => {
    clearIntegrityCache();
    integrityCheck(m, name);
  };
  const integrity = time(cold(focal, 'f'), 21);
  const seed = checkText('loss s = sum(neg(y * ln(p * i0(p))))').model;
  const integritySeed = time(cold(seed, 's'), 21);
  const scan = time(() => tokenize(text), 9);
  const rows: [string, number][] = [
    ['tokenize (anchor)', lex],
    ['tokenize, hand-written scanner (the parser\'s)', scan],
    ['parse (cold)', parseMs],
    ['parse after a one-line edit (statements re-used)', parseWarm],
    ['check without integrity', checkNoIntegrity],
    [`check with integrity, cold (${losses} losses)`, checkCold],
    [`check with integrity, cached verdicts`, checkFull],
    [`derive all ${losses} losses wrt logits`, deriveAll],
    ['integrity check, focal (1 candidate)', integrity],
    ['integrity check, seed-system Bessel loss', integritySeed],
  ];
  console.log(`generated file: 1000 lines, ${text.length} chars, ${losses} losses`);
  console.log('what'.padEnd(44) + 'median ms'.padStart(12) + 'x anchor'.padStart(12));
  for (const [name, ms] of rows) console.log(name.padEnd(44) + ms.toFixed(3).padStart(12) + (ms / lex).toFixed(1).padStart(12));
  console.log(`parse + check (cold) + derive: ${(checkCold + deriveAll).toFixed(1)} ms; per loss: ${((checkCold + deriveAll) / losses).toFixed(2)} ms`);
  bigFiles();
  const fz = fuzz(5000, 20261123);
  console.log(`fuzz: ${fz.inputs} inputs in ${(fz.ms / 1000).toFixed(1)} s (${(fz.inputs / (fz.ms / 1000)).toFixed(0)}/s), no internal error; \`npm run fuzz\` runs 100,000`);
}

/**
 * The check of big generated files (params, lets, losses, comments), cold (no statement re-used),
 * without the integrity check (what an editor shows at once, and `check --no-integrity`): wall
 * time, and the process's CPU time (a fairer figure on a loaded machine; it includes GC threads).
 */
function bigFiles(): void {
  console.log('\nbig files: check without integrity, cold');
  console.log('lines'.padStart(10) + 'chars'.padStart(12) + 'wall ms'.padStart(10) + 'cpu ms'.padStart(10) + 'ms / 1k lines'.padStart(15) + 'diagnostics'.padStart(13));
  let at100k = NaN;
  for (const lines of [1000, 100_000, 1_000_000]) {
    const text = generatedFile(lines);
    const reps = lines >= 1_000_000 ? 1 : lines >= 100_000 ? 3 : 9;
    const walls: number[] = [];
    const cpus: number[] = [];
    let diagnostics = 0;
    for (let r = 0; r < reps; r++) {
      clearStatementCache();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const res = checkText(text, { integrity: false });
      walls.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpus.push((c.user + c.system) / 1000);
      diagnostics = res.diagnostics.length;
      if (res.diagnostics.some((d) => /internal/.test(d.message))) throw new Error(`internal error on ${lines} lines`);
    }
    const wall = median(walls);
    if (lines === 100_000) at100k = wall;
    console.log(String(lines).padStart(10) + String(text.length).padStart(12) + wall.toFixed(0).padStart(10) + median(cpus).toFixed(0).padStart(10) + ((wall / lines) * 1000).toFixed(1).padStart(15) + String(diagnostics).padStart(13));
  }
  console.log(`goal: 100,000 lines under 2 s: ${at100k < 2000 ? 'met' : 'NOT met'} (${at100k.toFixed(0)} ms)`);
}
