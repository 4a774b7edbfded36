/**
 * Float64Array / Float32Array arguments inside differentiated code.
 *
 * A typed array can only hold plain numbers, so a typed-array argument is
 * handed to compiled code as an array of derivative-carrying values: a
 * `TypedArgument`, a real JS array (indexing and `length` stay native, so the
 * plugin needs nothing special) whose prototype chain goes through
 * `Float64Array.prototype` (or `Float32Array.prototype`). So, at every
 * nesting level (each derivative level rebuilds it with the same class):
 *
 * - `x instanceof Float64Array` is true, `Object.prototype.toString` says
 *   "[object Float64Array]", and in compiled code `ArrayBuffer.isView(x)` is
 *   true and `Array.isArray(x)` false (the plugin routes both here);
 * - the typed-array methods behave as they do on a typed array: `sort()`
 *   sorts numerically, `map`/`filter`/`slice`/`subarray` return the same
 *   class, `set(source, offset)` copies in, `fill`, `reverse`, `at`, `with`,
 *   `toSorted`, iteration, `join` ...;
 * - what needs memory cannot work (the values are not bytes): `.buffer`,
 *   `byteOffset`, `byteLength` throw a DualtapeError saying what to do, and
 *   `subarray` returns a read-only copy (writes through it would not reach
 *   `x`, so they throw a TypeError instead of being lost).
 *
 * Array-only methods (`push`, `concat`, `flat`, `splice` ...) are absent, as
 * on a typed array.
 */
import { Active, DualtapeError, value } from './active.js';
import { callable } from './registry.js';

/** `!!v` for a value that may carry a derivative. */
const truthyValue = (v: unknown): boolean => (v instanceof Active ? !!value(v) : !!v);

/** A typed array sorts numerically by default (an Array would sort as strings). */
const numeric = (a: unknown, b: unknown): number => {
  const x = value(a);
  const y = value(b);
  // As TypedArray.prototype.sort: NaN last, -0 before +0.
  if (x !== x) return y !== y ? 0 : 1;
  if (y !== y) return -1;
  if (x < y) return -1;
  if (x > y) return 1;
  if (x === 0 && y === 0) return Object.is(x, -0) ? (Object.is(y, -0) ? 0 : -1) : Object.is(y, -0) ? 1 : 0;
  return 0;
};

/**
 * Methods a typed array shares with Array, with the same behaviour on our
 * arrays of values. (Those that build a new array of the same kind, `map`,
 * `filter`, `slice`, ..., are written below: `constructor` is the typed-array
 * constructor, so Array's species would build a real typed array.)
 */
const SHARED = [
  'at', 'copyWithin', 'entries', 'every', 'fill', 'find', 'findIndex', 'findLast', 'findLastIndex',
  'forEach', 'includes', 'indexOf', 'join', 'keys', 'lastIndexOf', 'reduce', 'reduceRight', 'reverse',
  'some', 'toLocaleString', 'toString', 'values',
] as const;

export interface TypedArgument extends Array<unknown> {
  subarray(begin?: number, end?: number): TypedArgument;
  set(source: ArrayLike<unknown>, offset?: number): void;
}

type TypedArgumentClass = new (length: number) => TypedArgument;

function memoryError(kind: string, what: string): DualtapeError {
  return new DualtapeError(
    `dualtape: ${what} of a ${kind} argument is not available inside differentiated code: there the argument ` +
      `holds values that carry derivatives, not bytes, so it has no buffer to view. Read it by index (x[i], ` +
      `x.subarray(begin, end), x.slice()) instead of through its buffer, or pass the data you do not ` +
      `differentiate as a separate argument and leave it out of argnums.`,
  );
}

