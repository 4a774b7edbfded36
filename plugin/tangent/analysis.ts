/**
 * What the tangent compiler needs to know about a function before it emits
 * anything: the kind of each parameter and local (a number or a flat array of
 * numbers), and which of them are active (may carry a tangent). Parameters
 * used as objects (`data.xs`) are data: never differentiated, so everything
 * read from them is passive. Anything the compiler does not understand throws
 * `Unsupported`, and the function keeps the Dual runtime.
 */
import type { NodePath, Scope } from '@babel/traverse';
import type * as B from '@babel/types';
import { unwrapPath } from '../wrappers.js';

export type Binding = NonNullable<ReturnType<Scope['getBinding']>>;
export type Kind = 'n' | 'a' | 'd';

export class Unsupported extends Error {}

const COMPARISONS = new Set(['<', '<=', '>', '>=', '===', '!==', '==', '!=', 'instanceof', 'in', '|', '&', '^', '<<', '>>', '>>>']);
export const MATH_PASSIVE = new Set(['floor', 'ceil', 'round', 'trunc', 'sign', 'random', 'imul', 'clz32']);

/** What the compiler knows of another compiled function of the module. */
export interface Callee {
  kinds: Kind[];
  returnsArray: boolean;
  written: boolean[];
  scalar: string;
  chunk: string;
  ok: boolean;
}

/** `stopGradient` imported from dualtape (named or through a namespace): its result carries no tangent. */
export function isStopGradient(callee: NodePath, runtime: string): boolean {
  const t = callee.isIdentifier() ? callee : callee.isMemberExpression() && !callee.node.computed ? callee.get('object') as NodePath : undefined;
  if (!t || !t.isIdentifier()) return false;
  const b = t.scope.getBinding(t.node.name);
  if (!b || b.kind !== 'module') return false;
  const spec = b.path;
  const decl = spec.parentPath;
  if (!decl?.isImportDeclaration() || decl.node.source.value !== runtime) return false;
  if (callee.isIdentifier()) {
    if (!spec.isImportSpecifier()) return false;
    const imported = spec.node.imported;
    return (imported.type === 'Identifier' ? imported.name : imported.value) === 'stopGradient';
  }
  const prop = (callee.node as B.MemberExpression).property;
  return spec.isImportNamespaceSpecifier() && prop.type === 'Identifier' && prop.name === 'stopGradient';
}

export class Analysis {
  readonly locals = new Set<Binding>();
  readonly kinds = new Map<Binding, Kind>();
  readonly active = new Set<Binding>();
  readonly params: Binding[] = [];
  /** Parameters assigned or written through somewhere in the body. */
  readonly reassigned = new Set<Binding>();
  readonly written = new Set<Binding>();
  readonly calls = new Set<string>();

  constructor(
    readonly t: typeof import('@babel/core').types,
    readonly fn: NodePath<B.Function>,
    /** The compiled same-module function a callee identifier names, if any. */
    readonly calleeOf: (callee: NodePath) => Callee | undefined,
    /** The module users import dualtape from. */
    readonly runtime = 'dualtape',
  ) {
    this.check();
    this.collect();
    this.classify();
    this.solve();
  }

  /** Constructs no tangent code is made for. */
  private check(): void {
    const fn = this.fn;
    if (fn.node.async || fn.node.generator) throw new Unsupported('async or generator');
    for (const p of fn.get('params')) if (!p.isIdentifier()) throw new Unsupported('parameter pattern');
    fn.traverse({
      Function() {
        throw new Unsupported('nested function');
      },
      Class() {
        throw new Unsupported('class');
      },
      ThisExpression() {
        throw new Unsupported('this');
      },
      Super() {
        throw new Unsupported('super');
      },
      Identifier(p) {
        if (p.node.name === 'arguments' && p.isReferencedIdentifier() && !p.scope.getBinding('arguments')) throw new Unsupported('arguments');
        if (p.node.name === 'eval' && !p.scope.getBinding('eval')) throw new Unsupported('eval');
      },
      WithStatement() {
        throw new Unsupported('with');
      },
      MetaProperty() {
        throw new Unsupported('meta property');
      },
    });
  }

