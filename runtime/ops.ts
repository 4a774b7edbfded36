/**
 * `dualtape/ops`: the names the Babel plugin's output calls. Not for users:
 * the plugin maps each operator and `Math.*` call to one of these, and the
 * derivative itself always comes from `rules.ts` through the engine.
 */
import { Active, Dual, ReverseTrace, TapeVar, value } from './active.js';
import type { Trace } from './active.js';
import type { Num } from './core-types.js';
import * as E from './engine.js';
import { callable, compiled, methodOf, receiverOf, register, registerMethods, unboundMethod } from './registry.js';

export {
  add, sub, mul, div, mod, pow, neg, atan2,
  sqrt, cbrt, exp, expm1, log, log1p, log2, log10, sin, cos, tan, asin, acos, atan,
  sinh, cosh, tanh, asinh, acosh, atanh, abs, fround, hypot, max, min,
  floor, ceil, round, trunc, sign,
} from './engine.js';
export { value, callable, compiled, methodOf, receiverOf, register, registerMethods, unboundMethod };
export { truthy, number, parsed, search, method, newKeyed, size, predicateArg } from './natives.js';
export { isView, isArray } from './typed.js';
// The adjoint tier (generated adjoint code, see plugin/adjoint/): its stacks, partial helpers and registration.
export { $S, reserve } from './adjoint/stack.js';
export { adjUnary, adjBinary, adjVariadic } from './adjoint/partials.js';
export { registerAdjoint, registerTape } from './adjoint/entry.js';

// Math functions passed around as values (`xs.map(Math.exp)`, `const { sin } = Math`)
// resolve to their differentiable versions through the registry.
const mathPairs: [Function, Function][] = [
  [Math.sqrt, E.sqrt], [Math.cbrt, E.cbrt], [Math.exp, E.exp], [Math.expm1, E.expm1],
  [Math.log, E.log], [Math.log1p, E.log1p], [Math.log2, E.log2], [Math.log10, E.log10],
  [Math.sin, E.sin], [Math.cos, E.cos], [Math.tan, E.tan], [Math.asin, E.asin],
  [Math.acos, E.acos], [Math.atan, E.atan], [Math.sinh, E.sinh], [Math.cosh, E.cosh],
  [Math.tanh, E.tanh], [Math.asinh, E.asinh], [Math.acosh, E.acosh], [Math.atanh, E.atanh],
  [Math.abs, E.abs], [Math.fround, E.fround], [Math.hypot, E.hypot], [Math.max, E.max],
  [Math.min, E.min], [Math.floor, E.floor], [Math.ceil, E.ceil], [Math.round, E.round],
  [Math.trunc, E.trunc], [Math.sign, E.sign], [Math.pow, E.pow], [Math.atan2, E.atan2],
];
for (const [m, d] of mathPairs) register(m, d);

/** Unary `+x`: keeps a derivative-carrying value as it is, converts anything else. */
export function pos(x: unknown): Num {
  return typeof x === 'number' || x instanceof Active ? x : +(x as number);
}

/**
 * Binary `+`, which is also string concatenation: a string operand
 * concatenates (an Active shows its value), as in JS.
 */
export function plus(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a instanceof Active || b instanceof Active) {
    if (typeof a === 'string' || typeof b === 'string' || isObject(a) || isObject(b)) {
      return String(a) + String(b);
    }
    return E.add(a as Num, b as Num);
  }
  return (a as number) + (b as number);
}

function isObject(x: unknown): boolean {
  return x !== null && typeof x === 'object' && !(x instanceof Active);
}

// ---------------------------------------------------------------------------
// Comparisons, equality and truthiness look at the plain value, so branches
// on differentiable values take the same path as the original code.
// ---------------------------------------------------------------------------

