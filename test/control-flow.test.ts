/**
 * Control flow inside differentiated code: branches, switch, every loop
 * form, break/continue/labels, early return, recursion, closures, nested
 * functions, callbacks, logical operators, comparisons on differentiable
 * values, destructuring, spread, default parameters, arrays and objects
 * built inside, and assignments whose left side must be evaluated once.
 *
 * Every function is written as a user would write it; the expected gradients
 * are derived by hand in the comments.
 */
import { describe, it, expect } from 'vitest';
import { grad, valueAndGrad, DualtapeError } from 'dualtape';
import { checkGrad, checkValueAndGrad, expectClose } from './helpers/check.js';

// ---------------------------------------------------------------------------
// Branches
// ---------------------------------------------------------------------------
function piecewise(x: number): number {
  if (x < -1) {
    return -x * x; // -2x
  } else if (x <= 1) {
    const t = x * 3;
    return t + 1; // 3
  } else {
    return Math.log(x) * x; // log x + 1
  }
}

function ternaries(x: number, y: number): number {
  const a = x > y ? x * y : x - y;
  const b = x >= 0 ? (y >= 0 ? x + y : x * 2) : -x;
  return a + b;
}

function switchFloor(x: number): number {
  let r = 0;
  switch (Math.floor(x)) {
    case 0:
      r = x * x;
      break;
    case 1:
      r += x; // falls through
    case 2:
      r += x * 10;
      break;
    default:
      r = Math.exp(x);
  }
  return r;
}

function switchOnValue(x: number): number {
  switch (x) {
    case 1:
      return x * 5;
    case 2:
      return x * x;
    default:
      return x;
  }
}

function switchOnMode(x: number, mode: string): number {
  switch (mode) {
    case 'square':
      return x * x;
    case 'cube':
      return x * x * x;
    default:
      return Math.sin(x);
  }
}

describe('branches', () => {
  it('if / else if / else', () => {
    const fns = { f: piecewise, rev: grad(piecewise), fwd: grad(piecewise, { mode: 'forward' }) };
    checkGrad(fns, [-2], 4);
    checkGrad(fns, [-3.5], 7);
    checkGrad(fns, [0.2], 3);
    checkGrad(fns, [2.5], Math.log(2.5) + 1);
  });
  it('nested ternaries', () => {
    const fns = { f: ternaries, rev: grad(ternaries), fwd: grad(ternaries, { mode: 'forward' }) };
    checkGrad(fns, [2, 1], [1 + 1, 2 + 1]); // a = xy, b = x + y
    checkGrad(fns, [1, 2], [1 + 1, -1 + 1]); // a = x - y, b = x + y
    checkGrad(fns, [1, -2], [-2 + 2, 1]); // a = xy, b = 2x
    checkGrad(fns, [-1, 2], [1 - 1, -1]); // a = x - y, b = -x
  });
  it('switch on a computed integer, with fall-through and default', () => {
    const fns = { f: switchFloor, rev: grad(switchFloor), fwd: grad(switchFloor, { mode: 'forward' }) };
    checkGrad(fns, [0.5], 1);
    checkGrad(fns, [1.5], 11);
    checkGrad(fns, [2.5], 10);
    checkGrad(fns, [4.5], Math.exp(4.5));
    checkGrad(fns, [-0.5], Math.exp(-0.5));
  });
  it('switch on a differentiable value matches cases by value', () => {
    const fns = { f: switchOnValue, rev: grad(switchOnValue), fwd: grad(switchOnValue, { mode: 'forward' }) };
    // exact matches: the function jumps there, so no finite differences
    checkGrad(fns, [1], 5, { fd: false });
    checkGrad(fns, [2], 4, { fd: false });
    checkGrad(fns, [3.5], 1);
    const vg = { f: switchOnValue, rev: valueAndGrad(switchOnValue), fwd: valueAndGrad(switchOnValue, { mode: 'forward' }) };
    checkValueAndGrad(vg, [2], 4, 4, { fd: false });
  });
  it('switch on a non-differentiated string argument', () => {
    const fns = {
      f: switchOnMode,
      rev: grad(switchOnMode, { argnums: 0 }),
      fwd: grad(switchOnMode, { mode: 'forward', argnums: 0 }),
      argnums: 0,
    };
    checkGrad(fns, [1.5, 'square'], 3);
    checkGrad(fns, [1.5, 'cube'], 3 * 1.5 * 1.5);
    checkGrad(fns, [1.5, 'other'], Math.cos(1.5));
  });
});

// ---------------------------------------------------------------------------
// Loops
// ---------------------------------------------------------------------------
function horner(x: number, cs: number[]): number {
  let acc = 0;
  for (let i = cs.length - 1; i >= 0; i--) acc = acc * x + cs[i]!;
  return acc;
}

function forOf(xs: number[], w: number): number {
  let s = 0;
  for (const v of xs) s += v * v * w;
  return s;
}

function forIn(o: Record<string, number>, weights: Record<string, number>): number {
  let s = 0;
  for (const k in o) s += o[k]! ** 2 * weights[k]!;
  return s;
}

function newtonSqrt(x: number): number {
  let y = x > 1 ? x : 1;
  let iterations = 0;
  while (Math.abs(y * y - x) > 1e-15 * x && iterations < 100) {
    y = 0.5 * (y + x / y);
    iterations++;
  }
  return y;
}

