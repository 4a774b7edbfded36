/**
 * Conventions at points where a derivative does not exist (or is infinite):
 *
 * - d|x|/dx at 0 is 0
 * - Math.max / Math.min: ties split the derivative evenly among the tied
 *   arguments (two tied -> 1/2 each, three -> 1/3 each)
 * - sqrt at 0 gives +Infinity when a derivative flows through it
 * - a zero tangent / adjoint / partial contributes nothing (0 * Infinity = 0),
 *   so d/dx sqrt(x * x) at 0 is 0 and d/dy [sqrt(x) + y] at x = 0 is 1
 * - Math.fround has derivative 1
 * - hypot at the origin has derivative 0
 * - piecewise-constant functions have derivative 0, even at their jumps
 *
 * Every case is checked in both modes (which must agree exactly, including
 * infinities). Where the convention coincides with the symmetric difference
 * quotient (|x| at 0, two-way ties, hypot at the origin) finite differences
 * are checked too; elsewhere they are switched off.
 */
import { describe, it, expect } from 'vitest';
import { grad, valueAndGrad } from 'dualtape';
import { checkGrad, fdDerivative } from './helpers/check.js';

const NO_FD = { fd: false } as const;

// ---------------------------------------------------------------------------
// |x|
// ---------------------------------------------------------------------------
const absX = (x: number) => Math.abs(x);
const absShift = (x: number) => Math.abs(x - 1) * 3;
const absOfSquare = (x: number) => Math.abs(x * x - 4);
const xAbsX = (x: number) => x * Math.abs(x);
const absSin = (x: number) => Math.abs(Math.sin(x)) + x;

describe('abs at 0', () => {
  it('d|x|/dx at 0 is 0 (and ±1 elsewhere)', () => {
    const fns = { f: absX, rev: grad(absX), fwd: grad(absX, { mode: 'forward' }) };
    checkGrad(fns, [0], 0); // the symmetric difference quotient is 0 too
    checkGrad(fns, [-0], 0);
    checkGrad(fns, [1e-300], 1, NO_FD);
    checkGrad(fns, [-1e-300], -1, NO_FD);
  });
  it('at a shifted kink', () => {
    const fns = { f: absShift, rev: grad(absShift), fwd: grad(absShift, { mode: 'forward' }) };
    checkGrad(fns, [1], 0);
    checkGrad(fns, [1.5], 3);
    checkGrad(fns, [0.5], -3);
  });
  it('composed: the kink of |x^2 - 4| at x = 2 gives 0, not ±4', () => {
    const fns = { f: absOfSquare, rev: grad(absOfSquare), fwd: grad(absOfSquare, { mode: 'forward' }) };
    checkGrad(fns, [2], 0, NO_FD);
    checkGrad(fns, [-2], 0, NO_FD);
    checkGrad(fns, [2.5], 5);
    checkGrad(fns, [1], -2);
  });
  it('x |x| is differentiable at 0 with derivative 0', () => {
    const fns = { f: xAbsX, rev: grad(xAbsX), fwd: grad(xAbsX, { mode: 'forward' }) };
    checkGrad(fns, [0], 0, NO_FD); // x|x| has a kink in its second derivative: Richardson does not apply
    checkGrad(fns, [-1.5], 3);
  });
  it('|sin x| + x at 0', () => {
    const fns = { f: absSin, rev: grad(absSin), fwd: grad(absSin, { mode: 'forward' }) };
    checkGrad(fns, [0], 1);
  });
});

// ---------------------------------------------------------------------------
// max / min ties
// ---------------------------------------------------------------------------
const max2 = (x: number, y: number) => Math.max(x, y);
const min2 = (x: number, y: number) => Math.min(x, y);
const max3 = (x: number, y: number, z: number) => Math.max(x, y, z);
const min3 = (x: number, y: number, z: number) => Math.min(x, y, z);
const maxConst = (x: number) => Math.max(x, 1) * 2;
const maxSelf = (x: number) => Math.max(x, x);
const minScaled = (x: number) => Math.min(x, 2 * x);
const maxNeg = (x: number) => Math.max(x, -x);
const maxSpread = (xs: number[]) => Math.max(...xs);
const relu = (x: number) => Math.max(0, x);

