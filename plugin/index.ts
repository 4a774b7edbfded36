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
import type { DualtapeBabelOptions } from './options.js';
import { ENTRY_POINTS } from './names.js';
import { compileFunction } from './rewrite.js';
import { findUnsupported } from './unsupported.js';
import { misplacedDirectives } from './directives.js';
import { createMethodTwins } from './methods.js';
import { collectRoots, createTwins, fileHasDirective, wrapAnonymous } from './targets.js';
import { unwrapPath } from './wrappers.js';
import { planTangents } from './tangent/index.js';

export type { DualtapeBabelOptions };

/**
 * The plugin as Babel calls it. Declared here, not as Babel's own types, so
 * that dualtape's published types need no `@types/babel__core`.
 */
export type DualtapeBabelPlugin = (api: object, options: DualtapeBabelOptions | undefined, dirname: string) => {
  name?: string;
  visitor: object;
};
import { emitAdjoints } from './adjoint/index.js';

const plugin = declare((api, options: DualtapeBabelOptions): PluginObj<PluginPass> => {
  api.assertVersion('^7.0.0-0 || ^8.0.0-0');
  const t = api.types;
  const runtime = options.runtime ?? 'dualtape';
  const opsModule = `${runtime}/ops`;

  function transform(program: NodePath<BabelTypes.Program>, code: string | undefined, filename: string | undefined): void {
    const body = program.node.body;
    // Already compiled (a second pass over our own output): nothing to do.
    if (body.some((s) => t.isImportDeclaration(s) && s.source.value === opsModule)) return;

    const entrySpecifiers = new Map<object, string>();
    const namespaceSpecifiers = new Set<object>();
    // Any value import from the runtime (also a bare `import 'dualtape'`) opts the module in:
    // its functions passed by name to other calls are twinned (`train(loss)`).
    let importsRuntime = false;
    for (const s of body) {
      if (!t.isImportDeclaration(s) || s.source.value !== runtime || s.importKind === 'type') continue;
      // (`import { type X } from 'dualtape'` alone imports nothing at run time.)
      if (s.specifiers.length === 0 || s.specifiers.some((spec) => !t.isImportSpecifier(spec) || spec.importKind !== 'type')) importsRuntime = true;
      for (const spec of s.specifiers) {
        if (t.isImportNamespaceSpecifier(spec)) namespaceSpecifiers.add(spec);
        else if (t.isImportSpecifier(spec) && spec.importKind !== 'type') {
          const imported = t.isIdentifier(spec.imported) ? spec.imported.name : spec.imported.value;
          if (ENTRY_POINTS.has(imported)) entrySpecifiers.set(spec, imported);
        }
      }
    }
    // (Only a source that has `import(` can have one: skip the traversal otherwise.)
    if (code === undefined || /\bimport\s*\(/.test(code)) collectDynamicImports(program, runtime, entrySpecifiers, namespaceSpecifiers);
    // `'use differentiable'` after an import is no directive: warn (and take it as meant, see targets.ts).
    const mentioned = code === undefined || code.includes('use differentiable');
    const fileDirective = (mentioned && misplacedDirectives(program, (m) => console.warn(m))) || fileHasDirective(program.node);
    if (!importsRuntime && entrySpecifiers.size === 0 && namespaceSpecifiers.size === 0 && !fileDirective && !mentionsDirective(program)) return;

    const ctx = new Context(t, program, opsModule, entrySpecifiers, namespaceSpecifiers, options.fastPath !== false);
    const roots = collectRoots(program, ctx, fileDirective);
    const twins = [...createTwins(roots, ctx), ...createMethodTwins(roots.methods, ctx)];
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
    // Tangent code and adjoint code are made from the original source, before the rewrite changes inline functions.
    const tangents = options.tangent === false ? undefined
      : planTangents(ctx, [...roots.named.keys()].flatMap((b) => { const tw = ctx.twinOf(b); return tw ? [[b, tw.name] as [typeof b, string]] : []; }), inline, runtime);
    tangents?.insertNamed();
    program.scope.crawl();
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
      // compareModes times the user's own function as "plain f": keep an untouched copy of it.
      const original = keepsOriginal(fn, roots.inline, ctx) ? t.cloneNode(fn.node as BabelTypes.Expression, true) : null;
      const source = fn.node;
      const wrap = adjoints.get(fn.node);
      compileFunction(fn, ctx, true);
      ctx.done.add(fn.node);
      const call = t.callExpression(ctx.helper('compiled'), [fn.node as BabelTypes.Expression, ...(original ? [original] : [])]);
      const registered = wrap ? wrap(call) : call;
      fn.replaceWith(tangents?.wrapInline(source, registered) ?? registered);
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
        transform(path, state.file?.code, state.filename);
      },
    },
  };
});

/**
 * Is `fn` the function handed to compareModes (which also times the original)?
 * Not when it holds another inline root: that copy would call grad on an uncompiled function.
 */
function keepsOriginal(fn: NodePath, inline: readonly NodePath[], ctx: Context): boolean {
  const call = fn.findParent((p) => p.isCallExpression() || p.isFunction() || p.isStatement());
  if (!call?.isCallExpression()) return false;
  const first = call.get('arguments')[0];
  if (!first || unwrapPath(first).node !== fn.node || ctx.entryName(call.get('callee')) !== 'compareModes') return false;
  if (inline.some((other) => other !== fn && other.isDescendant(fn))) return false;
  // Any entry point called inside (an inline `grad(...)`) would get an uncompiled function in the copy.
  let callsEntry = false;
  fn.traverse({
    CallExpression(p) {
      if (ctx.entryName(p.get('callee')) !== undefined) {
        callsEntry = true;
        p.stop();
      }
    },
  });
  return !callsEntry;
}

/**
 * `const { grad } = await import('dualtape')` and `const dt = await import('dualtape')`
 * (a const, anywhere): entry points and namespaces like their static forms.
 * Keys: the bound identifier (destructuring) or the declarator (namespace).
 */
function collectDynamicImports(
  program: NodePath<BabelTypes.Program>,
  runtime: string,
  entrySpecifiers: Map<object, string>,
  namespaceSpecifiers: Set<object>,
): void {
  program.traverse({
    VariableDeclarator(path) {
      const { id, init } = path.node;
      const decl = path.parentPath;
      if (!decl.isVariableDeclaration() || decl.node.kind !== 'const') return;
      const awaited = init?.type === 'AwaitExpression' ? init.argument : undefined;
      const isImport =
        (awaited?.type === 'CallExpression' && awaited.callee.type === 'Import') || awaited?.type === 'ImportExpression';
      const source = awaited?.type === 'CallExpression' ? awaited.arguments[0] : awaited?.type === 'ImportExpression' ? awaited.source : undefined;
      if (!isImport || source?.type !== 'StringLiteral' || source.value !== runtime) return;
      if (id.type === 'Identifier') namespaceSpecifiers.add(path.node);
      else if (id.type === 'ObjectPattern') {
        for (const p of id.properties) {
          if (p.type !== 'ObjectProperty' || p.computed || p.value.type !== 'Identifier') continue;
          const name = p.key.type === 'Identifier' ? p.key.name : p.key.type === 'StringLiteral' ? p.key.value : undefined;
          if (name !== undefined && ENTRY_POINTS.has(name)) entrySpecifiers.set(p.value, name);
        }
      }
    },
  });
}

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

export default plugin as DualtapeBabelPlugin;
