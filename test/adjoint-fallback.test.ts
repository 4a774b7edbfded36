/**
 * The adjoint tier's edges: what falls back to the tape (and stays right),
 * nested derivatives, exceptions in the middle of a gradient, gradients taken
 * inside a differentiated function, recursion depth, and many calls.
 */
import { describe, expect, it } from 'vitest';
import { compareModes, grad, setTier, tierOf, valueAndGrad } from 'dualtape';
import { $S } from '../runtime/adjoint/stack.ts';
import { expectClose, fdGrad } from './helpers/check.js';

// ---------------------------------------------------------------------------
// Functions the adjoint tier does not compile: each must say why, and its gradient must stay right.
// ---------------------------------------------------------------------------

/** The reverse sweep reads `data.scale` again to recompute the partial 2·data.scale·p[i]. */
function scaledSquares(p: number[], data: { scale: number }): number {
  let t = 0;
  for (let i = 0; i < p.length; i++) t += data.scale * p[i] * p[i];
  return t;
}

function withForOf(x: number[]): number {
  let s = 0;
  for (const v of x) s += v * v;
  return s;
}
function withClosure(x: number[]): number {
  const f = (t: number) => t * x[0];
  return f(x[1]) + x[1];
}
function withSwitch(x: number, k: number): number {
  switch (k) {
    case 0: return x * x;
    default: return x * 3;
  }
}
function withBreak(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] < 0) break;
    s += Math.exp(x[i]);
  }
  return s;
}
function withTry(x: number): number {
  try {
    return Math.log(x);
  } catch {
    return 0;
  }
}
function logged(v: number): number {
  return v;
}
const sink: number[] = [];
function leaksToNative(x: number[]): number {
  sink.push(x[0]);
  return x[0] * x[1];
}
function callsTapeOnly(x: number[]): number {
  return withForOf(x) * 2;
}
let moduleScale = 1;
const moduleWeights = [2, 3];
function bump(): void {
  moduleScale += 1;
  moduleWeights[0] += 1;
}
function readsModuleState(x: number[]): number {
  const y = x[0] * moduleScale + x[1] * moduleWeights[0];
  bump();
  return y * y;
}
// Found by the property test: a ?: after && must not move before it.
function andThenTernary(x: number[]): number {
  return Math.log(1 + 1 ** 2) && (x[1]! < x[0]! ? x[1]! : 1) * x[0]!;
}
function objectParam(o: { a: number; b: number }): number {
  return o.a * o.b;
}

