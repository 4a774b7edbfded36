/**
 * Small helpers for the demo: a seeded PRNG, timing and text formatting.
 * Nothing here touches differentiated values, so this module is plain
 * TypeScript that the dualtape plugin never needs to compile.
 */

/** mulberry32: a tiny, fast, seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box–Muller) drawn from a uniform source. */
export function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Results are folded into this so the JIT cannot drop the timed calls. */
let sink = 0;
function consume(v: unknown): void {
  sink += typeof v === 'number' ? v : Array.isArray(v) ? v.length : 1;
}

export interface Timing {
  /** Milliseconds per call: median over the samples. */
  readonly ms: number;
  /** Total timed calls (1 means a single run, no median). */
  readonly runs: number;
}

/**
 * Time one call of `fn`. The first call doubles as a probe: if it is slower
 * than `singleRunMs` it is the measurement. Otherwise `fn` is warmed up for
 * ~20 ms, then timed as `samples` batches of equal size, sized so that the
 * whole measurement takes about `targetMs`; the result is the median.
 */
export function time(
  fn: () => unknown,
  { targetMs = 120, samples = 7, singleRunMs = 60 } = {},
): Timing {
  let t0 = performance.now();
  consume(fn());
  const first = performance.now() - t0;
  if (first > singleRunMs) return { ms: first, runs: 1 };

  // Warm up, and estimate the cost of one call while at it.
  let calls = 0;
  t0 = performance.now();
  do {
    consume(fn());
    calls++;
  } while (performance.now() - t0 < 20);
  const estimate = (performance.now() - t0) / calls;

  const batch = Math.max(1, Math.round(targetMs / samples / estimate));
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) {
    t0 = performance.now();
    for (let k = 0; k < batch; k++) consume(fn());
    perCall.push((performance.now() - t0) / batch);
  }
  return { ms: median(perCall), runs: samples * batch };
}

/** Right-align each cell to its column width and join with a separator. */
export function row(cells: readonly string[], widths: readonly number[], sep = '  '): string {
  return cells.map((c, i) => c.padStart(widths[i] ?? 0)).join(sep);
}

/** A text table: header, rule, rows; columns sized to fit. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [row(header, widths, ' | '), rule, ...rows.map((r) => row(r, widths, ' | '))].join('\n');
}

/** A number with `digits` significant digits, without exponent for moderate sizes. */
export function fmt(x: number, digits = 3): string {
  if (x === 0) return '0';
  if (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e7) {
    const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(x))));
    return x.toFixed(decimals);
  }
  return x.toExponential(digits - 1);
}

/** A transient status line on stderr (overwritten in a terminal). */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
  else if (message !== '') process.stderr.write(`${message}\n`);
}

/** max_i |a_i - b_i| / max_i |b_i|: relative difference of two gradients. */
export function maxRelDiff(a: readonly number[], b: readonly number[]): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}
