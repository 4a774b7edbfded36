/**
 * `dualtape compare`: what one gradient costs in each mode as the number of
 * inputs n grows, as multiples of one plain evaluation of f measured in the
 * same process: forward mode (passes of `chunk` directions), reverse mode
 * (one recorded pass and one sweep), and central finite differences (2n
 * evaluations of f). No Node APIs here: the playground runs it too.
 */
import { grad } from '../runtime/index.js';
import { FORWARD_CHUNK } from '../runtime/api.js';

export interface CompareRow {
  /** Differentiated inputs (numeric leaves of the arguments). */
  n: number;
  /** Milliseconds for one plain evaluation and one gradient by each method (medians). */
  plainMs: number;
  forwardMs: number;
  reverseMs: number;
  fdMs: number;
  /** Directions per forward pass, and passes. */
  chunk: number;
  passes: number;
  /** Largest difference between the forward and reverse gradients, relative to the largest component. */
  modeDifference: number;
  /** Largest difference between finite differences and reverse mode, relative to the largest component. */
  fdDifference: number;
}

export interface MeasureOptions {
  /** Target duration of one timing sample in ms (default 50). */
  sampleMs?: number;
  /** Samples per measurement, median taken (default 5; one when a single call takes longer than a sample). */
  samples?: number;
  /** Forward-mode directions per pass (default: grad's default). */
  chunk?: number;
  /** Called before each measurement, e.g. "n = 1000: reverse mode". */
  onProgress?: (message: string, done: number, total: number) => void;
}

const now = (): number => performance.now();

/** Results are kept here so that the engine cannot drop the calls being timed. */
let sink: unknown;

/**
 * Median time of one call of each of `runs`, in ms. The samples are taken in
 * turn (f, reverse, forward, finite differences, f, reverse, …) so that a
 * noisy machine slows all of them alike and their ratios stay meaningful.
 * Each is first warmed up for about one sample; one that takes longer than a
 * sample per call is timed on single calls.
 */
export function timeInTurn(runs: readonly (() => unknown)[], sampleMs: number, samples: number): number[] {
  const reps = runs.map((run) => {
    let t0 = now();
    sink = run();
    const first = now() - t0;
    if (first >= sampleMs) return 1;
    t0 = now();
    let calls = 0;
    do {
      sink = run();
      calls++;
    } while (now() - t0 < sampleMs && calls < 1e7);
    const once = Math.max((now() - t0) / calls, 1e-6);
    return Math.max(1, Math.min(1e7, Math.round(sampleMs / once)));
  });
  const results = runs.map(() => [] as number[]);
  for (let s = 0; s < samples; s++) {
    runs.forEach((run, k) => {
      const start = now();
      for (let r = 0; r < reps[k]!; r++) sink = run();
      results[k]!.push((now() - start) / reps[k]!);
    });
  }
  if (sink === timeInTurn) results.push([]); // never true: reads the sink
  return results.map((r) => r.sort((a, b) => a - b)[r.length >> 1]!);
}

/** Numeric leaves of an argument list as [container, key] pairs, in grad's order. */
function leafSlots(x: unknown, out: [Record<string | number, number>, string | number][]): void {
  if (Array.isArray(x) || x instanceof Float64Array || x instanceof Float32Array) {
    for (let i = 0; i < x.length; i++) {
      if (typeof x[i] === 'number') out.push([x as unknown as Record<number, number>, i]);
      else leafSlots(x[i], out);
    }
  } else if (x !== null && typeof x === 'object') {
    for (const key of Object.keys(x)) {
      const v = (x as Record<string, unknown>)[key];
      if (typeof v === 'number') out.push([x as Record<string, number>, key]);
      else leafSlots(v, out);
    }
  }
}

const flatten = (x: unknown): number[] => {
  if (typeof x === 'number') return [x];
  if (Array.isArray(x) || x instanceof Float64Array || x instanceof Float32Array) return Array.from(x as ArrayLike<unknown>).flatMap(flatten);
  if (x !== null && typeof x === 'object') return Object.values(x).flatMap(flatten);
  return [];
};

/** Central finite differences of f at args (mutated in place and restored), step h·max(1, |x|). */
export function finiteDifferences(f: (...a: unknown[]) => number, args: unknown[]): number[] {
  const slots: [Record<string | number, number>, string | number][] = [];
  leafSlots(args, slots);
  const g = new Array<number>(slots.length);
  for (let k = 0; k < slots.length; k++) {
    const [o, key] = slots[k]!;
    const x = o[key]!;
    const h = 1e-6 * Math.max(1, Math.abs(x));
    o[key] = x + h;
    const up = f(...args);
    o[key] = x - h;
    const down = f(...args);
    o[key] = x;
    g[k] = (up - down) / (2 * h);
  }
  return g;
}

function relativeDifference(a: readonly number[], b: readonly number[]): number {
  let scale = 1e-300;
  for (const v of b) if (Number.isFinite(v) && Math.abs(v) > scale) scale = Math.abs(v);
  let d = 0;
  for (let i = 0; i < b.length; i++) if (!Object.is(a[i], b[i])) d = Math.max(d, Math.abs(a[i]! - b[i]!) / scale);
  return d;
}

