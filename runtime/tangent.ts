/**
 * Generated forward-mode code (the "tangent tier"): for each function it
 * compiles, the plugin emits a tangent version that runs the original
 * statements on plain numbers and, beside each active local `v`, its tangent
 * `v_t` (see plugin/tangent/). Two variants per function:
 *
 *   scalar(x, x_t, y, y_t, ...)      one direction: tangents are numbers
 *                                    (arrays of numbers for array arguments)
 *   chunk(W, x, x_t, y, y_t, ...)    W directions: a tangent is an array of
 *                                    W lanes (arrays of them for arrays)
 *
 * Both return the function's value and leave the result's tangent in
 * `tangentOut.t` (undefined: the result carries no tangent). Element tangents
 * of arrays are never written in place (an element write stores a fresh
 * lane array), so unseeded elements can share one zero lane array.
 *
 * This module registers that code (function or twin -> its tangent code) and
 * runs grad's forward mode, jvp and forward jacobian on it when every argument
 * is plain (no value carrying a derivative, no derivative being taken around
 * us): nested derivatives stay on the Dual runtime. `DUALTAPE_TIER=tape`
 * turns the generated code off.
 */
import { tracesOpen } from './active.js';
import type { Kernel, Num } from './core-types.js';
import { compiledVersion, unguarded } from './registry.js';
import { binaryRules, variadicRules } from './rules.js';

/** Per parameter: 'n' a number, 'a' a flat array of numbers, 'd' data (never differentiated). */
type ParamKind = 'n' | 'a' | 'd';

interface TangentCode {
  readonly scalar: Function;
  readonly chunk: Function;
  readonly kinds: readonly ParamKind[];
  /** Array parameters the code may write to: their argument is copied first. */
  readonly written: readonly boolean[];
}

const table = new WeakMap<Function, TangentCode>();

/** Where tangent code leaves the tangent of its result. */
export const tangentOut: { t: unknown } = { t: undefined };

let enabled = !(typeof process !== 'undefined' && process.env?.DUALTAPE_TIER === 'tape');

/** Turns the generated tangent code on or off (tests; `DUALTAPE_TIER=tape` starts with it off). */
/** How many forward gradients ran on generated tangent code (tests check that it really ran). */
export const tangentStats = { runs: 0 };

export function setTangentTier(on: boolean): void {
  enabled = on;
}

/** Registers the tangent code of compiled function `fn`; returns `fn`. `kinds`: one letter per parameter. */
export function registerTangent<F extends Function>(fn: F, scalar: Function, chunk: Function, kinds: string, written: string): F {
  lastFn = undefined;
  table.set(fn, {
    scalar,
    chunk,
    kinds: kinds.split('') as ParamKind[],
    written: written.split('').map((c) => c === '1'),
  });
  return fn;
}

/** Did the plugin make tangent code for `f` (or its compiled version)? For tests and diagnostics. */
export function hasTangentCode(f: Function): boolean {
  return table.has(compiledVersion(f) ?? f);
}

let lastFn: Function | undefined;
let lastCode: TangentCode | undefined;

/** The tangent code of `fc`, if any and if it is switched on (the last lookup is remembered: grad in a loop). */
export function tangentCodeOf(fc: Function): TangentCode | undefined {
  if (!enabled) return undefined;
  if (fc !== lastFn) {
    lastFn = fc;
    lastCode = table.get(unguarded(fc));
  }
  return lastCode;
}

/** `fn.apply(self, args)` without apply's cost for the common short argument lists. */
function invoke(fn: Function, self: unknown, a: unknown[]): unknown {
  switch (a.length) {
    case 2:
      return fn.call(self, a[0], a[1]);
    case 3:
      return fn.call(self, a[0], a[1], a[2]);
    case 4:
      return fn.call(self, a[0], a[1], a[2], a[3]);
    case 5:
      return fn.call(self, a[0], a[1], a[2], a[3], a[4]);
    case 6:
      return fn.call(self, a[0], a[1], a[2], a[3], a[4], a[5]);
    default:
      return fn.apply(self, a);
  }
}

// ---------------------------------------------------------------------------
// Partials that cannot be inlined at build time (pow and atan2 look at their
// arguments' values; max, min and hypot at all of them): the rule table's own
// partial functions, evaluated on plain numbers.
// ---------------------------------------------------------------------------

const plain: Kernel = {
  add: (a, b) => (a as number) + (b as number),
  sub: (a, b) => (a as number) - (b as number),
  mul: (a, b) => (a as number) * (b as number),
  div: (a, b) => (a as number) / (b as number),
  pow: (a, b) => (a as number) ** (b as number),
  neg: (a) => -(a as number),
  sqrt: (a) => Math.sqrt(a as number),
  log: (a) => Math.log(a as number),
  sin: (a) => Math.sin(a as number),
  cos: (a) => Math.cos(a as number),
  sinh: (a) => Math.sinh(a as number),
  cosh: (a) => Math.cosh(a as number),
  sign: (a) => Math.sign(a as number),
  trunc: (a) => Math.trunc(a as number),
  value: (a) => a as number,
};

