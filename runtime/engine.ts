/**
 * The engine: applies a rule from `rules.ts` to operands that may carry
 * derivatives, in forward mode (tangent = Σ partial × tangent) or reverse
 * mode (record a tape node with its partials), and sweeps the tape backwards.
 *
 * Every generic operation has a fast path: when all operands are plain
 * numbers it is the plain JS operation and nothing else.
 *
 * Zero convention: a zero partial, tangent or adjoint contributes nothing
 * (0 × ∞ = 0), in both modes. So `sqrt(x)` at 0 (partial +∞) does not turn
 * the derivatives of unrelated inputs into NaN, and forward and reverse mode
 * agree at such points.
 */
import { Active, Dual, ForwardTrace, ReverseTrace, TapeVar, escapedError, tracesOpen, value } from './active.js';
import type { Tangent } from './active.js';
import type { Trace } from './active.js';
import type { Adjoints, Kernel, Num } from './core-types.js';
import { binaryRules, piecewiseConstant, unaryRules, variadicRules } from './rules.js';
import type { BinaryRule, UnaryRule, VariadicRule } from './rules.js';

function owner(x: Active): Trace {
  const tr = x.tr;
  if (!tr.alive && !tr.recordsOps) throw escapedError();
  return tr;
}

/**
 * The zero convention for values that carry outer derivatives: a factor whose
 * value is 0 against one whose value is infinite (or NaN) contributes nothing,
 * as plain 0 × ∞ does. (A zero-valued factor against a finite one is kept: its
 * outer derivative can matter.)
 */
function zeroTimesInfinite(p: Num, q: Num | Float64Array | number[]): boolean {
  if (typeof p === 'number' && typeof q === 'number') return false; // plain numbers are handled by the callers
  if (!(p instanceof Active) && !(q instanceof Active)) return false;
  const pv = value(p);
  const qv = value(q as Num);
  return (pv === 0 && !Number.isFinite(qv)) || (qv === 0 && !Number.isFinite(pv));
}

/** Operands of arithmetic that are neither numbers nor Actives follow JS's ToNumber. */
function toNum(x: unknown): Num {
  return x instanceof Active ? x : Number(x);
}

/** Records a reverse-mode node for `z` with one edge. A zero partial means no edge (0 × ∞ = 0). */
function record1(tr: ReverseTrace, z: Num, parent: number, partial: Num, op: string): Num {
  if (partial === 0) return z; // constant at this level
  tr.edge(parent, partial);
  return tr.node(z, op);
}

function record2(tr: ReverseTrace, z: Num, pa: number, da: Num, pb: number, db: Num, op: string): Num {
  if (da === 0) return record1(tr, z, pb, db, op);
  if (db === 0) return record1(tr, z, pa, da, op);
  tr.edge(pa, da);
  tr.edge(pb, db);
  return tr.node(z, op);
}

export function apply1(rule: UnaryRule, op: (x: Num) => Num, x: Active): Num {
  const tr = owner(x);
  const xv = x.v;
  const z = op(xv);
  if (tr instanceof ForwardTrace) {
    const t = (x as Dual).t;
    if (t === 0) return z;
    const p = rule.d(kernel, xv, z);
    if (p === 0 || zeroTimesInfinite(p, t as Num)) return z;
    return new Dual(z, scaleT(p, t), tr);
  }
  return record1(tr as ReverseTrace, z, (x as TapeVar).i, rule.d(kernel, xv, z), rule.name);
}

export function apply2(rule: BinaryRule, op: (x: Num, y: Num) => Num, a: unknown, b: unknown): Num {
  const an = toNum(a);
  const bn = toNum(b);
  const ta = an instanceof Active ? owner(an) : undefined;
  const tb = bn instanceof Active ? owner(bn) : undefined;
  // Neither carries a derivative (e.g. `undefined * 2`): plain JS arithmetic.
  if (ta === undefined && tb === undefined) return op(an, bn);
  const tr = ta === undefined ? tb! : tb === undefined || ta.id > tb.id ? ta : tb;
  const aIn = ta === tr;
  const bIn = tb === tr;
  const av = aIn ? (an as Active).v : an;
  const bv = bIn ? (bn as Active).v : bn;
  const z = op(av, bv);
  if (tr instanceof ForwardTrace) {
    let t: Tangent = 0;
    if (aIn) {
      const ta2 = (an as Dual).t;
      if (ta2 !== 0) {
        const p = rule.dx(kernel, av, bv, z);
        if (p !== 0 && !zeroTimesInfinite(p, ta2 as Num)) t = scaleT(p, ta2);
      }
    }
    if (bIn) {
      const tb2 = (bn as Dual).t;
      if (tb2 !== 0) {
        const p = rule.dy(kernel, av, bv, z);
        if (p !== 0 && !zeroTimesInfinite(p, tb2 as Num)) t = t === 0 ? scaleT(p, tb2) : addScaledT(t, p, tb2);
      }
    }
    return t === 0 ? z : new Dual(z, t, tr);
  }
  const rt = tr as ReverseTrace;
  if (aIn && bIn) {
    return record2(rt, z, (an as TapeVar).i, rule.dx(kernel, av, bv, z), (bn as TapeVar).i, rule.dy(kernel, av, bv, z), rule.name);
  }
  if (aIn) return record1(rt, z, (an as TapeVar).i, rule.dx(kernel, av, bv, z), rule.name);
  return record1(rt, z, (bn as TapeVar).i, rule.dy(kernel, av, bv, z), rule.name);
}

