/**
 * Rewriting one compiled function: operators on values that may carry a
 * derivative become calls to `dualtape/ops`, `Math.*` calls become their
 * differentiable versions, tests on such values look at their value, and
 * calls to other functions go to their differentiable twins.
 *
 * The visitor works top-down: a node is rewritten on entry, while its
 * children are still the original nodes the activity analysis looked at;
 * the traversal then continues into the (moved) children. Nodes we build are
 * remembered in `done` so they are not rewritten twice.
 */
import type { NodePath, Visitor } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import { Activity } from './activity.js';
import { preaccumulate } from './preaccumulate.js';
import { unwrapNode, unwrapPath } from './wrappers.js';
import type { Context } from './context.js';
import { normalizeMath, recursive } from './prepare.js';
import {
  ARITHMETIC, BITWISE, BUILTIN_METHODS, COMPARISON, CUSTOM_DERIVATIVE, GLOBAL_PREDICATES, MATH, MATH_INTEGER, NATIVE_METHODS, NATIVE_VALUES, NUMBER_PREDICATES, PARSERS, TYPED_ARRAYS,
} from './names.js';

type T = typeof import('@babel/core').types;
type Expr = BabelTypes.Expression;

interface State {
  ctx: Context;
  /** Functions to wrap in compiled(...) once the traversal is over (wrapping moves them). */
  toMark: NodePath<Expr>[];
  act: Activity;
  /** Build errors for unsupported stores (true for functions the user asked for). */
  strict: boolean;
  root: NodePath;
}

/** Compiles the function at `fn` in place. */
export function compileFunction(fn: NodePath, ctx: Context, strict: boolean): void {
  normalizeMath(fn, ctx.t);
  const original = ctx.originalOf.get(fn.node);
  if (original && recursive(original)) ctx.noFastPath.add(fn.node);
  blockBodies(fn, ctx.t);
  const act = new Activity(ctx.t, fn, (node) => ctx.helperResultActive(node));
  const state: State = { ctx, act, strict, root: fn, toMark: [] };
  fn.traverse(visitor, state);
  // Wrapping moves a function to a new path (and scope): only after the rewrite.
  // Deduplicate by node first: two requests for one function may hold the same path object.
  const unique = new Map<object, NodePath<Expr>>();
  for (const f of state.toMark) if (f.node && !unique.has(f.node)) unique.set(f.node, f);
  for (const [node, f] of [...unique].reverse()) {
    ctx.done.add(node);
    f.replaceWith(ctx.t.callExpression(ctx.helper('compiled'), [node as Expr]));
  }
}

/**
 * Arrow functions with an expression body get a block body first, so that
 * temporaries can be declared inside them without reshaping the tree while
 * it is being rewritten.
 */
function blockBodies(fn: NodePath, t: T): void {
  // A default value that needs temporaries cannot see the body's: give it a scope of its own,
  // `b = (() => { return <default>; })()` (the arrow sees the earlier parameters, `this` and `arguments`).
  const wrapDefaults = (f: NodePath) => {
    if (!f.isFunction()) return;
    for (const param of f.get('params')) {
      if (!param.isAssignmentPattern()) continue;
      const right = param.get('right');
      if (right.isIdentifier() || right.isLiteral() || right.isFunction()) continue;
      right.replaceWith(t.callExpression(t.arrowFunctionExpression([], right.node), []));
    }
  };
  fn.traverse({ Function: wrapDefaults });
  wrapDefaults(fn);
  const convert = (p: NodePath) => {
    if (p.isArrowFunctionExpression() && !p.get('body').isBlockStatement()) {
      const body = p.node.body as Expr;
      p.get('body').replaceWith(t.blockStatement([t.returnStatement(body)]));
    }
  };
  fn.traverse({ ArrowFunctionExpression: convert });
  convert(fn);
  fn.scope.crawl();
}

/**
 * For tests and equality, which JS evaluates on objects without complaint:
 * the activity analysis takes `.length` to be a plain number (an array's),
 * but `{ length: x * 2 }` may hold a derivative-carrying value, and `if`,
 * `!`, `===` on it would look at the object. Arithmetic and `<` on such a
 * value fail loudly instead, so only these places need the extra care.
 */
function testActive(path: NodePath, s: State): boolean {
  if (s.act.isActive(path)) return true;
  const p = unwrapPath(path);
  // `ok && r.length`, `c ? r.length : 0`, `(i++, r.length)`: the value tested may be such a `length`.
  if (p.isLogicalExpression()) return testActive(p.get('left'), s) || testActive(p.get('right'), s);
  if (p.isConditionalExpression()) return testActive(p.get('consequent'), s) || testActive(p.get('alternate'), s);
  if (p.isSequenceExpression()) return testActive(p.get('expressions').at(-1)!, s);
  return p.isMemberExpression() && !p.node.computed && s.ctx.t.isIdentifier(p.node.property, { name: 'length' });
}

