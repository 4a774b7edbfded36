/**
 * The public API: grad and valueAndGrad, in reverse mode (one recorded pass,
 * one backward sweep) or forward mode (one pass per input direction).
 */
import { Active, Dual, ForwardTrace, ReverseTrace, TapeVar, tracesOpen, value } from './active.js';
import type { Num } from './core-types.js';
import { reverseSweep } from './engine.js';
import { checkArg, checkResult, compiledOrThrow, describe, mapLeaves, setOwn, shapeLike } from './args.js';
import { compiled } from './registry.js';
import { isFloatArray, isTypedArgument } from './typed.js';
import { tapeStats } from './stats.js';
import { forwardScalar, forwardWithTangentCode } from './tangent.js';
import { adjointOf, adjointRefusal, runAdjoint } from './adjoint/entry.js';

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

export type Mode = 'reverse' | 'forward';

/** What can be differentiated: numbers, arrays, float typed arrays, plain objects of those. */
export type Differentiable =
  | number
  | readonly Differentiable[]
  | Float64Array
  | Float32Array
  | { readonly [key: string]: Differentiable };

/** The gradient of an argument of type T: the same shape, with numbers. */
export type GradOf<T> = T extends number
  ? number
  : T extends Float64Array | Float32Array
    ? Float64Array
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: GradOf<T[K]> }
      : T extends object
        ? { -readonly [K in keyof T]: GradOf<T[K]> }
        : never;

/**
 * One argument: its gradient; two or more: a tuple of gradients. For rest or
 * optional parameters the number of arguments is only known at the call, so
 * the type is the union of both forms.
 */
export type GradsOf<A extends readonly unknown[]> = A['length'] extends 1
  ? GradOf<A[0]>
  : A extends readonly [unknown, unknown, ...unknown[]]
    ? { -readonly [K in keyof A]: GradOf<A[K]> }
    : GradOf<A[number]> | { -readonly [K in keyof A]: GradOf<A[K]> };

type GradsAt<A extends readonly unknown[], N extends readonly number[]> = {
  -readonly [K in keyof N]: GradOf<A[N[K] & keyof A]>;
};

export interface GradOptions {
  /** 'reverse' (default): one recorded pass and one backward sweep. 'forward': passes carrying input directions. */
  readonly mode?: Mode;
  /**
   * Forward mode: input directions carried per pass (default 32, chosen by
   * measurement: see `bench/chunk.ts`). Used when nothing else is being
   * differentiated; nested forward passes carry one direction.
   */
  readonly chunk?: number;
  /** Which arguments to differentiate; the others are constants. Default: all of them. */
  readonly argnums?: number | readonly number[];
}

type Fn<A extends unknown[]> = (...args: A) => number;

// ---------------------------------------------------------------------------
// grad / valueAndGrad
// ---------------------------------------------------------------------------

/**
 * The gradient of `f`'s number result with respect to its arguments.
 *
 * `grad(f)(x)` has the shape of `x`; `grad(f)(x, y)` is `[dx, dy]`. With
 * `argnums: k`, the gradient of argument k alone; with `argnums: [i, j]`,
 * `[d_i, d_j]`.
 */
export function grad<A extends unknown[]>(f: Fn<A>, opts?: GradOptions & { argnums?: undefined }): (...args: A) => GradsOf<A>;
export function grad<A extends unknown[], const N extends number>(f: Fn<A>, opts: GradOptions & { argnums: N }): (...args: A) => GradOf<A[N]>;
export function grad<A extends unknown[], const N extends readonly number[]>(f: Fn<A>, opts: GradOptions & { argnums: N }): (...args: A) => GradsAt<A, N>;
export function grad(f: Fn<unknown[]>, opts: GradOptions = {}): (...args: unknown[]) => unknown {
  return gradientFunction(f, opts, 'grad');
}

/** `grad` under another API's name (for its error messages): hessian and hvp build on it. */
export function gradientFunction(f: Function, opts: GradOptions, api: string): (...args: unknown[]) => unknown {
  const run = prepare(f as Fn<unknown[]>, opts, api);
  // The result is itself differentiable (grad of grad, jacobian of grad).
  return compiled(function gradient(this: unknown, ...args: unknown[]) {
    return run(this, args)[1];
  });
}

