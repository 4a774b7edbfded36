/**
 * Method twins: a class or object-literal method marked 'use differentiable'
 * gets a differentiable twin like a named function, so its plain callers run
 * the method as written (see createMethodTwins).
 */
import type { NodePath } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import type { Context } from './context.js';
import { BUILTIN_METHODS } from './names.js';
import { findUnsupported } from './unsupported.js';

type Fn = NodePath<BabelTypes.Function>;

/** The statement that holds a class, skipping `export`. */
function statementOf(path: NodePath): NodePath {
  const stmt = path.getStatementParent()!;
  return stmt.parentPath?.isExportDeclaration() ? stmt.parentPath : stmt;
}

/** The name of a method's key (`apply`, `'apply'`), or undefined when computed. */
function methodKey(fn: Fn): string | undefined {
  const node = fn.node as BabelTypes.ObjectMethod | BabelTypes.ClassMethod;
  if (node.computed) return undefined;
  if (node.key.type === 'Identifier') return node.key.name;
  if (node.key.type === 'StringLiteral') return node.key.value;
  return undefined;
}

/** Does this method's body (arrows included) use `super`, `new.target` or read `this`? */
function uses(fn: Fn): { super: boolean; this: boolean; metaProperty: boolean } {
  const found = { super: false, this: false, metaProperty: false };
  fn.traverse({
    Super() { found.super = true; },
    ThisExpression() { found.this = true; },
    MetaProperty() { found.metaProperty = true; },
    Function(path) { if (!path.isArrowFunctionExpression()) path.skip(); },
    Class(path) { path.skip(); },
  });
  return found;
}

/**
 * Can this method get a twin? Plain methods (`kind: 'method'`, class or
 * object literal, static or not) with a name that is not a built-in method's
 * (compiled code calls those directly, see BUILTIN_METHODS).
 * Getters, setters, constructors, private methods, computed keys, `new.target`
 * and object-literal methods that use `super` are compiled in place: their
 * plain callers run the compiled code.
 */
export function methodTwinnable(fn: Fn): boolean {
  if (!(fn.isClassMethod() || fn.isObjectMethod()) || fn.node.kind !== 'method') return false;
  const key = methodKey(fn);
  if (key === undefined || BUILTIN_METHODS.has(key)) return false;
  if (fn.isObjectMethod() && fn.parentPath.isObjectExpression() &&
      fn.parentPath.node.properties.some((p) => p.type === 'SpreadElement' || (p !== fn.node && (p.type === 'ObjectProperty' || p.type === 'ObjectMethod') && !p.computed && methodKeyOf(p) === key))) {
    return false; // a later property of the same name (or a spread) may replace the method
  }
  const u = uses(fn);
  // `super` only means the same in a method of the same class (see createMethodTwins); not in an
  // object literal's twin.
  return !u.metaProperty && !(u.super && fn.isObjectMethod());
}

function methodKeyOf(p: BabelTypes.ObjectProperty | BabelTypes.ObjectMethod): string | undefined {
  return p.key.type === 'Identifier' ? p.key.name : p.key.type === 'StringLiteral' ? p.key.value : undefined;
}

/**
 * Gives each method a twin and registers it, so that compiled code (which
 * calls methods through the registry: `callable(o.m).call(o, ...)`) and
 * `grad(...)` find the twin while plain calls run the untouched method.
 *
 * - Class method `m` (static or not): a static private method `#dt_m` in the
 *   same class body (so `this.#field`, private methods and the class's own
 *   name resolve as in the original; called with `.call(obj, ...)`, `this` is
 *   the object), registered by a static block:
 *   `static { register(this.prototype.m, this.#dt_m); }`. A method that uses
 *   `super` gets a symbol-keyed method of its own kind instead, so that
 *   `super` resolves from the same home object.
 * - Object-literal method `m`: the literal becomes
 *   `registerMethods({ ... }, { m: function (x) { ... } })`.
 *
 * A twin that reads `this` first checks it has one: `grad(obj.method)` calls
 * it without (see unboundMethod in runtime/registry.ts).
 */
