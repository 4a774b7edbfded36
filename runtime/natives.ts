/**
 * Native code that looks at a value without the plugin seeing it.
 *
 * A derivative-carrying value is an object. Native code that *tests* a value
 * (a callback's result in `filter`/`find`/`some`/`every`, `Boolean(x)`),
 * *compares* values by identity (`includes`/`indexOf` with SameValueZero or
 * `===`, Map/Set keys) or *reads* one with a built-in (`Number.isFinite`
 * passed as a callback) would see the object, not the number: always truthy,
 * never equal to a plain number, never finite. The plugin routes those calls
 * here (`method`, `newKeyed`) and replaces the built-ins, when passed as
 * values, by versions that look at the value (`callable(Number.isFinite)`);
 * each helper checks that the receiver really is an array, typed array, Map
 * or Set with its native method, and otherwise makes the ordinary call.
 */
import { Active, DualtapeError, value } from './active.js';
import { callable, register } from './registry.js';

// ---------------------------------------------------------------------------
// Truthiness and built-ins passed as values
// ---------------------------------------------------------------------------

/** `if (x)`, `!x`, `x && y`, `Boolean(x)`: an Active is truthy when its value is. */
export function truthy(x: unknown): boolean {
  return x instanceof Active ? !!value(x) : !!x;
}

/** `Number(x)` on a differentiable value is the value itself, derivative included. */
export function number(x: unknown): unknown {
  return x instanceof Active ? x : Number(x);
}

/**
 * `parseFloat(x)`, `parseInt(x)` in compiled code: they read a number through
 * its string form, which would drop a derivative without a sound.
 */
export function parsed(x: unknown, fn: string): unknown {
  if (x instanceof Active) {
    throw new DualtapeError(
      `dualtape: ${fn}() was given a differentiable value (${value(x)}); parsing it would silently drop its ` +
        `derivative. Use the value directly (it is a number already), or stopGradient(x) if you mean a constant.`,
    );
  }
  return x;
}

// Built-ins that test or read a number, as compiled code sees them when they are passed as
// values (`xs.filter(Boolean)`, `xs.every(Number.isFinite)`, `xs.map(Number)`): through
// `callable`, like a compiled function's twin.
const numberPredicate = (f: (x: unknown) => boolean) => (x: unknown) => f(value(x));
const parser = (f: (...a: unknown[]) => number, name: string) => (x: unknown, radix?: unknown) => f(parsed(x, name), radix);
register(Boolean, truthy);
register(Number, number);
register(Number.isFinite, numberPredicate(Number.isFinite));
register(Number.isNaN, numberPredicate(Number.isNaN));
register(Number.isInteger, numberPredicate(Number.isInteger));
register(Number.isSafeInteger, numberPredicate(Number.isSafeInteger));
register(isFinite, numberPredicate(isFinite as (x: unknown) => boolean));
register(isNaN, numberPredicate(isNaN as (x: unknown) => boolean));
register(parseFloat, parser(parseFloat as never, 'parseFloat'));
register(parseInt, parser(parseInt as never, 'parseInt'));

// ---------------------------------------------------------------------------
// Native methods: `recv.name(...args)` in compiled code, for the names below
// ---------------------------------------------------------------------------

