/**
 * jvp, vjp, jacobian, hessian, hvp and stopGradient: each against finite
 * differences, against the other mode, and against hand-derived values where
 * there is one; the shape conventions; and the TypeErrors for bad input.
 *
 * Every function is written inline, as a user would write it, so the plugin
 * compiles it where it is handed to the entry point.
 */
import { describe, expect, it } from 'vitest';
import { grad, hessian, hvp, jacobian, jvp, stopGradient, vjp } from 'dualtape';
import {
  dot,
  expectMatrixClose,
  expectMatrixIdentical,
  expectVectorClose,
  fdHessian,
  fdHessianFromGrad,
  fdJacobian,
  flatten,
  matVec,
  softmax,
  vecMat,
} from './helpers/transforms-check.js';
import { fdDerivative } from './helpers/check.js';
import { minimizeRosenbrock, newtonMinimize, rosenbrock, solveLinear } from '../examples/newton.ts';
import { FOOD_CHAIN, foodChain, foodChainJacobians, lorenz, lorenzJacobianByHand, lorenzJacobians } from '../examples/ode-jacobian.ts';

// ---------------------------------------------------------------------------
// Functions used in several tests (each one is handed to an entry point
// somewhere in this module, so the plugin compiles it)
// ---------------------------------------------------------------------------

/** R^3 -> R^2, with products, a quotient and transcendental functions. */
function F(x: number[]): number[] {
  const [a, b, c] = x as [number, number, number];
  return [a * b * Math.sin(c) + Math.exp(a / (1 + b * b)), Math.log(1 + a * a) * c - b ** 3];
}

/** R^2 -> R^4: more outputs than inputs. */
const G = (x: number[]): number[] => {
  const [u, v] = x as [number, number];
  return [u * v, Math.cos(u) + v, Math.tanh(u - 2 * v), Math.hypot(u, v, 1)];
};

function rosen(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1]! - x[i]! ** 2;
    s += 100 * a * a + (1 - x[i]!) ** 2;
  }
  return s;
}

/** Hand-derived Rosenbrock Hessian. */
function rosenHessianByHand(x: readonly number[]): number[][] {
  const n = x.length;
  const H = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    if (i < n - 1) {
      H[i]![i]! += 1200 * x[i]! ** 2 - 400 * x[i + 1]! + 2;
      H[i]![i + 1] = -400 * x[i]!;
      H[i + 1]![i] = -400 * x[i]!;
    }
    if (i > 0) H[i]![i]! += 200;
  }
  return H;
}

function logSumExp(x: number[]): number {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  return m + Math.log(s);
}

const gradRosen = grad(rosen);

// ---------------------------------------------------------------------------
// jvp
// ---------------------------------------------------------------------------

