/**
 * The derivative preview's HTML, with its Content-Security-Policy. Pure (no vscode import): the
 * extension calls it with the webview's URIs, and the browser tests with a local server's.
 *
 * Policy: nothing by default; scripts only with this load's nonce; styles and fonts only from
 * the bundled media folder (`cspSource`); images from there or data: URIs (uPlot draws on a
 * canvas; KaTeX needs no images). No inline styles, no eval, no remote origins.
 */
import { pageHtml } from '../../../media/src/shared/html';

export interface PreviewHtmlOptions {
  /** `webview.cspSource`: the origin the bundled media is served from. */
  cspSource: string;
  /** A fresh random nonce per load. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
  katexStyleUri: string;
}

/** A nonce of 32 characters from [A-Za-z0-9], given a source of random bytes. */
export function makeNonce(randomBytes: (n: number) => Uint8Array): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(32)].map((b) => chars[b % chars.length]).join('');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** The preview's static markup (trusted: it comes from this package). */
const PREVIEW_BODY = `<main id="app" aria-busy="true">
  <header class="toolbar">
    <h1 id="title">Derivative preview</h1>
    <div class="control loss-picker">
      <label for="loss-select">Loss</label>
      <select id="loss-select"></select>
      <button id="reveal" type="button" title="Show this loss in the editor">Go to loss</button>
    </div>
  </header>
  <p id="status" role="status" aria-live="polite">Waiting for the language server…</p>
  <section id="math" aria-label="Loss and derivatives"></section>
  <section id="controls" aria-label="Preview controls">
    <div class="control" id="classes-control">
      <label for="classes">Classes C</label>
      <input id="classes-range" type="range" min="2" max="100" step="1" value="10" aria-label="Number of classes (slider)">
      <input id="classes" type="number" min="2" max="1000" step="1" value="10">
    </div>
    <div id="params" aria-label="Parameters"></div>
    <button id="reset" type="button" disabled>Reset parameters to the file's values</button>
  </section>
  <section id="chart-section" aria-label="Loss and gradient against the true-class probability">
    <div id="chart" tabindex="0" role="group" aria-roledescription="chart" aria-label="Loss and gradient against pt" aria-describedby="chart-summary chart-help"></div>
    <p id="chart-summary" class="visually-hidden"></p>
    <p id="chart-help" class="hint">Focus the chart and use the arrow keys (Shift for larger steps, Home, End) to read values.</p>
    <p id="chart-readout" aria-live="polite"></p>
  </section>
</main>`;

export function previewHtml(o: PreviewHtmlOptions): string {
  return pageHtml({
    csp: contentSecurityPolicy(o.cspSource, o.nonce),
    nonce: o.nonce,
    title: 'Derivative Preview',
    scriptUri: o.scriptUri,
    styleUris: [o.katexStyleUri, o.styleUri],
    body: PREVIEW_BODY,
  });
}
