/**
 * A real LSP client wired to a LossServer over two in-memory streams, plus `<|>` cursor
 * markers: `openDoc('loss a = lo<|>g(p)')` opens the text without the marker and returns the
 * marker's position.
 */
import { PassThrough } from 'node:stream';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  InitializeRequest,
  InitializedNotification,
  DidOpenTextDocumentNotification,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  PublishDiagnosticsNotification,
  ConfigurationRequest,
  RegistrationRequest,
  InlayHintRefreshRequest,
  ShutdownRequest,
  type ClientCapabilities,
  type Diagnostic,
  type InitializeResult,
  type Position,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type Range,
  type TextEdit,
} from 'vscode-languageserver-protocol/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { LossServer, type LossServerOptions } from '../../server/src/loss-server';

export const CURSOR = '<|>';

/** Remove every `<|>` and return the text and the markers' positions (in order). */
export function parseCursors(textWithCursors: string): { text: string; positions: Position[] } {
  const positions: Position[] = [];
  let text = '';
  let line = 0;
  let character = 0;
  for (let i = 0; i < textWithCursors.length; ) {
    if (textWithCursors.startsWith(CURSOR, i)) {
      positions.push({ line, character });
      i += CURSOR.length;
      continue;
    }
    const ch = textWithCursors[i++];
    text += ch;
    if (ch === '\n') {
      line++;
      character = 0;
    } else character++;
  }
  return { text, positions };
}

/** Apply LSP text edits to a text (for checking edit results). */
export function applyEdits(text: string, edits: TextEdit[]): string {
  const lines = text.split('\n');
  const offset = (p: Position): number => {
    let o = 0;
    for (let i = 0; i < p.line && i < lines.length; i++) o += lines[i].length + 1;
    return Math.min(text.length, o + p.character);
  };
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

export const range = (sl: number, sc: number, el: number, ec: number): Range => ({ start: { line: sl, character: sc }, end: { line: el, character: ec } });

export interface StartOptions extends LossServerOptions {
  capabilities?: ClientCapabilities;
  initializationOptions?: unknown;
  /** Answers to workspace/configuration (section `lossmith`). */
  settings?: Record<string, unknown>;
  rootUri?: string | null;
}

export const FULL_CAPABILITIES: ClientCapabilities = {
  workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true }, inlayHint: { refreshSupport: true } },
  textDocument: {
    hover: { contentFormat: ['markdown', 'plaintext'] },
    completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] } },
    signatureHelp: { signatureInformation: { documentationFormat: ['markdown', 'plaintext'], parameterInformation: { labelOffsetSupport: true } } },
    publishDiagnostics: { relatedInformation: true, versionSupport: true, tagSupport: { valueSet: [1, 2] } },
    rename: { prepareSupport: true },
    inlayHint: {},
    semanticTokens: { requests: { full: true, range: true }, tokenTypes: [], tokenModifiers: [], formats: ['relative'] },
  },
};

export class TestClient {
  readonly published = new Map<string, PublishDiagnosticsParams[]>();
  readonly notifications: { method: string; params: unknown }[] = [];
  readonly logs: string[] = [];
  private waiters: (() => void)[] = [];
  private versions = new Map<string, number>();
  private texts = new Map<string, string>();
  private docCounter = 0;
  settings: Record<string, unknown>;
  configurationRequests = 0;
  inlayRefreshes = 0;

  constructor(
    readonly conn: ProtocolConnection,
    readonly server: LossServer,
    readonly initializeResult: InitializeResult,
    settings: Record<string, unknown>,
  ) {
    this.settings = settings;
  }

  notifyWaiters(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolve when `pred` holds, re-checked on every message from the server. */
  async waitFor<T>(pred: () => T | undefined | false, what: string, timeoutMs = 20000): Promise<T> {
    const start = Date.now();
    for (;;) {
      const v = pred();
      if (v) return v;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Open a document; `<|>` markers are removed and their positions returned. */
  async openDoc(textWithCursor: string, uri = `file:///test/doc${++this.docCounter}.loss`): Promise<{ uri: string; text: string; position: Position; positions: Position[] }> {
    const { text, positions } = parseCursors(textWithCursor);
    this.versions.set(uri, 1);
    this.texts.set(uri, text);
    await this.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'lossmith', version: 1, text } });
    return { uri, text, position: positions[0] ?? { line: 0, character: 0 }, positions };
  }

