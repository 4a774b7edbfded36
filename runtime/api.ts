/**
 * The public API: grad and valueAndGrad, in reverse mode (one recorded pass,
 * one backward sweep) or forward mode (one pass per input direction).
 */
import { Active, Dual, ForwardTrace, ReverseTrace, TapeVar, value } from './active.js';
import type { Num } from './core-types.js';
import { reverseSweep } from './engine.js';
import { compiledVersion } from './registry.js';

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

/** One argument: its gradient; several: a tuple of gradients. */
export type GradsOf<A extends readonly unknown[]> = A extends readonly [infer X]
  ? GradOf<X>
  : { -readonly [K in keyof A]: GradOf<A[K]> };

type GradsAt<A extends readonly unknown[], N extends readonly number[]> = {
  -readonly [K in keyof N]: GradOf<A[N[K] & keyof A]>;
};

export interface GradOptions {
  /** 'reverse' (default): one recorded pass and one backward sweep. 'forward': one pass per input. */
  readonly mode?: Mode;
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
  const run = prepare(f, opts, 'grad');
  return function gradient(this: unknown, ...args: unknown[]) {
    return run(this, args)[1];
  };
}

/** Like `grad`, but returns `[value, gradient]`, both from the same pass. */
export function valueAndGrad<A extends unknown[]>(f: Fn<A>, opts?: GradOptions & { argnums?: undefined }): (...args: A) => [number, GradsOf<A>];
export function valueAndGrad<A extends unknown[], const N extends number>(f: Fn<A>, opts: GradOptions & { argnums: N }): (...args: A) => [number, GradOf<A[N]>];
export function valueAndGrad<A extends unknown[], const N extends readonly number[]>(f: Fn<A>, opts: GradOptions & { argnums: N }): (...args: A) => [number, GradsAt<A, N>];
export function valueAndGrad(f: Fn<unknown[]>, opts: GradOptions = {}): (...args: unknown[]) => unknown {
  const run = prepare(f, opts, 'valueAndGrad');
  return function valueAndGradient(this: unknown, ...args: unknown[]) {
    return run(this, args);
  };
}

/** The value of `x` as a constant: no derivative flows through it, at any level. */
export function stopGradient<T>(x: T): T {
  return (x instanceof Active ? value(x) : x) as T;
}

// ---------------------------------------------------------------------------
// Checking and preparing
// ---------------------------------------------------------------------------

type Runner = (self: unknown, args: unknown[]) => [Num, unknown];

function describeFn(f: Function): string {
  return f.name ? `\`${f.name}\`` : 'the function';
}

function prepare(f: Fn<unknown[]>, opts: GradOptions, api: string): Runner {
  if (typeof f !== 'function') {
    throw new TypeError(`dualtape: ${api} expects a function, got ${describe(f)}.`);
  }
  const fc = compiledVersion(f);
  if (fc === undefined) {
    throw new TypeError(
      `dualtape: ${api} was given ${describeFn(f)}, which the dualtape Babel plugin did not compile, ` +
        `so its derivatives cannot be taken. Add 'dualtape/babel' to your Babel plugins (or run the ` +
        `file with node --import dualtape/register), and either pass the function to ${api} in a ` +
        `module that imports ${api} from 'dualtape', or put the directive 'use differentiable' at the ` +
        `top of its file or function body.`,
    );
  }
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`dualtape: ${api} options must be an object, got ${describe(opts)}.`);
  }
  const mode = opts.mode ?? 'reverse';
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
    const [val, grads] = mode === 'reverse' ? runReverse(fc, self, args, which) : runForward(fc, self, args, which);
    const shaped = argnums === undefined ? (args.length === 1 ? grads[0] : grads) : single ? grads[0] : grads;
    return [val, shaped];
  };
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  switch (typeof x) {
    case 'string':
      return `a string (${JSON.stringify(x.length > 20 ? x.slice(0, 20) + '…' : x)})`;
    case 'object':
      return `an object of class ${(x as object).constructor?.name ?? 'unknown'}`;
    case 'function':
      return 'a function';
    case 'undefined':
      return 'undefined';
    default:
      return `a ${typeof x} (${String(x)})`;
  }
}