describe('jvp', () => {
  it('scalar function: value and derivative times the tangent, hand-derived', () => {
    const [y, t] = jvp((x: number) => x * Math.sin(x), [1.3], [2.5]);
    expect(y).toBe(1.3 * Math.sin(1.3));
    expect(t).toBeCloseTo((Math.sin(1.3) + 1.3 * Math.cos(1.3)) * 2.5, 13);
  });

  it('vector output: J·v against finite differences and against the reverse-mode Jacobian', () => {
    const x = [0.7, -1.1, 2.3];
    for (const v of [[1, 0, 0], [0, 1, 0], [0.3, -2, 1.5]]) {
      const [y, t] = jvp(F, [x], [v]);
      expect(y).toEqual(F(x));
      expectVectorClose(t, matVec(fdJacobian(F, [x]), v), 1e-8, 1e-10, 'jvp vs finite differences');
      expectVectorClose(t, matVec(jacobian(F, { mode: 'reverse' })(x), v), 1e-12, 1e-14, 'jvp vs reverse Jacobian');
    }
  });

  it('is linear in the tangent', () => {
    const x = [0.7, -1.1, 2.3];
    const v = [0.3, -2, 1.5];
    const w = [1, 0.5, -0.25];
    const [, tv] = jvp(F, [x], [v]);
    const [, tw] = jvp(F, [x], [w]);
    const [, tc] = jvp(F, [x], [v.map((vi, i) => 2 * vi - 3 * w[i]!)]);
    expectVectorClose(tc, tv.map((a, i) => 2 * a - 3 * tw[i]!), 1e-12, 1e-13);
  });

  it('for a scalar function equals the reverse-mode gradient dotted with the tangent', () => {
    const x = [0.2, 0.9, -0.4, 1.7];
    const v = [1, -1, 2, 0.5];
    const [val, t] = jvp(rosen, [x], [v]);
    expect(val).toBe(rosen(x));
    expect(t).toBeCloseTo(dot(gradRosen(x), v), 10);
  });

  it('several arguments of different shapes; tangents per argument', () => {
    const f = (a: number, b: number[], p: { w: number; z: number[] }) => [a * b[0]! + p.w, b[1]! * p.z[0]! * p.z[1]!];
    const primals: [number, number[], { w: number; z: number[] }] = [2, [3, 4], { w: 5, z: [6, 7] }];
    const tangents: [number, number[], { w: number; z: number[] }] = [1, [0.5, -1], { w: 2, z: [0, 3] }];
    const [y, t] = jvp(f, primals, tangents);
    expect(y).toEqual([11, 168]);
    // d y0 = b0 da + a db0 + dw = 3 + 1 + 2; d y1 = z0 z1 db1 + b1 z1 dz0 + b1 z0 dz1 = -42 + 0 + 72
    expect(t).toEqual([6, 30]);
    // against FD along the tangent
    const along = (k: number) =>
      fdDerivative((s) => f(2 + s, [3 + 0.5 * s, 4 - s], { w: 5 + 2 * s, z: [6, 7 + 3 * s] })[k]!, 0);
    expect(t[0]).toBeCloseTo(along(0), 8);
    expect(t[1]).toBeCloseTo(along(1), 7);
  });

  it('object-valued output: the tangent has the output\'s shape', () => {
    const [y, t] = jvp((p: { w: number[]; b: number }) => ({ y: p.w[0]! * p.b, z: [p.w[1]!, p.b * p.b] }), [{ w: [1, 2], b: 3 }], [{ w: [1, 0], b: 1 }]);
    expect(y).toEqual({ y: 3, z: [2, 9] });
    expect(t).toEqual({ y: 4, z: [0, 6] });
  });

  it('zero tangent, constant outputs and Float64Array arguments', () => {
    expect(jvp(F, [[0.7, -1.1, 2.3]], [[0, 0, 0]])[1]).toEqual([0, 0]);
    expect(jvp((x: number[]) => [1, x.length], [[1, 2]], [[1, 1]])).toEqual([[1, 2], [0, 0]]);
    const [y, t] = jvp((x: Float64Array) => [x[0]! * x[1]!, x[1]!], [Float64Array.from([2, 3])], [Float64Array.from([1, 10])]);
    expect(y).toEqual([6, 3]);
    expect(t).toEqual([3 + 20, 10]);
  });

  it('identity: the tangent comes back unchanged', () => {
    expect(jvp((x: number[]) => x, [[1, 2]], [[3, 4]])).toEqual([[1, 2], [3, 4]]);
  });
});

// ---------------------------------------------------------------------------
// vjp
// ---------------------------------------------------------------------------