describe('fallback to the tape, per function, with the reason', () => {
  const x = [0.5, -0.25, 1.5];
  // Each function is handed to grad (and tierOf) by name, so the plugin compiles it.
  const cases: [string, () => unknown, (...a: any[]) => number, (...a: any[]) => unknown, unknown[], RegExp][] = [
    ['for...of', () => tierOf(withForOf), withForOf, grad(withForOf), [x], /ForOfStatement/],
    ['a closure', () => tierOf(withClosure), withClosure, grad(withClosure), [x], /functions defined inside/],
    ['switch', () => tierOf(withSwitch), withSwitch, grad(withSwitch, { argnums: 0 }), [0.7, 0], /switch/],
    ['break', () => tierOf(withBreak), withBreak, grad(withBreak), [[0.5, 0.25, -1, 2]], /break/],
    ['try', () => tierOf(withTry), withTry, grad(withTry), [2], /try/],
    ['a value passed to a native method', () => tierOf(leaksToNative), leaksToNative, grad(leaksToNative), [x], /does not compile/],
    ['a call of a function on the tape', () => tierOf(callsTapeOnly), callsTapeOnly, grad(callsTapeOnly), [x], /withForOf/],
  ];
  it('module state that an uncompiled call may change falls back, and the gradient stays right', () => {
    const t = tierOf(readsModuleState);
    expect(t.tier).toBe('tape');
    if (process.env.DUALTAPE_TIER !== 'tape') expect(t.reason).toMatch(/module state/);
    moduleScale = 1;
    moduleWeights[0] = 2;
    const g = grad(readsModuleState)([0.5, -0.25]) as number[];
    // y = x0 * 1 + x1 * 2 at the time of the call.
    const y = 0.5 - 0.5;
    expect(g).toEqual([2 * y * 1, 2 * y * 2]);
    moduleScale = 1;
    moduleWeights[0] = 2;
    const g2 = grad(readsModuleState)([0.7, 0.1]) as number[];
    const y2 = 0.7 + 0.2;
    expectClose(g2, [2 * y2, 4 * y2], 1e-15, 0);
  });
  for (const [what, tier, f, g, args, reason] of cases) {
    it(what, () => {
      const t = tier() as { tier: string; reason: string };
      expect(t.tier).toBe('tape');
      expect(t.reason).toMatch(process.env.DUALTAPE_TIER === 'tape' ? /./ : reason);
      expectClose(g(...args), fdGrad(f, args, 0), 1e-7, 1e-8);
    });
  }
  it('?: after && keeps its value (found by the property test)', () => {
    const x = [0.5, 0.25];
    const [v, g] = valueAndGrad(andThenTernary)(x) as [number, number[]];
    expect(v).toBe(andThenTernary(x));
    expectClose(g, fdGrad(andThenTernary, [x], 0), 1e-7, 1e-8);
    expect(tierOf(andThenTernary).tier).toBe('tape');
  });
  it('data that may read differently twice (a getter, a class instance) runs on the tape, so the reverse sweep cannot see another value', () => {
    expect(tierOf(scaledSquares).tier).toBe(process.env.DUALTAPE_TIER === 'tape' ? 'tape' : 'adjoint');
    // A getter with state: the forward pass reads 1 then 2, so f = 1·1² + 2·2² and the gradient is [2·1·1, 2·2·2].
    let reads = 0;
    const counting = { get scale() { return ++reads; } };
    expect(grad(scaledSquares, { argnums: 0 })([1, 2], counting)).toEqual([2, 8]);
    expect(reads).toBe(2);
    class Scale { constructor(private readonly s: number) {} get scale() { return this.s; } }
    expect(grad(scaledSquares, { argnums: 0 })([1, 2], new Scale(3))).toEqual([6, 12]);
    // Plain data keeps the adjoint tier and gives the same numbers.
    expect(grad(scaledSquares, { argnums: 0 })([1, 2], { scale: 3 })).toEqual([6, 12]);
    expect(grad(scaledSquares, { argnums: 0 })([1, 2], { scale: 3 })).toEqual(grad(scaledSquares, { argnums: 0 })([1, 2], new Scale(3)));
  });

  it('an argument the compiled code sees as data, when it is differentiated, runs on the tape', () => {
    void logged;
    expect(tierOf(objectParam).tier).toBe(process.env.DUALTAPE_TIER === 'tape' ? 'tape' : 'adjoint');
    const g = grad(objectParam);
    expect(g({ a: 2, b: 3 })).toEqual({ a: 3, b: 2 });
  });
  it('nested derivatives run on the tape and stay right (no perturbation confusion)', () => {
    // d/dx [x · d/dy (x + y)] = 1
    const inner = (xx: number) => grad((y: number) => xx + y)(1);
    expect(grad((xx: number) => xx * inner(xx))(3)).toBe(1);
    // grad of a compiled function under an outer derivative: d²/dx² of rosen-like term
    expect(grad((v: number) => grad(cube)(v))(2)).toBeCloseTo(12, 12);
  });
  it('DUALTAPE_TIER=tape / setTier("tape") forces the tape, and tierOf says so', () => {
    const was = setTier('tape');
    try {
      expect(tierOf(cube)).toEqual({ tier: 'tape', reason: 'DUALTAPE_TIER=tape' });
      expect(grad(cube)(2)).toBe(12);
    } finally {
      setTier(was);
    }
    expect(() => setTier('fast' as 'auto')).toThrow(/auto/);
  });
  it('compareModes names the tier', () => {
    const r = compareModes(cube, [1.5], { samples: 1, sampleMs: 1 });
    expect(r.tier).toBe(process.env.DUALTAPE_TIER === 'tape' ? 'tape' : 'adjoint');
    expect(r.tapeNodes).toBeGreaterThan(0);
    const s = compareModes(withForOf, [[1, 2]], { samples: 1, sampleMs: 1 });
    expect(s.tier).toBe('tape');
    expect(s.tierReason).toMatch(/ForOf|TIER/);
  });
});

