/**
 * Beyond gradients: jvp and vjp (one forward / one reverse pass, any output
 * shape), jacobian (column by column forward, or row by row reverse), and the
 * second-order helpers built from them (hessian, hvp: forward over reverse).
 *
 * All of them run on the same traces as grad, so they nest with each other
 * and with grad in any combination of modes.
 */
import { Active, Dual, ForwardTrace, ReverseTrace, TapeVar, escapedError } from './active.js';
import type { Num } from './core-types.js';
import { checkArg, checkOutput, checkSameShape, compiledOrThrow, describe, leavesLike, leavesOf, mapLeaves, shapeLike, userValue } from './args.js';
import type { GradOf, Mode } from './api.js';
import { FORWARD_CHUNK, chunkWidth, gradientFunction, seedDirections, tangentOf } from './api.js';
import { reverseSweep } from './engine.js';
import { compiled } from './registry.js';
import { tapeStats } from './stats.js';
import { jacobianWithTangentCode, jvpWithTangentCode } from './tangent.js';

/** Tangents (or cotangents) for arguments of types A: the same shapes with numbers. */
export type TangentsOf<A extends readonly unknown[]> = { [K in keyof A]: GradOf<A[K]> };

/** A function's output as jvp/vjp return it: numbers in the same shape. */
export type OutputOf<R> = R extends number ? number : GradOf<R>;

function checkArgs(api: string, args: readonly unknown[], name: string): void {
  args.forEach((a, k) => checkArg(a, `${name}[${k}]`, new Set(), false));
}

/**
 * Records `fc(...args)` on `tape` with every numeric leaf of the arguments as
 * an input node; returns the output and the input nodes in leaf order.
 */
function record(tape: ReverseTrace, fc: Function, args: readonly unknown[], api: string, which?: readonly number[]): [unknown, number[]] {
  tapeStats.begin();
  const inputs: number[] = [];
  const callArgs = args.slice();
  for (const k of which ?? args.map((_, k) => k)) {
    callArgs[k] = mapLeaves(args[k], (v) => {
      const node = new TapeVar(v, tape.close(), tape);
      inputs.push(node.i);
      return node;
    });
  }
  const out = fc(...callArgs);
  checkOutput(out, api);
  tapeStats.end(tape);
  return [out, inputs];
}

/** Splits an output of derivative-carrying values into its value and its tangent at `trace`. */
function valueOf(out: unknown, trace: ForwardTrace | ReverseTrace): unknown {
  return mapLeaves(out, (x) => {
    if (!(x instanceof Active)) return x;
    if (x.tr === trace) return x.v;
    if (!x.tr.alive && !x.tr.recordsOps) throw escapedError(); // escaped from a finished derivative
    return x;
  });
}

// ---------------------------------------------------------------------------
// jvp
// ---------------------------------------------------------------------------

/**
 * Forward mode in one pass: the value of `f(...primals)` and its directional
 * derivative along `tangents` (`J · tangents`), in the output's shape.
 */
export function jvp<A extends unknown[], R>(
  f: (...args: A) => R,
  primals: A,
  tangents: TangentsOf<A>,
): [OutputOf<R>, OutputOf<R>] {
  const fc = compiledOrThrow(f, 'jvp');
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new TypeError(
      `dualtape: jvp(f, primals, tangents) takes the arguments and their tangents as two arrays, got ${describe(primals)} and ${describe(tangents)}.`,
    );
  }
  if (primals.length !== tangents.length) {
    throw new TypeError(`dualtape: jvp got ${primals.length} primal argument(s) but ${tangents.length} tangent(s).`);
  }
  checkArgs('jvp', primals, 'primals');
  primals.forEach((p, k) => checkSameShape(p, tangents[k], `primals[${k}]`, `tangents[${k}]`));
  // Generated tangent code (plugin/tangent/), when the plugin made some and every argument is plain.
  const generated = jvpWithTangentCode(fc, primals, tangents);
  if (generated !== undefined) return generated as [OutputOf<R>, OutputOf<R>];
  const trace = new ForwardTrace();
  try {
    const args = primals.map((p, k) => {
      const ts = leavesLike(p, tangents[k]);
      let n = 0;
      return mapLeaves(p, (v) => {
        const t = ts[n++]!;
        return t === 0 ? v : new Dual(v, t, trace);
      });
    });
    const out = fc(...args);
    checkOutput(out, 'jvp');
    const tangent = mapLeaves(out, (x) => tangentOf(x, trace, 0));
    return [userValue(valueOf(out, trace)), userValue(tangent)] as [OutputOf<R>, OutputOf<R>];
  } finally {
    trace.end();
  }
}

