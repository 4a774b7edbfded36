/**
 * Compiling the user's TypeScript in the browser with the dualtape Babel
 * plugin (the same plugin as the build tools use), through @babel/standalone.
 * The module is compiled as if it began with 'use differentiable', then run
 * with `dualtape` and `dualtape/ops` bound to the runtime bundled in the page.
 */
import * as Babel from '@babel/standalone';
import dualtapePlugin from 'dualtape/babel';
import * as runtime from 'dualtape';
import * as ops from 'dualtape/ops';

export interface Compiled {
  exports: Record<string, unknown>;
  code: string;
}

/** A build error with Babel's code frame (line, column, the offending code underlined). */
export class BuildError extends Error {}

/** Runs before the dualtape plugin: the module behaves as if it began with 'use differentiable' (positions unchanged). */
const markDifferentiable = {
  visitor: {
    Program(path: { node: { directives: unknown[] } }): void {
      path.node.directives.unshift({ type: 'Directive', value: { type: 'DirectiveLiteral', value: 'use differentiable' } });
    },
  },
};

export function compile(source: string): Compiled {
  let code: string;
  try {
    const out = Babel.transform(source, {
      filename: 'playground.ts',
      babelrc: false,
      configFile: false,
      sourceType: 'module',
      highlightCode: false,
      retainLines: true,
      presets: [['typescript', { allowDeclareFields: true, onlyRemoveTypeImports: false }]],
      plugins: [markDifferentiable, dualtapePlugin, 'transform-modules-commonjs'],
    } as Parameters<typeof Babel.transform>[1]);
    code = out.code ?? '';
  } catch (e) {
    throw new BuildError(String((e as Error).message).replace(/^\/?playground\.ts: /, ''));
  }
  const modules: Record<string, unknown> = { dualtape: runtime, 'dualtape/ops': ops };
  const require = (name: string): unknown => {
    if (name in modules) return modules[name];
    throw new Error(`the playground can only import from 'dualtape' (got ${JSON.stringify(name)})`);
  };
  const exports: Record<string, unknown> = {};
  // The wrapper shares the first line and lines are retained: stack traces and graph regions show the user's lines.
  const run = (0, eval)(`(function (require, exports) {${code}\n})\n//# sourceURL=playground.ts`) as (r: typeof require, e: object) => void;
  run(require, exports);
  return { exports, code };
}
