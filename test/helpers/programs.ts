/**
 * Random programs for the property tests (test/property.test.ts).
 *
 * `programArb` generates the AST of a small TypeScript module: a function `f`
 * of `x: number[]` (length 2-5) or of scalars `a, b, c` (1-3 of them), built
 * from arithmetic, Math functions, local variables, arrays and objects,
 * closures, destructuring, `for` / `for...of` / `while` loops with
 * accumulators, break / continue, `++`/`--`, if/else, early returns,
 * ternaries, && / ||, map/reduce, sort with a comparator, calls to helper
 * functions of the same module (which may call each other, or themselves with
 * a depth counter) and nested derivatives of helpers
 * (`grad(h, { argnums: 0 })(u, v)`). `renderModule` turns it into the source
 * of a module that hands `f` to `grad` and `valueAndGrad` (both modes), so
 * that the dualtape Babel plugin compiles it exactly as a user's file.
 *
 * Shrinking: the AST refers to variables, arrays and helpers by *number*,
 * resolved modulo what is in scope at render time, so every AST (in particular
 * every shrunk one) renders to a valid program, and fast-check's shrinking of
 * the tree shrinks the program.
 *
 * Values stay finite, and smooth unless a construct is flagged: `log`, `sqrt`,
 * `cbrt`, real powers, powers with a variable exponent and divisors get a
 * positive argument by construction (`1 + e ** 2`, `2 + Math.sin(e)`,
 * `Math.exp(e)`, ...), `tan` gets `Math.tanh(e)`, `atan2`'s second argument is
 * positive, smooth `hypot` gets a constant 1 among its arguments. The
 * non-smooth constructs (abs, max, min, sort, hypot without the 1,
 * comparisons in if / early return / break / ternary, && / ||) set
 * `nonSmooth`. The module also exports `f_probe`, a copy of `f` that logs
 * every such decision (the sign of abs's and hypot's arguments, which
 * arguments of max/min win, the order sort puts its elements in, each
 * comparison's outcome, each && / || operand's truthiness) into `__log`, so a
 * finite-difference check can tell whether its stencil crossed a kink; it
 * also counts the intermediate values that are not finite (overflow, which
 * the guards make rare but cannot exclude) in `__values.nonFinite`, and keeps
 * the largest magnitude of the others in `__values.maxAbs` (the rounding
 * noise of a finite difference is proportional to it).
 *
 * The module exports:
 *   f        the function handed to grad (absent when it is written inline)
 *   f_plain  an identical copy that is never handed to grad (reference values)
 *   f_probe  an identical copy that logs its decisions into __log and the
 *            magnitude of its intermediate values into __values
 *   gr, gf   grad(f) in reverse and forward mode
 *   vr, vf   valueAndGrad(f) in reverse and forward mode
 *   ga       grad(f, { argnums }) with the arguments in reverse order (see `argnumsOf`)
 *
 * NOTE: this file does not import the library; it only writes source text.
 */
import fc from 'fast-check';

// ---------------------------------------------------------------------------
// The AST
// ---------------------------------------------------------------------------

export type Expr =
  | { k: 'var'; i: number }
  | { k: 'const'; v: number }
  | { k: 'bin'; op: '+' | '-' | '*'; l: Expr; r: Expr }
  | { k: 'div'; l: Expr; r: Expr; g: number }
  | { k: 'neg'; e: Expr }
  | { k: 'powi'; e: Expr; n: number; math: boolean }
  | { k: 'powr'; e: Expr; r: number; g: number; math: boolean }
  | { k: 'powv'; b: Expr; e: Expr; g: number; math: boolean }
  | { k: 'un'; f: UnaryFn; e: Expr }
  | { k: 'guard'; f: GuardedFn; e: Expr; g: number }
  | { k: 'atan2'; l: Expr; r: Expr; g: number }
  | { k: 'hypot'; args: Expr[]; one: boolean }
  | { k: 'abs'; e: Expr }
  | { k: 'minmax'; f: 'max' | 'min'; args: Expr[] }
  | { k: 'spreadmm'; f: 'max' | 'min'; arr: number[] }
  | { k: 'sortpick'; arr: number[]; i: number; desc: boolean }
  | { k: 'tern'; c: Cmp; a: Expr; b: Expr }
  | { k: 'logic'; op: '&&' | '||'; l: Expr; r: Expr }
  | { k: 'call'; h: number; a: Expr; b: Expr; d: number }
  | { k: 'dgrad'; h: number; a: Expr; b: Expr; d: number; fwd: boolean }
  | { k: 'fold'; arr: number[]; body: Expr; init: number }
  | { k: 'mapred'; arr: number[]; body: Expr; op: '+' | '*' }
  | { k: 'maph'; arr: number[]; h: number }
  | { k: 'hval'; h: number; a: Expr; b: Expr; d: number; how: HelperValueCall }
  | { k: 'ext'; which: 0 | 1; use: ExtUse; a: Expr; b: Expr; arr: number[] };

/**
 * A helper called through a function value: `h.call(null, …)`, `h.apply(null,
 * […])`, `h.bind(null)(…)`, `[h][0](…)`, `({ f: h }).f(…)`, `h?.(…)`, or
 * looked up in a Map keyed by the function (`new Map([[h, 2]]).get(h) * …`,
 * which must see the function itself, not its compiled twin).
 */
