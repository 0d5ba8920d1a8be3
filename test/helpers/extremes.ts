/**
 * The catalogue at extreme margins: the points (10 classes, one-hot targets), the cases (every
 * loss of examples/*.loss) and each case's expressions as JSON trees for the mpmath reference
 * (test/fixtures/make_stable_reference.py). Shared by the reference generator
 * (test/fixtures/make-stable-reference.ts) and the test (test/engine/extremes.test.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  builtinIdOf,
  checkText,
  differentiate,
  letsNeeded,
  printStatement,
  type Expr,
  type Model,
} from '../../grammar/src/index';
import { Rng } from '../../engine/src/rng';

export const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');
export const CLASSES = 10;

export interface ExtremePoint {
  label: string;
  group: 'margin' | 'large';
  /** float32-representable logits. */
  logits: number[];
  /** The class of the one-hot target. */
  target: number;
}

/** Leads of the true logit over the others (about: the others are uniform in [-1, 1]). */
export const MARGINS = [-100, -80, -60, -40, -30, -25, -20, -17, -15, -12, -10, -7, -5, -3, -1, 0, 1, 3, 5, 7, 10, 12, 15, 16, 17, 18, 19, 20, 25, 30, 40, 60, 80, 100];

/**
 * 68 points with the true logit m + U(-1, 1) and the others U(-1, 1), two per margin m in
 * MARGINS; and 12 with logits up to +-1e4: the true logit at +1e4 or -1e4 against small others
 * (2 each), all logits U(-1e4, 1e4) (4), the true logit at 1e4 against others U(-1e4, 1e4) (2),
 * and all U(-1e4, 1e4) with the true logit 5 above the largest (2: a moderate lead at large
 * magnitude).
 */
export function extremePoints(): ExtremePoint[] {
  const rng = new Rng(20261214);
  const out: ExtremePoint[] = [];
  const f32 = (v: number[]): number[] => v.map(Math.fround);
  const small = (): number[] => Array.from({ length: CLASSES }, () => rng.uniform(-1, 1));
  const wide = (): number[] => Array.from({ length: CLASSES }, () => rng.uniform(-1e4, 1e4));
  for (const m of MARGINS) {
    for (let i = 0; i < 2; i++) {
      const z = small();
      const t = rng.int(CLASSES);
      z[t] += m;
      out.push({ label: `margin ${m >= 0 ? '+' : ''}${m} #${i + 1}`, group: 'margin', logits: f32(z), target: t });
    }
  }
  const large = (label: string, make: (t: number) => number[]): void => {
    const t = rng.int(CLASSES);
    out.push({ label, group: 'large', logits: f32(make(t)), target: t });
  };
  for (let i = 0; i < 2; i++) large(`true +1e4, others small #${i + 1}`, (t) => Object.assign(small(), { [t]: 1e4 }));
  for (let i = 0; i < 2; i++) large(`true -1e4, others small #${i + 1}`, (t) => Object.assign(small(), { [t]: -1e4 }));
  for (let i = 0; i < 4; i++) large(`all U(-1e4, 1e4) #${i + 1}`, () => wide());
  for (let i = 0; i < 2; i++) large(`true +1e4, others U(-1e4, 1e4) #${i + 1}`, (t) => Object.assign(wide(), { [t]: 1e4 }));
  for (let i = 0; i < 2; i++) {
    large(`all U(-1e4, 1e4), true leads by 5 #${i + 1}`, (t) => {
      const z = wide();
      z[t] = Math.max(...z.filter((_, k) => k !== t)) + 5;
      return z;
    });
  }
  return out;
}

export interface CatalogueCase {
  file: string;
  loss: string;
  source: string;
  model: Model;
  /** The loss as written: its params, the lets it uses and itself, printed (the fixture's key). */
  key: string;
}

export function catalogueCases(): CatalogueCase[] {
  const out: CatalogueCase[] = [];
  for (const file of fs.readdirSync(EXAMPLES).filter((n) => n.endsWith('.loss')).sort()) {
    const source = fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
    const { model } = checkText(source, { integrity: false });
    for (const loss of model.losses) {
      const lets = letsNeeded(model, loss.expr);
      const statements = [
        ...model.params,
        ...model.lets.filter((l) => lets.has(l.name)),
        loss,
      ];
      out.push({ file, loss: loss.name, source, model, key: statements.map(printStatement).join('\n') });
    }
  }
  return out;
}

export type JsonExpr =
  | { k: 'n'; v: number }
  | { k: 'v'; n: string }
  | { k: 'u'; a: JsonExpr }
  | { k: 'c'; f: string; a: JsonExpr[] };

/** An expression as a JSON tree over builtin ids (operators become calls of add, sub, ...). */
export function toJson(e: Expr): JsonExpr {
  switch (e.kind) {
    case 'Number':
      return { k: 'n', v: e.value };
    case 'Name':
      return { k: 'v', n: e.name };
    case 'Unary':
      return { k: 'u', a: toJson(e.operand) };
    case 'Binary':
      return { k: 'c', f: builtinIdOf(e)!, a: [toJson(e.left), toJson(e.right)] };
    case 'Call': {
      const id = builtinIdOf(e);
      if (!id) throw new Error(`unknown function ${e.callee}`);
      return { k: 'c', f: id, a: e.args.map(toJson) };
    }
    case 'Missing':
      throw new Error('incomplete expression');
  }
}

/** What the mpmath reference evaluates for a case: params, lets in order, the loss and its raw gradient. */
export function referenceSpec(c: CatalogueCase): object {
  const loss = c.model.losses.find((l) => l.name === c.loss)!;
  const lets = letsNeeded(c.model, loss.expr);
  return {
    file: c.file,
    loss: c.loss,
    key: c.key,
    params: Object.fromEntries(c.model.params.map((p) => [p.name, p.value])),
    lets: c.model.lets.filter((l) => lets.has(l.name)).map((l) => ({ name: l.name, expr: toJson(l.expr) })),
    expr: toJson(loss.expr),
    grad: toJson(differentiate(c.model, c.loss, 'logits', { simplify: false })),
  };
}

export const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'stable-reference.json');

/** A fixture number: a double, or 'inf' / '-inf' / 'nan' where the exact value is not a finite double. */
export type RefNumber = number | 'inf' | '-inf' | 'nan';

export interface Fixture {
  points: ExtremePoint[];
  losses: { file: string; loss: string; key: string; value: RefNumber[]; grad: RefNumber[][]; digits: number[] }[];
}

export function refNumber(v: RefNumber): number {
  return v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : v;
}
