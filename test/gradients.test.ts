/**
 * Derivatives of every operator and every supported Math function, checked
 * three ways (reverse vs forward, vs finite differences, vs the hand-derived
 * formula) at several points of each function's domain.
 */
import { describe, it, expect } from 'vitest';
import { grad, valueAndGrad } from 'dualtape';
import { checkGrad, checkValueAndGrad, fdDerivative } from './helpers/check.js';
import type { GradFns } from './helpers/check.js';

const LN2 = Math.LN2;
const LN10 = Math.LN10;

// ---------------------------------------------------------------------------
// The checker itself must be able to fail (no library involved here).
// ---------------------------------------------------------------------------
describe('checker sanity', () => {
  const sq = (x: number) => x * x;
  it('accepts a correct gradient', () => {
    expect(() => checkGrad({ f: sq, rev: (x: number) => 2 * x, fwd: (x: number) => 2 * x }, [1.7], 3.4)).not.toThrow();
  });
  it('rejects reverse/forward disagreement', () => {
    expect(() => checkGrad({ f: sq, rev: (x: number) => 2 * x, fwd: (x: number) => 2 * x * (1 + 1e-10) }, [1.7])).toThrow(
      /reverse vs forward/,
    );
  });
  it('rejects a gradient that disagrees with finite differences', () => {
    expect(() => checkGrad({ f: sq, rev: (x: number) => 2 * x + 1e-5, fwd: (x: number) => 2 * x + 1e-5 }, [1.7])).toThrow(
      /finite differences/,
    );
  });
  it('rejects a gradient that disagrees with the expected value', () => {
    expect(() => checkGrad({ f: sq, rev: (x: number) => 2 * x, fwd: (x: number) => 2 * x }, [1.7], 3.5)).toThrow(/expected/);
  });
  it('rejects a gradient of the wrong shape', () => {
    const f = (xs: number[]) => xs[0]! * xs[1]!;
    const g = (xs: number[]) => new Float64Array([xs[1]!, xs[0]!]);
    expect(() => checkGrad({ f, rev: g, fwd: g }, [[2, 3]])).toThrow(/shape/);
    const h = (xs: Float32Array) => [xs[1]!, xs[0]!];
    expect(() => checkGrad({ f: (xs: Float32Array) => xs[0]! * xs[1]!, rev: h, fwd: h }, [new Float32Array([2, 3])])).toThrow(
      /shape/,
    );
  });
  it('finite differences of a Float32Array argument are accurate', () => {
    const f = (xs: Float32Array) => Math.sin(xs[0]!) * xs[1]!;
    const g = (xs: Float32Array) => new Float64Array([Math.cos(xs[0]!) * xs[1]!, Math.sin(xs[0]!)]);
    expect(() => checkGrad({ f, rev: g, fwd: g }, [new Float32Array([0.3, 1.1])])).not.toThrow();
  });
  it('fdDerivative is accurate to ~1e-10 on smooth functions', () => {
    expect(Math.abs(fdDerivative(Math.exp, 1.3) - Math.exp(1.3))).toBeLessThan(1e-10);
    expect(Math.abs(fdDerivative(Math.sin, -2) - Math.cos(-2))).toBeLessThan(1e-10);
  });
});

// ---------------------------------------------------------------------------
// Math functions, each applied directly to the input
// ---------------------------------------------------------------------------
const fAbs = (x: number) => Math.abs(x);
const fSqrt = (x: number) => Math.sqrt(x);
const fCbrt = (x: number) => Math.cbrt(x);
const fExp = (x: number) => Math.exp(x);
const fExpm1 = (x: number) => Math.expm1(x);
const fLog = (x: number) => Math.log(x);
const fLog1p = (x: number) => Math.log1p(x);
const fLog2 = (x: number) => Math.log2(x);
const fLog10 = (x: number) => Math.log10(x);
const fSin = (x: number) => Math.sin(x);
const fCos = (x: number) => Math.cos(x);
const fTan = (x: number) => Math.tan(x);
const fAsin = (x: number) => Math.asin(x);
const fAcos = (x: number) => Math.acos(x);
const fAtan = (x: number) => Math.atan(x);
const fSinh = (x: number) => Math.sinh(x);
const fCosh = (x: number) => Math.cosh(x);
const fTanh = (x: number) => Math.tanh(x);
const fAsinh = (x: number) => Math.asinh(x);
const fAcosh = (x: number) => Math.acosh(x);
const fAtanh = (x: number) => Math.atanh(x);
const fPow3 = (x: number) => Math.pow(x, 3);
const fPowHalf = (x: number) => Math.pow(x, 2.5);
const fPowNeg = (x: number) => Math.pow(x, -2);
const fPowBase = (x: number) => Math.pow(2, x);
const fHypot1 = (x: number) => Math.hypot(x);

