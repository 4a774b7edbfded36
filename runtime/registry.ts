/**
 * Which functions the plugin compiled. For a function the plugin saw by
 * name, it emits a differentiable twin and registers `original -> twin`, so
 * ordinary callers keep the untouched original and `grad(original)` (or a
 * call from compiled code in another module) finds the twin. Inline
 * functions handed to grad are compiled in place and only marked.
 */
import { DualtapeError } from './active.js';

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
  // Errors raised inside compiled code can tell by the frame's name (runtime/active.ts).
  if (original.name) compiledNames.add(original.name);
  // Stack traces and messages show the user's name (`loss`), not the twin's (`_loss_d`).
  if (twin.name !== original.name) Object.defineProperty(twin, 'name', { value: original.name, configurable: true });
  // `new twin(...)` (compiled code constructing with an old-style constructor function) makes objects
  // of the original's class: `instanceof original` holds and its prototype methods are found.
  const proto = Object.getOwnPropertyDescriptor(original, 'prototype');
  if (proto?.writable === false || proto === undefined) return original;
  if (Object.getOwnPropertyDescriptor(twin, 'prototype')?.writable) (twin as { prototype: unknown }).prototype = original.prototype;
  return original;
}

/**
 * `{ f(x) { ... } }` with methods twinned: registers `obj[k] -> twins[k]` for
 * each key of `twins`; returns `obj`.
 */
export function registerMethods<O extends object>(obj: O, methodTwins: Record<string, Function>): O {
  for (const key of Object.keys(methodTwins)) {
    const original = Object.getOwnPropertyDescriptor(obj, key)?.value as unknown;
    if (typeof original === 'function') register(original, methodTwins[key]!);
  }
  return obj;
}

/**
 * The twin of a method that reads `this` was called without an object: what
 * `grad(obj.method)` does, since JavaScript passes the method alone.
 */
export function unboundMethod(name: string): never {
  throw new DualtapeError(
    `dualtape: the method \`${name}\` was called without its object (\`this\` is undefined): \`grad(obj.${name})\` ` +
      `hands grad the method alone, as \`[x].map(obj.${name})\` would. Wrap it so that it is called on its object: ` +
      `\`grad((w) => obj.${name}(w))\`.`,
  );
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

const { call, apply, bind } = Function.prototype;

/**
 * For `o.call(...)`, `o.apply(...)`, `o.bind(...)` in compiled code: when `o`
 * is a function these are Function.prototype's (and `receiverOf` gives `o`'s
 * twin, so the twin runs); otherwise `o`'s own method of that name, resolved.
 */
export function methodOf(o: unknown, key: 'call' | 'apply' | 'bind'): Function {
  const f = (o as Record<string, unknown>)[key];
  if (typeof o === 'function' && (f === call || f === apply || f === bind)) return f as Function;
  return callable(f) as Function;
}

/** The receiver that goes with `methodOf(o, key)`. */
export function receiverOf(o: unknown, key: 'call' | 'apply' | 'bind'): unknown {
  if (typeof o !== 'function') return o;
  const f = (o as unknown as Record<string, unknown>)[key];
  return f === call || f === apply || f === bind ? callable(o) : o;
}

/**
 * Entry points call a compiled function through a wrapper that turns a stack
 * overflow into a DualtapeError (runtime/args.ts, stackGuarded). The tiers'
 * tables are keyed by the compiled function itself: `unguarded` maps the
 * wrapper back to it.
 */
const guardTargets = new WeakMap<Function, Function>();

export function setGuardTarget(guard: Function, fc: Function): void {
  guardTargets.set(guard, fc);
}

export function unguarded(f: Function): Function {
  return guardTargets.get(f) ?? f;
}
