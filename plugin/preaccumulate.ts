/**
 * Statement-level preaccumulation (the Adept scheme), for speed.
 *
 * An arithmetic expression such as `100 * (x[i + 1] - x[i] ** 2) ** 2` is a
 * small tree whose leaves (`x[i + 1]`, `x[i]`) may carry derivatives. Instead
 * of one runtime call and one tape node per operation, the plugin emits:
 *
 *   (_l1 = x[i + 1], _l2 = x[i], _T = join(join(0, _l1), _l2),
 *    _T !== 1
 *      ? (values of the leaves, the plain-JS value of every operation, the
 *         partial of the result with respect to each leaf, emit2(_T, z, _l1, p1, _l2, p2))
 *      : generic per-operation code on _l1, _l2)
 *
 * The partials come from the rule table itself, evaluated at build time by a
 * symbolic kernel (symbolic.ts), then chained backwards through the tree
 * (reverse accumulation over the expression). Values are computed with the
 * very operators of the original code, so they are bit-for-bit the original's.
 * The fast branch runs when every derivative-carrying leaf is a first-level
 * value of one live trace (forward or reverse); anything else (nested
 * derivatives, strings, undefined) takes the generic branch.
 *
 * Zero convention, as in the engine: a product with a zero factor is 0 even
 * when the other factor is infinite, so both branches and both modes agree.
 */
import type { NodePath } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import { binaryRules, unaryRules } from '../runtime/rules.js';
import type { BinaryRule, UnaryRule } from '../runtime/rules.js';
import type { Activity } from './activity.js';
import type { Context } from './context.js';
import { ARITHMETIC } from './names.js';
import { symbolicKernel, symbolicPartial } from './symbolic.js';
import { unwrapPath } from './wrappers.js';
import type { Sym } from './symbolic.js';

type T = typeof import('@babel/core').types;
type Expr = BabelTypes.Expression;

const BINARY_RULES: Readonly<Record<string, BinaryRule>> = {
  '+': binaryRules.add, '-': binaryRules.sub, '*': binaryRules.mul, '/': binaryRules.div,
  '%': binaryRules.mod, '**': binaryRules.pow,
};

interface Op {
  kind: 'op';
  /** Generic helper for the slow branch. */
  helper: string;
  /** The plain-JS operation on the children's values. */
  primal: (args: Expr[]) => Expr;
  /** Local partial with respect to child i, symbolically. */
  partial: (i: number, args: Sym[], z: Sym) => Sym | undefined;
  args: Node[];
}
interface Leaf {
  kind: 'leaf';
  path: NodePath<Expr>;
  active: boolean;
  /** Identical pure leaves share one temporary. */
  key: string | undefined;
  id?: BabelTypes.Identifier;
  /** Partials (one per occurrence) with respect to this leaf. */
  contributions: Sym[];
}
interface Const {
  kind: 'const';
  value: number;
}
type Node = Op | Leaf | Const;

/**
 * A key for leaves without side effects: names, and indexed reads `a[i]`,
 * `a[i + 1]` of names (array elements). A named property read `o.f` may be a
 * getter with side effects, so it gets no key and is never shared.
 */
function pureKey(node: BabelTypes.Node, t: T): string | undefined {
  if (t.isIdentifier(node)) return node.name;
  if (t.isNumericLiteral(node)) return String(node.value);
  if (t.isMemberExpression(node) && node.computed && t.isIdentifier(node.object)) {
    const p = pureKey(node.property, t);
    return p === undefined ? undefined : `${node.object.name}[${p}]`;
  }
  if (t.isBinaryExpression(node) && !t.isPrivateName(node.left)) {
    const l = pureKey(node.left, t);
    const r = pureKey(node.right, t);
    return l === undefined || r === undefined ? undefined : `(${l}${node.operator}${r})`;
  }
  return undefined;
}

/**
 * Replaces the arithmetic expression at `path` with its preaccumulated form.
 * Returns false (and changes nothing) when there is nothing to gain.
 */