/** Like `grad`, but returns `[value, gradient]`, both from the same pass. */
export function valueAndGrad<A extends unknown[]>(f: Fn<A>, opts?: GradOptions & { argnums?: undefined }): (...args: A) => [number, GradsOf<A>];
export function valueAndGrad<A extends unknown[], const N extends number>(f: Fn<A>, opts: GradOptions & { argnums: N }): (...args: A) => [number, GradOf<A[N]>];
export function valueAndGrad<A extends unknown[], const N extends readonly number[]>(f: Fn<A>, opts: GradOptions & { argnums: N }): (...args: A) => [number, GradsAt<A, N>];
export function valueAndGrad(f: Fn<unknown[]>, opts: GradOptions = {}): (...args: unknown[]) => unknown {
  const run = prepare(f, opts, 'valueAndGrad');
  return compiled(function valueAndGradient(this: unknown, ...args: unknown[]) {
    return run(this, args);
  });
}

/** The value of `x` as a constant: no derivative flows through it, at any level. */
export function stopGradient<T>(x: T): T {
  return stopLeaves(x, 'x') as T;
}

/**
 * Every derivative-carrying leaf of arrays and plain objects replaced by its
 * value; other primitives unchanged (typed arrays hold plain numbers already).
 * Any other object (a class instance, a Map) could hide a derivative that
 * would then silently flow on: refused.
 */
function stopLeaves(x: unknown, path: string): unknown {
  if (x instanceof Active) return value(x);
  if (x === null || typeof x !== 'object' || isFloatArray(x)) return x;
  if (isTypedArgument(x)) return mapLeaves(x, value);
  if (Array.isArray(x)) return x.map((e, i) => stopLeaves(e, `${path}[${i}]`));
  const proto = Object.getPrototypeOf(x);
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(x)) setOwn(out, key, stopLeaves((x as Record<string, unknown>)[key], `${path}.${key}`));
    return out;
  }
  throw new TypeError(
    `dualtape: stopGradient cannot look inside ${path}, ${describe(x)}; pass numbers, arrays or plain objects ` +
      `(or call stopGradient on the numbers inside it).`,
  );
}

// ---------------------------------------------------------------------------
// Checking and preparing
// ---------------------------------------------------------------------------

type Runner = (self: unknown, args: unknown[]) => [Num, unknown];

function prepare(f: Fn<unknown[]>, opts: GradOptions, api: string): Runner {
  const fc = compiledOrThrow(f, api);
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`dualtape: ${api} options must be an object, got ${describe(opts)}.`);
  }
  const mode = opts.mode ?? 'reverse';
  const chunk = opts.chunk ?? FORWARD_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 256) {
    throw new TypeError(`dualtape: ${api} option chunk must be an integer from 1 to 256, got ${describe(chunk)}.`);
  }
  if (mode !== 'reverse' && mode !== 'forward') {
    throw new TypeError(`dualtape: ${api} option mode must be 'reverse' or 'forward', got ${describe(mode)}.`);
  }
  const argnums = opts.argnums;
  const single = typeof argnums === 'number';
  if (argnums !== undefined) {
    const list = single ? [argnums] : argnums;
    if (!Array.isArray(list) || list.some((k) => !Number.isInteger(k) || k < 0)) {
      throw new TypeError(`dualtape: ${api} option argnums must be a non-negative integer or an array of them, got ${describe(argnums)}.`);
    }
    if (new Set(list).size !== list.length) {
      throw new TypeError(`dualtape: ${api} option argnums lists an argument twice: [${list.join(', ')}].`);
    }
  }
  return (self, args) => {
    // One number in, forward mode: straight to the generated code when there is some.
    if (mode === 'forward' && argnums === undefined && args.length === 1 && typeof args[0] === 'number') {
      const done = forwardScalar(fc, self, args[0]);
      if (done !== undefined) return done;
    }
    const which: number[] =
      argnums === undefined ? args.map((_, k) => k) : typeof argnums === 'number' ? [argnums] : [...argnums];
    for (const k of which) {
      if (k >= args.length) {
        throw new TypeError(
          `dualtape: argnums asks for argument ${k}, but the function was called with ${args.length} argument(s).`,
        );
      }
      checkArg(args[k], `args[${k}]`, new Set(), argnums === undefined);
    }
    const [val, grads] = mode === 'reverse' ? runReverse(fc, self, args, which, api) : runForward(fc, self, args, which, api, chunk);
    const shaped = argnums === undefined ? (args.length === 1 ? grads[0] : grads) : single ? grads[0] : grads;
    return [val, shaped];
  };
}

