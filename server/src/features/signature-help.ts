/** Signature help for builtin calls: every overload, the active one by argument count, the active parameter by commas. */
import { MarkupKind, ParameterInformation, SignatureHelp, SignatureInformation, type Position } from 'vscode-languageserver';
import { signature } from '../../../grammar/src/index';
import type { Analysis } from '../documents';
import { toOffset } from '../convert';
import { builtinDoc, plain, sortedOverloads } from './docs';
import { enclosingCall, inComment } from './tokens';

export function signatureHelp(a: Analysis, pos: Position, markdown: boolean): SignatureHelp | null {
  const offset = toOffset(a.index, pos);
  if (inComment(a, offset)) return null;
  const call = enclosingCall(a, offset);
  if (!call) return null;
  const all = sortedOverloads(call.callee);
  if (all.length === 0) return null;
  const signatures: SignatureInformation[] = all.map((b) => {
    const label = signature(b);
    const open = label.indexOf('(') + 1;
    const params: ParameterInformation[] = [];
    let at = open;
    for (const arg of b.args) {
      const text = arg.kind === 'any' ? arg.name : `${arg.name}: ${arg.kind}`;
      const start = label.indexOf(text, at);
      params.push({ label: [start, start + text.length], documentation: argDoc(arg.kind) });
      at = start + text.length;
    }
    const md = builtinDoc(b);
    return { label, documentation: markdown ? { kind: MarkupKind.Markdown, value: md } : plain(md), parameters: params };
  });
  // The overload that takes as many arguments as written (or the first that can take more).
  const want = Math.max(call.argCount, call.activeParameter + 1);
  let active = all.findIndex((b) => b.args.length === want);
  if (active < 0) active = all.findIndex((b) => b.args.length >= want);
  if (active < 0) active = 0;
  return { signatures, activeSignature: active, activeParameter: call.activeParameter };
}

function argDoc(kind: string): string {
  switch (kind) {
    case 'vector':
      return 'a vector over classes';
    case 'const':
      return 'a constant: numbers and params only';
    default:
      return 'a scalar or a vector';
  }
}