// ---------------------------------------------------------------------------
// vjp
// ---------------------------------------------------------------------------

/**
 * Reverse mode: records `f(...primals)` once and returns its value and a
 * pullback. `pullback(cotangent)` (cotangent shaped like the output) returns
 * `cotangentᵀ · J` for each argument, in grad's convention (one argument: its
 * shape; several: an array). The pullback can be called any number of times.
 */
export function vjp<A extends unknown[], R>(
  f: (...args: A) => R,
  ...primals: A
): [OutputOf<R>, (cotangent: OutputOf<R>) => A extends [infer X] ? GradOf<X> : TangentsOf<A>] {
  const fc = compiledOrThrow(f, 'vjp');
  checkArgs('vjp', primals, 'primals');
  const tape = new ReverseTrace();
  let out: unknown;
  let inputs: number[];
  try {
    [out, inputs] = record(tape, fc, primals, 'vjp');
  } finally {
    tape.end();
  }
  const outLeaves = leavesOf(out);
  const value = userValue(valueOf(out, tape));
  const pullback = (cotangent: unknown) => {
    checkSameShape(value, cotangent, 'the output', 'the cotangent');
    const cts = leavesLike(value, cotangent);
    const seeds: [number, Num][] = [];
    outLeaves.forEach((o, k) => {
      if (o instanceof TapeVar && o.tr === tape && cts[k] !== 0) seeds.push([o.i, cts[k]!]);
    });
    const adjoint: ArrayLike<Num> = seeds.length > 0 ? reverseSweep(tape, seeds) : [];
    let n = 0;
    const grads = primals.map((p) =>
      shapeLike(p, () => {
        const i = inputs[n++]!;
        return i < adjoint.length ? adjoint[i]! : 0;
      }),
    );
    return primals.length === 1 ? grads[0] : grads;
  };
  return [value, compiled(pullback)] as never;
}

// ---------------------------------------------------------------------------
// jacobian
// ---------------------------------------------------------------------------

export interface JacobianOptions {
  /**
   * 'forward': one pass per input (column by column). 'reverse': one recorded
   * pass and one sweep per output (row by row). 'auto' (default): forward
   * when there are no more inputs than outputs, reverse otherwise.
   */
  readonly mode?: Mode | 'auto';
  /**
   * Which arguments are inputs (columns); the others are data, passed as they
   * are. Default: all of them.
   */
  readonly argnums?: number | readonly number[];
}

/** The indices of the differentiated arguments, checked; `api` names the caller in errors. */
function argnumsList(argnums: number | readonly number[] | undefined, api: string): readonly number[] | undefined {
  if (argnums === undefined) return undefined;
  const list = typeof argnums === 'number' ? [argnums] : argnums;
  if (!Array.isArray(list) || list.some((k) => !Number.isInteger(k) || k < 0)) {
    throw new TypeError(`dualtape: ${api} option argnums must be a non-negative integer or an array of them, got ${describe(argnums)}.`);
  }
  if (new Set(list).size !== list.length) {
    throw new TypeError(`dualtape: ${api} option argnums lists an argument twice: [${list.join(', ')}].`);
  }
  return list;
}

function chosenArgs(list: readonly number[] | undefined, args: readonly unknown[], api: string): readonly number[] {
  if (list === undefined) return args.map((_, k) => k);
  for (const k of list) {
    if (k >= args.length) {
      throw new TypeError(`dualtape: argnums asks for argument ${k}, but the ${api} function was called with ${args.length} argument(s).`);
    }
  }
  return list;
}

