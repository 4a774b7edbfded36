/**
 * Finding what to differentiate, and making the twins.
 *
 * - Inline functions handed to an entry point (`grad((x) => ...)`) are
 *   compiled in place: nobody else can call them.
 * - Named same-module functions get a differentiable *twin* next to them and
 *   `register(original, twin)`, so ordinary callers keep the untouched
 *   original. That covers functions handed to an entry point by name, every
 *   same-module function those call (transitively), functions marked with
 *   'use differentiable', and - speculatively, so that `train(loss)` can call
 *   `grad(loss)` - same-module functions passed as arguments to any call.
 * - Anonymous functions marked 'use differentiable' (`export default (x) =>
 *   ...`) become `register(original, compiledCopy)`.
 *
 * "Strict" roots are those the user asked for: an unsupported construct in
 * them is a build error. Speculative ones are silently left alone instead.
 */
import type { NodePath } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import { functionOfBinding } from './context.js';
import type { Binding, Context } from './context.js';
import { CUSTOM_DERIVATIVE, DIRECTIVE } from './names.js';
import { findUnsupported } from './unsupported.js';
import { methodTwinnable } from './methods.js';
import { unwrapPath } from './wrappers.js';

type Fn = NodePath<BabelTypes.Function>;

export interface Roots {
  /** Compiled in place. */
  inline: Fn[];
  /** Twinned; value: strict. */
  named: Map<Binding, boolean>;
  /** Wrapped as register(original, compiledCopy). */
  anonymous: Fn[];
  /**
   * Compiled in place, for everyone: methods marked 'use differentiable' and, in
   * a file marked so, functions that cannot be twinned by name (object and
   * class methods, functions stored in objects). Plain callers then run the
   * runtime's fast paths.
   */
  inPlace: Fn[];
  /** `grad(makeLoss(data))` with an imported factory: the callee goes through `callable`. */
  factoryCalls: NodePath<BabelTypes.CallExpression>[];
  /** Class and object-literal methods that get a twin (see createMethodTwins). */
  methods: Fn[];
}

function hasDirective(node: BabelTypes.Function | BabelTypes.Program): boolean {
  const body = 'body' in node && node.body && 'directives' in node.body ? node.body : node;
  const directives = (body as { directives?: BabelTypes.Directive[] }).directives ?? [];
  return directives.some((d) => d.value.value === DIRECTIVE);
}

export function fileHasDirective(program: BabelTypes.Program): boolean {
  return program.directives.some((d) => d.value.value === DIRECTIVE);
}

/** The binding that names this function, if it is a same-module function declaration or const. */
function bindingOfFunction(fn: Fn): Binding | undefined {
  let id: BabelTypes.Identifier | undefined;
  if (fn.isFunctionDeclaration() && fn.node.id) id = fn.node.id;
  else if (fn.parentPath.isVariableDeclarator() && fn.parentPath.node.id.type === 'Identifier') id = fn.parentPath.node.id;
  if (!id) return undefined;
  const binding = (fn.isFunctionDeclaration() ? fn.parentPath.scope : fn.scope.parent ?? fn.scope).getBinding(id.name);
  return binding && functionOfBinding(binding) === fn ? binding : undefined;
}