type Unary = [name: string, fns: GradFns, d: (x: number) => number, points: number[]];

const unaryCases: Unary[] = [
  ['abs', { f: fAbs, rev: grad(fAbs), fwd: grad(fAbs, { mode: 'forward' }) }, (x) => Math.sign(x), [-2.5, -0.1, 0.3, 3.1]],
  ['sqrt', { f: fSqrt, rev: grad(fSqrt), fwd: grad(fSqrt, { mode: 'forward' }) }, (x) => 0.5 / Math.sqrt(x), [0.3, 2, 10, 1e4]],
  ['cbrt', { f: fCbrt, rev: grad(fCbrt), fwd: grad(fCbrt, { mode: 'forward' }) }, (x) => 1 / (3 * Math.cbrt(x) ** 2), [-8, -0.5, 0.7, 27]],
  ['exp', { f: fExp, rev: grad(fExp), fwd: grad(fExp, { mode: 'forward' }) }, (x) => Math.exp(x), [-3, 0, 1.5, 5]],
  ['expm1', { f: fExpm1, rev: grad(fExpm1), fwd: grad(fExpm1, { mode: 'forward' }) }, (x) => Math.exp(x), [-2, 1e-3, 0.5]],
  ['log', { f: fLog, rev: grad(fLog), fwd: grad(fLog, { mode: 'forward' }) }, (x) => 1 / x, [0.1, 1, 7, 1e3]],
  ['log1p', { f: fLog1p, rev: grad(fLog1p), fwd: grad(fLog1p, { mode: 'forward' }) }, (x) => 1 / (1 + x), [-0.5, 0, 3]],
  ['log2', { f: fLog2, rev: grad(fLog2), fwd: grad(fLog2, { mode: 'forward' }) }, (x) => 1 / (x * LN2), [0.25, 3, 64]],
  ['log10', { f: fLog10, rev: grad(fLog10), fwd: grad(fLog10, { mode: 'forward' }) }, (x) => 1 / (x * LN10), [0.5, 100]],
  ['sin', { f: fSin, rev: grad(fSin), fwd: grad(fSin, { mode: 'forward' }) }, (x) => Math.cos(x), [-2, 0, 0.3, 1.2, 10]],
  ['cos', { f: fCos, rev: grad(fCos), fwd: grad(fCos, { mode: 'forward' }) }, (x) => -Math.sin(x), [-2, 0.3, 1.2, 10]],
  ['tan', { f: fTan, rev: grad(fTan), fwd: grad(fTan, { mode: 'forward' }) }, (x) => 1 / Math.cos(x) ** 2, [-1.2, -0.3, 0, 0.9]],
  ['asin', { f: fAsin, rev: grad(fAsin), fwd: grad(fAsin, { mode: 'forward' }) }, (x) => 1 / Math.sqrt(1 - x * x), [-0.9, 0, 0.5]],
  ['acos', { f: fAcos, rev: grad(fAcos), fwd: grad(fAcos, { mode: 'forward' }) }, (x) => -1 / Math.sqrt(1 - x * x), [-0.9, 0, 0.5]],
  ['atan', { f: fAtan, rev: grad(fAtan), fwd: grad(fAtan, { mode: 'forward' }) }, (x) => 1 / (1 + x * x), [-5, 0.2, 3]],
  ['sinh', { f: fSinh, rev: grad(fSinh), fwd: grad(fSinh, { mode: 'forward' }) }, (x) => Math.cosh(x), [-2, 0, 0.4, 1.5]],
  ['cosh', { f: fCosh, rev: grad(fCosh), fwd: grad(fCosh, { mode: 'forward' }) }, (x) => Math.sinh(x), [-2, 0.4, 1.5]],
  ['tanh', { f: fTanh, rev: grad(fTanh), fwd: grad(fTanh, { mode: 'forward' }) }, (x) => 1 / Math.cosh(x) ** 2, [-2, 0, 0.4, 1.5]],
  ['asinh', { f: fAsinh, rev: grad(fAsinh), fwd: grad(fAsinh, { mode: 'forward' }) }, (x) => 1 / Math.sqrt(x * x + 1), [-3, 0, 0.5]],
  ['acosh', { f: fAcosh, rev: grad(fAcosh), fwd: grad(fAcosh, { mode: 'forward' }) }, (x) => 1 / Math.sqrt(x * x - 1), [1.5, 4]],
  ['atanh', { f: fAtanh, rev: grad(fAtanh), fwd: grad(fAtanh, { mode: 'forward' }) }, (x) => 1 / (1 - x * x), [-0.7, 0, 0.2]],
  ['pow(x, 3)', { f: fPow3, rev: grad(fPow3), fwd: grad(fPow3, { mode: 'forward' }) }, (x) => 3 * x * x, [-2, -1.7, 0, 0.4, 3]],
  ['pow(x, 2.5)', { f: fPowHalf, rev: grad(fPowHalf), fwd: grad(fPowHalf, { mode: 'forward' }) }, (x) => 2.5 * x ** 1.5, [0.3, 1.3, 4]],
  ['pow(x, -2)', { f: fPowNeg, rev: grad(fPowNeg), fwd: grad(fPowNeg, { mode: 'forward' }) }, (x) => -2 / x ** 3, [-0.8, 0.5, 3]],
  ['pow(2, x)', { f: fPowBase, rev: grad(fPowBase), fwd: grad(fPowBase, { mode: 'forward' }) }, (x) => 2 ** x * LN2, [-1.3, 0, 0.5, 4]],
  ['hypot(x)', { f: fHypot1, rev: grad(fHypot1), fwd: grad(fHypot1, { mode: 'forward' }) }, (x) => Math.sign(x), [-2, 0.7]],
];