function cube(v: number): number {
  return v * v * v;
}

// ---------------------------------------------------------------------------
// Stacks: exceptions, re-entrancy, recursion, many calls
// ---------------------------------------------------------------------------

let limit = 100;
function guard(i: number): void {
  if (i >= limit) throw new RangeError(`index ${i} over the limit`);
}
function throwsMidway(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    s += Math.sin(x[i]) * s + x[i];
    guard(i);
  }
  return s;
}

function innerSquare(y: number): number {
  return y * y;
}
function slopeAt(n: number): number {
  return grad(innerSquare)(n);
}
function reentrant(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const k = slopeAt(i + 1);
    s += k * x[i] * x[i];
  }
  return s;
}

function deep(x: number, n: number): number {
  return n === 0 ? x : Math.sin(deep(x, n - 1)) + 0.5 * x;
}

function small(x: number[]): number {
  return x[0] * Math.exp(x[1]) - x[1] * x[1];
}

const pointers = () => [$S.fp, $S.ip, $S.op];

describe('the stacks', () => {
  it('an exception in the middle of a gradient leaves them as they were', () => {
    expect(tierOf(throwsMidway).tier).toBe(process.env.DUALTAPE_TIER === 'tape' ? 'tape' : 'adjoint');
    const x = [0.3, -0.7, 1.2, 0.4, 0.9];
    const before = pointers();
    limit = 2;
    expect(() => grad(throwsMidway)(x)).toThrow(RangeError);
    expect(pointers()).toEqual(before);
    limit = 100;
    const g = grad(throwsMidway)(x);
    expectClose(g, fdGrad(throwsMidway, [x], 0), 1e-7, 1e-8);
    expect(pointers()).toEqual(before);
  });
  it('grad called inside a function being differentiated (re-entrancy)', () => {
    const x = [0.3, -0.7, 1.2];
    const [v, g] = valueAndGrad(reentrant)(x) as [number, number[]];
    expect(v).toBe(reentrant(x));
    expectClose(g, x.map((xi, i) => 2 * (i + 1) * 2 * xi), 1e-14, 0);
    expect(pointers()).toEqual([0, 0, 0]);
  });
  it('deep recursion (depth 2000)', () => {
    const g = grad(deep, { argnums: 0 });
    const d = g(0.4, 2000) as number;
    expectClose(d, fdGrad(deep, [0.4, 2000], 0), 1e-6, 1e-8);
    expect(pointers()).toEqual([0, 0, 0]);
  });
  it('10^5 gradients: the stacks do not grow, nothing is left on them', () => {
    const g = grad(small);
    const x = [0.3, 0.2];
    for (let k = 0; k < 1000; k++) g(x);
    const sizes = [$S.F.length, $S.I.length, $S.O.length];
    let last: unknown;
    for (let k = 0; k < 100_000; k++) last = g(x);
    expect([$S.F.length, $S.I.length, $S.O.length]).toEqual(sizes);
    expect(pointers()).toEqual([0, 0, 0]);
    expectClose(last, [Math.exp(0.2), 0.3 * Math.exp(0.2) - 0.4], 1e-15, 0);
  });
});
