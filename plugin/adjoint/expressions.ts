/**
 * Expressions: printing them (forward code and values re-read in the reverse
 * sweep), and their adjoints. The adjoint of an expression with respect to
 * each of its active leaves is built as the statement-level fast path does
 * (preaccumulate.ts): the tree's local partials come from `runtime/rules.ts`
 * evaluated on syntax by `symbolic.ts`, chained from the root to the leaves.
 * A partial the symbolic kernel cannot inline (it looks at a value, such as
 * pow's zero-base case or max's ties) becomes a call of the runtime helper
 * that runs the same rule on numbers. No derivative is written here.
 */
import _generate from '@babel/generator';
import type * as BabelTypes from '@babel/types';
import { binaryRules, unaryRules } from '../../runtime/rules.js';
import type { BinaryName, UnaryName } from '../../runtime/rules.js';
import { symbolicKernel, symbolicPartial } from '../symbolic.js';
import type { Sym } from '../symbolic.js';
import { ARITH, Fallback, PIECEWISE, isActive } from './model.js';
import type { Expr, Var } from './model.js';

type T = typeof import('@babel/core').types;
type Ast = BabelTypes.Expression;

type Generate = (ast: BabelTypes.Node) => { code: string };
const generate = ((_generate as unknown as { default?: Generate }).default ?? _generate) as unknown as Generate;

const BINARY: Readonly<Record<string, BinaryName>> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod', '**': 'pow' };
/** Rules whose partial can be infinite at finite arguments: a zero adjoint must not meet them (0 × ∞ = 0). */
const SINGULAR = new Set(['sqrt', 'cbrt', 'log', 'log1p', 'log2', 'log10', 'asin', 'acos', 'atanh', 'acosh', 'tan', 'div', 'pow', 'mod', 'atan2', 'hypot']);

/** Prints expressions of the intermediate form; records the variables it reads when asked. */
export class Printer {
  /** Variables read by what is printed (when set). */
  reads: Set<Var> | null = null;

  constructor(
    /** The adjoint (shadow) name of a variable. */
    readonly shadowName: (v: Var) => string,
    /** The local name of a runtime helper. */
    readonly helper: (name: string) => string,
    /** The generated name of a compiled function's forward code for a call. */
    readonly callName: (fn: string, args: Expr[]) => string,
  ) {}

  print(e: Expr): string {
    switch (e.k) {
      case 'num': return Object.is(e.v, -0) ? '-0' : String(e.v);
      case 'var':
        this.reads?.add(e.v);
        return e.v.name;
      case 'ext': return e.code;
      case 'idx': return `${this.atom(e.obj)}[${this.print(e.index)}]`;
      case 'prop': return `${this.atom(e.obj)}.${e.name}`;
      case 'bin': case 'logic': return `${this.atom(e.l)} ${e.op} ${this.atom(e.r)}`;
      case 'un': return `${e.op}${this.atom(e.e)}`;
      case 'math': return `Math.${e.name}(${e.args.map((a) => this.print(a)).join(', ')})`;
      case 'cond': return `${this.atom(e.test)} ? ${this.atom(e.a)} : ${this.atom(e.b)}`;
      case 'call': return `${this.callName(e.fn, e.args)}(${e.args.map((a) => this.print(a)).join(', ')})`;
      case 'opaque': return `${e.recv ? this.atom(e.recv) : ''}${e.head}(${e.args.map((a) => this.print(a)).join(', ')})`;
      case 'newarr':
        if (e.how === 'fill') return `new Array(${this.print(e.n!)}).fill(${this.print(e.fill!)})`;
        return e.how === 'empty' ? '[]' : `new ${e.typed}(${this.print(e.n!)})`;
      case 'arrlit': return `[${e.elems.map((a) => this.print(a)).join(', ')}]`;
    }
  }

  /** Parenthesized unless it is a name, a number or a member read. */
  atom(e: Expr): string {
    const s = this.print(e);
    if (e.k === 'var' || e.k === 'ext' || e.k === 'idx' || e.k === 'prop' || e.k === 'math' || e.k === 'call' || (e.k === 'num' && e.v >= 0)) return s;
    return `(${s})`;
  }

  /** The shadow (adjoint) of an active array or array element: `x_b`, `W_b[j]`. */
  shadow(e: Expr): string {
    if (e.k === 'var') {
      this.reads?.add(e.v);
      return this.shadowName(e.v);
    }
    if (e.k === 'idx') return `${this.shadow(e.obj)}[${this.print(e.index)}]`;
    throw new Error('dualtape internal: no shadow for this expression');
  }
}

// ---------------------------------------------------------------------------
// Adjoints of one expression
// ---------------------------------------------------------------------------

interface OpNode {
  k: 'op';
  kind: 'unary' | 'binary' | 'variadic';
  name: string;
  args: TreeNode[];
  src: Expr;
  value?: string;
}
interface LeafNode {
  k: 'leaf';
  e: Expr;
  active: boolean;
}
type TreeNode = OpNode | LeafNode | { k: 'const'; v: number };

