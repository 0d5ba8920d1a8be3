/**
 * The Lossmith language server. It receives its connection (stdio, IPC, socket, or in-memory
 * streams in tests), so the same class runs in every setting. Every handler is guarded: an
 * exception is logged and answered with an empty result, never allowed to end the process.
 */
import {
  CodeActionKind,
  ErrorCodes,
  LSPErrorCodes,
  NotificationType,
  RequestType,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  DidChangeConfigurationNotification,
  type CancellationToken,
  type ClientCapabilities,
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type DocumentDiagnosticReport,
  type SemanticTokens,
  type SemanticTokensDelta,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { capDiagnostics, MAX_DIAGNOSTICS, type Diagnostic as GDiagnostic } from '../../grammar/src/index';
import {
  AnalysisChangedNotification,
  DerivativeRequest,
  type AnalysisChangedParams,
  type DerivativeParams,
  type DerivativeResult,
  type InitializationOptions,
} from '../../protocol/lsp';
import { toDiagnostic } from './convert';
import { DocumentStore, type Analysis } from './documents';
import { codeActions } from './features/code-actions';
import { completion } from './features/completion';
import { derivative } from './features/derivative';
import { DiagnosticsScheduler } from './features/diagnostics';
import { foldingRanges } from './features/folding';
import { formatDocument, formatRange } from './features/formatting';
import { hover } from './features/hover';
import { inlayHints } from './features/inlay-hints';
import { definition, documentHighlights, prepareRename, references, rename } from './features/navigation';
import { collectTokens, encode, LEGEND, SemanticTokensDeltas } from './features/semantic-tokens';
import { signatureHelp } from './features/signature-help';
import { Catalogue, defaultExampleDirs } from './features/snippets';
import { documentSymbols } from './features/symbols';
import { Settings } from './settings';

export interface LossServerOptions {
  /** Overrides initializationOptions.debounceMs. */
  debounceMs?: number;
  /** Overrides initializationOptions.examplesDir. */
  examplesDir?: string;
  /** Diagnostics sent per document (default MAX_DIAGNOSTICS), then one that counts the rest. */
  maxDiagnostics?: number;
}

const derivativeType = new RequestType<DerivativeParams, DerivativeResult | null, void>(DerivativeRequest.method);
const analysisChangedType = new NotificationType<AnalysisChangedParams>(AnalysisChangedNotification.method);

type Handler<P, R> = (params: P, token: CancellationToken) => R | Promise<R>;

export class LossServer {
  readonly documents = new TextDocuments(TextDocument);
  readonly store: DocumentStore;
  private scheduler!: DiagnosticsScheduler;
  private settings!: Settings;
  private catalogue!: Catalogue;
  private caps: ClientCapabilities = {};
  private mode: 'push' | 'pull' = 'push';
  private readonly justOpened = new Set<string>();
  private readonly tokenDeltas = new SemanticTokensDeltas();
  /** Counts of handler failures (for tests). */
  failures = 0;

  constructor(
    readonly connection: Connection,
    private readonly options: LossServerOptions = {},
  ) {
    this.store = new DocumentStore((uri) => this.documents.get(uri));
    connection.onInitialize((p) => this.initialize(p));
    connection.onInitialized(() => {
      if (this.caps.workspace?.didChangeConfiguration?.dynamicRegistration) {
        connection.client.register(DidChangeConfigurationNotification.type, { section: 'lossmith' }).catch(() => undefined);
      }
    });
    connection.onShutdown(() => this.scheduler?.dispose());
    this.registerDocumentEvents();
    this.registerFeatures();
    this.documents.listen(connection);
  }

  /** Start reading messages. */
  listen(): void {
    this.connection.listen();
  }

  private log(message: string): void {
    try {
      this.connection.console.error(message);
    } catch {
      // the connection may be gone
    }
  }

  private initialize(params: InitializeParams): InitializeResult {
    this.caps = params.capabilities ?? {};
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    this.mode = init.diagnosticMode === 'pull' && this.caps.textDocument?.diagnostic ? 'pull' : 'push';
    const debounce = this.options.debounceMs ?? (typeof init.debounceMs === 'number' ? init.debounceMs : 150);
    this.settings = new Settings(this.connection, !!this.caps.workspace?.configuration, init);
    const examplesDir = this.options.examplesDir ?? (typeof init.examplesDir === 'string' ? init.examplesDir : undefined);
    this.catalogue = new Catalogue(() => defaultExampleDirs(examplesDir));
    this.scheduler = new DiagnosticsScheduler(
      this.store,
      {
        publish: (a, d) => this.publish(a, d),
        analysed: (a) => this.connection.sendNotification(analysisChangedType, { uri: a.uri, version: a.version }).catch(() => undefined),
        log: (m) => this.log(m),
      },
      Math.max(0, debounce),
    );
    const result: InitializeResult = {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: [], resolveProvider: false },
        signatureHelpProvider: { triggerCharacters: ['(', ','], retriggerCharacters: [')'] },
        documentSymbolProvider: true,
        semanticTokensProvider: { legend: LEGEND, full: { delta: true }, range: true },
        foldingRangeProvider: true,
        documentFormattingProvider: true,
        documentRangeFormattingProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        documentHighlightProvider: true,
        renameProvider: { prepareProvider: true },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite] },
        inlayHintProvider: true,
        ...(this.mode === 'pull' ? { diagnosticProvider: { interFileDependencies: false, workspaceDiagnostics: false } } : {}),
      },
      serverInfo: { name: 'lossmith', version: '0.1.0' },
    };
    return result;
  }

  private publish(a: Analysis, diagnostics: GDiagnostic[]): void {
    if (this.mode !== 'push') return;
    const related = this.caps.textDocument?.publishDiagnostics?.relatedInformation ?? false;
    const sent = capDiagnostics(diagnostics, this.options.maxDiagnostics ?? MAX_DIAGNOSTICS);
    this.connection
      .sendDiagnostics({ uri: a.uri, version: a.version, diagnostics: sent.map((d) => toDiagnostic(a.index, a.uri, d, related)) })
      .catch((e) => this.log(`publishDiagnostics failed: ${String(e)}`));
  }

  private registerDocumentEvents(): void {
    this.documents.onDidOpen((e) => {
      this.justOpened.add(e.document.uri);
      void this.settings?.get(e.document.uri);
      this.scheduler?.opened(e.document.uri);
    });
    this.documents.onDidChangeContent((e) => {
      if (this.justOpened.delete(e.document.uri)) return;
      this.scheduler?.changed(e.document.uri);
    });
    this.documents.onDidClose((e) => {
      const uri = e.document.uri;
      this.justOpened.delete(uri);
      this.scheduler?.closed(uri);
      this.store.forget(uri);
      this.tokenDeltas.forget(uri);
      this.settings?.forget(uri);
      if (this.mode === 'push') this.connection.sendDiagnostics({ uri, diagnostics: [] }).catch(() => undefined);
    });
    this.connection.onDidChangeConfiguration((p) => {
      this.settings?.changed(p?.settings);
      if (this.caps.workspace?.inlayHint?.refreshSupport) this.connection.languages.inlayHint.refresh().catch(() => undefined);
    });
  }

  /**
   * Wrap a handler: cancelled requests answer RequestCancelled; intended ResponseErrors pass
   * through; any other exception is logged and answered with `fallback`.
   */
  private guard<P, R>(name: string, fallback: R, fn: Handler<P, R>): // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (params: P, token: CancellationToken) => Promise<R | ResponseError<any>> {
    return async (params, token) => {
      if (token?.isCancellationRequested) return new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
      try {
        const r = await fn(params, token);
        if (token?.isCancellationRequested) return new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
        return r;
      } catch (e) {
        if (e instanceof ResponseError) return e;
        this.failures++;
        this.log(`${name} failed: ${e instanceof Error ? e.stack : String(e)}`);
        return fallback;
      }
    };
  }

  /** The newest analysis of a document, or undefined when it is not open. */
  private analysis(uri: string | undefined): Analysis | undefined {
    return typeof uri === 'string' ? this.store.get(uri) : undefined;
  }

  private markdown(kind: 'hover' | 'completion' | 'signature'): boolean {
    const td = this.caps.textDocument;
    const formats =
      kind === 'hover' ? td?.hover?.contentFormat : kind === 'completion' ? td?.completion?.completionItem?.documentationFormat : td?.signatureHelp?.signatureInformation?.documentationFormat;
    return !formats || formats.includes('markdown');
  }

  private registerFeatures(): void {
    const c = this.connection;
    c.onHover(
      this.guard('hover', null, (p) => {
        const a = this.analysis(p.textDocument?.uri);
        if (!a) return null;
        return hover(a, p.position, { classes: this.settings.cached(a.uri).hover.classes, markdown: this.markdown('hover') });
      }),
    );
    c.onCompletion(
      this.guard('completion', null, (p) => {
        const a = this.analysis(p.textDocument?.uri);
        if (!a) return null;
        return completion(a, p.position, {
          snippets: !!this.caps.textDocument?.completion?.completionItem?.snippetSupport,
          markdown: this.markdown('completion'),
          catalogue: this.catalogue,
        });
      }),
    );
    c.onSignatureHelp(
      this.guard('signatureHelp', null, (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? signatureHelp(a, p.position, this.markdown('signature')) : null;
      }),
    );
    c.onDocumentSymbol(
      this.guard('documentSymbol', [], (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? documentSymbols(a) : [];
      }),
    );
    c.languages.semanticTokens.on(
      this.guard('semanticTokens', { data: [] }, (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? this.tokenDeltas.full(a.uri, encode(a, collectTokens(a)).data) : { data: [] };
      }),
    );
    c.languages.semanticTokens.onDelta(
      this.guard('semanticTokens/delta', { data: [] } as SemanticTokens | SemanticTokensDelta, (p) => {
        const a = this.analysis(p.textDocument?.uri);
        if (!a) return { data: [] };
        return this.tokenDeltas.delta(a.uri, String(p.previousResultId), encode(a, collectTokens(a)).data);
      }),
    );
    c.languages.semanticTokens.onRange(
      this.guard('semanticTokens/range', { data: [] }, (p) => {
        const a = this.analysis(p.textDocument?.uri);
        if (!a) return { data: [] };
        const from = a.index.offset(p.range.start);
        const to = a.index.offset(p.range.end);
        return encode(a, collectTokens(a, from, to));
      }),
    );
    c.onFoldingRanges(
      this.guard('foldingRange', [], (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? foldingRanges(a) : [];
      }),
    );
    c.onDocumentFormatting(
      this.guard('formatting', [], (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? formatDocument(a) : [];
      }),
    );
    c.onDocumentRangeFormatting(
      this.guard('rangeFormatting', [], (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? formatRange(a, p.range) : [];
      }),
    );
    c.onDefinition(
      this.guard('definition', null, (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? definition(a, p.position) : null;
      }),
    );
    c.onReferences(
      this.guard('references', [], (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? references(a, p.position, !!p.context?.includeDeclaration) : [];
      }),
    );
    c.onDocumentHighlight(
      this.guard('documentHighlight', [], (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? documentHighlights(a, p.position) : [];
      }),
    );
    c.onPrepareRename(
      this.guard('prepareRename', null, (p) => {
        const a = this.analysis(p.textDocument?.uri);
        return a ? prepareRename(a, p.position) : null;
      }),
    );
    c.onRenameRequest(
      this.guard('rename', null, (p) => {
        const a = this.analysis(p.textDocument?.uri);
        if (!a) throw new ResponseError(ErrorCodes.InvalidRequest, 'the document is not open');
        return rename(a, p.position, p.newName);
      }),
    );
    c.onCodeAction(
      this.guard('codeAction', [], (p) => {
        const a = this.analysis(p.textDocument?.uri);
        if (!a) return [];
        // Fix against the full diagnostics when known, else the fast ones (integrity issues have no fix but 'allow').
        return codeActions(a, p, a.fullDiagnosticsIfReady ?? a.fastDiagnostics);
      }),
    );
    c.languages.inlayHint.on(
      this.guard('inlayHint', [], async (p) => {
        const uri = p.textDocument?.uri;
        if (!this.analysis(uri)) return [];
        const s = await this.settings.get(uri);
        if (!s.inlayHints.types) return [];
        const a = this.analysis(uri); // the newest, after the round trip
        return a ? inlayHints(a, p.range) : [];
      }),
    );
    c.onRequest(
      derivativeType,
      this.guard<DerivativeParams, DerivativeResult | null>('derivative', null, (p) => {
        const a = this.analysis(p?.uri);
        if (!a) throw new ResponseError(ErrorCodes.InvalidParams, `the document ${String(p?.uri)} is not open`);
        return derivative(a, p);
      }),
    );
    c.languages.diagnostics.on(
      this.guard<Parameters<Parameters<typeof c.languages.diagnostics.on>[0]>[0], DocumentDiagnosticReport>('diagnostic', { kind: 'full', items: [] }, async (p, token) => {
        const a = this.analysis(p.textDocument?.uri);
        if (!a) return { kind: 'full', items: [] };
        const d = await a.fullDiagnostics();
        if (token.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
        if (!d) throw new ResponseError(LSPErrorCodes.ServerCancelled, 'the document changed', { retriggerRequest: true } as never);
        const related = !!this.caps.textDocument?.diagnostic;
        const sent = capDiagnostics(d, this.options.maxDiagnostics ?? MAX_DIAGNOSTICS);
        return { kind: 'full', resultId: String(a.version), items: sent.map((x) => toDiagnostic(a.index, a.uri, x, related)) };
      }),
    );
  }
}