/** ∂z/∂(argument i) of binary rule `name` at (x, y), z = f(x, y). */
export function tangentPartial2(name: 'pow' | 'atan2', i: number, x: number, y: number, z: number): number {
  const rule = binaryRules[name];
  return (i === 0 ? rule.dx : rule.dy)(plain, x, y, z) as number;
}

/** The partials of variadic rule `name` (max, min, hypot) at xs, z = f(...xs). */
export function tangentPartialN(name: 'max' | 'min' | 'hypot', xs: ArrayLike<number>, z: number): number[] {
  return variadicRules[name].d(plain, Array.from(xs), z) as number[];
}

/**
 * Lanes are plain arrays of doubles: allocating a small Float64Array costs
 * far more in V8 than copying a slice of a packed double array.
 */
const DOUBLE_ZEROS: number[] = [];
for (let c = 0; c < 256; c++) DOUBLE_ZEROS.push(0.5);
for (let c = 0; c < 256; c++) DOUBLE_ZEROS[c] = 0;

/** W fresh zero lanes. */
export function tangentLanes(W: number): number[] {
  return DOUBLE_ZEROS.slice(0, W);
}

const zeroLanes = new Map<number, number[]>();
let lastZeroW = -1;
let lastZero: number[] = [];

/** A zero tangent of W lanes, shared (tangent code never writes into an element's lanes). */
export function tangentZeros(W: number): number[] {
  if (W === lastZeroW) return lastZero;
  let z = zeroLanes.get(W);
  if (z === undefined) zeroLanes.set(W, (z = tangentLanes(W)));
  lastZeroW = W;
  lastZero = z;
  return z;
}

/** Zero tangents for an array passed where tangent code expects an active array. */
export function tangentZerosLike(x: ArrayLike<unknown>, W: number): unknown[] {
  return new Array<unknown>(x.length).fill(W === 0 ? 0 : tangentZeros(W));
}

// ---------------------------------------------------------------------------
// Running it
// ---------------------------------------------------------------------------

function isNumberArray(x: unknown): x is ArrayLike<number> {
  if (x instanceof Float64Array || x instanceof Float32Array) return true;
  if (!Array.isArray(x)) return false;
  for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number') return false;
  return true;
}

/**
 * Can `code` run on `args` with the arguments `which` differentiated? Every
 * argument must have the kind the code was compiled for (else the Dual
 * runtime runs, which handles anything), data arguments are not
 * differentiated, nothing else is being differentiated right now.
 */
function applicable(code: TangentCode, args: readonly unknown[], which: readonly number[]): boolean {
  if (tracesOpen() !== 0) return false;
  const kinds = code.kinds;
  if (args.length < kinds.length) return false;
  for (let k = 0; k < kinds.length; k++) {
    const a = args[k];
    const kind = kinds[k];
    if (kind === 'n') {
      if (typeof a !== 'number') return false;
    } else if (kind === 'a') {
      if (!isNumberArray(a)) return false;
      // Typed arrays the code writes to would need the Dual runtime's array stand-in.
      if (code.written[k] && !Array.isArray(a)) return false;
    }
  }
  for (const k of which) {
    if (k < kinds.length ? kinds[k] === 'd' : typeof args[k] !== 'number') return false;
  }
  return true;
}

/** The argument as the code sees it: written-to arrays are copied (the caller's array stays as it was). */
function primal(code: TangentCode, args: readonly unknown[], k: number): unknown {
  const a = args[k];
  return code.written[k] ? (a as unknown[]).slice() : a;
}

/**
 * grad / valueAndGrad in forward mode on the generated code: one scalar pass
 * for one input, passes of `chunk` directions otherwise. Returns undefined
 * when the code cannot run (the caller then uses the Dual runtime).
 */
export function forwardWithTangentCode(
  fc: Function,
  self: unknown,
  args: readonly unknown[],
  which: readonly number[],
  chunk: number,
): [number, unknown[]] | undefined {
  const code = tangentCodeOf(fc);
  if (code === undefined || !applicable(code, args, which)) return undefined;
  tangentStats.runs++;
  let total = 0;
  for (let w = 0; w < which.length; w++) {
    const a = args[which[w]!] as number | ArrayLike<number>;
    total += typeof a === 'number' ? 1 : a.length;
  }
  return total <= 1 ? scalarPass(code, self, args, which, total) : chunkedPasses(code, self, args, which, total, chunk);
}

/**
 * The common case without any allocation but the result: `grad(f, { mode:
 * 'forward' })(x)` for a function of one number. Undefined when it does not apply.
 */