function doWhile(x: number, n: number): number {
  let t = x;
  let k = 0;
  do {
    t = t * 0.5 + 1;
    k++;
  } while (k < n);
  return t; // x / 2^n + 2 - 2^(1-n)
}

function whileBreakContinue(x: number): number {
  let s = 0;
  let i = 0;
  while (true) {
    i++;
    if (i % 2 === 0) continue; // odd i only
    if (i > 7) break; // i = 1, 3, 5, 7
    s += x ** i;
  }
  return s;
}

function labeled(xs: number[], y: number): number {
  let s = 0;
  outer: for (let i = 0; i < xs.length; i++) {
    for (let j = 0; j < xs.length; j++) {
      if (j === i) continue;
      if (j > i + 1) continue outer;
      if (xs[i]! > 100) break outer;
      s += xs[i]! * xs[j]! * y;
    }
  }
  return s;
}

function earlyReturn(xs: number[], threshold: number): number {
  for (const v of xs) {
    if (v > threshold) return v * v;
  }
  return threshold * 3;
}

function argmaxSquare(xs: number[]): number {
  let best = xs[0]!;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > best) best = xs[i]!;
  return best * best;
}

describe('loops', () => {
  it('for loop (Horner), coefficients as a constant argument', () => {
    const fns = { f: horner, rev: grad(horner, { argnums: 0 }), fwd: grad(horner, { mode: 'forward', argnums: 0 }), argnums: 0 };
    const cs = [1, -2, 0.5, 3]; // 1 - 2x + 0.5x^2 + 3x^3
    for (const x of [-1.5, 0.3, 2]) checkGrad(fns, [x, cs], -2 + x + 9 * x * x);
  });
  it('for loop (Horner), w.r.t. the coefficients too', () => {
    const fns = { f: horner, rev: grad(horner), fwd: grad(horner, { mode: 'forward' }) };
    const x = 0.7;
    checkGrad(fns, [x, [1, -2, 0.5, 3]], [-2 + x + 9 * x * x, [1, x, x * x, x * x * x]]);
  });
  it('for-of', () => {
    const fns = { f: forOf, rev: grad(forOf), fwd: grad(forOf, { mode: 'forward' }) };
    checkGrad(fns, [[1, -2, 3], 0.5], [[1, -2, 3], 1 + 4 + 9]);
  });
  it('for-in over an object', () => {
    const fns = { f: forIn, rev: grad(forIn), fwd: grad(forIn, { mode: 'forward' }) };
    checkGrad(fns, [{ a: 1.5, b: -2 }, { a: 3, b: 0.25 }], [{ a: 9, b: -1 }, { a: 2.25, b: 4 }]);
  });
  it('while loop (Newton iteration for sqrt) has the derivative of sqrt', () => {
    const fns = { f: newtonSqrt, rev: grad(newtonSqrt), fwd: grad(newtonSqrt, { mode: 'forward' }) };
    for (const x of [0.3, 2, 50]) checkGrad(fns, [x], 0.5 / Math.sqrt(x));
  });
  it('do-while', () => {
    const fns = { f: doWhile, rev: grad(doWhile, { argnums: 0 }), fwd: grad(doWhile, { mode: 'forward', argnums: 0 }), argnums: 0 };
    checkGrad(fns, [3, 1], 0.5);
    checkGrad(fns, [3, 4], 1 / 16);
    checkGrad(fns, [-1, 0], 0.5); // the body runs once even when the condition is false
  });
  it('while (true) with break and continue', () => {
    const fns = { f: whileBreakContinue, rev: grad(whileBreakContinue), fwd: grad(whileBreakContinue, { mode: 'forward' }) };
    for (const x of [-1.1, 0.5, 1.3]) checkGrad(fns, [x], 1 + 3 * x ** 2 + 5 * x ** 4 + 7 * x ** 6);
  });
  it('labelled break and continue', () => {
    const fns = { f: labeled, rev: grad(labeled), fwd: grad(labeled, { mode: 'forward' }) };
    const [x0, x1, x2, x3] = [1, 2, 3, 200];
    const y = 0.5;
    // pairs visited: (0,1) (1,0) (1,2) (2,0) (2,1) (2,3); then xs[3] > 100 breaks everything
    const s = 2 * x0 * x1 + 2 * x1 * x2 + x0 * x2 + x2 * x3;
    checkGrad(fns, [[x0, x1, x2, x3, 5], y], [[y * (2 * x1 + x2), y * (2 * x0 + 2 * x2), y * (2 * x1 + x0 + x3), y * x2, 0], s]);
  });
  it('early return from inside a loop', () => {
    const fns = { f: earlyReturn, rev: grad(earlyReturn), fwd: grad(earlyReturn, { mode: 'forward' }) };
    checkGrad(fns, [[0.5, 2, 3], 1], [[0, 4, 0], 0]);
    checkGrad(fns, [[0.5, 0.2], 1], [[0, 0], 3]);
  });
  it('comparisons inside a loop (argmax)', () => {
    const fns = { f: argmaxSquare, rev: grad(argmaxSquare), fwd: grad(argmaxSquare, { mode: 'forward' }) };
    checkGrad(fns, [[0.5, -3, 2.5, 1]], [0, 0, 5, 0]);
    checkGrad(fns, [[-0.5, -3, -2.5]], [-1, 0, 0]);
  });
});