describe('vjp', () => {
  it('vector output: uᵀJ against finite differences and against forward mode; the pullback is reusable', () => {
    const x = [0.7, -1.1, 2.3];
    const [y, pullback] = vjp(F, x);
    expect(y).toEqual(F(x));
    const Jfd = fdJacobian(F, [x]);
    const Jfwd = jacobian(F, { mode: 'forward' })(x);
    for (const u of [[1, 0], [0, 1], [2.5, -0.75], [1, 0]]) {
      const ct = pullback(u);
      expectVectorClose(ct, vecMat(u, Jfd), 1e-8, 1e-10, 'pullback vs finite differences');
      expectVectorClose(ct, vecMat(u, Jfwd), 1e-12, 1e-14, 'pullback vs forward mode');
    }
    // Calling it again gives the same numbers exactly.
    expect(pullback([2.5, -0.75])).toEqual(pullback([2.5, -0.75]));
  });

  it('<u, J v> = <uᵀ J, v> (vjp against jvp)', () => {
    const x = [0.4, 1.2];
    const u = [0.5, -1, 2, 0.25];
    const v = [1.5, -0.5];
    const [, Jv] = jvp(G, [x], [v]);
    const [, pb] = vjp(G, x);
    expect(dot(u, Jv)).toBeCloseTo(dot(pb(u), v), 12);
  });

  it('one argument: the cotangent has its shape (number, nested array, object)', () => {
    const [, p1] = vjp((x: number) => [x * x, 3 * x], 2);
    expect(p1([1, 1])).toBe(7);
    const [, p2] = vjp((m: number[][]) => [m[0]![0]! * m[1]![1]!, m[0]![1]!], [[1, 2], [3, 4]]);
    expect(p2([1, 10])).toEqual([[4, 10], [0, 1]]);
    const [, p3] = vjp((p: { w: number[]; b: number }) => p.w[0]! * p.b + p.w[1]!, { w: [2, 3], b: 5 });
    expect(p3(2)).toEqual({ w: [10, 2], b: 4 });
  });

  it('several arguments: an array with one cotangent per argument', () => {
    const [y, pb] = vjp((a: number, b: number[]) => [a * b[0]!, a + b[1]!], 3, [4, 5]);
    expect(y).toEqual([12, 8]);
    expect(pb([1, 0])).toEqual([4, [3, 0]]);
    expect(pb([0, 1])).toEqual([1, [0, 1]]);
    expect(pb([2, 3])).toEqual([11, [6, 3]]);
  });

  it('scalar output: pullback(1) is the gradient', () => {
    const x = [0.2, 0.9, -0.4, 1.7];
    const [val, pb] = vjp(rosen, x);
    expect(val).toBe(rosen(x));
    expect(pb(1)).toEqual(gradRosen(x));
    expectVectorClose(pb(-2), gradRosen(x).map((g) => -2 * g), 1e-15, 0);
  });

  it('repeated and identity outputs sum their cotangents; constant outputs give zeros', () => {
    const [v, pb] = vjp((x: number[]) => [x[0]!, x[0]!, x[1]!], [1, 2]);
    expect(v).toEqual([1, 1, 2]);
    expect(pb([1, 2, 3])).toEqual([3, 3]);
    const [c, pc] = vjp((x: number[]) => [1, 2], [5, 6]);
    expect(c).toEqual([1, 2]);
    expect(pc([1, 1])).toEqual([0, 0]);
  });

  it('object-valued output: the cotangent is an object of that shape', () => {
    const [y, pb] = vjp((x: number[]) => ({ s: x[0]! + x[1]!, p: [x[0]! * x[1]!] }), [2, 3]);
    expect(y).toEqual({ s: 5, p: [6] });
    expect(pb({ s: 1, p: [0] })).toEqual([1, 1]);
    expect(pb({ s: 0, p: [1] })).toEqual([3, 2]);
  });
});

// ---------------------------------------------------------------------------
// jacobian
// ---------------------------------------------------------------------------

