/**
 * Reference computations for the tests of jvp / vjp / jacobian / hessian / hvp
 * (test/transforms.test.ts, test/nesting.test.ts, test/custom.test.ts,
 * test/checkpoint.test.ts, test/property-transforms.test.ts).
 *
 * Everything here works on plain numbers: finite-difference Jacobians and
 * Hessians of plain calls, small matrix helpers, and matrix comparisons whose
 * failure messages name the entry that disagreed.
 *
 * NOTE: this file deliberately does not import (or name) the library under
 * test, so the build-time transform never touches it.
 */
import { fdDerivative } from './check.js';
import { cloneTree, leafPaths, getAt, setAt } from './trees.js';

export type Matrix = number[][];

// ---------------------------------------------------------------------------
// Flattening, in the library's documented order (arguments in order, arrays
// by index, objects by key order)
// ---------------------------------------------------------------------------

/** The numeric leaves of a tree of numbers / arrays / typed arrays / plain objects, in order. */
export function flatten(x: unknown): number[] {
  if (typeof x === 'number') return [x];
  if (x instanceof Float64Array || x instanceof Float32Array) return Array.from(x);
  if (Array.isArray(x)) return x.flatMap(flatten);
  if (x !== null && typeof x === 'object') return Object.keys(x).flatMap((k) => flatten((x as Record<string, unknown>)[k]));
  throw new Error(`test helper: cannot flatten ${String(x)}`);
}

/** Replaces the leaves of `shape` (in flatten's order) with `values`. */
export function unflatten(shape: unknown, values: readonly number[]): unknown {
  let n = 0;
  const go = (x: unknown): unknown => {
    if (typeof x === 'number') return values[n++]!;
    if (x instanceof Float64Array || x instanceof Float32Array) return Array.from(x, () => values[n++]!);
    if (Array.isArray(x)) return x.map(go);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x as object)) out[k] = go((x as Record<string, unknown>)[k]);
    return out;
  };
  const out = go(shape);
  if (n !== values.length) throw new Error(`test helper: unflatten used ${n} of ${values.length} values`);
  return out;
}

// ---------------------------------------------------------------------------
// Finite differences (Richardson-extrapolated central differences)
// ---------------------------------------------------------------------------

/**
 * The Jacobian of plain `f` at `args` by finite differences: rows = the
 * flattened output, columns = the flattened leaves of all arguments.
 */
export function fdJacobian(f: (...args: any[]) => unknown, args: readonly unknown[], h?: number): Matrix {
  const columns: number[][] = [];
  const nOut = flatten(f(...args.map((a) => cloneTree(a, true)))).length;
  args.forEach((arg, i) => {
    for (const path of leafPaths(arg)) {
      const x0 = getAt(arg, path) as number;
      const col: number[] = [];
      for (let k = 0; k < nOut; k++) {
        col.push(
          fdDerivative(
            (t) => {
              const a = args.map((v) => cloneTree(v, true));
              a[i] = setAt(a[i], path, t);
              return flatten(f(...a))[k]!;
            },
            x0,
            h,
          ),
        );
      }
      columns.push(col);
    }
  });
  return Array.from({ length: nOut }, (_, k) => columns.map((c) => c[k]!));
}

/** The Hessian of plain scalar `f` of one vector by finite differences of its (exact, plain) gradient `g`. */
export function fdHessianFromGrad(g: (x: number[]) => ArrayLike<number>, x: readonly number[], h?: number): Matrix {
  return fdJacobian((v: number[]) => Array.from(g(v)), [x.slice()], h);
}

/** The Hessian of plain scalar `f` of one vector by second differences (no gradient needed). */
export function fdHessian(f: (x: number[]) => number, x: readonly number[], h = 1e-4): Matrix {
  const n = x.length;
  const at = (di: number, si: number, dj: number, sj: number): number => {
    const y = x.slice();
    y[di] = y[di]! + si;
    y[dj] = y[dj]! + sj;
    return f(y);
  };
  const H: Matrix = [];
  for (let i = 0; i < n; i++) {
    H.push([]);
    for (let j = 0; j < n; j++) {
      const hi = h * Math.max(1, Math.abs(x[i]!));
      const hj = h * Math.max(1, Math.abs(x[j]!));
      H[i]!.push((at(i, hi, j, hj) - at(i, hi, j, -hj) - at(i, -hi, j, hj) + at(i, -hi, j, -hj)) / (4 * hi * hj));
    }
  }
  return H;
}