export const lt = (a: unknown, b: unknown): boolean => (value(a) as number) < (value(b) as number);
export const le = (a: unknown, b: unknown): boolean => (value(a) as number) <= (value(b) as number);
export const gt = (a: unknown, b: unknown): boolean => (value(a) as number) > (value(b) as number);
export const ge = (a: unknown, b: unknown): boolean => (value(a) as number) >= (value(b) as number);
export const eq = (a: unknown, b: unknown): boolean => value(a) === value(b);
export const ne = (a: unknown, b: unknown): boolean => value(a) !== value(b);
// eslint-disable-next-line eqeqeq
export const looseEq = (a: unknown, b: unknown): boolean => value(a) == value(b);
// eslint-disable-next-line eqeqeq
export const looseNe = (a: unknown, b: unknown): boolean => value(a) != value(b);

/** `typeof x` is 'number' for a differentiable value. */
export function typeOf(x: unknown): string {
  return x instanceof Active ? 'number' : typeof x;
}

/** `arr.sort(cmp)`: the comparator's result is consumed by native code, so pass it the value. */
export function comparator<T>(cmp: ((a: T, b: T) => unknown) | undefined): ((a: T, b: T) => number) | undefined {
  if (typeof cmp !== 'function') return cmp;
  const fn = callable(cmp);
  return (a, b) => value(fn(a, b));
}

// ---------------------------------------------------------------------------
// Statement-level fast path. For an arithmetic expression the plugin
// computes the value and the partial derivatives with respect to each leaf
// in plain JS (from the same rule table, at build time), then records one
// tape node (reverse) or one tangent (forward) for the whole expression.
// `join` decides whether that is allowed: 0 = every leaf so far is a plain
// number; a trace = every derivative-carrying leaf is a first-level value
// (plain-number value and tangent) of that one live trace; 1 = anything
// else (nested derivatives, strings, undefined, ...): the generic path.
// Compiled code reads `.v` of a leaf only after join returned a trace.
// ---------------------------------------------------------------------------

type Join = 0 | 1 | Trace;

export function join(T: Join, x: unknown): Join {
  if (typeof x === 'number') return T;
  if (T === 1) return 1;
  if (x instanceof TapeVar) {
    if (typeof x.v !== 'number' || !x.tr.alive) return 1;
  } else if (x instanceof Dual) {
    if (typeof x.v !== 'number' || (typeof x.t !== 'number' && !Array.isArray(x.t)) || !x.tr.alive) return 1;
  } else {
    return 1;
  }
  return T === 0 || T === x.tr ? x.tr : 1;
}

/** The result `z` of a preaccumulated expression with one derivative-carrying leaf. */
export function emit1(T: Join, z: number, a: unknown, pa: number): unknown {
  if (T === 0 || typeof a === 'number' || pa === 0) return z;
  if (T instanceof ReverseTrace) {
    T.reserve(1);
    const e = T.edgeCount;
    T.parents[e] = (a as TapeVar).i;
    T.partials[e] = pa;
    T.edgeCount = e + 1;
    return T.node(z, 'expr');
  }
  const at = (a as Dual).t;
  if (at === 0) return z; // zero tangent: contributes nothing (0 × ∞ = 0)
  if (Array.isArray(at)) return chunk1(T, z, at, pa);
  const t = pa * (at as number);
  return t === 0 ? z : new Dual(z, t, T as never);
}

/**
 * Chunked forward mode, one and two leaves: the tangent vector p·t (+ q·u).
 * A finite partial times a zero entry is 0 by itself; only an infinite or NaN
 * partial needs the zero check of the 0 × ∞ = 0 convention.
 */
function chunk1(T: Join, z: number, t: number[], p: number): unknown {
  const out = new Array<number>(t.length);
  if (Number.isFinite(p)) for (let c = 0; c < t.length; c++) out[c] = p * t[c]!;
  else for (let c = 0; c < t.length; c++) out[c] = t[c] === 0 ? 0 : p * t[c]!;
  return new Dual(z, out, T as never);
}