export function createMethodTwins(methods: Fn[], ctx: Context): [Fn, boolean][] {
  const t = ctx.t;
  const out: [Fn, boolean][] = [];
  const byObject = new Map<NodePath<BabelTypes.ObjectExpression>, Fn[]>();
  for (const fn of methods) {
    const bad = findUnsupported(fn);
    if (bad) throw bad.path.buildCodeFrameError(bad.message);
    if (fn.isObjectMethod()) {
      const obj = fn.parentPath as NodePath<BabelTypes.ObjectExpression>;
      byObject.set(obj, [...(byObject.get(obj) ?? []), fn]);
      continue;
    }
    const m = fn.node as BabelTypes.ClassMethod;
    const key = methodKey(fn)!;
    const body = fn.parentPath as NodePath<BabelTypes.ClassBody>;
    const taken = new Set(body.node.body.flatMap((member) =>
      'key' in member && member.key.type === 'PrivateName' ? [member.key.id.name] : []));
    let priv = `dt_${key.replace(/[^A-Za-z0-9_$]/g, '_')}`;
    while (taken.has(priv)) priv += '_';
    const params = m.params.map((p) => t.cloneNode(p, true));
    const target = m.static ? t.thisExpression() : t.memberExpression(t.thisExpression(), t.identifier('prototype'));
    let twin: BabelTypes.ClassPrivateMethod | BabelTypes.ClassMethod;
    let twinRef: BabelTypes.Expression;
    if (uses(fn).super) {
      // `super.x` resolves through the method's home object: the twin must be a method of the same
      // kind (instance or static) in the same class. A symbol key keeps it out of for-in, Object.keys
      // and getOwnPropertyNames: `[_dt$sym](x) { ... }`, `const _dt$sym = Symbol('apply')` before the class.
      const sym = fn.scope.generateUidIdentifier(`${priv}_key`);
      statementOf(fn).insertBefore(t.variableDeclaration('const', [t.variableDeclarator(sym,
        t.callExpression(t.identifier('Symbol'), [t.stringLiteral(key)]))]));
      twin = t.classMethod('method', t.cloneNode(sym), params as BabelTypes.ClassMethod['params'],
        t.removeComments(t.cloneNode(m.body, true)), true, m.static);
      twinRef = t.memberExpression(t.cloneNode(target), t.cloneNode(sym), true);
    } else {
      twin = t.classPrivateMethod('method', t.privateName(t.identifier(priv)),
        params as BabelTypes.ClassPrivateMethod['params'], t.removeComments(t.cloneNode(m.body, true)), true);
      twinRef = t.memberExpression(t.thisExpression(), t.privateName(t.identifier(priv)));
    }
    guardThis(fn, twin.body, key, ctx);
    const register = t.staticBlock([t.expressionStatement(t.callExpression(ctx.helper('register'), [
      t.memberExpression(target, t.stringLiteral(key), true),
      twinRef,
    ]))]);
    const [twinPath] = fn.insertAfter([twin, register]) as NodePath[];
    out.push([twinPath as Fn, true]);
  }
  for (const [obj, fns] of byObject) {
    const twins = fns.map((fn) => {
      const m = fn.node as BabelTypes.ObjectMethod;
      const body = t.removeComments(t.cloneNode(m.body, true));
      guardThis(fn, body, methodKey(fn)!, ctx);
      return t.objectProperty(t.stringLiteral(methodKey(fn)!), t.functionExpression(null, m.params.map((p) => t.cloneNode(p, true)), body));
    });
    const [replaced] = obj.replaceWith(t.callExpression(ctx.helper('registerMethods'), [obj.node, t.objectExpression(twins)])) as NodePath[];
    const props = (replaced as NodePath<BabelTypes.CallExpression>).get('arguments')[1] as NodePath<BabelTypes.ObjectExpression>;
    for (const p of props.get('properties')) out.push([(p as NodePath<BabelTypes.ObjectProperty>).get('value') as Fn, true]);
  }
  return out;
}

/** `if (this === undefined) unboundMethod('m');` at the top of a twin whose method reads `this`. */
function guardThis(fn: Fn, body: BabelTypes.BlockStatement, key: string, ctx: Context): void {
  if (!uses(fn).this) return;
  const t = ctx.t;
  const test = t.binaryExpression('===', t.thisExpression(), t.identifier('undefined'));
  ctx.done.add(test);
  body.body.unshift(t.ifStatement(
    test,
    t.expressionStatement(t.callExpression(ctx.helper('unboundMethod'), [t.stringLiteral(key)])),
  ));
}
