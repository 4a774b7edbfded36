/**
 * A symbolic kernel: the rule table's partial-derivative functions, run at
 * build time on syntax instead of numbers. `rules.dx(symbolic, x, y, z)`
 * returns the *code* of the partial (an AST), so the plugin can inline the
 * very same rule the runtime uses — one definition, no second copy of any
 * derivative. Numbers fold (`2 * 1` is `2`), and a rule that needs to look
 * at a value (`pow` checking its exponent for 0) can only be inlined when
 * that value is a literal; otherwise it throws `NotInlinable` and the plugin
 * leaves that operation to the runtime.
 */
import type * as BabelTypes from '@babel/types';
import type { Kernel, Num } from '../runtime/core-types.js';

type T = typeof import('@babel/core').types;
type Expr = BabelTypes.Expression;

/** A symbolic value: a known number, or an expression computing one. */
export type Sym = number | Expr;

export class NotInlinable extends Error {}

export function symbolicKernel(t: T): Kernel & { lit(a: Sym): Expr } {
  const isNum = (a: unknown): a is number => typeof a === 'number';
  const lit = (a: Sym): Expr => (isNum(a) ? (t.valueToNode(a) as Expr) : t.cloneNode(a));
  const call = (fn: string, a: Sym, f: (x: number) => number): Sym =>
    isNum(a) ? f(a) : t.callExpression(t.memberExpression(t.identifier('Math'), t.identifier(fn)), [lit(a)]);
  const bin = (op: '+' | '-' | '*' | '/' | '**', a: Sym, b: Sym): Expr => t.binaryExpression(op, lit(a), lit(b));
  const neg = (a: Sym): Sym => (isNum(a) ? -a : t.unaryExpression('-', lit(a)));
  const k = {
    lit,
    add: (a: Sym, b: Sym): Sym => (isNum(a) && isNum(b) ? a + b : a === 0 ? b : b === 0 ? a : bin('+', a, b)),
    sub: (a: Sym, b: Sym): Sym => (isNum(a) && isNum(b) ? a - b : b === 0 ? a : a === 0 ? neg(b) : bin('-', a, b)),
    mul: (a: Sym, b: Sym): Sym =>
      isNum(a) && isNum(b)
        ? a * b
        : a === 0 || b === 0
          ? 0
          : a === 1
            ? b
            : b === 1
              ? a
              : a === -1
                ? neg(b)
                : b === -1
                  ? neg(a)
                  : bin('*', a, b),
    div: (a: Sym, b: Sym): Sym => (isNum(a) && isNum(b) ? a / b : b === 1 ? a : bin('/', a, b)),
    pow: (a: Sym, b: Sym): Sym => (isNum(a) && isNum(b) ? a ** b : b === 1 ? a : b === 0 ? 1 : bin('**', a, b)),
    neg,
    sqrt: (a: Sym) => call('sqrt', a, Math.sqrt),
    log: (a: Sym) => call('log', a, Math.log),
    sin: (a: Sym) => call('sin', a, Math.sin),
    cos: (a: Sym) => call('cos', a, Math.cos),
    sinh: (a: Sym) => call('sinh', a, Math.sinh),
    cosh: (a: Sym) => call('cosh', a, Math.cosh),
    sign: (a: Sym) => call('sign', a, Math.sign),
    trunc: (a: Sym) => call('trunc', a, Math.trunc),
    value: (a: Sym): number => {
      if (isNum(a)) return a;
      throw new NotInlinable();
    },
  };
  // The kernel's types speak of runtime numbers; at build time the same functions carry syntax.
  return k as unknown as Kernel & { lit(a: Sym): Expr };
}

/** Runs a rule's partial function symbolically; undefined when it cannot be inlined. */
export function symbolicPartial(fn: () => Num): Sym | undefined {
  try {
    return fn() as unknown as Sym;
  } catch (e) {
    if (e instanceof NotInlinable) return undefined;
    throw e;
  }
}
