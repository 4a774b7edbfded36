/**
 * Values that carry derivatives, and the traces they belong to.
 *
 * Every `grad`/`valueAndGrad` call (and every forward pass of one) opens a
 * fresh trace with a fresh, increasing id. A value carrying a derivative of
 * that trace is an `Active`: a `Dual` in forward mode (value + tangent), a
 * `TapeVar` in reverse mode (value + index of its node on the tape). Its
 * value `v` is a plain number, or an Active of an *older* (outer) trace when
 * derivatives are nested. Operations always work on the trace with the
 * highest id among their operands and treat older-trace operands as
 * constants: that is what keeps the derivatives of different levels apart
 * (no perturbation confusion), since a fresh id is taken per call, not per
 * function.
 *
 * When a call returns its trace is closed (`alive = false`). A value that
 * escaped it (through a closure or an outer variable) then fails loudly when
 * it is used in arithmetic instead of writing into someone else's tape.
 */
import type { Adjoints, Num } from './core-types.js';
import { otherCopiesNote } from './copies.js';
import { isCompiledName } from './registry.js';

let nextTraceId = 1;

/** How many traces are open right now (see `runForward`: chunking needs none but its own). */
let openTraces = 0;

export function tracesOpen(): number {
  return openTraces;
}

/** The traces open right now (a handful: one per nesting level). */
const open = new Set<Trace>();

/** Is a trace newer than `tr` open (a derivative taken inside the one `tr` records)? */
export function newerTraceOpen(tr: Trace): boolean {
  for (const t of open) if (t.id > tr.id) return true;
  return false;
}

/**
 * Structured copies (`structuredClone`, `postMessage`, `v8.serialize`) read
 * every own enumerable property of an object, getters included, and would
 * copy an Active as a plain object whose number has lost its derivative.
 * Every trace refers to this object, whose getter throws, so copying a value
 * that carries a derivative (which refers to its trace) fails loudly.
 */
const structuredCopyGuard = Object.defineProperty({}, 'dualtape', {
  enumerable: true,
  get(): never {
    throw new DualtapeError(
      'dualtape: a value that carries a derivative was given to a structured copy (structuredClone, ' +
        'postMessage, v8.serialize), which would copy its number and silently drop its derivative. ' +
        'Inside the differentiated function copy arrays with xs.slice() or [...xs] and objects with ' +
        '{ ...o } instead; to send or store just the numbers, copy stopGradient(x) (or the result, ' +
        'once the derivative has been taken).',
    );
  },
});

export abstract class Trace {
  readonly id: number = nextTraceId++;
  alive = true;
  /**
   * A graph recording (graph.ts) at operation level: `alive` is false while it
   * runs so that compiled code takes its generic path (one node per operation),
   * and this flag keeps its values usable.
   */
  recordsOps = false;
  /** See structuredCopyGuard. */
  readonly guard: object = structuredCopyGuard;

  constructor() {
    openTraces++;
    open.add(this);
  }

  /** Closes the trace: its values can no longer be used in arithmetic. */
  end(): void {
    if (!this.alive) return;
    this.alive = false;
    openTraces--;
    open.delete(this);
  }
}

/** Forward mode: nothing to record, tangents travel with the values. */
export class ForwardTrace extends Trace {}

/**
 * Reverse mode: the tape, in flat typed arrays grown by doubling (no object
 * per edge). Node k's incoming edges are `parents[e]`, `partials[e]` for `e`
 * in `[ends[k - 1], ends[k])`. Nodes are appended in evaluation order, which
 * is a topological order of the flow graph; the sweep (engine.ts) visits
 * them backwards. A partial that itself carries a derivative (nested
 * derivatives) is kept in `nestedPartials` with NaN in its slot.
 */
export class ReverseTrace extends Trace {
  parents: Int32Array;
  partials: Float64Array;
  ends: Int32Array;
  edgeCount = 0;
  size = 0;
  nestedPartials: Map<number, Num> | undefined = undefined;
  /**
   * Nodes with a backward step of their own, run when the sweep reaches them
   * (checkpointed regions recompute and backpropagate through their inputs).
   */
  specials: Map<number, (adjoints: Adjoints) => void> | undefined = undefined;
  /** A graph recording (graph.ts): checkpointed regions are recorded in full, so that the graph shows them. */
  inlineCheckpoints = false;
  /** A special node's backward step may add adjoints that carry derivatives (of outer levels). */
  nestedSpecials = false;