export function applyN(rule: VariadicRule, op: (...xs: Num[]) => Num, xs: readonly unknown[]): Num {
  const ns = xs.map(toNum);
  let tr: Trace | undefined;
  for (const x of ns) {
    if (x instanceof Active) {
      const t = owner(x);
      if (tr === undefined || t.id > tr.id) tr = t;
    }
  }
  if (tr === undefined) return op(...ns);
  const vals = ns.map((x) => (x instanceof Active && x.tr === tr ? x.v : x));
  const z = op(...vals);
  const ps = rule.d(kernel, vals, z);
  if (tr instanceof ForwardTrace) {
    let t: Tangent = 0;
    for (let k = 0; k < ns.length; k++) {
      const x = ns[k]!;
      if (!(x instanceof Dual) || x.tr !== tr || x.t === 0 || ps[k] === 0 || zeroTimesInfinite(ps[k]!, x.t as Num)) continue;
      t = t === 0 ? scaleT(ps[k]!, x.t) : addScaledT(t, ps[k]!, x.t);
    }
    return t === 0 ? z : new Dual(z, t, tr);
  }
  const rt = tr as ReverseTrace;
  let edges = 0;
  for (let k = 0; k < ns.length; k++) {
    const x = ns[k]!;
    if (x instanceof TapeVar && x.tr === rt && ps[k] !== 0) {
      rt.edge(x.i, ps[k]!);
      edges++;
    }
  }
  return edges === 0 ? z : rt.node(z, rule.name);
}

// ---------------------------------------------------------------------------
// Tangent arithmetic: a tangent is a number (or a nested value), or in
// chunked forward mode an array of numbers with one entry per direction. Chunks
// only exist when no other derivative is being taken, so their partials are
// plain numbers.
// ---------------------------------------------------------------------------

/** p × t */
function scaleT(p: Num, t: Tangent): Tangent {
  if (!Array.isArray(t)) return mul(p, t);
  const k = p as number;
  const out = new Array<number>(t.length);
  if (Number.isFinite(k)) for (let c = 0; c < t.length; c++) out[c] = k * t[c]!;
  else for (let c = 0; c < t.length; c++) out[c] = t[c] === 0 ? 0 : k * t[c]!;
  return out;
}

/** acc + p × t (acc is not zero) */
function addScaledT(acc: Tangent, p: Num, t: Tangent): Tangent {
  if (!Array.isArray(t) || !Array.isArray(acc)) return add(acc as Num, mul(p, t as Num));
  const k = p as number;
  const out = new Array<number>(t.length);
  for (let c = 0; c < t.length; c++) out[c] = acc[c]! + (t[c] === 0 ? 0 : k * t[c]!);
  return out;
}

// ---------------------------------------------------------------------------
// The generic operations. Each is the plain operation on numbers and falls
// back to the rule otherwise. add/sub/mul/div are written out by hand since
// they are the hottest.
// ---------------------------------------------------------------------------

export function add(a: Num, b: Num): Num {
  return typeof a === 'number' && typeof b === 'number' ? a + b : apply2(binaryRules.add, add, a, b);
}
export function sub(a: Num, b: Num): Num {
  return typeof a === 'number' && typeof b === 'number' ? a - b : apply2(binaryRules.sub, sub, a, b);
}
export function mul(a: Num, b: Num): Num {
  return typeof a === 'number' && typeof b === 'number' ? a * b : apply2(binaryRules.mul, mul, a, b);
}
export function div(a: Num, b: Num): Num {
  return typeof a === 'number' && typeof b === 'number' ? a / b : apply2(binaryRules.div, div, a, b);
}
export function mod(a: Num, b: Num): Num {
  return typeof a === 'number' && typeof b === 'number' ? a % b : apply2(binaryRules.mod, mod, a, b);
}
export function pow(a: Num, b: Num): Num {
  return typeof a === 'number' && typeof b === 'number' ? a ** b : apply2(binaryRules.pow, pow, a, b);
}
export function atan2(a: Num, b: Num): Num {
  return typeof a === 'number' && typeof b === 'number' ? Math.atan2(a, b) : apply2(binaryRules.atan2, atan2, a, b);
}
export function neg(a: Num): Num {
  if (typeof a === 'number') return -a;
  return a instanceof Active ? apply1(unaryRules.neg, neg, a) : -toNum(a);
}