  /** Replace the whole text; returns the new version and the markers' positions. */
  async change(uri: string, textWithCursor: string): Promise<{ version: number; text: string; position: Position; positions: Position[] }> {
    const { text, positions } = parseCursors(textWithCursor);
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    this.texts.set(uri, text);
    await this.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
    return { version, text, position: positions[0] ?? { line: 0, character: 0 }, positions };
  }

  /** An incremental change. */
  async edit(uri: string, r: Range, newText: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    this.texts.set(uri, applyEdits(this.texts.get(uri) ?? '', [{ range: r, newText }]));
    await this.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ range: r, text: newText }] });
    return version;
  }

  text(uri: string): string {
    return this.texts.get(uri) ?? '';
  }

  version(uri: string): number {
    return this.versions.get(uri) ?? 0;
  }

  async close(uri: string): Promise<void> {
    await this.conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  /** The diagnostics published for exactly this version (waits for them). */
  async diagnostics(uri: string, version = this.version(uri), timeoutMs = 20000): Promise<Diagnostic[]> {
    const p = await this.waitFor(() => {
      const all = this.published.get(uri) ?? [];
      const mine = all.filter((x) => x.version === version);
      return mine.length ? mine[mine.length - 1] : undefined;
    }, `diagnostics of ${uri} v${version}`, timeoutMs);
    // A slow check publishes the fast part first: wait for the analysis to be announced.
    await this.waitFor(() => this.notifications.some((n) => n.method === 'lossmith/analysisChanged' && (n.params as { uri: string; version: number }).uri === uri && (n.params as { version: number }).version === version), 'analysisChanged', timeoutMs);
    const all = (this.published.get(uri) ?? []).filter((x) => x.version === version);
    return (all[all.length - 1] ?? p).diagnostics;
  }

  async dispose(): Promise<void> {
    try {
      await this.conn.sendRequest(ShutdownRequest.type);
    } catch {
      // ignore
    }
    this.conn.dispose();
    this.server.connection.dispose();
  }
}

/** Start a server and a client connected over in-memory streams, and initialise. */
export async function startServer(opts: StartOptions = {}): Promise<TestClient> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const serverConn = createConnection(ProposedFeatures.all, new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  const server = new LossServer(serverConn, { debounceMs: opts.debounceMs ?? 0, examplesDir: opts.examplesDir ?? '/nonexistent/examples' });
  server.listen();
  const conn = createProtocolConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  let client: TestClient | undefined;
  const settings = opts.settings ?? {};
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    const arr = client!.published.get(p.uri) ?? [];
    arr.push(p);
    client!.published.set(p.uri, arr);
    client!.notifyWaiters();
  });
  conn.onUnhandledNotification((msg) => {
    const method = msg.method;
    const params = msg.params as unknown;
    if (method === 'window/logMessage') client?.logs.push(String((params as { message: string }).message));
    client?.notifications.push({ method, params });
    client?.notifyWaiters();
  });
  conn.onRequest(ConfigurationRequest.type, (p) => {
    if (client) client.configurationRequests++;
    return p.items.map((it) => (it.section === 'lossmith' ? (client?.settings ?? settings) : null));
  });
  conn.onRequest(RegistrationRequest.type, () => undefined);
  conn.onRequest(InlayHintRefreshRequest.type, () => {
    if (client) client.inlayRefreshes++;
    return undefined;
  });
  conn.listen();
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: null,
    rootUri: opts.rootUri === undefined ? null : opts.rootUri,
    workspaceFolders: null,
    capabilities: opts.capabilities ?? FULL_CAPABILITIES,
    initializationOptions: opts.initializationOptions,
  });
  client = new TestClient(conn, server, init, settings);
  await conn.sendNotification(InitializedNotification.type, {});
  return client;
}
