/**
 * Messages between the extension and the derivative preview webview, with validators used on
 * both sides: nothing that arrives through `postMessage` is trusted until it has passed one of
 * the `parse*` functions here. Pure (no DOM, no vscode), so the client, the webview and the
 * tests all import it.
 */
import type { CurveWire, DerivativeResult, DerivativeTextWire, LossInfo, ParamInfo, WireRange } from '../../../protocol/lsp';

/** The webview panel's view type (also the serializer's key). */
export const PREVIEW_VIEW_TYPE = 'lossmith.derivativePreview';

export const MIN_CLASSES = 2;
export const MAX_CLASSES = 1000;

/** Extension -> webview. */
export type ToWebview =
  | {
      type: 'derivative';
      result: DerivativeResult;
      /** Short name of the document, for the heading. */
      fileName: string;
      /** Number of classes the curve was computed for. */
      classes: number;
      /** Param values the user set in the panel (absent: the file's default). */
      overrides: Record<string, number>;
    }
  | { type: 'status'; state: 'noEditor' | 'starting' | 'serverError'; message: string };

/** Webview -> extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'setClasses'; classes: number }
  | { type: 'setParam'; name: string; value: number }
  | { type: 'resetParams' }
  | { type: 'selectLoss'; loss: string }
  | { type: 'revealLoss'; loss: string };

/** What the webview keeps with `setState` and the serializer hands back after a reload. */
export interface PreviewState {
  v: 1;
  uri?: string;
  loss?: string;
  classes?: number;
  overrides?: Record<string, number>;
}

// ---------------------------------------------------------------- checks

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown, max = 100_000): x is string => typeof x === 'string' && x.length <= max;
const isFiniteNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isInt = (x: unknown, lo: number, hi: number): x is number => isFiniteNum(x) && Number.isInteger(x) && x >= lo && x <= hi;
/** Identifiers of the DSL (param, let and loss names). */
export const isName = (x: unknown): x is string => typeof x === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(x);

function isPos(x: unknown): boolean {
  return isObj(x) && isInt(x.line, 0, 1e7) && isInt(x.character, 0, 1e7);
}
function isRange(x: unknown): x is WireRange {
  return isObj(x) && isPos(x.start) && isPos(x.end);
}
function isNumArray(x: unknown, nullable: boolean, max = 5000): x is (number | null)[] {
  return Array.isArray(x) && x.length <= max && x.every((v) => (nullable && v === null) || isFiniteNum(v));
}

function isParamInfo(x: unknown): x is ParamInfo {
  return (
    isObj(x) &&
    isName(x.name) &&
    (isFiniteNum(x.value) || x.value === null) &&
    (x.lo === undefined || x.lo === null || isFiniteNum(x.lo)) &&
    (x.hi === undefined || x.hi === null || isFiniteNum(x.hi)) &&
    isRange(x.range) &&
    isRange(x.nameRange)
  );
}
function isLossInfo(x: unknown): x is LossInfo {
  return isObj(x) && isName(x.name) && isRange(x.range) && isRange(x.nameRange);
}
function isDerivativeText(x: unknown): x is DerivativeTextWire {
  return isObj(x) && (x.wrt === 'logits' || x.wrt === 'p' || x.wrt === 'd_fake' || x.wrt === 'd_real') && isStr(x.text) && isStr(x.latex);
}
function isCurve(x: unknown): x is CurveWire {
  if (!isObj(x)) return false;
  // A GAN or segmentation file's curve has its own axes (a GAN's has no classes).
  const axes = x.axes;
  if (axes !== undefined && !(isObj(axes) && isStr(axes.x, 100) && isStr(axes.xLong, 300) && isStr(axes.grad, 100) && isStr(axes.gradTrue, 100) && isStr(axes.gradOther, 100))) return false;
  if (!isInt(x.classes, axes === undefined ? MIN_CLASSES : 1, 100_000) || !isNumArray(x.pt, false)) return false;
  const n = (x.pt as number[]).length;
  if (!isNumArray(x.loss, true) || (x.loss as unknown[]).length !== n) return false;
  for (const k of ['gradTrue', 'gradOther'] as const) {
    if (x[k] === null) continue;
    if (!isNumArray(x[k], true) || (x[k] as unknown[]).length !== n) return false;
  }
  return true;
}

