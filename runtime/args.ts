/**
 * Arguments in and results out: checking what users pass, wrapping numeric
 * leaves in derivative-carrying values, and giving results their shape.
 */
import { Active, DualtapeError, escapedError, value } from './active.js';
import type { Trace } from './active.js';
import type { Num } from './core-types.js';
import { compiledVersion, setGuardTarget } from './registry.js';
import { otherCopiesNote } from './copies.js';
import { isFloatLike, isTypedArgument, typedArgumentLike } from './typed.js';

export function describeFn(f: Function): string {
  return f.name ? `\`${f.name}\`` : 'the function';
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  switch (typeof x) {
    case 'string':
      return `a string (${JSON.stringify(x.length > 20 ? x.slice(0, 20) + '…' : x)})`;
    case 'object':
      return `an object of class ${(x as object).constructor?.name ?? 'unknown'}`;
    case 'function':
      return 'a function';
    case 'undefined':
      return 'undefined';
    default:
      return `a ${typeof x} (${String(x)})`;
  }
}

export function isPlainObject(x: object): boolean {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** An array, typed array or plain object: a node that mapLeaves and shapeLike look inside. */
function isTreeNode(x: unknown): x is object {
  return x !== null && typeof x === 'object' && (Array.isArray(x) || isFloatLike(x) || isPlainObject(x));
}

/** Throws a TypeError naming the path of the first leaf that cannot be differentiated. */
export function checkArg(x: unknown, path: string, seen: Set<object>, allArgs: boolean): void {
  // The common case, checked without building any path string; the slow walk below names the culprit.
  if (isTree(x, 0)) return;
  explainArg(x, path, seen, allArgs);
}

/**
 * For arguments whose non-numeric leaves are constants (checkpoint,
 * customDerivative): a TypeError if a tree refers back to itself, which
 * mapLeaves could not walk.
 */
export function checkAcyclic(x: unknown, path: string, seen: Set<object> = new Set()): void {
  if (isTree(x, 0) || x === null || typeof x !== 'object' || x instanceof Active) return;
  if (!(Array.isArray(x) || isPlainObject(x))) return;
  if (seen.has(x)) throw new TypeError(`dualtape: ${path} refers back to itself; arguments must be trees (arrays and plain objects without cycles).`);
  seen.add(x);
  for (const key of Object.keys(x)) checkAcyclic((x as Record<string, unknown>)[key], `${path}[${JSON.stringify(key)}]`, seen);
  seen.delete(x);
}

/** Is `x` a tree of numbers that can be differentiated (checkArg would accept it)? */
export function isDifferentiable(x: unknown): boolean {
  return isTree(x, 0);
}

/** A valid argument tree? (Depth-limited so that a cycle falls through to the slow walk.) */
function isTree(x: unknown, depth: number): boolean {
  if (typeof x === 'number' || x instanceof Active || x instanceof Float64Array || x instanceof Float32Array) return true;
  if (depth > 64 || x === null || typeof x !== 'object') return false;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      if (typeof e !== 'number' && !isTree(e, depth + 1)) return false;
    }
    return true;
  }
  if (!isPlainObject(x)) return false;
  for (const key of Object.keys(x)) if (!isTree((x as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}

function explainArg(x: unknown, path: string, seen: Set<object>, allArgs: boolean): void {
  if (typeof x === 'number' || x instanceof Active) return;
  if (x instanceof Float64Array || x instanceof Float32Array) return;
  if (x !== null && typeof x === 'object' && (Array.isArray(x) || isPlainObject(x))) {
    if (seen.has(x)) throw new TypeError(`dualtape: ${path} refers back to itself; differentiable arguments must be trees of numbers.`);
    seen.add(x);
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) explainArg(x[i], `${path}[${i}]`, seen, allArgs);
    } else {
      for (const key of Object.keys(x)) {
        explainArg((x as Record<string, unknown>)[key], /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, seen, allArgs);
      }
    }
    seen.delete(x);
    return;
  }
  throw new TypeError(
    `dualtape: ${path} is ${describe(x)}; differentiable arguments must be numbers, arrays, ` +
      `Float64Array/Float32Array or plain objects of those.` +
      (allArgs ? ' To pass an argument that is not differentiated (data, options), list the differentiated ones in the argnums option.' : ''),
  );
}

