/**
 * `compareModes(f, args)`: times one plain evaluation, one forward-mode
 * gradient and one reverse-mode gradient of the user's own function at the
 * user's own point, counts what reverse mode records, and says which mode is
 * cheaper there and by how much. Times are medians of several samples taken
 * in turn in this process (plain, reverse, forward, plain, …), reported as multiples of the plain evaluation
 * (the ratio is what carries over between machines).
 */
import { FORWARD_CHUNK, chunkWidth, grad } from './api.js';
import { compiledOrThrow, describe, isDifferentiable, leavesOf } from './args.js';
import { compiledVersion, originalOf } from './registry.js';
import { lastTapeStats } from './stats.js';
import type { ArgIndex } from './transforms.js';
import { setTier, tierOfCompiled } from './adjoint/entry.js';

export interface CompareOptions {
  /** Samples per method (median taken); default 5. */
  readonly samples?: number;
  /** Target duration of one sample in milliseconds; default 20. */
  readonly sampleMs?: number;
  /**
   * Which arguments are differentiated (as for grad); the others are data,
   * passed as they are and not counted as inputs. Default: all of them.
   */
  readonly argnums?: number | readonly number[];
}

export interface ModeComparison {
  /** Number of differentiated inputs (numeric leaves of the arguments in argnums, default all). */
  inputs: number;
  /** Forward-mode passes one gradient ran (each carries up to 32 input directions). */
  forwardPasses: number;
  /**
   * Milliseconds for one plain evaluation, one forward-mode gradient, one
   * reverse-mode gradient. The plain evaluation runs the user's own function,
   * uncompiled (see plainIsOriginal).
   */
  plainMs: number;
  forwardMs: number;
  reverseMs: number;
  /**
   * True when plainMs timed the uncompiled function: always, except for a
   * function compiled in place without a kept copy (a method, or a function in
   * an object marked 'use differentiable'), where the compiled code running on
   * plain numbers was timed.
   */
  plainIsOriginal: boolean;
  /** forwardMs / plainMs and reverseMs / plainMs. */
  forwardRatio: number;
  reverseRatio: number;
  /** Which tier ran reverse mode: generated adjoint code, or the tape (with the reason). */
  tier: 'adjoint' | 'tape';
  tierReason: string;
  /** What reverse mode records on the tape tier: tape nodes, edges and bytes (measured with the tape forced when the adjoint tier ran). */
  tapeNodes: number;
  tapeEdges: number;
  tapeBytes: number;
  /** The cheaper mode here, and how many times cheaper it is. */
  cheaper: 'forward' | 'reverse';
  factor: number;
  /** Largest difference between the two modes' gradients, relative to the largest component. */
  modeDifference: number;
  /** One readable paragraph with all of the above. */
  summary: string;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * A timer for `run`: warms it up for about two samples' worth (so that the
 * JIT has compiled what we time) and sizes a sample to about `sampleMs`;
 * each call of the result times one sample and returns ms per call.
 */
