/**
 * Searches and keys compare values, as `===` does in compiled code:
 * includes/indexOf/lastIndexOf with a constant needle over derivative-carrying
 * elements, Map/Set keys (get, has, delete, add then has, new Set(xs)), and
 * built-in predicates and parsers passed as values (Number.isFinite, isNaN,
 * Number, Math.abs, String, parseFloat). Both modes, finite differences and a
 * hand formula.
 */
import { describe, expect, it } from 'vitest';
import { DualtapeError, grad, hessian } from 'dualtape';
import { search } from '../runtime/natives.js'; // (a module importing dualtape/ops counts as already compiled)
import { expectClose, fdDerivative } from './helpers/check.js';
import { expectMatrixClose, fdHessian } from './helpers/transforms-check.js';

const modes = ['reverse', 'forward'] as const;

function check(f: (xs: number[]) => number, xs: number[], hand: number[], exactKeys: number[] = []): void {
  expect(Number.isFinite(f(xs))).toBe(true);
  for (const mode of modes) {
    const g = grad(f, { mode })(xs) as number[];
    expectClose(g, hand, 1e-12, 1e-12, mode);
    xs.forEach((x0, i) => {
      const fd = fdDerivative((t) => f(xs.map((v, j) => (j === i ? t : v))), x0, 1e-7);
      // Searches are piecewise constant in the needle's neighbourhood only away from ties: the
      // hand formula is the oracle there; elsewhere finite differences must agree.
      if (!xs.some((v, j) => j !== i && v === x0) && !Number.isInteger(x0) && !exactKeys.includes(i)) expectClose(g[i], fd, 1e-5, 1e-6, `${mode} vs fd [${i}]`);
    });
  }
}

function withZero(xs: number[]): number {
  return xs.includes(0) ? xs[1]! * 10 : xs[1]!;
}
function positionOf3(xs: number[]): number {
  const i = xs.indexOf(3);
  const j = xs.lastIndexOf(3);
  const k = xs.indexOf(3, i + 1);
  return xs[2]! * (i + 1) + xs[2]! * xs[2]! * j + k;
}
function optionalSearch(xs: number[]): number {
  const m: Map<number, number> | undefined = new Map([[2, 5]]);
  return (xs?.includes(0) ? xs[1]! * 10 : xs[1]!) + (m?.get(xs[1]!) ?? 1) * xs[1]!;
}
function lookup(xs: number[]): number {
  const weights = new Map([[1, 10], [2, 20]]);
  return xs.reduce((s, v) => s + (weights.get(v) ?? 1) * v, 0);
}
function weightedSquares(xs: number[]): number {
  const weights = new Map([[1, 10], [2, 20]]);
  return xs.reduce((s, v) => s + (weights.get(v) ?? 1) * v * v, 0);
}
function keyedByValue(xs: number[]): number {
  const seen = new Set<number>();
  for (const v of xs) seen.add(v);
  const m = new Map<number, number>();
  m.set(xs[0]!, 5);
  return (seen.has(2) ? 3 * xs[1]! : 0) + (m.has(1.5) ? m.get(1.5)! * xs[0]! : 0) + seen.size * xs[2]!;
}
function uniqueSquares(xs: number[]): number {
  let t = 0;
  for (const v of new Set(xs)) t += v * v; // the first of equal values keeps its derivative
  return t;
}
function counts(xs: number[]): number {
  const m = new Map<number, number>();
  for (const v of xs) m.set(v, (m.get(v) ?? 0) + 1);
  m.delete(7);
  let t = 0;
  for (const [k, c] of m) t += k * c;
  return t;
}
function finiteOnly(xs: number[]): number {
  return xs.filter(Number.isFinite).length * xs[0]! + (xs.every(Number.isInteger) ? xs[1]! : 2 * xs[1]!) +
    xs.filter((v) => !isNaN(v)).length * xs[2]! + (xs.some(isFinite) ? xs[0]! : 0);
}
function mapped(xs: number[]): number {
  return xs.map(Number).reduce((a, b) => a + b * b, 0) + xs.map(Math.abs).reduce((a, b) => a + b, 0);
}
function asText(xs: number[]): number {
  return xs.map(String).join(',').length * xs[0]!;
}
function parsedValues(xs: number[]): number {
  return xs.map(parseFloat as (s: unknown) => number).reduce((a, b) => a + b, 0);
}