describe('Math functions (direct)', () => {
  for (const [name, fns, d, points] of unaryCases) {
    it(`Math.${name} at ${points.join(', ')}`, () => {
      for (const x of points) checkGrad(fns, [x], d(x));
    });
  }

  it('Math.atan2(y, x) in all four quadrants, w.r.t. both arguments', () => {
    const f = (y: number, x: number) => Math.atan2(y, x);
    const fns = { f, rev: grad(f), fwd: grad(f, { mode: 'forward' }) };
    for (const [y, x] of [[1, 2], [-1, -2], [0.5, -3], [-2, 0.5], [0, 1.5], [3, 0]] as const) {
      const r2 = x * x + y * y;
      checkGrad(fns, [y, x], [x / r2, -y / r2]);
    }
  });

  it('Math.atan2 with one constant argument', () => {
    const fy = (y: number) => Math.atan2(y, -1.5);
    const fx = (x: number) => Math.atan2(0.8, x);
    checkGrad({ f: fy, rev: grad(fy), fwd: grad(fy, { mode: 'forward' }) }, [0.8], -1.5 / (1.5 * 1.5 + 0.8 * 0.8));
    checkGrad({ f: fx, rev: grad(fx), fwd: grad(fx, { mode: 'forward' }) }, [-1.5], -0.8 / (1.5 * 1.5 + 0.8 * 0.8));
  });

  it('Math.pow(x, y) with both arguments active', () => {
    const f = (x: number, y: number) => Math.pow(x, y);
    const fns = { f, rev: grad(f), fwd: grad(f, { mode: 'forward' }) };
    for (const [x, y] of [[1.7, -0.6], [0.4, 2.5], [3, 2], [2.2, 0]] as const) {
      checkGrad(fns, [x, y], [y * x ** (y - 1), x ** y * Math.log(x)]);
    }
  });

  it('Math.pow with a negative base and an integer exponent (only the base active)', () => {
    const f = (x: number, n: number) => Math.pow(x, n);
    const fns = { f, rev: grad(f, { argnums: 0 }), fwd: grad(f, { mode: 'forward', argnums: 0 }), argnums: 0 };
    for (const [x, n] of [[-2, 3], [-1.5, 4], [-0.7, -3], [-3, 1]] as const) {
      checkGrad(fns, [x, n], n * x ** (n - 1));
    }
  });

  it('Math.hypot of two and three arguments', () => {
    const f2 = (x: number, y: number) => Math.hypot(x, y);
    checkGrad({ f: f2, rev: grad(f2), fwd: grad(f2, { mode: 'forward' }) }, [3, 4], [0.6, 0.8]);
    checkGrad({ f: f2, rev: grad(f2), fwd: grad(f2, { mode: 'forward' }) }, [-3, 4], [-0.6, 0.8]);
    const f3 = (x: number, y: number, z: number) => Math.hypot(x, y, z);
    checkGrad({ f: f3, rev: grad(f3), fwd: grad(f3, { mode: 'forward' }) }, [1, -2, 2], [1 / 3, -2 / 3, 2 / 3]);
    const fc = (x: number) => Math.hypot(x, 5, -12);
    checkGrad({ f: fc, rev: grad(fc), fwd: grad(fc, { mode: 'forward' }) }, [0.5], 0.5 / Math.hypot(0.5, 5, 12));
  });

  it('Math.max / Math.min pick the derivative of the winning argument', () => {
    const fmax = (x: number, y: number, z: number) => Math.max(x, y, z);
    const fmin = (x: number, y: number, z: number) => Math.min(x, y, z);
    const maxF = { f: fmax, rev: grad(fmax), fwd: grad(fmax, { mode: 'forward' }) };
    const minF = { f: fmin, rev: grad(fmin), fwd: grad(fmin, { mode: 'forward' }) };
    checkGrad(maxF, [1, 5, -2], [0, 1, 0]);
    checkGrad(maxF, [7, 5, -2], [1, 0, 0]);
    checkGrad(maxF, [-7, -5, -2], [0, 0, 1]);
    checkGrad(minF, [1, 5, -2], [0, 0, 1]);
    checkGrad(minF, [-9, 5, -2], [1, 0, 0]);
    // with constants and expressions as arguments
    const g = (x: number) => Math.max(0, x * x - 1) + Math.min(x, 2) * 3;
    const gF = { f: g, rev: grad(g), fwd: grad(g, { mode: 'forward' }) };
    checkGrad(gF, [1.5], 2 * 1.5 + 3);
    checkGrad(gF, [0.5], 3);
    checkGrad(gF, [3], 6);
  });

  it('piecewise-constant functions have derivative 0 (floor ceil round trunc sign)', () => {
    const f = (x: number) => Math.floor(x) + Math.ceil(x) + Math.round(x) + Math.trunc(x) + Math.sign(x);
    const fns = { f, rev: grad(f), fwd: grad(f, { mode: 'forward' }) };
    for (const x of [-2.3, -0.7, 0.4, 2.3, 5.6]) checkGrad(fns, [x], 0);
    // ... but they are values: they scale the derivative of what they multiply
    const g = (x: number) => Math.floor(x) * x + Math.ceil(x) * x * x + Math.round(x) / x + Math.trunc(x) * Math.sign(x) * x;
    const gF = { f: g, rev: grad(g), fwd: grad(g, { mode: 'forward' }) };
    for (const x of [-2.3, 0.4, 2.3, 5.6]) {
      const expected =
        Math.floor(x) + 2 * Math.ceil(x) * x - Math.round(x) / (x * x) + Math.trunc(x) * Math.sign(x);
      checkGrad(gF, [x], expected);
    }
  });

  it('Math.fround has derivative 1', () => {
    const f = (x: number) => Math.fround(x) * 3 + Math.fround(x * x);
    const fns = { f, rev: grad(f), fwd: grad(f, { mode: 'forward' }) };
    // float32 rounding makes finite differences noisy (~ulp32(x) / h): a wide step and a loose FD tolerance
    for (const x of [-1.25, 0.1, 2.5]) checkGrad(fns, [x], 3 + 2 * x, { h: 0.1, fdRtol: 1e-4, fdAtol: 1e-4 });
  });
});