// ---------------------------------------------------------------------------
// Recursion, closures, nested functions
// ---------------------------------------------------------------------------
function fastPow(x: number, n: number): number {
  if (n === 0) return 1;
  const h = fastPow(x, Math.floor(n / 2));
  return n % 2 === 0 ? h * h : h * h * x;
}

function shrink(x: number): number {
  return Math.abs(x) < 1 ? Math.sin(x) : 2 * shrink(x / 2);
}

function ping(x: number, n: number): number {
  return n <= 0 ? x : pong(x * 2, n - 1);
}
function pong(x: number, n: number): number {
  return n <= 0 ? x : ping(Math.sin(x), n - 1);
}

function closures(x: number, y: number): number {
  const scale = (t: number) => t * x; // captures an input
  const k = x * y;
  function addK(t: number): number {
    return t + k; // captures an intermediate
  }
  let acc = 0;
  const bump = (t: number) => {
    acc += t * y; // writes to a captured variable
  };
  bump(x);
  bump(2);
  return scale(y) + addK(x) + acc; // xy + x + xy + xy + 2y
}

function makeAffine(a: number, b: number): (t: number) => number {
  return (t) => a * t + b;
}
function useFactory(x: number, y: number): number {
  const f = makeAffine(x, y);
  return f(f(2)); // x (2x + y) + y
}

function perIterationClosures(x: number): number {
  const fs: Array<() => number> = [];
  for (let i = 1; i <= 3; i++) fs.push(() => x ** i);
  let s = 0;
  for (const f of fs) s += f();
  return s; // x + x^2 + x^3
}

function nested(x: number): number {
  function sq(t: number): number {
    return t * t;
  }
  function quad(t: number): number {
    return sq(sq(t));
  }
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  return quad(x) / fact(4) + sq(Math.sin(x));
}

describe('recursion', () => {
  it('fast exponentiation (recursive, fan-out through h * h)', () => {
    const fns = { f: fastPow, rev: grad(fastPow, { argnums: 0 }), fwd: grad(fastPow, { mode: 'forward', argnums: 0 }), argnums: 0 };
    for (const [x, n] of [[1.1, 13], [-0.9, 6], [2, 1], [3, 0]] as const) checkGrad(fns, [x, n], n * x ** (n - 1));
  });
  it('recursion that stops on the differentiable value', () => {
    const fns = { f: shrink, rev: grad(shrink), fwd: grad(shrink, { mode: 'forward' }) };
    checkGrad(fns, [0.5], Math.cos(0.5));
    checkGrad(fns, [5], Math.cos(5 / 8)); // 8 sin(x / 8)
    checkGrad(fns, [-3], Math.cos(-3 / 4)); // 4 sin(x / 4)
  });
  it('mutual recursion', () => {
    const fns = { f: ping, rev: grad(ping, { argnums: 0 }), fwd: grad(ping, { mode: 'forward', argnums: 0 }), argnums: 0 };
    // ping(x, 3) = pong(2x, 2) = ping(sin 2x, 1) = pong(2 sin 2x, 0) = 2 sin 2x
    checkGrad(fns, [0.4, 3], 4 * Math.cos(0.8));
    // ping(x, 2) = sin(2x)
    checkGrad(fns, [0.4, 2], 2 * Math.cos(0.8));
  });
});

describe('closures and nested functions', () => {
  it('closures reading inputs, intermediates, and writing captured variables', () => {
    const fns = { f: closures, rev: grad(closures), fwd: grad(closures, { mode: 'forward' }) };
    for (const [x, y] of [[1.5, -2], [0.3, 0.7]] as const) checkGrad(fns, [x, y], [3 * y + 1, 3 * x + 2]);
  });
  it('a same-module closure factory', () => {
    const fns = { f: useFactory, rev: grad(useFactory), fwd: grad(useFactory, { mode: 'forward' }) };
    checkGrad(fns, [1.5, -0.5], [4 * 1.5 - 0.5, 1.5 + 1]);
  });
  it('closures created per loop iteration', () => {
    const fns = { f: perIterationClosures, rev: grad(perIterationClosures), fwd: grad(perIterationClosures, { mode: 'forward' }) };
    for (const x of [-0.8, 1.7]) checkGrad(fns, [x], 1 + 2 * x + 3 * x * x);
  });
  it('nested function declarations and a recursive inner arrow', () => {
    const fns = { f: nested, rev: grad(nested), fwd: grad(nested, { mode: 'forward' }) };
    for (const x of [-1.2, 0.6, 2]) checkGrad(fns, [x], (4 * x ** 3) / 24 + 2 * Math.sin(x) * Math.cos(x));
  });
});

// ---------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------
function callbacks(xs: number[], w: number): number {
  const ys = xs.map((v) => v * w);
  const total = ys.reduce((a, b) => a + b, 0);
  let sq = 0;
  xs.forEach((v, i) => {
    sq += v * v * i;
  });
  const big = xs.filter((v) => v > 1).reduce((a, v) => a * v, 1);
  return total + sq + big;
}