describe('Math.max / Math.min ties split evenly', () => {
  it('two tied arguments get 1/2 each', () => {
    const mx = { f: max2, rev: grad(max2), fwd: grad(max2, { mode: 'forward' }) };
    const mn = { f: min2, rev: grad(min2), fwd: grad(min2, { mode: 'forward' }) };
    // for a two-way tie the convention is the symmetric difference quotient: FD applies
    checkGrad(mx, [1, 1], [0.5, 0.5]);
    checkGrad(mn, [1, 1], [0.5, 0.5]);
    checkGrad(mx, [-2.5, -2.5], [0.5, 0.5]);
    checkGrad(mx, [0, 0], [0.5, 0.5]);
    // no tie
    checkGrad(mx, [1, 2], [0, 1]);
    checkGrad(mn, [1, 2], [1, 0]);
  });
  it('three tied arguments get 1/3 each; two of three tied get 1/2', () => {
    const mx = { f: max3, rev: grad(max3), fwd: grad(max3, { mode: 'forward' }) };
    const mn = { f: min3, rev: grad(min3), fwd: grad(min3, { mode: 'forward' }) };
    checkGrad(mx, [2, 2, 2], [1 / 3, 1 / 3, 1 / 3], NO_FD);
    checkGrad(mn, [2, 2, 2], [1 / 3, 1 / 3, 1 / 3], NO_FD);
    checkGrad(mx, [2, 1, 2], [0.5, 0, 0.5]);
    checkGrad(mn, [1, 2, 1], [0.5, 0, 0.5]);
    // the tie is for the max only: a tie among the losers does not matter
    checkGrad(mx, [1, 1, 2], [0, 0, 1]);
  });
  it('a tie with a constant: the active argument gets 1/2', () => {
    const fns = { f: maxConst, rev: grad(maxConst), fwd: grad(maxConst, { mode: 'forward' }) };
    checkGrad(fns, [1], 1); // 2 * 1/2
    checkGrad(fns, [3], 2);
    checkGrad(fns, [0], 0);
    const r = { f: relu, rev: grad(relu), fwd: grad(relu, { mode: 'forward' }) };
    checkGrad(r, [0], 0.5);
    checkGrad(r, [-1], 0);
    checkGrad(r, [2], 1);
  });
  it('the same value passed twice adds up its halves', () => {
    checkGrad({ f: maxSelf, rev: grad(maxSelf), fwd: grad(maxSelf, { mode: 'forward' }) }, [1.5], 1);
    // min(x, 2x) at 0: 1/2 * 1 + 1/2 * 2
    checkGrad({ f: minScaled, rev: grad(minScaled), fwd: grad(minScaled, { mode: 'forward' }) }, [0], 1.5);
    // max(x, -x) at 0: 1/2 - 1/2
    checkGrad({ f: maxNeg, rev: grad(maxNeg), fwd: grad(maxNeg, { mode: 'forward' }) }, [0], 0);
  });
  it('ties through spread arguments', () => {
    const fns = { f: maxSpread, rev: grad(maxSpread), fwd: grad(maxSpread, { mode: 'forward' }) };
    checkGrad(fns, [[3, 1, 3, 3]], [1 / 3, 0, 1 / 3, 1 / 3], NO_FD);
    checkGrad(fns, [[3, 1, 3]], [0.5, 0, 0.5]);
    checkGrad(fns, [[0.5, 4, 2]], [0, 1, 0]);
  });
  it('sanity: the symmetric difference quotient of a two-way tie is 1/2', () => {
    expect(fdDerivative((t) => Math.max(t, 1), 1)).toBeCloseTo(0.5, 12);
  });
});

// ---------------------------------------------------------------------------
// sqrt at 0 and the zero convention
// ---------------------------------------------------------------------------
const sqrtX = (x: number) => Math.sqrt(x);
const sqrtScaled = (x: number) => 3 * Math.sqrt(x) + x;
const sqrtOfSquare = (x: number) => Math.sqrt(x * x);
const norm2 = (x: number, y: number) => Math.sqrt(x * x + y * y);
const sqrtPlusY = (x: number, y: number) => Math.sqrt(x) + y;
const sqrtTimesY = (x: number, y: number) => Math.sqrt(x) * y;
const sqrtTimesZero = (x: number, y: number) => Math.sqrt(x) * 0 + y * 2;
const cbrtX = (x: number) => Math.cbrt(x);
const cosSqrt = (x: number) => Math.cos(Math.sqrt(x));
const absSqrtPlusY = (x: number, y: number) => Math.abs(Math.sqrt(x)) + y;

