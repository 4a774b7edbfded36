/**
 * Expressions under wrappers that do nothing at run time: parentheses and
 * TypeScript's `x!`, `x as T`, `x satisfies T`, `<T>x`. The plugin runs before
 * the TypeScript preset strips them, so it looks through them wherever the
 * expression itself matters.
 */
import type { NodePath } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';

type T = typeof import('@babel/core').types;

export function unwrapPath(path: NodePath): NodePath {
  while (path.isParenthesizedExpression() || path.isTSAsExpression() || path.isTSNonNullExpression() ||
         path.isTSSatisfiesExpression() || path.isTSTypeAssertion()) {
    path = path.get('expression') as NodePath;
  }
  return path;
}

export function unwrapNode(node: BabelTypes.Node, t: T): BabelTypes.Node {
  while (t.isTSNonNullExpression(node) || t.isTSAsExpression(node) || t.isTSSatisfiesExpression(node) ||
         t.isTSTypeAssertion(node) || t.isParenthesizedExpression(node)) {
    node = node.expression;
  }
  return node;
}