function makeClass(Typed: Float64ArrayConstructor | Float32ArrayConstructor): TypedArgumentClass {
  const kind = Typed.name;
  class Arg extends Array<unknown> {
    /** `new Arg(n)`: n zeros, as `new Float64Array(n)`. */
    constructor(n: number) {
      super(n);
      Array.prototype.fill.call(this, 0);
    }
  }
  /** A new array of this kind holding `values`. */
  const make = (values: ArrayLike<unknown>): unknown[] => {
    const out = new Arg(values.length) as unknown as unknown[];
    for (let i = 0; i < values.length; i++) out[i] = values[i];
    return out;
  };
  /** `a.slice(begin, end)` as a plain array (Array's own slice would follow `constructor`). */
  const slice = {
    call(a: unknown[], begin?: number, end?: number): unknown[] {
      const copy = new Array<unknown>(a.length);
      for (let i = 0; i < a.length; i++) copy[i] = a[i];
      return copy.slice(begin, end);
    },
  };
  const proto = Arg.prototype as unknown as Record<PropertyKey, unknown>;
  const arrayProto = Array.prototype as unknown as Record<PropertyKey, unknown>;
  for (const name of SHARED) {
    if (typeof arrayProto[name] === 'function') {
      Object.defineProperty(proto, name, { value: arrayProto[name], writable: true, configurable: true });
    }
  }
  Object.defineProperty(proto, Symbol.iterator, { value: arrayProto[Symbol.iterator], writable: true, configurable: true });
  const methods = {
    map(this: unknown[], cb: Function, thisArg?: unknown) {
      const f = callable(cb) as Function;
      const out = new Arg(this.length) as unknown as unknown[];
      for (let i = 0; i < this.length; i++) out[i] = f.call(thisArg, this[i], i, this);
      return out;
    },
    /** As the array method `method` (runtime/natives.ts) runs it: the test looks at the value. */
    filter(this: unknown[], cb: Function, thisArg?: unknown) {
      const f = callable(cb) as Function;
      const kept: unknown[] = [];
      for (let i = 0; i < this.length; i++) if (truthyValue(f.call(thisArg, this[i], i, this))) kept.push(this[i]);
      return make(kept);
    },
    slice(this: unknown[], begin?: number, end?: number) {
      return make(slice.call(this, begin, end));
    },
    toReversed(this: unknown[]) {
      return make(slice.call(this).reverse());
    },
    with(this: unknown[], index: number, v: unknown) {
      return make((arrayProto.with as Function).call(this, index, v));
    },
    sort(this: unknown[], compare?: (a: unknown, b: unknown) => number) {
      return Array.prototype.sort.call(this, compare ?? numeric);
    },
    toSorted(this: unknown[], compare?: (a: unknown, b: unknown) => number) {
      return make(Array.prototype.sort.call(slice.call(this), compare ?? numeric));
    },
    subarray(this: unknown[], begin?: number, end?: number) {
      return Object.freeze(make(slice.call(this, begin, end)));
    },
    set(this: unknown[], source: ArrayLike<unknown>, offset = 0) {
      const n = source.length;
      if (offset < 0 || offset + n > this.length) throw new RangeError('offset is out of bounds');
      const copy = Array.from(source); // the source may overlap this array
      for (let i = 0; i < n; i++) this[offset + i] = copy[i];
    },
  };
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true });
  }
  for (const what of ['buffer', 'byteOffset', 'byteLength']) {
    Object.defineProperty(proto, what, {
      get() {
        throw memoryError(kind, `.${what}`);
      },
      configurable: true,
    });
  }
  Object.defineProperty(proto, Symbol.toStringTag, { get: () => kind, configurable: true });
  // `x.constructor === Float64Array`, and `new x.constructor(n)` is a real typed array, as for a typed array.
  Object.defineProperty(proto, 'constructor', { value: Typed, writable: true, configurable: true });
  // `x instanceof Float64Array` holds: the chain is Arg.prototype -> Float64Array.prototype.
  Object.setPrototypeOf(proto, Typed.prototype);
  Object.defineProperty(Arg, 'name', { value: kind });
  return Arg as unknown as TypedArgumentClass;
}

const Float64Argument = makeClass(Float64Array);
const Float32Argument = makeClass(Float32Array);

/** Is `x` a typed-array argument as compiled code sees it? */
export function isTypedArgument(x: unknown): x is TypedArgument {
  return x instanceof Float64Argument || x instanceof Float32Argument;
}

/** A real Float64Array/Float32Array (bytes, plain numbers). */
export function isFloatArray(x: unknown): x is Float64Array | Float32Array {
  return ArrayBuffer.isView(x) && (x instanceof Float64Array || x instanceof Float32Array);
}

/** A typed array or a typed-array argument: either holds one leaf per element. */
export function isFloatLike(x: unknown): x is ArrayLike<unknown> {
  return x instanceof Float64Array || x instanceof Float32Array;
}

/** An empty typed-array argument of `x`'s kind (a real one or one already wrapped). */
export function typedArgumentLike(x: Float64Array | Float32Array | TypedArgument, length: number): TypedArgument {
  return x instanceof Float32Array ? new Float32Argument(length) : new Float64Argument(length);
}

/** `ArrayBuffer.isView(x)` in compiled code. */
export function isView(x: unknown): boolean {
  return ArrayBuffer.isView(x) || isTypedArgument(x);
}

/** `Array.isArray(x)` in compiled code. */
export function isArray(x: unknown): boolean {
  return Array.isArray(x) && !isTypedArgument(x);
}