type UnaryOp = (x: Num) => Num;
function unary(rule: UnaryRule): UnaryOp {
  const f = rule.f;
  const op: UnaryOp = (x) => {
    if (typeof x === 'number') return f(x);
    const n = toNum(x);
    return n instanceof Active ? apply1(rule, op, n) : f(n);
  };
  return op;
}

type VariadicOp = (...xs: Num[]) => Num;
function variadic(rule: VariadicRule): VariadicOp {
  const f = rule.f;
  const op: VariadicOp = (...xs) => {
    for (let k = 0; k < xs.length; k++) if (xs[k] instanceof Active) return applyN(rule, op, xs);
    return f(...(xs as number[]));
  };
  return op;
}

function piecewise(f: (x: number) => number): (x: Num) => number {
  return (x) => f(typeof x === 'number' ? x : value(x));
}

const u = unaryRules;
export const sqrt = unary(u.sqrt), cbrt = unary(u.cbrt), exp = unary(u.exp), expm1 = unary(u.expm1);
export const log = unary(u.log), log1p = unary(u.log1p), log2 = unary(u.log2), log10 = unary(u.log10);
export const sin = unary(u.sin), cos = unary(u.cos), tan = unary(u.tan);
export const asin = unary(u.asin), acos = unary(u.acos), atan = unary(u.atan);
export const sinh = unary(u.sinh), cosh = unary(u.cosh), tanh = unary(u.tanh);
export const asinh = unary(u.asinh), acosh = unary(u.acosh), atanh = unary(u.atanh);
export const abs = unary(u.abs), fround = unary(u.fround);
export const hypot = variadic(variadicRules.hypot), max = variadic(variadicRules.max), min = variadic(variadicRules.min);
export const floor = piecewise(piecewiseConstant.floor), ceil = piecewise(piecewiseConstant.ceil);
export const round = piecewise(piecewiseConstant.round), trunc = piecewise(piecewiseConstant.trunc);
export const sign = piecewise(piecewiseConstant.sign);

/** The kernel the rules compute their partials with. */
export const kernel: Kernel = { add, sub, mul, div, pow, neg, sqrt, log, sin, cos, sinh, cosh, sign, trunc, value };

// ---------------------------------------------------------------------------
// Reverse sweep
// ---------------------------------------------------------------------------

/**
 * A contribution partial × adjoint larger than this many times the largest
 * seed turns on compensated summation for the rest of the sweep.
 */
const LARGE_CONTRIBUTION = 2 ** 20;

/**
 * The sweep on plain numbers: adjoint[parent] += partial × adjoint, into a
 * Float64Array.
 *
 * From the first contribution that is large against the seeds on, the sums
 * are compensated (TwoSum): the rounding error of each addition into
 * adjoint[k] is kept in comp[k] and added back once every contribution is
 * in, when the sweep reaches node k. Why: a node's adjoint is a sum over
 * every path to the output, and those terms can be huge and cancel where
 * forward mode cancels them inside one operation. d/da [a / |a|] is
 * 1/|a| - a·sign(a)/|a|², two terms of 1e100 at a = 1e-100 that reach `a` by
 * two paths; the `+ a` of `grad(h)(a) + a` (h = |u|/2 written as
 * Math.hypot(u)/2 or Math.sqrt(u * u)/2) adds 1 to the same adjoint first.
 * Summed plainly, 1 + 5e99 - 5e99 is 0: a silently wrong gradient (forward
 * mode gives 1). Compensated, it is 1. Below the bound the plain sums round
 * by less than 2^-33 of the seeds' scale, and cost a third of the
 * compensated ones. An addition that overflows or meets a NaN has no finite
 * error term: nothing is kept for it.
 */