  constructor() {
    super();
    // Reuse the arrays of the last released tape: a gradient in a loop does not regrow them.
    const spare = spareArrays;
    spareArrays = undefined;
    this.parents = spare?.parents ?? new Int32Array(1024);
    this.partials = spare?.partials ?? new Float64Array(1024);
    this.ends = spare?.ends ?? new Int32Array(256);
  }

  /**
   * Closes the trace and hands its arrays to the next one. Only for tapes
   * nobody reads afterwards (grad's own tape, not a vjp pullback's).
   */
  release(): void {
    this.end();
    const big = spareArrays === undefined || spareArrays.partials.length < this.partials.length;
    if (big && this.partials.length <= MAX_SPARE_EDGES) {
      spareArrays = { parents: this.parents, partials: this.partials, ends: this.ends };
    }
    this.parents = EMPTY_I32;
    this.partials = EMPTY_F64;
    this.ends = EMPTY_I32;
  }

  /** Adds an edge to the node being built. */
  edge(parent: number, partial: Num): void {
    const e = this.edgeCount;
    if (e === this.parents.length) this.reserve(1);
    this.parents[e] = parent;
    if (typeof partial === 'number') {
      this.partials[e] = partial;
    } else {
      this.partials[e] = NaN;
      (this.nestedPartials ??= new Map()).set(e, partial);
    }
    this.edgeCount = e + 1;
  }

  /** Makes room for `n` more edges (for callers that write `parents`/`partials` directly). */
  reserve(n: number): void {
    const need = this.edgeCount + n;
    if (need <= this.parents.length) return;
    let size = Math.max(1024, this.parents.length * 2);
    while (size < need) size *= 2;
    this.parents = grow(this.parents, new Int32Array(size));
    this.partials = grow(this.partials, new Float64Array(size));
  }

  /** The value `z` of the operation `op` (a rule name, or 'expr' for a preaccumulated expression) as a node with the edges just added. */
  node(z: Num, _op: string): TapeVar {
    return new TapeVar(z, this.close(), this);
  }

  /** Closes the node whose edges were just added; returns its index. */
  close(): number {
    const k = this.size;
    if (k === this.ends.length) this.ends = grow(this.ends, new Int32Array(k * 2));
    this.ends[k] = this.edgeCount;
    this.size = k + 1;
    return k;
  }
}

/** Arrays kept for reuse: up to 2^22 edges (48 MiB); larger tapes are left to the GC. */
const MAX_SPARE_EDGES = 1 << 22;
const EMPTY_I32 = new Int32Array(0);
const EMPTY_F64 = new Float64Array(0);
let spareArrays: { parents: Int32Array; partials: Float64Array; ends: Int32Array } | undefined;

function grow<A extends Int32Array | Float64Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** The plain number under every level of derivative. */
export function value(x: unknown): number {
  while (x instanceof Active) x = x.v;
  return x as number;
}

export abstract class Active {
  abstract readonly v: Num;
  abstract readonly tr: Trace;

  /**
   * The language converts objects to numbers silently (`x * 2` in code the
   * plugin did not compile, `Math.sin(x)`, storing into a Float64Array).
   * That would drop the derivative without a sound, so it throws; only a
   * conversion to string (template literals, String(x), console output)
   * shows the value.
   */
  [Symbol.toPrimitive](hint: string): string | number {
    if (hint === 'string') return String(value(this));
    throw conversionError(this);
  }

  toString(): string {
    return String(value(this));
  }

  toFixed(digits?: number): string {
    return value(this).toFixed(digits);
  }

  toPrecision(precision?: number): string {
    return value(this).toPrecision(precision);
  }

  toExponential(digits?: number): string {
    return value(this).toExponential(digits);
  }

  /** JSON would round-trip the value without its derivative (JSON.parse(JSON.stringify(x))): refused. */
  toJSON(): never {
    throw conversionError(this);
  }

  [inspectSymbol](): string {
    return `${this instanceof Dual ? 'Dual' : 'TapeVar'}(${value(this)})`;
  }
}

