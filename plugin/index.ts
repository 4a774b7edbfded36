/**
 * `dualtape/babel`: rewrites the functions handed to dualtape's entry points
 * (and the functions they call, and functions marked 'use differentiable')
 * into calls on the dualtape runtime. See targets.ts for what is compiled,
 * rewrite.ts for how, activity.ts for what is left native.
 */
import { declare } from '@babel/helper-plugin-utils';
import type { NodePath, PluginObj, PluginPass } from '@babel/core';
import type * as BabelTypes from '@babel/types';
import { Context } from './context.js';
import { ENTRY_POINTS } from './names.js';
import { compileFunction } from './rewrite.js';
import { findUnsupported } from './unsupported.js';
import { collectRoots, createTwins, fileHasDirective, wrapAnonymous } from './targets.js';
import { emitAdjoints } from './adjoint/index.js';

export interface DualtapeBabelOptions {
  /** The module users import dualtape from (default 'dualtape'); compiled code imports `${runtime}/ops`. */
  runtime?: string;
  /**
   * Statement-level preaccumulation (default true): arithmetic expressions
   * get a plain-JS fast path recording one tape node each. False gives one
   * runtime call per operation (smaller output, slower).
   */
  fastPath?: boolean;
  /**
   * The adjoint tier (default true): named module-level functions the plugin
   * can compile whole also get generated adjoint code (forward and reverse
   * sweeps on plain numbers), which `grad` runs instead of the tape.
   */
  adjoint?: boolean;
  /** Print, per function, which tier its gradients run on and why (also DUALTAPE_REPORT=1). */
  report?: boolean;
}

const plugin = declare((api, options: DualtapeBabelOptions): PluginObj<PluginPass> => {
  api.assertVersion('^7.0.0-0 || ^8.0.0-0');
  const t = api.types;
  const runtime = options.runtime ?? 'dualtape';
  const opsModule = `${runtime}/ops`;

  function transform(program: NodePath<BabelTypes.Program>, filename: string | undefined): void {
    const body = program.node.body;
    // Already compiled (a second pass over our own output): nothing to do.
    if (body.some((s) => t.isImportDeclaration(s) && s.source.value === opsModule)) return;

    const entrySpecifiers = new Map<object, string>();
    const namespaceSpecifiers = new Set<object>();
    for (const s of body) {
      if (!t.isImportDeclaration(s) || s.source.value !== runtime || s.importKind === 'type') continue;
      for (const spec of s.specifiers) {
        if (t.isImportNamespaceSpecifier(spec)) namespaceSpecifiers.add(spec);
        else if (t.isImportSpecifier(spec) && spec.importKind !== 'type') {
          const imported = t.isIdentifier(spec.imported) ? spec.imported.name : spec.imported.value;
          if (ENTRY_POINTS.has(imported)) entrySpecifiers.set(spec, imported);
        }
      }
    }
    const fileDirective = fileHasDirective(program.node);
    if (entrySpecifiers.size === 0 && namespaceSpecifiers.size === 0 && !fileDirective && !mentionsDirective(program)) return;

    const ctx = new Context(t, program, opsModule, entrySpecifiers, namespaceSpecifiers, options.fastPath !== false);
    const roots = collectRoots(program, ctx, fileDirective);
    const twins = createTwins(roots, ctx);
    const anonymous = roots.anonymous.map((fn) => wrapAnonymous(fn, ctx));
    // `grad(makeLoss(data))`: the factory's differentiable version makes the function.
    for (const call of roots.factoryCalls) {
      const callee = call.get('callee');
      const binding = callee.isIdentifier() ? call.scope.getBinding(callee.node.name) : undefined;
      const twin = binding && ctx.twinOf(binding);
      callee.replaceWith(twin ?? t.callExpression(ctx.helper('callable'), [call.node.callee as BabelTypes.Expression]));
    }
    // New declarations must be known to the scope before the rewrite looks names up.
    program.scope.crawl();
    // Inline roots inside another inline root are compiled with it.
    const inline = roots.inline.filter((fn) => !roots.inline.some((other) => other !== fn && fn.isDescendant(other)));
    // The adjoint tier reads the functions as written, before the rewrite below.
    const adjoints = options.adjoint !== false ? emitAdjoints(ctx, roots.named.keys(), inline, { report: options.report, filename }) : new Map();
    if (options.adjoint !== false) program.scope.crawl();

    for (const [fn, strict] of twins) compileFunction(fn, ctx, strict);
    for (const fn of anonymous) compileFunction(fn, ctx, true);
    for (const fn of roots.inPlace) {
      const bad = findUnsupported(fn);
      if (bad) throw bad.path.buildCodeFrameError(bad.message);
      compileFunction(fn, ctx, true);
      // A function value (in an object, an array, an argument) is marked so grad accepts it.
      if ((fn.isArrowFunctionExpression() || fn.isFunctionExpression()) && !ctx.done.has(fn.node)) {
        ctx.done.add(fn.node);
        fn.replaceWith(t.callExpression(ctx.helper('compiled'), [fn.node]));
      } else if (fn.isObjectMethod() && fn.node.kind === 'method' && !usesSuper(fn)) {
        // `{ f(x) { ... } }` becomes `{ f: compiled(function f(x) { ... }) }` so that grad(obj.f) works.
        const m = fn.node;
        const name = !m.computed && t.isIdentifier(m.key) ? t.identifier(m.key.name) : null;
        const value = t.functionExpression(name, m.params, m.body, m.generator, m.async);
        ctx.done.add(value);
        fn.replaceWith(t.objectProperty(m.key, t.callExpression(ctx.helper('compiled'), [value]), m.computed));
      }
    }
    for (const fn of inline) {
      const bad = findUnsupported(fn);
      if (bad) throw bad.path.buildCodeFrameError(bad.message);
      const wrap = adjoints.get(fn.node);
      compileFunction(fn, ctx, true);
      ctx.done.add(fn.node);
      const marked = t.callExpression(ctx.helper('compiled'), [fn.node as BabelTypes.Expression]);
      fn.replaceWith(wrap ? wrap(marked) : marked);
    }
    // The directive has done its job; left in, bundlers warn about an unknown module-level directive.
    program.traverse({
      Directive(path) {
        if (path.node.value.value === 'use differentiable') path.remove();
      },
    });
    if (fileDirective) program.node.directives = program.node.directives.filter((d) => d.value.value !== 'use differentiable');
    // Re-crawl so later plugins (TypeScript's import elision) see the references to our imports.
    program.scope.crawl();
  }

  return {
    name: 'dualtape',
    visitor: {
      Program(path, state) {
        transform(path, state.filename);
      },
    },
  };
});

/** Does this method use `super` (which only works in a method, not a function)? */
function usesSuper(fn: NodePath): boolean {
  let found = false;
  fn.traverse({
    Super(path) {
      found = true;
      path.stop();
    },
    Function(path) {
      if (!path.isArrowFunctionExpression()) path.skip();
    },
  });
  return found;
}

/** Is there a 'use differentiable' directive in some function body? */
function mentionsDirective(program: NodePath<BabelTypes.Program>): boolean {
  let found = false;
  program.traverse({
    Directive(path) {
      if (path.node.value.value === 'use differentiable') {
        found = true;
        path.stop();
      }
    },
  });
  return found;
}

export default plugin;