function replace(path: NodePath, node: BabelTypes.Node, s: State): void {
  s.ctx.done.add(node);
  path.replaceWith(node);
}

/** An object or key that can be read twice without a temporary. */
function isSimple(t: T, node: BabelTypes.Node): boolean {
  // `super` cannot be stored in a temporary, and needs none.
  return t.isIdentifier(node) || t.isThisExpression(node) || t.isSuper(node) || t.isLiteral(node);
}

/**
 * Splits an assignment target into a read and a write that evaluate its
 * object and key once: `a[i++]` becomes `_o = a, _k = i++` then `_o[_k]`.
 */
function target(path: NodePath, lval: BabelTypes.LVal | Expr, ctx: Context): { pre: Expr[]; read: () => Expr; write: () => BabelTypes.LVal } {
  const t = ctx.t;
  const left = unwrapNode(lval, t);
  if (t.isIdentifier(left)) {
    return { pre: [], read: () => t.identifier(left.name), write: () => t.identifier(left.name) };
  }
  if (t.isMemberExpression(left)) {
    const pre: Expr[] = [];
    let obj = left.object as Expr;
    if (!isSimple(t, obj)) {
      const o = ctx.temp(path, 'obj');
      pre.push(t.assignmentExpression('=', o, obj));
      obj = o;
    }
    let key = left.property as Expr;
    if (left.computed && !isSimple(t, key)) {
      const k = ctx.temp(path, 'key');
      pre.push(t.assignmentExpression('=', k, key));
      key = k;
    }
    const make = () => t.memberExpression(t.cloneNode(obj), t.cloneNode(key), left.computed);
    return { pre, read: make, write: make };
  }
  throw path.buildCodeFrameError('dualtape: unsupported assignment target in differentiated code.');
}

function sequence(t: T, pre: Expr[], last: Expr): Expr {
  return pre.length === 0 ? last : t.sequenceExpression([...pre, last]);
}

function typedArrayName(path: NodePath, obj: BabelTypes.Node, t: T): string | undefined {
  if (!t.isIdentifier(obj)) return undefined;
  const binding = path.scope.getBinding(obj.name);
  const decl = binding?.path;
  if (!decl?.isVariableDeclarator()) return undefined;
  const init = decl.node.init;
  if (t.isNewExpression(init) && t.isIdentifier(init.callee) && TYPED_ARRAYS.has(init.callee.name)) return init.callee.name;
  return undefined;
}