export function collectRoots(program: NodePath<BabelTypes.Program>, ctx: Context, fileDirective: boolean): Roots {
  const roots: Roots = { inline: [], named: new Map(), anonymous: [], inPlace: [], factoryCalls: [], methods: [] };
  const addNamed = (b: Binding, strict: boolean) => roots.named.set(b, strict || (roots.named.get(b) ?? false));
  const markFunction = (fn: Fn) => {
    const b = bindingOfFunction(fn);
    if (b) addNamed(b, true);
    else if (fn.isObjectMethod() || fn.isClassMethod() || fn.isClassPrivateMethod()) {
      (methodTwinnable(fn) ? roots.methods : roots.inPlace).push(fn);
    } else if (fn.parentPath.isExportDefaultDeclaration() || fn.parentPath.isCallExpression() ||
             fn.parentPath.isVariableDeclarator() || fn.parentPath.isExpressionStatement() ||
             fn.parentPath.isObjectProperty() || fn.parentPath.isArrayExpression() || fn.parentPath.isReturnStatement() ||
             fn.parentPath.isAssignmentExpression()) roots.anonymous.push(fn);
    else roots.inPlace.push(fn);
  };

  program.traverse({
    CallExpression(path) {
      const args = path.get('arguments');
      const entry = ctx.entryName(path.get('callee'));
      if (entry === CUSTOM_DERIVATIVE) {
        // The rule's functions are compiled; the function itself is a black box.
        const rule = args[1];
        if (args[0]?.isFunction()) ctx.opaque.add(args[0].node);
        if (rule?.isObjectExpression()) {
          for (const prop of rule.get('properties')) {
            if (prop.isObjectMethod()) roots.inPlace.push(prop);
            else if (prop.isObjectProperty()) {
              const v = prop.get('value');
              if (v.isArrowFunctionExpression() || v.isFunctionExpression()) roots.inline.push(v);
              else if (v.isIdentifier()) {
                const b = path.scope.getBinding(v.node.name);
                if (b && functionOfBinding(b)) addNamed(b, true);
              }
            }
          }
        }
        return;
      }
      if (entry !== undefined) {
        if (!args[0]) return;
        // `grad(f as F)`, `grad(f!)`, `grad((x => ...) satisfies F)`: look through TypeScript.
        const first = unwrapPath(args[0]);
        if (first.isArrowFunctionExpression() || first.isFunctionExpression()) {
          roots.inline.push(first);
        } else if (first.isIdentifier()) {
          const b = path.scope.getBinding(first.node.name);
          if (b && functionOfBinding(b)) addNamed(b, true);
        } else if (first.isCallExpression() && first.get('callee').isIdentifier()) {
          const callee = first.get('callee') as NodePath<BabelTypes.Identifier>;
          const b = path.scope.getBinding(callee.node.name);
          if (b && functionOfBinding(b)) {
            addNamed(b, true);
            roots.factoryCalls.push(first);
          } else if (b?.kind === 'module') roots.factoryCalls.push(first);
        }
        return;
      }
      // Module-level functions passed to other calls (`train(loss)`), in case they reach grad there.
      for (const arg of args) {
        if (!arg.isIdentifier()) continue;
        const b = path.scope.getBinding(arg.node.name);
        if (b && b.scope.path.isProgram() && functionOfBinding(b)) addNamed(b, false);
      }
    },
    Function(path) {
      if (hasDirective(path.node)) markFunction(path);
    },
  });

  for (const fn of inlineThroughHelpers(program, ctx)) if (!roots.inline.some((f) => f.node === fn.node)) roots.inline.push(fn);

  if (fileDirective) {
    for (const stmt of program.get('body')) {
      const decl = stmt.isExportNamedDeclaration() || stmt.isExportDefaultDeclaration() ? stmt.get('declaration') : stmt;
      if (!decl || Array.isArray(decl) || !decl.node) continue;
      const d = decl as NodePath;
      if (d.isFunctionDeclaration() || d.isArrowFunctionExpression() || d.isFunctionExpression()) {
        markFunction(d as Fn);
      } else if (d.isVariableDeclaration()) {
        for (const v of d.get('declarations')) {
          const init = v.get('init');
          if (init.isArrowFunctionExpression() || init.isFunctionExpression()) markFunction(init);
        }
      }
    }
  }

  if (fileDirective) {
    // Every other top-level function of the file (methods, functions stored in objects).
    const taken = new Set<object>([
      ...roots.anonymous.map((f) => f.node),
      ...roots.inPlace.map((f) => f.node),
      ...roots.methods.map((f) => f.node),
      ...[...roots.named.keys()].map((b) => functionOfBinding(b)!.node),
    ]);
    program.traverse({
      Function(path) {
        if (!taken.has(path.node) && !bindingOfFunction(path)) markFunction(path);
        path.skip(); // nested functions are compiled with their parent
      },
    });
  }

  // Everything a root refers to by name is compiled too (transitively).
  const work: [Fn, boolean][] = [
    ...roots.inline.map((f): [Fn, boolean] => [f, true]),
    ...roots.anonymous.map((f): [Fn, boolean] => [f, true]),
    ...roots.inPlace.map((f): [Fn, boolean] => [f, true]),
    ...roots.methods.map((f): [Fn, boolean] => [f, true]),
    ...[...roots.named].map(([b, strict]): [Fn, boolean] => [functionOfBinding(b)!, strict]),
  ];
  const seen = new Set<object>();
  while (work.length > 0) {
    const [fn, strict] = work.pop()!;
    const key = fn.node;
    if (seen.has(key) && !strict) continue;
    seen.add(key);
    fn.traverse({
      Function(path) {
        if (ctx.opaque.has(path.node)) path.skip();
      },
      Identifier(path) {
        if (!path.isReferencedIdentifier()) return;
        const b = path.scope.getBinding(path.node.name);
        if (!b || b.path.isDescendant(fn)) return; // declared inside: compiled with it
        const callee = functionOfBinding(b);
        if (!callee) return;
        const before = roots.named.get(b);
        if (before === true || (before === false && !strict)) return;
        addNamed(b, strict);
        work.push([callee, strict]);
      },
    });
  }
  return roots;
}