// ---------------------------------------------------------------------------
// Math functions composed (chain rule)
// ---------------------------------------------------------------------------
function composite1(x: number): number {
  return Math.exp(Math.sin(x)) * Math.log(1 + x * x);
}
function composite2(x: number): number {
  return Math.sqrt(1 + Math.pow(x, 2)) - Math.tanh(Math.atan(x) * 3);
}
function composite3(x: number, y: number): number {
  return x * Math.exp(-y * y) + Math.atan2(y, x) + Math.log10(Math.cosh(x - y)) + Math.cbrt(x * y);
}
function composite4(x: number): number {
  return Math.asinh(Math.expm1(x)) + Math.acos(Math.tanh(x)) + Math.log2(Math.hypot(x, 1)) + Math.sinh(Math.log1p(x * x));
}

describe('Math functions composed (chain rule)', () => {
  it('exp(sin x) * log(1 + x^2)', () => {
    const fns = { f: composite1, rev: grad(composite1), fwd: grad(composite1, { mode: 'forward' }) };
    for (const x of [-1.4, 0.3, 2]) {
      const e = Math.exp(Math.sin(x));
      checkGrad(fns, [x], e * Math.cos(x) * Math.log(1 + x * x) + (e * 2 * x) / (1 + x * x));
    }
  });
  it('sqrt(1 + x^2) - tanh(3 atan x)', () => {
    const fns = { f: composite2, rev: grad(composite2), fwd: grad(composite2, { mode: 'forward' }) };
    for (const x of [-2, 0.1, 1.7]) {
      const t = Math.tanh(3 * Math.atan(x));
      checkGrad(fns, [x], x / Math.sqrt(1 + x * x) - ((1 - t * t) * 3) / (1 + x * x));
    }
  });
  it('two variables: x e^{-y^2} + atan2(y, x) + log10(cosh(x - y)) + cbrt(x y)', () => {
    const fns = { f: composite3, rev: grad(composite3), fwd: grad(composite3, { mode: 'forward' }) };
    for (const [x, y] of [[1.2, 0.7], [-0.8, 1.9], [2.5, -1.1]] as const) {
      const r2 = x * x + y * y;
      const th = Math.tanh(x - y) / LN10;
      const c = 1 / (3 * Math.cbrt(x * y) ** 2);
      checkGrad(fns, [x, y], [
        Math.exp(-y * y) - y / r2 + th + c * y,
        -2 * x * y * Math.exp(-y * y) + x / r2 - th + c * x,
      ]);
    }
  });
  it('asinh(expm1 x) + acos(tanh x) + log2(hypot(x, 1)) + sinh(log1p(x^2))', () => {
    const fns = { f: composite4, rev: grad(composite4), fwd: grad(composite4, { mode: 'forward' }) };
    for (const x of [-0.6, 0.25, 1.3]) {
      const e = Math.expm1(x);
      const t = Math.tanh(x);
      const expected =
        Math.exp(x) / Math.sqrt(e * e + 1) -
        (1 - t * t) / Math.sqrt(1 - t * t) +
        x / ((x * x + 1) * LN2) +
        (Math.cosh(Math.log1p(x * x)) * 2 * x) / (1 + x * x);
      checkGrad(fns, [x], expected);
    }
  });
  it('the same function derived twice in a row gives the same result (no state leaks between calls)', () => {
    const g = grad(composite3);
    const a = g(1.2, 0.7);
    const b = g(1.2, 0.7);
    expect(b).toEqual(a);
    const h = grad(composite3, { mode: 'forward' });
    expect(h(1.2, 0.7)).toEqual(h(1.2, 0.7));
  });
});