describe('jacobian', () => {
  it('forward == reverse == auto == finite differences (more outputs than inputs, and fewer)', () => {
    for (const [f, x] of [[F, [0.7, -1.1, 2.3]], [G, [0.4, 1.2]]] as const) {
      const jf = jacobian(f, { mode: 'forward' })(x.slice());
      const jr = jacobian(f, { mode: 'reverse' })(x.slice());
      const ja = jacobian(f)(x.slice());
      const jauto = jacobian(f, { mode: 'auto' })(x.slice());
      expectMatrixClose(jr, jf, 1e-12, 1e-14, 'reverse vs forward');
      expectMatrixClose(ja, jf, 1e-12, 1e-14, 'auto (default) vs forward');
      expectMatrixClose(jauto, ja, 0, 0, "auto vs { mode: 'auto' }");
      expectMatrixClose(jf, fdJacobian(f, [x.slice()]), 1e-8, 1e-10, 'forward vs finite differences');
    }
  });

  it('hand-derived: a linear map gives its matrix exactly, in both modes', () => {
    const A = [[1, 2, 3], [-4, 5, 0.5]];
    const f = (x: number[]) => [A[0]![0]! * x[0]! + A[0]![1]! * x[1]! + A[0]![2]! * x[2]!, A[1]![0]! * x[0]! + A[1]![1]! * x[1]! + A[1]![2]! * x[2]!];
    expectMatrixIdentical(jacobian(f, { mode: 'forward' })([9, 8, 7]), A);
    expectMatrixIdentical(jacobian(f, { mode: 'reverse' })([9, 8, 7]), A);
  });

  it('Lorenz right-hand side against its hand-written Jacobian', () => {
    const u = [1.5, -2, 20];
    for (const mode of ['forward', 'reverse'] as const) {
      expectMatrixClose(jacobian(lorenz, { mode })(u), lorenzJacobianByHand(u), 1e-14, 1e-14, mode);
    }
  });

  it('a number output gives one row (the gradient)', () => {
    const x = [0.2, 0.9, -0.4];
    for (const mode of ['forward', 'reverse', 'auto'] as const) {
      const J = jacobian(rosen, { mode })(x);
      expect(J.length).toBe(1);
      expectVectorClose(J[0], gradRosen(x), 1e-12, 1e-12, mode);
    }
  });

  it('several arguments: columns are the leaves of argument 0, then argument 1, ...', () => {
    const f = (a: number, b: number[], c: number) => [a * b[0]! * c, b[1]! - c * c];
    const expected = [
      [2 * 5, 3 * 5, 0, 3 * 2],
      [0, 0, 1, -2 * 5],
    ];
    for (const mode of ['forward', 'reverse', 'auto'] as const) {
      expectMatrixIdentical(jacobian(f, { mode })(3, [2, 7], 5), expected, mode);
    }
  });

  it('nested arguments and outputs: arrays in index order, objects in key order', () => {
    const f = (p: { w: number[][]; b: number }, c: number) => ({ y: p.w[0]![0]! * p.b * c, z: [p.w[1]![1]!, p.b * p.b] });
    // columns: w[0][0] w[0][1] w[1][0] w[1][1] b c ; rows: y z[0] z[1]
    const expected = [
      [10, 0, 0, 0, 2, 5],
      [0, 0, 0, 1, 0, 0],
      [0, 0, 0, 0, 10, 0],
    ];
    for (const mode of ['forward', 'reverse', 'auto'] as const) {
      const J = jacobian(f, { mode })({ w: [[1, 2], [3, 4]], b: 5 }, 2);
      expectMatrixIdentical(J, expected, mode);
    }
    // The same with FD, through flatten's order.
    const fd = fdJacobian((p: { w: number[][]; b: number }, c: number) => flatten(f(p, c)), [{ w: [[1, 2], [3, 4]], b: 5 }, 2]);
    expectMatrixClose(expected, fd, 1e-8, 1e-9, 'finite differences');
  });

  it('ODE example: forward and reverse agree, with parameters as a second (object) argument', () => {
    const lz = lorenzJacobians([1.5, -2, 20]);
    expect(lz.maxDiff).toBeLessThanOrEqual(1e-14);
    expectMatrixClose(lz.forward, lorenzJacobianByHand([1.5, -2, 20]), 1e-14, 1e-14);
    const u = [4, 2, 1];
    const fc = foodChainJacobians(u);
    expect(fc.forward.length).toBe(3);
    expect(fc.forward[0]!.length).toBe(3 + Object.keys(FOOD_CHAIN).length);
    expect(fc.maxDiff).toBeLessThanOrEqual(1e-14);
    expectMatrixClose(fc.reverse, fdJacobian(foodChain, [u, { ...FOOD_CHAIN }]), 1e-8, 1e-10, 'vs finite differences');
  });
});

