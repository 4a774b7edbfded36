/**
 * Random programs that hand derivative-carrying values to native code, for
 * test/property-natives.test.ts: callbacks of native array methods
 * (filter/find/findIndex/findLast/findLastIndex/some/every with predicates
 * that return the value, a difference, a comparison, or a built-in such as
 * Boolean, Number.isFinite, Number.isInteger), searches with constant needles
 * (includes/indexOf/lastIndexOf), Map/Set keyed by values (counting, unique
 * values, has, get), built-ins passed as values (Number, Math.abs, Boolean),
 * objects with odd keys (`length`, `__proto__`, numeric keys), typed-array
 * arguments (numeric default sort, subarray, instanceof, ArrayBuffer.isView,
 * Array.isArray) and nested entry points with checkpoint and vjp.
 *
 * A program is `f(x)` with x a number[] or a Float64Array of length 4, the sum
 * of a few such terms. `renderNativesModule` writes a module that exports an
 * uncompiled copy `f_plain`, and gr/gf (grad, both modes), vr (valueAndGrad),
 * he (hessian: forward over reverse) and rr (jacobian of grad in reverse
 * mode: reverse over reverse) of `f`, compiled by the plugin as a user's file.
 *
 * Every term is smooth except at the points listed by `KINKS` (the constants
 * the predicates and searches compare with, the integers) and where two
 * coordinates are equal (Map/Set keys, searches): property tests compare with
 * finite differences only away from those.
 *
 * NOTE: this file does not import the library; it only writes source text.
 */
import fc from 'fast-check';

export type Pred = 'id' | 'minus' | 'Boolean' | 'isFinite' | 'gt' | 'isInteger';
export type PredMethod = 'filter' | 'find' | 'findIndex' | 'findLast' | 'findLastIndex' | 'some' | 'every';

export type Term =
  | { k: 'pred'; m: PredMethod; p: Pred; c: number; optional: boolean }
  | { k: 'search'; m: 'includes' | 'indexOf' | 'lastIndexOf'; c: number; i: number; j: number }
  | { k: 'keyed'; form: 'count' | 'unique' | 'has' | 'get'; c: number }
  | { k: 'values'; form: 'number' | 'abs' | 'isInteger' | 'boolean' }
  | { k: 'odd'; i: number; j: number; l: number; c: number }
  | { k: 'typed'; form: 'sort' | 'subarray' | 'checks'; i: number; j: number; l: number }
  | { k: 'ckpt'; form: 'inner' | 'label' | 'pullback'; i: number; j: number; l: number; fwd: boolean };

export interface NativesAst {
  typed: boolean;
  terms: Term[];
}

/** Constants the programs compare with. */
export const CONSTANTS = [0, 1, -1, 0.5, 2] as const;
/** Where a term may be discontinuous or not differentiable (besides ties between coordinates). */
export const KINKS: readonly number[] = [0, 1, -1, 0.5, 2, -2];

const N = 4;

