/**
 * The HTML shell of the run panels (evaluation, evolution). Pure: the extension calls it with the
 * webview's URIs and the policy from `contentSecurityPolicy` (client/src/panels/preview-html.ts),
 * the browser tests with a local server's. Scripts only with the load's nonce; styles from the
 * bundled media folder; no inline styles or scripts.
 */
export interface PageHtmlOptions {
  /** The Content-Security-Policy (nonce-based). */
  csp: string;
  nonce: string;
  title: string;
  scriptUri: string;
  styleUris: string[];
  /** Static body markup (trusted: it comes from this package, never from a run). */
  body: string;
}

export const escapeAttr = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function pageHtml(o: PageHtmlOptions): string {
  if (!/^[A-Za-z0-9]{16,}$/.test(o.nonce)) throw new Error('nonce must be at least 16 alphanumeric characters');
  const a = escapeAttr;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${a(o.csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${o.styleUris.map((u) => `<link rel="stylesheet" href="${a(u)}">`).join('\n')}
<title>${a(o.title)}</title>
</head>
<body>
${o.body}
<script nonce="${a(o.nonce)}" src="${a(o.scriptUri)}"></script>
</body>
</html>
`;
}