function reduceNoInit(xs: number[]): number {
  return xs.reduce((a, b) => a * b);
}

function findAndSome(xs: number[], t: number): number {
  const found = xs.find((v) => v > t) ?? t;
  const n = xs.some((v) => v * t > 10) ? 2 : 1;
  const all = xs.every((v) => v > 0) ? xs.length : 0;
  return found * n + all * t;
}

function mathAsCallback(xs: number[]): number {
  return xs.map(Math.exp).reduce((a, b) => a + b, 0);
}

describe('callbacks', () => {
  it('map, reduce, forEach and filter with arrow callbacks', () => {
    const fns = { f: callbacks, rev: grad(callbacks), fwd: grad(callbacks, { mode: 'forward' }) };
    const xs = [0.5, 2, 3];
    const w = 1.5;
    // total = w Σx, sq = Σ i x_i^2, big = x1 x2 (the elements > 1)
    checkGrad(fns, [xs, w], [[w + 0, w + 2 * 1 * 2 + 3, w + 2 * 2 * 3 + 2], 0.5 + 2 + 3]);
  });
  it('reduce without an initial value', () => {
    const fns = { f: reduceNoInit, rev: grad(reduceNoInit), fwd: grad(reduceNoInit, { mode: 'forward' }) };
    checkGrad(fns, [[2, -3, 0.5]], [-1.5, 1, -6]);
  });
  it('find / some / every with predicates on differentiable values', () => {
    const fns = { f: findAndSome, rev: grad(findAndSome), fwd: grad(findAndSome, { mode: 'forward' }) };
    // found = 4 (xs[1]), some: 4 * 3 > 10 -> n = 2, every: all > 0 -> 3 * t
    checkGrad(fns, [[1, 4, 5], 3], [[0, 2, 0], 3]);
    // nothing > t: found = t; some: 6 * 7 > 10 -> n = 2; every false -> 0
    checkGrad(fns, [[-1, 6], 7], [[0, 0], 2]);
    // nothing > t and no product > 10: found = t, n = 1
    checkGrad(fns, [[-1, 1], 2], [[0, 0], 1]);
  });
  it('a Math function passed as the callback', () => {
    const fns = { f: mathAsCallback, rev: grad(mathAsCallback), fwd: grad(mathAsCallback, { mode: 'forward' }) };
    checkGrad(fns, [[0.5, -1, 2]], [Math.exp(0.5), Math.exp(-1), Math.exp(2)]);
  });
});

// ---------------------------------------------------------------------------
// Logical operators and comparisons
// ---------------------------------------------------------------------------
function logical(x: number, y: number): number {
  const a = (x > 0 && y) || x;
  const b = x ?? y;
  const n: number | null = null;
  const c = n ?? y;
  const zero = 0;
  const d = zero || x;
  const e = y && x * 2;
  return a + b * 2 + c * 3 + d + e;
}

function optional(x: number, o?: { s?: number }): number {
  return (o?.s ?? 2) * x;
}

function comparisons(x: number, y: number): number {
  let r = 0;
  if (x === y) r += x * y; // both differentiable
  if (x === 2) r += 10 * x; // against a literal
  if (x !== y) r += x - y;
  if (x < y) r += 100 * y;
  if (x <= y) r += 1000 * x;
  if (x >= y) r += 3 * y;
  if (x > y) r += 7 * x;
  const z = x * 1;
  if (z === x) r += 5 * z; // two distinct values carrying derivatives, equal numbers
  if (z == x) r += 0.5 * z;
  return r;
}

describe('logical operators keep the chosen operand with its derivative', () => {
  it('&& || ?? with truthy operands', () => {
    const fns = { f: logical, rev: grad(logical), fwd: grad(logical, { mode: 'forward' }) };
    // a = y, b = x, c = y, d = x, e = 2x  ->  5x + 4y
    checkGrad(fns, [1.5, 2], [5, 4]);
    // x <= 0: a = x  ->  6x + 3y
    checkGrad(fns, [-1, 2], [6, 3]);
  });
  it('a differentiable value equal to 0 is falsy', () => {
    const fns = { f: logical, rev: grad(logical), fwd: grad(logical, { mode: 'forward' }) };
    // y = 0: (x > 0 && y) is y (falsy) so a = x; e = y  ->  a + 2b + 3c + d + e = 4x + 4y
    checkGrad(fns, [1.5, 0], [4, 4], { fd: false });
  });
  it('?. and ?? with a non-differentiated options argument', () => {
    const fns = { f: optional, rev: grad(optional, { argnums: 0 }), fwd: grad(optional, { mode: 'forward', argnums: 0 }), argnums: 0 };
    checkGrad(fns, [1.5, { s: 4 }], 4);
    checkGrad(fns, [1.5, {}], 2);
    checkGrad(fns, [1.5, undefined], 2);
  });
  it('=== !== == < <= > >= compare the numbers, not the wrappers', () => {
    const fns = { f: comparisons, rev: grad(comparisons), fwd: grad(comparisons, { mode: 'forward' }) };
    // (2, 2): x === y, x === 2, x <= y, x >= y, z === x, z == x
    checkGrad(fns, [2, 2], [2 + 10 + 1000 + 5 + 0.5, 2 + 3], { fd: false });
    // (1, 3): x !== y, x < y, x <= y, z === x, z == x
    checkGrad(fns, [1, 3], [1 + 1000 + 5 + 0.5, -1 + 100]);
    // (4, 3): x !== y, x >= y, x > y, z === x, z == x
    checkGrad(fns, [4, 3], [1 + 7 + 5 + 0.5, -1 + 3]);
    const vg = { f: comparisons, rev: valueAndGrad(comparisons), fwd: valueAndGrad(comparisons, { mode: 'forward' }) };
    checkValueAndGrad(vg, [2, 2], 4 + 20 + 2000 + 6 + 10 + 1, undefined, { fd: false });
  });
});

