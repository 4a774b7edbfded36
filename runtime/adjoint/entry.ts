/**
 * The adjoint tier at run time: which functions have generated adjoint code,
 * and running it for `grad`/`valueAndGrad`.
 *
 * For a function it could compile, the plugin emits per *activity variant*
 * (which parameters carry derivatives) a forward function (the original
 * statements on plain numbers, plus pushes on the stacks of stack.ts) and a
 * reverse function (the statements mirrored bottom-up, accumulating
 * adjoints), and registers them here. Everything else stays on the tape, with
 * the reason recorded, so `tierOf(f)` can say which tier runs and why.
 */
import { tracesOpen } from '../active.js';
import { $S } from './stack.js';
import { unguarded } from '../registry.js';
import { setTangentTier } from '../tangent.js';

/** How a parameter is seen by the generated code: a number, an array of numbers, an array of arrays, or data. */
export type ParamKind = 'number' | 'array' | 'array2' | 'data';

export interface AdjointVariant {
  /** Bit k set: parameter k is active in this variant. */
  readonly mask: number;
  readonly fwd: (...args: unknown[]) => unknown;
  readonly rev: (...args: unknown[]) => void;
}

export interface AdjointInfo {
  readonly name: string;
  readonly params: readonly ParamKind[];
  readonly variants: readonly AdjointVariant[];
}

export interface TierInfo {
  readonly tier: 'adjoint' | 'tape';
  /** Why the tape runs (empty for the adjoint tier). */
  readonly reason: string;
}

const adjoints = new WeakMap<Function, AdjointInfo>();
const fallbacks = new WeakMap<Function, string>();

/** Called by the plugin's output: `f` (its compiled version) has adjoint code. Returns `f`. */
export function registerAdjoint<F extends Function>(f: F, name: string, params: ParamKind[], variants: AdjointVariant[]): F {
  adjoints.set(f, { name, params, variants });
  return f;
}

/** Called by the plugin's output: `f` runs on the tape, for this reason. Returns `f`. */
export function registerTape<F extends Function>(f: F, reason: string): F {
  fallbacks.set(f, reason);
  return f;
}

export function adjointOf(f: Function): AdjointInfo | undefined {
  return adjoints.get(unguarded(f));
}

export function tapeReasonOf(f: Function): string | undefined {
  return fallbacks.get(unguarded(f));
}

const env = typeof process !== 'undefined' && process.env ? process.env : {};
let forcedTape = env.DUALTAPE_TIER === 'tape';

/**
 * Forces the tape tier for every gradient (as `DUALTAPE_TIER=tape` does), or
 * lifts that ('auto': the adjoint tier wherever it applies). Returns the
 * previous setting, so a caller can restore it.
 */
export function setTier(tier: 'auto' | 'tape'): 'auto' | 'tape' {
  if (tier !== 'auto' && tier !== 'tape') throw new TypeError(`dualtape: setTier takes 'auto' or 'tape', got ${String(tier)}.`);
  const was = forcedTape ? 'tape' : 'auto';
  forcedTape = tier === 'tape';
  // Both generated tiers (adjoint code and tangent code) or neither, as DUALTAPE_TIER=tape does.
  setTangentTier(!forcedTape);
  return was;
}

export function tapeForced(): boolean {
  return forcedTape;
}

/** Is every leaf of `x` a plain number, with the shape the generated code expects? */
function fits(x: unknown, kind: ParamKind): boolean {
  if (kind === 'number') return typeof x === 'number';
  if (kind === 'data') return false;
  if (x instanceof Float64Array || x instanceof Float32Array) return kind === 'array';
  if (!Array.isArray(x)) return false;
  if (kind === 'array') {
    for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number') return false;
    return true;
  }
  for (let i = 0; i < x.length; i++) if (!fits(x[i], 'array')) return false;
  return true;
}

/**
 * Why this call cannot run on the adjoint code (undefined when it can).
 * `which` lists the differentiated arguments.
 */
export function adjointRefusal(info: AdjointInfo, self: unknown, args: readonly unknown[], which: readonly number[]): string | undefined {
  if (forcedTape) return 'DUALTAPE_TIER=tape';
  if (tracesOpen() !== 0) return 'an outer derivative is being taken (nested derivatives run on the tape)';
  if (self !== undefined && self !== null && typeof self === 'object') return 'called with a `this`';
  if (args.length !== info.params.length) return `called with ${args.length} argument(s), declared with ${info.params.length}`;
  for (const k of which) {
    const kind = info.params[k]!;
    if (kind === 'data') return `argument ${k} is not a number or an array of numbers in the compiled code`;
    if (!fits(args[k], kind)) return `argument ${k} does not have the shape the compiled code expects (${kind})`;
  }
  // The reverse sweep reads data arguments again (it recomputes partials such as 2·data.scale·x[i]
  // instead of saving them): only values that read the same twice may go there.
  for (let k = 0; k < args.length; k++) {
    if (which.includes(k)) continue;
    const why = unstable(args[k], `argument ${k}`, 0);
    if (why !== undefined) return why;
  }
  return undefined;
}

