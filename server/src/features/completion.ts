/**
 * Completion by context: at the start of a statement, keywords and catalogue snippets; in an
 * expression, names in scope (params and lets defined before the statement, inputs) and
 * builtins; nothing in comments, after `param`/`let`/`loss`, or where a number is expected.
 */
import {
  CompletionItem,
  CompletionItemKind,
  CompletionList,
  InsertTextFormat,
  MarkupKind,
  type Position,
} from 'vscode-languageserver';
import { CALLABLE_NAMES, INPUT_NAMES, signature, printStatement, TASK_NAMES, TASKS, type Statement } from '../../../grammar/src/index';
import type { Analysis } from '../documents';
import { toOffset } from '../convert';
import { builtinMarkdown, KEYWORD_DOCS, plain, sortedOverloads } from './docs';
import type { Catalogue } from './snippets';
import { lastTokenBefore, STATEMENT_KEYWORDS, tokenEnd, tokenName, inComment } from './tokens';

export type CompletionContextKind = 'statement' | 'expression' | 'task' | 'none';

export interface CompletionOptions {
  snippets: boolean;
  markdown: boolean;
  catalogue: Catalogue;
}

const IDENT = /[A-Za-z0-9_]/;

/** What may be written at the offset, and the statement keyword token the cursor is in (if any). */
export function completionContext(a: Analysis, offset: number): { kind: CompletionContextKind; statementStart: number } {
  const text = a.text;
  let wordStart = offset;
  while (wordStart > 0 && IDENT.test(text[wordStart - 1])) wordStart--;
  if (inComment(a, offset)) return { kind: 'none', statementStart: -1 };
  if (wordStart < offset && /[0-9]/.test(text[wordStart])) return { kind: 'none', statementStart: -1 }; // a number
  const toks = a.check.parse.tokens;
  const i = lastTokenBefore(toks, wordStart);
  // The statement the cursor is in starts at the last statement keyword before it.
  let k = i;
  while (k >= 0 && !STATEMENT_KEYWORDS.has(tokenName(toks[k]))) k--;
  const statementStart = k >= 0 ? toks[k].startOffset : -1;
  if (i < 0) return { kind: 'statement', statementStart: -1 };
  const prev = toks[i];
  const prevName = tokenName(prev);
  const lineBreakSince = /[\r\n]/.test(text.slice(tokenEnd(prev), wordStart));
  const stmtKind = k >= 0 ? tokenName(toks[k]) : undefined;
  switch (prevName) {
    case 'Task':
      return { kind: lineBreakSince ? 'statement' : 'task', statementStart };
    case 'Param':
    case 'Let':
    case 'Loss':
      return { kind: 'none', statementStart };
    case 'Equals':
      return { kind: stmtKind === 'Param' || stmtKind === undefined ? 'none' : 'expression', statementStart };
    case 'Plus':
    case 'Minus':
    case 'Star':
    case 'Slash':
    case 'Caret':
    case 'LParen':
    case 'Comma':
      if (stmtKind === 'Param') return { kind: 'none', statementStart };
      return { kind: stmtKind === undefined ? 'none' : 'expression', statementStart };
    case 'In':
    case 'LBracket':
      return { kind: 'none', statementStart };
    case 'Identifier': {
      // `let name <|>`: the '=' is missing, nothing to offer on this line.
      const before = toks[i - 1];
      if (before && STATEMENT_KEYWORDS.has(tokenName(before))) return { kind: lineBreakSince ? 'statement' : 'none', statementStart };
      return { kind: lineBreakSince ? 'statement' : 'none', statementStart };
    }
    default:
      // After a complete operand (number, ')' or ']'): a new statement on a new line.
      return { kind: lineBreakSince ? 'statement' : 'none', statementStart };
  }
}

