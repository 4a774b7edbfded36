/**
 * Per-file state of the plugin: the runtime helpers imported so far, the
 * dualtape entry points in scope, and the differentiable twin of each
 * same-module function.
 */
import { addNamed } from '@babel/helper-module-imports';
import type { NodePath, Scope } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import { ENTRY_POINTS } from './names.js';

type T = typeof import('@babel/core').types;
export type Binding = NonNullable<ReturnType<Scope['getBinding']>>;

/** Helpers whose result never carries a derivative. */
const INACTIVE_RESULTS = new Set([
  'lt', 'le', 'gt', 'ge', 'eq', 'ne', 'looseEq', 'looseNe', 'truthy', 'typeOf', 'value',
  'floor', 'ceil', 'round', 'trunc', 'sign', 'comparator', 'parsed', 'search', 'isView', 'isArray', 'size', 'join', 'join2', 'join3',
]);

export class Context {
  /** Nodes the plugin built: never rewritten again. */
  readonly done = new WeakSet<object>();
  /** Functions never to look inside (the first argument of customDerivative). */
  readonly opaque = new WeakSet<object>();
  private readonly helpers = new Map<string, string>();
  private readonly helperNames = new Map<string, string>();
  /** Twin names, keyed by the declaration node (Binding objects do not survive a scope crawl). */
  private readonly twins = new WeakMap<object, string>();

  constructor(
    readonly t: T,
    readonly program: NodePath<BabelTypes.Program>,
    private readonly opsModule: string,
    /** Import specifier nodes of dualtape entry points (with their exported names) and of `import * as dt from 'dualtape'`. */
    private readonly entrySpecifiers: ReadonlyMap<object, string>,
    private readonly namespaceSpecifiers: ReadonlySet<object>,
    /** Statement-level preaccumulation on (see preaccumulate.ts). */
    readonly fastPath: boolean,
  ) {}

  private tempBase: string | undefined;
  private tempCount = 0;

  /**
   * A temporary variable declared in the nearest function (or the program).
   * Names come from one uid per file plus a counter: asking Babel for a fresh
   * uid per temporary costs time quadratic in their number.
   */
  temp(path: NodePath, hint: string): BabelTypes.Identifier {
    this.tempBase ??= this.program.scope.generateUid('dt');
    const id = this.t.identifier(`${this.tempBase}$${hint}${++this.tempCount}`);
    const scope = path.scope.getFunctionParent() ?? path.scope.getProgramParent();
    scope.push({ id: this.t.cloneNode(id) });
    return id;
  }

  /** Compiled functions whose fast path is off (see recursive() in rewrite.ts). */
  readonly noFastPath = new WeakSet<object>();
  /** For a twin: the function it was cloned from. */
  readonly originalOf = new WeakMap<object, NodePath<BabelTypes.Function>>();

  /** An identifier for runtime helper `name`, imported once per file. */
  helper = (name: string): BabelTypes.Identifier => {
    let local = this.helpers.get(name);
    if (local === undefined) {
      local = (addNamed(this.program, name, this.opsModule, { nameHint: `dt_${name}_` }) as BabelTypes.Identifier).name;
      this.helpers.set(name, local);
      this.helperNames.set(local, name);
    }
    return this.t.identifier(local);
  };

  isHelper(local: string): boolean {
    return this.helperNames.has(local);
  }

  /** For a call to a helper: whether its result may carry a derivative; undefined for other calls. */
  helperResultActive(node: BabelTypes.CallExpression): boolean | undefined {
    if (!this.t.isIdentifier(node.callee)) return undefined;
    const name = this.helperNames.get(node.callee.name);
    if (name === undefined) return undefined;
    return !INACTIVE_RESULTS.has(name);
  }

  /** Is this callee (`grad` or `dt.grad`) a dualtape entry point? */
  isEntry(callee: NodePath): boolean {
    return this.entryName(callee) !== undefined;
  }

  /** The entry point this callee names (`grad` for `g` in `import { grad as g }`), if any. */
  entryName(callee: NodePath): string | undefined {
    const t = this.t;
    if (callee.isIdentifier()) {
      const b = callee.scope.getBinding(callee.node.name);
      // (Destructured `const { grad } = await import(…)`: keyed by the identifier.)
      return b === undefined ? undefined : this.entrySpecifiers.get(b.path.node) ?? this.entrySpecifiers.get(b.identifier);
    }
    if (callee.isMemberExpression() && !callee.node.computed && t.isIdentifier(callee.node.object) &&
        t.isIdentifier(callee.node.property) && ENTRY_POINTS.has(callee.node.property.name)) {
      const b = callee.scope.getBinding(callee.node.object.name);
      return b !== undefined && this.namespaceSpecifiers.has(b.path.node) ? callee.node.property.name : undefined;
    }
    return undefined;
  }

  isNamespaceImport(binding: Binding | undefined): boolean {
    return binding !== undefined && binding.kind === 'module' && binding.path.isImportNamespaceSpecifier();
  }

  setTwin(binding: Binding, name: string): void {
    this.twins.set(binding.path.node, name);
  }

  twinOf(binding: Binding): BabelTypes.Identifier | undefined {
    const name = this.twins.get(binding.path.node);
    return name === undefined ? undefined : this.t.identifier(name);
  }

  /** A function declared in this file by name (declaration or `const f = () => ...`). */
  isLocalFunction(binding: Binding): boolean {
    return functionOfBinding(binding) !== undefined;
  }
}

/** The function a binding names, when it is a same-module function that cannot be reassigned. */
export function functionOfBinding(binding: Binding): NodePath<BabelTypes.Function> | undefined {
  const decl = binding.path;
  // Babel lists a declaration in a loop body as a violation of itself (it runs once per iteration).
  if (decl.isFunctionDeclaration()) return binding.constantViolations.every((v) => v.node === decl.node) ? decl : undefined;
  if (decl.isVariableDeclarator() && binding.constant) {
    const init = decl.get('init');
    if (init.isArrowFunctionExpression() || init.isFunctionExpression()) return init;
  }
  return undefined;
}
