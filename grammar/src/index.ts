/** Public API of the loss DSL core. Nothing here knows editors, LSP or tensors. */
export * from './ast';
export * from './text';
export { parse, type ParseResult, type SyntaxProblem } from './parser';
export * from './builtins';
export { analyze, exprType, nameTypes, walk, freeNames, suggest, editDistance, children, builtinOf, builtinIdOf, type Model, type SymbolInfo, type Reference } from './semantics';
export * from './evaluate';
export { differentiate, type Wrt } from './derivative';
export { simplify, exprKey, exprSize } from './simplify';
export { STABLE_REWRITES, stabilize, stableContext, stableForm, stableRewrite, stableRewriteAt, type AppliedRewrite, type StableContext, type StableResult, type StableRewrite, type StabilizeOptions } from './stable';
export { printExpr, printParenthesized, printStatement, formatProgram } from './printer';
export { toLatex, latexName } from './latex';
export { curve, imageIntegrity, integrityCheck, judgeCurve, viewPoint, clearIntegrityCache, integrityCacheStats, type Curve, type IntegrityResult } from './view1d';
export { checkText, integrityDiagnostics, INTEGRITY_CODES, transitiveNames, ISSUE_CODES, type Diagnostic, type IssueCode, type Severity, type CheckResult } from './checker';
export { capDiagnostics, MAX_DIAGNOSTICS, MAX_NESTING, MAX_INLINED_NESTING, MAX_SIMPLIFY_WORK } from './limits';
export * as build from './build';
export { lossReport, derivativeText, type LossReport, type DerivativeText } from './report';
export * from './export/index';
