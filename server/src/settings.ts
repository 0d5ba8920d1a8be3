/**
 * Settings (section `lossmith`): read through workspace/configuration when the client
 * supports it, else from initializationOptions and workspace/didChangeConfiguration.
 */
import type { Connection } from 'vscode-languageserver';
import { DEFAULT_SETTINGS, type ServerSettings } from '../../protocol/lsp';

/** Accepts `{ inlayHints: { types } }`, `{ lossmith: {...} }` and dotted keys `{ 'lossmith.inlayHints.types': true }`. */
export function normaliseSettings(raw: unknown, base: ServerSettings = DEFAULT_SETTINGS): ServerSettings {
  const out: ServerSettings = { inlayHints: { ...base.inlayHints }, hover: { ...base.hover } };
  if (!raw || typeof raw !== 'object') return out;
  const obj = raw as Record<string, unknown>;
  const nested = (obj.lossmith && typeof obj.lossmith === 'object' ? obj.lossmith : obj) as Record<string, unknown>;
  const get = (path: string[]): unknown => {
    const dotted = obj[['lossmith', ...path].join('.')] ?? nested[path.join('.')];
    if (dotted !== undefined) return dotted;
    let cur: unknown = nested;
    for (const k of path) {
      if (!cur || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string, unknown>)[k];
    }
    return cur;
  };
  const types = get(['inlayHints', 'types']);
  if (typeof types === 'boolean') out.inlayHints.types = types;
  const classes = get(['hover', 'classes']);
  if (typeof classes === 'number' && Number.isFinite(classes) && classes >= 2) out.hover.classes = Math.min(10000, Math.floor(classes));
  return out;
}

export class Settings {
  private readonly perUri = new Map<string, ServerSettings>();
  private global: ServerSettings;
  private pending = new Map<string, Promise<ServerSettings>>();

  constructor(
    private readonly connection: Connection,
    private readonly pullSupported: boolean,
    initializationOptions: unknown,
  ) {
    this.global = normaliseSettings(initializationOptions);
  }

  /** The settings known now (no round trip): for hover and other synchronous paths. */
  cached(uri: string): ServerSettings {
    return this.perUri.get(uri) ?? this.global;
  }

  /** The settings for a document, asking the client once per document until they change. */
  async get(uri: string): Promise<ServerSettings> {
    if (!this.pullSupported) return this.global;
    const known = this.perUri.get(uri);
    if (known) return known;
    let p = this.pending.get(uri);
    if (!p) {
      p = this.fetch(uri);
      this.pending.set(uri, p);
    }
    return p;
  }

  private async fetch(uri: string): Promise<ServerSettings> {
    try {
      const raw = await this.connection.workspace.getConfiguration({ scopeUri: uri, section: 'lossmith' });
      const s = normaliseSettings(raw === null || raw === undefined ? undefined : { lossmith: raw }, this.global);
      this.perUri.set(uri, s);
      return s;
    } catch {
      return this.global;
    } finally {
      this.pending.delete(uri);
    }
  }

  /** workspace/didChangeConfiguration: drop what we asked for; take pushed settings when given. */
  changed(settings: unknown): void {
    this.perUri.clear();
    this.pending.clear();
    if (settings && typeof settings === 'object' && Object.keys(settings as object).length > 0) this.global = normaliseSettings(settings, this.global);
  }

  forget(uri: string): void {
    this.perUri.delete(uri);
  }
}