/** Methods whose callback's result native code tests for truthiness. */
const PREDICATES = new Set(['filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'some', 'every']);
const SEARCHES = new Set(['includes', 'indexOf', 'lastIndexOf']);
const KEYED = new Set(['get', 'has', 'delete', 'set', 'add']);

const arrayProto = Array.prototype as unknown as Record<string, unknown>;
const typedProto = Object.getPrototypeOf(Float64Array.prototype) as Record<string, unknown>;
const mapProto = Map.prototype as unknown as Record<string, unknown>;
const setProto = Set.prototype as unknown as Record<string, unknown>;

/** The names the plugin routes through `method` (plugin/names.ts keeps the same list). */
export const NATIVE_METHODS: ReadonlySet<string> = new Set([...PREDICATES, ...SEARCHES, ...KEYED]);

/**
 * `recv[name](...args)`, where the native array, typed-array, Map and Set
 * methods compare and test values as they would for plain numbers. Any
 * other receiver (a class of the user's with a `get` method, a string's
 * `indexOf`) gets the ordinary call.
 */
export function method(recv: unknown, name: string, a?: unknown, b?: unknown): unknown {
  const n = arguments.length - 2;
  // More arguments than any of these methods takes: the general form.
  if (n > 2) return methodN(recv, name, Array.prototype.slice.call(arguments, 2));
  const fn = (recv as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new TypeError(`${describeCallee(recv, name)} is not a function`);
  const kind = NATIVE_KINDS.get(fn);
  if (kind !== undefined && n > 0) {
    if (kind === PREDICATE) a = predicate(a);
    else if (kind === SEARCH) return n > 1 ? search(recv as ArrayLike<unknown>, name as 'includes', a, value(b)) : search(recv as ArrayLike<unknown>, name as 'includes', a);
    // A plain key in a collection that never received a differentiable key: the native call.
    else if (!(a instanceof Active) && !activeKeys.has(recv as Keyed)) return n === 1 ? (fn as Function).call(recv, a) : (fn as Function).call(recv, a, b);
    else return keyed(recv as Keyed, fn as Function, n > 1 ? [a, b] : [a]);
  }
  return n === 0 ? (fn as Function).call(recv) : n === 1 ? (fn as Function).call(recv, a) : (fn as Function).call(recv, a, b);
}

function methodN(recv: unknown, name: string, args: unknown[]): unknown {
  const fn = (recv as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new TypeError(`${describeCallee(recv, name)} is not a function`);
  const kind = NATIVE_KINDS.get(fn);
  if (kind === PREDICATE) args[0] = predicate(args[0]);
  else if (kind === SEARCH) return search(recv as ArrayLike<unknown>, name as 'includes', args[0], value(args[1]));
  else if (kind === KEY) return keyed(recv as Keyed, fn as Function, args);
  return (fn as Function).apply(recv, args);
}

const PREDICATE = 1;
const SEARCH = 2;
const KEY = 3;
/** The native methods `method` treats specially, by function (one lookup per call). */
const NATIVE_KINDS = new Map<unknown, number>();
for (const proto of [arrayProto, typedProto]) {
  for (const name of PREDICATES) if (typeof proto[name] === 'function') NATIVE_KINDS.set(proto[name], PREDICATE);
  for (const name of SEARCHES) NATIVE_KINDS.set(proto[name], SEARCH);
}
// Iterator helpers (Node 22+: `xs.values().filter(cb)`) test their callback's result too.
const iteratorProto = (globalThis as { Iterator?: { prototype: Record<string, unknown> } }).Iterator?.prototype;
if (iteratorProto) for (const name of PREDICATES) if (typeof iteratorProto[name] === 'function') NATIVE_KINDS.set(iteratorProto[name], PREDICATE);
for (const proto of [mapProto, setProto]) for (const name of KEYED) if (typeof proto[name] === 'function') NATIVE_KINDS.set(proto[name], KEY);

function describeCallee(recv: unknown, name: string): string {
  return `${recv === null ? 'null' : typeof recv === 'object' ? (recv as object).constructor?.name ?? 'object' : typeof recv}.${name}`;
}

/** A callback whose result native code tests: the test looks at the value. */
function predicate(cb: unknown): unknown {
  if (typeof cb !== 'function') return cb; // the native method throws its own TypeError
  const f = callable(cb) as Function;
  // Native predicates always pass (element, index, array).
  return function (this: unknown, v: unknown, i: number, arr: unknown): boolean {
    return truthy(f.call(this, v, i, arr));
  };
}

/**
 * The callback of `xs?.filter(cb).length` and other optional chains the
 * plugin cannot route through `method`: native predicates call it with the
 * array as third argument, and then the test looks at the value.
 */
export function predicateArg(cb: unknown): unknown {
  if (typeof cb !== 'function') return cb;
  const f = callable(cb) as Function;
  return function (this: unknown, ...a: unknown[]): unknown {
    const r = f.apply(this, a);
    return a.length === 3 && (Array.isArray(a[2]) || ArrayBuffer.isView(a[2])) ? truthy(r) : r;
  };
}

/**
 * `includes` (SameValueZero), `indexOf` and `lastIndexOf` (`===`) comparing
 * values, for a needle and elements that may carry derivatives.
 */
export function search(recv: ArrayLike<unknown>, method: 'indexOf' | 'lastIndexOf' | 'includes', x: unknown, from?: unknown): unknown {
  const target = value(x);
  const includes = method === 'includes';
  const same = includes ? (a: unknown) => a === target || (a !== a && target !== target) : (a: unknown) => a === target;
  const n = recv.length;
  // fromIndex as the natives convert it (ToIntegerOrInfinity; an explicit undefined is 0), when one was passed.
  const given = arguments.length > 3;
  const f = given ? Number(from) : 0;
  const start = Number.isNaN(f) ? 0 : Math.trunc(f);
  // indexOf and lastIndexOf skip holes; includes reads them as undefined.
  const found = (i: number) => same(value(recv[i])) && (includes || i in recv);
  if (method === 'lastIndexOf') {
    let i = !given ? n - 1 : start < 0 ? n + start : Math.min(start, n - 1);
    for (; i >= 0; i--) if (found(i)) return i;
    return -1;
  }
  let i = !given ? 0 : start < 0 ? Math.max(0, n + start) : start;
  for (; i < n; i++) if (found(i)) return includes ? true : i;
  return includes ? false : -1;
}

// ---------------------------------------------------------------------------
// Map and Set keys
// ---------------------------------------------------------------------------

/**
 * Keys compare by value, as `===` does in compiled code, and an Active key
 * keeps its derivative (iterating the keys gives it back). A Map or Set
 * holds an Active key as the object itself; this side index finds it from
 * its value. Only collections that received an Active key through compiled
 * code have an index, so lookups elsewhere cost one WeakMap read on a miss.
 */
const activeKeys = new WeakMap<object, Map<number, Active>>();

type Keyed = Map<unknown, unknown> | Set<unknown>;
const mapSet = Map.prototype.set;
const mapDelete = Map.prototype.delete;
const setAdd = Set.prototype.add;
const setDelete = Set.prototype.delete;

/** The key under which `c` holds `k` compared by value, or `k` itself. */
function storedKey(c: Keyed, k: unknown): unknown {
  if (k instanceof Active) {
    const v = value(k);
    if (c.has(v)) return v;
  } else if (typeof k !== 'number' || c.has(k)) {
    return k;
  }
  const index = activeKeys.get(c);
  if (index === undefined) return k;
  const v = value(k);
  const a = index.get(v);
  if (a === undefined) return k;
  if (c.has(a)) return a;
  index.delete(v); // removed by code that did not go through here (clear(), uncompiled code)
  return k;
}

function keyed(c: Keyed, native: Function, args: unknown[]): unknown {
  const k = args[0];
  // Plain keys held as they are (the common case): no index needed.
  if (typeof k !== 'number' && !(k instanceof Active)) return native.apply(c, args);
  const key = storedKey(c, k);
  if (native === mapSet || native === setAdd) {
    if (key === k && k instanceof Active && !c.has(k)) {
      let index = activeKeys.get(c);
      if (index === undefined) activeKeys.set(c, (index = new Map()));
      index.set(value(k), k);
    }
  } else if ((native === mapDelete || native === setDelete) && key instanceof Active) {
    activeKeys.get(c)?.delete(value(key));
  }
  args[0] = key;
  return native.apply(c, args);
}

/** `new Set(iterable)`, `new Map(entries)` in compiled code: keys by value, as `add`/`set` above. */
export function newKeyed(C: unknown, ...args: unknown[]): unknown {
  if (C !== Map && C !== Set) return Reflect.construct(C as Function, args);
  const c = new (C as typeof Map)();
  const it = args[0];
  if (it === undefined || it === null) return c;
  for (const e of it as Iterable<unknown>) {
    if (C === Set) {
      keyed(c as unknown as Keyed, setAdd, [e]);
    } else {
      if (e === null || typeof e !== 'object') throw new TypeError(`Iterator value ${String(e)} is not an entry object`);
      const entry = e as Record<number, unknown>;
      keyed(c, mapSet, [entry[0], entry[1]]);
    }
  }
  return c;
}

// ---------------------------------------------------------------------------
// Lengths
// ---------------------------------------------------------------------------

/**
 * `new Array(n)`, `Array(n)`, `new Float64Array(n)` with a differentiable
 * `n`: a length is piecewise constant, so it is the plain value (a
 * non-integer still throws the RangeError JS throws).
 */
export function size(n: unknown): unknown {
  return n instanceof Active ? value(n) : n;
}
