/**
 * Documents and their analyses. One analysis per document version, computed on first use and
 * shared by every feature: the parse, the model and the checker's diagnostics without the
 * integrity check (fast, synchronous), plus the full diagnostics, whose integrity part runs
 * asynchronously in slices (see integrity.ts) and is cached by content across versions.
 */
import type { TextDocument } from 'vscode-languageserver-textdocument';
import {
  checkText,
  walk,
  type Builtin,
  type CheckResult,
  type Diagnostic as GDiagnostic,
  type Expr,
  type Range as GRange,
  type Statement,
  type SymbolInfo,
  resolveCall,
  overloads,
} from '../../grammar/src/index';
import { LineIndex } from './convert';
import { IntegrityRunner } from './integrity';

export type Occurrence =
  | { kind: 'definition'; range: GRange; name: string; stmt: Statement; symbol: SymbolInfo; first: boolean }
  | { kind: 'reference'; range: GRange; name: string; symbol: SymbolInfo }
  | { kind: 'call'; range: GRange; name: string; call: Expr & { kind: 'Call' }; builtin?: Builtin }
  | { kind: 'unresolved'; range: GRange; name: string };

export class Analysis {
  readonly index: LineIndex;
  readonly check: CheckResult;
  private occ?: Occurrence[];
  private full?: Promise<GDiagnostic[] | undefined>;
  private fullDone?: GDiagnostic[];
  /** Per-analysis memo for features (e.g. loss hovers). */
  readonly memo = new Map<string, unknown>();

  constructor(
    readonly uri: string,
    readonly version: number,
    readonly text: string,
    private readonly runner: IntegrityRunner,
    private readonly isCurrent: () => boolean,
  ) {
    this.index = new LineIndex(text);
    this.check = safeCheck(text);
  }

  get program() {
    return this.check.parse.program;
  }
  get model() {
    return this.check.model;
  }
  get hasSyntaxErrors(): boolean {
    return this.check.parse.errors.length > 0;
  }

  /** Diagnostics without the integrity check (available at once). */
  get fastDiagnostics(): GDiagnostic[] {
    return this.check.diagnostics;
  }

  /** The full diagnostics when they are already known (else undefined). */
  get fullDiagnosticsIfReady(): GDiagnostic[] | undefined {
    return this.fullDone;
  }

  /**
   * Every diagnostic `checkText(text)` gives, computed once per version. Resolves to undefined
   * when the document changed before it finished (the work is abandoned).
   */
  fullDiagnostics(): Promise<GDiagnostic[] | undefined> {
    if (!this.full) {
      this.full = this.runner.run(this.check, this.text, this.isCurrent, this.uri).then((d) => {
        if (d) this.fullDone = d;
        else this.full = undefined; // abandoned: allow a retry if asked again while current
        return d;
      });
    }
    return this.full;
  }

  /** Names and calls in source order, for cursor look-ups. */
  get occurrences(): Occurrence[] {
    if (!this.occ) this.occ = buildOccurrences(this.check);
    return this.occ;
  }

  /** The name or call under the cursor (an offset touching either end counts). */
  occurrenceAt(offset: number): Occurrence | undefined {
    const occ = this.occurrences;
    let lo = 0;
    let hi = occ.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (occ[mid].range.start <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const o = occ[found];
    return offset <= o.range.end ? o : undefined;
  }

  /** The statement whose range contains the offset (end inclusive). */
  statementAt(offset: number): Statement | undefined {
    const st = this.program.statements;
    let lo = 0;
    let hi = st.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (st[mid].range.start <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    return offset <= st[found].range.end ? st[found] : undefined;
  }
}

function safeCheck(text: string): CheckResult {
  try {
    return checkText(text, { integrity: false });
  } catch (e) {
    // checkText promises never to throw; if it does, analyse nothing rather than crash.
    const empty = checkText('', { integrity: false });
    empty.diagnostics.push({ code: 'syntax-error', severity: 'error', message: `internal error: ${String(e)}`, range: { start: 0, end: 0 } });
    return empty;
  }
}

function buildOccurrences(check: CheckResult): Occurrence[] {
  const out: Occurrence[] = [];
  const model = check.model;
  const refStarts = new Set<number>();
  for (const r of model.references) {
    out.push({ kind: 'reference', range: r.range, name: r.symbol.name, symbol: r.symbol });
    refStarts.add(r.range.start);
  }
  for (const sym of model.definitions) {
    if (!sym.stmt || !sym.name || !sym.nameRange) continue;
    const first = model.symbols.get(sym.name)?.stmt === sym.stmt;
    out.push({ kind: 'definition', range: sym.nameRange, name: sym.name, stmt: sym.stmt, symbol: first ? model.symbols.get(sym.name)! : sym, first });
  }
  for (const s of model.program.statements) {
    if (s.kind === 'Param') continue;
    walk(s.expr, (e) => {
      if (e.kind === 'Call') {
        const b = resolveCall(e.callee, e.args.length) ?? overloads(e.callee)[0];
        out.push({ kind: 'call', range: e.calleeRange, name: e.callee, call: e, ...(b ? { builtin: b } : {}) });
      } else if (e.kind === 'Name' && !refStarts.has(e.range.start)) {
        out.push({ kind: 'unresolved', range: e.range, name: e.name });
      }
    });
  }
  out.sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
  return out;
}


/** Open documents and the analysis of each one's newest version. */
export class DocumentStore {
  private readonly analyses = new Map<string, Analysis>();
  readonly runner = new IntegrityRunner();

  constructor(private readonly getDocument: (uri: string) => TextDocument | undefined) {}

  /** The analysis of the newest version of a document (computed on first use). */
  get(uri: string): Analysis | undefined {
    const doc = this.getDocument(uri);
    if (!doc) {
      this.analyses.delete(uri);
      return undefined;
    }
    const cached = this.analyses.get(uri);
    if (cached && cached.version === doc.version && cached.text.length === doc.getText().length) return cached;
    const version = doc.version;
    const a = new Analysis(uri, version, doc.getText(), this.runner, () => this.getDocument(uri)?.version === version);
    this.analyses.set(uri, a);
    return a;
  }

  /** Is this analysis still the newest for its document? */
  isCurrent(a: Analysis): boolean {
    return this.getDocument(a.uri)?.version === a.version;
  }

  forget(uri: string): void {
    this.analyses.delete(uri);
    this.runner.forget(uri);
  }
}