describe('searches with a constant needle', () => {
  it('includes(0)', () => {
    check(withZero, [0, 2.5], [0, 10]);
    check(withZero, [1.5, 2.5], [0, 1]);
  });
  it('in optional chains: xs?.includes(0), m?.get(x)', () => check(optionalSearch, [0, 2], [0, 15]));
  it('indexOf, lastIndexOf and a fromIndex', () => check(positionOf3, [3, 0.5, 1.5, 3], [0, 0, 1 + 2 * 1.5 * 3, 0]));
});

describe('the runtime search is the native one on plain values', () => {
  it('includes, indexOf, lastIndexOf: NaN, -0, holes, undefined, every kind of fromIndex', () => {
    // eslint-disable-next-line no-sparse-arrays
    const arrays: unknown[][] = [[1, 2, 3, 2, NaN, 0, -0, undefined], [, 1, , 2], [], [NaN]];
    const needles = [2, NaN, 0, -0, undefined, 5, 1];
    const froms = [undefined, 0, 1, -1, -2, 10, -10, NaN, Infinity, -Infinity, 1.5, '2'];
    const native = (a: unknown[], m: string, args: unknown[]) => (a as unknown as Record<string, Function>)[m]!(...args);
    for (const a of arrays) {
      for (const x of needles) {
        for (const m of ['includes', 'indexOf', 'lastIndexOf'] as const) {
          expect([m, x, search(a, m, x)]).toEqual([m, x, native(a, m, [x])]);
          for (const f of froms) expect([m, x, f, search(a, m, x, f)]).toEqual([m, x, f, native(a, m, [x, f])]);
        }
      }
    }
  });
});

describe('Map and Set keys compare values', () => {
  it('map.get with a differentiable key', () => check(lookup, [1, 2, 3.5], [10, 20, 1]));
  it('add then has, get and size', () => check(keyedByValue, [1.5, 2, 2.5], [5, 3, 3], [0]));
  it('new Set(xs) keeps the first of equal values, with its derivative', () => {
    check(uniqueSquares, [1.5, 2.5, 1.5], [3, 5, 0]);
  });
  it('counting with a Map, and delete', () => check(counts, [1.5, 2.5, 1.5, 7], [2, 1, 0, 0]));
  it('under hessian', () => {
    const x = [1.5, 2.5, 1.5];
    expectMatrixClose(hessian(uniqueSquares)(x), [[2, 0, 0], [0, 2, 0], [0, 0, 0]]);
    // The weights looked up at exactly 1 and 2 (finite differences would step off the keys).
    expectMatrixClose(hessian(weightedSquares)([1, 2, 3.5]), [[20, 0, 0], [0, 40, 0], [0, 0, 2]]);
    // Away from ties (finite differences would split the equal values): the same as second differences.
    expectMatrixClose(hessian(uniqueSquares)([1.5, 2.5, 0.5]), fdHessian(uniqueSquares, [1.5, 2.5, 0.5]), 1e-5, 1e-5);
  });
});

describe('built-in predicates and parsers passed as values', () => {
  it('Number.isFinite, Number.isInteger, isNaN, isFinite', () => {
    check(finiteOnly, [1.5, 2, 3.5], [3 + 1, 2, 3]);
    check(finiteOnly, [1, 2, 3], [3 + 1, 1, 3]);
  });
  it('Number and Math.abs', () => check(mapped, [1.5, -2.5], [3 + 1, -5 - 1]));
  it('String carries no derivative (a string has none)', () => check(asText, [1.5, 2], ['1.5,2'.length, 0], [0, 1]));
  it('parseFloat refuses a differentiable value, saying what to do', () => {
    for (const mode of modes) {
      expect(() => grad(parsedValues, { mode })([1.5, 2])).toThrow(DualtapeError);
      expect(() => grad(parsedValues, { mode })([1.5, 2])).toThrow(/parseFloat\(\) was given a differentiable value.*stopGradient/);
    }
  });
});