  private collect(): void {
    const add = (scope: Scope) => {
      for (const b of Object.values(scope.bindings) as Binding[]) this.locals.add(b);
    };
    add(this.fn.scope);
    this.fn.traverse({
      Scopable: (p: NodePath) => {
        if (p.scope !== this.fn.scope) add(p.scope);
      },
    });
    for (const p of this.fn.get('params')) this.params.push(this.fn.scope.getBinding((p.node as B.Identifier).name)!);
  }

  binding(path: NodePath): Binding | undefined {
    if (!path.isIdentifier()) return undefined;
    const b = path.scope.getBinding(path.node.name);
    return b !== undefined && this.locals.has(b) ? b : undefined;
  }

  /** Number, flat array or data, from how each binding is used and what it is given. */
  private classify(): void {
    const t = this.t;
    for (const b of this.locals) {
      let indexed = false;
      let asObject = false;
      for (const ref of b.referencePaths) {
        const parent = ref.parentPath!;
        // `const { xs, ys } = data`, `for (const k in data)`: an object.
        if ((parent.isVariableDeclarator() && t.isObjectPattern(parent.node.id) && parent.node.init === ref.node) ||
            (parent.isForInStatement() && parent.node.right === ref.node)) asObject = true;
        // Passed to a compiled function: the kind of its parameter.
        if (parent.isCallExpression() && parent.node.callee !== ref.node) {
          const i = parent.node.arguments.indexOf(ref.node as B.Expression);
          const kind = this.calleeOf(parent.get('callee'))?.kinds[i];
          if (kind === 'a') indexed = true;
          else if (kind === 'd') asObject = true;
        }
        if (parent.isMemberExpression() && parent.node.object === ref.node) {
          if (parent.node.computed) {
            indexed = true;
            // `x[i][j]`, `x[i].y`: not a flat array of numbers.
            const pp = parent.parentPath!;
            if (pp.isMemberExpression() && pp.node.object === parent.node) asObject = true;
            if (pp.isCallExpression() && pp.node.callee === parent.node) asObject = true;
          } else if (t.isIdentifier(parent.node.property) && (parent.node.property.name === 'length' || parent.node.property.name === 'push')) {
            indexed = true;
          } else {
            asObject = true;
          }
        }
      }
      const decl = b.path;
      if (decl.isVariableDeclarator()) {
        const init = decl.get('init');
        if (init.node && this.isArrayExpr(init as NodePath)) indexed = true;
      }
      for (const v of b.constantViolations) {
        if (v.isAssignmentExpression() && this.isArrayExpr(v.get('right'))) indexed = true;
      }
      this.kinds.set(b, asObject ? 'd' : indexed ? 'a' : 'n');
    }
  }

  /** Syntactically an array: a literal, `new Array(n).fill(c)`, or a compiled call returning one. */
  isArrayExpr(p0: NodePath): boolean {
    const p = unwrapPath(p0);
    if (p.isArrayExpression()) return true;
    if (isFilledArray(p, this.t)) return true;
    if (p.isCallExpression()) return this.calleeOf(p.get('callee'))?.returnsArray ?? false;
    const b = this.binding(p);
    return b !== undefined && this.kinds.get(b) === 'a';
  }