// ---------------------------------------------------------------------------
// Destructuring, spread, default parameters, containers built inside
// ---------------------------------------------------------------------------
function destructuring(point: { x: number; y: number }, pair: number[]): number {
  const { x, y: why } = point;
  const [u, , w = 10] = pair;
  const [first, ...rest] = [x * u!, why, w];
  const { s, t } = { s: first! + rest[0]!, t: rest[1]! * x };
  return s * t; // (x u + y) * w x,  w = 10 (pair has no third element)
}

function paramDestructuring({ a, b }: { a: number; b: number }, [c, d]: number[]): number {
  return a * c! + b * d! * d!;
}

function swapping(x: number, y: number): number {
  let a = x;
  let b = y;
  [a, b] = [b, a * 2];
  return a * a + b; // y^2 + 2x
}

function spread(xs: number[], y: number): number {
  const all = [...xs, y];
  const m = Math.max(...all);
  const h = Math.hypot(...xs);
  const o = { ...{ p: y, q: 1 }, q: xs[0]! };
  return m + h + o.p * o.q + sum3(...(all as [number, number, number]));
}
function sum3(a: number, b: number, c: number): number {
  return a + 2 * b + 3 * c;
}

function withDefaults(x: number, k: number = x * 2, c = 3): number {
  return x * k + c;
}

function scaled(t: number, s = 2): number {
  return t * s;
}
function useDefaults(x: number): number {
  return scaled(x) + scaled(x, x); // 2x + x^2
}

function builtInside(x: number, y: number): number {
  const v = [x, y, x * y];
  const o = { p: v[2]!, q: [x - y] };
  v.push(o.p * 2);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * (i + 1);
  return s + o.q[0]! ** 2; // x + 2y + 3xy + 8xy + (x - y)^2
}

describe('destructuring, spread, defaults, containers', () => {
  it('object and array destructuring with rename, holes, defaults and rest', () => {
    const fns = { f: destructuring, rev: grad(destructuring), fwd: grad(destructuring, { mode: 'forward' }) };
    const [x, y, u] = [1.5, -0.5, 2];
    // g = 10 x (x u + y) = 10 u x^2 + 10 x y
    checkGrad(fns, [{ x, y }, [u, 7]], [{ x: 20 * u * x + 10 * y, y: 10 * x }, [10 * x * x, 0]]);
  });
  it('destructured parameters', () => {
    const fns = { f: paramDestructuring, rev: grad(paramDestructuring), fwd: grad(paramDestructuring, { mode: 'forward' }) };
    checkGrad(fns, [{ a: 2, b: -1 }, [3, 0.5]], [{ a: 3, b: 0.25 }, [2, 2 * -1 * 0.5]]);
  });
  it('destructuring assignment (swap)', () => {
    const fns = { f: swapping, rev: grad(swapping), fwd: grad(swapping, { mode: 'forward' }) };
    checkGrad(fns, [1.5, -3], [2, -6]);
  });
  it('spread into Math.max, Math.hypot, arrays, objects and calls', () => {
    const fns = { f: spread, rev: grad(spread), fwd: grad(spread, { mode: 'forward' }) };
    const xs = [3, 4];
    const y = 1;
    // m = max(3, 4, 1) = xs[1]; h = hypot(3, 4) = 5; o.p * o.q = y * xs[0]; sum3(3, 4, 1) = x0 + 2 x1 + 3 y
    checkGrad(fns, [xs, y], [[0.6 + y + 1, 1 + 0.8 + 2], xs[0]! + 3]);
    // now y is the maximum
    checkGrad(fns, [[3, 4], 6], [[0.6 + 6 + 1, 0.8 + 2], 1 + 3 + 3]);
  });
  it('default parameters (on the differentiated function)', () => {
    const fns = { f: withDefaults, rev: grad(withDefaults), fwd: grad(withDefaults, { mode: 'forward' }) };
    checkGrad(fns, [1.5], 4 * 1.5); // 2x^2 + 3
    checkGrad(fns, [1.5, 0.5], [0.5, 1.5]); // x k + 3
    checkGrad(fns, [1.5, 0.5, 2], [0.5, 1.5, 1]);
  });
  it('default parameters (on a called function)', () => {
    const fns = { f: useDefaults, rev: grad(useDefaults), fwd: grad(useDefaults, { mode: 'forward' }) };
    for (const x of [-2, 0.5]) checkGrad(fns, [x], 2 + 2 * x);
  });
  it('arrays and objects built inside', () => {
    const fns = { f: builtInside, rev: grad(builtInside), fwd: grad(builtInside, { mode: 'forward' }) };
    for (const [x, y] of [[1.5, -0.5], [0.2, 2]] as const) {
      checkGrad(fns, [x, y], [1 + 11 * y + 2 * (x - y), 2 + 11 * x - 2 * (x - y)]);
    }
  });
});

