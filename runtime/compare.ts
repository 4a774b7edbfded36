/**
 * `compareModes(f, args)`: times one plain evaluation, one forward-mode
 * gradient and one reverse-mode gradient of the user's own function at the
 * user's own point, counts what reverse mode records, and says which mode is
 * cheaper there and by how much. Times are medians of several samples taken
 * in turn in this process, reported as multiples of the plain evaluation
 * (the ratio is what carries over between machines).
 */
import { grad } from './api.js';
import { compiledOrThrow, leavesOf } from './args.js';
import { lastTapeStats } from './stats.js';
import { setTier, tierOfCompiled } from './adjoint/entry.js';

export interface CompareOptions {
  /** Samples per method (median taken); default 5. */
  readonly samples?: number;
  /** Target duration of one sample in milliseconds; default 20. */
  readonly sampleMs?: number;
}

export interface ModeComparison {
  /** Number of differentiated inputs (numeric leaves of all arguments). */
  inputs: number;
  /** Milliseconds for one plain evaluation, one forward-mode gradient, one reverse-mode gradient. */
  plainMs: number;
  forwardMs: number;
  reverseMs: number;
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

/** Median time of one call of `run`, in ms. */
function time(run: () => unknown, samples: number, sampleMs: number): number {
  // Warm up for about two samples' worth, so that the JIT has compiled what we time.
  let calls = 0;
  const t0 = now();
  do {
    run();
    calls++;
  } while (now() - t0 < 2 * sampleMs && calls < 1e7);
  const once = Math.max((now() - t0) / calls, 1e-6);
  const reps = Math.max(1, Math.min(1e7, Math.round(sampleMs / once)));
  const results: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = now();
    for (let r = 0; r < reps; r++) run();
    results.push((now() - start) / reps);
  }
  results.sort((a, b) => a - b);
  return results[results.length >> 1]!;
}

/**
 * Compares forward and reverse mode on `f` at `args` (the argument list, as
 * for `jvp`: `compareModes(loss, [params, data])` differentiates every
 * argument; pass data through a closure to keep it constant).
 */
export function compareModes<A extends unknown[]>(f: (...args: A) => number, args: A, opts: CompareOptions = {}): ModeComparison {
  const tierInfo = tierOfCompiled(compiledOrThrow(f, 'compareModes'));
  if (!Array.isArray(args)) throw new TypeError('dualtape: compareModes(f, args) takes the arguments as an array, e.g. compareModes(f, [x]).');
  const samples = opts.samples ?? 5;
  const sampleMs = opts.sampleMs ?? 20;
  const forward = grad(f, { mode: 'forward' }) as (...a: A) => unknown;
  const reverse = grad(f) as (...a: A) => unknown;
  const inputs = args.reduce<number>((n, a) => n + leavesOf(a).length, 0);

  const plainMs = time(() => f(...args), samples, sampleMs);
  const reverseMs = time(() => reverse(...args), samples, sampleMs);
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
  const forwardMs = time(() => forward(...args), samples, sampleMs);

  const flat = (g: unknown) => (args.length === 1 ? leavesOf(g) : (g as unknown[]).flatMap((x) => leavesOf(x))) as number[];
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
    `${inputs} input(s). One plain evaluation: ${fmt(plainMs * 1000)} µs. ` +
    `Forward mode (${inputs} pass(es)): ${fmt(forwardMs * 1000)} µs = ${fmt(forwardMs / plainMs)}× f. ` +
    (tierInfo.tier === 'adjoint'
      ? `Reverse mode (generated adjoint code; the tape tier would record ${stats.nodes} nodes, ${stats.edges} edges, ${stats.bytes} bytes): `
      : `Reverse mode (one recorded pass + one sweep, ${stats.nodes} tape nodes, ${stats.edges} edges, ${stats.bytes} bytes): `) +
    `${fmt(reverseMs * 1000)} µs = ${fmt(reverseMs / plainMs)}× f. ` +
    `${cheaper === 'reverse' ? 'Reverse' : 'Forward'} mode is ${fmt(factor)}× cheaper here. ` +
    `The two modes' gradients differ by ${modeDifference.toExponential(1)} (relative).`;
  return {
    inputs, plainMs, forwardMs, reverseMs,
    forwardRatio: forwardMs / plainMs, reverseRatio: reverseMs / plainMs,
    tier: tierInfo.tier, tierReason: tierInfo.reason,
    tapeNodes: stats.nodes, tapeEdges: stats.edges, tapeBytes: stats.bytes,
    cheaper, factor, modeDifference, summary,
  };
}