export function preaccumulate(path: NodePath<Expr>, ctx: Context, act: Activity): boolean {
  const t = ctx.t;
  // Temporaries live in the function body, which parameter defaults cannot see.
  if (!ctx.fastPath || inParameters(path) || inClassInitializer(path)) return false;
  if (ctx.noFastPath.has(path.getFunctionParent()?.node ?? {})) return false;
  // The fast path calls Math.* for partials: not when a local `Math` would answer instead.
  if (path.scope.getBinding('Math')) return false;
  const K = symbolicKernel(t);
  const leaves: Leaf[] = [];
  let ops = 0;

  const hasActive = (n: Node): boolean =>
    n.kind === 'leaf' ? n.active : n.kind === 'op' ? n.args.some(hasActive) : false;
  // Placeholders for the inlinability check: constants are numbers, the rest opaque syntax.
  const probe = (n: Node): Sym => (n.kind === 'const' ? n.value : t.identifier('_'));

  const leaf = (p: NodePath): Leaf => {
    const l: Leaf = { kind: 'leaf', path: p as NodePath<Expr>, active: act.isActive(p), key: pureKey(p.node, t), contributions: [] };
    leaves.push(l);
    return l;
  };

  const build = (p0: NodePath): Node => {
    const p = unwrapPath(p0);
    if (p.isNumericLiteral()) return { kind: 'const', value: p.node.value };
    if (p.isUnaryExpression({ operator: '-' }) && p.get('argument').isNumericLiteral()) {
      return { kind: 'const', value: -(p.node.argument as BabelTypes.NumericLiteral).value };
    }
    let op: Op | undefined;
    if (p.isBinaryExpression() && p.node.operator in ARITHMETIC && !p.get('left').isPrivateName()) {
      const operator = p.node.operator as '+' | '-' | '*' | '/' | '%' | '**';
      const rule = BINARY_RULES[operator]!;
      const args = [build(p.get('left') as NodePath), build(p.get('right'))];
      op = binaryOp(ARITHMETIC[operator]!, (a) => t.binaryExpression(operator, a[0]!, a[1]!), rule, args);
    } else if (p.isUnaryExpression({ operator: '-' })) {
      op = unaryOp('neg', (a) => t.unaryExpression('-', a[0]!), unaryRules.neg, [build(p.get('argument'))]);
    } else if (p.isCallExpression()) {
      const callee = p.node.callee;
      const args = p.get('arguments');
      if (t.isMemberExpression(callee) && !callee.computed && t.isIdentifier(callee.object, { name: 'Math' }) &&
          t.isIdentifier(callee.property) && !p.scope.getBinding('Math') && args.every((a) => !a.isSpreadElement())) {
        const name = callee.property.name;
        const math = (a: Expr[]) => t.callExpression(t.memberExpression(t.identifier('Math'), t.identifier(name)), a);
        if (name in unaryRules && args.length === 1) {
          op = unaryOp(name, math, unaryRules[name as keyof typeof unaryRules], [build(args[0]!)]);
        } else if ((name === 'atan2' || name === 'pow') && args.length === 2) {
          op = binaryOp(name, math, binaryRules[name], [build(args[0]!), build(args[1]!)]);
        }
      }
    }
    if (op === undefined) return leaf(p);
    // Can every partial we need be inlined? Otherwise this operation is a leaf for the runtime.
    const z = t.identifier('_');
    const probes = op.args.map(probe);
    const ok = op.args.every((a, i) => !hasActive(a) || op.partial(i, probes, z) !== undefined);
    if (!ok) {
      // Forget the leaves found below: the whole operation is one leaf.
      const start = leaves.findIndex((l) => l.path.isDescendant(p));
      if (start >= 0) leaves.splice(start);
      return leaf(p);
    }
    ops++;
    return op;
  };

  function binaryOp(helper: string, primal: Op['primal'], rule: BinaryRule, args: Node[]): Op {
    return {
      kind: 'op', helper, primal, args,
      partial: (i, a, z) => symbolicPartial(() => (i === 0 ? rule.dx : rule.dy)(K, a[0] as never, a[1] as never, z as never)),
    };
  }
  function unaryOp(helper: string, primal: Op['primal'], rule: UnaryRule, args: Node[]): Op {
    return { kind: 'op', helper, primal, args, partial: (_i, a, z) => symbolicPartial(() => rule.d(K, a[0] as never, z as never)) };
  }

  const root = build(path);
  if (root.kind !== 'op' || ops === 0 || !hasActive(root)) return false;

  // ---- code generation --------------------------------------------------
  const temp = (hint: string): BabelTypes.Identifier => ctx.temp(path, hint);
  const id = (i: BabelTypes.Identifier) => t.identifier(i.name);
  const pre: Expr[] = [];
  const fast: Expr[] = [];
  const generated = new Set<BabelTypes.Node>();

  // Leaves, in evaluation order; pure identical leaves share a temporary when no leaf has side effects.
  const allPure = leaves.every((l) => l.key !== undefined);
  const byKey = new Map<string, Leaf>();
  const distinct: Leaf[] = [];
  for (const l of leaves) {
    const same = allPure && l.key !== undefined ? byKey.get(l.key) : undefined;
    if (same) {
      l.id = same.id;
      continue;
    }
    l.id = temp('l');
    if (allPure && l.key !== undefined) byKey.set(l.key, l);
    distinct.push(l);
    pre.push(t.assignmentExpression('=', id(l.id), l.path.node));
  }
  const T = temp('T');
  let joined: Expr = t.numericLiteral(0);
  for (let k = 0; k < distinct.length; ) {
    const n = Math.min(3, distinct.length - k);
    const name = n === 1 ? 'join' : n === 2 ? 'join2' : 'join3';
    joined = t.callExpression(ctx.helper(name), [joined, ...distinct.slice(k, k + n).map((l) => id(l.id!))]);
    k += n;
  }
  pre.push(t.assignmentExpression('=', id(T), joined));

  // Values of the leaves.
  const values = new Map<Leaf, Sym>();
  for (const l of distinct) {
    if (!l.active) {
      values.set(l, id(l.id!));
      continue;
    }
    const v = temp('v');
    fast.push(
      t.assignmentExpression('=', id(v),
        t.conditionalExpression(
          t.binaryExpression('===', t.unaryExpression('typeof', id(l.id!)), t.stringLiteral('number')),
          id(l.id!),
          t.memberExpression(id(l.id!), t.identifier('v')),
        )),
    );
    values.set(l, id(v));
  }
  const leafValue = (l: Leaf): Sym => values.get(distinct.find((d) => d.id === l.id)!)!;

  // Values of the operations (post-order), kept for the partials.
  const opValue = new Map<Op, Sym>();
  const valueOf = (n: Node): Sym => (n.kind === 'const' ? n.value : n.kind === 'leaf' ? leafValue(n) : opValue.get(n)!);
  const evaluate = (n: Node): void => {
    if (n.kind !== 'op') return;
    n.args.forEach(evaluate);
    const z = temp('z');
    fast.push(t.assignmentExpression('=', id(z), n.primal(n.args.map((a) => K.lit(valueOf(a))))));
    opValue.set(n, id(z));
  };
  evaluate(root);

  // Reverse accumulation over the tree: adjoint of each node with respect to the root.
  const asTemp = (s: Sym, hint: string): Sym => {
    if (typeof s === 'number' || t.isIdentifier(s)) return s;
    const tmp = temp(hint);
    fast.push(t.assignmentExpression('=', id(tmp), s));
    return id(tmp);
  };
  const mulz = (a: Sym, b: Sym): Sym => {
    if (typeof a === 'number' || typeof b === 'number') return K.mul(a as never, b as never) as unknown as Sym;
    // Both unknown: 0 × ∞ must be 0.
    return t.conditionalExpression(
      t.logicalExpression('||', t.binaryExpression('===', K.lit(a), t.numericLiteral(0)), t.binaryExpression('===', K.lit(b), t.numericLiteral(0))),
      t.numericLiteral(0),
      t.binaryExpression('*', K.lit(a), K.lit(b)),
    );
  };
  const backward = (n: Node, adjoint: Sym): void => {
    if (n.kind === 'const') return;
    if (n.kind === 'leaf') {
      if (n.active) n.contributions.push(adjoint);
      return;
    }
    const args = n.args.map(valueOf);
    n.args.forEach((child, i) => {
      if (!hasActive(child)) return;
      const local = asTemp(n.partial(i, args, opValue.get(n)!)!, 'd');
      backward(child, asTemp(mulz(adjoint, local), 'a'));
    });
  };
  backward(root, 1);

  // One partial per distinct active leaf.
  const emitted: [Leaf, Sym][] = [];
  for (const l of distinct) {
    if (!l.active) continue;
    const parts = leaves.filter((o) => o.id === l.id).flatMap((o) => o.contributions);
    let known = 0;
    const unknown: Expr[] = [];
    for (const c of parts) {
      if (typeof c === 'number') known += c;
      else unknown.push(c);
    }
    let sum: Sym;
    if (unknown.length + (known === 0 ? 0 : 1) >= 3) {
      // Three or more terms (3 + 1e100 - 1e100 for `3 * a + a / Math.abs(a)`
      // at a = -1e-100): a compensated sum, so that a small term is not lost
      // when large ones cancel (see psum in runtime/ops.ts).
      sum = t.callExpression(ctx.helper('psum'), [...(known === 0 ? [] : [K.lit(known)]), ...unknown.map((c) => K.lit(c))]);
    } else {
      sum = known;
      for (const c of unknown) sum = K.add(sum as never, c as never) as unknown as Sym;
    }
    emitted.push([l, sum]);
  }
  // A non-finite partial means some chain product met an infinity (a kink such as sqrt at 0, or a
  // constant partial such as that of x / 0): the order in which the chain rule's products and sums
  // are taken then decides between 0, ±Infinity and NaN, and only the generic path applies the
  // engine's 0 × ∞ = 0 convention operation by operation, as both modes do. So the fast branch
  // only runs when every partial is finite (`p - p === 0` is false for NaN and ±Infinity).
  const finite: Expr[] = [];
  for (const entry of emitted) {
    const p = entry[1];
    if (typeof p === 'number') {
      if (!Number.isFinite(p)) return false;
      continue;
    }
    const held = asTemp(p, 'p');
    entry[1] = held;
    finite.push(t.binaryExpression('===', t.binaryExpression('-', K.lit(held), K.lit(held)), t.numericLiteral(0)));
  }
  const z = K.lit(opValue.get(root)!);
  let emit: Expr;
  if (emitted.length === 1) {
    emit = t.callExpression(ctx.helper('emit1'), [id(T), z, id(emitted[0]![0].id!), K.lit(emitted[0]![1])]);
  } else if (emitted.length === 2) {
    emit = t.callExpression(ctx.helper('emit2'), [
      id(T), z, id(emitted[0]![0].id!), K.lit(emitted[0]![1]), id(emitted[1]![0].id!), K.lit(emitted[1]![1]),
    ]);
  } else if (emitted.length === 3) {
    emit = t.callExpression(ctx.helper('emit3'), [id(T), z, ...emitted.flatMap(([l, p]) => [id(l.id!), K.lit(p)])]);
  } else {
    emit = t.callExpression(ctx.helper('emitN'), [
      id(T), z, t.arrayExpression(emitted.map(([l]) => id(l.id!))), t.arrayExpression(emitted.map(([, p]) => K.lit(p))),
    ]);
  }

  // The generic branch: the same tree through the runtime's generic operations.
  const slow = (n: Node): Expr => {
    // K.lit, not numericLiteral: -0, NaN and ±Infinity must print as themselves.
    if (n.kind === 'const') return K.lit(n.value);
    if (n.kind === 'leaf') return id(n.id!);
    return t.callExpression(ctx.helper(n.helper), n.args.map(slow));
  };

  // `_T !== 1 && (fast..., every partial finite) ? emit(...) : generic`
  const allFinite = finite.length === 0 ? t.booleanLiteral(true) : finite.reduce((acc, c) => t.logicalExpression('&&', acc, c));
  const result = t.sequenceExpression([
    ...pre,
    t.conditionalExpression(
      t.logicalExpression('&&', t.binaryExpression('!==', id(T), t.numericLiteral(1)), t.sequenceExpression([...fast, allFinite])),
      emit,
      slow(root),
    ),
  ]);
  // Everything built here is final; the leaves' own expressions are still to be rewritten.
  const leafNodes = new Set<BabelTypes.Node>(leaves.map((l) => l.path.node));
  markGenerated(result, leafNodes, ctx.done, generated);
  path.replaceWith(result);
  return true;
}