function numericSweep(tape: ReverseTrace, seeds: ReadonlyArray<readonly [node: number, adjoint: Num]>, top: number): Float64Array {
  const { parents, partials, ends, specials } = tape;
  const adjoint = new Float64Array(top + 1);
  let scale = 0;
  for (const [node, a] of seeds) {
    adjoint[node]! += a as number;
    scale = Math.max(scale, Math.abs(a as number));
  }
  const limit = scale * LARGE_CONTRIBUTION;
  let comp: Float64Array | undefined;
  const view: Adjoints | undefined = specials && {
    sweep: {},
    // nodes above the highest seed have adjoint 0
    get: (i) => (i > top ? 0 : comp === undefined || comp[i] === 0 ? adjoint[i]! : adjoint[i]! + comp[i]!),
    add: (i, c) => {
      if (comp === undefined) {
        if (!(Math.abs(c as number) > limit)) {
          adjoint[i]! += c as number;
          return;
        }
        comp = new Float64Array(top + 1);
      }
      accumulate(adjoint, comp, i, c as number);
    },
  };
  let node = top;
  // Plain sums, until a large contribution.
  for (; node >= 0 && comp === undefined; node--) {
    if (specials !== undefined) specials.get(node)?.(view!);
    const a = adjoint[node]!;
    if (a === 0) continue; // nothing flows back through this node
    const end = ends[node]!;
    for (let e = node === 0 ? 0 : ends[node - 1]!; e < end; e++) {
      const c = partials[e]! * a;
      if (Math.abs(c) > limit) {
        comp = new Float64Array(top + 1);
        for (; e < end; e++) accumulate(adjoint, comp, parents[e]!, partials[e]! * a);
        break;
      }
      adjoint[parents[e]!]! += c;
    }
  }
  if (comp === undefined) return adjoint;
  // Compensated sums for the rest.
  for (; node >= 0; node--) {
    if (specials !== undefined) specials.get(node)?.(view!);
    let a = adjoint[node]!;
    const ca = comp[node]!;
    if (ca !== 0) {
      a += ca;
      adjoint[node] = a;
      comp[node] = 0;
    }
    if (a === 0) continue;
    const end = ends[node]!;
    for (let e = node === 0 ? 0 : ends[node - 1]!; e < end; e++) {
      // accumulate(adjoint, comp, parents[e], partials[e] * a), inlined.
      const k = parents[e]!;
      const c = partials[e]! * a;
      const s = adjoint[k]!;
      const t = s + c;
      const b = t - s;
      const err = s - (t - b) + (c - b);
      adjoint[k] = t;
      if (err !== 0 && err === err) comp[k]! += err;
    }
  }
  // Nodes below the last one visited were all visited: every compensation is folded in.
  return adjoint;
}

/** adjoint[k] += c, keeping the rounding error (TwoSum) in comp[k]. */
function accumulate(adjoint: Float64Array, comp: Float64Array, k: number, c: number): void {
  const s = adjoint[k]!;
  const t = s + c;
  const b = t - s;
  const err = s - (t - b) + (c - b);
  adjoint[k] = t;
  if (err !== 0 && err === err) comp[k]! += err;
}

/**
 * Backpropagation on the tape: seeds the adjoints of the given nodes and
 * visits the nodes from the highest seed down to 0 (reverse topological
 * order), adding partial × adjoint into each parent. A node reached by
 * several paths (fan-out) receives the sum of all of them. Returns the
 * adjoint of every node up to the highest seed; adjoints are plain numbers
 * unless derivatives are nested.
 */
export function reverseSweep(tape: ReverseTrace, seeds: ReadonlyArray<readonly [node: number, adjoint: Num]>): ArrayLike<Num> {
  const { parents, partials, ends, nestedPartials, specials } = tape;
  let top = -1;
  // Plain numbers, unless a partial carries a derivative, or a checkpointed region (whose
  // recomputation may produce such values) runs while another derivative is being taken.
  let numeric = nestedPartials === undefined && (specials === undefined || (!tape.nestedSpecials && tracesOpen() <= 1));
  for (const [node, a] of seeds) {
    if (node > top) top = node;
    if (typeof a !== 'number') numeric = false;
  }
  // Plain numbers all the way: a Float64Array of adjoints.
  if (numeric) return numericSweep(tape, seeds, top);
  const adjoint: Num[] = new Array<Num>(top + 1).fill(0);
  for (const [node, a] of seeds) adjoint[node] = add(adjoint[node]!, a);
  const view: Adjoints = {
    sweep: {},
    get: (i) => adjoint[i] ?? 0,
    add: (i, c) => {
      adjoint[i] = add(adjoint[i]!, c);
    },
  };
  for (let node = top; node >= 0; node--) {
    specials?.get(node)?.(view);
    const a = adjoint[node]!;
    if (a === 0) continue;
    for (let e = node === 0 ? 0 : ends[node - 1]!; e < ends[node]!; e++) {
      const k = parents[e]!;
      const p = nestedPartials?.get(e) ?? partials[e]!;
      if (zeroTimesInfinite(p, a)) continue;
      adjoint[k] = add(adjoint[k]!, mul(p, a));
    }
  }
  return adjoint;
}