/** The statement that holds a declaration, skipping `export`. */
function statementOf(path: NodePath): NodePath {
  const stmt = path.getStatementParent()!;
  return stmt.parentPath?.isExportDeclaration() ? stmt.parentPath : stmt;
}

/**
 * Inserts the twin of each named root next to it, plus `register(f, twin)`.
 * Returns the twins to compile with their strictness. Throws a code-frame
 * error for unsupported constructs in strict roots; drops speculative ones.
 */
export function createTwins(roots: Roots, ctx: Context): [Fn, boolean][] {
  const t = ctx.t;
  const out: [Fn, boolean][] = [];
  for (const [binding, strict] of roots.named) {
    let fn = functionOfBinding(binding)!;
    // `if (c) function f() {}` and `label: function f() {}` (sloppy mode): a declaration that is the
    // whole body of its statement has no list to put the twin in; Annex B gives it the meaning of
    // `{ function f() {} }`, so make that block.
    if (fn.isFunctionDeclaration() && !fn.listKey && !fn.parentPath.isExportDeclaration()) {
      const [block] = fn.replaceWith(t.blockStatement([fn.node])) as unknown as NodePath<BabelTypes.BlockStatement>[];
      fn = block!.get('body')[0] as unknown as Fn;
      block!.scope.crawl();
    }
    const bad = findUnsupported(fn);
    if (bad) {
      if (strict) throw bad.path.buildCodeFrameError(bad.message);
      continue;
    }
    const name = binding.identifier.name;
    const twinId = fn.scope.generateUidIdentifier(`${name}_d`);
    // Comments stay with the original only.
    const clone = t.removeComments(t.cloneNode(fn.node, true));
    const register = t.expressionStatement(t.callExpression(ctx.helper('register'), [t.identifier(name), t.cloneNode(twinId)]));
    let twinPath: Fn;
    if (fn.isFunctionDeclaration()) {
      (clone as BabelTypes.FunctionDeclaration).id = twinId;
      const [inserted] = statementOf(fn).insertAfter(clone as BabelTypes.FunctionDeclaration);
      twinPath = inserted as unknown as Fn;
      // Declarations are hoisted, so `grad(f)` may run before this line: register at the top of the
      // list that holds it (a program or block body, or a `switch` case's statements).
      const stmt = statementOf(fn);
      const list = stmt.parentPath!.get(stmt.listKey as string) as NodePath[];
      const firstNonImport = list.find((p) => !p.isImportDeclaration());
      firstNonImport!.insertBefore(register);
    } else {
      const decl = t.variableDeclaration('const', [t.variableDeclarator(twinId, clone as BabelTypes.Expression)]);
      const [inserted] = statementOf(fn).insertAfter([decl, register]);
      twinPath = (inserted as NodePath<BabelTypes.VariableDeclaration>).get('declarations')[0]!.get('init') as Fn;
    }
    ctx.setTwin(binding, twinId.name);
    ctx.originalOf.set(twinPath.node, fn);
    out.push([twinPath, strict]);
  }
  return out;
}