/**
 * Why reading `x` twice could give two values (undefined: it cannot): a getter, a proxy-like or
 * class instance (whose getters live on its prototype), anywhere inside plain objects and arrays.
 */
function unstable(x: unknown, path: string, depth: number): string | undefined {
  if (x === null || typeof x !== 'object') return undefined;
  if (x instanceof Float64Array || x instanceof Float32Array) return undefined;
  if (depth > 8) return `${path} is nested too deeply to check that it reads the same twice`;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      if (e !== null && typeof e === 'object') {
        const why = unstable(e, `${path}[${i}]`, depth + 1);
        if (why !== undefined) return why;
      }
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return `${path} is not a plain object (a getter on its class could change between the sweeps)`;
  const descriptors = Object.getOwnPropertyDescriptors(x);
  for (const key of Object.keys(descriptors)) {
    const d = descriptors[key]!;
    if (d.get !== undefined || d.set !== undefined) return `${path}.${key} is a getter (it could change between the sweeps)`;
    const why = unstable(d.value, `${path}.${key}`, depth + 1);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** The variant to run: exactly the differentiated arguments, else the smallest one that covers them. */
function variantFor(info: AdjointInfo, which: readonly number[]): AdjointVariant | undefined {
  let mask = 0;
  for (const k of which) mask |= 1 << k;
  let best: AdjointVariant | undefined;
  for (const v of info.variants) {
    if ((v.mask & mask) !== mask) continue;
    if (best === undefined || popcount(v.mask) < popcount(best.mask)) best = v;
  }
  return best;
}

function popcount(m: number): number {
  let n = 0;
  for (; m; m &= m - 1) n++;
  return n;
}

/**
 * The adjoint array of an argument, which is also its gradient: a Float64Array
 * for a typed array, a plain array of zeros for number[] (accumulating into it
 * directly costs less than a Float64Array copied into a number[] afterwards).
 */
function shadowOf(x: unknown, kind: ParamKind): unknown {
  if (kind === 'array') {
    const n = (x as ArrayLike<number>).length;
    return Array.isArray(x) ? new Array<number>(n).fill(0) : new Float64Array(n);
  }
  const rows = x as ArrayLike<number>[];
  const out = new Array<unknown>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = shadowOf(rows[i], 'array');
  return out;
}

/**
 * One gradient through the adjoint code: forward sweep, reverse sweep seeded
 * with 1, gradients of the arguments in `which`. `check` validates the
 * result exactly as the tape tier does. Returns undefined when no variant fits.
 */
export function runAdjoint(
  info: AdjointInfo,
  args: readonly unknown[],
  which: readonly number[],
  check: (out: unknown) => number,
): [number, unknown[]] | undefined {
  const variant = variantFor(info, which);
  if (variant === undefined) return undefined;
  const params = info.params;
  const n = params.length;
  const call = new Array<unknown>(2 * n + 1);
  for (let k = 0; k < n; k++) {
    call[k] = args[k];
    const active = (variant.mask >> k) & 1;
    call[n + k] = active && params[k] !== 'number' ? shadowOf(args[k], params[k]!) : undefined;
  }
  const fp = $S.fp, ip = $S.ip, op = $S.op;
  try {
    call[2 * n] = undefined;
    const value = check(variant.fwd.apply(undefined, call));
    call[2 * n] = 1;
    variant.rev.apply(undefined, call);
    // Scalar adjoints come back in $S.out, in parameter order.
    const grads = which.map((k) => (params[k] === 'number' ? $S.out[k]! : call[n + k]));
    return [value, grads];
  } finally {
    $S.fp = fp;
    $S.ip = ip;
    // Drop references the forward sweep saved, so they can be collected.
    for (let i = op; i < $S.op; i++) $S.O[i] = undefined;
    $S.op = op;
  }
}

/** Which tier a gradient of `f` (the compiled version) runs on, and why. */
export function tierOfCompiled(guardedFc: Function): TierInfo {
  const fc = unguarded(guardedFc);
  if (forcedTape && adjoints.has(fc)) return { tier: 'tape', reason: 'DUALTAPE_TIER=tape' };
  if (adjoints.has(fc)) return { tier: 'adjoint', reason: '' };
  return { tier: 'tape', reason: fallbacks.get(fc) ?? 'the plugin emitted no adjoint code for this function' };
}
