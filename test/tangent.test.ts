/**
 * Generated forward-mode code (plugin/tangent/, runtime/tangent.ts) on a zoo
 * of functions: every derivative checked against the Dual runtime (the same
 * call with the generated code switched off), reverse mode, central finite
 * differences and, where there is one, a hand-derived formula. Values must be
 * bit-identical to the plain function.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { grad, jacobian, jvp, stopGradient, valueAndGrad } from 'dualtape';
import { hasTangentCode, setTangentTier, tangentStats } from '../runtime/tangent.ts';
import { fdPartial } from './helpers/check.js';

afterEach(() => setTangentTier(true));

// ---------------------------------------------------------------------------
// The zoo (module-level functions: the plugin makes tangent code for them)
// ---------------------------------------------------------------------------

function poly(x: number): number {
  return 3 * x ** 3 - 2 * x + 1;
}

function trig(x: number): number {
  return Math.sin(x) * Math.cos(2 * x);
}

function rosen(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const t = x[i + 1] - x[i] * x[i];
    const u = 1 - x[i];
    s += 100 * t * t + u * u;
  }
  return s;
}

function branchy(x: number, y: number): number {
  let r: number;
  if (x > y) r = x * y;
  else if (x < -1) r = Math.exp(x);
  else r = y / (1 + x * x);
  const s = r > 0 ? Math.sqrt(r + 1) : -r;
  switch (Math.floor(x)) {
    case 0:
      return s * 2;
    case 1:
      return s + x;
    default:
      return s - y;
  }
}

function newtonSqrt(a: number): number {
  let g = a > 1 ? a : 1;
  let k = 0;
  while (k < 30) {
    g = 0.5 * (g + a / g);
    k++;
  }
  let h = g;
  do {
    h = h * 1;
  } while (false);
  return h;
}

function earlyReturns(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] > 10) return s;
    if (x[i] < -10) break;
    s += Math.tanh(x[i]) * (i + 1);
  }
  return s * s;
}

function localArrays(x: number[], a: number): number {
  const ys = [a, a * a];
  for (let i = 0; i < x.length; i++) ys.push(x[i] * a);
  ys[0] = ys[0] + x[0];
  ys[1] *= 2;
  const zs = new Array(3).fill(0);
  zs[2] = ys[ys.length - 1];
  let w = ys;
  w = [w[0] - zs[2], w[1]];
  let s = 0;
  for (const v of ys) s += v;
  return s + w[0] * w[1];
}

function aliasing(x: number, y: number): number {
  let a = x * y;
  const b = a;
  const c = id(a);
  a = a * 3 + y;
  return a * b + c * c;
}

function id(v: number): number {
  return v;
}

const arrowA = (x: number) => x * x,
  arrowB = (y: number) => arrowA(y) * 2 + Math.exp(y);

function withFinally(x: number): number {
  let s = x * x;
  try {
    return s;
  } finally {
    s = 0;
  }
}

function shadowing(x: number, y: number): number {
  let s = x;
  {
    const x = y * 2;
    s += x * s;
  }
  for (var k = 0; k < 2; k++) var last = s * k;
  return s + last! * y;
}

function impureIndex(x: number[], y: number): number {
  const a = [0, 0, 0];
  let i = 0;
  a[i++] = x[0] * y;
  a[i++] = x[1] + y;
  a[i] *= y;
  a[i - 1] *= x[2];
  let t;
  t = a[0];
  return a[0] + a[1] * a[2] + t * x[i - 2];
}

function powers(x: number, y: number): number {
  return x ** y + Math.pow(y, x) + Math.max(x, y, x) + (x > y ? (y > 1 ? x * y : y) : x / y);
}

function reassignsParam(x: number, y: number): number {
  x = x * y;
  y = Math.sin(y) + x;
  return x * y;
}

function writesArgument(x: number[]): number {
  x[0] = x[0] * x[1];
  x.push(x[0] * 2);
  return x[0] + x[x.length - 1];
}

function fallThrough(x: number, k: number): number {
  let s = 0;
  outer: for (let j = 0; j < 3; j++) {
    switch (k + j) {
      case 1:
        s += x;
      // falls through
      case 2:
        s *= x;
        continue outer;
      case 3:
        return s + 1 / x;
      default:
        s -= x * x;
    }
  }
  return s;
}

function sumOf(xs: number[], d: number): number {
  if (d === 0 || xs.length === 0) return 0;
  const rest: number[] = [];
  for (let i = 1; i < xs.length; i++) rest.push(xs[i] * 0.5);
  return xs[0] + sumOf(rest, d - 1);
}

function callsSumOf(x: number[]): number {
  let total = 0;
  for (const v of x) {
    if (v > 100) break;
    total += v * v;
  }
  return total + sumOf(x, 10);
}

function spreads(x: number[]): number {
  const ys: number[] = [];
  for (let i = 0; i < x.length; i++) ys.push(x[i] * x[i] - x[0]);
  return Math.max(...x) * Math.min(...ys) + Math.hypot(...x);
}

function stopped(x: number, y: number): number {
  const c = stopGradient(x * y);
  return c * x + stopGradient(y) * y;
}

function sq(u: number): number {
  return u * u;
}

function power(x: number, n: number): number {
  if (n === 0) return 1;
  const h = power(x, Math.floor(n / 2));
  return n % 2 === 0 ? sq(h) : x * sq(h);
}

function isEven(x: number, n: number): number {
  return n === 0 ? x : isOdd(x * 1.5, n - 1);
}

function isOdd(x: number, n: number): number {
  return n === 0 ? -x : isEven(Math.sin(x), n - 1);
}

function scaleAll(xs: number[], k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) out.push(xs[i] * k);
  return out;
}

function usesArrayCall(x: number[], k: number): number {
  const ys = scaleAll(x, k);
  let s = 0;
  for (let i = 0; i < ys.length; i++) s += ys[i] * ys[i];
  return s;
}

interface Data {
  xs: number[];
  ys: number[];
  weight: number;
}

function mse(p: number[], data: Data): number {
  const { xs, ys } = data;
  let loss = 0;
  for (let i = 0; i < xs.length; i++) {
    const r = p[0] * xs[i] + p[1] - ys[i];
    loss += r * r;
  }
  return (data.weight * loss) / xs.length;
}

function mathZoo(x: number): number {
  const y = 0.3 + 0.2 * Math.sin(x); // in (0.1, 0.5): inside every domain below
  return (
    Math.sqrt(y) + Math.cbrt(y) + Math.exp(y) + Math.expm1(y) + Math.log(y) + Math.log1p(y) + Math.log2(y) +
    Math.log10(y) + Math.sin(y) + Math.cos(y) + Math.tan(y) + Math.asin(y) + Math.acos(y) + Math.atan(y) +
    Math.sinh(y) + Math.cosh(y) + Math.tanh(y) + Math.asinh(y) + Math.acosh(1 + y) + Math.atanh(y) +
    Math.abs(y - 0.2) + Math.fround(y) + Math.pow(y, 2.5) + y ** x + Math.atan2(y, x) + Math.hypot(y, x, 1) +
    Math.max(y, x) + Math.min(y, 2 * y) + (x % 0.7) + (7 % (2 + y)) + Math.floor(x) * y
  );
}

function logical(x: number, y: number): number {
  const a = (x > 0 && y) || x * 2;
  const b = (x < 0 ? null : x) ?? y;
  return a * b;
}

function kinks(x: number, y: number): number {
  return Math.abs(x) + Math.max(x, y) + Math.min(x, y) + Math.hypot(x, y);
}

function sqrtOfSquare(x: number, y: number): number {
  return Math.sqrt(x * x) + y;
}

function vectorOut(x: number[], a: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) out.push(Math.sin(x[i]) * a);
  out.push(a * a);
  return out;
}

function throwsOnNegative(x: number): number {
  const y = sq(x);
  if (x < 0) throw new RangeError('negative');
  return y * 3;
}

// Not compiled to tangent code (the Dual runtime runs them).
function withClosure(x: number): number {
  const f = (u: number) => u * x;
  return f(x) + 1;
}

let cached = 0;
function writesOuter(x: number): number {
  cached = x * 2;
  return cached + x;
}

function callsWithClosure(x: number): number {
  return withClosure(x) * 2;
}

// ---------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------

type F = (...args: never[]) => number;

function flat(g: unknown): number[] {
  if (typeof g === 'number') return [g];
  if (g instanceof Float64Array) return Array.from(g);
  if (Array.isArray(g)) return g.flatMap(flat);
  throw new Error(`unexpected gradient ${String(g)}`);
}

function close(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

function expectCloseAll(actual: number[], expected: number[], tol: number, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  actual.forEach((a, i) => expect(close(a, expected[i]!, tol), `${label}[${i}]: ${a} vs ${expected[i]}`).toBe(true));
}

/**
 * Generated forward gradient at `args`: value bit-identical to f, gradient
 * equal to the Dual runtime's and reverse mode's to 1e-12, and to central
 * finite differences (scalar leaves) to 1e-6.
 */