/**
 * The Jacobian of `f` (returning a number or an array of numbers) as rows =
 * outputs, columns = inputs. With several arguments, or nested arrays or
 * objects, the columns are all numeric leaves of the differentiated
 * arguments (`argnums`, default all), flattened in order (the first listed
 * argument's leaves first, arrays in index order, objects in key order);
 * likewise the rows for a nested output. A number output gives one row.
 */
export function jacobian<A extends unknown[]>(f: (...args: A) => unknown, opts?: JacobianOptions & { argnums?: undefined }): (...args: A) => number[][];
export function jacobian<A extends unknown[], const N extends number | readonly number[]>(
  f: (...args: A) => unknown,
  opts: JacobianOptions & { argnums: N & ArgIndex<A, N> },
): (...args: A) => number[][];
export function jacobian(f: (...args: unknown[]) => unknown, opts: JacobianOptions = {}): (...args: unknown[]) => number[][] {
  const fc = compiledOrThrow(f, 'jacobian');
  const mode = opts.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'forward' && mode !== 'reverse') {
    throw new TypeError(`dualtape: jacobian option mode must be 'forward', 'reverse' or 'auto', got ${describe(mode)}.`);
  }
  const list = argnumsList(opts.argnums, 'jacobian');
  return compiled((...args: unknown[]): number[][] => {
    const which = chosenArgs(list, args, 'jacobian');
    which.forEach((k) => checkArg(args[k], `args[${k}]`, new Set(), false));
    const nIn = which.reduce<number>((n, k) => n + leavesOf(args[k]).length, 0);
    let useForward = mode === 'forward';
    if (mode === 'auto') {
      const probe = fc(...args);
      checkOutput(probe, 'jacobian');
      useForward = nIn <= leavesOf(probe).length;
    }
    return (useForward ? jacobianForward(fc, args, which, nIn) : jacobianReverse(fc, args, which)) as number[][];
  });
}

/** `N` when every index in it is a position of the tuple `A` (or A's length is not known). */
export type ArgIndex<A extends unknown[], N> = number extends A['length']
  ? N
  : N extends number
    ? N extends Indices<A> ? N : never
    : N extends readonly (infer K)[] ? ([K] extends [Indices<A>] ? N : never) : never;
type Indices<A extends unknown[]> = Exclude<keyof A, keyof unknown[]> extends infer K
  ? K extends `${infer I extends number}` ? I : never
  : never;

function jacobianForward(fc: Function, args: unknown[], which: readonly number[], nIn: number): Num[][] {
  // Several columns per pass (array tangents), as grad's forward mode does, when nothing else
  // is being differentiated; one column per pass otherwise.
  const plain = which.every((k) => leavesOf(args[k]).every((v) => typeof v === 'number'));
  const generated = plain ? jacobianWithTangentCode(fc, args, which, nIn, FORWARD_CHUNK) : undefined;
  if (generated !== undefined) return generated;
  const width = chunkWidth(plain, nIn, FORWARD_CHUNK);
  const columns: Num[][] = [];
  let nOut = 0;
  for (let j = 0; j < nIn; j += width) {
    const trace = new ForwardTrace();
    try {
      const counter = { n: 0 };
      const callArgs = args.slice();
      for (const k of which) callArgs[k] = seedDirections(args[k], trace, j, width, counter);
      const out = fc(...callArgs);
      checkOutput(out, 'jacobian');
      const outs = leavesOf(out);
      nOut = outs.length;
      for (let c = 0; c < width && j + c < nIn; c++) {
        columns.push(outs.map((x) => tangentOf(x, trace, c)));
      }
    } finally {
      trace.end();
    }
  }
  if (nIn === 0) {
    const out = fc(...args);
    checkOutput(out, 'jacobian');
    nOut = leavesOf(out).length;
  }
  return Array.from({ length: nOut }, (_, i) => columns.map((col) => col[i]!));
}

