/**
 * Gradient checking: every derivative is checked three ways.
 *
 *   1. reverse mode vs forward mode  (relative error <= 1e-12)
 *   2. AD vs central finite differences with Richardson extrapolation
 *      (relative error <= 1e-7 by default; FD of plain, uncompiled calls)
 *   3. AD vs a hand-derived expected value, when one is given
 *
 * The function under test must be compiled by the build-time transform,
 * which happens only where the test module itself passes it to `grad(...)`,
 * so callers build the two gradient functions in the test file and hand them
 * over:
 *
 *   const f = (x: number) => Math.sin(x) * x;
 *   checkGrad({ f, rev: grad(f), fwd: grad(f, { mode: 'forward' }) }, [1.3],
 *             Math.cos(1.3) * 1.3 + Math.sin(1.3));
 *
 * `f` itself is evaluated with plain numbers for the finite differences.
 * When the gradient functions were made with `argnums`, pass the same value
 * as `argnums` so the reference gradients have the same layout.
 *
 * Failures name the component that disagreed ("reverse vs forward",
 * "reverse vs finite differences", "reverse vs expected", "shape") and the
 * argument path (arg[1][2].x) of the leaf.
 *
 * NOTE: this file deliberately does not import (or name) the library under
 * test, so the build-time transform never touches it.
 */
import {
  cloneTree,
  describe,
  formatPath,
  getAt,
  isPlainObject,
  isTypedArray,
  mapLeaves,
  setAt,
} from './trees.js';
import type { Path } from './trees.js';

type AnyFn = (...args: any[]) => unknown;

export interface GradFns {
  /** The plain function (evaluated with plain numbers for finite differences). */
  f: AnyFn;
  /** grad(f, { ...opts }) in reverse mode (the default). */
  rev: AnyFn;
  /** grad(f, { mode: 'forward', ...opts }). */
  fwd: AnyFn;
  /** The argnums the two gradient functions were built with, if any. */
  argnums?: number | number[];
}

export interface ValueAndGradFns {
  f: AnyFn;
  /** valueAndGrad(f, { ...opts }) in reverse mode. */
  rev: AnyFn;
  /** valueAndGrad(f, { mode: 'forward', ...opts }). */
  fwd: AnyFn;
  argnums?: number | number[];
}

export interface CheckOptions {
  /** Run the finite-difference check (default true). Turn off at kinks and for non-smooth conventions. */
  fd?: boolean;
  /** Base FD step (default 1e-3 * max(1, |x|); Richardson removes the truncation error). */
  h?: number;
  /** Relative tolerance, FD vs AD (default 1e-7). */
  fdRtol?: number;
  /** Absolute tolerance, FD vs AD (default 1e-9 * max(1, |f(args)|)). */
  fdAtol?: number;
  /** Relative tolerance, reverse vs forward (default 1e-12). */
  modeRtol?: number;
  /** Absolute tolerance, reverse vs forward (default 1e-14: cancellation to ~0). */
  modeAtol?: number;
  /** Relative tolerance, AD vs the expected value (default 1e-10). */
  rtol?: number;
  /** Absolute tolerance, AD vs the expected value (default 1e-12). */
  atol?: number;
}

export interface CheckResult {
  rev: unknown;
  fwd: unknown;
  fd: unknown;
}

// ---------------------------------------------------------------------------
// Tree comparison
// ---------------------------------------------------------------------------

function fmt(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

function close(a: number, e: number, rtol: number, atol: number): boolean {
  if (!Number.isFinite(e) || !Number.isFinite(a)) return Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)) || a === e;
  const d = Math.abs(a - e);
  return d <= atol || d <= rtol * Math.max(Math.abs(a), Math.abs(e));
}

/**
 * Compares two gradient trees; returns a list of human-readable mismatches
 * (empty when they agree). The actual tree must have exactly the expected
 * shape: number vs number, Array vs Array (same length), Float64Array vs
 * Float64Array, plain object vs plain object (same keys).
 */