// ---------------------------------------------------------------------------
// Assignments whose left side has side effects are evaluated once
// ---------------------------------------------------------------------------
function leftSideOnce(x: number, y: number): number {
  const a = [1, 2, 3];
  let i = 0;
  a[i++] += x; // a[0] = 1 + x, i = 1
  a[i++] *= x; // a[1] = 2x, i = 2
  let calls = 0;
  const o: Record<string, number> = { f: y, g: 1 };
  const get = () => {
    calls++;
    return o;
  };
  get().f *= y; // o.f = y^2, calls = 1
  get()['g'] += x; // o.g = 1 + x, calls = 2
  const keys = ['f', 'g'];
  let k = 0;
  o[keys[k++] as string] -= x; // o.f = y^2 - x, k = 1
  const b = [x, x];
  let j = 0;
  b[j++]++; // b[0] = x + 1, j = 1
  return a[0]! + a[1]! * 10 + a[2]! * 100 + o.f! * 1000 + o.g! + b[0]! * 3 + b[1]! + calls * 1e4 + i * 1e5 + k * 1e6 + j * 1e7;
}

describe('left sides evaluated once', () => {
  it('a[i++] += x, o.f *= y, get().g += x, o[keys[k++]] -= x, b[j++]++', () => {
    const fns = { f: leftSideOnce, rev: valueAndGrad(leftSideOnce), fwd: valueAndGrad(leftSideOnce, { mode: 'forward' }) };
    const [x, y] = [2, 3];
    // a = [3, 4, 3]; o.f = 9 - 2 = 7; o.g = 3; b = [3, 2]; calls = 2, i = 2, k = 1, j = 1
    const value = 3 + 40 + 300 + 7000 + 3 + 9 + 2 + 2e4 + 2e5 + 1e6 + 1e7;
    // d/dx: 1 + 20 - 1000 + 1 + 3 + 1;  d/dy: 1000 * 2y
    checkValueAndGrad(fns, [x, y], value, [1 + 20 - 1000 + 1 + 3 + 1, 6000]);
  });
  it('the counters alone (value only)', () => {
    const [v] = valueAndGrad(leftSideOnce)(0, 0);
    // a = [1, 0, 3], o.f = 0, o.g = 1, b = [1, 0]
    expect(v).toBe(1 + 0 + 300 + 0 + 1 + 3 + 0 + 2e4 + 2e5 + 1e6 + 1e7);
  });
});

describe('assignment targets wrapped in TypeScript syntax', () => {
  // Imported dynamically: if the plugin rejects a module, only the test that needs it fails.
  it('xs[i]! += v, xs[i]! *= w, o.f! -= w', async () => {
    const { nonNullTargets } = await import('./modules/ts-nonnull-targets.js');
    const fns = { f: nonNullTargets, rev: grad(nonNullTargets), fwd: grad(nonNullTargets, { mode: 'forward' }) };
    const [xs, w] = [[1.5, -2, 0.5], 0.75];
    const lin = xs[0]! + 2 * xs[1]! + 3 * xs[2]!;
    checkGrad(fns, [xs, w], [[w * w, 2 * w * w, 3 * w * w], 2 * w * lin - 1]);
  });
  it('(o.a as number) *= x, (o.b as number) += x', async () => {
    const { castTargets } = await import('./modules/ts-cast-targets.js');
    const fns = { f: castTargets, rev: grad(castTargets), fwd: grad(castTargets, { mode: 'forward' }) };
    for (const x of [-1.5, 0.5, 2]) checkGrad(fns, [x], 2 * x * (2 + x) + x * x + 1);
  });
});

// ---------------------------------------------------------------------------
// More everyday language forms
// ---------------------------------------------------------------------------
function logicalAssignment(x: number, y: number): number {
  let s: number | undefined;
  s ??= x * 2; // 2x
  let t = 0;
  t ||= x * y; // xy
  let u = x;
  u &&= u * y; // xy
  let v = y;
  v ||= 100; // y (truthy: kept)
  return s + t + u + v; // 2x + 2xy + y
}

function typeofAndPredicates(x: number, y: number): number {
  let r = 0;
  if (typeof x === 'number') r += x * y;
  if (Number.isFinite(x)) r += x;
  if (!Number.isNaN(y) && !isNaN(x)) r += y * y;
  return r; // xy + x + y^2
}

function mathAliases(x: number): number {
  const { sin, cos } = Math;
  const e = Math.exp;
  return sin(x) * cos(x) + e(x); // sin x cos x + e^x
}

function restParams(x: number, y: number): number {
  return sumAll(x, y, x * y) + sumAll(...[x, 1]);
}
function sumAll(...vs: number[]): number {
  let s = 0;
  for (const v of vs) s += v;
  return s;
}

function objectMethods(x: number, y: number): number {
  const o = {
    k: x,
    m(t: number) {
      return this.k * t;
    },
  };
  return o.m(y) + o.m(o.k); // xy + x^2
}