const visitor: Visitor<State> = {
  BinaryExpression(path, s) {
    if (s.ctx.done.has(path.node)) return;
    const { t } = s.ctx;
    const op = path.node.operator;
    const left = path.get('left');
    if (left.isPrivateName()) return;
    const right = path.get('right');
    const equality = op === '===' || op === '!==' || op === '==' || op === '!=';
    const la = equality ? testActive(left, s) : s.act.isActive(left);
    const ra = equality ? testActive(right, s) : s.act.isActive(right);
    if (!la && !ra) return;
    const l = left.node as Expr;
    const r = right.node;
    if (op in ARITHMETIC) {
      if (preaccumulate(path, s.ctx, s.act)) return;
      replace(path, t.callExpression(s.ctx.helper(ARITHMETIC[op]!), [l, r]), s);
    } else if (op in COMPARISON) {
      replace(path, t.callExpression(s.ctx.helper(COMPARISON[op]!), [l, r]), s);
    } else if (BITWISE.has(op)) {
      const v = (e: Expr, a: boolean) => (a ? t.callExpression(s.ctx.helper('value'), [e]) : e);
      replace(path, t.binaryExpression(op, v(l, la), v(r, ra)), s);
    }
  },

  UnaryExpression(path, s) {
    if (s.ctx.done.has(path.node)) return;
    const { t } = s.ctx;
    const arg = path.get('argument');
    const op = path.node.operator;
    if (!(op === '!' || op === 'typeof' ? testActive(arg, s) : s.act.isActive(arg))) return;
    const a = arg.node;
    switch (path.node.operator) {
      case '-':
        if (preaccumulate(path, s.ctx, s.act)) return;
        return replace(path, t.callExpression(s.ctx.helper('neg'), [a]), s);
      case '+':
        return replace(path, t.callExpression(s.ctx.helper('pos'), [a]), s);
      case '!':
        return replace(path, t.unaryExpression('!', t.callExpression(s.ctx.helper('truthy'), [a])), s);
      case '~':
        return replace(path, t.unaryExpression('~', t.callExpression(s.ctx.helper('value'), [a])), s);
      case 'typeof':
        if (arg.isIdentifier() && !path.scope.getBinding(arg.node.name)) return; // typeof of an undeclared global
        return replace(path, t.callExpression(s.ctx.helper('typeOf'), [a]), s);
      default:
        return;
    }
  },

  UpdateExpression(path, s) {
    if (s.ctx.done.has(path.node)) return;
    const { t } = s.ctx;
    const arg = path.get('argument');
    if (!s.act.isActive(arg)) return;
    const fn = s.ctx.helper(path.node.operator === '++' ? 'add' : 'sub');
    const { pre, read, write } = target(path, arg.node as BabelTypes.LVal, s.ctx);
    const unused = path.parentPath.isExpressionStatement() || (path.parentPath.isForStatement() && path.key === 'update');
    if (path.node.prefix || unused) {
      replace(path, sequence(t, pre, t.assignmentExpression('=', write(), t.callExpression(fn, [read(), t.numericLiteral(1)]))), s);
    } else {
      const old = s.ctx.temp(path, 'old');
      replace(
        path,
        t.sequenceExpression([
          ...pre,
          t.assignmentExpression('=', old, read()),
          t.assignmentExpression('=', write(), t.callExpression(fn, [t.cloneNode(old), t.numericLiteral(1)])),
          t.cloneNode(old),
        ]),
        s,
      );
    }
  },

  AssignmentExpression(path, s) {
    if (s.ctx.done.has(path.node)) return;
    const { t } = s.ctx;
    const operator = path.node.operator;
    const left = path.get('left');
    const right = path.get('right');
    const leftNode = unwrapNode(left.node, t);
    if (t.isMemberExpression(leftNode)) {
      const typed = typedArrayName(path, leftNode.object, t);
      if (typed && (s.act.isActive(right) || (operator !== '=' && s.act.isActive(left))) && s.strict) {
        throw path.buildCodeFrameError(
          `dualtape: this stores a value that carries a derivative into \`${(leftNode.object as BabelTypes.Identifier).name}\`, ` +
            `a ${typed}, which can only hold plain numbers, so the derivative would be lost. Inside differentiated ` +
            `code use a plain array instead, e.g. \`new Array(n).fill(0)\` or \`[]\`.`,
        );
      }
    }
    if (operator === '=' || operator === '??=') return;
    const op = operator.slice(0, -1);
    const logical = op === '&&' || op === '||';
    if (!(s.act.isActive(left) || (!logical && s.act.isActive(right)))) return;
    const { pre, read, write } = target(path, left.node as BabelTypes.LVal, s.ctx);
    const r = right.node;
    let expr: Expr;
    if (logical) {
      const test = t.callExpression(s.ctx.helper('truthy'), [read()]);
      const assign = t.assignmentExpression('=', write(), r);
      expr = op === '&&' ? t.conditionalExpression(test, assign, read()) : t.conditionalExpression(test, read(), assign);
    } else if (op in ARITHMETIC) {
      // `s += e` is `s = s + e`: the right side is an ordinary arithmetic tree (preaccumulated below).
      expr = t.assignmentExpression('=', write(), t.binaryExpression(op as '+', read(), r));
    } else if (BITWISE.has(op)) {
      const v = (e: Expr) => t.callExpression(s.ctx.helper('value'), [e]);
      const rv = s.act.isActive(right) ? v(r) : r;
      expr = t.assignmentExpression('=', write(), t.binaryExpression(op as '|', v(read()), rv));
    } else {
      return;
    }
    s.ctx.done.add(expr);
    replace(path, sequence(t, pre, expr), s);
  },

  LogicalExpression(path, s) {
    if (s.ctx.done.has(path.node)) return;
    const { t } = s.ctx;
    const op = path.node.operator;
    if (op === '??') return; // values carrying derivatives are never nullish: native ?? is right
    const left = path.get('left');
    if (!testActive(left, s)) return;
    const pre: Expr[] = [];
    let l: Expr = left.node;
    if (!t.isIdentifier(l)) {
      const tmp = s.ctx.temp(path, 'left');
      pre.push(t.assignmentExpression('=', tmp, l));
      l = tmp;
    }
    const test = t.callExpression(s.ctx.helper('truthy'), [t.cloneNode(l)]);
    const r = path.node.right;
    const cond = op === '&&' ? t.conditionalExpression(test, r, t.cloneNode(l)) : t.conditionalExpression(test, t.cloneNode(l), r);
    s.ctx.done.add(cond);
    replace(path, sequence(t, pre, cond), s);
  },

  'ConditionalExpression|IfStatement|WhileStatement|DoWhileStatement|ForStatement'(path, s) {
    const node = path.node as { test?: Expr | null };
    if (!node.test || s.ctx.done.has(path.node)) return;
    const test = path.get('test') as NodePath<Expr>;
    if (!testActive(test, s)) return;
    test.replaceWith(s.ctx.t.callExpression(s.ctx.helper('truthy'), [test.node]));
  },

  SwitchStatement(path, s) {
    const { t } = s.ctx;
    const disc = path.get('discriminant');
    const cases = path.get('cases');
    const anyActive = testActive(disc, s) || cases.some((c) => c.node.test && testActive(c.get('test') as NodePath, s));
    if (!anyActive) return;
    const v = (p: NodePath<Expr>) => p.replaceWith(t.callExpression(s.ctx.helper('value'), [p.node]));
    if (testActive(disc, s)) v(disc);
    for (const c of cases) {
      const test = c.get('test');
      if (c.node.test && testActive(test as NodePath, s)) v(test as NodePath<Expr>);
    }
  },

  CallExpression(path, s) {
    if (s.ctx.done.has(path.node)) return;
    const { t, helper } = s.ctx;
    stripCalleeWrappers(path, t);
    const callee = path.get('callee');
    const args = path.get('arguments');
    const valueArg = (i: number) => {
      const a = args[i];
      if (a && !a.isSpreadElement() && s.act.isActive(a)) a.replaceWith(t.callExpression(helper('value'), [a.node as Expr]));
    };
    const refuseArg = (i: number, fn: string) => {
      const a = args[i];
      if (a && !a.isSpreadElement() && s.act.isActive(a)) {
        a.replaceWith(t.callExpression(helper('parsed'), [a.node as Expr, t.stringLiteral(fn)]));
      }
    };
    if (callee.isIdentifier()) {
      const name = callee.node.name;
      if (s.ctx.isHelper(name)) return;
      const binding = path.scope.getBinding(name);
      if (!binding) {
        if (GLOBAL_PREDICATES.has(name)) valueArg(0);
        if (PARSERS.has(name)) refuseArg(0, name);
        // `Boolean(x)` tests the value; `Number(x)` is `x`; `Array(n)` takes n's value as a length.
        const first = args[0];
        if (!first || first.isSpreadElement()) return;
        if (name === 'Boolean' && testActive(first, s)) callee.replaceWith(helper('truthy'));
        else if (name === 'Number' && args.length === 1 && s.act.isActive(first)) callee.replaceWith(helper('number'));
        else if (name === 'Array' && args.length === 1 && s.act.isActive(first)) sizeArg(first as NodePath<Expr>, s);
        return;
      }
      if (s.ctx.isEntry(callee)) return wrapEntryArgument(path, s);
      const twin = s.ctx.twinOf(binding);
      if (twin) {
        callee.replaceWith(named(twin, callee.node, name));
        return;
      }
      if (s.ctx.isLocalFunction(binding)) return; // compiled as part of this function, or left alone on purpose
      callee.replaceWith(t.callExpression(helper('callable'), [callee.node]));
      return;
    }
    if (callee.isMemberExpression() && !callee.node.computed && t.isIdentifier(callee.node.property)) {
      const obj = callee.node.object;
      const prop = callee.node.property.name;
      if (t.isIdentifier(obj) && !path.scope.getBinding(obj.name)) {
        if (obj.name === 'Math' && MATH.has(prop)) {
          if (s.act.isActive(path) && preaccumulate(path as NodePath<Expr>, s.ctx, s.act)) return;
          return void callee.replaceWith(helper(prop));
        }
        if (obj.name === 'Math' && MATH_INTEGER.has(prop)) return void args.forEach((_, i) => valueArg(i));
        if (obj.name === 'Number' && NUMBER_PREDICATES.has(prop)) return valueArg(0);
        if (obj.name === 'Object' && prop === 'is') return args.forEach((_, i) => valueArg(i));
        if (obj.name === 'Number' && PARSERS.has(prop)) return refuseArg(0, `Number.${prop}`);
        // A Float64Array argument is an array of differentiable values inside compiled code (runtime/typed.ts).
        if (obj.name === 'ArrayBuffer' && prop === 'isView') return void callee.replaceWith(helper('isView'));
        if (obj.name === 'Array' && prop === 'isArray') return void callee.replaceWith(helper('isArray'));
        // `Array.from({ length: n }, fn)`: a length is piecewise constant, its value.
        if (obj.name === 'Array' && prop === 'from' && args[0]?.isObjectExpression()) {
          for (const p of args[0].get('properties')) {
            if (!p.isObjectProperty() || p.node.computed) continue;
            const key = p.node.key;
            const named = t.isIdentifier(key, { name: 'length' }) || t.isStringLiteral(key, { value: 'length' });
            const v = p.get('value');
            if (named && v.isExpression() && s.act.isActive(v)) sizeArg(v, s);
          }
        }
        if (obj.name === 'Array' && (prop === 'from' || prop === 'fromAsync') && args[1]) return callableArgument(args[1], s);
        if (obj.name === 'Reflect' && prop === 'apply' && args[0]) return callableArgument(args[0], s);
        return;
      }
      if (s.ctx.isEntry(callee)) return wrapEntryArgument(path, s);
      if (t.isIdentifier(obj) && s.ctx.isNamespaceImport(path.scope.getBinding(obj.name))) {
        callee.replaceWith(t.callExpression(helper('callable'), [callee.node]));
        return;
      }
      // Array predicates and searches, Map/Set keys: the runtime looks at values (runtime/natives.ts).
      if (NATIVE_METHODS.has(prop) && !t.isSuper(obj)) {
        const call = t.callExpression(helper('method'), [obj as Expr, t.stringLiteral(prop), ...path.node.arguments]);
        return void replace(path, call, s);
      }
      if ((prop === 'sort' || prop === 'toSorted') && args.length > 0 && !args[0]!.isSpreadElement()) {
        args[0]!.replaceWith(t.callExpression(helper('comparator'), [args[0]!.node as Expr]));
      } else if (ARRAY_CALLBACKS.has(prop)) {
        // `xs.map(helper)`: native code calls the callback, so it gets the differentiable version.
        args.forEach((a) => callableArgument(a, s));
      }
    }
    if (callee.isMemberExpression()) resolveMethodCall(path, s);
  },

  OptionalCallExpression(path, s) {
    // `helper?.(x)`, `o.m?.(x)`, `o?.m(x)`: the callee's differentiable version, `this` kept;
    // `xs?.filter(cb)`, `m?.get(x)`: as the plain calls in CallExpression, through the runtime's `method`.
    if (s.ctx.done.has(path.node)) return;
    const { t, helper } = s.ctx;
    stripCalleeWrappers(path, t);
    const callee = path.get('callee');
    if (callee.isIdentifier()) {
      if (s.ctx.isHelper(callee.node.name) || !path.scope.getBinding(callee.node.name)) return;
      s.ctx.done.add(path.node);
      callee.replaceWith(t.callExpression(helper('callable'), [callee.node]));
      return;
    }
    if (!callee.isMemberExpression() && !callee.isOptionalMemberExpression()) return;
    if (callee.isMemberExpression() && !path.node.optional) return; // not an optional call of this member
    const m = callee.node as BabelTypes.OptionalMemberExpression;
    if (t.isSuper(m.object)) return;
    const prop = !m.computed && t.isIdentifier(m.property) ? m.property.name : t.isStringLiteral(m.property) ? m.property.value : undefined;
    const parent = path.parentPath;
    const continued = (parent.isOptionalMemberExpression() && path.key === 'object') ||
      (parent.isOptionalCallExpression() && path.key === 'callee');
    if (callee.isOptionalMemberExpression() && m.optional && !path.node.optional && !continued) {
      // `o?.m(args)` ending the chain: `(_o = o) == null ? undefined : <the call on _o>`, so that a
      // missing `m` still throws as it does in JavaScript.
      const o = s.ctx.temp(path, 'obj');
      const args = path.node.arguments as Expr[];
      const read = t.memberExpression(t.cloneNode(o), m.property as Expr, m.computed);
      const call = prop !== undefined && NATIVE_METHODS.has(prop)
        ? t.callExpression(helper('method'), [t.cloneNode(o), t.stringLiteral(prop), ...args])
        : prop !== undefined && BUILTIN_METHODS.has(prop)
          ? t.callExpression(read, args)
          : t.callExpression(t.memberExpression(t.callExpression(helper('callable'), [read]), t.identifier('call')), [t.cloneNode(o), ...args]);
      const test = t.binaryExpression('==', t.assignmentExpression('=', o, m.object as Expr), t.nullLiteral());
      s.ctx.done.add(call);
      return void replace(path, t.conditionalExpression(test, t.identifier('undefined'), call), s);
    }
    if (prop !== undefined && NATIVE_METHODS.has(prop)) {
      // A longer chain (`xs?.filter(cb).length`): the predicate's result is tested by its value.
      const first = path.get('arguments')[0];
      if (PREDICATE_METHODS.has(prop) && first && !first.isSpreadElement()) {
        replace(first, t.callExpression(helper('predicateArg'), [first.node as Expr]), s);
      }
      return;
    }
    if (prop !== undefined && BUILTIN_METHODS.has(prop)) return;
    // A longer chain (`o?.m(x).y`): `callable(_o?.m)?.call(_o, x)` keeps the short-circuit (a missing
    // `m` then gives undefined instead of a TypeError).
    const { pre, obj } = holdObject(path, m.object as Expr, s.ctx);
    const read = (callee.isOptionalMemberExpression() ? t.optionalMemberExpression : t.memberExpression)(
      t.cloneNode(obj), m.property as Expr, m.computed, m.optional ?? false);
    const call = t.optionalCallExpression(
      t.memberExpression(t.callExpression(helper('callable'), [read as Expr]), t.identifier('call')),
      [t.cloneNode(obj), ...(path.node.arguments as Expr[])], true);
    s.ctx.done.add(call);
    replace(path, sequence(t, pre, call), s);
  },

  NewExpression(path, s) {
    if (s.ctx.done.has(path.node)) return;
    const { t, helper } = s.ctx;
    stripCalleeWrappers(path, t);
    const callee = path.get('callee');
    if (!callee.isIdentifier() || s.ctx.isHelper(callee.node.name)) return;
    const binding = path.scope.getBinding(callee.node.name);
    if (!binding) {
      const args = path.get('arguments');
      const first = args[0];
      if (!first || first.isSpreadElement()) return;
      // `new Array(n)`, `new Float64Array(n)`: a length is piecewise constant, its value.
      if ((callee.node.name === 'Array' || TYPED_ARRAYS.has(callee.node.name)) && args.length === 1 && s.act.isActive(first)) {
        return sizeArg(first as NodePath<Expr>, s);
      }
      // `new Set(xs)`, `new Map(entries)`: keys compare by value (runtime/natives.ts).
      if (callee.node.name === 'Set' || callee.node.name === 'Map') {
        replace(path, t.callExpression(helper('newKeyed'), [t.identifier(callee.node.name), ...path.node.arguments]), s);
      }
      return;
    }
    // `new Point(x)` with a same-module constructor function: its twin (whose `prototype` is the
    // original's, see register), so `instanceof Point` holds; an import or variable: `callable(C)`.
    if (binding.path.isClassDeclaration() || binding.path.isClassExpression()) return;
    s.ctx.done.add(path.node);
    const twin = s.ctx.twinOf(binding);
    if (twin) return void callee.replaceWith(named(twin, callee.node, callee.node.name));
    if (s.ctx.isLocalFunction(binding)) return;
    if (binding.path.isVariableDeclarator() && t.isClassExpression(binding.path.node.init)) return;
    callee.replaceWith(t.callExpression(helper('callable'), [callee.node]));
  },

  MemberExpression(path, s) {
    // `Math.exp` used as a value (`xs.map(Math.exp)`): its differentiable version.
    if (s.ctx.done.has(path.node)) return;
    const { t } = s.ctx;
    const { object, property, computed } = path.node;
    // `xs.every(Number.isFinite)`, `xs.map(Number.parseFloat)`: their value-aware versions.
    if (!computed && t.isIdentifier(object, { name: 'Number' }) && t.isIdentifier(property) &&
        (NUMBER_PREDICATES.has(property.name) || PARSERS.has(property.name)) && !path.scope.getBinding('Number') &&
        usedAsValue(path) && !s.ctx.done.has(path.parent)) {
      return void replace(path, t.callExpression(s.ctx.helper('callable'), [path.node]), s);
    }
    if (computed || !t.isIdentifier(object, { name: 'Math' }) || !t.isIdentifier(property) || !MATH.has(property.name)) return;
    if (path.scope.getBinding('Math')) return;
    if (path.parentPath.isCallExpression() && path.key === 'callee') return;
    if (path.parentPath.isAssignmentExpression() && path.key === 'left') return;
    path.replaceWith(s.ctx.helper(property.name));
  },

  Identifier(path, s) {
    // A function used as a value keeps its identity (call sites resolve it: CallExpression);
    // built-ins that test or read a number get their value-aware versions.
    if (!path.isReferencedIdentifier() || s.ctx.isHelper(path.node.name)) return;
    if (path.parentPath.isCallExpression() && path.key === 'callee') return;
    const binding = path.scope.getBinding(path.node.name);
    // `xs.filter(Boolean)`, `xs.map(Number)`, `xs.every(isFinite)`: their value-aware versions.
    if (!binding && NATIVE_VALUES.has(path.node.name) && usedAsValue(path) && !s.ctx.done.has(path.parent)) {
      const call = s.ctx.t.callExpression(s.ctx.helper('callable'), [s.ctx.t.identifier(path.node.name)]);
      return void replace(path, call, s);
    }
  },



  Function(path, s) {
    if (s.ctx.opaque.has(path.node)) path.skip();
  },

  'ArrowFunctionExpression|FunctionExpression'(path, s) {
    // A function made by compiled code is compiled: mark it so that grad accepts it wherever
    // it goes (returned from a factory, stored in an array, passed as an argument). Callbacks
    // handed straight to array methods or called on the spot cannot reach grad: no mark.
    if (path.node === s.root.node || s.ctx.done.has(path.node) || s.ctx.opaque.has(path.node)) return;
    const parent = path.parentPath;
    if (parent?.isCallExpression() && parent.node.callee === path.node) return; // IIFE
    if (parent?.isCallExpression() && path.listKey === 'arguments') {
      const callee = parent.node.callee;
      // `method(xs, 'filter', cb)`: a native array method's callback (see CallExpression).
      if (s.ctx.t.isIdentifier(callee) && s.ctx.isHelper(callee.name) && path.key !== 0) return;
      if (s.ctx.t.isMemberExpression(callee) && !callee.computed && s.ctx.t.isIdentifier(callee.property) &&
          ARRAY_CALLBACKS.has(callee.property.name)) return;
    }
    // `const h = (v) => ...` that is only ever called: it never reaches grad as a value.
    if (parent?.isVariableDeclarator() && s.ctx.t.isIdentifier(parent.node.id)) {
      const binding = parent.scope.getBinding(parent.node.id.name);
      if (binding?.constant && binding.referencePaths.every((r) => r.parentPath?.isCallExpression() && r.key === 'callee')) return;
    }
    markCompiled(path as NodePath<Expr>, s);
  },

};