function markGenerated(node: BabelTypes.Node, stop: Set<BabelTypes.Node>, done: WeakSet<object>, seen: Set<BabelTypes.Node>): void {
  if (stop.has(node) || seen.has(node)) return;
  seen.add(node);
  done.add(node);
  for (const key of Object.keys(node) as (keyof BabelTypes.Node)[]) {
    if (key === 'loc' || key === 'leadingComments' || key === 'trailingComments' || key === 'innerComments') continue;
    const v = node[key] as unknown;
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c === 'object' && typeof (c as BabelTypes.Node).type === 'string') markGenerated(c, stop, done, seen);
    } else if (v && typeof v === 'object' && typeof (v as BabelTypes.Node).type === 'string') {
      markGenerated(v as BabelTypes.Node, stop, done, seen);
    }
  }
}

/**
 * Inside a class field initializer or static block? Those run per construction
 * but would share the enclosing function's temporaries (and re-enter them).
 */
function inClassInitializer(path: NodePath): boolean {
  let p: NodePath | null = path;
  while (p && !p.isFunction()) {
    if (p.isClassProperty() || p.isClassPrivateProperty() || p.isStaticBlock() || p.isClassAccessorProperty()) return true;
    p = p.parentPath;
  }
  return false;
}

/** Is this expression inside a parameter list (a default value)? */
function inParameters(path: NodePath): boolean {
  let p: NodePath | null = path;
  while (p && p.parentPath && !p.parentPath.isFunction()) p = p.parentPath;
  return p !== null && p.listKey === 'params';
}