/** Params and lets usable in the statement that starts at `statementStart` (first definition wins). */
export function namesInScope(a: Analysis, statementStart: number): Statement[] {
  const seen = new Set<string>(INPUT_NAMES);
  const out: Statement[] = [];
  for (const s of a.program.statements) {
    if (statementStart >= 0 && s.range.start >= statementStart) break;
    if (statementStart < 0) break;
    if (s.kind === 'Loss' || !s.name || seen.has(s.name)) continue;
    seen.add(s.name);
    out.push(s);
  }
  return out;
}

export function completion(a: Analysis, pos: Position, opts: CompletionOptions): CompletionList {
  const offset = toOffset(a.index, pos);
  const ctx = completionContext(a, offset);
  const items: CompletionItem[] = [];
  const doc = (md: string) => (opts.markdown ? { kind: MarkupKind.Markdown, value: md } : { kind: MarkupKind.PlainText, value: plain(md) });
  if (ctx.kind === 'task') {
    for (const t of TASK_NAMES) items.push({ label: t, kind: CompletionItemKind.EnumMember, documentation: doc(TASKS[t].doc), sortText: `0_${t}` });
    return { isIncomplete: false, items };
  }
  if (ctx.kind === 'statement') {
    const kw: [string, string][] = [
      ['param', 'param ${1:name} = ${2:1} in [${3:0}, ${4:10}]$0'],
      ['let', 'let ${1:name} = $0'],
      ['loss', 'loss ${1:name} = $0'],
      // Only where a task line may stand: before the first statement, once.
      ...(a.program.tasks?.length || (a.program.statements.length > 0 && a.program.statements[0].range.start < offset) ? [] : [['task', 'task ${1|' + TASK_NAMES.join(',') + '|}$0'] as [string, string]]),
    ];
    for (const [label, snippet] of kw) {
      items.push({
        label,
        kind: CompletionItemKind.Keyword,
        documentation: doc(KEYWORD_DOCS[label]),
        sortText: `0_${label}`,
        ...(opts.snippets ? { insertText: snippet, insertTextFormat: InsertTextFormat.Snippet } : { insertText: label + ' ' }),
      });
    }
    // The catalogue of the file's task (a GAN file is offered the GAN losses, without their task line).
    for (const e of opts.catalogue.entries().filter((x) => (x.task ?? 'classification') === a.model.task)) {
      items.push({
        label: e.name,
        kind: CompletionItemKind.Snippet,
        detail: e.description,
        documentation: doc('```lossmith\n' + e.text.replace(/\s+$/, '') + '\n```'),
        sortText: `1_${e.name}`,
        ...(opts.snippets ? { insertText: e.snippet, insertTextFormat: InsertTextFormat.Snippet } : { insertText: e.text }),
      });
    }
  } else if (ctx.kind === 'expression') {
    for (const s of namesInScope(a, ctx.statementStart)) {
      const type = a.model.definitions.find((d) => d.stmt === s)?.type;
      items.push({
        label: s.name,
        kind: s.kind === 'Param' ? CompletionItemKind.Constant : CompletionItemKind.Variable,
        detail: `${s.kind === 'Param' ? 'param' : 'let'}: ${type ?? 'unknown'}`,
        documentation: doc('```lossmith\n' + printStatement(s) + '\n```'),
        sortText: `0_${s.name}`,
      });
    }
    for (const i of TASKS[a.model.task].inputs) {
      items.push({
        label: i.name,
        kind: CompletionItemKind.Variable,
        detail: `input: ${i.type}`,
        documentation: doc(i.doc),
        sortText: `1_${i.name}`,
      });
    }
    for (const name of CALLABLE_NAMES) {
      const all = sortedOverloads(name);
      items.push({
        label: name,
        kind: CompletionItemKind.Function,
        detail: all.map((b) => signature(b)).join(' | '),
        documentation: doc(builtinMarkdown(name) ?? ''),
        sortText: `2_${name}`,
        ...(opts.snippets
          ? { insertText: `${name}($0)`, insertTextFormat: InsertTextFormat.Snippet, command: { title: 'Signature help', command: 'editor.action.triggerParameterHints' } }
          : { insertText: name }),
      });
    }
  }
  return { isIncomplete: false, items };
}