/**
 * A tangent: one number, or (chunked forward mode, several directions per
 * pass) a plain array of numbers, one entry per direction (cheaper to
 * allocate than a typed array, and packed as doubles by V8). Chunks are only used
 * when no other derivative is being taken, so their entries are numbers.
 */
export type Tangent = Num | number[];

export class Dual extends Active {
  constructor(
    readonly v: Num,
    readonly t: Tangent,
    readonly tr: ForwardTrace,
  ) {
    super();
  }
}

export class TapeVar extends Active {
  constructor(
    readonly v: Num,
    readonly i: number,
    readonly tr: ReverseTrace,
  ) {
    super();
  }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

export class DualtapeError extends Error {
  override name = 'DualtapeError';
}

/** The first stack frames outside dualtape's runtime: where the conversion happened, and the function there. */
function userFrame(): { where: string; fn: string | undefined } | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  const frames = stack
    .filter(
      (line) =>
        !/Symbol\.toPrimitive|conversionError|userFrame|dualtape[\\/](?:dist[\\/])?runtime[\\/]|[\\/]runtime[\\/](?:active|engine|ops|api|natives|typed)\.[jt]s/.test(
          line,
        ),
    )
    .map((line) => line.trim().replace(/^at /, ''));
  const first = frames[0];
  if (first === undefined) return undefined;
  // A built-in (Number(), Math.sin, a typed array store) did it: name its caller too.
  const native = /\((?:<anonymous>|native)\)$|^[\w.]+$/.test(first);
  const caller = native ? frames[1] : first;
  const fn = caller?.match(/^(?:async )?([\w$.<>]+) \(/)?.[1]?.replace(/^Object\./, '');
  return { where: native && caller ? `${first}, called from ${caller}` : first, fn };
}

function conversionError(x: Active): DualtapeError {
  const frame = userFrame();
  const where = frame?.where;
  if (!x.tr.alive) {
    return new DualtapeError(
      `dualtape: a differentiable value (${value(x)}) was converted to a plain number` + (where ? ` in ${where}` : '') +
        `, after the grad/valueAndGrad (or jvp, vjp, jacobian) call it came from had returned: it escaped that ` +
        `finished call (stored in an outer array or variable, e.g. a history of losses) and its derivative ` +
        `belongs to it. To keep just the number, store stopGradient(x) instead of x inside the ` +
        `differentiated function (history.push(stopGradient(loss))), or use valueAndGrad to get the value ` +
        `out as a plain number.`,
    );
  }
  const name = frame?.fn;
  if (name !== undefined && isCompiledName(name)) {
    return new DualtapeError(
      `dualtape: a differentiable value (${value(x)}) was converted to a plain number in ${where}, inside code ` +
        `the dualtape plugin compiled, at a place the plugin took to hold a plain number, which would silently ` +
        `drop its derivative. Most often that is a plain object's key named \`length\` (compiled code reads ` +
        `\`.length\` as an array's length: rename the key, e.g. len), a value given to a built-in the plugin ` +
        `does not rewrite (new Float64Array([x]), Array.from({ length: x }), a typed-array store), or a ` +
        `comparison with such a \`length\`. Fix: rename the key or keep the value in a plain array; call ` +
        `stopGradient(x) where a constant is meant.`,
    );
  }
  return new DualtapeError(
    `dualtape: a differentiable value (${value(x)}) was converted to a plain number` +
      (where ? ` in ${where}` : '') +
      `, which would silently drop its derivative. This happens when a value that carries a ` +
      `derivative reaches code the dualtape plugin did not compile (a helper in another module, ` +
      `a class or object method without 'use differentiable', a library function) or is ` +
      `stored into a typed array. ` +
      `Fix: put the directive 'use differentiable' at the top of that helper's file or function ` +
      `body and make sure the dualtape Babel plugin runs on that file; use a plain array instead ` +
      `of a typed array inside differentiated code; or call stopGradient(x) if you mean to use ` +
      `the value as a constant.` + otherCopiesNote(),
  );
}

export function escapedError(): DualtapeError {
  return new DualtapeError(
    'dualtape: a differentiable value from a grad/valueAndGrad call that has already returned ' +
      'was used in arithmetic (it escaped through a closure or an outer variable). Its derivative ' +
      'belongs to that finished computation. Return the value from the differentiated function ' +
      'instead, or call stopGradient(x) inside it to keep only the number.',
  );
}