// ---------------------------------------------------------------------------
// Arguments in and gradients out
// ---------------------------------------------------------------------------

/** `out[key] = v`, also for an own "__proto__" key (which plain assignment would turn into a prototype). */
export function setOwn(out: Record<string, unknown>, key: string, v: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  else out[key] = v;
}

/**
 * Rebuilds `x` with every numeric leaf replaced by `leaf(x)`. A typed array
 * (or a typed-array argument of an outer level) becomes a typed-array
 * argument (runtime/typed.ts), at every level. Anything that is not a tree of
 * numbers (a string, null, undefined, a boolean, a class instance) is a
 * constant: returned as it is, with no leaf.
 */
export function mapLeaves(x: unknown, leaf: (v: Num) => unknown): unknown {
  if (typeof x === 'number' || x instanceof Active) return leaf(x);
  if (!isTreeNode(x)) return x;
  if (isFloatLike(x)) {
    const out = typedArgumentLike(x as Float64Array, x.length);
    for (let i = 0; i < x.length; i++) out[i] = leaf(x[i] as Num);
    return out;
  }
  if (Array.isArray(x)) {
    const out = new Array<unknown>(x.length);
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      out[i] = typeof e === 'number' ? leaf(e) : mapLeaves(e, leaf);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(x as object)) setOwn(out, key, mapLeaves((x as Record<string, unknown>)[key], leaf));
  return out;
}

/**
 * A result handed back to the user: typed-array arguments (runtime/typed.ts)
 * holding plain numbers become real Float64Array/Float32Array again.
 */
export function userValue(x: unknown): unknown {
  if (!isTreeNode(x)) return x;
  if (isFloatLike(x)) {
    if (!isTypedArgument(x)) return x;
    const vals = Array.from(x);
    if (!vals.every((v) => typeof v === 'number')) return vals;
    return x instanceof Float32Array ? Float32Array.from(vals as number[]) : Float64Array.from(vals as number[]);
  }
  if (Array.isArray(x)) return x.map(userValue);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(x)) setOwn(out, key, userValue((x as Record<string, unknown>)[key]));
  return out;
}

/** The gradient with the shape of `x`, reading one gradient per leaf from `next`. */
export function shapeLike(x: unknown, next: () => Num): unknown {
  if (typeof x === 'number' || x instanceof Active) return next();
  if (!isTreeNode(x)) return x;
  if (isFloatLike(x)) {
    const vals: Num[] = [];
    for (let i = 0; i < x.length; i++) vals.push(next());
    if (vals.every((g) => typeof g === 'number')) return Float64Array.from(vals as number[]);
    // Nested derivatives leave derivative-carrying values, which a Float64Array cannot hold: a
    // typed-array argument (runtime/typed.ts), so that the outer level still sees a typed array.
    const out = typedArgumentLike(x as Float64Array, vals.length);
    for (let i = 0; i < vals.length; i++) out[i] = vals[i];
    return out;
  }
  if (Array.isArray(x)) {
    const out = new Array<unknown>(x.length);
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      out[i] = typeof e === 'number' ? next() : shapeLike(e, next);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(x as object)) setOwn(out, key, shapeLike((x as Record<string, unknown>)[key], next));
  return out;
}

export function checkResult(out: unknown, api = 'grad'): Num {
  if (typeof out === 'number') return out;
  if (out instanceof Active) {
    if (!out.tr.alive && !out.tr.recordsOps) throw escapedError();
    return out;
  }
  throw new TypeError(
    `dualtape: the differentiated function returned ${describe(out)}; ${api} needs a function that returns a single number ` +
      `(for several outputs use jacobian or vjp, or reduce them to a scalar loss).`,
  );
}

/** Checks a function's result that may be a number or a tree of numbers (jvp, vjp, jacobian). */
export function checkOutput(out: unknown, api: string): void {
  try {
    checkArg(out, 'result', new Set(), false);
  } catch (e) {
    throw new TypeError(
      `dualtape: ${api} needs a function returning a number or an array (or plain object) of numbers; ` +
        (e as Error).message.replace(/^dualtape: /, '').replace(/; differentiable arguments.*$/, '.'),
    );
  }
}

/**
 * Checks that `y` (tangents, cotangents) has exactly the shape of `x`,
 * naming the first place where they differ.
 */