// ---------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------
const add = (x: number, y: number) => x + y;
const sub = (x: number, y: number) => x - y;
const mul = (x: number, y: number) => x * y;
const div = (x: number, y: number) => x / y;
const unary = (x: number, y: number) => -x * +y - -y + +x;
const modX = (x: number) => x % 2;
const modY = (y: number) => 7.5 % y;
const modXY = (x: number, y: number) => x % y;
const modSq = (x: number) => (x * x) % 3;
const powXc = (x: number) => x ** 3;
const powXneg = (x: number) => x ** -3;
const powXfrac = (x: number) => x ** 0.5;
const powCx = (x: number) => 2 ** x;
const powEx = (x: number) => Math.E ** x;
const powXY = (x: number, y: number) => x ** y;
const powXX = (x: number) => x ** x;

describe('binary and unary operators', () => {
  it('+ - * / on two active operands', () => {
    for (const [x, y] of [[1.5, -2.25], [-3, 0.4], [1e3, 7]] as const) {
      checkGrad({ f: add, rev: grad(add), fwd: grad(add, { mode: 'forward' }) }, [x, y], [1, 1]);
      checkGrad({ f: sub, rev: grad(sub), fwd: grad(sub, { mode: 'forward' }) }, [x, y], [1, -1]);
      checkGrad({ f: mul, rev: grad(mul), fwd: grad(mul, { mode: 'forward' }) }, [x, y], [y, x]);
      checkGrad({ f: div, rev: grad(div), fwd: grad(div, { mode: 'forward' }) }, [x, y], [1 / y, -x / (y * y)]);
    }
  });
  it('+ - * / with a constant on either side', () => {
    const f = (x: number) => (3 + x) * (x - 2) / (5 - x) + 4 / x - x / 8 + 2 * x * 3;
    const fns = { f, rev: grad(f), fwd: grad(f, { mode: 'forward' }) };
    for (const x of [-1.5, 0.7, 3]) {
      const num = (3 + x) * (x - 2);
      const dnum = 2 * x + 1;
      checkGrad(fns, [x], dnum / (5 - x) + num / (5 - x) ** 2 - 4 / (x * x) - 1 / 8 + 6);
    }
  });
  it('unary - and + keep (and negate) the derivative', () => {
    const fns = { f: unary, rev: grad(unary), fwd: grad(unary, { mode: 'forward' }) };
    checkGrad(fns, [1.5, -2], [-(-2) + 1, -1.5 + 1]);
    checkGrad(fns, [-0.5, 3], [-3 + 1, 0.5 + 1]);
  });
  it('% with the dividend active: derivative 1', () => {
    const fns = { f: modX, rev: grad(modX), fwd: grad(modX, { mode: 'forward' }) };
    for (const x of [7.5, -7.5, 0.3, 3.1]) checkGrad(fns, [x], 1);
  });
  it('% with the divisor active: derivative -trunc(x / y)', () => {
    const fns = { f: modY, rev: grad(modY), fwd: grad(modY, { mode: 'forward' }) };
    checkGrad(fns, [2], -3);
    checkGrad(fns, [-2], 3);
    checkGrad(fns, [2.8], -2);
    checkGrad(fns, [10], -0);
  });
  it('% with both operands active', () => {
    const fns = { f: modXY, rev: grad(modXY), fwd: grad(modXY, { mode: 'forward' }) };
    checkGrad(fns, [-9.1, 2.5], [1, 3]);
    checkGrad(fns, [9.1, -2.5], [1, 3]);
    checkGrad(fns, [17.3, 4.1], [1, -4]);
    const sq = { f: modSq, rev: grad(modSq), fwd: grad(modSq, { mode: 'forward' }) };
    checkGrad(sq, [2.2], 4.4);
  });
  it('** with an active base and a constant exponent (negative bases included)', () => {
    const c3 = { f: powXc, rev: grad(powXc), fwd: grad(powXc, { mode: 'forward' }) };
    for (const x of [-1.7, -0.2, 0, 2]) checkGrad(c3, [x], 3 * x * x);
    const cn = { f: powXneg, rev: grad(powXneg), fwd: grad(powXneg, { mode: 'forward' }) };
    for (const x of [-1.3, 0.6, 2]) checkGrad(cn, [x], -3 * x ** -4);
    const ch = { f: powXfrac, rev: grad(powXfrac), fwd: grad(powXfrac, { mode: 'forward' }) };
    for (const x of [0.2, 2.3, 9]) checkGrad(ch, [x], 0.5 / Math.sqrt(x));
  });
  it('** with a constant base and an active exponent', () => {
    const c2 = { f: powCx, rev: grad(powCx), fwd: grad(powCx, { mode: 'forward' }) };
    for (const x of [-1.3, 0, 2.5]) checkGrad(c2, [x], 2 ** x * LN2);
    const ce = { f: powEx, rev: grad(powEx), fwd: grad(powEx, { mode: 'forward' }) };
    for (const x of [-1, 0.5]) checkGrad(ce, [x], Math.E ** x);
  });
  it('** with both base and exponent active', () => {
    const fns = { f: powXY, rev: grad(powXY), fwd: grad(powXY, { mode: 'forward' }) };
    for (const [x, y] of [[1.7, -0.6], [0.4, 2.5], [2, 3], [5, 0.5]] as const) {
      checkGrad(fns, [x, y], [y * x ** (y - 1), x ** y * Math.log(x)]);
    }
    const xx = { f: powXX, rev: grad(powXX), fwd: grad(powXX, { mode: 'forward' }) };
    for (const x of [0.5, 1.3, 2]) checkGrad(xx, [x], x ** x * (Math.log(x) + 1));
  });
  it('bitwise operators give plain integers (derivative 0) that still scale other terms', () => {
    const f = (x: number) => (x | 0) * x + (x >> 1) + ~x + (x ^ 1) + (x & 3) + (x << 2) + (x >>> 0);
    const fns = { f, rev: grad(f), fwd: grad(f, { mode: 'forward' }) };
    for (const x of [5.7, 2.2, 9.5]) checkGrad(fns, [x], x | 0);
  });
});