function check(f: F, args: unknown[], opts: { argnums?: number | number[]; formula?: number[]; fd?: boolean; fdTol?: number } = {}): number[] {
  expect(hasTangentCode(f), `${f.name} has tangent code`).toBe(true);
  const gopts = opts.argnums === undefined ? {} : { argnums: opts.argnums };
  const fwd = valueAndGrad(f as never, { mode: 'forward', ...gopts } as never) as (...a: unknown[]) => [number, unknown];
  const runs = tangentStats.runs;
  const [v, g] = fwd(...args);
  // The generated code really ran (not a silent fall-back to the Dual runtime).
  expect(tangentStats.runs, `${f.name} ran on tangent code`).toBe(runs + 1);
  expect(Object.is(v, (f as (...a: unknown[]) => number)(...args)), `${f.name}: value`).toBe(true);
  const gen = flat(g);
  setTangentTier(false);
  const [vd, gd] = fwd(...args);
  setTangentTier(true);
  expect(Object.is(v, vd)).toBe(true);
  expectCloseAll(gen, flat(gd), 1e-12, `${f.name} generated vs Dual runtime`);
  const rev = flat((grad(f as never, gopts as never) as (...a: unknown[]) => unknown)(...args));
  expectCloseAll(gen, rev, 1e-12, `${f.name} forward vs reverse`);
  if (opts.formula) expectCloseAll(gen, opts.formula, 1e-12, `${f.name} vs formula`);
  if (opts.fd !== false && args.every((a) => typeof a === 'number')) {
    const which = opts.argnums === undefined ? args.map((_, k) => k) : typeof opts.argnums === 'number' ? [opts.argnums] : opts.argnums;
    which.forEach((k, i) => {
      const d = fdPartial(f as never, args as number[], k);
      expect(close(gen[i]!, d, opts.fdTol ?? 1e-6), `${f.name} vs finite difference, argument ${k}: ${gen[i]} vs ${d}`).toBe(true);
    });
  }
  return gen;
}