  private solve(): void {
    const sources = new Map<Binding, NodePath[] | 'active' | 'passive'>();
    for (const b of this.locals) {
      if (b.kind === 'param') {
        sources.set(b, this.kinds.get(b) === 'd' ? 'passive' : 'active');
        if (b.constantViolations.length > 0) this.reassigned.add(b);
        continue;
      }
      const out: NodePath[] = [];
      const decl = b.path;
      if (decl.isVariableDeclarator()) {
        const loop = decl.parentPath?.parentPath;
        if (loop && (loop.isForOfStatement() || loop.isForInStatement()) && loop.node.left === decl.parent) {
          if (loop.isForOfStatement()) out.push(loop.get('right') as NodePath);
        } else if (!this.t.isIdentifier(decl.node.id)) {
          const init = decl.get('init');
          if (init.node) out.push(init as NodePath);
        } else if (decl.node.init) out.push(decl.get('init') as NodePath);
      } else if (decl.isFunctionDeclaration() || decl.isClassDeclaration()) {
        throw new Unsupported('local declaration');
      }
      for (const v of b.constantViolations) {
        if (v.isAssignmentExpression()) {
          out.push(v.get('right'));
        } else if (v.isVariableDeclarator()) {
          // `var x = ...` declared again (or in a loop).
          const init = v.get('init');
          if (init.node) out.push(init as NodePath);
        } else if (!v.isUpdateExpression() && !v.isForInStatement() && !v.isForOfStatement()) {
          throw new Unsupported('unusual assignment');
        } else if (v.isForOfStatement()) out.push(v.get('right') as NodePath);
      }
      sources.set(b, out);
    }
    // Element writes and pushes give an array binding a source.
    this.fn.traverse({
      AssignmentExpression: (p) => {
        const left = p.get('left');
        if (left.isMemberExpression()) {
          const b = this.binding(left.get('object'));
          if (b) {
            this.written.add(b);
            const src = sources.get(b);
            if (Array.isArray(src)) src.push(p.get('right'));
            else if (src === 'passive' && this.isActive(p.get('right'))) throw new Unsupported('active value stored into data');
          }
        } else if (!left.isIdentifier()) throw new Unsupported('destructuring assignment');
      },
      UpdateExpression: (p) => {
        const arg = p.get('argument');
        if (arg.isMemberExpression()) {
          const b = this.binding(arg.get('object'));
          if (b) this.written.add(b);
        }
      },
      CallExpression: (p) => {
        const callee = p.get('callee');
        if (callee.isMemberExpression() && !callee.node.computed && this.t.isIdentifier(callee.node.property, { name: 'push' })) {
          const b = this.binding(callee.get('object'));
          if (b) {
            this.written.add(b);
            const src = sources.get(b);
            for (const a of p.get('arguments')) {
              if (a.isSpreadElement()) throw new Unsupported('push(...spread)');
              if (Array.isArray(src)) src.push(a);
            }
          }
        }
        if (callee.isIdentifier()) {
          const c = this.calleeOf(callee);
          if (c) this.calls.add(callee.node.name);
        }
      },
    });
    for (const [b, src] of sources) if (src === 'active') this.active.add(b);
    let changed = true;
    while (changed) {
      changed = false;
      for (const [b, src] of sources) {
        if (!Array.isArray(src) || this.active.has(b)) continue;
        if (src.some((p) => this.isActive(p))) {
          this.active.add(b);
          changed = true;
        }
      }
    }
    // An array parameter passed to a compiled function that writes its parameter is written too.
    this.fn.traverse({
      CallExpression: (p) => {
        const c = this.calleeOf(p.get('callee'));
        p.get('arguments').forEach((a, i) => {
          const b = this.binding(a);
          if (b && (c === undefined ? this.kinds.get(b) === 'a' && this.active.has(b) : c.written[i])) this.written.add(b);
        });
      },
    });
    // An array parameter held by another name may be written through it: assume it is.
    for (const b of this.params) {
      if (this.kinds.get(b) !== 'a') continue;
      for (const ref of b.referencePaths) {
        const parent = ref.parentPath!;
        if (parent.isMemberExpression() || parent.isCallExpression()) continue;
        if (parent.isBinaryExpression() || parent.isUnaryExpression() || parent.isIfStatement()) continue;
        this.written.add(b);
      }
    }
  }