// ---------------------------------------------------------------------------
// hessian and hvp
// ---------------------------------------------------------------------------

describe('hessian', () => {
  it('Rosenbrock against the hand-derived Hessian and finite differences of the gradient', () => {
    const h = hessian(rosen);
    for (const x of [[1.2, 1, 0.8], [-1.2, 1, -0.5, 2], [0.3, -0.7]]) {
      const H = h(x);
      expectMatrixClose(H, rosenHessianByHand(x), 1e-13, 1e-11, `Rosenbrock at ${x}`);
      expectMatrixClose(H, fdHessianFromGrad(gradRosen, x), 1e-7, 1e-6, 'vs FD of the gradient');
    }
  });

  it('quadratic form xᵀAx (A not symmetric): A + Aᵀ exactly, anywhere', () => {
    const A = [[1, 2, -3], [0.5, -4, 6], [7, 0, 2]];
    const quad = (x: number[]) => {
      let s = 0;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += x[i]! * A[i]![j]! * x[j]!;
      return s;
    };
    const AAt = A.map((row, i) => row.map((a, j) => a + A[j]![i]!));
    for (const x of [[0, 0, 0], [1, -2, 3.5]]) expectMatrixIdentical(hessian(quad)(x), AAt);
  });

  it('sum of exp: diag(exp(x))', () => {
    const x = [-1, 0.5, 2];
    const H = hessian((v: number[]) => v.map(Math.exp).reduce((a, b) => a + b, 0))(x);
    expectMatrixClose(H, x.map((xi, i) => x.map((_, j) => (i === j ? Math.exp(xi) : 0))), 1e-15, 0);
  });

  it('log-sum-exp: diag(p) - p pᵀ with p = softmax(x), also against second differences', () => {
    const x = [0.3, -1.2, 2, 0.7];
    const p = softmax(x);
    const H = hessian(logSumExp)(x);
    expectMatrixClose(H, p.map((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj)), 1e-13, 1e-15);
    expectMatrixClose(H, fdHessian(logSumExp, x), 1e-5, 1e-7, 'vs second differences');
  });

  it('is exactly symmetric, and agrees with jacobian(grad(f))', () => {
    const f = (x: number[]) => Math.sin(x[0]! * x[1]!) * Math.exp(x[2]! / (1 + x[0]! ** 2)) + x[1]! ** 3 * x[2]!;
    const x = [0.3, -1.4, 0.8];
    const H = hessian(f)(x);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(H[i]![j]).toBe(H[j]![i]);
    expectMatrixClose(H, jacobian(grad(f), { mode: 'forward' })(x), 1e-13, 1e-14, 'vs jacobian(grad(f))');
    expectMatrixClose(H, fdHessian(f, x), 1e-5, 1e-6, 'vs second differences');
  });

  it('takes a Float64Array', () => {
    expect(hessian((x: Float64Array) => x[0]! * x[1]! * x[1]!)(Float64Array.from([1, 2]))).toEqual([[0, 4], [4, 2]]);
  });
});

describe('hvp', () => {
  it('equals hessian(f)(x) · v, is linear in v, and matches FD of the gradient along v', () => {
    const f = (x: number[]) => Math.sin(x[0]! * x[1]!) * Math.exp(x[2]! / (1 + x[0]! ** 2)) + x[1]! ** 3 * x[2]!;
    const x = [0.3, -1.4, 0.8];
    const H = hessian(f)(x);
    const hv = hvp(f);
    const g = grad(f);
    const vs = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, -2, 1.25]];
    for (const v of vs) {
      const r = hv(x, v);
      expectVectorClose(r, matVec(H, v), 1e-12, 1e-13, `hvp vs H·v for v = ${v}`);
      const fd = x.map((_, i) => fdDerivative((s) => g(x.map((xi, k) => xi + s * v[k]!))[i]!, 0));
      expectVectorClose(r, fd, 1e-7, 1e-8, 'hvp vs FD of the gradient');
    }
    const a = hv(x, vs[3]!);
    const b = hv(x, vs[0]!);
    expectVectorClose(hv(x, vs[3]!.map((v, i) => 2 * v + 3 * vs[0]![i]!)), a.map((ai, i) => 2 * ai + 3 * b[i]!), 1e-12, 1e-13, 'linearity');
  });

  it('Rosenbrock: hvp against the hand-derived Hessian; Float64Array arguments', () => {
    const x = [-1.2, 1, -0.5, 2];
    const v = [1, 2, 3, 4];
    expectVectorClose(hvp(rosen)(x, v), matVec(rosenHessianByHand(x), v), 1e-13, 1e-10);
    expectVectorClose(hvp(rosen)(Float64Array.from(x) as never, Float64Array.from(v) as never), matVec(rosenHessianByHand(x), v), 1e-13, 1e-10);
  });
});

