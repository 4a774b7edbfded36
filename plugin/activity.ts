/**
 * Activity analysis: which expressions of a compiled function may carry a
 * derivative at run time. Only those are rewritten into runtime calls; the
 * rest (loop counters, indices, `.length`, constants) stay native JS.
 *
 * The analysis is conservative in one direction only: "inactive" must be
 * certain. Local variables start inactive and become active when any
 * assignment to them may be active (a fixpoint, so `i = i + 1` stays
 * inactive). Parameters, destructured names, imports and anything unknown are
 * active. Mistaking an inactive value for an active one only costs a runtime
 * call with a fast path; the other mistake would be caught at run time too
 * (the runtime refuses to convert a derivative-carrying value to a number),
 * but we never rely on that.
 */
import type { NodePath, Scope } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import { COMPARISON, MATH_CONSTANT_RESULT } from './names.js';
import { unwrapPath } from './wrappers.js';

type T = typeof import('@babel/core').types;
type Binding = NonNullable<ReturnType<Scope['getBinding']>>;

const BOOLEAN_BINARY = new Set([...Object.keys(COMPARISON), 'instanceof', 'in']);
const INTEGER_BINARY = new Set(['|', '&', '^', '<<', '>>', '>>>']);
const CONSTANT_GLOBALS = new Set(['undefined', 'NaN', 'Infinity']);

export class Activity {
  private readonly active = new Set<Binding>();
  private readonly inside = new Set<Binding>();
  private readonly memo = new WeakMap<object, boolean>();
  private settled = false;

  constructor(
    private readonly t: T,
    private readonly fn: NodePath,
    /** For calls the plugin emitted itself: whether their result may be active. */
    private readonly helperResult: (node: BabelTypes.CallExpression) => boolean | undefined,
  ) {
    this.solve();
  }

  /** May the value of this expression carry a derivative? */
  isActive(path: NodePath | null | undefined): boolean {
    if (!path || !path.node) return false;
    if (this.settled) {
      const cached = this.memo.get(path.node);
      if (cached !== undefined) return cached;
    }
    const result = this.compute(path);
    if (this.settled) this.memo.set(path.node, result);
    return result;
  }

  /** Fixpoint over the variables declared inside the function. */
  private solve(): void {
    const sources = new Map<Binding, NodePath[] | 'active'>();
    const collect = (scope: Scope) => {
      for (const binding of Object.values(scope.bindings) as Binding[]) {
        this.inside.add(binding);
        sources.set(binding, this.sourcesOf(binding));
      }
    };
    collect(this.fn.scope);
    this.fn.traverse({
      Scopable: (p: NodePath) => {
        if (p.scope !== this.fn.scope) collect(p.scope);
      },
    });
    for (const [binding, src] of sources) if (src === 'active') this.active.add(binding);
    let changed = true;
    while (changed) {
      changed = false;
      for (const [binding, src] of sources) {
        if (src === 'active' || this.active.has(binding)) continue;
        if (src.some((p) => this.isActive(p))) {
          this.active.add(binding);
          changed = true;
        }
      }
    }
    this.settled = true;
  }

  /** The expressions whose values a local variable can take, or 'active' when unknowable. */
  private sourcesOf(binding: Binding): NodePath[] | 'active' {
    const t = this.t;
    const decl = binding.path;
    if (binding.kind === 'param' || binding.kind === 'module') return 'active';
    if (decl.isFunctionDeclaration() || decl.isClassDeclaration() || decl.isFunctionExpression()) return [];
    const out: NodePath[] = [];
    if (decl.isVariableDeclarator()) {
      if (!t.isIdentifier(decl.node.id)) return 'active'; // destructuring
      const loop = decl.parentPath?.parentPath;
      if (loop && (loop.isForOfStatement() || loop.isForInStatement()) && loop.node.left === decl.parent) {
        if (loop.isForOfStatement()) return 'active';
      } else if (decl.node.init) {
        out.push(decl.get('init') as NodePath);
      }
    } else {
      return 'active'; // catch clause parameters and anything unusual
    }
    for (const v of binding.constantViolations) {
      if (v.isAssignmentExpression()) {
        if (!t.isIdentifier(v.node.left)) return 'active'; // destructuring assignment
        out.push(v.get('right'));
      } else if (v.isUpdateExpression()) {
        // stays a number of the same activity
      } else if (v.isForInStatement()) {
        // keys are strings
      } else {
        return 'active';
      }
    }
    return out;
  }