export function nativesArb(): fc.Arbitrary<NativesAst> {
  const idx = fc.nat({ max: N - 1 });
  const cst = fc.constantFrom(...CONSTANTS);
  const predMethod = fc.constantFrom<PredMethod>('filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'some', 'every');
  const pred = fc.constantFrom<Pred>('id', 'minus', 'Boolean', 'isFinite', 'gt', 'isInteger');
  const predTerm = fc.record({ k: fc.constant('pred' as const), m: predMethod, p: pred, c: cst, optional: fc.boolean() });
  const searchTerm = fc.record({ k: fc.constant('search' as const), m: fc.constantFrom('includes' as const, 'indexOf' as const, 'lastIndexOf' as const), c: cst, i: idx, j: idx });
  const keyedTerm = fc.record({ k: fc.constant('keyed' as const), form: fc.constantFrom('count' as const, 'unique' as const, 'has' as const, 'get' as const), c: cst });
  const common: fc.Arbitrary<Term>[] = [
    predTerm, predTerm, predTerm, searchTerm, searchTerm, keyedTerm, keyedTerm,
    fc.record({ k: fc.constant('values' as const), form: fc.constantFrom('number' as const, 'abs' as const, 'isInteger' as const, 'boolean' as const) }),
    fc.record({ k: fc.constant('odd' as const), i: idx, j: idx, l: idx, c: cst }),
    fc.record({ k: fc.constant('ckpt' as const), form: fc.constantFrom('inner' as const, 'label' as const, 'pullback' as const), i: idx, j: idx, l: idx, fwd: fc.boolean() }),
  ];
  const typedTerm = fc.record({ k: fc.constant('typed' as const), form: fc.constantFrom('sort' as const, 'subarray' as const, 'checks' as const), i: idx, j: idx, l: idx });
  return fc.boolean().chain((typed) =>
    fc.record({
      typed: fc.constant(typed),
      terms: fc.array(fc.oneof(...common, ...(typed ? [typedTerm, typedTerm] : [])), { minLength: 1, maxLength: 4 }),
    }),
  );
}

/** Points: coordinates in [-2, 2], often exactly a kink or equal to another coordinate. */
export function pointArb(): fc.Arbitrary<number[]> {
  const coord = fc.oneof(
    // Uniform on a grid of [-2, 2] (fc.double leans towards tiny values and the bounds: kinks).
    { arbitrary: fc.noBias(fc.integer({ min: -2_000_000, max: 2_000_000 })).map((k) => k / 1_000_000 + 1e-7), weight: 3 },
    { arbitrary: fc.constantFrom(...KINKS), weight: 2 },
  );
  return fc
    .tuple(fc.array(coord, { minLength: N, maxLength: N }), fc.array(fc.nat({ max: N - 1 }), { minLength: N, maxLength: N }), fc.array(fc.boolean(), { minLength: N, maxLength: N }))
    .map(([xs, from, copy]) => xs.map((v, k) => (copy[k] && k > 0 && from[k]! < k && k % 3 === 0 ? xs[from[k]!]! : v)));
}

function predicate(p: Pred, c: number): string {
  switch (p) {
    case 'id': return '(v) => v';
    case 'minus': return `(v) => v - ${c}`;
    case 'Boolean': return 'Boolean';
    case 'isFinite': return 'Number.isFinite';
    case 'gt': return `(v) => v > ${c}`;
    case 'isInteger': return 'Number.isInteger';
  }
}

function renderTerm(t: Term, typed: boolean): string {
  const x = (i: number) => `x[${i % N}]!`;
  switch (t.k) {
    case 'pred': {
      const call = (m: string) => `x${t.optional ? '?' : ''}.${m}(${predicate(t.p, t.c)})`;
      switch (t.m) {
        case 'filter': return `s += ${call('filter')}.reduce((a: number, v: number) => a + v * v, 0);`;
        case 'find': case 'findLast': return `s += (${call(t.m)} ?? 0.25) * 3;`;
        case 'findIndex': case 'findLastIndex': return `{ const k = ${call(t.m)}; s += k < 0 ? ${x(0)} : x[k]! * x[k]!; }`;
        case 'some': case 'every': return `s += ${call(t.m)} ? ${x(0)} * 2 : ${x(1)} * ${x(1)};`;
      }
      break;
    }
    case 'search':
      if (t.m === 'includes') return `s += x.includes(${t.c}) ? ${x(t.i)} * 3 : ${x(t.j)};`;
      return `{ const k = x.${t.m}(${t.c}); s += (k + 2) * ${x(t.i)}; }`;
    case 'keyed':
      switch (t.form) {
        case 'count': return '{ const m = new Map<number, number>(); for (const v of x) m.set(v, (m.get(v) ?? 0) + 1); for (const [kk, cc] of m) s += kk * kk * cc; }';
        case 'unique': return '{ let u = 0; for (const v of new Set(x)) u += Math.sin(v); s += u; }';
        case 'has': return `{ const st = new Set<number>(); for (const v of x) st.add(v); s += st.has(${t.c}) ? ${x(0)} * 2 : ${x(1)} * ${x(1)}; }`;
        case 'get': return `{ const w = new Map([[${t.c}, 3], [1.5, 5]]); s += x.reduce((a: number, v: number) => a + (w.get(v) ?? 1) * v * v, 0); }`;
      }
      break;
    case 'values':
      switch (t.form) {
        case 'number': return 's += Array.from(x).map(Number).reduce((a, v) => a + v * v, 0);';
        case 'abs': return 's += Array.from(x).map(Math.abs).reduce((a, v) => a + v, 0);';
        case 'isInteger': return `s += x.every(Number.isInteger) ? ${x(0)} : 2 * ${x(0)};`;
        case 'boolean': return `s += Array.from(x).map(Boolean).filter(Boolean).length * ${x(1)};`;
      }
      break;
    case 'odd':
      return `{ const o: Record<string, number> = { ['__proto__']: ${x(t.i)}, 1: ${x(t.j)}, length: ${x(t.l)} }; ` +
        `s += o['__proto__']! * o[1]! + (typeof o.length === 'number' ? o['length']! : 0) + (o.length === ${t.c} ? 1 : 0) + (o.length ? 0.5 : 0); }`;
    case 'typed':
      if (!typed) return '';
      switch (t.form) {
        case 'sort': return `{ const y = x.slice().sort(); s += y[0]! * y[${N - 1}]! + y[1]!; }`;
        case 'subarray': return `s += (x as Float64Array).subarray(${t.i % 2 + 1})[0]! * ${x(t.j)};`;
        case 'checks':
          return `s += (x instanceof Float64Array ? 1 : 2) * ${x(t.i)} + (ArrayBuffer.isView(x) ? ${x(t.j)} : 0) + (Array.isArray(x) ? 0 : ${x(t.l)} * ${x(t.l)});`;
      }
      break;
    case 'ckpt': {
      const mode = t.fwd ? 'forward' : 'reverse';
      switch (t.form) {
        case 'inner':
          return `s += grad((q: number) => checkpoint((u: number) => Math.sin(u * q) + u * ${x(t.l)})(${x(t.i)}), { mode: '${mode}' })(${x(t.j)});`;
        case 'label':
          return `s += checkpoint((u: number, label: string, none: null) => (label === 'twice' && none === null ? u * u * 2 : u))(${x(t.i)}, 'twice', null);`;
        case 'pullback':
          return `{ const [, pb] = vjp((u: number) => checkpoint((w: number) => w * w * ${x(t.l)})(u), ${x(t.i)}); s += (pb(1) as number) * ${x(t.j)}; }`;
      }
    }
  }
  return '';
}

export interface RenderedNatives {
  source: string;
  /** The body of f, for failure messages. */
  shown: string;
  typed: boolean;
  /** Whether a derivative is taken inside f (values agree to rounding, not bit for bit). */
  nested: boolean;
}

export function renderNativesModule(ast: NativesAst): RenderedNatives {
  const param = ast.typed ? 'x: Float64Array' : 'x: number[]';
  const body = ast.terms.map((t) => `  ${renderTerm(t, ast.typed)}`).filter((l) => l.trim() !== '').join('\n');
  const fn = (name: string) => `export function ${name}(${param}): number {\n  let s = 0;\n${body}\n  return s;\n}\n`;
  const source =
    `import { checkpoint, grad, hessian, jacobian, valueAndGrad, vjp } from 'dualtape';\n\n` +
    fn('f_plain') + '\n' + fn('f') + '\n' +
    `export const gr = grad(f);\n` +
    `export const gf = grad(f, { mode: 'forward' });\n` +
    `export const vr = valueAndGrad(f);\n` +
    `export const he = hessian(f);\n` +
    `export const rr = jacobian(grad(f), { mode: 'reverse' });\n`;
  return { source, shown: fn('f'), typed: ast.typed, nested: ast.terms.some((t) => t.k === 'ckpt') };
}
