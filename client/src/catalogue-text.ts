/** Text handling of catalogue files (pure, tested without VS Code). */

export interface CatalogueItem {
  /** `focal` for focal.loss. */
  name: string;
  file: string;
  /** The first line of the header comment. */
  description: string;
  /** The whole file. */
  text: string;
  /** The file without its leading comment block, prefixed by one comment line naming it. */
  body: string;
}

export function describeExample(file: string, text: string): CatalogueItem {
  const name = file.replace(/\.loss$/, '');
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  const header: string[] = [];
  while (i < lines.length && /^\s*(#.*)?$/.test(lines[i])) {
    const m = /^\s*#\s?(.*)$/.exec(lines[i]);
    if (m) header.push(m[1].trim());
    i++;
  }
  const description = header.find((h) => h.length > 0) ?? name;
  const rest = lines.slice(i).join('\n').replace(/\s+$/, '');
  const body = `# ${description}${rest ? '\n' + rest : ''}`;
  return { name, file, description, text, body };
}