function chunk2(T: Join, z: number, t: number[], p: number, u: number[], q: number): unknown {
  const out = new Array<number>(t.length);
  if (Number.isFinite(p) && Number.isFinite(q)) for (let c = 0; c < t.length; c++) out[c] = p * t[c]! + q * u[c]!;
  else for (let c = 0; c < t.length; c++) out[c] = (t[c] === 0 ? 0 : p * t[c]!) + (u[c] === 0 ? 0 : q * u[c]!);
  return new Dual(z, out, T as never);
}

/**
 * Chunked forward mode: the tangent vector Σ p_k t_k, one entry per
 * direction, each summed with compensation (see psum).
 */
function chunk(T: Join, z: number, ls: unknown[], ps: number[]): unknown {
  let out: number[] | undefined;
  let comp: number[] | undefined;
  for (let k = 0; k < ls.length; k++) {
    const l = ls[k];
    const p = ps[k]!;
    if (typeof l === 'number' || p === 0) continue;
    const t = (l as Dual).t as number[];
    out ??= new Array<number>(t.length).fill(0);
    comp ??= new Array<number>(t.length).fill(0);
    for (let c = 0; c < t.length; c++) {
      if (t[c] === 0) continue;
      const s = out[c]!;
      const x = p * t[c]!;
      const u = s + x;
      comp[c]! += Math.abs(s) >= Math.abs(x) ? s - u + x : x - u + s;
      out[c] = u;
    }
  }
  if (out === undefined) return z;
  for (let c = 0; c < out.length; c++) {
    const r = out[c]! + comp![c]!;
    if (comp![c] !== 0 && r === r) out[c] = r;
  }
  return new Dual(z, out, T as never);
}

/** x + y + z, compensated (see psum). */
function sum3(x: number, y: number, z: number): number {
  const s = x + y;
  const t = s + z;
  const comp = (Math.abs(x) >= Math.abs(y) ? x - s + y : y - s + x) + (Math.abs(s) >= Math.abs(z) ? s - t + z : z - t + s);
  if (comp === 0) return t;
  const r = t + comp;
  return r === r ? r : t;
}

export function emit2(T: Join, z: number, a: unknown, pa: number, b: unknown, pb: number): unknown {
  if (T === 0) return z;
  if (typeof a === 'number' || pa === 0) return emit1(T, z, b, pb);
  if (typeof b === 'number' || pb === 0) return emit1(T, z, a, pa);
  if (T instanceof ReverseTrace) {
    T.reserve(2);
    const e = T.edgeCount;
    const parents = T.parents;
    const partials = T.partials;
    parents[e] = (a as TapeVar).i;
    partials[e] = pa;
    parents[e + 1] = (b as TapeVar).i;
    partials[e + 1] = pb;
    T.edgeCount = e + 2;
    return T.node(z, 'expr');
  }
  const at = (a as Dual).t as number;
  const bt = (b as Dual).t as number;
  if (Array.isArray(at) && Array.isArray(bt)) return chunk2(T, z, at, pa, bt, pb);
  const t = (at === 0 ? 0 : pa * at) + (bt === 0 ? 0 : pb * bt);
  return t === 0 ? z : new Dual(z, t, T as never);
}

export function emit3(T: Join, z: number, a: unknown, pa: number, b: unknown, pb: number, c: unknown, pc: number): unknown {
  if (T === 0) return z;
  if (typeof c === 'number' || pc === 0) return emit2(T, z, a, pa, b, pb);
  if (typeof a === 'number' || pa === 0) return emit2(T, z, b, pb, c, pc);
  if (typeof b === 'number' || pb === 0) return emit2(T, z, a, pa, c, pc);
  if (T instanceof ReverseTrace) {
    T.reserve(3);
    const e = T.edgeCount;
    const parents = T.parents;
    const partials = T.partials;
    parents[e] = (a as TapeVar).i;
    partials[e] = pa;
    parents[e + 1] = (b as TapeVar).i;
    partials[e + 1] = pb;
    parents[e + 2] = (c as TapeVar).i;
    partials[e + 2] = pc;
    T.edgeCount = e + 3;
    return T.node(z, 'expr');
  }
  const at = (a as Dual).t as number;
  const bt = (b as Dual).t as number;
  const ct = (c as Dual).t as number;
  if (typeof at !== 'number' || typeof bt !== 'number' || typeof ct !== 'number') return chunk(T, z, [a, b, c], [pa, pb, pc]);
  const t = sum3(at === 0 ? 0 : pa * at, bt === 0 ? 0 : pb * bt, ct === 0 ? 0 : pc * ct);
  return t === 0 ? z : new Dual(z, t, T as never);
}