  private bindingActive(path: NodePath, name: string): boolean {
    const binding = path.scope.getBinding(name);
    if (!binding) return !CONSTANT_GLOBALS.has(name); // unknown global
    if (this.inside.has(binding)) return this.active.has(binding);
    // Declared outside the compiled function: only a constant with an inactive initializer is known.
    const decl = binding.path;
    if (decl.isFunctionDeclaration() || decl.isClassDeclaration()) return false;
    if (binding.kind === 'const' && decl.isVariableDeclarator() && this.t.isIdentifier(decl.node.id) && decl.node.init) {
      const init = decl.get('init') as NodePath;
      if (init.isFunction()) return false;
      return !isLiteralNumber(init);
    }
    return true;
  }

  private compute(path: NodePath): boolean {
    if (path.isNumericLiteral() || path.isStringLiteral() || path.isBooleanLiteral() || path.isNullLiteral()) return false;
    if (path.isBigIntLiteral() || path.isTemplateLiteral() || path.isRegExpLiteral() || path.isFunction()) return false;
    if (path.isIdentifier()) return this.bindingActive(path, path.node.name);
    const inner = unwrapPath(path);
    if (inner !== path) return this.isActive(inner);
    if (path.isMemberExpression()) {
      const prop = path.node.property;
      if (!path.node.computed && this.t.isIdentifier(prop) && prop.name === 'length') return false;
      if (this.t.isIdentifier(path.node.object, { name: 'Math' }) && !path.scope.getBinding('Math')) return false;
      return true;
    }
    if (path.isBinaryExpression()) {
      const op = path.node.operator;
      if (BOOLEAN_BINARY.has(op) || INTEGER_BINARY.has(op)) return false;
      return this.isActive(path.get('left') as NodePath) || this.isActive(path.get('right'));
    }
    if (path.isUnaryExpression()) {
      const op = path.node.operator;
      if (op === '-' || op === '+') return this.isActive(path.get('argument'));
      return false; // ! typeof void delete ~
    }
    if (path.isUpdateExpression()) return this.isActive(path.get('argument'));
    if (path.isAssignmentExpression()) {
      if (path.node.operator === '=') return this.isActive(path.get('right'));
      return this.isActive(path.get('left') as NodePath) || this.isActive(path.get('right'));
    }
    if (path.isLogicalExpression()) {
      return this.isActive(path.get('left')) || this.isActive(path.get('right'));
    }
    if (path.isConditionalExpression()) {
      return this.isActive(path.get('consequent')) || this.isActive(path.get('alternate'));
    }
    if (path.isSequenceExpression()) {
      const exprs = path.get('expressions');
      return this.isActive(exprs[exprs.length - 1]);
    }
    if (path.isCallExpression()) {
      const emitted = this.helperResult(path.node);
      if (emitted !== undefined) return emitted;
      const callee = path.node.callee;
      if (this.t.isIdentifier(callee) && (callee.name === 'isNaN' || callee.name === 'isFinite') &&
          !path.scope.getBinding(callee.name)) return false;
      if (this.t.isMemberExpression(callee) && !callee.computed && this.t.isIdentifier(callee.object) &&
          this.t.isIdentifier(callee.property)) {
        const obj = callee.object.name;
        const prop = callee.property.name;
        if (obj === 'Math' && !path.scope.getBinding('Math') && MATH_CONSTANT_RESULT.has(prop)) return false;
        if (obj === 'Number' && !path.scope.getBinding('Number') && prop.startsWith('is')) return false;
        if ((obj === 'Array' && prop === 'isArray') || (obj === 'Object' && prop === 'is')) return false;
      }
      return true;
    }
    return true; // arrays, objects, calls, `this`, `new`: may hold or return active values
  }
}

/** A literal number, possibly negated: the only module-level constants we treat as inactive. */
function isLiteralNumber(path: NodePath): boolean {
  if (path.isNumericLiteral()) return true;
  if (path.isUnaryExpression() && (path.node.operator === '-' || path.node.operator === '+')) {
    return isLiteralNumber(path.get('argument'));
  }
  return false;
}