export type HelperValueCall = 'call' | 'apply' | 'bind' | 'array' | 'object' | 'optional' | 'mapKey';

/**
 * A module of helpers marked 'use differentiable' that generated programs
 * import (`import { ext0, ext1, extObj, ExtLayer } from './ext'`): a
 * declaration, an arrow, an object-literal method and a class method, all
 * smooth. Test files write it as `ext.ts` next to the generated modules
 * (EXT_FILE). Plain and probe copies call the same functions: a plain call of
 * a marked function runs it as written.
 */
export const EXT_FILE = 'ext.ts';
export const EXT_MODULE = `'use differentiable';
export function ext0(u: number, v: number): number { return Math.tanh(u) * v + u; }
export const ext1 = (u: number, v: number): number => Math.sin(u * v) + 0.5 * u;
export const extObj = {
  k: 1.5,
  scale(u: number, v: number): number { return this.k * u + Math.atan(v); },
};
export class ExtLayer {
  constructor(readonly w: number) {}
  apply(u: number, v: number): number { return this.w * Math.cos(u) + v * v; }
}
export const extLayer = new ExtLayer(0.75);
`;
const EXT_IMPORT = `import { ext0, ext1, extLayer, extObj } from './ext';`;
export type ExtUse = 'call' | 'map' | 'value' | 'bind' | 'method' | 'classMethod' | 'methodValue';
const EXT_USES: ExtUse[] = ['call', 'map', 'value', 'bind', 'method', 'classMethod', 'methodValue'];
const HELPER_VALUE_CALLS: HelperValueCall[] = ['call', 'apply', 'bind', 'array', 'object', 'optional', 'mapKey'];

export interface Cmp {
  op: '<' | '<=' | '>' | '>=';
  l: Expr;
  r: Expr;
}

export type Stmt =
  | { k: 'let'; e: Expr }
  | { k: 'assign'; v: number; op: '=' | '+=' | '-=' | '*='; e: Expr }
  | { k: 'inc'; v: number; op: '++' | '--'; prefix: boolean }
  | { k: 'arr'; es: Expr[] }
  | { k: 'obj'; p: Expr; q: Expr }
  | { k: 'brk'; c: Cmp; cont: boolean }
  | { k: 'destr'; arr: number[]; n: number }
  | { k: 'closure'; e: Expr }
  | { k: 'for'; of: boolean; a: number; n: number; acc: '+=' | '*='; init: number; body: Stmt[]; e: Expr }
  | { k: 'while'; n: number; body: Stmt[] }
  | { k: 'if'; c: Cmp; then: Stmt[]; else: Stmt[] }
  | { k: 'retif'; c: Cmp; e: Expr };

export interface Helper {
  /** Recursive with a depth counter: `h(u, d)`, d <= 0 ends. */
  rec: boolean;
  arrow: boolean;
  body: Stmt[];
  ret: Expr;
  /** Add the locals in scope at the return to the result, so that they are live. */
  live: boolean;
  /** Recursive helpers only: the base case and the argument of the recursive call. */
  base: Expr;
  inner: Expr;
}

export interface ProgramAst {
  params: { vec: boolean; n: number };
  /** decl: `function f`; arrow: `const f = (...) => {}`; inline: `grad((...) => {})`. */
  style: 'decl' | 'arrow' | 'inline';
  helpers: Helper[];
  body: Stmt[];
  ret: Expr;
  /** Add the locals in scope at the return to the result, so that they are live. */
  live: boolean;
}

export type UnaryFn = 'sin' | 'cos' | 'atan' | 'tanh' | 'exp' | 'sinh' | 'cosh' | 'expm1' | 'asinh';
export type GuardedFn = 'log' | 'sqrt' | 'cbrt' | 'log1p' | 'tan' | 'log2' | 'log10';

const UNARY: UnaryFn[] = ['sin', 'cos', 'atan', 'tanh', 'exp', 'sinh', 'cosh', 'expm1', 'asinh'];
const GUARDED: GuardedFn[] = ['log', 'sqrt', 'cbrt', 'log1p', 'tan', 'log2', 'log10'];
const CONSTANTS = [1, 2, 0.5, 3, 0, -1, 1.5, 0.25, -0.5, 0.1];
const REAL_EXPONENTS = [0.5, 1.5, -0.5, 2.5, 1 / 3, -1.25, 0.75];

// ---------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------

export interface ProgramArbOptions {
  /** Maximum depth of expression trees (default 4). */
  exprDepth?: number;
  /** Maximum nesting of statements (default 2). */
  stmtDepth?: number;
  /** Allow non-smooth constructs (default true). */
  nonSmooth?: boolean;
  /** Allow nested derivatives `grad(helper)(...)` inside programs (default true). */
  nested?: boolean;
}

const c = <T extends string>(v: T) => fc.constant(v);
const cmpOp = fc.constantFrom('<' as const, '<=' as const, '>' as const, '>=' as const);