export interface ExprAdjoint {
  /** Temporaries the partials read (values of inner operations), in order. */
  temps: string[];
  /** For each active leaf: the leaf and its partial's code (or number). */
  terms: [Expr, string | number][];
  /** A partial may be infinite: guard the statement's reverse with a zero test. */
  singular: boolean;
}

/**
 * The partials of `e` with respect to its active leaves (variables and array
 * elements). `z` is the code of e's value when the caller has it (the target
 * of an assignment), else it is recomputed.
 */
export function adjointOf(t: T, pr: Printer, e: Expr, z: string | undefined, tempPrefix: string): ExprAdjoint {
  const K = symbolicKernel(t);
  let singular = false;
  const build = (x: Expr): TreeNode => {
    if (x.k === 'num') return { k: 'const', v: x.v };
    if (!isActive(x)) return { k: 'leaf', e: x, active: false };
    if (x.k === 'un' && x.op === '-') return { k: 'op', kind: 'unary', name: 'neg', args: [build(x.e)], src: x };
    if (x.k === 'bin' && ARITH.has(x.op)) return { k: 'op', kind: 'binary', name: BINARY[x.op]!, args: [build(x.l), build(x.r)], src: x };
    if (x.k === 'math' && !PIECEWISE.has(x.name)) {
      const kind = x.name in unaryRules ? 'unary' : x.name === 'pow' || x.name === 'atan2' ? 'binary' : 'variadic';
      return { k: 'op', kind, name: x.name, args: x.args.map(build), src: x };
    }
    if (x.k !== 'var' && x.k !== 'idx') throw new Fallback(`a value that carries a derivative goes through ${x.k === 'cond' ? '?:' : 'an expression'} the adjoint tier does not differentiate`, 0);
    return { k: 'leaf', e: x, active: true };
  };
  const root = build(e);
  const temps: string[] = [];
  const used = new Map<string, OpNode>();
  let count = 0;
  const ident = (code: string): Ast => t.identifier(code);
  const valueOf = (n: TreeNode): Sym => {
    if (n.k === 'const') return n.v;
    if (n.k === 'leaf') return ident(n.e.k === 'var' || n.e.k === 'idx' || n.e.k === 'ext' ? pr.print(n.e) : `(${pr.print(n.e)})`);
    if (n === root && z !== undefined) return ident(z);
    if (n.value === undefined) {
      n.value = `${tempPrefix}${++count}`;
      used.set(n.value, n);
    }
    return ident(n.value);
  };
  const helperCall = (name: string, args: (string | number | Sym)[]): Ast =>
    t.callExpression(t.identifier(name), args.map((a) => (typeof a === 'string' ? t.stringLiteral(a) : typeof a === 'number' ? t.valueToNode(a) as Ast : K.lit(a))));
  const local = (n: OpNode, i: number): Sym => {
    const xs = n.args.map(valueOf);
    const zv = valueOf(n);
    if (isSingular(n)) singular = true;
    if (n.kind === 'unary') {
      const rule = unaryRules[n.name as UnaryName];
      return symbolicPartial(() => rule.d(K, xs[0] as never, zv as never) as never) ??
        helperCall(pr.helper('adjUnary'), [n.name, xs[0]!, zv]);
    }
    if (n.kind === 'binary') {
      const rule = binaryRules[n.name as BinaryName];
      return symbolicPartial(() => (i === 0 ? rule.dx : rule.dy)(K, xs[0] as never, xs[1] as never, zv as never) as never) ??
        helperCall(pr.helper('adjBinary'), [n.name, i, xs[0]!, xs[1]!, zv]);
    }
    singular = true;
    return t.callExpression(t.identifier(pr.helper('adjVariadic')), [
      t.stringLiteral(n.name), t.numericLiteral(i), t.arrayExpression(xs.map((x) => K.lit(x))), K.lit(zv),
    ]);
  };
  const hasActive = (n: TreeNode): boolean => (n.k === 'leaf' ? n.active : n.k === 'op' ? n.args.some(hasActive) : false);
  const contributions = new Map<string, [Expr, Sym[]]>();
  // The chain rule's intermediate adjoints, named when compound, so each is computed once.
  const chain: string[] = [];
  const backward = (n: TreeNode, adj: Sym): void => {
    if (n.k === 'const') return;
    if (n.k === 'op' && typeof adj !== 'number' && adj.type !== 'Identifier' && n.args.filter(hasActive).length > 0) {
      const name = `${tempPrefix.slice(0, -1)}d${chain.length + 1}`;
      chain.push(`const ${name} = ${code(adj)};`);
      adj = ident(name);
    }
    if (n.k === 'leaf') {
      if (!n.active) return;
      const saved = pr.reads;
      pr.reads = null;
      const key = pr.print(n.e);
      pr.reads = saved;
      const entry = contributions.get(key) ?? [n.e, []];
      entry[1].push(adj);
      contributions.set(key, entry);
      return;
    }
    n.args.forEach((c, i) => {
      if (!hasActive(c)) return;
      const p = local(n, i);
      // 0 × ∞ = 0 inside the chain, where a partial may be infinite.
      // 0 × ∞ = 0, as the tape's fast path does it: a product of two computed factors is 0 when either is 0
      // (a partial overflows: cosh(903); or is infinite at a kink: sqrt'(0)).
      // A constant factor may be infinite too (a folded 1 / 0): it needs the guard as well, and two
      // constant factors fold with the same convention.
      const open = (v: Sym) => typeof v !== 'number' || !Number.isFinite(v);
      const both = open(p) && open(adj);
      const next = typeof p === 'number' && typeof adj === 'number'
        ? (p === 0 || adj === 0 ? 0 : p * adj)
        : both
        ? t.conditionalExpression(
            t.logicalExpression('||', t.binaryExpression('===', K.lit(adj), t.numericLiteral(0)), t.binaryExpression('===', K.lit(p), t.numericLiteral(0))),
            t.numericLiteral(0), t.binaryExpression('*', K.lit(adj), K.lit(p)))
        : (K.mul(adj as never, p as never) as unknown as Sym);
      backward(c, next);
    });
  };
  backward(root, 1);
  const terms: [Expr, string | number][] = [];
  for (const [, [leaf, parts]] of contributions) {
    // Equal contributions (a leaf used twice the same way, as in `a * a`) are summed as one multiple.
    const groups = new Map<string, [Sym, number]>();
    for (const c of parts) {
      const key = typeof c === 'number' ? `#${c}` : code(c);
      const g = groups.get(key);
      if (g) g[1]++;
      else groups.set(key, [c, 1]);
    }
    let sum: Sym = 0;
    for (const [c, k] of groups.values()) sum = K.add(sum as never, K.mul(k as never, c as never) as never) as unknown as Sym;
    terms.push([leaf, typeof sum === 'number' ? sum : code(sum)]);
    // A partial computed from values may be infinite: a zero adjoint must then contribute nothing (the tape skips it).
    if (typeof sum !== 'number') singular = true;
  }
  // Values of inner operations the partials read, innermost first.
  const text = [...terms.map(([, c]) => String(c)), ...chain].join(' ');
  const mentions = (src: string, name: string): boolean => new RegExp(`${name.replace(/\$/g, '\\$')}(?![0-9])`).test(src);
  const needed = [...used.keys()].filter((name) => mentions(text, name));
  const order: OpNode[] = [];
  const post = (n: TreeNode): void => {
    if (n.k !== 'op') return;
    n.args.forEach(post);
    order.push(n);
  };
  post(root);
  const needSet = new Set(needed);
  // A needed value may itself be printed with other temporaries: include those transitively.
  for (const n of [...order].reverse()) {
    if (n.value === undefined || !needSet.has(n.value)) continue;
    const src = printOp(n, valueOf);
    for (const [name] of used) if (mentions(src, name)) needSet.add(name);
  }
  for (const n of order) {
    if (n.value !== undefined && needSet.has(n.value)) temps.push(`const ${n.value} = ${printOp(n, valueOf)};`);
  }
  return { temps: [...temps, ...chain], terms, singular };
}

