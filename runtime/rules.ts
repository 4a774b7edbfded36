/**
 * The derivative rule table: every differentiable operation, defined once.
 *
 * Contract
 * - `f` computes the value on plain numbers. It is what the fast path calls
 *   when no operand carries a derivative.
 * - `d` (unary) or `dx`/`dy` (binary) give the *local partial derivative* of
 *   the result `z` with respect to one argument, as a function of the
 *   arguments and of `z` itself. They are written with the generic kernel `$`
 *   (never with `Math.*` or JS operators on the arguments), because the
 *   arguments may themselves carry derivatives of an outer level when
 *   derivatives are nested; written this way one rule serves plain numbers,
 *   forward mode, reverse mode and every nesting of them.
 * - A rule never touches tangents, adjoints or tapes. Forward mode computes
 *   tangent(z) = Σ partial_i × tangent(x_i); reverse mode computes
 *   adjoint(x_i) += partial_i × adjoint(z). Both read this table only.
 * - A partial is only evaluated for an argument that carries a derivative at
 *   the level being differentiated, so e.g. `x ** 2` never evaluates log(x).
 *
 * Piecewise-constant functions (floor, ceil, round, trunc, sign, bitwise
 * operators) are not here: they return a plain number (derivative 0), see
 * `core.ts`.
 */
import type { Kernel, Num } from './core-types.js';

export interface UnaryRule {
  readonly name: string;
  readonly f: (x: number) => number;
  readonly d: ($: Kernel, x: Num, z: Num) => Num;
}

export interface BinaryRule {
  readonly name: string;
  readonly f: (x: number, y: number) => number;
  readonly dx: ($: Kernel, x: Num, y: Num, z: Num) => Num;
  readonly dy: ($: Kernel, x: Num, y: Num, z: Num) => Num;
}

/** |u| is infinite while v is finite. */
function infiniteAgainstFinite(u: number, v: number): boolean {
  return (u === Infinity || u === -Infinity) && Number.isFinite(v);
}

const LN2 = Math.LN2;
const LN10 = Math.LN10;

// ---------------------------------------------------------------------------
// Unary rules: one line each, partial dz/dx.
// ---------------------------------------------------------------------------
export const unaryRules = {
  neg:   { name: 'neg',   f: (x) => -x,         d: () => -1 },
  sqrt:  { name: 'sqrt',  f: Math.sqrt,         d: ($, _x, z) => $.div(0.5, z) },
  cbrt:  { name: 'cbrt',  f: Math.cbrt,         d: ($, _x, z) => $.div(1, $.mul(3, $.mul(z, z))) },
  exp:   { name: 'exp',   f: Math.exp,          d: ($, _x, z) => z },
  expm1: { name: 'expm1', f: Math.expm1,        d: ($, _x, z) => $.add(z, 1) },
  log:   { name: 'log',   f: Math.log,          d: ($, x) => $.div(1, x) },
  log1p: { name: 'log1p', f: Math.log1p,        d: ($, x) => $.div(1, $.add(1, x)) },
  log2:  { name: 'log2',  f: Math.log2,         d: ($, x) => $.div(1, $.mul(x, LN2)) },
  log10: { name: 'log10', f: Math.log10,        d: ($, x) => $.div(1, $.mul(x, LN10)) },
  sin:   { name: 'sin',   f: Math.sin,          d: ($, x) => $.cos(x) },
  cos:   { name: 'cos',   f: Math.cos,          d: ($, x) => $.neg($.sin(x)) },
  tan:   { name: 'tan',   f: Math.tan,          d: ($, _x, z) => $.add(1, $.mul(z, z)) },
  asin:  { name: 'asin',  f: Math.asin,         d: ($, x) => $.div(1, $.sqrt($.sub(1, $.mul(x, x)))) },
  acos:  { name: 'acos',  f: Math.acos,         d: ($, x) => $.div(-1, $.sqrt($.sub(1, $.mul(x, x)))) },
  atan:  { name: 'atan',  f: Math.atan,         d: ($, x) => $.div(1, $.add(1, $.mul(x, x))) },
  sinh:  { name: 'sinh',  f: Math.sinh,         d: ($, x) => $.cosh(x) },
  cosh:  { name: 'cosh',  f: Math.cosh,         d: ($, x) => $.sinh(x) },
  tanh:  { name: 'tanh',  f: Math.tanh,         d: ($, _x, z) => $.sub(1, $.mul(z, z)) },
  asinh: { name: 'asinh', f: Math.asinh,        d: ($, x) => $.div(1, $.sqrt($.add($.mul(x, x), 1))) },
  acosh: { name: 'acosh', f: Math.acosh,        d: ($, x) => $.div(1, $.sqrt($.sub($.mul(x, x), 1))) },
  atanh: { name: 'atanh', f: Math.atanh,        d: ($, x) => $.div(1, $.sub(1, $.mul(x, x))) },
  // fround rounds to the nearest float32: treated as the identity for
  // derivatives (like a dtype cast in JAX or PyTorch).
  fround: { name: 'fround', f: Math.fround,     d: () => 1 },

  // -------------------------------------------------------------------------
  // Special case: abs is not differentiable at 0. We use the subgradient 0
  // there (sign(0) = 0), as JAX and PyTorch do.
  // -------------------------------------------------------------------------
  abs:   { name: 'abs',   f: Math.abs,          d: ($, x) => $.sign(x) },
} satisfies Record<string, UnaryRule>;