  /** May this expression carry a tangent? */
  isActive(p0: NodePath | null | undefined): boolean {
    if (!p0 || !p0.node) return false;
    const t = this.t;
    const p = unwrapPath(p0);
    if (p.isNumericLiteral() || p.isStringLiteral() || p.isBooleanLiteral() || p.isNullLiteral() || p.isBigIntLiteral()) return false;
    if (p.isTemplateLiteral() || p.isRegExpLiteral()) return false;
    if (p.isIdentifier()) {
      const b = this.binding(p);
      return b !== undefined && this.active.has(b);
    }
    if (p.isMemberExpression()) {
      if (!p.node.computed && t.isIdentifier(p.node.property, { name: 'length' })) return false;
      return this.isActive(p.get('object'));
    }
    if (p.isBinaryExpression()) {
      if (COMPARISONS.has(p.node.operator)) return false;
      return this.isActive(p.get('left') as NodePath) || this.isActive(p.get('right'));
    }
    if (p.isUnaryExpression()) {
      const op = p.node.operator;
      return op === '-' || op === '+' ? this.isActive(p.get('argument')) : false;
    }
    if (p.isUpdateExpression()) return this.isActive(p.get('argument'));
    if (p.isAssignmentExpression()) {
      return this.isActive(p.get('right')) || (p.node.operator !== '=' && this.isActive(p.get('left') as NodePath));
    }
    if (p.isLogicalExpression()) return this.isActive(p.get('left')) || this.isActive(p.get('right'));
    if (p.isConditionalExpression()) return this.isActive(p.get('consequent')) || this.isActive(p.get('alternate'));
    if (p.isSequenceExpression()) {
      const es = p.get('expressions');
      return this.isActive(es[es.length - 1]);
    }
    if (p.isArrayExpression()) return p.get('elements').some((e) => this.isActive(e as NodePath));
    if (p.isCallExpression()) {
      const callee = p.node.callee;
      if (t.isMemberExpression(callee) && !callee.computed && t.isIdentifier(callee.object, { name: 'Math' }) &&
          t.isIdentifier(callee.property) && !p.scope.getBinding('Math') && MATH_PASSIVE.has(callee.property.name)) return false;
      if (t.isMemberExpression(callee) && t.isIdentifier(callee.object) && ['Number', 'Array', 'Object'].includes(callee.object.name) &&
          t.isIdentifier(callee.property) && /^is/.test(callee.property.name)) return false;
      if (isFilledArray(p, t)) return this.isActive((p.get('arguments')[0] as NodePath) ?? null);
      if (isStopGradient(p.get('callee'), this.runtime)) return false;
      return p.get('arguments').some((a) => this.isActive(a.isSpreadElement() ? a.get('argument') : a)) ||
        (t.isMemberExpression(callee) && this.isActive(p.get('callee') as NodePath));
    }
    // Anything else: active when any identifier inside is.
    let found = false;
    p.traverse({
      Identifier: (q) => {
        if (!found && q.isReferencedIdentifier() && this.isActive(q)) found = true;
      },
    });
    return found;
  }

  kindOf(b: Binding): Kind {
    return this.kinds.get(b) ?? 'n';
  }
}

/** `new Array(n).fill(c)` or `Array(n).fill(c)`. */
export function isFilledArray(p: NodePath, t: typeof import('@babel/core').types): boolean {
  if (!p.isCallExpression()) return false;
  const callee = p.node.callee;
  if (!t.isMemberExpression(callee) || callee.computed || !t.isIdentifier(callee.property, { name: 'fill' })) return false;
  if (p.node.arguments.length !== 1) return false;
  const obj = callee.object;
  return (t.isNewExpression(obj) || t.isCallExpression(obj)) && t.isIdentifier(obj.callee, { name: 'Array' }) &&
    obj.arguments.length === 1 && !p.scope.getBinding('Array');
}