/** Where an expression is a value passed on (not called, not a member's object, not an `instanceof` operand). */
function usedAsValue(path0: NodePath): boolean {
  let path = path0;
  // Through parentheses and TypeScript wrappers: `xs.map(parseFloat as never)`.
  while (path.parentPath && (path.parentPath.isParenthesizedExpression() || path.parentPath.isTSAsExpression() ||
    path.parentPath.isTSSatisfiesExpression() || path.parentPath.isTSNonNullExpression() || path.parentPath.isTSTypeAssertion())) {
    path = path.parentPath;
  }
  const p = path.parentPath;
  if (!p) return false;
  if ((p.isCallExpression() || p.isOptionalCallExpression() || p.isNewExpression()) && path.listKey === 'arguments') return true;
  if (p.isVariableDeclarator() && path.key === 'init') return true;
  if (p.isAssignmentExpression() && path.key === 'right') return true;
  if (p.isConditionalExpression() && path.key !== 'test') return true;
  return p.isArrayExpression() || (p.isObjectProperty() && path.key === 'value') || p.isReturnStatement() || p.isLogicalExpression();
}

/** A length argument: `size(n)`, its plain value. */
function sizeArg(arg: NodePath<Expr>, s: State): void {
  replace(arg, s.ctx.t.callExpression(s.ctx.helper('size'), [arg.node]), s);
}

