/**
 * The measurement: for one workload instance, every method's time for one
 * gradient as a ratio to one plain evaluation of f, measured in the same
 * process and interleaved (each sample of a method is paired with a sample of
 * plain f taken just before it), median and min–max over several runs.
 *
 * Plain TypeScript: nothing here is differentiated.
 */
import { median } from '../examples/util.ts';
import type { AnyWorkload, Instance } from './cases.ts';

export type MethodId = 'plain' | 'hand' | 'reverse' | 'tape' | 'forward' | 'fd' | 'jax' | 'tfjs-cpu' | 'tfjs-wasm';

/** What a method needs per instance, set up once outside the timings. */
export interface Prepared {
  /** One gradient (or, for plain f, one evaluation). */
  run(): ArrayLike<number> | number;
  /** Called (untimed) before every timed batch, e.g. to select a library backend. */
  enter?(): void;
  /** dualtape reverse mode: the tape of one recording. */
  tape?(): TapeInfo;
  dispose?(): void;
}

export interface Method {
  readonly id: MethodId;
  readonly label: string;
  /**
   * 'per-input': one gradient costs about n evaluations of f (forward mode,
   * finite differences), so O(n²) time when f is O(n): subject to the
   * per-call budget. 'constant': a bounded multiple of f.
   */
  readonly cost: 'constant' | 'per-input';
  prepare(w: AnyWorkload, inst: Instance): Promise<Prepared>;
}

export interface TapeInfo {
  nodes: number;
  edges: number;
  bytes: number;
  bytesPerNode: number;
  /** Tape bytes per arithmetic operation of f (Instance.ops). */
  bytesPerOp: number;
}

export interface Config {
  /** Target duration of one timed sample (a batch of calls), ms. */
  targetMs: number;
  /** Paired samples (runs) per method. */
  runs: number;
  /** Fewest runs for a slow method (one whose call is longer than a sample). */
  minRuns: number;
  /** Warm-up time per method before timing, ms. */
  warmupMs: number;
  /** A method whose one gradient is predicted to take longer than this is skipped. */
  maxCallMs: number;
  /** Time a slow method may spend on its runs in one cell, ms. */
  slowBudgetMs: number;
  /** Keep every method's gradient in the results (for the smoke test). */
  keepGradients: boolean;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
}

export interface MethodResult {
  id: MethodId;
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  /** Why skipped or failed. */
  reason?: string;
  /** Time of one gradient / time of one plain evaluation (paired samples). */
  ratio?: Stat;
  /** Milliseconds per gradient. */
  ms?: Stat;
  /** Paired samples taken, and calls per sample. */
  runs?: number;
  callsPerSample?: number;
  /** max_i |g_i - h_i| / max_i |h_i| against the hand-written gradient h. */
  error?: number;
  /** Predicted ms per gradient (for a skipped per-input method). */
  predictedMs?: number;
  gradient?: number[];
}

export interface CellResult {
  workload: string;
  title: string;
  /** The size key the instance was made from (Workload.make). */
  key: number;
  n: number;
  ops: number;
  description: string;
  /** One plain evaluation of f, ms: over all the paired samples. */
  plainMs: Stat;
  methods: MethodResult[];
  tape?: TapeInfo;
}

/** Relative error of a gradient: max_i |a_i - b_i| / max_i |b_i|. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    diff = d > diff || Number.isNaN(d) ? d : diff;
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

export function stat(xs: readonly number[]): Stat {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** Results are folded into this so the JIT cannot drop the timed calls. */
let sink = 0;
function consume(v: ArrayLike<number> | number): void {
  sink += typeof v === 'number' ? v : v.length > 0 ? v[0] : 0;
}
/** Read by nobody; exported so that the accumulation above stays observable. */
export const sinkValue = (): number => sink;

/**
 * With `node --expose-gc`: a minor collection before each timed batch, so that
 * one method's short-lived garbage is not collected during the next sample.
 */
const gc = (globalThis as { gc?: (opts?: { type: 'minor' | 'major' }) => void }).gc;
const settle = (): void => gc?.({ type: 'minor' });

/** Milliseconds per call over a batch of `calls` calls. */
function timeBatch(p: Prepared, calls: number): number {
  p.enter?.();
  settle();
  const t0 = performance.now();
  for (let k = 0; k < calls; k++) consume(p.run());
  return (performance.now() - t0) / calls;
}

/**
 * Warm up for about `ms` (unless the first call alone took `slowMs` or more),
 * then estimate the ms per call over about `ms / 2` more.
 */
function warmUp(p: Prepared, ms: number, firstMs: number, slowMs: number): number {
  if (firstMs >= slowMs) return firstMs; // the first call was warm-up enough
  p.enter?.();
  let t0 = performance.now();
  do consume(p.run());
  while (performance.now() - t0 < ms);
  let calls = 0;
  t0 = performance.now();
  do {
    consume(p.run());
    calls++;
  } while (performance.now() - t0 < ms / 2);
  return (performance.now() - t0) / calls;
}

/**
 * Per-workload memory of measured per-input methods: ms per gradient divided
 * by (n × plain ms), used to predict the next size before running it.
 */