/** Can a partial of this operation be infinite at finite arguments? (`x ** 2` cannot; `x ** 0.5`, `x ** y` can.) */
function isSingular(n: OpNode): boolean {
  if (n.name === 'pow') {
    const y = n.args[1]!;
    return !(y.k === 'const' && (y.v >= 1 || y.v === 0));
  }
  return SINGULAR.has(n.name);
}

/** The value of an operation from its operands' values (the original operation, so bit-identical). */
function printOp(n: OpNode, valueOf: (n: TreeNode) => Sym): string {
  const arg = (i: number): string => {
    const v = valueOf(n.args[i]!);
    return typeof v === 'number' ? (v < 0 || Object.is(v, -0) ? `(${v === 0 ? '-0' : v})` : String(v)) : code(v);
  };
  const src = n.src;
  if (src.k === 'un') return `-${arg(0)}`;
  if (src.k === 'bin') return `${arg(0)} ${src.op} ${arg(1)}`;
  if (src.k === 'math') return `Math.${src.name}(${src.args.map((_, i) => arg(i)).join(', ')})`;
  throw new Error('dualtape internal: not an operation');
}

function code(a: Sym): string {
  if (typeof a === 'number') return String(a);
  const s = generate(a as BabelTypes.Node).code;
  return a.type === 'Identifier' || a.type === 'NumericLiteral' || a.type === 'CallExpression' || a.type === 'MemberExpression' ? s : `(${s})`;
}
