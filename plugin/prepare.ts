/**
 * Passes over a function before it is rewritten: other spellings of `Math`
 * become `Math.*` (normalizeMath), and recursion is detected (recursive) to
 * keep the fast path out of recursive functions.
 */
import type { NodePath } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import { functionOfBinding } from './context.js';
import type { Binding } from './context.js';
import { unwrapPath } from './wrappers.js';

type T = typeof import('@babel/core').types;

/**
 * Does this same-module function call itself, directly or through other
 * same-module functions it calls by name? Such a function's twin is compiled
 * without the fast path: the fast path's temporaries make every frame larger
 * (about 2.3x fewer nested calls fit in the stack, bench/stack-depth.ts),
 * while generic code keeps the frame about the size of the original's.
 */
export function recursive(fn: NodePath<BabelTypes.Function>): boolean {
  const seen = new Set<object>();
  const reaches = (from: NodePath): boolean => {
    let found = false;
    from.traverse({
      CallExpression(call) {
        const callee = unwrapPath(call.get('callee'));
        if (found || !callee.isIdentifier()) return;
        const b = call.scope.getBinding(callee.node.name);
        if (b && b.path.node === fn.node) { // `const f = function g(x) { ... g(...) }`: its own name
          found = true;
          call.stop();
          return;
        }
        const target = b && functionOfBinding(b);
        if (!target) return;
        if (target.node === fn.node) {
          found = true;
          call.stop();
          return;
        }
        if (seen.has(target.node) || target.isDescendant(fn)) return;
        seen.add(target.node);
        if (reaches(target)) {
          found = true;
          call.stop();
        }
      },
    });
    return found;
  };
  return reaches(fn);
}

const GLOBAL_OBJECTS = new Set(['globalThis', 'window', 'self', 'global']);

/** Is this expression the global `Math` (`Math`, `globalThis.Math`, `window['Math']`)? */
function isGlobalMath(path: NodePath, t: T): boolean {
  const p = unwrapPath(path);
  if (p.isIdentifier({ name: 'Math' })) return !p.scope.getBinding('Math');
  if (!p.isMemberExpression()) return false;
  const { object, property, computed } = p.node;
  const key = !computed && t.isIdentifier(property) ? property.name : t.isStringLiteral(property) ? property.value : undefined;
  return key === 'Math' && t.isIdentifier(object) && GLOBAL_OBJECTS.has(object.name) && !p.scope.getBinding(object.name);
}

/**
 * The other spellings of `Math.sin` become `Math.sin`, so that the rewrite
 * sees them: `Math['sin']`, `globalThis.Math.sin`, `const M = Math; M.sin`,
 * `const { sin, cos: c } = Math; sin(x)`. Only for names that cannot be
 * reassigned (`const`, or never assigned) and where `Math` is not shadowed.
 */
export function normalizeMath(fn: NodePath, t: T): void {
  const mathAlias = (b: Binding | undefined): boolean =>
    b !== undefined && b.constant && b.path.isVariableDeclarator() && t.isIdentifier(b.path.node.id) &&
    b.path.node.init != null && isGlobalMath(b.path.get('init') as NodePath, t);
  const mathMember = (b: Binding | undefined, name: string): string | undefined => {
    if (b === undefined || !b.constant || !b.path.isVariableDeclarator() || !t.isObjectPattern(b.path.node.id)) return undefined;
    if (b.path.node.init == null || !isGlobalMath(b.path.get('init') as NodePath, t)) return undefined;
    for (const prop of b.path.node.id.properties) {
      if (!t.isObjectProperty(prop) || prop.computed || !t.isIdentifier(prop.key)) continue;
      const value = t.isAssignmentPattern(prop.value) ? undefined : prop.value;
      if (t.isIdentifier(value, { name })) return prop.key.name;
    }
    return undefined;
  };
  fn.traverse({
    Identifier(path) {
      if (!path.isReferencedIdentifier() || path.scope.getBinding('Math')) return;
      const b = path.scope.getBinding(path.node.name);
      if (!b) return;
      if (mathAlias(b)) return void path.replaceWith(t.identifier('Math'));
      const key = mathMember(b, path.node.name);
      if (key !== undefined) path.replaceWith(t.memberExpression(t.identifier('Math'), t.identifier(key)));
    },
    MemberExpression: {
      exit(path) {
        const { object, property, computed } = path.node;
        if (isGlobalMath(path, t) && !path.parentPath.isAssignmentExpression({ left: path.node })) {
          path.replaceWith(t.identifier('Math'));
          return;
        }
        if (computed && t.isStringLiteral(property) && t.isIdentifier(object, { name: 'Math' }) && !path.scope.getBinding('Math') &&
            t.isValidIdentifier(property.value)) {
          path.node.computed = false;
          path.node.property = t.identifier(property.value);
        }
      },
    },
  });
}