// ---------------------------------------------------------------------------
// Small linear algebra
// ---------------------------------------------------------------------------

export function matVec(A: Matrix, v: readonly number[]): number[] {
  return A.map((row) => {
    if (row.length !== v.length) throw new Error(`test helper: matVec of a ${row.length}-column row with a ${v.length}-vector`);
    return row.reduce((s, a, j) => s + a * v[j]!, 0);
  });
}

export function vecMat(u: readonly number[], A: Matrix): number[] {
  const cols = A[0]?.length ?? 0;
  return Array.from({ length: cols }, (_, j) => A.reduce((s, row, i) => s + u[i]! * row[j]!, 0));
}

export function transpose(A: Matrix): Matrix {
  const cols = A[0]?.length ?? 0;
  return Array.from({ length: cols }, (_, j) => A.map((row) => row[j]!));
}

export function dot(a: readonly number[], b: readonly number[]): number {
  return a.reduce((s, x, i) => s + x * b[i]!, 0);
}

export function oneHot(n: number, k: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === k ? 1 : 0));
}

export function softmax(x: readonly number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

// ---------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------

function closeTo(a: number, e: number, rtol: number, atol: number): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(e)) return Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));
  const d = Math.abs(a - e);
  return d <= atol || d <= rtol * Math.max(Math.abs(a), Math.abs(e));
}

/**
 * Asserts that `actual` is a matrix (array of arrays of plain numbers) of
 * exactly the shape of `expected` with every entry within rtol / atol; the
 * error names the first entries that disagree.
 */
export function expectMatrixClose(actual: unknown, expected: Matrix, rtol = 1e-10, atol = 1e-12, label = 'matrix'): void {
  const problems: string[] = [];
  if (!Array.isArray(actual)) throw new Error(`${label}: got ${String(actual)}, expected a ${expected.length}-row matrix`);
  if (actual.length !== expected.length) {
    throw new Error(`${label}: ${actual.length} rows, expected ${expected.length}\n  got ${JSON.stringify(actual)}\n  expected ${JSON.stringify(expected)}`);
  }
  expected.forEach((row, i) => {
    const arow = actual[i] as unknown;
    if (!Array.isArray(arow) || arow.length !== row.length) {
      problems.push(`row ${i}: got ${JSON.stringify(arow)}, expected ${row.length} entries`);
      return;
    }
    row.forEach((e, j) => {
      const a = arow[j] as unknown;
      if (typeof a !== 'number') problems.push(`[${i}][${j}]: got ${String(a)} (${typeof a}), expected the number ${e}`);
      else if (!closeTo(a, e, rtol, atol)) problems.push(`[${i}][${j}]: got ${a}, expected ${e} (|diff| ${Math.abs(a - e).toExponential(2)})`);
    });
  });
  if (problems.length > 0) throw new Error(`${label}:\n  ${problems.slice(0, 10).join('\n  ')}`);
}

/** Asserts that a vector of plain numbers matches `expected` entry by entry. */
export function expectVectorClose(actual: unknown, expected: readonly number[], rtol = 1e-10, atol = 1e-12, label = 'vector'): void {
  if (!Array.isArray(actual) && !(actual instanceof Float64Array)) throw new Error(`${label}: got ${String(actual)}, expected an array`);
  expectMatrixClose([Array.from(actual as ArrayLike<number>)], [expected.slice()], rtol, atol, label);
}

/** Asserts exact (bitwise, Object.is) equality of two matrices. */
export function expectMatrixIdentical(actual: Matrix, expected: Matrix, label = 'matrix'): void {
  expectMatrixClose(actual, expected, 0, 0, label);
}

/** The largest |a_ij - b_ij| over two same-shaped matrices. */
export function maxAbsDiff(a: Matrix, b: Matrix): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((x, j) => (m = Math.max(m, Math.abs(x - b[i]![j]!)))));
  return m;
}
