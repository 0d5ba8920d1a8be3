/**
 * Wire types of the Lossmith language server's own messages (everything under `lossmith/`).
 *
 * This module has no dependencies (not even vscode-jsonrpc), so that the client, the server and
 * the webviews can all import it. Each message is described by a typed descriptor carrying its
 * method name; the server and the client build their jsonrpc `RequestType`/`NotificationType`
 * from `method` (e.g. `new RequestType<DerivativeParams, DerivativeResult, void>(DerivativeRequest.method)`),
 * and the phantom `_types` field keeps params and result attached to the name.
 */

/** A zero-based line/character position (UTF-16), as in LSP. */
export interface WirePosition {
  line: number;
  character: number;
}

export interface WireRange {
  start: WirePosition;
  end: WirePosition;
}

/** A typed request descriptor: `method` plus phantom parameter and result types. */
export interface RequestDescriptor<P, R> {
  readonly method: string;
  /** Never set at run time; carries the types. */
  readonly _types?: { params: P; result: R };
}

/** A typed notification descriptor. */
export interface NotificationDescriptor<P> {
  readonly method: string;
  readonly _types?: { params: P };
}

// ---------------------------------------------------------------- lossmith/derivative

export interface DerivativeParams {
  /** The `.loss` document. */
  uri: string;
  /** The loss to report on. Without it: the loss under (or nearest before) `position`, else the first loss. */
  loss?: string;
  position?: WirePosition;
  /** Number of classes for the 1-D view (default 10, at least 2). */
  classes?: number;
  /** Grid size of the 1-D view (default 199, 2..2000). */
  points?: number;
  /** Param values overriding the defaults in the file. */
  params?: Record<string, number>;
}

export interface ParamInfo {
  name: string;
  value: number;
  lo?: number;
  hi?: number;
  /** Range of the whole `param` statement. */
  range: WireRange;
  nameRange: WireRange;
}

export interface LossInfo {
  name: string;
  range: WireRange;
  nameRange: WireRange;
}

export interface DerivativeTextWire {
  /** logits, p (classification); d_fake, d_real (task gan). */
  wrt: 'logits' | 'p' | 'd_fake' | 'd_real';
  text: string;
  latex: string;
}

export interface CurveWire {
  classes: number;
  /** True-class probabilities of the grid (task gan: D(G(z)) = sigmoid(d_fake)). */
  pt: number[];
  /** The axis and gradient labels when they are not pt, dL/dz_true, dL/dz_other (task gan). */
  axes?: { x: string; xLong: string; grad: string; gradTrue: string; gradOther: string };
  /** Loss values (NaN is sent as null by JSON). */
  loss: (number | null)[];
  /** dL/dz of the true class; null when not computable. */
  gradTrue: (number | null)[] | null;
  /** dL/dz of one other class. */
  gradOther: (number | null)[] | null;
}

export interface DerivativeResult {
  uri: string;
  /** Document version the result was computed from. */
  version: number;
  /** The loss reported on ('' when the file has no loss). */
  loss: string;
  /** Every loss name in the file, in order. */
  losses: string[];
  /** Every loss with its ranges, in order. */
  lossInfos: LossInfo[];
  params: ParamInfo[];
  /** The loss expression (canonical text) and its LaTeX. */
  text: string;
  latex: string;
  /** With respect to the logits, then p (task gan: d_fake, then d_real). */
  derivatives: DerivativeTextWire[];
  curve: CurveWire | null;
  /** Why the derivatives or the curve are missing, if they are. */
  error?: string;
}

export const DerivativeRequest: RequestDescriptor<DerivativeParams, DerivativeResult> = { method: 'lossmith/derivative' };

// ---------------------------------------------------------------- lossmith/analysisChanged

/** Sent by the server after each new analysis of a document (diagnostics are published). */
export interface AnalysisChangedParams {
  uri: string;
  version: number;
}

export const AnalysisChangedNotification: NotificationDescriptor<AnalysisChangedParams> = { method: 'lossmith/analysisChanged' };

// ---------------------------------------------------------------- settings

/** Settings the server reads (section `lossmith`), through workspace/configuration or initializationOptions. */
export interface ServerSettings {
  inlayHints: { types: boolean };
  hover: { classes: number };
}

export const DEFAULT_SETTINGS: ServerSettings = { inlayHints: { types: false }, hover: { classes: 10 } };

/** initializationOptions the server understands (all optional). */
export interface InitializationOptions {
  /** Settings, either nested (`{ lossmith: { inlayHints: { types: true } } }`, `{ inlayHints: ... }`) or dotted (`{ 'lossmith.inlayHints.types': true }`). */
  [key: string]: unknown;
  /** 'push' (default) or 'pull' diagnostics. */
  diagnosticMode?: 'push' | 'pull';
  /** Debounce of diagnostics after a change, ms (default 150). */
  debounceMs?: number;
  /** A folder of `*.loss` files offered as completion snippets (default: the extension's examples/). */
  examplesDir?: string;
}
