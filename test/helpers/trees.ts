/**
 * Argument / gradient trees: numbers, (nested) arrays, Float64Array,
 * Float32Array and plain objects whose leaves are numbers, recursively.
 *
 * Used by the finite-difference checker to perturb one numeric leaf at a
 * time and to build a reference gradient with the same shape the library is
 * specified to return (typed arrays of either precision -> Float64Array).
 *
 * NOTE: this file deliberately does not import (or name) the library under
 * test, so the build-time transform never touches it.
 */

export type Tree = number | Tree[] | Float64Array | Float32Array | { [key: string]: Tree };

export type PathKey = string | number;
export type Path = PathKey[];

export function isTypedArray(x: unknown): x is Float64Array | Float32Array {
  return x instanceof Float64Array || x instanceof Float32Array;
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Every path to a numeric leaf, in a deterministic order. */
export function leafPaths(x: unknown, prefix: Path = []): Path[] {
  if (typeof x === 'number') return [prefix];
  if (Array.isArray(x) || isTypedArray(x)) {
    const out: Path[] = [];
    for (let i = 0; i < x.length; i++) out.push(...leafPaths(x[i], [...prefix, i]));
    return out;
  }
  if (isPlainObject(x)) {
    const out: Path[] = [];
    for (const k of Object.keys(x)) out.push(...leafPaths(x[k], [...prefix, k]));
    return out;
  }
  throw new Error(`test helper: unsupported leaf type at ${formatPath(prefix)}: ${describe(x)}`);
}

/**
 * Deep copy. With `widen`, Float32Array becomes Float64Array (same values):
 * finite differences must be able to move a leaf by less than float32's
 * resolution, and the function computes the same mathematical thing on
 * either array type.
 */
export function cloneTree<T>(x: T, widen = false): T {
  if (typeof x !== 'object' || x === null) return x;
  if (x instanceof Float32Array) return (widen ? Float64Array.from(x) : Float32Array.from(x)) as T;
  if (x instanceof Float64Array) return Float64Array.from(x) as T;
  if (Array.isArray(x)) return x.map((v) => cloneTree(v, widen)) as T;
  if (isPlainObject(x)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x)) out[k] = cloneTree(x[k], widen);
    return out as T;
  }
  return x;
}

export function getAt(x: unknown, path: Path): unknown {
  let cur: any = x;
  for (const k of path) cur = cur[k];
  return cur;
}

/** Returns a tree equal to `x` with the leaf at `path` replaced (x itself if the path is empty). */
export function setAt(x: unknown, path: Path, v: number): unknown {
  if (path.length === 0) return v;
  let cur: any = x;
  for (let i = 0; i < path.length - 1; i++) cur = cur[path[i]!];
  cur[path[path.length - 1]!] = v;
  return x;
}

/**
 * A tree of the shape the library returns for a gradient w.r.t. `x`, with
 * every leaf set to `fill(path)`: number -> number, array -> array (same
 * nesting), typed array -> Float64Array, object -> object.
 */
export function mapLeaves(x: unknown, fill: (path: Path) => number, prefix: Path = []): unknown {
  if (typeof x === 'number') return fill(prefix);
  if (isTypedArray(x)) {
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = fill([...prefix, i]);
    return out;
  }
  if (Array.isArray(x)) return x.map((v, i) => mapLeaves(v, fill, [...prefix, i]));
  if (isPlainObject(x)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x)) out[k] = mapLeaves(x[k], fill, [...prefix, k]);
    return out;
  }
  throw new Error(`test helper: unsupported leaf type at ${formatPath(prefix)}: ${describe(x)}`);
}

export function formatPath(path: Path): string {
  if (path.length === 0) return '(root)';
  return path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
}

export function describe(x: unknown): string {
  if (typeof x === 'number') return Object.is(x, -0) ? '-0' : String(x);
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (x instanceof Float64Array) return `Float64Array(${x.length})`;
  if (x instanceof Float32Array) return `Float32Array(${x.length})`;
  if (Array.isArray(x)) return `Array(${x.length})`;
  if (typeof x === 'object') {
    const name = Object.getPrototypeOf(x)?.constructor?.name ?? 'Object';
    return `${name} {${Object.keys(x).join(', ')}}`;
  }
  return `${typeof x} ${String(x)}`;
}