describe('sqrt at 0', () => {
  it('d/dx sqrt(x) at 0 is +Infinity', () => {
    const fns = { f: sqrtX, rev: grad(sqrtX), fwd: grad(sqrtX, { mode: 'forward' }) };
    const { rev, fwd } = checkGrad(fns, [0], Infinity, NO_FD);
    expect(rev).toBe(Infinity);
    expect(fwd).toBe(Infinity);
    const s = { f: sqrtScaled, rev: grad(sqrtScaled), fwd: grad(sqrtScaled, { mode: 'forward' }) };
    checkGrad(s, [0], Infinity, NO_FD);
  });
  it('d/dx cbrt(x) at 0 is +Infinity as well', () => {
    checkGrad({ f: cbrtX, rev: grad(cbrtX), fwd: grad(cbrtX, { mode: 'forward' }) }, [0], Infinity, NO_FD);
  });
  it('d/dx sqrt(x * x) at 0 is 0 (the zero inner tangent/adjoint wins over the infinite partial)', () => {
    const fns = { f: sqrtOfSquare, rev: grad(sqrtOfSquare), fwd: grad(sqrtOfSquare, { mode: 'forward' }) };
    checkGrad(fns, [0], 0);
    checkGrad(fns, [-2], -1);
    checkGrad(fns, [0.5], 1);
  });
  it('the Euclidean norm written with sqrt at the origin: 0, not NaN', () => {
    const fns = { f: norm2, rev: grad(norm2), fwd: grad(norm2, { mode: 'forward' }) };
    checkGrad(fns, [0, 0], [0, 0]);
    checkGrad(fns, [3, -4], [0.6, -0.8]);
  });
  it('d/dy [sqrt(x) + y] at x = 0 is 1 (the infinity does not leak into y)', () => {
    const fns = { f: sqrtPlusY, rev: grad(sqrtPlusY), fwd: grad(sqrtPlusY, { mode: 'forward' }) };
    checkGrad(fns, [0, 2], [Infinity, 1], NO_FD);
    const onlyY = {
      f: sqrtPlusY,
      rev: grad(sqrtPlusY, { argnums: 1 }),
      fwd: grad(sqrtPlusY, { mode: 'forward', argnums: 1 }),
      argnums: 1,
    };
    checkGrad(onlyY, [0, 2], 1);
    const [v, g] = valueAndGrad(sqrtPlusY, { argnums: 1 })(0, 2);
    expect(v).toBe(2);
    expect(g).toBe(1);
  });
  it('a zero partial contributes nothing: d/dx [sqrt(x) * y] at (0, 0) is 0', () => {
    const fns = { f: sqrtTimesY, rev: grad(sqrtTimesY), fwd: grad(sqrtTimesY, { mode: 'forward' }) };
    checkGrad(fns, [0, 0], [0, 0], NO_FD);
    // with y != 0 the infinity is real
    checkGrad(fns, [0, 2], [Infinity, 0], NO_FD);
    checkGrad(fns, [4, 2], [0.5, 2]);
  });
  it('a zero partial of a unary function stops the infinite tangent: d/dx cos(sqrt x) at 0 is 0 in both modes', () => {
    const fns = { f: cosSqrt, rev: grad(cosSqrt), fwd: grad(cosSqrt, { mode: 'forward' }) };
    checkGrad(fns, [0], 0, NO_FD);
    checkGrad(fns, [0.25], -Math.sin(0.5) / (2 * 0.5));
  });
  it('|sqrt(x)| at 0: the abs partial 0 wins over the infinity, y unaffected', () => {
    const fns = { f: absSqrtPlusY, rev: grad(absSqrtPlusY), fwd: grad(absSqrtPlusY, { mode: 'forward' }) };
    checkGrad(fns, [0, -1], [0, 1], NO_FD);
  });
  it('multiplying by a literal 0 removes the infinity', () => {
    const fns = { f: sqrtTimesZero, rev: grad(sqrtTimesZero), fwd: grad(sqrtTimesZero, { mode: 'forward' }) };
    checkGrad(fns, [0, 1.5], [0, 2], NO_FD);
  });
});