/** Finite differences for one leaf of array arguments. */
function fdArray(f: (x: number[], ...rest: never[]) => number, x: number[], rest: unknown[], i: number): number {
  const h = 1e-6 * Math.max(1, Math.abs(x[i]!));
  const at = (d: number) => {
    const y = x.slice();
    y[i] = x[i]! + d;
    return f(y, ...(rest as never[]));
  };
  return (at(h) - at(-h)) / (2 * h);
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe('generated tangent code: scalar functions', () => {
  it('polynomial, against 9x² - 2', () => {
    for (const x of [-1.5, 0, 0.3, 2]) check(poly, [x], { formula: [9 * x * x - 2] });
  });

  it('trigonometric product, against cos x cos 2x - 2 sin x sin 2x', () => {
    for (const x of [-1, 0.2, 1.3]) {
      check(trig, [x], { formula: [Math.cos(x) * Math.cos(2 * x) - 2 * Math.sin(x) * Math.sin(2 * x)] });
    }
  });

  it('every Math rule', () => {
    for (const x of [0.35, 1.1, 1.7]) check(mathZoo, [x], { fdTol: 1e-5 });
  });

  it('if / else, ?:, switch', () => {
    for (const [x, y] of [[0.5, 0.2], [-2, 1], [0.1, 3], [1.5, 0.7], [2.5, -1]] as const) check(branchy, [x, y]);
  });

  it('while and do-while (Newton iteration has the derivative of sqrt)', () => {
    for (const a of [0.5, 2, 9]) check(newtonSqrt, [a], { formula: [0.5 / Math.sqrt(a)] });
  });

  it('&&, || and ?? keep the operand they return, with its tangent', () => {
    for (const [x, y] of [[0.5, 2], [-1, 3]] as const) check(logical, [x, y]);
    // y = 0 is falsy: a = 2x there (a jump in y, so no finite difference).
    expect(check(logical, [0.5, 0], { fd: false })).toEqual([2 * 0.5 * 2, 0]);
  });

  it('a variable given another one\'s tangent keeps it when that one changes', () => {
    for (const [x, y] of [[0.5, 2], [-1.5, 0.3]] as const) check(aliasing, [x, y]);
    const g = grad(aliasing, { mode: 'forward' })(0.5, 2) as number[];
    const ga = grad(aliasing)(0.5, 2) as number[];
    expectCloseAll(g, ga, 1e-12, 'two directions (chunked)');
  });

  it('arrow functions declared together', () => {
    for (const y of [0.4, -1.2]) check(arrowB, [y], { formula: [4 * y + Math.exp(y)] });
  });

  it('recursion and mutual recursion', () => {
    for (const x of [-1.3, 0.7, 1.1]) {
      check(power, [x, 7], { argnums: 0, formula: [7 * x ** 6] });
      check(isEven, [x, 5], { argnums: 0 });
    }
  });
});

describe('generated tangent code: arrays, data and locals', () => {
  it('Rosenbrock (a loop over an array argument), against the closed form', () => {
    const x = [0.5, -0.3, 1.2, 0.8, -1.1];
    const formula = x.map((_, i) => {
      let d = 0;
      if (i < x.length - 1) d += -400 * x[i]! * (x[i + 1]! - x[i]! ** 2) - 2 * (1 - x[i]!);
      if (i > 0) d += 200 * (x[i]! - x[i - 1]! ** 2);
      return d;
    });
    check(rosen, [x], { formula });
    check(rosen, [Float64Array.from(x)], { formula });
  });

  it('early return and break inside a loop', () => {
    for (const x of [[0.1, 0.2, 0.3], [0.5, 11, 0.2], [0.4, -12, 3]]) {
      const g = check(earlyReturns, [x]);
      g.forEach((gi, i) => expect(close(gi, fdArray(earlyReturns, x, [], i), 1e-6)).toBe(true));
    }
  });

  it('local arrays: literals, push, element writes, compound writes, fill, reassignment, for-of', () => {
    const x = [0.3, -0.7, 1.1];
    const g = check(localArrays, [x, 1.4]);
    g.slice(0, 3).forEach((gi, i) => expect(close(gi, fdArray(localArrays, x, [1.4], i), 1e-6)).toBe(true));
  });

  it('a compiled function returning an array', () => {
    check(usesArrayCall, [[0.3, -0.7, 1.1], 1.4]);
  });

  it('a plain-object data argument is passive (argnums)', () => {
    const data = { xs: [1, 2, 3], ys: [2, 4.1, 5.9], weight: 0.5 };
    const p = [1.9, 0.2];
    const g = check(mse, [p, data], { argnums: 0 });
    g.forEach((gi, i) => expect(close(gi, fdArray(mse as never, p, [data], i), 1e-6)).toBe(true));
    // Differentiating the data itself goes to the Dual runtime, which handles it.
    const both = grad(mse as never, { mode: "forward" })(p, data) as unknown as [number[], Data];
    expect(both[1].weight).toBeCloseTo(mse(p, { ...data, weight: 1 }), 12);
  });

  it('an array argument the function writes to is left as it was', () => {
    const x = [0.3, -0.7, 1.1];
    const before = x.slice();
    grad(localArrays, { mode: 'forward' })(x, 2);
    expect(x).toEqual(before);
  });
});

describe('generated tangent code: programs that are easy to get wrong', () => {
  it('shadowing, var hoisting, impure indices, compound element writes, declarations without value', () => {
    check(shadowing, [0.7, -1.3]);
    const x = [0.3, -0.8, 1.7];
    const g = check(impureIndex, [x, 1.9]);
    g.slice(0, 3).forEach((gi, i) => expect(close(gi, fdArray(impureIndex as never, x, [1.9], i), 1e-6)).toBe(true));
  });

  it('powers with both sides differentiated, a three-way max with a tie, nested ternaries', () => {
    for (const [x, y] of [[1.3, 0.7], [0.6, 2.1], [1.5, 1.5]] as const) check(powers, [x, y], { fd: x !== y });
  });

  it('parameters reassigned in the body (also in chunks of two directions)', () => {
    check(reassignsParam, [0.4, 1.2]);
  });

  it('a function that writes into its array argument, which the caller keeps intact', () => {
    expect(hasTangentCode(writesArgument)).toBe(true);
    const x = [1.5, -0.5];
    const [v, g] = valueAndGrad(writesArgument, { mode: 'forward' })(x);
    expect(x).toEqual([1.5, -0.5]);
    expect(Object.is(v, writesArgument(x.slice()))).toBe(true);
    setTangentTier(false);
    const dual = grad(writesArgument, { mode: 'forward' })(x);
    setTangentTier(true);
    expectCloseAll(g, dual, 1e-12, 'vs Dual runtime');
    expectCloseAll(g, grad(writesArgument)(x), 1e-12, 'vs reverse');
    // f = 3 x0 x1: the gradient is (3 x1, 3 x0)
    expectCloseAll(g, [3 * x[1]!, 3 * x[0]!], 1e-12, 'vs formula');
  });

  it('switch with fall-through, labelled continue, return from a case', () => {
    for (const k of [0, 1, 2, 3]) check(fallThrough, [0.8, k], { argnums: 0 });
  });

  it('Math.max/min/hypot spread over arrays, ties included', () => {
    const x = [0.4, -1.1, 0.9, 2.2];
    const g = check(spreads, [x]);
    g.forEach((gi, i) => expect(close(gi, fdArray(spreads, x, [], i), 1e-6)).toBe(true));
    check(spreads, [[1, 1, -1, -1]]);
    check(spreads, [Array.from({ length: 40 }, (_, i) => Math.cos(i * 3))]);
  });

  it('stopGradient makes a constant', () => {
    // d/dx = c = xy, d/dy = y (the stopped y is a constant, the other y is not)
    const g = check(stopped, [0.7, 1.3], { fd: false, formula: [0.7 * 1.3, 1.3] });
    expect(g).toHaveLength(2);
  });

  it('for-of with break, a recursive function building arrays', () => {
    const x = [0.4, -1.1, 0.9, 2.2];
    const g = check(callsSumOf, [x]);
    g.forEach((gi, i) => expect(close(gi, fdArray(callsSumOf, x, [], i), 1e-6)).toBe(true));
  });
});

describe('generated tangent code: conventions at kinks', () => {
  it("abs'(0) = 0, ties of max/min split evenly, hypot at the origin 0", () => {
    const g = check(kinks, [0, 0], { fd: false });
    // abs: 0; max and min of a tie: 1/2 each for both arguments; hypot: 0.
    expect(g).toEqual([1, 1]);
    expect(check(kinks, [1, 1], { fd: false })).toEqual([1 + 0.5 + 0.5 + Math.SQRT1_2, 0.5 + 0.5 + Math.SQRT1_2]);
  });

  it('0 × ∞ = 0: sqrt(x²) at 0 does not turn the other derivative into NaN', () => {
    const g = check(sqrtOfSquare, [0, 2], { fd: false });
    expect(g[1]).toBe(1);
  });
});

describe('generated tangent code: chunks', () => {
  const wide = (x: number[]) => rosen(x) + earlyReturns(x);
  for (const n of [1, 2, 31, 32, 33, 100]) {
    it(`n = ${n}: generated equals the Dual runtime and reverse mode`, () => {
      const x = Array.from({ length: n }, (_, i) => Math.sin(i + 1) * 0.9);
      check(rosen, [x]);
      for (const chunk of [1, 7, 32]) {
        const gen = grad(rosen, { mode: 'forward', chunk })(x);
        setTangentTier(false);
        const dual = grad(rosen, { mode: 'forward', chunk })(x);
        setTangentTier(true);
        expectCloseAll(flat(gen), flat(dual), 1e-12, `chunk ${chunk}`);
      }
      void wide;
    });
  }

  it('argnums order seeds the right leaves', () => {
    const [da, dx] = grad(localArrays, { mode: 'forward', argnums: [1, 0] })([0.3, -0.7, 1.1], 1.4) as [number, number[]];
    const [dx2, da2] = grad(localArrays, { argnums: [0, 1] })([0.3, -0.7, 1.1], 1.4) as [number[], number];
    expect(close(da, da2, 1e-12)).toBe(true);
    expectCloseAll(dx, dx2, 1e-12, 'dx');
  });
});

describe('generated tangent code: jvp and jacobian', () => {
  it('jvp of a vector function equals the Dual runtime', () => {
    const primals = [[0.2, -0.4, 0.9], 1.3] as [number[], number];
    const tangents = [[1, 0.5, -2], 0.25] as [number[], number];
    const [v, t] = jvp(vectorOut, primals, tangents);
    setTangentTier(false);
    const [vd, td] = jvp(vectorOut, primals, tangents);
    setTangentTier(true);
    expect(v).toEqual(vd);
    expectCloseAll(flat(t), flat(td), 1e-12, 'jvp');
    expect(v).toEqual(vectorOut(...primals));
  });

  it('jvp with a zero tangent for one argument, a Float32Array argument, jacobian of a number', () => {
    const [v, t] = jvp(localArrays, [[0.3, -0.7, 1.1], 1.4], [[0, 0, 0], 1]);
    expect(Object.is(v, localArrays([0.3, -0.7, 1.1], 1.4))).toBe(true);
    const da = (grad(localArrays, { argnums: 1 }) as (x: number[], a: number) => number)([0.3, -0.7, 1.1], 1.4);
    expect(close(t as number, da, 1e-12)).toBe(true);
    const x32 = Float32Array.from([0.5, -0.3, 1.2]);
    const g32 = grad(rosen, { mode: 'forward' })(x32 as never) as unknown as Float64Array;
    expect(g32).toBeInstanceOf(Float64Array);
    expectCloseAll(Array.from(g32), flat(grad(rosen)(Array.from(x32))), 1e-12, 'Float32Array');
    const j = jacobian(rosen, { mode: 'forward' })([0.5, -0.3, 1.2]);
    expect(j).toHaveLength(1);
    expectCloseAll(j[0]!, flat(grad(rosen)([0.5, -0.3, 1.2])), 1e-12, 'jacobian row');
  });

  it('forward jacobian equals the Dual runtime and reverse jacobian', () => {
    const x = Array.from({ length: 40 }, (_, i) => Math.cos(i));
    const jf = jacobian(vectorOut, { mode: 'forward' })(x, 0.7);
    const jr = jacobian(vectorOut, { mode: 'reverse' })(x, 0.7);
    setTangentTier(false);
    const jd = jacobian(vectorOut, { mode: 'forward' })(x, 0.7);
    setTangentTier(true);
    expectCloseAll(jf.flat(), jd.flat(), 1e-12, 'jacobian vs Dual');
    expectCloseAll(jf.flat(), jr.flat(), 1e-12, 'jacobian vs reverse');
  });
});

describe('generated tangent code: fallbacks and failures', () => {
  it('what it cannot compile keeps the Dual runtime, with the right derivative', () => {
    expect(hasTangentCode(withClosure)).toBe(false);
    expect(hasTangentCode(writesOuter)).toBe(false);
    expect(hasTangentCode(callsWithClosure)).toBe(false);
    expect(hasTangentCode(withFinally)).toBe(false);
    expect(grad(withFinally, { mode: 'forward' })(1.5)).toBe(3);
    expect(grad(withClosure, { mode: 'forward' })(1.5)).toBeCloseTo(3, 12);
    expect(grad(callsWithClosure, { mode: 'forward' })(1.5)).toBeCloseTo(6, 12);
    expect(grad(writesOuter, { mode: 'forward' })(1.5)).toBe(3);
    void cached;
  });

  it('an exception leaves nothing behind for the next call', () => {
    const g = grad(throwsOnNegative, { mode: 'forward' });
    expect(() => g(-1)).toThrow(RangeError);
    expect(g(2)).toBe(12);
    const gs = grad((x: number[]) => throwsOnNegative(x[0]!) + x[1]!, { mode: 'forward' });
    expect(() => gs([-1, 2])).toThrow(RangeError);
    expect(gs([2, 5])).toEqual([12, 1]);
  });

  it('nested derivatives stay on the Dual runtime (no perturbation confusion)', () => {
    // d/dx [x · d/dy (x + y)] = 1
    const inner = (x: number) => grad((y: number) => x + y, { mode: 'forward' })(1);
    const outer = grad((x: number) => x * inner(x), { mode: 'forward' });
    expect(outer(3)).toBe(1);
    expect(grad((x: number) => grad(poly, { mode: 'forward' })(x), { mode: 'forward' })(2)).toBe(36);
  });

  it('DUALTAPE_TIER=tape turns the generated code off', () => {
    const dist = fileURLToPath(new URL('../dist/runtime/tangent.js', import.meta.url));
    const script =
      `import { registerTangent, tangentCodeOf } from ${JSON.stringify(dist)};` +
      `const f = () => 0; registerTangent(f, f, f, 'n', '0'); console.log(tangentCodeOf(f) === undefined ? 'off' : 'on');`;
    const run = (tier: string | undefined) =>
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, DUALTAPE_TIER: tier }, encoding: 'utf8' }).trim();
    expect(run('tape')).toBe('off');
    expect(run('')).toBe('on');
  });
});