/**
 * The partial of a preaccumulated expression with respect to a leaf that
 * occurs in it several times: the sum of one term per occurrence (three or
 * more), compensated (Neumaier). Summed plainly, the terms 3, 1e100 and
 * -1e100 of `3 * a + a / Math.abs(a)` at a = -1e-100 give 0, not 3; the
 * generic path (and forward mode there) cancels the large terms inside the
 * division first. An infinite term makes the compensation NaN: then the
 * plain sum is the answer.
 */
export function psum(...cs: number[]): number {
  let s = cs[0]!;
  let comp = 0;
  for (let k = 1; k < cs.length; k++) {
    const c = cs[k]!;
    const t = s + c;
    comp += Math.abs(s) >= Math.abs(c) ? s - t + c : c - t + s;
    s = t;
  }
  if (comp === 0) return s;
  const r = s + comp;
  return r === r ? r : s;
}

/** `join` of two and three leaves at once. */
export function join2(T: Join, a: unknown, b: unknown): Join {
  if (typeof a === 'number' && typeof b === 'number') return T;
  // The common case in reverse mode: both are first-level values of one live tape.
  if (a instanceof TapeVar && b instanceof TapeVar) {
    const tr = a.tr;
    if (b.tr === tr && (T === 0 || T === tr) && tr.alive && typeof a.v === 'number' && typeof b.v === 'number') return tr;
  }
  return join(join(T, a), b);
}
export function join3(T: Join, a: unknown, b: unknown, c: unknown): Join {
  if (typeof a === 'number' && typeof b === 'number' && typeof c === 'number') return T;
  if (a instanceof TapeVar && b instanceof TapeVar && c instanceof TapeVar) {
    const tr = a.tr;
    if (b.tr === tr && c.tr === tr && (T === 0 || T === tr) && tr.alive &&
        typeof a.v === 'number' && typeof b.v === 'number' && typeof c.v === 'number') return tr;
  }
  return join(join(join(T, a), b), c);
}

/** Any number of leaves: `ls[k]` with partial `ps[k]`. */
export function emitN(T: Join, z: number, ls: unknown[], ps: number[]): unknown {
  if (T === 0) return z;
  if (T instanceof ReverseTrace) {
    let edges = 0;
    for (let k = 0; k < ls.length; k++) {
      const l = ls[k];
      if (typeof l === 'number' || ps[k] === 0) continue;
      T.edge((l as TapeVar).i, ps[k]!);
      edges++;
    }
    return edges === 0 ? z : T.node(z, 'expr');
  }
  if (ls.some((l) => l instanceof Dual && Array.isArray(l.t))) return chunk(T, z, ls, ps);
  const terms: number[] = [];
  for (let k = 0; k < ls.length; k++) {
    const l = ls[k];
    if (typeof l === 'number' || ps[k] === 0) continue;
    const lt = (l as Dual).t as number;
    if (lt !== 0) terms.push(ps[k]! * lt);
  }
  const t = terms.length === 0 ? 0 : psum(...terms);
  return t === 0 ? z : new Dual(z, t, T as never);
}

// Generated forward-mode code (plugin/tangent/) calls these.
export { registerTangent, tangentLanes, tangentOut, tangentPartial2, tangentPartialN, tangentZeros, tangentZerosLike } from './tangent.js';
// Switching the generated code off and asking whether it exists (tests, benchmarks; not for users).
export { hasTangentCode, setTangentTier } from './tangent.js';