export function compareTrees(
  actual: unknown,
  expected: unknown,
  rtol: number,
  atol: number,
  names: [string, string] = ['actual', 'expected'],
  path: Path = [],
): string[] {
  const [an, en] = names;
  const at = formatPath(path);
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return [`shape at ${at}: ${an} is ${describe(actual)}, ${en} is a number`];
    if (!close(actual, expected, rtol, atol)) {
      const d = Math.abs(actual - expected);
      const rel = d / Math.max(Math.abs(actual), Math.abs(expected));
      return [`value at ${at}: ${an}=${fmt(actual)} ${en}=${fmt(expected)} |diff|=${d.toExponential(3)} rel=${rel.toExponential(3)}`];
    }
    return [];
  }
  if (expected instanceof Float64Array) {
    if (!(actual instanceof Float64Array)) return [`shape at ${at}: ${an} is ${describe(actual)}, ${en} is a Float64Array`];
    if (actual.length !== expected.length) return [`shape at ${at}: ${an} has length ${actual.length}, ${en} ${expected.length}`];
    const out: string[] = [];
    for (let i = 0; i < expected.length; i++) out.push(...compareTrees(actual[i], expected[i], rtol, atol, names, [...path, i]));
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`shape at ${at}: ${an} is ${describe(actual)}, ${en} is an Array`];
    if (actual.length !== expected.length) return [`shape at ${at}: ${an} has length ${actual.length}, ${en} ${expected.length}`];
    const out: string[] = [];
    for (let i = 0; i < expected.length; i++) out.push(...compareTrees(actual[i], expected[i], rtol, atol, names, [...path, i]));
    return out;
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) return [`shape at ${at}: ${an} is ${describe(actual)}, ${en} is a plain object`];
    const ak = Object.keys(actual).sort();
    const ek = Object.keys(expected).sort();
    if (ak.join(',') !== ek.join(',')) return [`shape at ${at}: ${an} has keys {${ak}}, ${en} has keys {${ek}}`];
    const out: string[] = [];
    for (const k of ek) out.push(...compareTrees(actual[k], expected[k], rtol, atol, names, [...path, k]));
    return out;
  }
  if (expected instanceof Float32Array) {
    return [`test bug at ${at}: expected trees use Float64Array for typed-array gradients`];
  }
  throw new Error(`test helper: unsupported expected value at ${at}: ${describe(expected)}`);
}

/** Asserts that two gradient trees agree (shape and values). */
export function expectClose(actual: unknown, expected: unknown, rtol = 1e-10, atol = 1e-12, label = ''): void {
  const problems = compareTrees(actual, expected, rtol, atol);
  if (problems.length > 0) {
    throw new Error(`${label ? label + ': ' : ''}${problems.slice(0, 12).join('\n')}`);
  }
}

// ---------------------------------------------------------------------------
// Finite differences
// ---------------------------------------------------------------------------

/**
 * Derivative of a scalar function at x by central differences with two
 * levels of Richardson extrapolation (error O(h^6) + rounding).
 */
export function fdDerivative(g: (t: number) => number, x: number, h?: number): number {
  const h0 = h ?? 1e-3 * Math.max(1, Math.abs(x));
  const D = (s: number): number => {
    const xp = x + s;
    const xm = x - s;
    return (g(xp) - g(xm)) / (xp - xm);
  };
  const d1 = D(h0);
  const d2 = D(h0 / 2);
  const d3 = D(h0 / 4);
  const r1 = (4 * d2 - d1) / 3;
  const r2 = (4 * d3 - d2) / 3;
  return (16 * r2 - r1) / 15;
}

function selected(nargs: number, argnums: number | number[] | undefined): { idx: number[]; single: boolean } {
  if (argnums === undefined) {
    return { idx: Array.from({ length: nargs }, (_, i) => i), single: nargs === 1 };
  }
  if (typeof argnums === 'number') return { idx: [argnums], single: true };
  return { idx: argnums, single: false };
}

function callPlain(f: AnyFn, args: unknown[]): number {
  const r = f(...args);
  if (typeof r !== 'number') throw new Error(`test helper: plain call of f returned ${describe(r)}, not a number`);
  return r;
}

/**
 * The finite-difference gradient of plain `f` at `args`, laid out as the
 * library lays out gradients for the given `argnums`.
 */
export function fdGrad(f: AnyFn, args: unknown[], argnums?: number | number[], h?: number): unknown {
  const { idx, single } = selected(args.length, argnums);
  const perArg = idx.map((i) =>
    mapLeaves(args[i], (path) => {
      const x0 = getAt(args[i], path) as number;
      return fdDerivative(
        (t) => {
          const a = args.map((v) => cloneTree(v, true));
          a[i] = setAt(a[i], path, t);
          return callPlain(f, a);
        },
        x0,
        h,
      );
    }),
  );
  return single ? perArg[0] : perArg;
}

// ---------------------------------------------------------------------------
// The three-way check
// ---------------------------------------------------------------------------

function argsLabel(args: unknown[]): string {
  const show = (x: unknown): string => {
    if (typeof x === 'number') return fmt(x);
    if (isTypedArray(x)) return `${x instanceof Float32Array ? 'F32' : 'F64'}[${Array.from(x).map(fmt).join(',')}]`;
    if (Array.isArray(x)) return `[${x.map(show).join(',')}]`;
    if (isPlainObject(x)) return `{${Object.keys(x).map((k) => `${k}:${show(x[k])}`).join(',')}}`;
    return String(x);
  };
  const s = args.map(show).join(', ');
  return s.length > 160 ? s.slice(0, 160) + '...' : s;
}

