/**
 * The adjoint compiler's intermediate form: the statements and expressions
 * of one function that it understands, after lowering (analysis.ts). Every
 * local has one `Var` whatever block declared it (names made unique), so the
 * forward and reverse functions can declare them all at the top.
 */

/** What a variable holds: a number, an array of numbers, an array of such arrays, or anything else (passive data). */
export type Kind = 'num' | 'arr' | 'arr2' | 'data';

export interface Var {
  /** The name in the generated code (the user's, made unique in the function). */
  readonly name: string;
  kind: Kind;
  /** Parameter index, or -1 for a local. */
  readonly param: number;
  /** A local array this function created (`[]`, `new Float64Array(n)`, ...): it may be written. */
  owned: boolean;
  /** May hold an array this function writes (created here, or an alias of one): its elements change. */
  changes?: boolean;
  /** Carries a derivative in the variant being compiled. */
  active: boolean;
  /** Assigned after its declaration (or declared in a loop). */
  reassigned: boolean;
}

export type Expr =
  | { k: 'num'; v: number }
  | { k: 'var'; v: Var }
  /** A module-level or global name, or other passive code printed as is. */
  | { k: 'ext'; code: string; outer?: 'constant' | 'reassigned' }
  | { k: 'idx'; obj: Expr; index: Expr }
  | { k: 'prop'; obj: Expr; name: string }
  | { k: 'bin'; op: string; l: Expr; r: Expr }
  | { k: 'un'; op: string; e: Expr }
  | { k: 'math'; name: string; args: Expr[] }
  | { k: 'logic'; op: string; l: Expr; r: Expr }
  | { k: 'cond'; test: Expr; a: Expr; b: Expr }
  /** A call to a function the adjoint tier compiles (by its binding's name). */
  | { k: 'call'; fn: string; args: Expr[] }
  /** Any other call, printed as is: only as a whole statement or right-hand side, never re-evaluated. `args`: what it is given (receiver included), checked for activity. */
  | { k: 'opaque'; code: string; recv?: Expr; head: string; args: Expr[] }
  | { k: 'newarr'; how: 'empty' | 'typed' | 'fill'; n?: Expr; fill?: Expr; typed?: string }
  | { k: 'arrlit'; elems: Expr[] };

export type Stmt = (
  /** `v = e`, `v += e`, `v -= e` (declarations too); e may create an array. */
  | { k: 'set'; v: Var; op: '=' | '+=' | '-='; e: Expr; decl: boolean }
  /** `const { a, b: c } = e` of passive data. */
  | { k: 'destr'; vars: [Var, string][]; e: Expr }
  /** `a[i] = e`, `a[i] += e`, `a[i] -= e` on a local array. */
  | { k: 'elem'; v: Var; index: Expr; op: '=' | '+=' | '-='; e: Expr }
  /** `a.push(e)` on a local array. */
  | { k: 'push'; v: Var; e: Expr }
  /** An expression statement kept for its effect (a passive call). */
  | { k: 'effect'; code: string; e: Expr }
  | { k: 'if'; test: Expr; then: Stmt[]; else: Stmt[] }
  /** A loop: `index` set when it counts one variable by ±1 that the body leaves alone (rebuilt in the reverse sweep). */
  | { k: 'loop'; init: Stmt[]; test: Expr | null; update: Stmt[]; body: Stmt[]; index?: { v: Var; start: Expr; step: 1 | -1 } }
  | { k: 'return'; e: Expr }
) & { line: number };

/** Why a function stays on the tape, with the line of the construct. */
export class Fallback extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {
    super(`${reason} (line ${line})`);
  }
}

/** Children of an expression, for walks. */
export function children(e: Expr): Expr[] {
  switch (e.k) {
    case 'idx': return [e.obj, e.index];
    case 'prop': return [e.obj];
    case 'bin': case 'logic': return [e.l, e.r];
    case 'un': return [e.e];
    case 'math': case 'call': return e.args;
    case 'opaque': return e.recv ? [e.recv, ...e.args] : e.args;
    case 'cond': return [e.test, e.a, e.b];
    case 'newarr': return [e.n, e.fill].filter((x): x is Expr => x !== undefined);
    case 'arrlit': return e.elems;
    default: return [];
  }
}

export function varsIn(e: Expr, out: Set<Var> = new Set()): Set<Var> {
  if (e.k === 'var') out.add(e.v);
  for (const c of children(e)) varsIn(c, out);
  return out;
}

export const ARITH = new Set(['+', '-', '*', '/', '%', '**']);
/** Math functions whose result is a plain number (derivative 0). */
export const PIECEWISE = new Set(['floor', 'ceil', 'round', 'trunc', 'sign']);

/** Does `e` carry a derivative (in the variant whose activity the Vars hold)? */
export function isActive(e: Expr): boolean {
  switch (e.k) {
    case 'var': return e.v.active;
    case 'idx': return isActive(e.obj);
    case 'bin': return ARITH.has(e.op) && (isActive(e.l) || isActive(e.r));
    case 'un': return e.op === '-' && isActive(e.e);
    case 'math': return !PIECEWISE.has(e.name) && e.args.some(isActive);
    case 'call': return e.args.some(isActive);
    case 'cond': return isActive(e.a) || isActive(e.b);
    case 'arrlit': return e.elems.some(isActive);
    default: return false;
  }
}