function labeledBlockAndComma(x: number): number {
  let r = x;
  block: {
    if (x > 0) break block;
    r = -x * 3;
  }
  let i = 0;
  const c = (i++, r * 2);
  return c + i; // x > 0: 2x + 1; else -6x + 1
}

function sortedWeights(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  let r = 0;
  for (let i = 0; i < s.length; i++) r += (i + 1) * s[i]!;
  return r;
}

function arrayHelpers(x: number, n: number): number {
  const a = Array.from({ length: n }, (_, i) => x * (i + 1)); // [x, 2x, ..., nx]
  const flat = a.flatMap((v) => [v, v * v]);
  const values = Object.values({ p: x, q: 2 * x });
  return flat.reduceRight((acc, v) => acc + v, 0) + values[1]!;
}

class Vec2 {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  dot(o: Vec2): number {
    return this.x * o.x + this.y * o.y;
  }
}
function usesClass(a: number, b: number): number {
  const v = new Vec2(a, b);
  return v.dot(new Vec2(b, 3)); // ab + 3b
}

class Vec2D {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  dot(o: Vec2D): number {
    'use differentiable';
    return this.x * o.x + this.y * o.y;
  }
}
function usesDirectiveClass(a: number, b: number): number {
  const v = new Vec2D(a, b);
  return v.dot(new Vec2D(b, 3)); // ab + 3b
}

function tryCatchFinally(x: number): number {
  let r = 0;
  try {
    if (x > 1) throw new Error('big');
    r = x * x;
  } catch {
    r = x * 3;
  } finally {
    r += x;
  }
  return r;
}

describe('more language forms', () => {
  it('logical assignment operators ??= ||= &&=', () => {
    const fns = { f: logicalAssignment, rev: grad(logicalAssignment), fwd: grad(logicalAssignment, { mode: 'forward' }) };
    checkGrad(fns, [1.5, -2], [2 + 2 * -2, 2 * 1.5 + 1]);
  });
  it('typeof, Number.isFinite, Number.isNaN and isNaN on differentiable values', () => {
    const fns = { f: typeofAndPredicates, rev: grad(typeofAndPredicates), fwd: grad(typeofAndPredicates, { mode: 'forward' }) };
    checkGrad(fns, [1.5, -2], [-2 + 1, 1.5 - 4]);
  });
  it('Math functions taken as values (destructured from Math, aliased)', () => {
    const fns = { f: mathAliases, rev: grad(mathAliases), fwd: grad(mathAliases, { mode: 'forward' }) };
    for (const x of [-0.4, 1.1]) checkGrad(fns, [x], Math.cos(2 * x) + Math.exp(x));
  });
  it('rest parameters and spread arguments', () => {
    const fns = { f: restParams, rev: grad(restParams), fwd: grad(restParams, { mode: 'forward' }) };
    checkGrad(fns, [1.5, -2], [1 + -2 + 1, 1 + 1.5]);
  });
  it('object literal methods using this', () => {
    const fns = { f: objectMethods, rev: grad(objectMethods), fwd: grad(objectMethods, { mode: 'forward' }) };
    checkGrad(fns, [1.5, -2], [-2 + 3, 1.5]);
  });
  it('labelled block with break, comma operator', () => {
    const fns = { f: labeledBlockAndComma, rev: grad(labeledBlockAndComma), fwd: grad(labeledBlockAndComma, { mode: 'forward' }) };
    checkGrad(fns, [1.5], 2);
    checkGrad(fns, [-0.5], -6);
  });
  it('sort with a comparator on differentiable values', () => {
    const fns = { f: sortedWeights, rev: grad(sortedWeights), fwd: grad(sortedWeights, { mode: 'forward' }) };
    // sorted: [-1, 0.5, 2] -> weights by rank
    checkGrad(fns, [[2, -1, 0.5]], [3, 1, 2]);
  });
  it('Array.from with a mapping callback, flatMap, reduceRight, Object.values', () => {
    const fns = { f: arrayHelpers, rev: grad(arrayHelpers, { argnums: 0 }), fwd: grad(arrayHelpers, { mode: 'forward', argnums: 0 }), argnums: 0 };
    // Σ_{i=1..n} (i x + i^2 x^2) + 2x
    const [x, n] = [0.7, 4];
    let expected = 2;
    for (let i = 1; i <= n; i++) expected += i + 2 * i * i * x;
    checkGrad(fns, [x, n], expected);
  });
  it('a same-module class method with the body directive', () => {
    const fns = { f: usesDirectiveClass, rev: grad(usesDirectiveClass), fwd: grad(usesDirectiveClass, { mode: 'forward' }) };
    checkGrad(fns, [1.5, -2], [-2, 1.5 + 3]);
  });
  it('a same-module class method without the directive: right answer or a loud DualtapeError, never a wrong one', () => {
    for (const g of [grad(usesClass), grad(usesClass, { mode: 'forward' })]) {
      let result: unknown;
      try {
        result = g(1.5, -2);
      } catch (e) {
        expect(e).toBeInstanceOf(DualtapeError);
        continue;
      }
      expectClose(result, [-2, 4.5]);
    }
  });
  it('try / catch / finally', () => {
    const fns = { f: tryCatchFinally, rev: grad(tryCatchFinally), fwd: grad(tryCatchFinally, { mode: 'forward' }) };
    checkGrad(fns, [0.5], 2 * 0.5 + 1);
    checkGrad(fns, [2], 3 + 1);
  });
});