// ---------------------------------------------------------------------------
// stopGradient
// ---------------------------------------------------------------------------

describe('stopGradient', () => {
  it('blocks the derivative in grad (both modes), jvp, vjp, jacobian and hessian', () => {
    const f = (x: number[]) => stopGradient(x[0]!) * x[0]! * x[1]!;
    const x = [2, 3];
    // d/dx0 = c x1 with c = x0 held fixed; d/dx1 = x0 x0
    expect(grad(f)(x)).toEqual([6, 4]);
    expect(grad(f, { mode: 'forward' })(x)).toEqual([6, 4]);
    expect(jvp(f, [x], [[1, 0]])[1]).toBe(6);
    expect(vjp(f, x)[1](1)).toEqual([6, 4]);
    expect(jacobian((v: number[]) => [stopGradient(v[0]! * v[1]!), v[0]! * v[1]!])(x)).toEqual([[0, 0], [3, 2]]);
    // Hessian of c x0 x1: [[0, c], [c, 0]] (the product rule would give 2 x1 at [0][0] without stopGradient)
    expect(hessian(f)(x)).toEqual([[0, 2], [2, 0]]);
  });

  it('is the identity on values, also outside differentiation and on arrays', () => {
    expect(stopGradient(3.5)).toBe(3.5);
    const arr = [1, 2];
    expect(stopGradient(arr)).toEqual(arr); // a copy with every leaf stopped
    expect(stopGradient(arr)).not.toBe(arr);
    expect(jvp((x: number) => stopGradient(x) + 0 * x, [4], [1])).toEqual([4, 0]);
  });
});

// ---------------------------------------------------------------------------
// Bad input: clear TypeErrors
// ---------------------------------------------------------------------------