function jacobianReverse(fc: Function, args: unknown[], which: readonly number[]): Num[][] {
  const tape = new ReverseTrace();
  try {
    const [out, inputs] = record(tape, fc, args, 'jacobian', which);
    return leavesOf(out).map((o) => {
      if (!(o instanceof TapeVar) || o.tr !== tape) return inputs.map(() => 0);
      const adjoint = reverseSweep(tape, [[o.i, 1]]);
      return inputs.map((i) => (i < adjoint.length ? adjoint[i]! : 0));
    });
  } finally {
    tape.end();
  }
}

// ---------------------------------------------------------------------------
// Second order
// ---------------------------------------------------------------------------

type Vector = readonly number[] | Float64Array | Float32Array;

function checkVector(x: unknown, api: string, name: string): void {
  const ok =
    x instanceof Float64Array ||
    x instanceof Float32Array ||
    (Array.isArray(x) && x.every((v) => typeof v === 'number' || v instanceof Active));
  if (!ok) throw new TypeError(`dualtape: ${api} takes ${name} as a flat array of numbers, got ${describe(x)}.`);
}

/**
 * The Hessian of a scalar function of one vector, as an n × n array: forward
 * mode over the reverse-mode gradient, one pass per column. Symmetric: the
 * two triangles are averaged, which only removes rounding differences.
 *
 * With `argnums`, `f` may take data arguments too: `hessian(loss, { argnums: 0 })(w, data)`
 * is the Hessian in `w` alone (each differentiated argument a flat array; with
 * several, rows and columns run over their elements in the order listed).
 */
export function hessian<X extends Vector>(f: (x: X) => number, opts?: { readonly argnums?: undefined }): (x: X) => number[][];
export function hessian<A extends unknown[], const N extends number | readonly number[]>(
  f: (...args: A) => number,
  opts: { readonly argnums: N & ArgIndex<A, N> },
): (...args: A) => number[][];
export function hessian(f: (...args: unknown[]) => number, opts: { readonly argnums?: number | readonly number[] } = {}): (...args: unknown[]) => number[][] {
  const list = argnumsList(opts.argnums, 'hessian');
  const g = gradientFunction(f, list === undefined ? {} : { argnums: list }, 'hessian');
  const jac = jacobian(g as (...args: unknown[]) => unknown, { mode: 'forward', ...(list === undefined ? {} : { argnums: list }) } as never) as
    (...args: unknown[]) => number[][];
  return compiled((...args: unknown[]): number[][] => {
    // Without argnums, x alone (extra arguments, as Array.prototype.map passes, are ignored).
    if (list === undefined) checkVector(args[0], 'hessian', 'x');
    else for (const k of chosenArgs(list, args, 'hessian')) checkVector(args[k], 'hessian', `args[${k}]`);
    const h = list === undefined ? jac(args[0]) : jac(...args);
    const n = h.length;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const hij = h[i]![j]!;
        const hji = h[j]![i]!;
        if (typeof hij === 'number' && typeof hji === 'number') h[i]![j] = h[j]![i] = (hij + hji) / 2;
      }
    }
    return h;
  });
}

/**
 * Hessian-vector product `H(x) · v` without forming H: one forward-mode pass
 * through the reverse-mode gradient (forward over reverse), a small multiple
 * of the cost of one gradient.
 */
export function hvp<X extends Vector>(f: (x: X) => number): (x: X, v: X) => number[] {
  const g = gradientFunction(f, {}, 'hvp');
  return compiled((x: X, v: X): number[] => {
    checkVector(x, 'hvp', 'x');
    checkVector(v, 'hvp', 'v');
    if (x.length !== v.length) throw new TypeError(`dualtape: hvp got x with ${x.length} elements but v with ${v.length}.`);
    const [, t] = jvp(g as (x: X) => number[], [x], [Array.from(v as ArrayLike<number>)] as never);
    return Array.from(t as ArrayLike<number>);
  });
}