// ---------------------------------------------------------------------------
// Binary rules: partials dz/dx and dz/dy.
// ---------------------------------------------------------------------------
export const binaryRules = {
  add:   { name: 'add', f: (x, y) => x + y, dx: () => 1,           dy: () => 1 },
  sub:   { name: 'sub', f: (x, y) => x - y, dx: () => 1,           dy: () => -1 },
  mul:   { name: 'mul', f: (x, y) => x * y, dx: ($, _x, y) => y,   dy: ($, x) => x },
  div:   { name: 'div', f: (x, y) => x / y, dx: ($, _x, y) => $.div(1, y), dy: ($, _x, y, z) => $.neg($.div(z, y)) },
  // x % y = x - trunc(x / y) * y, where trunc(x / y) is piecewise constant.
  mod:   { name: 'mod', f: (x, y) => x % y, dx: () => 1,           dy: ($, x, y) => $.neg($.trunc($.div(x, y))) },
  // -------------------------------------------------------------------------
  // Special case: pow. d/dx x^y = y x^(y-1), taken as 0 when x = y = 0
  // (0 * 0^-1 would be NaN). The guard looks at both values, so that at
  // y = 0 alone the formula stays and its own derivative in y (x^-1) is
  // right for nested derivatives; a constant exponent 0 (a plain number, so
  // at no level a derivative) gives 0 outright, not 0 * x^-1, which is NaN
  // where x^-1 overflows (a subnormal x: the second derivative of x ** 1).
  // d/dy x^y = x^y log x is taken as 0 at x = 0
  // (its limit as x -> 0+ for y > 0) and when x^y is 0 (an infinite base with
  // a negative exponent), rather than 0 * ±Infinity = NaN. For x < 0 it is
  // NaN: x^y has no real derivative in y there. Only evaluated when the
  // exponent carries a derivative, so `x ** 3` at x < 0 is fine.
  // -------------------------------------------------------------------------
  pow:   { name: 'pow', f: Math.pow,
           dx: ($, x, y) => (y === 0 || ($.value(y) === 0 && $.value(x) === 0) ? 0 : $.mul(y, $.pow(x, $.sub(y, 1)))),
           dy: ($, x, _y, z) => ($.value(x) === 0 || $.value(z) === 0 ? 0 : $.mul(z, $.log(x))) },

  // -------------------------------------------------------------------------
  // Special case: atan2(a, b) (a is the first argument, y in Math.atan2) when
  // a² + b² overflows. Its partials, b / (a² + b²)
  // and -a / (a² + b²), tend to 0 when one argument is infinite and the other
  // finite; computed directly they would be ∞ / ∞ = NaN.
  // -------------------------------------------------------------------------
  atan2: { name: 'atan2', f: Math.atan2,
           dx: ($, a, b) => (infiniteAgainstFinite($.value(b), $.value(a)) ? 0 : $.div(b, $.add($.mul(a, a), $.mul(b, b)))),
           dy: ($, a, b) => (infiniteAgainstFinite($.value(a), $.value(b)) ? 0 : $.neg($.div(a, $.add($.mul(a, a), $.mul(b, b))))) },
} satisfies Record<string, BinaryRule>;

// ---------------------------------------------------------------------------
// Variadic functions (hypot, max, min): their partials depend on all the
// arguments at once, so each gives the whole partial vector.
// - hypot: d/dx_i = x_i / z; at the origin (z = 0) we use the subgradient 0.
//   With one argument it is abs: sign(x).
// - max/min: the derivative goes to the argument(s) equal to the result; ties
//   split it evenly (two tied arguments get 1/2 each), as JAX does. A NaN
//   argument makes the result NaN and gets partial 1.
// ---------------------------------------------------------------------------
export interface VariadicRule {
  readonly name: string;
  readonly f: (...xs: number[]) => number;
  readonly d: ($: Kernel, xs: readonly Num[], z: Num) => Num[];
}

function extremumPartials($: Kernel, xs: readonly Num[], z: Num): Num[] {
  const zv = $.value(z);
  const out: Num[] = new Array<Num>(xs.length).fill(0);
  if (zv !== zv) {
    // NaN result: blame the first NaN argument.
    const k = xs.findIndex((x) => $.value(x) !== $.value(x));
    if (k >= 0) out[k] = 1;
    return out;
  }
  let ties = 0;
  for (const x of xs) if ($.value(x) === zv) ties++;
  for (let i = 0; i < xs.length; i++) if ($.value(xs[i]!) === zv) out[i] = 1 / ties;
  return out;
}

export const variadicRules = {
  // One argument: hypot(x) is |x|, and x / z is sign(x) exactly. Written as
  // sign its own derivative is 0 (as for abs) rather than 1/z - x²/z³, which
  // overflows for a subnormal x (1/5e-309 = Infinity) and gives NaN.
  hypot: { name: 'hypot', f: Math.hypot,
           d: ($, xs, z) => (xs.length === 1 ? [$.sign(xs[0]!)] : xs.map((x) => ($.value(z) === 0 ? 0 : $.div(x, z)))) },
  max:   { name: 'max', f: Math.max, d: extremumPartials },
  min:   { name: 'min', f: Math.min, d: extremumPartials },
} satisfies Record<string, VariadicRule>;

/** Functions whose derivative is 0 everywhere it exists: they return plain numbers. */
export const piecewiseConstant = {
  floor: Math.floor,
  ceil: Math.ceil,
  round: Math.round,
  trunc: Math.trunc,
  sign: Math.sign,
} as const;

export type UnaryName = keyof typeof unaryRules;
export type BinaryName = keyof typeof binaryRules;
export type VariadicName = keyof typeof variadicRules;
export type PiecewiseName = keyof typeof piecewiseConstant;