// ---------------------------------------------------------------------------
// Equality on differentiable values that come through containers, callbacks
// and native methods (a reference comparison here would silently take the
// wrong branch)
// ---------------------------------------------------------------------------
function indexOfMax(xs: number[]): number {
  const m = Math.max(...xs);
  const k = xs.indexOf(m);
  return xs[k]! * 2 + k; // plain: k is the position of the maximum
}

function includesComputed(xs: number[], y: number): number {
  const doubled = y * 2;
  return xs.includes(doubled) ? y * 10 : y; // plain: true when some x equals 2y
}

function lastIndexAndIs(xs: number[], y: number): number {
  const k = xs.lastIndexOf(y * 1); // plain: the last position holding the value y
  return (k >= 0 ? xs[k]! * (k + 1) : 0) + (Object.is(y, y * 1) ? y * 10 : y);
}

function countEqualToFirst(xs: number[]): number {
  const first = xs[0]!;
  const same = xs.filter((v) => v === first);
  return same.length * first; // plain: (number of elements equal to xs[0]) * xs[0]
}

function switchOnOther(x: number, y: number): number {
  switch (x) {
    case y * 1:
      return x * y;
    default:
      return x + y;
  }
}

function mapLookup(x: number, y: number): number {
  const m = new Map<string, number>();
  m.set('a', x);
  m.set('b', y);
  const a = m.get('a')!;
  const b = m.get('b')!;
  return a === b ? a * b : a - b;
}

describe('equality through containers and native methods compares numbers', () => {
  it('xs.indexOf(Math.max(...xs))', () => {
    const fns = { f: indexOfMax, rev: grad(indexOfMax), fwd: grad(indexOfMax, { mode: 'forward' }) };
    checkGrad(fns, [[1, 3, 2]], [0, 2, 0]);
    const vg = { f: indexOfMax, rev: valueAndGrad(indexOfMax), fwd: valueAndGrad(indexOfMax, { mode: 'forward' }) };
    checkValueAndGrad(vg, [[1, 3, 2]], 3 * 2 + 1, [0, 2, 0]);
  });
  it('xs.includes(a computed value)', () => {
    const fns = { f: includesComputed, rev: grad(includesComputed), fwd: grad(includesComputed, { mode: 'forward' }) };
    checkGrad(fns, [[1, 3], 1.5], [[0, 0], 10], { fd: false });
    checkGrad(fns, [[1, 4], 1.5], [[0, 0], 1]);
  });
  it('xs.lastIndexOf(value) and Object.is on equal numbers', () => {
    const fns = { f: lastIndexAndIs, rev: grad(lastIndexAndIs), fwd: grad(lastIndexAndIs, { mode: 'forward' }) };
    // xs = [1, 2, 1], y = 1: k = 2 -> 3 * xs[2]; Object.is(1, 1) -> 10 y
    checkGrad(fns, [[1, 2, 1], 1], [[0, 0, 3], 10], { fd: false });
  });
  it('filter with === against another element', () => {
    const fns = { f: countEqualToFirst, rev: grad(countEqualToFirst), fwd: grad(countEqualToFirst, { mode: 'forward' }) };
    // [2, 5, 2]: two elements equal 2 -> 2 * xs[0]
    checkGrad(fns, [[2, 5, 2]], [2, 0, 0], { fd: false });
  });
  it('switch with a differentiable case expression', () => {
    const fns = { f: switchOnOther, rev: grad(switchOnOther), fwd: grad(switchOnOther, { mode: 'forward' }) };
    checkGrad(fns, [2, 2], [2, 2], { fd: false });
    checkGrad(fns, [2, 3], [1, 1]);
  });
  it('values stored in and read back from a Map', () => {
    const fns = { f: mapLookup, rev: grad(mapLookup), fwd: grad(mapLookup, { mode: 'forward' }) };
    checkGrad(fns, [1.5, 1.5], [1.5, 1.5], { fd: false });
    checkGrad(fns, [1.5, 2], [1, -1]);
  });
});

// ---------------------------------------------------------------------------
// Arithmetic with non-number operands follows JavaScript's coercions
// ---------------------------------------------------------------------------
function outOfBounds(xs: number[]): number {
  const missing = xs[5]! * 2; // undefined * 2 is NaN in JavaScript
  return Number.isNaN(missing) ? xs[0]! * 3 : missing;
}

function coercions(x: number, flag: boolean): number {
  const n: number | null = null;
  return x * (flag as unknown as number) + (n as unknown as number) * 4 + x; // flag * x + 0 + x
}

describe('non-number operands', () => {
  it('reading past the end of an array gives NaN (not a crash)', () => {
    const fns = { f: outOfBounds, rev: grad(outOfBounds), fwd: grad(outOfBounds, { mode: 'forward' }) };
    checkGrad(fns, [[1.5, 2]], [3, 0]);
  });
  it('booleans and null coerce to numbers', () => {
    const fns = { f: coercions, rev: grad(coercions, { argnums: 0 }), fwd: grad(coercions, { mode: 'forward', argnums: 0 }), argnums: 0 };
    checkGrad(fns, [1.5, true], 2);
    checkGrad(fns, [1.5, false], 1);
  });
});
