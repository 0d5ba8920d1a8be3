/**
 * Small type guards shared by the webview message validators (pure: no DOM, no vscode). Nothing
 * received through `postMessage` or read from a run folder is trusted until it passed these.
 */
export type Obj = Record<string, unknown>;
export const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
export const isStr = (x: unknown, max = 100_000): x is string => typeof x === 'string' && x.length <= max;
export const isFiniteNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
export const isInt = (x: unknown, lo: number, hi: number): x is number => isFiniteNum(x) && Number.isInteger(x) && x >= lo && x <= hi;
/** A finite number, or null (JSON has no NaN: runs write null for what could not be measured). */
export const numOrNull = (x: unknown): number | null => (isFiniteNum(x) ? x : null);
export const strOr = (x: unknown, fallback: string, max = 10_000): string => (isStr(x, max) ? x : fallback);
/** Run ids as the run store makes them (and folder names of recorded runs). */
export const isRunId = (x: unknown): x is string => typeof x === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(x);

/** Events of a run as the extension forwards them: objects with a string `type`. */
export interface WireEvent {
  type: string;
  [k: string]: unknown;
}
export const isEvent = (x: unknown): x is WireEvent => isObj(x) && isStr(x.type, 100);
/** Identifiers (view option keys, DSL names). */
export const isName = (x: unknown): x is string => typeof x === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(x);