export function forwardScalar(fc: Function, self: unknown, x: number): [number, number] | undefined {
  const code = tangentCodeOf(fc);
  if (code === undefined || code.kinds.length !== 1 || code.kinds[0] !== 'n' || tracesOpen() !== 0) return undefined;
  tangentOut.t = undefined;
  tangentStats.runs++;
  const val = code.scalar.call(self, x, 1) as unknown;
  const t = tangentOut.t;
  tangentOut.t = undefined;
  if (typeof val !== 'number') return undefined;
  return [val, typeof t === 'number' ? t + 0 : 0];
}

/** A zero gradient shaped like argument `a` (a Float64Array for a typed array). */
function zeroGrad(a: unknown): unknown {
  if (typeof a === 'number') return 0;
  const n = (a as ArrayLike<number>).length;
  return a instanceof Float64Array || a instanceof Float32Array ? new Float64Array(n) : new Array<number>(n).fill(0);
}

/** One input leaf (or none): one pass of the scalar variant. */
function scalarPass(code: TangentCode, self: unknown, args: readonly unknown[], which: readonly number[], total: number): [number, unknown[]] | undefined {
  const kinds = code.kinds;
  const nk = kinds.length;
  // The argument holding the one leaf.
  let seeded = -1;
  if (total === 1) {
    for (let w = 0; w < which.length && seeded < 0; w++) {
      const a = args[which[w]!] as number | ArrayLike<number>;
      if (typeof a === 'number' || a.length === 1) seeded = which[w]!;
    }
  }
  const callArgs = new Array<unknown>(2 * nk);
  for (let k = 0; k < nk; k++) {
    callArgs[2 * k] = code.written[k] ? (args[k] as unknown[]).slice() : args[k];
    const kind = kinds[k];
    const on = k === seeded ? 1 : 0;
    callArgs[2 * k + 1] = kind === 'n' ? on : kind === 'a' ? new Array<number>((args[k] as ArrayLike<number>).length).fill(on) : undefined;
  }
  tangentOut.t = undefined;
  const val = invoke(code.scalar, self, callArgs);
  const t = tangentOut.t;
  tangentOut.t = undefined;
  if (typeof val !== 'number') return undefined;
  const d = typeof t === 'number' ? t + 0 : 0;
  const grads = new Array<unknown>(which.length);
  for (let w = 0; w < which.length; w++) {
    const k = which[w]!;
    const a = args[k];
    if (k !== seeded) grads[w] = zeroGrad(a);
    else if (typeof a === 'number') grads[w] = d;
    else {
      const g = zeroGrad(a) as number[];
      g[0] = d;
      grads[w] = g;
    }
  }
  return [val, grads];
}

/** Passes of W directions of the chunked variant, leaves seeded in the order of `which`. */
function chunkedPasses(code: TangentCode, self: unknown, args: readonly unknown[], which: readonly number[], total: number, chunk: number): [number, unknown[]] | undefined {
  const kinds = code.kinds;
  const nk = kinds.length;
  const W = Math.min(chunk, total);
  const zero = tangentZeros(W);
  const flat = new Array<number>(total).fill(0);
  const callArgs = new Array<unknown>(2 * nk + 1);
  callArgs[0] = W;
  let val: unknown;
  for (let j = 0; j < total; j += W) {
    for (let k = 0; k < nk; k++) {
      callArgs[2 * k + 1] = code.written[k] ? (args[k] as unknown[]).slice() : args[k];
      const kind = kinds[k];
      callArgs[2 * k + 2] = kind === 'd' ? undefined : kind === 'n' ? zero : differentiated(which, k) ? undefined : tangentZerosLike(args[k] as ArrayLike<number>, W);
    }
    // Leaf n gets lane n - j when that is in [0, W).
    let n = 0;
    for (let w = 0; w < which.length; w++) {
      const k = which[w]!;
      const a = args[k] as number | ArrayLike<number>;
      if (typeof a === 'number') {
        if (k < nk && n >= j && n < j + W) callArgs[2 * k + 2] = unit(W, n - j);
        n++;
      } else {
        const len = a.length;
        if (k < nk) {
          const ts = new Array<unknown>(len);
          for (let i = 0; i < len; i++) ts[i] = n + i >= j && n + i < j + W ? unit(W, n + i - j) : zero;
          callArgs[2 * k + 2] = ts;
        }
        n += len;
      }
    }
    tangentOut.t = undefined;
    val = invoke(code.chunk, self, callArgs);
    const t = tangentOut.t as Float64Array | undefined;
    tangentOut.t = undefined;
    if (typeof val !== 'number') return undefined;
    if (t !== undefined) for (let c = 0; c < W && j + c < total; c++) flat[j + c] = t[c]! + 0;
  }
  // Gradients in the arguments' shapes, read from `flat` in the order of `which`.
  let n = 0;
  const grads = new Array<unknown>(which.length);
  for (let w = 0; w < which.length; w++) {
    const a = args[which[w]!];
    if (typeof a === 'number') grads[w] = flat[n++]!;
    else {
      const g = zeroGrad(a) as number[];
      for (let i = 0; i < g.length; i++) g[i] = flat[n++]!;
      grads[w] = g;
    }
  }
  return [val as number, grads];
}