describe('bad input', () => {
  const f2 = (x: number[]) => [x[0]! * x[1]!, Math.sin(x[0]!)];

  it('jvp: tangent array of the wrong length', () => {
    expect(() => jvp(f2, [[1, 2]], [[1]])).toThrow(TypeError);
    expect(() => jvp(f2, [[1, 2]], [[1]])).toThrow(/tangents\[0\] has 1 elements but primals\[0\] has 2/);
  });

  it('jvp: a number where the primal is an array, and the reverse', () => {
    expect(() => jvp(f2, [[1, 2]], [1 as never])).toThrow(TypeError);
    expect(() => jvp(f2, [[1, 2]], [1 as never])).toThrow(/tangents\[0\] must be an array of 2, like primals\[0\], but is a number/);
    expect(() => jvp((x: number) => x, [1], [[1] as never])).toThrow(/tangents\[0\] must be a number, like primals\[0\], but is an array/);
  });

  it('jvp: a tangent object missing a key, or with an extra one', () => {
    const f = (p: { a: number; b: number }) => p.a * p.b;
    expect(() => jvp(f, [{ a: 1, b: 2 }], [{ a: 1 } as never])).toThrow(TypeError);
    expect(() => jvp(f, [{ a: 1, b: 2 }], [{ a: 1 } as never])).toThrow(/tangents\[0\] lacks the key "b"/);
    expect(() => jvp(f, [{ a: 1, b: 2 }], [{ a: 1, b: 1, c: 1 } as never])).toThrow(/tangents\[0\] has a key "c"/);
  });

  it('jvp: nested mismatch is named by its path; a string tangent; count and container mismatches', () => {
    const f = (p: { w: number[] }) => p.w[0]!;
    expect(() => jvp(f, [{ w: [1, 2] }], [{ w: [1, 2, 3] }])).toThrow(/tangents\[0\]\.w has 3 elements but primals\[0\]\.w has 2/);
    expect(() => jvp((x: number) => x, [1], ['a' as never])).toThrow(/tangents\[0\] must be a number.*string/);
    expect(() => jvp((x: number) => x, [1], [1, 2] as never)).toThrow(/1 primal argument\(s\) but 2 tangent\(s\)/);
    expect(() => jvp((x: number) => x, 1 as never, 1 as never)).toThrow(/two arrays/);
  });

  it('vjp: a cotangent of the wrong shape', () => {
    const [, pb] = vjp(f2, [1, 2]);
    expect(() => pb([1] as never)).toThrow(TypeError);
    expect(() => pb([1] as never)).toThrow(/cotangent has 1 elements but the output has 2/);
    expect(() => pb(1 as never)).toThrow(/cotangent must be an array of 2, like the output, but is a number/);
    const [, ps] = vjp((x: number[]) => x[0]! * x[1]!, [1, 2]);
    expect(() => ps([1] as never)).toThrow(/cotangent must be a number, like the output, but is an array/);
    const [, po] = vjp((x: number[]) => ({ s: x[0]!, t: x[1]! }), [1, 2]);
    expect(() => po({ s: 1 } as never)).toThrow(/cotangent lacks the key "t"/);
  });

  it('hessian of a vector-valued function', () => {
    expect(() => hessian(f2 as never)([1, 2])).toThrow(TypeError);
    expect(() => hessian(f2 as never)([1, 2])).toThrow(/returned an array; hessian needs a function that returns a single number/);
  });

  it('hessian / hvp of a non-flat argument', () => {
    expect(() => hessian(((x: number) => x * x) as never)(2 as never)).toThrow(/hessian takes x as a flat array of numbers, got a number/);
    expect(() => hvp((x: number[]) => x[0]!)([[1]] as never, [[1]] as never)).toThrow(/hvp takes x as a flat array/);
  });

  it('hvp with x and v of different lengths', () => {
    expect(() => hvp(rosen)([1, 2, 3], [1, 0])).toThrow(TypeError);
    expect(() => hvp(rosen)([1, 2, 3], [1, 0])).toThrow(/hvp got x with 3 elements but v with 2/);
  });

  it('jacobian of a function returning a string (all modes), undefined; a bad mode option', () => {
    for (const mode of ['forward', 'reverse', 'auto'] as const) {
      const j = jacobian((x: number) => 'value: ' + x, { mode });
      expect(() => j(1)).toThrow(TypeError);
      expect(() => j(1)).toThrow(/jacobian needs a function returning a number or an array.*result is a string \("value: 1"\)/);
    }
    expect(() => jacobian((x: number) => undefined as never)(1)).toThrow(/jacobian needs .*result is undefined/);
    expect(() => jacobian((x: number) => x, { mode: 'sideways' as never })).toThrow(/mode must be 'forward', 'reverse' or 'auto', got a string \("sideways"\)/);
  });

  it('jvp / vjp of a function returning a string, and of a non-number argument', () => {
    expect(() => jvp((x: number) => 'a' + x, [1], [1])).toThrow(/jvp needs a function returning a number/);
    expect(() => vjp((x: number) => 'a' + x, 1)).toThrow(/vjp needs a function returning a number/);
    expect(() => vjp((x: number) => x, 'one' as never)).toThrow(/primals\[0\] is a string/);
  });

  // Regression (plugin): functions compiled in place because of a 'use differentiable' body
  // directive (object-literal methods and arrows, functions in array literals) used not to be
  // marked as compiled, so handing them to an entry point was refused.
  it("regression: a 'use differentiable' object method handed to jvp / jacobian", () => {
    const model = {
      energy(x: number[]): number {
        'use differentiable';
        return x[0]! * x[0]! * x[1]!;
      },
    };
    // called from differentiated code it works:
    expect(grad((x: number[]) => model.energy(x))([1, 2])).toEqual([4, 1]);
    expect(jvp(model.energy, [[1, 2]], [[1, 0]])[1]).toBe(4);
    expect(jacobian(model.energy)([1, 2])).toEqual([[4, 1]]);
  });

  it('an uncompiled function is refused by name', () => {
    const plain = [function notCompiled(x: number) { return x; }][0]!;
    expect(() => jvp(plain, [1], [1])).toThrow(/jvp was given `notCompiled`, which the dualtape Babel plugin did not compile/);
    expect(() => vjp(plain, 1)).toThrow(/vjp was given `notCompiled`/);
    expect(() => jacobian(plain)).toThrow(/jacobian was given `notCompiled`/);
    expect(() => hessian(plain as never)).toThrow(/hessian was given `notCompiled`/);
    expect(() => hvp(plain as never)).toThrow(/hvp was given `notCompiled`/);
  });
});