/** `export default (x) => ...` marked 'use differentiable': `register(original, compiledCopy)`. */
export function wrapAnonymous(fn: Fn, ctx: Context): Fn {
  const t = ctx.t;
  const bad = findUnsupported(fn);
  if (bad) throw bad.path.buildCodeFrameError(bad.message);
  const node = fn.node;
  const asExpression = (n: BabelTypes.Function): BabelTypes.Expression =>
    t.isFunctionDeclaration(n) ? t.functionExpression(n.id, n.params, n.body, n.generator, n.async) : (n as BabelTypes.Expression);
  const original = asExpression(node);
  const copy = asExpression(t.removeComments(t.cloneNode(node, true)));
  const call = t.callExpression(ctx.helper('register'), [original, copy]);
  const [replaced] = fn.replaceWith(call) as NodePath[];
  return (replaced as NodePath<BabelTypes.CallExpression>).get('arguments')[1] as Fn;
}

// ---------------------------------------------------------------------------
// Inline functions that reach an entry point through a same-module helper
// ---------------------------------------------------------------------------

/**
 * `derivativeAt((x) => x ** 3, 2)` where `function derivativeAt(f, x) {
 * return grad(f)(x); }` is in the same module: the helper's parameter `f`
 * reaches an entry point, so an inline function passed in its place is
 * compiled (in place, as if handed to grad directly). Found as a fixpoint:
 * a parameter forwards when it is the first argument of an entry point or is
 * passed in a forwarding position of another same-module helper. Helpers in
 * other modules cannot be seen at build time: their callers mark the inline
 * function with 'use differentiable' (the runtime error says so).
 */
function inlineThroughHelpers(program: NodePath<BabelTypes.Program>, ctx: Context): Fn[] {
  const calls: NodePath<BabelTypes.CallExpression>[] = [];
  program.traverse({ CallExpression(p) { calls.push(p); } });
  const forwards = new Map<object, Set<number>>(); // function node -> parameter positions
  const helperOf = (callee: NodePath): Fn | undefined => {
    if (!callee.isIdentifier()) return undefined;
    const b = callee.scope.getBinding(callee.node.name);
    return b ? functionOfBinding(b) : undefined;
  };
  /** The function and position of `arg` when it names a parameter (`f` in `function h(f) {...}`). */
  const paramOf = (arg: NodePath | undefined): [Fn, number] | undefined => {
    if (!arg) return undefined;
    const a = unwrapPath(arg);
    if (!a.isIdentifier()) return undefined;
    const b = a.scope.getBinding(a.node.name);
    if (!b || b.kind !== 'param' || !b.path.parentPath?.isFunction() || b.path.listKey !== 'params') return undefined;
    if (!b.constant) return undefined;
    return [b.path.parentPath as Fn, b.path.key as number];
  };
  const add = (fn: Fn, i: number): boolean => {
    const set = forwards.get(fn.node) ?? new Set<number>();
    forwards.set(fn.node, set);
    if (set.has(i)) return false;
    set.add(i);
    return true;
  };
  let changed = true;
  while (changed) {
    changed = false;
    for (const call of calls) {
      const callee = call.get('callee');
      const args = call.get('arguments');
      const entry = ctx.entryName(callee);
      const positions = entry !== undefined && entry !== CUSTOM_DERIVATIVE ? new Set([0])
        : forwards.get(helperOf(callee)?.node ?? {}) ?? new Set<number>();
      for (const i of positions) {
        const p = paramOf(args[i]);
        if (p && add(p[0], p[1])) changed = true;
      }
    }
  }
  const out: Fn[] = [];
  for (const call of calls) {
    const helper = helperOf(call.get('callee'));
    const positions = helper && forwards.get(helper.node);
    if (!positions) continue;
    const args = call.get('arguments');
    for (const i of positions) {
      const a = args[i] && unwrapPath(args[i]!);
      if (a && (a.isArrowFunctionExpression() || a.isFunctionExpression()) && !hasDirective(a.node)) out.push(a as Fn);
    }
  }
  return out;
}