// ---------------------------------------------------------------------------
// fround, hypot at the origin, piecewise-constant functions, pow at 0
// ---------------------------------------------------------------------------
const froundX = (x: number) => Math.fround(x);
const froundChain = (x: number) => Math.fround(x * x) * 2;
const hypot2 = (x: number, y: number) => Math.hypot(x, y);
const hypot3 = (x: number, y: number, z: number) => Math.hypot(x, y, z);
const hypot1 = (x: number) => Math.hypot(x);
const hypotConst = (x: number) => Math.hypot(x, 0);
const steps = (x: number) => Math.floor(x) + Math.ceil(x) + Math.round(x) + Math.trunc(x) + Math.sign(x) + (x | 0);
const powZeroExp = (x: number) => x ** 0;
const powXY = (x: number, y: number) => x ** y;
const powSquare = (x: number) => x ** 2 + Math.pow(x, 1);

describe('other conventions', () => {
  it('Math.fround has derivative exactly 1', () => {
    const fns = { f: froundX, rev: grad(froundX), fwd: grad(froundX, { mode: 'forward' }) };
    for (const x of [0.1, -3.3, 0, 1e10]) {
      const { rev, fwd } = checkGrad(fns, [x], 1, NO_FD);
      expect(rev).toBe(1);
      expect(fwd).toBe(1);
    }
    const c = { f: froundChain, rev: grad(froundChain), fwd: grad(froundChain, { mode: 'forward' }) };
    checkGrad(c, [0.7], 4 * 0.7, NO_FD);
  });
  it('hypot at the origin has derivative 0', () => {
    checkGrad({ f: hypot2, rev: grad(hypot2), fwd: grad(hypot2, { mode: 'forward' }) }, [0, 0], [0, 0]);
    checkGrad({ f: hypot3, rev: grad(hypot3), fwd: grad(hypot3, { mode: 'forward' }) }, [0, 0, 0], [0, 0, 0]);
    checkGrad({ f: hypot1, rev: grad(hypot1), fwd: grad(hypot1, { mode: 'forward' }) }, [0], 0);
    checkGrad({ f: hypotConst, rev: grad(hypotConst), fwd: grad(hypotConst, { mode: 'forward' }) }, [0], 0);
    // and away from it, x / hypot
    checkGrad({ f: hypotConst, rev: grad(hypotConst), fwd: grad(hypotConst, { mode: 'forward' }) }, [-2], -1);
  });
  it('floor, ceil, round, trunc, sign and bitwise ops have derivative 0 even at their jumps', () => {
    const fns = { f: steps, rev: grad(steps), fwd: grad(steps, { mode: 'forward' }) };
    for (const x of [0, 2, -1, 0.5, -2.5]) checkGrad(fns, [x], 0, NO_FD);
    checkGrad(fns, [1.3], 0);
  });
  it('x ** 0 is flat, also at x = 0', () => {
    const fns = { f: powZeroExp, rev: grad(powZeroExp), fwd: grad(powZeroExp, { mode: 'forward' }) };
    checkGrad(fns, [0], 0);
    checkGrad(fns, [-2], 0);
  });
  it('x ** 2 + x ** 1 at 0 has derivative 1', () => {
    const fns = { f: powSquare, rev: grad(powSquare), fwd: grad(powSquare, { mode: 'forward' }) };
    checkGrad(fns, [0], 1);
  });
  it('d/dy 0 ** y = 0 for y > 0 (the function is identically 0 there)', () => {
    const onlyY = { f: powXY, rev: grad(powXY, { argnums: 1 }), fwd: grad(powXY, { mode: 'forward', argnums: 1 }), argnums: 1 };
    checkGrad(onlyY, [0, 2], 0);
    checkGrad(onlyY, [0, 0.5], 0);
    const both = { f: powXY, rev: grad(powXY), fwd: grad(powXY, { mode: 'forward' }) };
    // d/dx x^2 at 0 is 0; d/dy is 0
    checkGrad(both, [0, 2], [0, 0], NO_FD);
  });
});