/** A `lossmith/derivative` result as the server sends it, or undefined when it has another shape. */
export function parseDerivativeResult(x: unknown): DerivativeResult | undefined {
  if (!isObj(x)) return undefined;
  const ok =
    isStr(x.uri, 10_000) &&
    isInt(x.version, -1, Number.MAX_SAFE_INTEGER) &&
    (x.loss === '' || isName(x.loss)) &&
    Array.isArray(x.losses) &&
    x.losses.length <= 1000 &&
    x.losses.every(isName) &&
    Array.isArray(x.lossInfos) &&
    x.lossInfos.length <= 1000 &&
    x.lossInfos.every(isLossInfo) &&
    Array.isArray(x.params) &&
    x.params.length <= 1000 &&
    x.params.every(isParamInfo) &&
    isStr(x.text) &&
    isStr(x.latex) &&
    Array.isArray(x.derivatives) &&
    x.derivatives.length <= 10 &&
    x.derivatives.every(isDerivativeText) &&
    (x.curve === null || isCurve(x.curve)) &&
    (x.error === undefined || isStr(x.error, 10_000));
  return ok ? (x as unknown as DerivativeResult) : undefined;
}

function parseOverrides(x: unknown): Record<string, number> | undefined {
  if (!isObj(x)) return undefined;
  const out: Record<string, number> = {};
  const entries = Object.entries(x);
  if (entries.length > 1000) return undefined;
  for (const [k, v] of entries) {
    if (!isName(k) || !isFiniteNum(v)) return undefined;
    out[k] = v;
  }
  return out;
}

/** Validate a message for the webview. */
export function parseToWebview(x: unknown): ToWebview | undefined {
  if (!isObj(x)) return undefined;
  if (x.type === 'derivative') {
    const result = parseDerivativeResult(x.result);
    const overrides = parseOverrides(x.overrides);
    if (!result || !overrides || !isStr(x.fileName, 1000) || !isInt(x.classes, MIN_CLASSES, MAX_CLASSES)) return undefined;
    return { type: 'derivative', result, fileName: x.fileName, classes: x.classes, overrides };
  }
  if (x.type === 'status') {
    if ((x.state !== 'noEditor' && x.state !== 'starting' && x.state !== 'serverError') || !isStr(x.message, 10_000)) return undefined;
    return { type: 'status', state: x.state, message: x.message };
  }
  return undefined;
}

/** Validate a message from the webview. */
export function parseFromWebview(x: unknown): FromWebview | undefined {
  if (!isObj(x)) return undefined;
  switch (x.type) {
    case 'ready':
    case 'resetParams':
      return { type: x.type };
    case 'setClasses':
      return isInt(x.classes, MIN_CLASSES, MAX_CLASSES) ? { type: 'setClasses', classes: x.classes } : undefined;
    case 'setParam':
      return isName(x.name) && isFiniteNum(x.value) ? { type: 'setParam', name: x.name, value: x.value } : undefined;
    case 'selectLoss':
    case 'revealLoss':
      return isName(x.loss) ? { type: x.type, loss: x.loss } : undefined;
    default:
      return undefined;
  }
}

/** Validate a persisted webview state (it may come from an older version, or be anything). */
export function parseState(x: unknown): PreviewState | undefined {
  if (!isObj(x) || x.v !== 1) return undefined;
  const out: PreviewState = { v: 1 };
  if (isStr(x.uri, 10_000)) out.uri = x.uri;
  if (isName(x.loss)) out.loss = x.loss;
  if (isInt(x.classes, MIN_CLASSES, MAX_CLASSES)) out.classes = x.classes;
  const o = parseOverrides(x.overrides);
  if (o) out.overrides = o;
  return out;
}