export function programArb(opts: ProgramArbOptions = {}): fc.Arbitrary<ProgramAst> {
  const exprDepth = opts.exprDepth ?? 4;
  const stmtDepth = opts.stmtDepth ?? 2;
  const allowKinks = opts.nonSmooth ?? true;
  const nested = opts.nested ?? true;

  const idx = fc.nat({ max: 1000 });
  const arrRefs = fc.array(fc.nat({ max: 1000 }), { maxLength: 3 });
  const depth = fc.integer({ min: 0, max: 3 });

  const { expr } = fc.letrec<{ expr: Expr }>((tie) => {
    const e = tie('expr');
    const cmp = fc.record({ op: cmpOp, l: e, r: e });
    const binOp = fc.constantFrom('+' as const, '-' as const, '*' as const);
    const smooth: [fc.Arbitrary<Expr>, number][] = [
      [fc.record({ k: c('bin'), op: binOp, l: e, r: e }), 6],
      [fc.record({ k: c('div'), l: e, r: e, g: idx }), 2],
      [fc.record({ k: c('neg'), e }), 1],
      [fc.record({ k: c('powi'), e, n: fc.integer({ min: 2, max: 4 }), math: fc.boolean() }), 2],
      [fc.record({ k: c('powr'), e, r: fc.constantFrom(...REAL_EXPONENTS), g: idx, math: fc.boolean() }), 2],
      [fc.record({ k: c('powv'), b: e, e, g: idx, math: fc.boolean() }), 1],
      [fc.record({ k: c('un'), f: fc.constantFrom(...UNARY), e }), 4],
      [fc.record({ k: c('guard'), f: fc.constantFrom(...GUARDED), e, g: idx }), 3],
      [fc.record({ k: c('atan2'), l: e, r: e, g: idx }), 1],
      [fc.record({ k: c('hypot'), args: fc.array(e, { minLength: 1, maxLength: 3 }), one: fc.constant(true) }), 1],
      [fc.record({ k: c('call'), h: idx, a: e, b: e, d: depth }), 4],
      [fc.record({ k: c('fold'), arr: arrRefs, body: e, init: fc.constantFrom(0, 1, 0.5) }), 1],
      [fc.record({ k: c('mapred'), arr: arrRefs, body: e, op: fc.constantFrom('+' as const, '*' as const) }), 1],
      [fc.record({ k: c('maph'), arr: arrRefs, h: idx }), 1],
      [fc.record({ k: c('hval'), h: idx, a: e, b: e, d: depth, how: fc.constantFrom(...HELPER_VALUE_CALLS) }), 1],
      [fc.record({ k: c('ext'), which: fc.constantFrom(0 as const, 1 as const), use: fc.constantFrom(...EXT_USES), a: e, b: e, arr: arrRefs }), 1],
    ];
    if (nested) smooth.push([fc.record({ k: c('dgrad'), h: idx, a: e, b: e, d: depth, fwd: fc.boolean() }), 1]);
    const kinky: [fc.Arbitrary<Expr>, number][] = allowKinks
      ? [
          [fc.record({ k: c('abs'), e }), 1],
          [fc.record({ k: c('minmax'), f: fc.constantFrom('max' as const, 'min' as const), args: fc.array(e, { minLength: 2, maxLength: 3 }) }), 1],
          [fc.record({ k: c('spreadmm'), f: fc.constantFrom('max' as const, 'min' as const), arr: arrRefs }), 1],
          [fc.record({ k: c('sortpick'), arr: arrRefs, i: idx, desc: fc.boolean() }), 1],
          [fc.record({ k: c('hypot'), args: fc.array(e, { minLength: 1, maxLength: 2 }), one: fc.constant(false) }), 1],
          [fc.record({ k: c('tern'), c: cmp, a: e, b: e }), 1],
          [fc.record({ k: c('logic'), op: fc.constantFrom('&&' as const, '||' as const), l: e, r: e }), 1],
        ]
      : [];
    const leaf: fc.Arbitrary<Expr> = fc.oneof(
      { arbitrary: fc.record({ k: c('var'), i: idx }), weight: 3 },
      { arbitrary: fc.record({ k: c('const'), v: fc.constantFrom(...CONSTANTS) }), weight: 1 },
    );
    return {
      expr: fc.oneof(
        { maxDepth: exprDepth, depthIdentifier: 'expr', depthSize: 'small', withCrossShrink: true },
        { arbitrary: leaf, weight: 14 },
        ...[...smooth, ...kinky].map(([arbitrary, weight]) => ({ arbitrary, weight })),
      ),
    };
  });

  const { stmt } = fc.letrec<{ stmt: Stmt }>((tie) => {
    const s = tie('stmt');
    const block = fc.array(s, { maxLength: 2, depthIdentifier: 'stmt' });
    const cmp = fc.record({ op: cmpOp, l: expr, r: expr });
    const simple: [fc.Arbitrary<Stmt>, number][] = [
      [fc.record({ k: c('let'), e: expr }), 4],
      [fc.record({ k: c('assign'), v: idx, op: fc.constantFrom('=' as const, '+=' as const, '-=' as const, '*=' as const), e: expr }), 3],
      [fc.record({ k: c('inc'), v: idx, op: fc.constantFrom('++' as const, '--' as const), prefix: fc.boolean() }), 1],
      [fc.record({ k: c('arr'), es: fc.array(expr, { minLength: 1, maxLength: 3 }) }), 1],
      [fc.record({ k: c('obj'), p: expr, q: expr }), 1],
      [fc.record({ k: c('destr'), arr: arrRefs, n: fc.integer({ min: 1, max: 2 }) }), 1],
      [fc.record({ k: c('closure'), e: expr }), 1],
    ];
    const compound: [fc.Arbitrary<Stmt>, number][] = [
      [
        fc.record({
          k: c('for'),
          of: fc.boolean(),
          a: idx,
          n: fc.integer({ min: 1, max: 4 }),
          acc: fc.constantFrom('+=' as const, '*=' as const),
          init: fc.constantFrom(0, 1, 0.5),
          body: block,
          e: expr,
        }),
        2,
      ],
      [fc.record({ k: c('while'), n: fc.integer({ min: 0, max: 3 }), body: block }), 1],
    ];
    if (allowKinks) {
      compound.push([fc.record({ k: c('if'), c: cmp, then: block, else: block }), 2]);
      compound.push([fc.record({ k: c('retif'), c: cmp, e: expr }), 1]);
      compound.push([fc.record({ k: c('brk'), c: cmp, cont: fc.boolean() }), 1]);
    }
    return {
      stmt: fc.oneof(
        { maxDepth: stmtDepth, depthIdentifier: 'stmt', depthSize: 'small', withCrossShrink: true },
        ...[...simple, ...compound].map(([arbitrary, weight]) => ({ arbitrary, weight })),
      ),
    };
  });

  const helper: fc.Arbitrary<Helper> = fc.record({
    rec: fc.boolean(),
    arrow: fc.boolean(),
    body: fc.array(stmt, { maxLength: 2 }),
    ret: expr,
    live: fc.boolean(),
    base: expr,
    inner: expr,
  });
  return fc.record({
    params: fc.oneof(
      fc.record({ vec: fc.constant(true), n: fc.integer({ min: 2, max: 5 }) }),
      fc.record({ vec: fc.constant(false), n: fc.integer({ min: 1, max: 3 }) }),
    ),
    style: fc.constantFrom('decl' as const, 'arrow' as const, 'inline' as const),
    helpers: fc.array(helper, { maxLength: 2 }),
    body: fc.array(stmt, { maxLength: 4 }),
    ret: expr,
    // Mostly true; shrinks to false.
    live: fc.nat({ max: 4 }).map((k) => k > 0),
  });
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

type Mode = 'ad' | 'plain' | 'probe';

interface HelperSig {
  name: string;
  /** `(u, d)` with an integer depth `d`. */
  rec: boolean;
  arity: 1 | 2;
}

interface ArraySig {
  name: string;
  len: number;
}

interface Ctx {
  mode: Mode;
  /** Number-valued expressions readable here (names, `x[2]`), most recent last. */
  scope: string[];
  /** Number-valued places that may be assigned. */
  assignable: string[];
  /** Number-valued locals declared in this function and in scope (for `live`). */
  locals: string[];
  /** Arrays of numbers in scope (`x`, local arrays). */
  arrays: ArraySig[];
  /** Functions callable here. */
  helpers: HelperSig[];
  fresh: (prefix: string) => string;
  flags: { nonSmooth: boolean; nestedGrad: boolean };
  indent: string;
  /** Inside a loop body (break / continue allowed). */
  inLoop: boolean;
}

function suffix(mode: Mode): string {
  return mode === 'ad' ? '' : `_${mode}`;
}

function lit(v: number): string {
  return Object.is(v, -0) || v < 0 ? `(${v})` : String(v);
}

/** A positive expression built from `e`. */
function positive(e: string, g: number): string {
  switch (g % 7) {
    case 0:
      return `(1 + ${e} ** 2)`;
    case 1:
      return `(2 + Math.sin(${e}))`;
    case 2:
      return `Math.exp(${e})`;
    case 3:
      return `(1.5 + Math.tanh(${e}))`;
    case 4:
      return `Math.hypot(1, ${e})`;
    case 5:
      return `Math.cosh(${e})`;
    default:
      return `(1 + Math.exp(${e}))`;
  }
}

function pick<T>(xs: readonly T[], i: number): T | undefined {
  return xs.length === 0 ? undefined : xs[i % xs.length];
}

/** An array-valued expression: a named array when the AST gives at most one reference, else a literal. */
function arraySource(arr: number[], c: Ctx): ArraySig {
  if (arr.length <= 1) {
    const a = pick(c.arrays, arr[0] ?? 0);
    if (a !== undefined) return a;
  }
  const items = (arr.length === 0 ? [0] : arr).map((i) => c.scope[c.scope.length - 1 - (i % c.scope.length)]!);
  return { name: `[${items.join(', ')}]`, len: items.length };
}

function renderCmp(cmp: Cmp, c: Ctx): string {
  c.flags.nonSmooth = true;
  const s = `${renderExpr(cmp.l, c)} ${cmp.op} ${renderExpr(cmp.r, c)}`;
  return c.mode === 'probe' ? `__b(${s})` : `(${s})`;
}

function callArgs(h: HelperSig, a: string, b: () => string, d: number): string {
  return h.rec ? `${a}, ${d}` : h.arity === 2 ? `${a}, ${b()}` : a;
}

export function renderExpr(e: Expr, c: Ctx): string {
  const s = renderNode(e, c);
  // The probe notes the largest intermediate value, and every one that is not finite (overflow, 0 * Infinity).
  return c.mode === 'probe' && e.k !== 'var' && e.k !== 'const' ? `__n(${s})` : s;
}

function renderNode(e: Expr, c: Ctx): string {
  const r = (x: Expr) => renderExpr(x, c);
  switch (e.k) {
    case 'var':
      // Counted from the most recent name (lambda parameter, loop variable, latest local): 0 shrinks towards it.
      return c.scope[c.scope.length - 1 - (e.i % c.scope.length)]!;
    case 'const':
      return lit(e.v);
    case 'bin':
      return `(${r(e.l)} ${e.op} ${r(e.r)})`;
    case 'div':
      return `(${r(e.l)} / ${positive(r(e.r), e.g)})`;
    case 'neg':
      return `(-${r(e.e)})`;
    case 'powi':
      return e.math ? `Math.pow(${r(e.e)}, ${e.n})` : `(${r(e.e)} ** ${e.n})`;
    case 'powr': {
      const b = positive(r(e.e), e.g);
      return e.math ? `Math.pow(${b}, ${lit(e.r)})` : `(${b} ** ${lit(e.r)})`;
    }
    case 'powv': {
      const b = positive(r(e.b), e.g);
      return e.math ? `Math.pow(${b}, ${r(e.e)})` : `(${b} ** ${r(e.e)})`;
    }
    case 'un':
      return `Math.${e.f}(${r(e.e)})`;
    case 'guard': {
      const a = r(e.e);
      if (e.f === 'tan') return `Math.tan(Math.tanh(${a}))`;
      if (e.f === 'log1p') return e.g % 2 === 0 ? `Math.log1p(${a} ** 2)` : `Math.log1p(${positive(a, e.g >> 1)})`;
      return `Math.${e.f}(${positive(a, e.g)})`;
    }
    case 'atan2':
      return `Math.atan2(${r(e.l)}, ${positive(r(e.r), e.g)})`;
    case 'hypot': {
      const args = e.args.map(r);
      if (e.one) return `Math.hypot(${[...args, '1'].join(', ')})`;
      c.flags.nonSmooth = true;
      return `${c.mode === 'probe' ? '__hypot' : 'Math.hypot'}(${args.join(', ')})`;
    }
    case 'abs':
      c.flags.nonSmooth = true;
      return `${c.mode === 'probe' ? '__abs' : 'Math.abs'}(${r(e.e)})`;
    case 'minmax':
      c.flags.nonSmooth = true;
      return `${c.mode === 'probe' ? `__${e.f}` : `Math.${e.f}`}(${e.args.map(r).join(', ')})`;
    case 'spreadmm':
      c.flags.nonSmooth = true;
      return `${c.mode === 'probe' ? `__${e.f}` : `Math.${e.f}`}(...${arraySource(e.arr, c).name})`;
    case 'sortpick': {
      c.flags.nonSmooth = true;
      const src = arraySource(e.arr, c);
      const k = e.i % src.len;
      if (c.mode === 'probe') return `__sort(${src.name}, ${e.desc})[${k}]`;
      const p = c.fresh('p');
      const q = c.fresh('q');
      return `${src.name}.slice().sort((${p}, ${q}) => ${e.desc ? `${q} - ${p}` : `${p} - ${q}`})[${k}]`;
    }
    case 'tern':
      return `(${renderCmp(e.c, c)} ? ${r(e.a)} : ${r(e.b)})`;
    case 'logic': {
      c.flags.nonSmooth = true;
      const l = r(e.l);
      return `(${c.mode === 'probe' ? `__t(${l})` : l} ${e.op} ${r(e.r)})`;
    }
    case 'call': {
      const h = pick(c.helpers, e.h);
      if (!h) return `(${r(e.a)})`;
      return `${h.name}(${callArgs(h, r(e.a), () => r(e.b), e.d)})`;
    }
    case 'hval': {
      const h = pick(c.helpers, e.h);
      if (!h) return `(${r(e.a)})`;
      const args = callArgs(h, r(e.a), () => r(e.b), e.d);
      switch (e.how) {
        case 'call': return `${h.name}.call(null, ${args})`;
        case 'apply': return `${h.name}.apply(null, [${args}])`;
        case 'bind': return `${h.name}.bind(null)(${args})`;
        case 'array': return `[${h.name}][0]!(${args})`;
        case 'object': return `({ fn: ${h.name} }).fn(${args})`;
        case 'optional': return `${h.name}?.(${args})`;
        case 'mapKey': return `(new Map<unknown, number>([[${h.name}, 2]]).get(${h.name}) ?? 0) * ${h.name}(${args})`;
      }
    }
    case 'ext': {
      // An imported 'use differentiable' helper, called or used as a value.
      const f = e.which === 0 ? 'ext0' : 'ext1';
      const a = r(e.a);
      switch (e.use) {
        case 'call': return `${f}(${a}, ${r(e.b)})`;
        case 'value': { const g = c.fresh('g'); return `((${g}: typeof ${f}) => ${g}(${a}, ${r(e.b)}))(${f})`; }
        case 'bind': return `${f}.bind(null, ${a})(${r(e.b)})`;
        case 'method': return `extObj.scale(${a}, ${r(e.b)})`;
        case 'classMethod': return `extLayer.apply(${a}, ${r(e.b)})`;
        case 'methodValue': return `[extObj.scale][0]!.call(extObj, ${a}, ${r(e.b)})`;
        case 'map': {
          const arr = arraySource(e.arr, c).name;
          const p = c.fresh('p');
          const q = c.fresh('q');
          // map passes (element, index, array): the index is the helper's second number.
          return `${arr}.map(${f}).reduce((${p}, ${q}) => ${p} + ${q}, 0)`;
        }
      }
    }
    case 'dgrad': {
      // A nested derivative: d/du of a helper, taken inside the differentiated code.
      const h = pick(c.helpers, e.h);
      if (!h) return `(${r(e.a)})`;
      c.flags.nestedGrad = true;
      const opts = [...(h.arity === 2 ? ['argnums: 0'] : []), ...(e.fwd ? ["mode: 'forward'"] : [])];
      return `grad(${h.name}${opts.length ? `, { ${opts.join(', ')} }` : ''})(${callArgs(h, r(e.a), () => r(e.b), e.d)})`;
    }
    case 'fold': {
      const arr = arraySource(e.arr, c).name;
      const acc = c.fresh('acc');
      const v = c.fresh('v');
      const inner = { ...c, scope: [...c.scope, acc, v] };
      return `${arr}.reduce((${acc}, ${v}) => ${renderExpr(e.body, inner)}, ${lit(e.init)})`;
    }
    case 'mapred': {
      const arr = arraySource(e.arr, c).name;
      const v = c.fresh('v');
      const p = c.fresh('p');
      const q = c.fresh('q');
      const inner = { ...c, scope: [...c.scope, v] };
      return `${arr}.map((${v}) => ${renderExpr(e.body, inner)}).reduce((${p}, ${q}) => ${p} ${e.op} ${q}, ${e.op === '+' ? 0 : 1})`;
    }
    case 'maph': {
      const arr = arraySource(e.arr, c).name;
      const h = pick(c.helpers, e.h);
      const p = c.fresh('p');
      const q = c.fresh('q');
      if (!h) return `${arr}.reduce((${p}, ${q}) => ${p} + ${q}, 0)`;
      // map passes (element, index, array): the index is a two-argument helper's second number
      // (a recursive helper's depth).
      return `${arr}.map(${h.name}).reduce((${p}, ${q}) => ${p} + ${q}, 0)`;
    }
  }
}

function renderStmts(stmts: Stmt[], c: Ctx): string[] {
  // A block has its own scope: declarations inside do not leak out.
  const inner: Ctx = {
    ...c,
    scope: [...c.scope],
    assignable: [...c.assignable],
    locals: [...c.locals],
    arrays: [...c.arrays],
    helpers: [...c.helpers],
  };
  const out: string[] = [];
  for (const s of stmts) out.push(...renderStmt(s, inner));
  return out;
}

function renderStmt(s: Stmt, c: Ctx): string[] {
  const ind = c.indent;
  const deeper: Ctx = { ...c, indent: ind + '  ' };
  switch (s.k) {
    case 'let': {
      const name = c.fresh('t');
      const line = `${ind}let ${name} = ${renderExpr(s.e, c)};`;
      c.scope.push(name);
      c.assignable.push(name);
      c.locals.push(name);
      return [line];
    }
    case 'assign': {
      const place = pick(c.assignable, s.v);
      if (!place) return renderStmt({ k: 'let', e: s.e }, c);
      return [`${ind}${place} ${s.op} ${renderExpr(s.e, c)};`];
    }
    case 'inc': {
      const place = pick(c.assignable, s.v);
      if (!place) return [];
      return [`${ind}${s.prefix ? `${s.op}${place}` : `${place}${s.op}`};`];
    }
    case 'arr': {
      const name = c.fresh('arr');
      const line = `${ind}const ${name} = [${s.es.map((e) => renderExpr(e, c)).join(', ')}];`;
      c.arrays.push({ name, len: s.es.length });
      for (let k = 0; k < s.es.length; k++) {
        c.scope.push(`${name}[${k}]`);
        c.assignable.push(`${name}[${k}]`);
        c.locals.push(`${name}[${k}]`);
      }
      return [line];
    }
    case 'obj': {
      const name = c.fresh('o');
      const line = `${ind}const ${name} = { p: ${renderExpr(s.p, c)}, q: ${renderExpr(s.q, c)} };`;
      for (const key of ['p', 'q']) {
        c.scope.push(`${name}.${key}`);
        c.assignable.push(`${name}.${key}`);
        c.locals.push(`${name}.${key}`);
      }
      return [line];
    }
    case 'brk':
      if (!c.inLoop) return [];
      return [`${ind}if (${renderCmp(s.c, c)}) ${s.cont ? 'continue' : 'break'};`];
    case 'destr': {
      const src = arraySource(s.arr, c);
      const names = Array.from({ length: Math.min(s.n, src.len) }, () => c.fresh('d'));
      c.scope.push(...names);
      c.assignable.push(...names);
      c.locals.push(...names);
      return [`${ind}let [${names.join(', ')}] = ${src.name};`];
    }
    case 'closure': {
      const name = c.fresh('g');
      const w = c.fresh('w');
      const inner: Ctx = { ...c, scope: [...c.scope, w] };
      const line = `${ind}const ${name} = (${w}: number): number => ${renderExpr(s.e, inner)};`;
      c.helpers.push({ name, rec: false, arity: 1 });
      return [line];
    }
    case 'for': {
      const acc = c.fresh('s');
      const lines = [`${ind}let ${acc} = ${lit(s.init)};`];
      const arr = pick(c.arrays, s.a);
      const scope = [...c.scope, acc];
      if (s.of && arr) {
        const v = c.fresh('v');
        lines.push(`${ind}for (const ${v} of ${arr.name}) {`);
        scope.push(v);
      } else {
        const i = c.fresh('i');
        lines.push(`${ind}for (let ${i} = 0; ${i} < ${arr ? `${arr.name}.length` : s.n}; ${i}++) {`);
        scope.push(i);
        if (arr) scope.push(`${arr.name}[${i}]`);
      }
      const inner: Ctx = { ...deeper, scope, assignable: [...c.assignable, acc], locals: [...c.locals, acc], inLoop: true };
      lines.push(...renderStmts(s.body, inner));
      lines.push(`${ind}  ${acc} ${s.acc} ${renderExpr(s.e, inner)};`);
      lines.push(`${ind}}`);
      c.scope.push(acc);
      c.assignable.push(acc);
      c.locals.push(acc);
      return lines;
    }
    case 'while': {
      const j = c.fresh('j');
      // The counter goes up first, so that `continue` cannot skip it.
      return [
        `${ind}let ${j} = 0;`,
        `${ind}while (${j} < ${s.n}) {`,
        `${ind}  ${j}++;`,
        ...renderStmts(s.body, { ...deeper, scope: [...c.scope, j], inLoop: true }),
        `${ind}}`,
      ];
    }
    case 'if':
      return [
        `${ind}if (${renderCmp(s.c, c)}) {`,
        ...renderStmts(s.then, deeper),
        `${ind}} else {`,
        ...renderStmts(s.else, deeper),
        `${ind}}`,
      ];
    case 'retif':
      return [`${ind}if (${renderCmp(s.c, c)}) return ${renderExpr(s.e, c)};`];
  }
}

/** Statements then the return; with `live`, the locals still in scope are added to the result. */
function renderBody(body: Stmt[], ret: Expr, live: boolean, c: Ctx): string[] {
  const inner: Ctx = { ...c, scope: [...c.scope], assignable: [...c.assignable], locals: [...c.locals], arrays: [...c.arrays], helpers: [...c.helpers] };
  const lines: string[] = [];
  for (const s of body) lines.push(...renderStmt(s, inner));
  const result = renderExpr(ret, inner);
  const extra = live ? inner.locals : [];
  lines.push(`  return ${extra.length ? `${result} + ${extra.join(' + ')}` : result};`);
  return lines;
}

function makeFresh(): (prefix: string) => string {
  const counts = new Map<string, number>();
  return (prefix) => {
    const n = counts.get(prefix) ?? 0;
    counts.set(prefix, n + 1);
    return `${prefix}${n}`;
  };
}

export interface RenderedProgram {
  /** The whole module. */
  source: string;
  /** The helpers and the function handed to grad, for failure messages. */
  shown: string;
  vec: boolean;
  /** Number of inputs: the length of x, or the number of scalar parameters. */
  n: number;
  nonSmooth: boolean;
  /** Calls grad inside (a nested derivative). */
  nestedGrad: boolean;
}

const PROBE_UTILS = `
export const __log: number[] = [];
export const __values = { nonFinite: 0, maxAbs: 0 };
function __n(v: number): number {
  // stopGradient: inside a nested grad this runs compiled, on values that carry derivatives.
  const a = Math.abs(stopGradient(v));
  if (!(a < Infinity)) __values.nonFinite++;
  else if (a > __values.maxAbs) __values.maxAbs = a;
  return v;
}
function __sgn(v: number): number {
  return v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : 2;
}
function __abs(v: number): number {
  __log.push(__sgn(v));
  return Math.abs(v);
}
function __hypot(...vs: number[]): number {
  for (const v of vs) __log.push(__sgn(v));
  return Math.hypot(...vs);
}
function __winners(vs: number[], z: number): void {
  let mask = 0;
  for (let k = 0; k < vs.length; k++) if (vs[k] === z) mask |= 1 << k;
  __log.push(z === z ? mask : -1);
}
function __max(...vs: number[]): number {
  const z = Math.max(...vs);
  __winners(vs, z);
  return z;
}
function __min(...vs: number[]): number {
  const z = Math.min(...vs);
  __winners(vs, z);
  return z;
}
function __sort(vs: number[], desc: boolean): number[] {
  const order = vs.map((_, k) => k).sort((i, j) => (desc ? vs[j] - vs[i] : vs[i] - vs[j]));
  __log.push(...order);
  return order.map((k) => vs[k]);
}
function __b(c: boolean): boolean {
  __log.push(c ? 1 : 0);
  return c;
}
function __t(v: number): number {
  __log.push(v ? 1 : 0);
  return v;
}
`;

/** The argnums `ga` is built with: all arguments, in reverse order (a single index for one argument). */
export function argnumsOf(p: { vec: boolean; n: number }): number | number[] {
  const count = p.vec ? 1 : p.n;
  return count === 1 ? 0 : Array.from({ length: count }, (_, k) => count - 1 - k);
}

export function renderModule(ast: ProgramAst): RenderedProgram {
  const flags = { nonSmooth: false, nestedGrad: false };
  const { vec, n } = ast.params;
  const names = vec ? ['x'] : ['a', 'b', 'c'].slice(0, n);
  const paramList = vec ? 'x: number[]' : names.map((p) => `${p}: number`).join(', ');
  const sigs = (mode: Mode, count: number): HelperSig[] =>
    ast.helpers.slice(0, count).map((g, j) => ({ name: `h${j}${suffix(mode)}`, rec: g.rec, arity: 2 }));

  // Helper k may call helpers 0..k-1, and itself (if recursive) through its depth counter.
  const helpersFor = (mode: Mode) =>
    ast.helpers.map((h, k) => {
      const name = `h${k}${suffix(mode)}`;
      const second = h.rec ? 'd' : 'v';
      const c: Ctx = {
        mode,
        scope: h.rec ? ['u'] : ['u', 'v'],
        assignable: h.rec ? ['u'] : ['u', 'v'],
        locals: h.rec ? ['u'] : ['u', 'v'],
        arrays: [],
        helpers: sigs(mode, k),
        fresh: makeFresh(),
        flags,
        indent: '  ',
        inLoop: false,
      };
      const lines: string[] = [];
      if (h.rec) {
        lines.push(`  if (d <= 0) return ${renderExpr(h.base, c)};`);
        const r = c.fresh('r');
        lines.push(`  const ${r} = ${name}(${renderExpr(h.inner, c)}, d - 1);`);
        c.scope.push(r);
        c.locals.push(r);
      }
      lines.push(...renderBody(h.body, h.ret, h.live, c));
      const head = h.arrow
        ? `const ${name} = (u: number, ${second}: number): number => {`
        : `function ${name}(u: number, ${second}: number): number {`;
      return `${head}\n${lines.join('\n')}\n}${h.arrow ? ';' : ''}`;
    });

  const fnBody = (mode: Mode) => {
    const c: Ctx = {
      mode,
      scope: vec ? Array.from({ length: n }, (_, k) => `x[${k}]`) : [...names],
      assignable: vec ? [] : [...names],
      locals: vec ? [] : [...names],
      arrays: vec ? [{ name: 'x', len: n }] : [],
      helpers: sigs(mode, ast.helpers.length),
      fresh: makeFresh(),
      flags,
      indent: '  ',
      inLoop: false,
    };
    const lines = renderBody(ast.body, ast.ret, ast.live, c);
    return `{\n${lines.join('\n')}\n}`;
  };

  const arrowOf = (mode: Mode) => `(${paramList}): number => ${fnBody(mode)}`;
  const declOf = (name: string, mode: Mode) => `function ${name}(${paramList}): number ${fnBody(mode)}`;

  const out: string[] = [`import { grad, stopGradient, valueAndGrad } from 'dualtape';`, EXT_IMPORT, ''];
  const shown: string[] = [];
  const adHelpers = helpersFor('ad');
  shown.push(...adHelpers);
  out.push(...adHelpers, '');
  let target: string;
  if (ast.style === 'decl') {
    const src = `export ${declOf('f', 'ad')}`;
    out.push(src);
    shown.push(src);
    target = 'f';
  } else if (ast.style === 'arrow') {
    const src = `export const f = ${arrowOf('ad')};`;
    out.push(src);
    shown.push(src);
    target = 'f';
  } else {
    target = arrowOf('ad');
    shown.push(`grad(${target})`);
  }
  const argnums = JSON.stringify(argnumsOf(ast.params)).replace(/,/g, ', ');
  out.push(
    '',
    `export const gr = grad(${target});`,
    `export const gf = grad(${target}, { mode: 'forward' });`,
    `export const vr = valueAndGrad(${target});`,
    `export const vf = valueAndGrad(${target}, { mode: 'forward' });`,
    `export const ga = grad(${target}, { argnums: ${argnums} });`,
    '',
    '// Never handed to grad: reference values.',
    ...helpersFor('plain'),
    `export ${declOf('f_plain', 'plain')}`,
    '',
    '// Never handed to grad: logs its decisions (kinks) into __log.',
    PROBE_UTILS,
    ...helpersFor('probe'),
    `export ${declOf('f_probe', 'probe')}`,
    '',
  );
  return { source: out.join('\n'), shown: shown.join('\n'), vec, n, nonSmooth: flags.nonSmooth, nestedGrad: flags.nestedGrad };
}

/** The arguments of f at a point (its first n coordinates). */
export function argsAt(p: { vec: boolean; n: number }, point: readonly number[]): unknown[] {
  const xs = point.slice(0, p.n);
  return p.vec ? [xs] : xs;
}

/** A gradient as returned by grad/valueAndGrad, flattened to one number per input. */
export function flatGrad(p: { vec: boolean; n: number }, g: unknown): number[] {
  if (p.vec) return Array.from(g as ArrayLike<number>);
  return p.n === 1 ? [g as number] : Array.from(g as ArrayLike<number>);
}
