/**
 * Truthiness where native code tests a value: a derivative-carrying value is
 * an object, always truthy to native code, so callbacks of filter/find/some/
 * every, Boolean passed as a value, Boolean(x), !x, x ? a : b, x && y and
 * if (x) must look at the number. Each case: both modes, finite differences
 * and a hand formula.
 */
import { describe, expect, it } from 'vitest';
import { grad, hessian } from 'dualtape';
import { expectClose, fdDerivative } from './helpers/check.js';
import { expectMatrixClose, fdHessian } from './helpers/transforms-check.js';

const modes = ['reverse', 'forward'] as const;

/** findLast/findLastIndex (ES2023; the project's TypeScript lib is older, Node 20 has them). */
type Es2023 = number[] & { findLast(p: (v: number) => unknown): number | undefined; findLastIndex(p: (v: number) => unknown): number };

/**
 * Gradient in both modes, equal to the hand formula and, for every entry not
 * at a point where a truthiness test switches (an exact 0 tested, or a
 * difference that is 0), to central finite differences of the plain function.
 */
function check(f: (xs: number[]) => number, xs: number[], hand: number[], kinks: number[] = xs.flatMap((v, i) => (v === 0 ? [i] : []))): void {
  for (const mode of modes) {
    const g = grad(f, { mode })(xs) as number[];
    expectClose(g, hand, 1e-12, 1e-12, mode);
    xs.forEach((x0, i) => {
      if (kinks.includes(i)) return;
      const fd = fdDerivative((t) => f(xs.map((v, j) => (j === i ? t : v))), x0);
      expectClose(g[i], fd, 1e-6, 1e-7, `${mode} vs finite differences at [${i}]`);
    });
  }
}

function meanNonZero(xs: number[]): number {
  const nz = xs.filter((v) => v);
  return nz.reduce((a, b) => a + b, 0) / nz.length;
}
function meanNonZeroBoolean(xs: number[]): number {
  const nz = xs.filter(Boolean);
  return nz.reduce((a, b) => a + b, 0) / nz.length;
}
function firstNonZero(xs: number[]): number {
  return xs.find((v) => v)! * 3;
}
function firstNonZeroIndex(xs: number[]): number {
  const i = xs.findIndex((v) => v);
  const j = (xs as Es2023).findLastIndex((v) => v);
  return xs[i]! * 10 + xs[j]! * xs[j]!;
}
function lastNonZero(xs: number[]): number {
  return (xs as Es2023).findLast((v) => v)! ** 2;
}
function anyAll(xs: number[]): number {
  const any = xs.some((v) => v - 1);
  const all = xs.every((v) => v);
  return (any ? 2 * xs[0]! : 0) + (all ? xs[1]! : 5 * xs[2]!);
}
function tests(xs: number[]): number {
  const [a, b, c] = xs as [number, number, number];
  let s = Boolean(a) ? a * 7 : a * 11; // a is 0: the else branch
  s += !b ? 0 : b * b; // b non-zero
  s += c ? c : -c;
  s += (a && b) * 1; // a is 0: a
  s += (b || c) * 2; // b
  if (a) s += 100 * a;
  return s;
}
function predicateThis(xs: number[]): number {
  const picked = xs.filter(function (this: { min: number }, v) {
    return v - this.min; // truthy unless v equals min
  }, { min: 2 });
  return picked.reduce((p, v) => p * v, 1);
}

function optionalChains(xs: number[]): number {
  const nz = xs?.filter((v) => v);
  return nz!.reduce((p, v) => p + v, 0) / nz!.length + xs?.filter((v) => v).length * xs[1]!;
}
function sortedDescending(xs: number[]): number {
  const s = xs.slice().sort((a, b) => b - a);
  return s[0]! * 2 + s[2]!;
}

describe('truthiness of values carrying derivatives', () => {
  it('filter((v) => v): the mean of the non-zero entries of [0, 2, 4] is 3 with gradient [0, 1/2, 1/2]', () => {
    for (const mode of modes) expect(grad(meanNonZero, { mode })([0, 2, 4])).toEqual([0, 0.5, 0.5]);
    check(meanNonZero, [0, 2, 4], [0, 0.5, 0.5]);
    expect(meanNonZero([0, 2, 4])).toBe(3);
  });
  it('filter(Boolean)', () => check(meanNonZeroBoolean, [0, 2, 4, 0], [0, 0.5, 0.5, 0]));
  it('find', () => check(firstNonZero, [0, 0, 2, 4], [0, 0, 3, 0]));
  it('findIndex and findLastIndex', () => check(firstNonZeroIndex, [0, 1.5, 2, 0], [0, 10, 4, 0]));
  it('findLast', () => check(lastNonZero, [0, 1.5, 2, 0], [0, 0, 4, 0]));
  it('some and every', () => {
    // some: 1 - 1 = 0 (falsy) everywhere but at 2 - 1; every: the 0 fails it.
    check(anyAll, [1, 0, 2], [2, 0, 5], [0, 1]);
    check(anyAll, [1, 1, 1], [0, 1, 0], [0, 1, 2]); // some finds nothing (all v - 1 are 0); every holds
  });
  it('Boolean(x), !x, x ? :, && and ||, if (x)', () => check(tests, [0, 1.5, -2], [11 + 1, 3 + 2, 1]));
  it('a predicate with thisArg', () => check(predicateThis, [2, 3, 5], [0, 5, 3], [0]));
  it('optional chains: xs?.filter(cb) and xs?.filter(cb).length', () => check(optionalChains, [0, 2, 4], [0, 0.5 + 2, 0.5]));
  it('under hessian', () => {
    const f = (xs: number[]) => xs.filter((v) => v).reduce((a, v) => a + v * v * v, 0);
    const x = [0, 2, -1];
    const H = hessian(f)(x);
    expectMatrixClose(H, [[0, 0, 0], [0, 12, 0], [0, 0, -6]], 1e-12, 1e-12);
    expectMatrixClose(H, fdHessian(f, x), 1e-4, 1e-4);
  });
  it('a comparator result is consumed as a number (sort)', () => {
    check(sortedDescending, [1, 5, 3], [1, 2, 0]);
  });
});