// ---------------------------------------------------------------------------
// Assignments
// ---------------------------------------------------------------------------
function compound(x: number, y: number): number {
  let s = x;
  s += y; // x + y
  s *= x; // x^2 + x y
  s -= y * 2; // x^2 + x y - 2 y
  s /= y; // u = x^2 / y + x - 2
  s **= 2; // u^2
  s %= 7; // u^2 mod 7
  return s;
}

function incDec(x: number): number {
  let a = x;
  a++; // x + 1
  ++a; // x + 2
  const b = a--; // b = x + 2, a = x + 1
  const c = --a; // c = x, a = x
  let d = x * x;
  d--; // x^2 - 1
  return a * b + c + d; // x^2 + 2x + x + x^2 - 1
}

function incParam(x: number): number {
  x++;
  x *= x; // (x+1)^2
  return x;
}

describe('assignments', () => {
  it('compound assignments += -= *= /= **= %=', () => {
    const fns = { f: compound, rev: grad(compound), fwd: grad(compound, { mode: 'forward' }) };
    for (const [x, y] of [[2, 0.9], [2.5, 1.4], [-1.5, 0.6]] as const) {
      const u = (x * x) / y + x - 2;
      checkGrad(fns, [x, y], [2 * u * ((2 * x) / y + 1), 2 * u * (-(x * x) / (y * y))]);
    }
  });
  it('++ and -- (prefix and postfix) carry the derivative', () => {
    const fns = { f: incDec, rev: grad(incDec), fwd: grad(incDec, { mode: 'forward' }) };
    for (const x of [-1.3, 0.5, 4]) checkGrad(fns, [x], 4 * x + 3);
    const vg = { f: incDec, rev: valueAndGrad(incDec), fwd: valueAndGrad(incDec, { mode: 'forward' }) };
    checkValueAndGrad(vg, [1.5], 2 * 1.5 * 1.5 + 3 * 1.5 - 1, 4 * 1.5 + 3);
  });
  it('++ on a parameter', () => {
    const fns = { f: incParam, rev: grad(incParam), fwd: grad(incParam, { mode: 'forward' }) };
    for (const x of [-3, 0.25, 2]) checkGrad(fns, [x], 2 * (x + 1));
  });
});