function differentiated(which: readonly number[], k: number): boolean {
  for (let w = 0; w < which.length; w++) if (which[w] === k) return true;
  return false;
}

function unit(W: number, c: number): number[] {
  const s = tangentLanes(W);
  s[c] = 1;
  return s;
}

/** Output tangents of a plain output: numbers (0 when the code left none) in the output's shape. */
function outputTangent(out: unknown, t: unknown): unknown {
  if (typeof out === 'number') return typeof t === 'number' ? t + 0 : 0;
  if (Array.isArray(out)) {
    const ts = Array.isArray(t) ? t : undefined;
    return out.map((_, i) => {
      const e = ts?.[i] as unknown;
      return typeof e === 'number' ? e + 0 : 0;
    });
  }
  return undefined;
}

/**
 * jvp on the generated code (one scalar pass), or undefined when it cannot
 * run. Outputs: a number or a flat array of numbers.
 */
export function jvpWithTangentCode(fc: Function, primals: readonly unknown[], tangents: readonly unknown[]): [unknown, unknown] | undefined {
  const code = tangentCodeOf(fc);
  if (code === undefined) return undefined;
  const which = primals.map((_, k) => k).filter((k) => !isZeroTangent(tangents[k]));
  if (!applicable(code, primals, which)) return undefined;
  const nk = code.kinds.length;
  const callArgs = new Array<unknown>(2 * nk);
  for (let k = 0; k < nk; k++) {
    const kind = code.kinds[k];
    callArgs[2 * k] = primal(code, primals, k);
    const t = tangents[k];
    callArgs[2 * k + 1] = kind === 'n' ? t : kind === 'a' ? Array.from(t as ArrayLike<number>) : undefined;
  }
  tangentOut.t = undefined;
  const out = invoke(code.scalar, undefined, callArgs);
  const t = tangentOut.t;
  tangentOut.t = undefined;
  const tangent = outputTangent(out, t);
  if (tangent === undefined || !isPlainOutput(out)) return undefined;
  return [Array.isArray(out) ? out.slice() : out, tangent];
}

function isZeroTangent(t: unknown): boolean {
  if (typeof t === 'number') return t === 0;
  if (t instanceof Float64Array || t instanceof Float32Array || Array.isArray(t)) {
    for (let i = 0; i < t.length; i++) if (t[i] !== 0) return false;
    return true;
  }
  return false;
}

function isPlainOutput(out: unknown): boolean {
  return typeof out === 'number' || isNumberArray(out);
}

/** Forward jacobian on the chunked code (rows = outputs), or undefined when it cannot run. */
export function jacobianWithTangentCode(fc: Function, args: readonly unknown[], which: readonly number[], nIn: number, chunk: number): number[][] | undefined {
  const code = tangentCodeOf(fc);
  if (code === undefined || nIn === 0) return undefined;
  if (!applicable(code, args, which) || args.length !== code.kinds.length) return undefined;
  const nk = code.kinds.length;
  const W = Math.min(chunk, nIn);
  const zero = tangentZeros(W);
  const columns: number[][] = [];
  let nOut = -1;
  for (let j = 0; j < nIn; j += W) {
    let n = 0;
    const lanes = (): number[] => {
      const c = n++ - j;
      return c < 0 || c >= W ? zero : unit(W, c);
    };
    const callArgs = new Array<unknown>(2 * nk);
    for (let k = 0; k < nk; k++) {
      callArgs[2 * k] = primal(code, args, k);
      callArgs[2 * k + 1] = code.kinds[k] === 'n' ? lanes() : Array.from(args[k] as ArrayLike<number>, lanes);
    }
    tangentOut.t = undefined;
    const out = invoke(code.chunk, undefined, [W, ...callArgs]);
    const t = tangentOut.t;
    tangentOut.t = undefined;
    if (!isPlainOutput(out)) return undefined;
    const outs = typeof out === 'number' ? [t as Float64Array | undefined] : (out as number[]).map((_, i) => (t as (Float64Array | undefined)[] | undefined)?.[i]);
    nOut = outs.length;
    for (let c = 0; c < W && j + c < nIn; c++) columns.push(outs.map((lane) => (lane === undefined ? 0 : lane[c]! + 0)));
  }
  return Array.from({ length: nOut }, (_, i) => columns.map((col) => col[i]!));
}

export type { Num };
