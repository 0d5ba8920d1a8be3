/**
 * The AST of a `.loss` file. Every node carries its source range as UTF-16 offsets into the
 * text (`end` exclusive); `text.ts` converts offsets to line/column.
 */
export interface Range {
  start: number;
  end: number;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '^';

export type Expr =
  | { kind: 'Number'; value: number; text: string; range: Range }
  | { kind: 'Name'; name: string; range: Range }
  | { kind: 'Unary'; op: '-'; operand: Expr; range: Range }
  | { kind: 'Binary'; op: BinaryOp; left: Expr; right: Expr; range: Range }
  | { kind: 'Call'; callee: string; calleeRange: Range; args: Expr[]; range: Range }
  /** Stands where the parser recovered from a syntax error; never reaches the evaluator. */
  | { kind: 'Missing'; range: Range };

export type ExprKind = Expr['kind'];

export interface ParamStmt {
  kind: 'Param';
  name: string;
  nameRange: Range;
  value: number;
  valueRange: Range;
  /** `in [lo, hi]`, when given. */
  bounds?: { lo: number; hi: number; range: Range };
  range: Range;
}

export interface LetStmt {
  kind: 'Let';
  name: string;
  nameRange: Range;
  expr: Expr;
  range: Range;
}

export interface LossStmt {
  kind: 'Loss';
  name: string;
  nameRange: Range;
  expr: Expr;
  range: Range;
}

export type Statement = ParamStmt | LetStmt | LossStmt;

export interface Comment {
  text: string; // including the leading '#'
  range: Range;
}

/** `task gan`: what the file's losses are for (see TASKS in builtins.ts); none means classification. */
export interface TaskDecl {
  name: string;
  nameRange: Range;
  range: Range;
}

export interface Program {
  statements: Statement[];
  comments: Comment[];
  /** Every `task` line, in order (the checker wants one, before the first statement). */
  tasks?: TaskDecl[];
}
