/**
 * Valid input that is not a number: strings, null, undefined and booleans in
 * the arguments of checkpointed steps, custom-derivative functions and
 * compareModes are constants; custom rules returning something other than
 * numbers, values that escaped a finished call, `new Array(n)` with a
 * differentiable n and plain objects with a `length` key.
 */
import { describe, expect, it } from 'vitest';
import { DualtapeError, checkpoint, compareModes, customDerivative, grad, hessian, stopGradient } from 'dualtape';
import { expectClose, fdDerivative } from './helpers/check.js';

const modes = ['reverse', 'forward'] as const;

const labelled = checkpoint((s: number, label: string, none: null, missing: undefined, on: boolean, opts: { k: string }) =>
  on && label === 'double' && none === null && missing === undefined && opts.k === 'v' ? s * s * 2 : s);
function usesLabelled(x: number): number {
  return labelled(x, 'double', null, undefined, true, { k: 'v' });
}
const square = customDerivative((x: number, label: string, _n: null) => (label === 'sq' ? x * x : x), {
  vjp: ([x, label], _y, ct) => [(label === 'sq' ? 2 * (x as number) : 1) * (ct as number), null, 0] as never,
});
const squareJvp = customDerivative((x: number, label: string) => (label === 'sq' ? x * x : x), {
  jvp: ([x], [t]) => 2 * (x as number) * (t as number),
});
const returnsUndefined = customDerivative(function halve(x: number) { return x / 2; }, { vjp: () => [undefined] as never });
const returnsString = customDerivative(function halve(x: number) { return x / 2; }, { jvp: () => 'half' as never });
const returnsNullLeaf = customDerivative(function pair(x: number[]) { return x[0]! * x[1]!; }, { vjp: () => [[1, null]] as never });

function sizedByLeaf(n: number): number {
  const a = new Array(n).fill(1);
  const b = Array(n);
  const c = Array.from({ length: n }, (_, i) => i);
  return a.length * n + b.length + c.length;
}
function lengthKey(r: { length: number; width: number }): number {
  return typeof r.length === 'number' ? 1 : 0;
}
function lengthKeyIndexed(r: { length: number; width: number }): number {
  return r['length'] * r.width;
}
function lengthKeyCompared(r: { length: number; width: number }): number {
  return 1 < r.length ? r.width : 0;
}
function lengthKeyArithmetic(r: { length: number; width: number }): number {
  return r.length * r.width;
}

describe('non-numeric leaves are constants', () => {
  it('a checkpointed step with a string, null, undefined, a boolean and an object: plain call and both modes', () => {
    expect(usesLabelled(3)).toBe(18);
    for (const mode of modes) expect(grad(usesLabelled, { mode })(3)).toBe(12);
    expectClose(hessian((x: number[]) => usesLabelled(x[0]!))([3]), [[4]]);
  });
  it('customDerivative with constant arguments, in both modes, from a vjp or a jvp rule', () => {
    for (const mode of modes) {
      expect(grad((x: number) => square(x, 'sq', null), { mode })(3)).toBe(6);
      expect(grad((x: number) => squareJvp(x, 'sq'), { mode })(3)).toBe(6);
    }
  });
  it('compareModes differentiates the numeric arguments and passes the others', () => {
    const r = compareModes((x: number, label: string, n: null) => (label === 'a' && n === null ? x * x : 0), [2, 'a', null], { samples: 1, sampleMs: 1 });
    expect(r.inputs).toBe(1);
    expect(r.modeDifference).toBe(0);
  });
});

describe('custom rules that return something other than numbers', () => {
  it('name the rule and what it returned', () => {
    expect(() => grad((x: number) => returnsUndefined(x))(2)).toThrow(DualtapeError);
    expect(() => grad((x: number) => returnsUndefined(x))(2)).toThrow(/vjp rule of customDerivative\(`halve`\) returned undefined/);
    expect(() => grad((x: number) => returnsString(x), { mode: 'forward' })(2)).toThrow(/jvp rule of customDerivative\(`halve`\) returned a string \("half"\)/);
    expect(() => grad((x: number[]) => returnsNullLeaf(x))([1, 2])).toThrow(/returned null at \[1\] of the cotangent of argument 0/);
  });
});

describe('values that escaped a finished call', () => {
  it('Math.min(...history) says the value escaped and how to keep just the number', () => {
    const history: number[] = [];
    const kept: number[] = [];
    const step = (x: number) => {
      const loss = x * x;
      history.push(loss);
      kept.push(stopGradient(loss));
      return loss;
    };
    for (const mode of modes) grad(step, { mode })(1.5);
    expect(() => Math.min(...history)).toThrow(DualtapeError);
    expect(() => Math.min(...history)).toThrow(/escaped that finished call.*stopGradient\(loss\)/);
    expect(Math.min(...kept)).toBe(2.25);
  });
});

describe('advice that fits', () => {
  it('grad of an uncompiled function that has the directive does not ask for the directive', () => {
    // Made at run time, so the plugin never saw it (as in a file the plugin did not run on).
    const f = new Function('x', "'use differentiable';\n  return x * x;") as (x: number) => number;
    const run = () => grad(f)(2);
    expect(run).toThrow(TypeError);
    expect(run).toThrow(/whose source has the 'use differentiable' directive, but the dualtape Babel plugin did not run on its file/);
    const g = new Function('x', 'return x * x;') as (x: number) => number;
    expect(() => grad(g)(2)).toThrow(/put the directive 'use differentiable'/);
  });
});

describe('lengths', () => {
  it('new Array(n), Array(n) and Array.from({ length: n }) with a differentiable n take its value (a length is piecewise constant)', () => {
    for (const mode of modes) expect(grad(sizedByLeaf, { mode })(3)).toBe(3);
    expect(sizedByLeaf(3)).toBe(15);
    expect(fdDerivative((n) => 3 * n, 3)).toBeCloseTo(3, 6);
    expect(() => grad(sizedByLeaf)(2.5)).toThrow(RangeError);
  });
  it('typeof of a plain object key named length is number', () => {
    for (const mode of modes) expect(grad(lengthKey, { mode })({ length: 2, width: 3 })).toEqual({ length: 0, width: 0 });
  });
  it('arithmetic on a key named length: the right gradient or a loud error whose advice fits', () => {
    // The statement-level fast path takes `.length` for a plain number (and throws); the generic path
    // (fastPath: false) differentiates it. Never a wrong number.
    for (const mode of modes) {
      let g: unknown;
      try {
        g = grad(lengthKeyArithmetic, { mode })({ length: 2, width: 3 });
      } catch (e) {
        expect(e).toBeInstanceOf(DualtapeError);
        expect((e as Error).message).toMatch(/inside code the dualtape plugin compiled.*key named `length`/);
        expect((e as Error).message).not.toMatch(/put the directive/);
      }
      if (g !== undefined) expect(g).toEqual({ length: 3, width: 2 });
      expect(() => grad(lengthKeyCompared, { mode })({ length: 2, width: 3 })).toThrow(/key named `length`/);
      expect(grad(lengthKeyIndexed, { mode })({ length: 2, width: 3 })).toEqual({ length: 3, width: 2 });
    }
  });
});