function sampler(run: () => unknown, sampleMs: number): () => number {
  let calls = 0;
  const t0 = now();
  do {
    run();
    calls++;
  } while (now() - t0 < 2 * sampleMs && calls < 1e7);
  const once = Math.max((now() - t0) / calls, 1e-6);
  const reps = Math.max(1, Math.min(1e7, Math.round(sampleMs / once)));
  return () => {
    const start = now();
    for (let r = 0; r < reps; r++) run();
    return (now() - start) / reps;
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Compares forward and reverse mode on `f` at `args` (the argument list, as
 * for `jvp`): `compareModes(loss, [params, data], { argnums: 0 })`
 * differentiates `params` alone; without argnums every argument is an input.
 */
export function compareModes<A extends unknown[]>(f: (...args: A) => number, args: A, opts?: CompareOptions & { argnums?: undefined }): ModeComparison;
export function compareModes<A extends unknown[], const N extends number | readonly number[]>(
  f: (...args: A) => number,
  args: A,
  opts: CompareOptions & { argnums: N & ArgIndex<A, N> },
): ModeComparison;
export function compareModes(f: (...args: unknown[]) => number, args: unknown[], opts: CompareOptions = {}): ModeComparison {
  const fc = compiledOrThrow(f, 'compareModes');
  const tierInfo = tierOfCompiled(fc);
  if (!Array.isArray(args)) throw new TypeError('dualtape: compareModes(f, args) takes the arguments as an array, e.g. compareModes(f, [x]).');
  const samples = opts.samples ?? 5;
  const sampleMs = opts.sampleMs ?? 20;
  const argnums = opts.argnums;
  // By default every argument that is a tree of numbers; the others (a label, null, an options object) are constants.
  const which = argnums === undefined ? args.flatMap((a, k) => (isDifferentiable(a) ? [k] : [])) : typeof argnums === 'number' ? [argnums] : argnums;
  if (!Array.isArray(which) || which.some((k) => !Number.isInteger(k) || k < 0 || k >= args.length)) {
    throw new TypeError(
      `dualtape: compareModes option argnums must be an index or an array of indices of args (${args.length} argument(s)), got ${describe(argnums)}.`,
    );
  }
  if (which.length === 0) {
    throw new TypeError('dualtape: compareModes found no numeric argument to differentiate in args (numbers, arrays, Float64Array/Float32Array or plain objects of those).');
  }
  const gradOpts = { argnums: which };
  const forward = grad(f, { mode: 'forward', ...gradOpts } as never) as (...a: unknown[]) => unknown;
  const reverse = grad(f, gradOpts as never) as (...a: unknown[]) => unknown;
  const leaves = which.flatMap((k) => leavesOf(args[k]));
  const inputs = leaves.length;
  const width = chunkWidth(leaves.every((v) => typeof v === 'number'), inputs, FORWARD_CHUNK);
  const forwardPasses = Math.max(1, Math.ceil(inputs / width));
  // The user's function as written: the plugin keeps a copy of an inline closure for this.
  const plain = originalOf(f);
  // The user's own code runs unless f is compiled in place with no copy kept (compiledOrThrow may wrap fc, so compare with f).
  const plainIsOriginal = plain !== f || compiledVersion(f) !== f;

  // Samples of the three taken in turn, so that a change in the machine's load affects all alike.
  const timers = [sampler(() => plain(...args), sampleMs), sampler(() => reverse(...args), sampleMs), sampler(() => forward(...args), sampleMs)];
  const times: number[][] = [[], [], []];
  for (let s = 0; s < samples; s++) timers.forEach((sample, k) => times[k]!.push(sample()));
  const [plainMs, reverseMs, forwardMs] = times.map(median) as [number, number, number];
  reverse(...args);
  let stats = lastTapeStats();
  if (tierInfo.tier === 'adjoint') {
    // The adjoint tier records no tape: take the tape's size from one gradient on the tape tier.
    const was = setTier('tape');
    try {
      reverse(...args);
    } finally {
      setTier(was);
    }
    stats = lastTapeStats();
  }

  // argnums is always an array here, so grad gives one gradient per differentiated argument.
  const flat = (g: unknown) => (g as unknown[]).flatMap((x) => leavesOf(x)) as number[];
  const gf = flat(forward(...args));
  const gr = flat(reverse(...args));
  let scale = 1e-300;
  for (const g of gr) if (Number.isFinite(g) && Math.abs(g) > scale) scale = Math.abs(g);
  let modeDifference = 0;
  for (let i = 0; i < gr.length; i++) {
    if (Object.is(gr[i], gf[i])) continue; // equal, also for equal infinities and NaN
    modeDifference = Math.max(modeDifference, Math.abs(gr[i]! - gf[i]!) / scale);
  }

  const cheaper = reverseMs <= forwardMs ? 'reverse' : 'forward';
  const factor = cheaper === 'reverse' ? forwardMs / reverseMs : reverseMs / forwardMs;
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const summary =
    `${inputs} input(s). One plain evaluation${plainIsOriginal ? '' : ' (of the compiled code: no uncompiled copy was kept)'}: ${fmt(plainMs * 1000)} µs. ` +
    `Forward mode (${forwardPasses} pass(es)${width > 1 ? ` of up to ${width} directions` : ''}): ${fmt(forwardMs * 1000)} µs = ${fmt(forwardMs / plainMs)}× f. ` +
    (tierInfo.tier === 'adjoint'
      ? `Reverse mode (generated adjoint code; the tape tier would record ${stats.nodes} nodes, ${stats.edges} edges, ${stats.bytes} bytes): `
      : `Reverse mode (one recorded pass + one sweep, ${stats.nodes} tape nodes, ${stats.edges} edges, ${stats.bytes} bytes): `) +
    `${fmt(reverseMs * 1000)} µs = ${fmt(reverseMs / plainMs)}× f. ` +
    `${cheaper === 'reverse' ? 'Reverse' : 'Forward'} mode is ${fmt(factor)}× cheaper here. ` +
    `The two modes' gradients differ by ${modeDifference.toExponential(1)} (relative).`;
  return {
    inputs, forwardPasses, plainMs, forwardMs, reverseMs, plainIsOriginal,
    forwardRatio: forwardMs / plainMs, reverseRatio: reverseMs / plainMs,
    tier: tierInfo.tier, tierReason: tierInfo.reason,
    tapeNodes: stats.nodes, tapeEdges: stats.edges, tapeBytes: stats.bytes,
    cheaper, factor, modeDifference, summary,
  };
}
