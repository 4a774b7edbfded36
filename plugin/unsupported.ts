/**
 * Constructs the plugin cannot differentiate. For a function the user handed
 * to a dualtape entry point they are build errors with a code frame at the
 * offending node; for functions compiled only in case they are called from
 * differentiated code, they just mean "leave this one alone".
 */
import type { NodePath } from '@babel/traverse';

export interface Unsupported {
  path: NodePath;
  message: string;
}

function fnName(path: NodePath): string {
  const node = path.node as { id?: { name?: string } | null; key?: { name?: string } };
  return node.id?.name ?? node.key?.name ?? 'this function';
}

/** The first unsupported construct inside `fn` (including `fn` itself), or undefined. */
export function findUnsupported(fn: NodePath): Unsupported | undefined {
  const check = (path: NodePath): Unsupported | undefined => {
    if (path.isFunction() && (path.node.async || path.node.generator)) {
      const kind = path.node.async ? (path.node.generator ? 'async generator' : 'async function') : 'generator';
      return {
        path,
        message:
          `dualtape cannot differentiate ${fnName(path) === 'this function' ? '' : '`' + fnName(path) + '`, '}${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}: ` +
          `derivatives are taken in one synchronous pass. Await or collect the data first and pass it to the ` +
          `differentiated function as an argument.`,
      };
    }
    return undefined;
  };
  let found = check(fn);
  if (found) return found;
  fn.traverse({
    Function(path) {
      found ??= check(path);
      if (found) path.stop();
    },
    WithStatement(path) {
      found ??= {
        path,
        message:
          'dualtape cannot differentiate code inside a `with` statement: it hides at build time which names are ' +
          'variables. Use ordinary variables or property access instead.',
      };
      path.stop();
    },
    CallExpression(path) {
      const callee = path.get('callee');
      if (callee.isIdentifier() && !path.scope.getBinding(callee.node.name) &&
          (callee.node.name === 'eval' || callee.node.name === 'Function')) {
        found ??= evalError(path, callee.node.name);
        path.stop();
      }
    },
    NewExpression(path) {
      const callee = path.get('callee');
      if (callee.isIdentifier({ name: 'Function' }) && !path.scope.getBinding('Function')) {
        found ??= evalError(path, 'new Function');
        path.stop();
      }
    },
  });
  return found;
}

function evalError(path: NodePath, what: string): Unsupported {
  return {
    path,
    message:
      `dualtape cannot differentiate through ${what}(): the code it runs is not known at build time. ` +
      `Write the computation as ordinary code, or compute it outside the differentiated function and pass ` +
      `the result in as a constant argument.`,
  };
}