/** Random normal numbers (Box–Muller) from a seeded generator (mulberry32), so runs are repeatable. */
export function normals(n: number, seed = 1): number[] {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** Times f and its gradient by each method at the arguments `makeArgs(n)` for each n. */
export async function measure(
  f: (...a: unknown[]) => number,
  makeArgs: (n: number) => unknown[],
  ns: readonly number[],
  opts: MeasureOptions = {},
): Promise<CompareRow[]> {
  const sampleMs = opts.sampleMs ?? 50;
  const samples = opts.samples ?? 5;
  const chunkOpt = opts.chunk ?? FORWARD_CHUNK;
  const forward = grad(f, { mode: 'forward', chunk: chunkOpt }) as (...a: unknown[]) => unknown;
  const reverse = grad(f) as (...a: unknown[]) => unknown;
  const rows: CompareRow[] = [];
  const total = ns.length * 2;
  let done = 0;
  const step = async (what: string) => {
    opts.onProgress?.(what, done++, total);
    await pause();
  };
  for (const n of ns) {
    const args = makeArgs(n);
    if (!Array.isArray(args)) throw new TypeError(`the input maker must return the argument list (an array), got ${typeof args} for n = ${n}`);
    const inputs = flatten(args).length;
    const fwdGrad = (g: unknown) => (args.length === 1 ? flatten(g) : (g as unknown[]).flatMap(flatten));
    await step(`n = ${n}: timing f, reverse mode, forward mode and finite differences in turn`);
    const [plainMs, reverseMs, forwardMs, fdMs] = timeInTurn(
      [() => f(...args), () => reverse(...args), () => forward(...args), () => finiteDifferences(f, args)],
      sampleMs,
      samples,
    ) as [number, number, number, number];
    await step(`n = ${n}: checking the gradients`);
    const gr = fwdGrad(reverse(...args));
    const gf = fwdGrad(forward(...args));
    const gd = finiteDifferences(f, args);
    const chunk = Math.min(chunkOpt, Math.max(1, inputs));
    rows.push({
      n: inputs, plainMs, forwardMs, reverseMs, fdMs, chunk, passes: Math.max(1, Math.ceil(inputs / chunk)),
      modeDifference: relativeDifference(gf, gr), fdDifference: relativeDifference(gd, gr),
    });
  }
  opts.onProgress?.('done', total, total);
  return rows;
}

/**
 * Where reverse mode becomes cheaper than forward mode: the n at which the
 * ratio forward/reverse crosses 1, interpolated on log n between the two
 * measured sizes around it (undefined when it does not cross in the range).
 */
export function crossover(rows: readonly CompareRow[]): { n: number; between: [number, number] } | { n: undefined; always: 'forward' | 'reverse' | 'mixed' } {
  const r = rows.map((row) => Math.log(row.forwardMs / row.reverseMs));
  for (let i = 1; i < rows.length; i++) {
    if (r[i - 1]! <= 0 && r[i]! > 0 && r.slice(i).every((v) => v > 0)) {
      const t = -r[i - 1]! / (r[i]! - r[i - 1]!);
      const n = Math.exp(Math.log(rows[i - 1]!.n) + t * (Math.log(rows[i]!.n) - Math.log(rows[i - 1]!.n)));
      return { n, between: [rows[i - 1]!.n, rows[i]!.n] };
    }
  }
  const always = r.every((v) => v > 0) ? 'reverse' : r.every((v) => v <= 0) ? 'forward' : 'mixed';
  return { n: undefined, always };
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtTime = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(2)} µs`);

/** The table the CLI prints: times of f, ratios of each method to f, and the crossover. */
export function formatTable(rows: readonly CompareRow[]): string {
  const head = ['n', 'f', 'forward ×f', 'passes×chunk', 'reverse ×f', 'finite diff ×f', 'cheaper', 'fwd/rev diff', 'fd/rev diff'];
  const body = rows.map((r) => [
    String(r.n), fmtTime(r.plainMs), fmt(r.forwardMs / r.plainMs), `${r.passes}×${r.chunk}`, fmt(r.reverseMs / r.plainMs),
    fmt(r.fdMs / r.plainMs), r.reverseMs < r.forwardMs ? 'reverse' : 'forward', r.modeDifference.toExponential(1), r.fdDifference.toExponential(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padStart(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  const c = crossover(rows);
  out.push('');
  out.push(
    c.n !== undefined
      ? `Reverse mode becomes cheaper than forward mode at n ≈ ${Math.round(c.n)} (between n = ${c.between[0]} and n = ${c.between[1]}).`
      : c.always === 'reverse' ? 'Reverse mode is cheaper at every n measured.'
      : c.always === 'forward' ? 'Forward mode is cheaper at every n measured.'
      : 'Neither mode is cheaper throughout: the ratio crosses back and forth (noise, or a function whose cost is not linear in n).',
  );
  return out.join('\n');
}