export type History = Map<string, number>;

/** First guess of (ms per gradient) / (n × plain ms) before anything was measured. */
const FIRST_GUESS: Partial<Record<MethodId, number>> = { fd: 2, forward: 20 };

export type Progress = (message: string) => void;

/**
 * Measure every method on one instance. Methods that throw are recorded as
 * failed; per-input methods predicted over budget are recorded as skipped.
 */
export async function measureCell(
  w: AnyWorkload,
  inst: Instance,
  plainMethod: Method,
  methods: readonly Method[],
  cfg: Config,
  history: History,
  say: Progress = () => {},
): Promise<CellResult> {
  const tag = `${w.id} ${inst.description}`;
  const hand = w.hand(inst.x, inst.data);

  say(`${tag}: plain f (warm-up)`);
  const plain = await plainMethod.prepare(w, inst);
  let t0 = performance.now();
  consume(plain.run());
  const plainEst = warmUp(plain, cfg.warmupMs, performance.now() - t0, cfg.targetMs);
  const plainBatch = Math.max(1, Math.round(cfg.targetMs / plainEst));

  interface Active {
    m: Method;
    p: Prepared;
    batch: number;
    runs: number;
    ratios: number[];
    ms: number[];
    result: MethodResult;
  }
  const active: Active[] = [];
  const results: MethodResult[] = [];
  let tape: TapeInfo | undefined;

  for (const m of methods) {
    const result: MethodResult = { id: m.id, label: m.label, status: 'ok' };
    results.push(result);
    if (m.cost === 'per-input') {
      const k = history.get(m.id) ?? FIRST_GUESS[m.id] ?? 2;
      const predicted = k * inst.n * plainEst;
      if (predicted > cfg.maxCallMs) {
        result.status = 'skipped';
        result.predictedMs = predicted;
        result.reason = `predicted ${formatMs(predicted)} per gradient > ${formatMs(cfg.maxCallMs)} budget`;
        continue;
      }
    }
    say(`${tag}: ${m.label} (warm-up)`);
    let p: Prepared | undefined;
    try {
      p = await m.prepare(w, inst);
      p.enter?.();
      t0 = performance.now();
      const g = p.run();
      const first = performance.now() - t0;
      if (typeof g === 'number') throw new Error('returned a number, not a gradient');
      result.error = relError(g, hand);
      if (cfg.keepGradients) result.gradient = Array.from(g);
      const perCall = warmUp(p, cfg.warmupMs, first, cfg.targetMs);
      const batch = Math.max(1, Math.round(cfg.targetMs / perCall));
      const sample = batch * perCall;
      const runs = sample <= cfg.targetMs * 1.5
        ? cfg.runs
        : Math.max(cfg.minRuns, Math.min(cfg.runs, Math.floor(cfg.slowBudgetMs / sample)));
      if (p.tape) tape = p.tape();
      active.push({ m, p, batch, runs, ratios: [], ms: [], result });
    } catch (e) {
      result.status = 'failed';
      result.reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
      p?.dispose?.();
    }
  }

  // Paired, interleaved samples: in round r each method still running is timed
  // right after a fresh sample of plain f; the order rotates every round.
  const plainSamples: number[] = [];
  const rounds = Math.max(0, ...active.map((a) => a.runs));
  for (let r = 0; r < rounds; r++) {
    const order = active.filter((a) => r < a.runs);
    const shift = r % Math.max(1, order.length);
    const rotated = [...order.slice(shift), ...order.slice(0, shift)];
    say(`${tag}: run ${r + 1}/${rounds} (${rotated.map((a) => a.m.label).join(', ')})`);
    for (const a of rotated) {
      if (a.result.status === 'failed') continue;
      const base = timeBatch(plain, plainBatch);
      let ms: number;
      try {
        ms = timeBatch(a.p, a.batch);
      } catch (e) {
        a.result.status = 'failed';
        a.result.reason = `run ${r + 1}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
        continue;
      }
      plainSamples.push(base);
      a.ratios.push(ms / base);
      a.ms.push(ms);
    }
  }
  if (plainSamples.length === 0) plainSamples.push(timeBatch(plain, plainBatch));

  for (const a of active) {
    if (a.result.status === 'failed') {
      a.p.dispose?.();
      continue;
    }
    a.result.ratio = stat(a.ratios);
    a.result.ms = stat(a.ms);
    a.result.runs = a.runs;
    a.result.callsPerSample = a.batch;
    a.p.dispose?.();
  }
  plain.dispose?.();
  const plainMs = stat(plainSamples);

  for (const a of active) {
    if (a.m.cost === 'per-input' && a.result.status === 'ok') history.set(a.m.id, a.result.ms!.median / (inst.n * plainMs.median));
  }

  const cell: CellResult = {
    workload: w.id,
    title: w.title,
    key: inst.key,
    n: inst.n,
    ops: inst.ops,
    description: inst.description,
    plainMs,
    methods: results,
  };
  if (tape) cell.tape = tape;
  return cell;
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  return `${(ms * 1000).toPrecision(3)} µs`;
}