// ---------------------------------------------------------------------------
// Fan-out: one value used many times
// ---------------------------------------------------------------------------
function fanOutExpr(x: number): number {
  return x * x * x * x + x * x + x / x + x - x * 2;
}
function fanOutIntermediate(x: number, y: number): number {
  const t = Math.sin(x * y);
  return t * t + t * x + t + Math.exp(t) * y;
}
function fanOutLoop(x: number, n: number): number {
  let p = 1;
  let s = 0;
  for (let i = 1; i <= n; i++) {
    p *= x; // x^i
    s += Math.sin(i * x) + p;
  }
  return s + p * x;
}

describe('fan-out', () => {
  it('a variable used many times in one expression', () => {
    const fns = { f: fanOutExpr, rev: grad(fanOutExpr), fwd: grad(fanOutExpr, { mode: 'forward' }) };
    for (const x of [-1.5, 0.3, 2]) checkGrad(fns, [x], 4 * x ** 3 + 2 * x + 0 + 1 - 2);
  });
  it('an intermediate used many times', () => {
    const fns = { f: fanOutIntermediate, rev: grad(fanOutIntermediate), fwd: grad(fanOutIntermediate, { mode: 'forward' }) };
    for (const [x, y] of [[0.7, 1.2], [-1.1, 0.4]] as const) {
      const t = Math.sin(x * y);
      const dtdt = 2 * t + x + 1 + Math.exp(t) * y; // derivative w.r.t. t
      const c = Math.cos(x * y);
      checkGrad(fns, [x, y], [dtdt * c * y + t, dtdt * c * x + Math.exp(t)]);
    }
  });
  it('a variable used across loop iterations', () => {
    const fns = {
      f: fanOutLoop,
      rev: grad(fanOutLoop, { argnums: 0 }),
      fwd: grad(fanOutLoop, { mode: 'forward', argnums: 0 }),
      argnums: 0,
    };
    for (const [x, n] of [[0.9, 6], [-1.2, 5], [1.05, 12]] as const) {
      let expected = (n + 1) * x ** n;
      for (let i = 1; i <= n; i++) expected += i * Math.cos(i * x) + i * x ** (i - 1);
      checkGrad(fns, [x, n], expected);
    }
  });
});

// ---------------------------------------------------------------------------
// Outputs that do not depend on an input
// ---------------------------------------------------------------------------
function ignoresY(x: number, y: number): number {
  return 3 * x + 0 * y * 0 + Math.floor(y);
}
function constantResult(x: number): number {
  const unused = Math.exp(x) * 2;
  return 42 + 0 * unused;
}
function cancels(x: number): number {
  return x - x + (x * 2 - 2 * x);
}
function onlyFirst(xs: number[]): number {
  return xs[0]! * 2;
}
function returnsLiteral(_x: number): number {
  return 7;
}

describe('gradient 0 when the output does not depend on an input', () => {
  it('an argument that is not used (or only through floor)', () => {
    const fns = { f: ignoresY, rev: grad(ignoresY), fwd: grad(ignoresY, { mode: 'forward' }) };
    checkGrad(fns, [1.5, 2.5], [3, 0]);
    checkGrad(fns, [-4, -0.5], [3, 0]);
  });
  it('a result that is a constant', () => {
    checkGrad({ f: constantResult, rev: grad(constantResult), fwd: grad(constantResult, { mode: 'forward' }) }, [1.3], 0);
    checkGrad({ f: returnsLiteral, rev: grad(returnsLiteral), fwd: grad(returnsLiteral, { mode: 'forward' }) }, [1.3], 0);
    checkGrad({ f: cancels, rev: grad(cancels), fwd: grad(cancels, { mode: 'forward' }) }, [1.3], 0);
  });
  it('array elements that are not used', () => {
    checkGrad({ f: onlyFirst, rev: grad(onlyFirst), fwd: grad(onlyFirst, { mode: 'forward' }) }, [[1, 2, 3]], [2, 0, 0]);
  });
  it('valueAndGrad of a constant function', () => {
    checkValueAndGrad(
      { f: returnsLiteral, rev: valueAndGrad(returnsLiteral), fwd: valueAndGrad(returnsLiteral, { mode: 'forward' }) },
      [0.5],
      7,
      0,
    );
  });
});