export function checkSameShape(x: unknown, y: unknown, xPath: string, yPath: string): void {
  const isLeaf = (v: unknown) => typeof v === 'number' || v instanceof Active;
  const isList = (v: unknown) => Array.isArray(v) || v instanceof Float64Array || v instanceof Float32Array;
  if (isLeaf(x)) {
    if (!isLeaf(y)) throw new TypeError(`dualtape: ${yPath} must be a number, like ${xPath}, but is ${describe(y)}.`);
    return;
  }
  if (isList(x)) {
    const xl = x as ArrayLike<unknown>;
    if (!isList(y)) throw new TypeError(`dualtape: ${yPath} must be an array of ${xl.length}, like ${xPath}, but is ${describe(y)}.`);
    const yl = y as ArrayLike<unknown>;
    if (yl.length !== xl.length) {
      throw new TypeError(`dualtape: ${yPath} has ${yl.length} elements but ${xPath} has ${xl.length}: their shapes must match.`);
    }
    for (let i = 0; i < xl.length; i++) checkSameShape(xl[i], yl[i], `${xPath}[${i}]`, `${yPath}[${i}]`);
    return;
  }
  if (y === null || typeof y !== 'object' || isList(y)) {
    throw new TypeError(`dualtape: ${yPath} must be an object shaped like ${xPath}, but is ${describe(y)}.`);
  }
  const xk = Object.keys(x as object);
  const yk = Object.keys(y as object);
  const missing = xk.find((k) => !(k in (y as object)));
  const extra = yk.find((k) => !(k in (x as object)));
  if (missing !== undefined) throw new TypeError(`dualtape: ${yPath} lacks the key "${missing}" that ${xPath} has.`);
  if (extra !== undefined) throw new TypeError(`dualtape: ${yPath} has a key "${extra}" that ${xPath} does not have.`);
  for (const k of xk) {
    checkSameShape((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${xPath}.${k}`, `${yPath}.${k}`);
  }
}


/** The compiled version of `f`, or a TypeError explaining how to get one. */
export function compiledOrThrow(f: unknown, api: string): Function {
  if (typeof f !== 'function') {
    throw new TypeError(`dualtape: ${api} expects a function, got ${describe(f)}.`);
  }
  const fc = compiledVersion(f);
  if (fc === undefined) {
    const error = notCompiled(f, api);
    // A second copy of dualtape (its registry, not this one's, knows the function) is a likely cause of any of them.
    error.message += otherCopiesNote();
    throw error;
  }
  return stackGuarded(fc, api);
}

/**
 * Why `f` was not compiled, with advice that fits: the plugin removes every
 * directive it acts on, so a function whose source still holds one was never
 * seen by the plugin; an anonymous function came through a path the plugin
 * does not follow; a named one was never handed to an entry point where the
 * plugin could see it.
 */
function notCompiled(f: Function, api: string): TypeError {
  const setup = `Add 'dualtape/babel' to your Babel plugins (or run the file with node --import dualtape/register)`;
  let source = '';
  try {
    source = Function.prototype.toString.call(f);
  } catch {
    // a revoked proxy or similar: no source to look at
  }
  if (/['"]use differentiable['"]/.test(source)) {
    return new TypeError(
      `dualtape: ${api} was given ${describeFn(f)}, whose source has the 'use differentiable' directive, but the ` +
        `dualtape Babel plugin did not run on its file (the plugin removes the directives it compiles). ${setup}, ` +
        `and check that your bundler's include/exclude options let it see that file.`,
    );
  }
  if (f.name.startsWith('bound ')) {
    return new TypeError(
      `dualtape: ${api} was given ${describeFn(f)}, a bound function: \`bind\` makes a new function that the ` +
        `dualtape Babel plugin never saw, even when the function it binds was compiled. Wrap the call instead: ` +
        `\`${api}((x) => ${f.name.slice(6) || 'f'}.call(thisValue, x))\`.`,
    );
  }
  if (!f.name) {
    return new TypeError(
      `dualtape: ${api} was given an anonymous function that the dualtape Babel plugin did not compile. The plugin ` +
        `compiles an inline function handed to ${api} directly, or to a helper of the same module that hands its ` +
        `parameter to ${api}; not one that comes through a helper in another module, or from a variable, array or ` +
        `object. Fix: make 'use differentiable' the first statement of its body ` +
        `(\`(x) => { 'use differentiable'; return ... }\`), or declare it by name in a module that imports ${api} from ` +
        `'dualtape'. ${setup} if you have not.`,
    );
  }
  return new TypeError(
    `dualtape: ${api} was given ${describeFn(f)}, which the dualtape Babel plugin did not compile, ` +
      `so its derivatives cannot be taken. ${setup}, and either pass the function to ${api} in a ` +
      `module that imports ${api} from 'dualtape', or put the directive 'use differentiable' at the ` +
      `top of its file or function body.`,
  );
}

const guarded = new WeakMap<Function, Function>();

/**
 * `fc` with a stack overflow inside it turned into a DualtapeError that says
 * what to do. Compiled code needs more stack per call than the original (a
 * recursive function compiles without the fast path's temporaries, and still
 * needs about 2x on the generated tiers, see bench/stack-depth.json), so a
 * recursion that fits when called plainly can overflow under grad. The
 * innermost entry point converts the RangeError; outer ones pass it on.
 */
function stackGuarded(fc: Function, api: string): Function {
  let g = guarded.get(fc);
  if (g === undefined) {
    g = function (this: unknown, ...args: unknown[]) {
      try {
        return fc.apply(this, args);
      } catch (e) {
        if (e instanceof RangeError && /call stack/i.test(e.message)) throw stackOverflow(api, fc, e);
        throw e;
      }
    };
    guarded.set(fc, g);
    setGuardTarget(g, fc);
  }
  return g;
}

function stackOverflow(api: string, fc: Function, cause: RangeError): DualtapeError {
  const name = fc.name ? `\`${fc.name}\`` : 'the function';
  return new DualtapeError(
    `dualtape: the call stack overflowed while ${api} ran ${name}. Differentiated code uses more stack per call ` +
      `than the original (about 2x for a recursive function on the generated tiers, see bench/stack-depth.json), so a recursion that runs plainly may be too ` +
      `deep under ${api}. Fix: write the ` +
      `recursion as a loop (or recurse on halves instead of one element at a time), run it on the tape tier ` +
      `(setTier('tape') or DUALTAPE_TIER=tape: its frames are closer to the original's), or give Node a larger ` +
      `stack (node --stack-size=N, in KiB; the default is about 984).`,
    { cause },
  );
}

/**
 * The leaves of `x` in the order of `shape`'s leaves: objects are read by
 * `shape`'s keys, so `{ b: 1, a: 0 }` lines up with `{ a, b }` (leavesOf would
 * follow x's own key order). `x` must have `shape`'s shape (checkSameShape).
 */
export function leavesLike(shape: unknown, x: unknown): Num[] {
  const out: Num[] = [];
  const walk = (s: unknown, v: unknown): void => {
    if (typeof s === 'number' || s instanceof Active) out.push(v as Num);
    else if (Array.isArray(s) || s instanceof Float64Array || s instanceof Float32Array) {
      for (let i = 0; i < s.length; i++) walk(s[i], (v as ArrayLike<unknown>)[i]);
    } else if (s !== null && typeof s === 'object') {
      for (const key of Object.keys(s)) walk((s as Record<string, unknown>)[key], (v as Record<string, unknown>)[key]);
    }
  };
  walk(shape, x);
  return out;
}

/** The numeric leaves of `x` in the order mapLeaves and shapeLike visit them. */
export function leavesOf(x: unknown): Num[] {
  const out: Num[] = [];
  mapLeaves(x, (v) => out.push(v));
  return out;
}

/** The trace of the highest derivative level among the leaves of `args`, if any. */
export function topTraceOf(args: readonly unknown[]): Trace | undefined {
  let top: Trace | undefined;
  for (const a of args) {
    // Only trees of numbers can hold derivative-carrying values we know how to find.
    const tree = a instanceof Active || Array.isArray(a) || (a !== null && typeof a === 'object' && isPlainObject(a));
    if (!tree) continue;
    mapLeaves(a, (x) => {
      if (x instanceof Active) {
        if (!x.tr.alive && !x.tr.recordsOps) throw escapedError();
        if (top === undefined || x.tr.id > top.id) top = x.tr;
      }
      return x;
    });
  }
  return top;
}