function isPlainObject(x: object): boolean {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Throws a TypeError naming the path of the first leaf that cannot be differentiated. */
function checkArg(x: unknown, path: string, seen: Set<object>, allArgs: boolean): void {
  if (typeof x === 'number' || x instanceof Active) return;
  if (x instanceof Float64Array || x instanceof Float32Array) return;
  if (x !== null && typeof x === 'object' && (Array.isArray(x) || isPlainObject(x))) {
    if (seen.has(x)) throw new TypeError(`dualtape: ${path} refers back to itself; differentiable arguments must be trees of numbers.`);
    seen.add(x);
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) checkArg(x[i], `${path}[${i}]`, seen, allArgs);
    } else {
      for (const key of Object.keys(x)) {
        checkArg((x as Record<string, unknown>)[key], /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, seen, allArgs);
      }
    }
    seen.delete(x);
    return;
  }
  throw new TypeError(
    `dualtape: ${path} is ${describe(x)}; differentiable arguments must be numbers, arrays, ` +
      `Float64Array/Float32Array or plain objects of those.` +
      (allArgs ? ' To pass an argument that is not differentiated (data, options), list the differentiated ones in the argnums option.' : ''),
  );
}

// ---------------------------------------------------------------------------
// Arguments in and gradients out
// ---------------------------------------------------------------------------

/** Rebuilds `x` with every numeric leaf replaced by `leaf(x, index)`; typed arrays become plain arrays. */
function mapLeaves(x: unknown, leaf: (v: Num) => unknown): unknown {
  if (typeof x === 'number' || x instanceof Active) return leaf(x);
  if (Array.isArray(x) || x instanceof Float64Array || x instanceof Float32Array) {
    const out = new Array<unknown>(x.length);
    for (let i = 0; i < x.length; i++) out[i] = mapLeaves(x[i], leaf);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(x as object)) out[key] = mapLeaves((x as Record<string, unknown>)[key], leaf);
  return out;
}

/** The gradient with the shape of `x`, reading one gradient per leaf from `next`. */
function shapeLike(x: unknown, next: () => Num): unknown {
  if (typeof x === 'number' || x instanceof Active) return next();
  if (x instanceof Float64Array || x instanceof Float32Array) {
    const vals: Num[] = [];
    for (let i = 0; i < x.length; i++) vals.push(next());
    // Nested derivatives may leave derivative-carrying values, which a Float64Array cannot hold.
    return vals.every((g) => typeof g === 'number') ? Float64Array.from(vals as number[]) : vals;
  }
  if (Array.isArray(x)) return x.map((e) => shapeLike(e, next));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(x as object)) out[key] = shapeLike((x as Record<string, unknown>)[key], next);
  return out;
}

function checkResult(out: unknown): Num {
  if (typeof out === 'number' || out instanceof Active) return out;
  throw new TypeError(
    `dualtape: the differentiated function returned ${describe(out)}; grad needs a function that returns a single number ` +
      `(for several outputs, differentiate each, or use a scalar loss).`,
  );
}

function runReverse(fc: Function, self: unknown, args: unknown[], which: number[]): [Num, unknown[]] {
  const tape = new ReverseTrace();
  try {
    const inputs: TapeVar[] = [];
    const callArgs = args.slice();
    for (const k of which) {
      callArgs[k] = mapLeaves(args[k], (v) => {
        const input = new TapeVar(v, tape.close(), tape);
        inputs.push(input);
        return input;
      });
    }
    const out = checkResult(fc.apply(self, callArgs));
    const mine = out instanceof TapeVar && out.tr === tape;
    const adjoint: ArrayLike<Num> = mine ? reverseSweep(tape, out.i) : [];
    let n = 0;
    const grads = which.map((k) =>
      shapeLike(args[k], () => {
        const i = inputs[n++]!.i;
        return mine && i < adjoint.length ? adjoint[i]! : 0;
      }),
    );
    return [mine ? out.v : out, grads];
  } finally {
    tape.alive = false;
  }
}

function runForward(fc: Function, self: unknown, args: unknown[], which: number[]): [Num, unknown[]] {
  // Count the leaves, then run one pass per leaf with only that leaf seeded.
  let total = 0;
  for (const k of which) mapLeaves(args[k], () => total++);
  const tangents: Num[] = new Array<Num>(total).fill(0);
  let val: Num | undefined;
  for (let j = 0; j < total || val === undefined; j++) {
    const trace = new ForwardTrace();
    try {
      let n = 0;
      const callArgs = args.slice();
      for (const k of which) {
        callArgs[k] = mapLeaves(args[k], (v) => (n++ === j ? new Dual(v, 1, trace) : v));
      }
      const out = checkResult(fc.apply(self, callArgs));
      const mine = out instanceof Dual && out.tr === trace;
      if (val === undefined) val = mine ? out.v : out;
      if (j < total) tangents[j] = mine ? out.t : 0;
    } finally {
      trace.alive = false;
    }
  }
  let n = 0;
  const grads = which.map((k) => shapeLike(args[k], () => tangents[n++]!));
  return [val, grads];
}