function runReverse(fc: Function, self: unknown, args: unknown[], which: number[], api: string): [Num, unknown[]] {
  // The adjoint tier, when the plugin generated adjoint code and this call fits it (see runtime/adjoint/).
  const adj = adjointOf(fc);
  if (adj !== undefined && adjointRefusal(adj, self, args, which) === undefined) {
    const done = runAdjoint(adj, args, which, (out) => checkResult(out, api) as number);
    if (done !== undefined) return done;
  }
  const tape = new ReverseTrace();
  tapeStats.begin();
  try {
    // The inputs are the first nodes of the tape, in leaf order: node k is leaf k.
    const callArgs = args.slice();
    for (const k of which) callArgs[k] = asInputs(args[k], tape);
    const out = checkResult(fc.apply(self, callArgs), api);
    const mine = out instanceof TapeVar && out.tr === tape;
    const adjoint: ArrayLike<Num> = mine ? reverseSweep(tape, [[out.i, 1]]) : [];
    let n = 0;
    const grads = which.map((k) =>
      shapeLike(args[k], () => {
        const i = n++;
        return i < adjoint.length ? adjoint[i]! : 0;
      }),
    );
    return [mine ? out.v : out, grads];
  } finally {
    tapeStats.end(tape);
    tape.release();
  }
}

/** `x` with every numeric leaf replaced by a new input node of `tape` (flat arrays without a callback per leaf). */
function asInputs(x: unknown, tape: ReverseTrace): unknown {
  if (Array.isArray(x) && !isTypedArgument(x)) {
    const out = new Array<unknown>(x.length);
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      out[i] = typeof e === 'number' || e instanceof Active ? new TapeVar(e, tape.close(), tape) : asInputs(e, tape);
    }
    return out;
  }
  return mapLeaves(x, (v) => new TapeVar(v, tape.close(), tape));
}

/**
 * Directions per forward pass: several (an array tangent) when nothing else
 * is being differentiated, so that every partial is a plain number; one
 * otherwise.
 */
export function chunkWidth(plain: boolean, total: number, chunk: number): number {
  return plain && tracesOpen() === 0 && total > 1 ? Math.min(chunk, total) : 1;
}

/** `x` with leaves j … j + width - 1 (counted across calls by `counter`) seeded as unit directions of `trace`. */
export function seedDirections(x: unknown, trace: ForwardTrace, j: number, width: number, counter: { n: number }): unknown {
  return mapLeaves(x, (v) => {
    const c = counter.n++ - j;
    if (c < 0 || c >= width) return v;
    if (width === 1) return new Dual(v, 1, trace);
    const seed = new Array<number>(width).fill(0);
    seed[c] = 1;
    return new Dual(v, seed, trace);
  });
}

/** Direction c of the tangent that `x` carries at `trace` (0 when it carries none). */
export function tangentOf(x: unknown, trace: ForwardTrace, c: number): Num {
  if (!(x instanceof Dual) || x.tr !== trace) return 0;
  return Array.isArray(x.t) ? x.t[c]! : (x.t as Num);
}

/** Directions carried per forward pass when chunking is possible (see runForward). */
export const FORWARD_CHUNK = 32;

function runForward(fc: Function, self: unknown, args: unknown[], which: number[], api: string, chunk: number): [Num, unknown[]] {
  // Generated tangent code (plugin/tangent/), when the plugin made some and every argument is plain.
  const generated = forwardWithTangentCode(fc, self, args, which, chunk);
  if (generated !== undefined) return generated;
  // Count the leaves; then run passes seeding them in turn.
  let total = 0;
  let plain = true;
  for (const k of which) {
    mapLeaves(args[k], (v) => {
      total++;
      if (typeof v !== 'number') plain = false;
      return v;
    });
  }
  const width = chunkWidth(plain, total, chunk);
  const tangents: Num[] = new Array<Num>(total).fill(0);
  let val: Num | undefined;
  for (let j = 0; j < total || val === undefined; j += width) {
    const trace = new ForwardTrace();
    try {
      const counter = { n: 0 };
      const callArgs = args.slice();
      for (const k of which) callArgs[k] = seedDirections(args[k], trace, j, width, counter);
      const out = checkResult(fc.apply(self, callArgs), api);
      if (val === undefined) val = out instanceof Dual && out.tr === trace ? out.v : out;
      for (let c = 0; c < width && j + c < total; c++) tangents[j + c] = tangentOf(out, trace, c);
    } finally {
      trace.end();
    }
  }
  let n = 0;
  const grads = which.map((k) => shapeLike(args[k], () => tangents[n++]!));
  return [val, grads];
}