/** Native methods that test their callback's result. */
const PREDICATE_METHODS = new Set(['filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'some', 'every']);

/**
 * A function value handed to native code that will call it (`xs.map(helper)`,
 * `Array.from(xs, helper)`): its differentiable version. Elsewhere a function
 * used as a value stays itself (`f.factor`, `map.get(f)`, `fs[0] === f` see
 * the function), and call sites resolve it (`callable`, `resolveMethodCall`).
 */
function callableArgument(arg: NodePath, s: State): void {
  if (arg.isSpreadElement() || arg.isFunction() || arg.isLiteral() || s.ctx.done.has(arg.node)) return;
  if (arg.isIdentifier() && (s.ctx.isHelper(arg.node.name) || !arg.scope.getBinding(arg.node.name))) return;
  // `xs.map(Math.exp)`: the MemberExpression visitor gives it its differentiable version.
  if (arg.isMemberExpression() && s.ctx.t.isIdentifier(arg.node.object, { name: 'Math' }) && !arg.scope.getBinding('Math')) return;
  const wrapped = s.ctx.t.callExpression(s.ctx.helper('callable'), [arg.node as Expr]);
  s.ctx.done.add(wrapped);
  arg.replaceWith(wrapped);
}

/**
 * `id` placed where `from` was, under the name `name`: the source map then
 * names the callee as the user wrote it (`forward`, not the `.call` or the
 * twin we call), which is the name Node's source-mapped stack traces print.
 */
function named(id: BabelTypes.Identifier, from: BabelTypes.Node, name: string | undefined): BabelTypes.Identifier {
  if (from.loc && name !== undefined) id.loc = { ...from.loc, identifierName: name };
  return id;
}

/**
 * `h!(x)`, `(h as F)(x)`, `[h][0]!(x)`, `(o.m)(x)`, `new (C as any)(x)`: the wrappers do nothing at
 * run time (and keep `this` for a member), so the callee is resolved as if
 * they were not there; the TypeScript preset would remove them anyway.
 */
function stripCalleeWrappers(path: NodePath<BabelTypes.CallExpression | BabelTypes.OptionalCallExpression | BabelTypes.NewExpression>, t: T): void {
  const callee = path.node.callee;
  const inner = unwrapNode(callee, t);
  if (inner !== callee) path.node.callee = inner as Expr;
}

/** Holds an object expression in a temporary unless it can be read twice as it is. */
function holdObject(path: NodePath, obj: Expr, ctx: Context): { pre: Expr[]; obj: Expr } {
  if (isSimple(ctx.t, obj)) return { pre: [], obj };
  const o = ctx.temp(path, 'obj');
  return { pre: [ctx.t.assignmentExpression('=', o, obj)], obj: o };
}

/**
 * `o.m(x)`, `fs[0](x)`, `f.call(t, x)` in compiled code: the callee may be a
 * function with a differentiable twin (stored in an object or array, or a
 * class method with a twin), so the call goes to `callable(o.m)` with `this`
 * kept: `callable(_o.m).call(_o, x)`. `f.call/apply/bind` call the twin of
 * `f` when `f` is a function (`methodOf`/`receiverOf` decide at run time, since
 * an object may have a method named `apply`). Methods of built-in prototypes
 * (`push`, `slice`, `get`, ...) are called directly: the plugin never gives a
 * method with such a name a twin (it is compiled in place instead).
 */
function resolveMethodCall(path: NodePath<BabelTypes.CallExpression>, s: State): void {
  if (s.ctx.done.has(path.node) || !path.node) return;
  const { t, helper } = s.ctx;
  const callee = path.node.callee;
  if (!t.isMemberExpression(callee)) return;
  const name = !callee.computed && t.isIdentifier(callee.property) ? callee.property.name
    : t.isStringLiteral(callee.property) ? callee.property.value : undefined;
  if (name !== undefined && BUILTIN_METHODS.has(name)) return;
  if (t.isIdentifier(callee.object) && !path.scope.getBinding(callee.object.name)) return; // a global: console.log, JSON.parse
  if (t.isIdentifier(callee.object) && s.ctx.isHelper(callee.object.name)) return;
  if (t.isSuper(callee.object)) {
    // `super.m(x)`: the parent's method, resolved, called on `this`.
    const read = t.memberExpression(t.super(), callee.property as Expr, callee.computed);
    const call = t.callExpression(t.memberExpression(t.callExpression(helper('callable'), [read]), t.identifier('call')),
      [t.thisExpression(), ...(path.node.arguments as Expr[])]);
    return void replace(path, call, s);
  }
  const { pre, obj } = holdObject(path, callee.object as Expr, s.ctx);
  let call: BabelTypes.CallExpression;
  if (name === 'call' || name === 'apply' || name === 'bind') {
    const key = t.stringLiteral(name);
    call = t.callExpression(
      t.memberExpression(t.callExpression(helper('methodOf'), [t.cloneNode(obj), key]), named(t.identifier('call'), callee.property, name)),
      [t.callExpression(helper('receiverOf'), [t.cloneNode(obj), t.cloneNode(key)]), ...(path.node.arguments as Expr[])],
    );
  } else {
    const read = t.memberExpression(t.cloneNode(obj), callee.property as Expr, callee.computed);
    call = t.callExpression(
      t.memberExpression(t.callExpression(helper('callable'), [read]), named(t.identifier('call'), callee.property, name)),
      [t.cloneNode(obj), ...(path.node.arguments as Expr[])],
    );
  }
  s.ctx.done.add(call);
  replace(path, sequence(t, pre, call), s);
}

/** Array methods whose callback is only called during the call. */
const ARRAY_CALLBACKS = new Set([
  'map', 'forEach', 'reduce', 'reduceRight', 'filter', 'some', 'every', 'find', 'findIndex', 'findLast',
  'findLastIndex', 'flatMap', 'sort', 'toSorted', 'from',
]);

function markCompiled(fn: NodePath<Expr>, s: State): void {
  s.toMark.push(fn);
}

/** `grad((x) => ...)` inside compiled code: the inline function is compiled with its parent; mark it. */
function wrapEntryArgument(path: NodePath<BabelTypes.CallExpression>, s: State): void {
  const first = path.get('arguments')[0];
  if (s.ctx.entryName(path.get('callee')) === CUSTOM_DERIVATIVE) {
    if (first?.isFunction()) s.ctx.opaque.add(first.node); // a black box: see Function below
    return;
  }
  if (first && first.isFunction() && !s.ctx.done.has(first.node)) markCompiled(first as NodePath<Expr>, s);
  // A function declared inside this compiled function is compiled with it: mark it too.
  if (first && first.isIdentifier()) {
    const b = path.scope.getBinding(first.node.name);
    if (b && !s.ctx.twinOf(b) && s.ctx.isLocalFunction(b) && b.path.isDescendant(s.root)) markCompiled(first, s);
  }
}