// ---------------------------------------------------------------------------
// The examples
// ---------------------------------------------------------------------------

function quartic(x: number[]): number {
  return (x[0]! - 1) ** 4 + (x[0]! - 2 * x[1]!) ** 2 + Math.exp(x[1]!) - x[1]!;
}

describe('examples', () => {
  it('newton.ts: Gaussian elimination solves a pivoting-requiring system', () => {
    const A = [[0, 2, 1], [1, 1, 1], [2, 1, 3]];
    const x = [1, -2, 3];
    const b = matVec(A, x);
    expectVectorClose(solveLinear(A, b), x, 1e-14, 1e-14);
    expect(solveLinear([[1, 2], [2, 4]], [1, 2])).toBeUndefined();
  });

  it('newton.ts: reaches the Rosenbrock minimum with a quadratic tail', () => {
    for (const n of [2, 4]) {
      const r = minimizeRosenbrock(n);
      expect(r.converged).toBe(true);
      expect(r.iterations).toBeLessThan(50);
      expectVectorClose(r.x, new Array<number>(n).fill(1), 1e-9, 1e-9, `n = ${n}`);
      expect(r.f).toBeLessThan(1e-20);
      // Quadratic convergence: in the last steps the gradient norm at least squares (relative to 1).
      const tail = r.history.slice(-3).map((h) => h.gradNorm);
      expect(tail[2]!).toBeLessThan(Math.max(tail[1]! ** 1.5, 1e-12));
      expect(r.history.at(-1)!.lambda).toBe(0);
      expect(r.history.at(-1)!.step).toBe(1);
    }
    expect(rosenbrock([1, 1, 1])).toBe(0);
  });

  it('newton.ts: minimizes another function and reports each iterate', () => {
    const seen: number[] = [];
    const r = newtonMinimize(quartic, [3, -1], { onIteration: (it) => seen.push(it.iteration) });
    expect(r.converged).toBe(true);
    expect(seen).toEqual(Array.from({ length: r.iterations + 1 }, (_, i) => i));
    // The gradient at the result is ~0 (by finite differences of the plain function).
    const g = [0, 1].map((i) => fdDerivative((t) => quartic(r.x.map((v, k) => (k === i ? t : v))), r.x[i]!));
    expectVectorClose(g, [0, 0], 0, 1e-7);
  });

  it('ode-jacobian.ts: the Jacobians printed by the example', () => {
    const lz = lorenzJacobians([1, 1, 1]);
    expectMatrixClose(lz.reverse, lorenzJacobianByHand([1, 1, 1]), 1e-15, 1e-15);
    expectMatrixClose(lz.forward, lz.reverse, 0, 0);
    const fc = foodChainJacobians([4, 2, 1]);
    expectMatrixClose(fc.forward, fc.reverse, 1e-14, 1e-15);
    expectMatrixClose(fc.forward, fdJacobian(foodChain, [[4, 2, 1], { ...FOOD_CHAIN }]), 1e-8, 1e-10);
  });
});
