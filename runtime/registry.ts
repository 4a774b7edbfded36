/**
 * Which functions the plugin compiled. For a function the plugin saw by
 * name, it emits a differentiable twin and registers `original -> twin`, so
 * ordinary callers keep the untouched original and `grad(original)` (or a
 * call from compiled code in another module) finds the twin. Inline
 * functions handed to grad are compiled in place and only marked.
 */
const twins = new WeakMap<Function, Function>();
const compiledFns = new WeakSet<Function>();
/** Names of compiled functions, so that an error raised in one can tell (runtime/active.ts). */
const compiledNames = new Set<string>();

/** Is a function of this name (from a stack frame) one the plugin compiled? */
export function isCompiledName(name: string): boolean {
  return compiledNames.has(name);
}

/** Registers the differentiable twin of `original`; returns `original`. */
export function register<F extends Function>(original: F, twin: Function): F {
  twins.set(original, twin);
  compiledFns.add(twin);
  if (twin.name) compiledNames.add(twin.name);
  return original;
}

const originals = new WeakMap<Function, Function>();

/**
 * Marks a function the plugin compiled in place; returns it. `original`, an
 * untouched copy of the user's function (kept for compareModes), is what a
 * plain evaluation runs.
 */
export function compiled<F extends Function>(fn: F, original?: Function): F {
  compiledFns.add(fn);
  if (typeof original === 'function') originals.set(fn, original);
  return fn;
}

/** The user's own, uncompiled version of `f` when the plugin kept one; `f` otherwise. */
export function originalOf(f: Function): Function {
  return originals.get(f) ?? f;
}

/** The version of `f` to call from compiled code: its twin if it has one. */
export function callable<T>(f: T): T {
  return typeof f === 'function' ? ((twins.get(f) as T | undefined) ?? f) : f;
}

/** The compiled version of `f`, or undefined when the plugin never saw it. */
export function compiledVersion(f: Function): Function | undefined {
  return compiledFns.has(f) ? f : twins.get(f);
}
