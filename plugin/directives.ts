/**
 * A 'use differentiable' that JavaScript does not read as a directive.
 */
import type { NodePath } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import { DIRECTIVE } from './names.js';

/**
 * `'use differentiable'` written where JavaScript does not read it as a
 * directive: after an import (or any statement) at the top of a file, or
 * after the first statement of a function body. Left alone it would do
 * nothing, silently, and the functions would not be compiled. Each one gets
 * a warning with a code frame; one at the top level after nothing but
 * imports is honoured as the file's directive (the intent is plain) and
 * removed. Returns whether the file directive was found that way.
 */
export function misplacedDirectives(program: NodePath<BabelTypes.Program>, warn: (message: string) => void): boolean {
  let fileDirective = false;
  const isMarker = (p: NodePath) =>
    p.isExpressionStatement() && p.get('expression').isStringLiteral({ value: DIRECTIVE }) &&
    !(p.node.expression.extra && (p.node.expression.extra as { parenthesized?: boolean }).parenthesized);
  const body = program.get('body');
  body.forEach((stmt, i) => {
    if (!isMarker(stmt)) return;
    const onlyImportsBefore = body.slice(0, i).every((p) => p.isImportDeclaration() || isMarker(p));
    if (onlyImportsBefore) {
      fileDirective = true;
      warn(stmt.buildCodeFrameError(
        "dualtape: 'use differentiable' after an import is not a directive in JavaScript (a directive must come " +
          'before every other statement of the file). dualtape takes it as the file directive anyway; move it to the ' +
          'first line of the file so that other tools read it too.').message);
      stmt.remove();
    } else {
      warn(stmt.buildCodeFrameError(
        "dualtape: this 'use differentiable' is not a directive, because other statements come before it, and it " +
          'does nothing: no function of this file is marked by it. Move it to the first line of the file (or of the ' +
          'function body it is meant for).').message);
    }
  });
  program.traverse({
    Function(fn) {
      const b = fn.get('body');
      if (!b.isBlockStatement()) return;
      for (const stmt of b.get('body')) {
        if (isMarker(stmt)) {
          warn(stmt.buildCodeFrameError(
            "dualtape: this 'use differentiable' is not a directive, because other statements come before it in the " +
              'function body, so the function is not marked. Move it to the first line of the function body.').message);
        }
      }
    },
  });
  return fileDirective;
}