// ---------------------------------------------------------------------------
// Inline functions passed straight to grad (checked against the formula and
// against each other; no plain copy for finite differences)
// ---------------------------------------------------------------------------
describe('inline functions', () => {
  it('arrow function literal', () => {
    const r = grad((x: number) => x * Math.sin(x))(0.9);
    const f = grad((x: number) => x * Math.sin(x), { mode: 'forward' })(0.9);
    const expected = Math.sin(0.9) + 0.9 * Math.cos(0.9);
    expect(r).toBeCloseTo(expected, 12);
    expect(f).toBeCloseTo(expected, 12);
    expect(Math.abs(r - f)).toBeLessThanOrEqual(1e-12 * Math.abs(expected));
  });
  it('function expression literal with a body', () => {
    const g = grad(function (x: number, y: number) {
      const q = x / y;
      return q * q;
    });
    const [dx, dy] = g(3, 2);
    expect(dx).toBeCloseTo((2 * 3) / 4, 12);
    expect(dy).toBeCloseTo((-2 * 9) / 8, 12);
  });
  it('valueAndGrad of an inline arrow', () => {
    const [v, d] = valueAndGrad((x: number) => Math.exp(2 * x))(0.3);
    expect(v).toBe(Math.exp(0.6));
    expect(d).toBeCloseTo(2 * Math.exp(0.6), 12);
    const [v2, d2] = valueAndGrad((x: number) => Math.exp(2 * x), { mode: 'forward' })(0.3);
    expect(v2).toBe(Math.exp(0.6));
    expect(d2).toBeCloseTo(2 * Math.exp(0.6), 12);
  });
});

// ---------------------------------------------------------------------------
// Small edge cases of the machinery
// ---------------------------------------------------------------------------
const identity = (x: number) => x;
const second = (_x: number, y: number) => y;
const pick = (xs: number[]) => xs[1]!;
const maxEdge = (x: number) => Math.max(x) + Math.min(x * 2) + (Math.max() < 0 ? 1 : 0) + (Math.min() > 0 ? 1 : 0);
function longChain(xs: number[]): number {
  let s = 0;
  for (let r = 0; r < 20; r++) for (let i = 0; i < xs.length; i++) s += Math.sin(xs[i]! * (r + 1)) / (r + 1);
  return s;
}
function throwsOnNegative(x: number): number {
  const y = x * x;
  if (x < 0) throw new RangeError('negative');
  return y;
}

describe('machinery edge cases', () => {
  it('returning an input unchanged', () => {
    checkGrad({ f: identity, rev: grad(identity), fwd: grad(identity, { mode: 'forward' }) }, [2.5], 1);
    checkGrad({ f: second, rev: grad(second), fwd: grad(second, { mode: 'forward' }) }, [2.5, -1], [0, 1]);
    checkGrad({ f: pick, rev: grad(pick), fwd: grad(pick, { mode: 'forward' }) }, [[4, 5, 6]], [0, 1, 0]);
  });
  it('exact results for exact arithmetic', () => {
    expect(grad(mul)(3, 4)).toEqual([4, 3]);
    expect(grad(mul, { mode: 'forward' })(3, 4)).toEqual([4, 3]);
    expect(grad(powXc)(2)).toBe(12);
    expect(grad(powXc, { mode: 'forward' })(2)).toBe(12);
  });
  it('Math.max / Math.min with one argument and with none', () => {
    // Math.max() is -Infinity and Math.min() is +Infinity: the constant terms add 2
    const fns = { f: maxEdge, rev: valueAndGrad(maxEdge), fwd: valueAndGrad(maxEdge, { mode: 'forward' }) };
    checkValueAndGrad(fns, [1.5], 3 * 1.5 + 2, 3);
    checkValueAndGrad(fns, [-2], 3 * -2 + 2, 3);
  });
  it('a long tape (2,000 elements x 20 rounds) in both modes', () => {
    const n = 2000;
    const xs = Array.from({ length: n }, (_, i) => Math.sin(i) * 2);
    const r = grad(longChain)(xs);
    const f = grad(longChain, { mode: 'forward' })(xs.slice(0, 50));
    for (let i = 0; i < n; i += 97) {
      let e = 0;
      for (let k = 1; k <= 20; k++) e += Math.cos(xs[i]! * k);
      expect(Math.abs(r[i]! - e)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(e)));
      if (i < 50) expect(Math.abs(f[i]! - e)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(e)));
    }
  });
  it('an exception inside f propagates, and later calls still work', () => {
    for (const g of [grad(throwsOnNegative), grad(throwsOnNegative, { mode: 'forward' })]) {
      expect(() => g(-1)).toThrow(RangeError);
      expect(g(3)).toBe(6);
    }
  });
});