function verify(
  label: string,
  f: AnyFn,
  args: unknown[],
  argnums: number | number[] | undefined,
  rev: unknown,
  fwd: unknown,
  expected: unknown,
  opts: CheckOptions,
): CheckResult {
  const problems: string[] = [];
  const push = (component: string, list: string[]): void => {
    for (const p of list) problems.push(`[${component}] ${p}`);
  };

  // (1) reverse vs forward.
  push(
    'reverse vs forward',
    compareTrees(rev, fwd, opts.modeRtol ?? 1e-12, opts.modeAtol ?? 1e-14, ['reverse', 'forward']),
  );

  // (2) finite differences of the plain function.
  let fd: unknown;
  if (opts.fd !== false) {
    fd = fdGrad(f, args, argnums, opts.h);
    const scale = Math.max(1, Math.abs(callPlain(f, args.map((a) => cloneTree(a, true)))));
    push('reverse vs finite differences', compareTrees(rev, fd, opts.fdRtol ?? 1e-7, opts.fdAtol ?? 1e-9 * scale, ['reverse', 'fd']));
    push('forward vs finite differences', compareTrees(fwd, fd, opts.fdRtol ?? 1e-7, opts.fdAtol ?? 1e-9 * scale, ['forward', 'fd']));
  }

  // (3) the hand-derived value.
  if (expected !== undefined) {
    push('reverse vs expected', compareTrees(rev, expected, opts.rtol ?? 1e-10, opts.atol ?? 1e-12, ['reverse', 'expected']));
    push('forward vs expected', compareTrees(fwd, expected, opts.rtol ?? 1e-10, opts.atol ?? 1e-12, ['forward', 'expected']));
  }

  if (problems.length > 0) {
    throw new Error(`${label}(${argsLabel(args)}):\n  ${problems.slice(0, 16).join('\n  ')}`);
  }
  return { rev, fwd, fd };
}

/**
 * Checks `grad` three ways at `args` (see the file comment). `expected`, if
 * given, is the hand-derived gradient in the library's layout. Returns the
 * gradients for further assertions.
 */
export function checkGrad(fns: GradFns, args: unknown[], expected?: unknown, opts: CheckOptions = {}): CheckResult {
  const rev = fns.rev(...args.map((a) => cloneTree(a)));
  const fwd = fns.fwd(...args.map((a) => cloneTree(a)));
  return verify('checkGrad', fns.f, args, fns.argnums, rev, fwd, expected, opts);
}

/**
 * Checks `valueAndGrad` at `args`: both modes must return [value, gradient]
 * where value equals the plain f(...args) (and `expectedValue` if given), and
 * the gradient passes the same three-way check as `checkGrad`.
 */
export function checkValueAndGrad(
  fns: ValueAndGradFns,
  args: unknown[],
  expectedValue?: number,
  expectedGrad?: unknown,
  opts: CheckOptions = {},
): CheckResult & { value: number } {
  const r = fns.rev(...args.map((a) => cloneTree(a)));
  const w = fns.fwd(...args.map((a) => cloneTree(a)));
  const problems: string[] = [];
  for (const [name, res] of [['reverse', r], ['forward', w]] as const) {
    if (!Array.isArray(res) || res.length !== 2) {
      problems.push(`[${name} shape] valueAndGrad returned ${describe(res)}, expected [value, gradient]`);
      continue;
    }
    if (typeof res[0] !== 'number') {
      problems.push(`[${name} value] value is ${describe(res[0])}, not a plain number`);
      continue;
    }
    const plain = callPlain(fns.f, args.map((a) => cloneTree(a)));
    push(problems, `${name} value vs plain f`, compareTrees(res[0], plain, 1e-14, 0, [name, 'plain f']));
    if (expectedValue !== undefined) {
      push(problems, `${name} value vs expected`, compareTrees(res[0], expectedValue, 1e-12, 1e-14, [name, 'expected']));
    }
  }
  if (problems.length > 0) throw new Error(`checkValueAndGrad(${argsLabel(args)}):\n  ${problems.join('\n  ')}`);
  const res = verify('checkValueAndGrad', fns.f, args, fns.argnums, (r as unknown[])[1], (w as unknown[])[1], expectedGrad, opts);
  return { ...res, value: (r as unknown[])[0] as number };
}

function push(problems: string[], component: string, list: string[]): void {
  for (const p of list) problems.push(`[${component}] ${p}`);
}

/** Central-difference partial of plain `f` w.r.t. the numeric argument `i` (a convenience for one-off checks). */
export function fdPartial(f: (...args: number[]) => number, args: number[], i: number, h?: number): number {
  return fdDerivative((t) => f(...args.map((a, k) => (k === i ? t : a))), args[i]!, h);
}
