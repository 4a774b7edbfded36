/**
 * Emitting the tangent version of one function (see runtime/tangent.ts for
 * the calling convention). Statements are kept as written; an assignment to
 * an active local `v` is followed by its tangent `v_t = Σ ∂v/∂ℓ · ℓ_t` over
 * the active leaves ℓ of the right side. The partials come from the rule
 * table, evaluated on syntax (plugin/symbolic.ts), accumulated through the
 * expression tree as the fast path does (plugin/preaccumulate.ts), with the
 * runtime's zero convention: a term whose tangent or partial is 0 is 0, even
 * against an infinite or NaN factor.
 *
 * mode 'scalar': tangents are numbers. mode 'chunk': a tangent is an
 * array of W lanes, one per direction, and each tangent statement is
 * one loop over the lanes.
 */
import type { NodePath } from '@babel/traverse';
import type * as B from '@babel/types';
import { binaryRules, unaryRules, variadicRules } from '../../runtime/rules.js';
import type { BinaryRule, UnaryRule } from '../../runtime/rules.js';
import { symbolicKernel, symbolicPartial } from '../symbolic.js';
import type { Sym } from '../symbolic.js';
import { unwrapPath } from '../wrappers.js';
import { Analysis, MATH_PASSIVE, Unsupported, isFilledArray, isStopGradient } from './analysis.js';
import type { Binding, Callee } from './analysis.js';

type T = typeof import('@babel/core').types;
type Expr = B.Expression;
type Stmt = B.Statement;
export type Mode = 'scalar' | 'chunk';

const ARITH: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod', '**': 'pow' };

type Node =
  | { k: 'const'; v: number }
  | { k: 'leaf'; path: NodePath; active: boolean; pure: boolean; key?: string; make: (out: Stmt[]) => { val: Expr; tan: Expr | null }; val?: Expr; tan?: Expr | null }
  | { k: 'op'; primal: (a: Expr[]) => Expr; partial: (i: number, a: Sym[], z: Sym, out: Stmt[]) => Sym; args: Node[]; z?: Expr };

export interface EmitEnv {
  t: T;
  mode: Mode;
  helper: (name: string) => B.Identifier;
  fresh: (base: string) => string;
  calleeOf: (callee: NodePath) => Callee | undefined;
  keyOf: (node: B.Node) => string | undefined;
}

export class Emitter {
  private readonly t: T;
  private readonly K: ReturnType<typeof symbolicKernel>;
  private readonly tanNames = new Map<Binding, string>();
  /** Declarations at the top of the tangent function. */
  private readonly hoisted: Stmt[] = [];
  private readonly W: B.Identifier;
  private readonly zero: B.Identifier;
  private readonly lane: string;

  constructor(
    private readonly env: EmitEnv,
    private readonly an: Analysis,
  ) {
    this.t = env.t;
    this.K = symbolicKernel(env.t);
    this.W = env.t.identifier(env.fresh('W'));
    this.zero = env.t.identifier(env.fresh('zero'));
    this.lane = env.fresh('c');
  }

  private get chunk(): boolean {
    return this.env.mode === 'chunk';
  }

  private id(name: string): B.Identifier {
    return this.t.identifier(name);
  }

  private tanOf(b: Binding): B.Identifier {
    let name = this.tanNames.get(b);
    if (name === undefined) {
      name = this.env.fresh(`${b.identifier.name}_t`);
      this.tanNames.set(b, name);
    }
    return this.id(name);
  }

  private isActiveBinding(b: Binding | undefined): b is Binding {
    return b !== undefined && this.an.active.has(b);
  }

  /** A temporary holding one tangent of a chunk: W lanes allocated once per call. */
  private storage(base: string): B.Identifier {
    const name = this.env.fresh(base);
    this.hoisted.push(this.t.variableDeclaration('const', [this.t.variableDeclarator(this.id(name), this.newLanes())]));
    return this.id(name);
  }

  private newLanes(): Expr {
    return this.t.callExpression(this.env.helper('tangentLanes'), [this.t.cloneNode(this.W)]);
  }

  private zeroTan(): Expr {
    return this.chunk ? this.t.cloneNode(this.zero) : this.t.numericLiteral(0);
  }

  // ---------------------------------------------------------------------------
  // The function
  // ---------------------------------------------------------------------------

  emitFunction(name: string): B.FunctionDeclaration {
    const t = this.t;
    const fn = this.an.fn;
    const params: B.Identifier[] = [];
    if (this.chunk) params.push(t.cloneNode(this.W));
    for (const b of this.an.params) {
      params.push(t.identifier(b.identifier.name));
      params.push(this.an.kindOf(b) === 'd' ? t.identifier(this.env.fresh(`${b.identifier.name}_t`)) : this.tanOf(b));
    }
    const body = fn.get('body');
    let stmts: Stmt[];
    if (body.isBlockStatement()) stmts = this.block(body.get('body'));
    else stmts = this.returnStmt(body as NodePath<Expr>);
    const pre: Stmt[] = [];
    if (this.chunk) {
      pre.push(t.variableDeclaration('const', [t.variableDeclarator(t.cloneNode(this.zero), t.callExpression(this.env.helper('tangentZeros'), [t.cloneNode(this.W)]))]));
      // A parameter the body assigns gets lanes of its own (the caller's must not change).
      for (const b of this.an.params) {
        if (this.an.reassigned.has(b) && this.an.kindOf(b) === 'n') {
          pre.push(t.expressionStatement(t.assignmentExpression('=', this.tanOf(b), t.callExpression(t.memberExpression(this.tanOf(b), t.identifier('slice')), []))));
        }
      }
    }
    // Tangents of the active locals.
    const locals: B.VariableDeclarator[] = [];
    for (const b of this.an.locals) {
      if (b.kind === 'param' || !this.an.active.has(b)) continue;
      const init = this.an.kindOf(b) === 'a' ? null : this.chunk ? this.newLanes() : t.numericLiteral(0);
      locals.push(t.variableDeclarator(this.tanOf(b), init));
    }
    if (locals.length > 0) pre.push(t.variableDeclaration(this.chunk ? 'let' : 'let', locals));
    // Falling off the end returns undefined, with no tangent.
    const last = stmts[stmts.length - 1];
    const out = [...pre, ...this.hoisted, ...stmts, ...(last && (t.isReturnStatement(last) || t.isThrowStatement(last)) ? [] : [this.setOut(undefined)])];
    return t.functionDeclaration(t.identifier(name), params, t.blockStatement(out));
  }

  private setOut(tan: Expr | undefined): Stmt {
    const t = this.t;
    return t.expressionStatement(t.assignmentExpression('=', t.memberExpression(this.env.helper('tangentOut'), t.identifier('t')), tan ?? t.identifier('undefined')));
  }

  // ---------------------------------------------------------------------------
  // Statements
  // ---------------------------------------------------------------------------

  private block(paths: NodePath<Stmt>[]): Stmt[] {
    return paths.flatMap((p) => this.statement(p));
  }

  private asBlock(p: NodePath<Stmt>): B.BlockStatement {
    const t = this.t;
    return t.blockStatement(p.isBlockStatement() ? this.block(p.get('body')) : this.statement(p));
  }

  private statement(p: NodePath<Stmt>): Stmt[] {
    const t = this.t;
    if (p.isBlockStatement()) return [this.asBlock(p)];
    if (p.isEmptyStatement() || p.isBreakStatement() || p.isContinueStatement() || p.isDebuggerStatement()) return [t.cloneNode(p.node, true)];
    if (p.isExpressionStatement()) return this.expressionStatement(p.get('expression'));
    if (p.isVariableDeclaration()) return this.declaration(p);
    if (p.isReturnStatement()) return this.returnStmt(p.get('argument') as NodePath<Expr>);
    if (p.isIfStatement()) {
      this.passive(p.get('test'));
      const alt = p.get('alternate');
      return [t.ifStatement(t.cloneNode(p.node.test, true), this.asBlock(p.get('consequent')), alt.node ? this.asBlock(alt as NodePath<Stmt>) : null)];
    }
    if (p.isForStatement()) {
      const init = p.get('init');
      if (init.node) {
        if (init.isVariableDeclaration()) {
          for (const d of init.get('declarations')) {
            const b = d.get('id').isIdentifier() ? p.scope.getBinding((d.node.id as B.Identifier).name) : undefined;
            if (this.isActiveBinding(b)) throw new Unsupported('active loop variable');
            this.passive(d.get('init') as NodePath);
          }
        } else this.passive(init as NodePath);
      }
      this.passive(p.get('test') as NodePath);
      this.passive(p.get('update') as NodePath);
      const n = p.node;
      return [t.forStatement(n.init ? t.cloneNode(n.init, true) : null, n.test ? t.cloneNode(n.test, true) : null, n.update ? t.cloneNode(n.update, true) : null, this.asBlock(p.get('body')))];
    }
    if (p.isWhileStatement()) {
      this.passive(p.get('test'));
      return [t.whileStatement(t.cloneNode(p.node.test, true), this.asBlock(p.get('body')))];
    }
    if (p.isDoWhileStatement()) {
      this.passive(p.get('test'));
      return [t.doWhileStatement(t.cloneNode(p.node.test, true), this.asBlock(p.get('body')))];
    }
    if (p.isForOfStatement()) return this.forOf(p);
    if (p.isForInStatement()) {
      this.passive(p.get('right'));
      const left = p.get('left');
      if (left.isVariableDeclaration()) {
        const d = left.node.declarations[0]!;
        if (t.isIdentifier(d.id) && this.isActiveBinding(p.scope.getBinding(d.id.name))) throw new Unsupported('active for-in key');
      } else throw new Unsupported('for-in target');
      return [t.forInStatement(t.cloneNode(p.node.left, true), t.cloneNode(p.node.right, true), this.asBlock(p.get('body')))];
    }
    if (p.isLabeledStatement()) {
      const inner = this.statement(p.get('body'));
      if (inner.length !== 1) throw new Unsupported('labeled statement');
      return [t.labeledStatement(t.cloneNode(p.node.label), inner[0]!)];
    }
    if (p.isSwitchStatement()) {
      this.passive(p.get('discriminant'));
      const cases = p.get('cases').map((c) => {
        if (c.node.test) this.passive(c.get('test') as NodePath);
        return t.switchCase(c.node.test ? t.cloneNode(c.node.test, true) : null, this.block(c.get('consequent')));
      });
      return [t.switchStatement(t.cloneNode(p.node.discriminant, true), cases)];
    }
    if (p.isThrowStatement()) {
      this.passive(p.get('argument'));
      return [t.cloneNode(p.node, true)];
    }
    if (p.isTryStatement()) {
      // A finally block could change a tangent after a return has handed it over.
      if (p.node.finalizer) throw new Unsupported('try/finally');
      const handler = p.get('handler');
      const fin = p.get('finalizer');
      return [
        t.tryStatement(
          this.asBlock(p.get('block')),
          handler.node ? t.catchClause(handler.node.param ? t.cloneNode(handler.node.param, true) : null, this.asBlock((handler as NodePath<B.CatchClause>).get('body'))) : null,
          fin.node ? this.asBlock(fin as NodePath<B.BlockStatement>) : null,
        ),
      ];
    }
    if (p.isTSTypeAliasDeclaration() || p.isTSInterfaceDeclaration()) return [];
    throw new Unsupported(`statement ${p.node.type}`);
  }

  /**
   * An expression run as written, whose value carries no tangent (a test, a
   * passive statement): it must not write an active variable or element, nor
   * hand an active value to code that could keep it.
   */
  private passive(p: NodePath | null | undefined): void {
    if (!p || !p.node) return;
    const check = (q: NodePath) => {
      if (q.isAssignmentExpression()) {
        const left = q.get('left');
        const b = left.isIdentifier() ? this.an.binding(left) : left.isMemberExpression() ? this.an.binding(left.get('object')) : undefined;
        if (this.isActiveBinding(b) || this.an.isActive(q.get('right'))) throw new Unsupported('active assignment inside an expression');
        if (left.isMemberExpression() && this.an.isActive(left.get('object'))) throw new Unsupported('write to an active array');
      } else if (q.isUpdateExpression()) {
        const arg = q.get('argument');
        const b = arg.isIdentifier() ? this.an.binding(arg) : arg.isMemberExpression() ? this.an.binding(arg.get('object')) : undefined;
        if (this.isActiveBinding(b)) throw new Unsupported('active update inside an expression');
      } else if (q.isCallExpression() || q.isNewExpression()) {
        const callee = q.get('callee') as NodePath;
        if (this.isPureCallee(callee)) return;
        // stopGradient(x) on plain numbers is x, as a constant.
        if (isStopGradient(callee, this.an.runtime) && !(q.node.arguments as B.Node[]).some((a) => this.t.isSpreadElement(a))) {
          const arg = (q.get('arguments') as NodePath[])[0];
          if (arg && this.an.isArrayExpr(arg)) throw new Unsupported('stopGradient of an array');
          return;
        }
        // A compiled function runs as the original here (arrays passed to it are checked as identifiers below).
        if (this.env.calleeOf(callee) !== undefined) return;
        for (const a of q.get('arguments') as NodePath[]) if (this.an.isActive(a.isSpreadElement() ? a.get('argument') : a)) throw new Unsupported('active value passed to uncompiled code');
        if (callee.isMemberExpression() && this.an.isActive(callee.get('object'))) throw new Unsupported('method call on an active value');
      } else if (q.isIdentifier() && q.isReferencedIdentifier()) {
        const b = this.an.binding(q);
        if (this.isActiveBinding(b) && this.an.kindOf(b) === 'a') {
          const parent = q.parentPath!;
          const read = parent.isMemberExpression() && parent.node.object === q.node && !(parent.parentPath?.isCallExpression() && parent.parentPath.node.callee === parent.node);
          if (!read) throw new Unsupported('active array used as a value');
        }
      }
    };
    check(p);
    p.traverse({ enter: (q) => check(q) });
  }

  private isPureCallee(callee: NodePath): boolean {
    const t = this.t;
    if (callee.isIdentifier() && (callee.node.name === 'isNaN' || callee.node.name === 'isFinite') && !callee.scope.getBinding(callee.node.name)) return true;
    if (!callee.isMemberExpression() || callee.node.computed || !t.isIdentifier(callee.node.object) || !t.isIdentifier(callee.node.property)) return false;
    const obj = callee.node.object.name;
    if (callee.scope.getBinding(obj)) return false;
    return obj === 'Math' || (obj === 'Number' && /^is/.test(callee.node.property.name));
  }

  private expressionStatement(p: NodePath<Expr>): Stmt[] {
    const t = this.t;
    const e = unwrapPath(p);
    if (e.isAssignmentExpression()) {
      const left = e.get('left');
      const op = e.node.operator;
      if (left.isIdentifier()) {
        const b = this.an.binding(left);
        if (!this.isActiveBinding(b)) {
          if (this.an.isActive(e.get('right'))) throw new Unsupported('active value stored outside the function');
          this.passive(e);
          return [t.expressionStatement(t.cloneNode(e.node, true))];
        }
        if (op === '=') return this.assignLocal(b, e.get('right'));
        const bop = op.slice(0, -1);
        if (!(bop in ARITH)) throw new Unsupported(`operator ${op}`);
        return this.assignLocal(b, e.get('right'), bop, left);
      }
      if (left.isMemberExpression() && left.node.computed) {
        const b = this.an.binding(left.get('object'));
        if (this.isActiveBinding(b)) {
          const bop = op === '=' ? undefined : op.slice(0, -1);
          if (bop !== undefined && !(bop in ARITH)) throw new Unsupported(`operator ${op}`);
          return this.assignElement(b, left, e.get('right'), bop);
        }
      }
      if (this.an.isActive(e.get('right'))) throw new Unsupported('active value stored into data');
      this.passive(e);
      return [t.expressionStatement(t.cloneNode(e.node, true))];
    }
    if (e.isUpdateExpression()) {
      // v++ keeps v's tangent; so does a[i]++.
      const arg = e.get('argument');
      if (arg.isMemberExpression()) this.passive(arg.get('property'));
      else if (!arg.isIdentifier()) throw new Unsupported('update target');
      return [t.expressionStatement(t.cloneNode(e.node, true))];
    }
    if (e.isCallExpression()) {
      const callee = e.get('callee');
      if (callee.isMemberExpression() && !callee.node.computed && t.isIdentifier(callee.node.property, { name: 'push' })) {
        const b = this.an.binding(callee.get('object'));
        if (this.isActiveBinding(b)) return this.push(b, e.get('arguments') as NodePath<Expr>[]);
      }
      if (this.env.calleeOf(callee) && this.an.isActive(e)) {
        const out: Stmt[] = [];
        this.call(e, out);
        return out;
      }
    }
    this.passive(e);
    return [t.expressionStatement(t.cloneNode(e.node as Expr, true))];
  }

  private declaration(p: NodePath<B.VariableDeclaration>): Stmt[] {
    const t = this.t;
    const out: Stmt[] = [];
    for (const d of p.get('declarations')) {
      const idPath = d.get('id');
      const b = idPath.isIdentifier() ? p.scope.getBinding(idPath.node.name) : undefined;
      const init = d.get('init') as NodePath<Expr>;
      if (!this.isActiveBinding(b)) {
        if (!idPath.isIdentifier() && this.an.isActive(init)) throw new Unsupported('destructuring an active value');
        this.passive(init);
        out.push(t.variableDeclaration(p.node.kind === 'const' ? 'const' : p.node.kind === 'var' ? 'var' : 'let', [t.cloneNode(d.node, true)]));
        continue;
      }
      const kind = p.node.kind === 'var' ? 'var' : 'let';
      if (!init.node) {
        out.push(t.variableDeclaration(kind, [t.variableDeclarator(t.identifier(b.identifier.name))]));
        if (this.an.kindOf(b) === 'n') out.push(this.clearTan(b));
        continue;
      }
      // `let v = e` becomes `let v; <v = e with its tangent>` (v's own name stays; e cannot refer to v).
      out.push(t.variableDeclaration(kind, [t.variableDeclarator(t.identifier(b.identifier.name))]));
      out.push(...this.assignLocal(b, init));
    }
    return out;
  }

  /** Lanes nobody writes into later: an element's, the zero, a parameter's or a once-assigned local's. */
  private readonly stableNames = new Set<string>();

  private stable(tan: Expr): boolean {
    const t = this.t;
    if (t.isMemberExpression(tan) || t.isLogicalExpression(tan)) return true; // an element's lanes
    if (!t.isIdentifier(tan)) return false;
    if (tan.name === this.zero.name || this.stableNames.has(tan.name)) return true;
    for (const [b, name] of this.tanNames) {
      if (name === tan.name) return this.once(b) || (b.kind === 'param' && !this.an.reassigned.has(b));
    }
    return false;
  }

  /** A local assigned only where it is declared. */
  private once(b: Binding): boolean {
    return b.kind !== 'param' && b.constantViolations.length === 0;
  }

  private clearTan(b: Binding): Stmt {
    const t = this.t;
    if (this.chunk && this.once(b)) return t.expressionStatement(t.assignmentExpression('=', this.tanOf(b), t.cloneNode(this.zero)));
    return this.chunk
      ? t.expressionStatement(t.callExpression(t.memberExpression(this.tanOf(b), t.identifier('fill')), [t.numericLiteral(0)]))
      : t.expressionStatement(t.assignmentExpression('=', this.tanOf(b), t.numericLiteral(0)));
  }

  private forOf(p: NodePath<B.ForOfStatement>): Stmt[] {
    const t = this.t;
    const right = p.get('right');
    const left = p.get('left');
    const rb = this.an.binding(right);
    if (!this.isActiveBinding(rb)) {
      this.passive(right);
      if (left.isVariableDeclaration()) {
        const d = left.node.declarations[0]!;
        if (t.isIdentifier(d.id) && this.isActiveBinding(p.scope.getBinding(d.id.name))) throw new Unsupported('for-of');
      } else throw new Unsupported('for-of target');
      return [t.forOfStatement(t.cloneNode(p.node.left, true), t.cloneNode(p.node.right, true), this.asBlock(p.get('body')))];
    }
    // for (const v of xs) over an active array: an index loop, so that v's tangent is xs_t[k].
    if (!left.isVariableDeclaration() || left.node.declarations.length !== 1 || !t.isIdentifier(left.node.declarations[0]!.id)) {
      throw new Unsupported('for-of target');
    }
    const vb = p.scope.getBinding((left.node.declarations[0]!.id as B.Identifier).name)!;
    const k = this.env.fresh('k');
    const body: Stmt[] = [
      t.variableDeclaration(left.node.kind === 'const' ? 'const' : 'let', [
        t.variableDeclarator(t.identifier(vb.identifier.name), t.memberExpression(t.identifier(rb.identifier.name), t.identifier(k), true)),
      ]),
      this.copyTan(vb, t.memberExpression(this.tanOf(rb), t.identifier(k), true)),
      ...(p.get('body').isBlockStatement() ? this.block((p.get('body') as NodePath<B.BlockStatement>).get('body')) : this.statement(p.get('body'))),
    ];
    return [
      t.forStatement(
        t.variableDeclaration('let', [t.variableDeclarator(t.identifier(k), t.numericLiteral(0))]),
        t.binaryExpression('<', t.identifier(k), t.memberExpression(t.identifier(rb.identifier.name), t.identifier('length'))),
        t.updateExpression('++', t.identifier(k)),
        t.blockStatement(body),
      ),
    ];
  }

  /**
   * v_t = tan (chunk: copied lane by lane into v's own lanes, except for a
   * variable assigned once, which may share the lanes it is given: nothing
   * writes into lanes but an assignment to their owner).
   */
  private copyTan(b: Binding, tan: Expr | null): Stmt {
    const t = this.t;
    if (tan === null) return this.clearTan(b);
    if (this.chunk && this.once(b) && this.stable(tan)) return t.expressionStatement(t.assignmentExpression('=', this.tanOf(b), tan));
    if (this.chunk) return this.copyLanes(this.tanOf(b), tan);
    return t.expressionStatement(t.assignmentExpression('=', this.tanOf(b), tan));
  }

  /** dst[c] = src[c] for every lane (a loop: TypedArray.prototype.set costs more for a few lanes). */
  private copyLanes(dst: Expr, src: Expr): Stmt {
    const t = this.t;
    const c = t.identifier(this.lane);
    let from = src;
    const pre: Stmt[] = [];
    if (!t.isIdentifier(src)) {
      const name = this.env.fresh('l_t');
      pre.push(t.variableDeclaration('const', [t.variableDeclarator(t.identifier(name), src)]));
      from = t.identifier(name);
    }
    const loop = t.forStatement(
      t.variableDeclaration('let', [t.variableDeclarator(t.cloneNode(c), t.numericLiteral(0))]),
      t.binaryExpression('<', t.cloneNode(c), t.cloneNode(this.W)),
      t.updateExpression('++', t.cloneNode(c)),
      t.expressionStatement(t.assignmentExpression('=', t.memberExpression(t.cloneNode(dst), t.cloneNode(c), true), t.memberExpression(t.cloneNode(from), t.cloneNode(c), true))),
    );
    return pre.length === 0 ? loop : t.blockStatement([...pre, loop]);
  }

  private returnStmt(arg: NodePath<Expr> | null): Stmt[] {
    const t = this.t;
    if (!arg || !arg.node) return [this.setOut(undefined), t.returnStatement(null)];
    if (!this.an.isActive(arg)) {
      this.passive(arg);
      return [this.setOut(undefined), t.returnStatement(t.cloneNode(arg.node, true))];
    }
    const out: Stmt[] = [];
    if (this.an.isArrayExpr(arg)) {
      const { val, tan } = this.array(arg, out);
      const r = this.temp(val, out, 'r');
      out.push(this.setOut(tan ?? undefined), t.returnStatement(r));
      return out;
    }
    const { val, tan } = this.scalar(arg, out);
    const r = this.temp(val, out, 'r');
    out.push(this.setOut(tan ?? undefined), t.returnStatement(r));
    return out;
  }

  private temp(val: Expr, out: Stmt[], base: string): Expr {
    const t = this.t;
    if (t.isIdentifier(val) || t.isNumericLiteral(val)) return val;
    const name = this.env.fresh(base);
    out.push(t.variableDeclaration('const', [t.variableDeclarator(t.identifier(name), val)]));
    return t.identifier(name);
  }

  // ---------------------------------------------------------------------------
  // Assignments
  // ---------------------------------------------------------------------------

  private assignLocal(b: Binding, right: NodePath<Expr>, op?: string, left?: NodePath): Stmt[] {
    const t = this.t;
    const out: Stmt[] = [];
    const name = t.identifier(b.identifier.name);
    if (this.an.kindOf(b) === 'a') {
      if (op !== undefined) throw new Unsupported('compound assignment to an array');
      const { val, tan } = this.array(right, out);
      out.push(t.expressionStatement(t.assignmentExpression('=', name, val)));
      out.push(t.expressionStatement(t.assignmentExpression('=', this.tanOf(b), tan ?? this.zerosLike(t.identifier(b.identifier.name)))));
      return out;
    }
    const tree = op === undefined ? this.build(right) : this.binary(op, this.build(left!), this.build(right));
    const { val, tan } = this.finish(tree, out, this.chunk ? this.tanOf(b) : undefined);
    if (this.chunk) {
      if (tan === null) out.push(this.clearTan(b));
      else if (!(t.isIdentifier(tan) && tan.name === this.tanOf(b).name)) out.push(this.copyTan(b, tan));
    } else out.push(this.copyTan(b, tan));
    out.push(t.expressionStatement(t.assignmentExpression('=', name, val)));
    return out;
  }

  private zerosLike(arr: Expr): Expr {
    const t = this.t;
    return t.callExpression(this.env.helper('tangentZerosLike'), [arr, this.chunk ? t.cloneNode(this.W) : t.numericLiteral(0)]);
  }

  /** `a[k] = e` / `a[k] op= e` on an active array. */
  private assignElement(b: Binding, left: NodePath<B.MemberExpression>, right: NodePath<Expr>, op?: string): Stmt[] {
    const t = this.t;
    const out: Stmt[] = [];
    const keyPath = left.get('property') as NodePath<Expr>;
    this.passive(keyPath);
    const key = this.temp(t.cloneNode(keyPath.node, true), out, 'k');
    const arr = t.identifier(b.identifier.name);
    const elem = () => t.memberExpression(t.cloneNode(arr), t.cloneNode(key), true);
    const elemTan = () => t.memberExpression(this.tanOf(b), t.cloneNode(key), true);
    const rightTree = this.build(right);
    const readTan = () => t.logicalExpression('??', elemTan(), this.zeroTan());
    const tree = op === undefined ? rightTree : this.binary(op, this.elementLeaf(elem, readTan), rightTree);
    const { val, tan } = this.finish(tree, out, undefined);
    out.push(t.expressionStatement(t.assignmentExpression('=', elemTan(), this.fresh(tan, out))));
    out.push(t.expressionStatement(t.assignmentExpression('=', elem(), val)));
    return out;
  }

  /** A tangent that may be stored into an array element: its own lanes (chunk). */
  private fresh(tan: Expr | null, out: Stmt[]): Expr {
    const t = this.t;
    if (tan === null) return this.zeroTan();
    if (!this.chunk) return tan;
    if (t.isIdentifier(tan) && tan.name === this.zero.name) return tan;
    const name = this.env.fresh('s');
    out.push(t.variableDeclaration('const', [t.variableDeclarator(t.identifier(name), t.callExpression(t.memberExpression(tan, t.identifier('slice')), []))]));
    return t.identifier(name);
  }

  private push(b: Binding, args: NodePath<Expr>[]): Stmt[] {
    const t = this.t;
    const out: Stmt[] = [];
    const vals: Expr[] = [];
    const tans: Expr[] = [];
    for (const a of args) {
      const { val, tan } = this.scalar(a, out);
      vals.push(this.temp(val, out, 'e'));
      tans.push(this.fresh(tan, out));
    }
    out.push(t.expressionStatement(t.callExpression(t.memberExpression(this.tanOf(b), t.identifier('push')), tans)));
    out.push(t.expressionStatement(t.callExpression(t.memberExpression(t.identifier(b.identifier.name), t.identifier('push')), vals)));
    return out;
  }

  /** An array-valued expression: its value and the array of its tangents (null: passive). */
  private array(p0: NodePath<Expr>, out: Stmt[]): { val: Expr; tan: Expr | null } {
    const t = this.t;
    const p = unwrapPath(p0) as NodePath<Expr>;
    if (p.isIdentifier()) {
      const b = this.an.binding(p);
      if (this.isActiveBinding(b) && this.an.kindOf(b) === 'a') return { val: t.identifier(p.node.name), tan: this.tanOf(b) };
      throw new Unsupported('array without tangents');
    }
    if (p.isArrayExpression()) {
      const vals: Expr[] = [];
      const tans: Expr[] = [];
      for (const e of p.get('elements')) {
        if (!e.node || e.isSpreadElement()) throw new Unsupported('array hole or spread');
        const { val, tan } = this.scalar(e as NodePath<Expr>, out);
        vals.push(this.temp(val, out, 'e'));
        tans.push(this.fresh(tan, out));
      }
      return { val: t.arrayExpression(vals), tan: t.arrayExpression(tans) };
    }
    if (isFilledArray(p, this.t)) {
      if (this.an.isActive(p.get('arguments' as never) as never)) throw new Unsupported('fill with an active value');
      const fillArg = (p.get('arguments') as NodePath[])[0]!;
      if (this.an.isActive(fillArg)) throw new Unsupported('fill with an active value');
      this.passive(p);
      const v = this.temp(t.cloneNode(p.node, true), out, 'a');
      return { val: v, tan: t.callExpression(t.memberExpression(t.newExpression(t.identifier('Array'), [t.memberExpression(t.cloneNode(v), t.identifier('length'))]), t.identifier('fill')), [this.zeroTan()]) };
    }
    if (p.isCallExpression() && this.env.calleeOf(p.get('callee'))?.returnsArray) {
      const { val, tan } = this.call(p, out);
      return { val, tan };
    }
    throw new Unsupported(`array expression ${p.node.type}`);
  }

  // ---------------------------------------------------------------------------
  // Expressions: a tree of rule applications over leaves
  // ---------------------------------------------------------------------------

  /** A number-valued expression: its value and tangent (null: passive). */
  private scalar(p: NodePath<Expr>, out: Stmt[]): { val: Expr; tan: Expr | null } {
    return this.finish(this.build(p), out, undefined);
  }

  private passiveLeaf(p: NodePath): Node {
    this.passive(p);
    // An outer variable that is assigned somewhere may hold a value some other derivative left
    // there: the Dual runtime gives the right error for it.
    const outer = (q: NodePath) => {
      if (!q.isIdentifier() || !q.isReferencedIdentifier()) return;
      const b = q.scope.getBinding(q.node.name);
      // A function expression's own name is in scope only inside it, not where the tangent code goes.
      if (b && b.path === this.an.fn && this.an.fn.isFunctionExpression()) throw new Unsupported(`refers to its own name ${q.node.name}`);
      if (b && b.kind !== 'module' && !this.an.locals.has(b) && !b.constant) throw new Unsupported(`reads the outer variable ${q.node.name}, which is assigned elsewhere`);
    };
    outer(p);
    p.traverse({ Identifier: outer });
    const node = p.node as Expr;
    return { k: 'leaf', path: p, active: false, pure: isPure(this.t, node), key: this.env.keyOf(node), make: () => ({ val: this.t.cloneNode(node, true), tan: null }) };
  }

  private elementLeaf(val: () => Expr, tan: () => Expr): Node {
    return { k: 'leaf', path: undefined as never, active: true, pure: true, make: () => ({ val: val(), tan: tan() }) };
  }

  private binary(op: string, l: Node, r: Node): Node {
    const t = this.t;
    const name = ARITH[op]!;
    const rule = binaryRules[name as keyof typeof binaryRules] as BinaryRule;
    return this.binaryOp(name, (a) => t.binaryExpression(op as '+', a[0]!, a[1]!), rule, [l, r]);
  }

  private binaryOp(name: string, primal: (a: Expr[]) => Expr, rule: BinaryRule, args: Node[]): Node {
    const K = this.K;
    const t = this.t;
    return {
      k: 'op', primal, args,
      partial: (i, a, z) => {
        const s = symbolicPartial(() => (i === 0 ? rule.dx : rule.dy)(K, a[0] as never, a[1] as never, z as never));
        if (s !== undefined) return s;
        // pow and atan2 look at their arguments' values: the rule runs at run time.
        return t.callExpression(this.env.helper('tangentPartial2'), [t.stringLiteral(name), t.numericLiteral(i), K.lit(a[0]!), K.lit(a[1]!), K.lit(z)]);
      },
    };
  }

  private build(p0: NodePath): Node {
    const t = this.t;
    const p = unwrapPath(p0);
    if (p.isNumericLiteral()) return { k: 'const', v: p.node.value };
    if (p.isUnaryExpression({ operator: '-' }) && p.get('argument').isNumericLiteral()) return { k: 'const', v: -(p.node.argument as B.NumericLiteral).value };
    if (!this.an.isActive(p)) return this.passiveLeaf(p);
    if (p.isIdentifier()) {
      const b = this.an.binding(p)!;
      if (this.an.kindOf(b) !== 'n') throw new Unsupported('array used as a number');
      const name = p.node.name;
      return { k: 'leaf', path: p, active: true, pure: true, key: name, make: () => ({ val: t.identifier(name), tan: this.tanOf(b) }) };
    }
    if (p.isMemberExpression()) {
      const b = this.an.binding(p.get('object'));
      if (!p.node.computed || !this.isActiveBinding(b) || this.an.kindOf(b) !== 'a') throw new Unsupported('member of an active value');
      const keyPath = p.get('property') as NodePath<Expr>;
      this.passive(keyPath);
      const keyNode = keyPath.node;
      const pure = isPure(t, keyNode);
      const arr = b.identifier.name;
      return {
        k: 'leaf', path: p, active: true, pure, key: pure ? this.env.keyOf(p.node) : undefined,
        make: (out) => {
          const key = pure ? t.cloneNode(keyNode, true) : this.temp(t.cloneNode(keyNode, true), out, 'k');
          // Past the end (or a hole) the value is undefined, a constant: no tangent.
          const tan = t.logicalExpression('??', t.memberExpression(this.tanOf(b), t.cloneNode(key), true), this.zeroTan());
          return { val: t.memberExpression(t.identifier(arr), t.cloneNode(key), true), tan };
        },
      };
    }
    if (p.isBinaryExpression() && p.node.operator in ARITH) {
      return this.binary(p.node.operator, this.build(p.get('left') as NodePath), this.build(p.get('right')));
    }
    if (p.isUnaryExpression({ operator: '-' })) {
      const rule = unaryRules.neg as UnaryRule;
      return { k: 'op', primal: (a) => t.unaryExpression('-', a[0]!), args: [this.build(p.get('argument'))], partial: (_i, a, z) => symbolicPartial(() => rule.d(this.K, a[0] as never, z as never))! };
    }
    if (p.isUnaryExpression({ operator: '+' })) return this.build(p.get('argument'));
    if (p.isCallExpression()) {
      const callee = p.get('callee');
      const args = p.get('arguments');
      if (callee.isMemberExpression() && !callee.node.computed && t.isIdentifier(callee.node.object, { name: 'Math' }) &&
          t.isIdentifier(callee.node.property) && !p.scope.getBinding('Math')) {
        const name = callee.node.property.name;
        if (args.some((a) => a.isSpreadElement())) {
          // Math.max(...xs), Math.min(...xs), Math.hypot(...xs) over an active array.
          const spread = args.length === 1 ? (args[0] as NodePath<B.SpreadElement>).get('argument') : undefined;
          const b = spread && this.an.binding(spread);
          if (!(name === 'max' || name === 'min' || name === 'hypot') || !this.isActiveBinding(b) || this.an.kindOf(b) !== 'a') {
            throw new Unsupported('Math with spread');
          }
          return { k: 'leaf', path: p, active: true, pure: false, make: (out) => this.spreadVariadic(name, b, out) };
        }
        const math = (a: Expr[]) => t.callExpression(t.memberExpression(t.identifier('Math'), t.identifier(name)), a);
        if (MATH_PASSIVE.has(name)) return this.passiveLeaf(p);
        if (name in unaryRules && args.length === 1) {
          const rule = unaryRules[name as keyof typeof unaryRules] as UnaryRule;
          return { k: 'op', primal: math, args: [this.build(args[0]!)], partial: (_i, a, z) => symbolicPartial(() => rule.d(this.K, a[0] as never, z as never))! };
        }
        if ((name === 'pow' || name === 'atan2') && args.length === 2) {
          return this.binaryOp(name, math, binaryRules[name] as BinaryRule, [this.build(args[0]!), this.build(args[1]!)]);
        }
        if ((name === 'max' || name === 'min' || name === 'hypot') && args.length >= 1) {
          let cached: B.Identifier | undefined;
          const rule = variadicRules[name];
          return {
            k: 'op', primal: math, args: args.map((a) => this.build(a)),
            partial: (i, a, z, out) => {
              if (name === 'hypot') {
                // x_i / z, 0 at the origin: the rule's own partial, written once per argument.
                const s = symbolicPartial(() => rule.d(this.K, a as never, z as never)[i] as never);
                if (s !== undefined) return s;
              }
              if (!cached) {
                cached = t.identifier(this.env.fresh('pv'));
                out.push(t.variableDeclaration('const', [t.variableDeclarator(cached, t.callExpression(this.env.helper('tangentPartialN'), [t.stringLiteral(name), t.arrayExpression(a.map((x) => this.K.lit(x))), this.K.lit(z)]))]));
              }
              return t.memberExpression(t.cloneNode(cached), t.numericLiteral(i), true);
            },
          };
        }
        throw new Unsupported(`Math.${name}`);
      }
      if (this.env.calleeOf(callee)) {
        return { k: 'leaf', path: p, active: true, pure: false, make: (out) => this.call(p, out) };
      }
      throw new Unsupported('call to a function without tangent code');
    }
    if (p.isConditionalExpression()) {
      this.passive(p.get('test'));
      return { k: 'leaf', path: p, active: true, pure: false, make: (out) => this.conditional(p, out) };
    }
    if (p.isLogicalExpression()) {
      return { k: 'leaf', path: p, active: true, pure: false, make: (out) => this.logical(p, out) };
    }
    throw new Unsupported(`expression ${p.node.type}`);
  }

  /** `Math.max(...xs)` (min, hypot): the rule's partials at run time, Σ ∂_k · xs_t[k]. */
  private spreadVariadic(name: string, b: Binding, out: Stmt[]): { val: Expr; tan: Expr | null } {
    const t = this.t;
    const xs = t.identifier(b.identifier.name);
    const v = t.identifier(this.env.fresh('h'));
    const pv = t.identifier(this.env.fresh('pv'));
    const k = t.identifier(this.env.fresh('k'));
    out.push(t.variableDeclaration('const', [t.variableDeclarator(v, t.callExpression(t.memberExpression(t.identifier('Math'), t.identifier(name)), [t.spreadElement(t.cloneNode(xs))]))]));
    out.push(t.variableDeclaration('const', [t.variableDeclarator(pv, t.callExpression(this.env.helper('tangentPartialN'), [t.stringLiteral(name), t.cloneNode(xs), t.cloneNode(v)]))]));
    const pk = () => t.memberExpression(t.cloneNode(pv), t.cloneNode(k), true);
    const tk = () => t.logicalExpression('??', t.memberExpression(this.tanOf(b), t.cloneNode(k), true), this.zeroTan());
    const loopK = (body: Stmt) =>
      t.forStatement(
        t.variableDeclaration('let', [t.variableDeclarator(t.cloneNode(k), t.numericLiteral(0))]),
        t.binaryExpression('<', t.cloneNode(k), t.memberExpression(t.cloneNode(xs), t.identifier('length'))),
        t.updateExpression('++', t.cloneNode(k)),
        body,
      );
    if (!this.chunk) {
      const h = t.identifier(this.env.fresh('h_t'));
      const tkv = t.identifier(this.env.fresh('l_t'));
      out.push(t.variableDeclaration('let', [t.variableDeclarator(h, t.numericLiteral(0))]));
      out.push(loopK(t.blockStatement([
        t.variableDeclaration('const', [t.variableDeclarator(tkv, tk())]),
        t.ifStatement(
          t.logicalExpression('&&', t.binaryExpression('!==', t.cloneNode(tkv), t.numericLiteral(0)), t.binaryExpression('!==', pk(), t.numericLiteral(0))),
          t.expressionStatement(t.assignmentExpression('+=', t.cloneNode(h), t.binaryExpression('*', pk(), t.cloneNode(tkv)))),
        ),
      ])));
      return { val: t.cloneNode(v), tan: t.cloneNode(h) };
    }
    const h = this.storage('h_t');
    const c = t.identifier(this.lane);
    const lanes = t.identifier(this.env.fresh('l_t'));
    out.push(t.expressionStatement(t.callExpression(t.memberExpression(t.cloneNode(h), t.identifier('fill')), [t.numericLiteral(0)])));
    const lane = () => t.memberExpression(t.cloneNode(lanes), t.cloneNode(c), true);
    out.push(loopK(t.blockStatement([
      t.variableDeclaration('const', [t.variableDeclarator(lanes, tk())]),
      t.ifStatement(
        t.binaryExpression('!==', pk(), t.numericLiteral(0)),
        t.forStatement(
          t.variableDeclaration('let', [t.variableDeclarator(t.cloneNode(c), t.numericLiteral(0))]),
          t.binaryExpression('<', t.cloneNode(c), t.cloneNode(this.W)),
          t.updateExpression('++', t.cloneNode(c)),
          t.ifStatement(t.binaryExpression('!==', lane(), t.numericLiteral(0)),
            t.expressionStatement(t.assignmentExpression('+=', t.memberExpression(t.cloneNode(h), t.cloneNode(c), true), t.binaryExpression('*', pk(), lane())))),
        ),
      ),
    ])));
    return { val: t.cloneNode(v), tan: t.cloneNode(h) };
  }

  /** `c ? a : b`: value and tangent of the branch taken. */
  private conditional(p: NodePath<B.ConditionalExpression>, out: Stmt[]): { val: Expr; tan: Expr | null } {
    const t = this.t;
    const v = t.identifier(this.env.fresh('h'));
    const tan = this.chunk ? this.storage('h_t') : t.identifier(this.env.fresh('h_t'));
    out.push(t.variableDeclaration('let', [t.variableDeclarator(v), ...(this.chunk ? [] : [t.variableDeclarator(t.cloneNode(tan))])]));
    const branch = (q: NodePath<Expr>): B.BlockStatement => {
      const body: Stmt[] = [];
      this.into(q, body, v, tan);
      return t.blockStatement(body);
    };
    out.push(t.ifStatement(t.cloneNode(p.node.test, true), branch(p.get('consequent')), branch(p.get('alternate'))));
    return { val: t.cloneNode(v), tan: t.cloneNode(tan) };
  }

  /** `a || b`, `a && b`, `a ?? b`: the operand returned, with its tangent. */
  private logical(p: NodePath<B.LogicalExpression>, out: Stmt[]): { val: Expr; tan: Expr | null } {
    const t = this.t;
    const v = t.identifier(this.env.fresh('h'));
    const tan = this.chunk ? this.storage('h_t') : t.identifier(this.env.fresh('h_t'));
    out.push(t.variableDeclaration('let', [t.variableDeclarator(v), ...(this.chunk ? [] : [t.variableDeclarator(t.cloneNode(tan))])]));
    this.into(p.get('left'), out, v, tan);
    const body: Stmt[] = [];
    this.into(p.get('right'), body, v, tan);
    const op = p.node.operator;
    const test = op === '||' ? t.unaryExpression('!', t.cloneNode(v)) : op === '&&' ? t.cloneNode(v) : t.binaryExpression('==', t.cloneNode(v), t.nullLiteral());
    out.push(t.ifStatement(test, t.blockStatement(body)));
    return { val: t.cloneNode(v), tan: t.cloneNode(tan) };
  }

  /** Evaluates `q` into the variable `v` and its tangent `tan`. */
  private into(q: NodePath<Expr>, out: Stmt[], v: B.Identifier, tan: B.Identifier): void {
    const t = this.t;
    const r = this.finish(this.build(q), out, this.chunk ? tan : undefined);
    if (this.chunk) {
      if (r.tan === null) out.push(t.expressionStatement(t.callExpression(t.memberExpression(t.cloneNode(tan), t.identifier('fill')), [t.numericLiteral(0)])));
      else if (!(t.isIdentifier(r.tan) && r.tan.name === tan.name)) out.push(this.copyLanes(t.cloneNode(tan), r.tan));
    } else out.push(t.expressionStatement(t.assignmentExpression('=', t.cloneNode(tan), r.tan ?? t.numericLiteral(0))));
    out.push(t.expressionStatement(t.assignmentExpression('=', t.cloneNode(v), r.val)));
  }

  /** A call to another compiled function: its tangent version. */
  private call(p: NodePath<B.CallExpression>, out: Stmt[]): { val: Expr; tan: Expr | null } {
    const t = this.t;
    const callee = this.env.calleeOf(p.get('callee'))!;
    const args: Expr[] = this.chunk ? [t.cloneNode(this.W)] : [];
    const argPaths = p.get('arguments');
    if (argPaths.length > callee.kinds.length) throw new Unsupported('more arguments than parameters');
    callee.kinds.forEach((kind, i) => {
      const a = argPaths[i] as NodePath<Expr> | undefined;
      if (!a) {
        args.push(t.identifier('undefined'), kind === 'a' ? t.identifier('undefined') : this.zeroTan());
        return;
      }
      if (a.isSpreadElement()) throw new Unsupported('spread argument');
      if (kind === 'd') {
        if (this.an.isActive(a)) throw new Unsupported('active value passed as data');
        this.passive(a);
        args.push(this.temp(t.cloneNode(a.node, true), out, 'e'), t.identifier('undefined'));
      } else if (kind === 'a') {
        if (this.an.isActive(a)) {
          const { val, tan } = this.array(a, out);
          args.push(this.temp(val, out, 'e'), tan ?? t.identifier('undefined'));
        } else {
          this.passive(a);
          const v = this.temp(t.cloneNode(a.node, true), out, 'e');
          args.push(v, this.zerosLike(t.cloneNode(v)));
        }
      } else {
        const { val, tan } = this.scalar(a, out);
        args.push(this.temp(val, out, 'e'), tan ?? this.zeroTan());
      }
    });
    const r = t.identifier(this.env.fresh('r'));
    const rt = t.identifier(this.env.fresh('r_t'));
    out.push(t.variableDeclaration('const', [t.variableDeclarator(r, t.callExpression(t.identifier(this.chunk ? callee.chunk : callee.scalar), args))]));
    const slot = t.memberExpression(this.env.helper('tangentOut'), t.identifier('t'));
    out.push(t.variableDeclaration('const', [t.variableDeclarator(rt, callee.returnsArray ? slot : t.logicalExpression('??', slot, this.zeroTan()))]));
    return { val: t.cloneNode(r), tan: t.cloneNode(rt) };
  }

  /**
   * Evaluates a tree: leaves in order (into temporaries unless all are pure),
   * the operations' values, the partials of the root with respect to each
   * active leaf, and the tangent Σ ∂·ℓ_t. In chunk mode the tangent is
   * written into `dst` (or a fresh temporary) unless it is a single leaf's.
   */
  private finish(root: Node, out: Stmt[], dst: B.Identifier | undefined): { val: Expr; tan: Expr | null } {
    const t = this.t;
    const K = this.K;
    const leaves: Extract<Node, { k: 'leaf' }>[] = [];
    const collect = (n: Node) => {
      if (n.k === 'leaf') leaves.push(n);
      else if (n.k === 'op') n.args.forEach(collect);
    };
    collect(root);
    const allPure = leaves.every((l) => l.pure);
    // Leaves: identical pure leaves share one evaluation (x * x has one leaf x).
    const byKey = new Map<string, Extract<Node, { k: 'leaf' }>>();
    const distinct: Extract<Node, { k: 'leaf' }>[] = [];
    const canonical = new Map<Node, Extract<Node, { k: 'leaf' }>>();
    for (const l of leaves) {
      const same = allPure && l.key !== undefined ? byKey.get(l.key) : undefined;
      if (same) {
        canonical.set(l, same);
        continue;
      }
      canonical.set(l, l);
      if (allPure && l.key !== undefined) byKey.set(l.key, l);
      distinct.push(l);
      const r = l.make(out);
      let val = r.val;
      let tan = r.tan;
      if (!allPure) val = this.temp(val, out, 'l');
      if (tan !== null && !t.isIdentifier(tan)) {
        const element = t.isMemberExpression(tan) || t.isLogicalExpression(tan);
        tan = this.temp(tan, out, 'l_t') as Expr;
        if (element && t.isIdentifier(tan)) this.stableNames.add(tan.name);
      }
      l.val = val;
      l.tan = tan;
    }
    const valueOf = (n: Node): Sym => (n.k === 'const' ? n.v : n.k === 'leaf' ? canonical.get(n)!.val! : n.z!);
    const hasActive = (n: Node): boolean => (n.k === 'leaf' ? canonical.get(n)!.tan !== null : n.k === 'op' ? n.args.some(hasActive) : false);
    // Values of the operations, in post-order: the original arithmetic, one operation per temporary.
    const evaluate = (n: Node) => {
      if (n.k !== 'op') return;
      n.args.forEach(evaluate);
      const name = this.env.fresh('z');
      out.push(t.variableDeclaration('const', [t.variableDeclarator(t.identifier(name), n.primal(n.args.map((a) => K.lit(valueOf(a)))))]));
      n.z = t.identifier(name);
    };
    evaluate(root);
    const val = K.lit(valueOf(root));
    if (!hasActive(root)) return { val, tan: null };
    if (root.k === 'leaf') return { val, tan: canonical.get(root)!.tan! };

    // Partials of the root with respect to each leaf (reverse accumulation over the tree).
    const asTemp = (s: Sym, base: string): Sym => {
      if (typeof s === 'number' || t.isIdentifier(s)) return s;
      const name = this.env.fresh(base);
      out.push(t.variableDeclaration('const', [t.variableDeclarator(t.identifier(name), s)]));
      return t.identifier(name);
    };
    const mulz = (a: Sym, b: Sym): Sym => {
      // Constants fold with the convention; a finite constant needs no guard, an infinite one does (a folded 1 / 0).
      if (typeof a === 'number' && typeof b === 'number') return a === 0 || b === 0 ? 0 : a * b;
      if ((typeof a === 'number' && Number.isFinite(a)) || (typeof b === 'number' && Number.isFinite(b))) return K.mul(a as never, b as never) as unknown as Sym;
      // Both unknown: 0 × ∞ must be 0.
      return t.conditionalExpression(
        t.logicalExpression('||', t.binaryExpression('===', K.lit(a), t.numericLiteral(0)), t.binaryExpression('===', K.lit(b), t.numericLiteral(0))),
        t.numericLiteral(0),
        t.binaryExpression('*', K.lit(a), K.lit(b)),
      );
    };
    const sums = new Map<Node, Sym[]>();
    const backward = (n: Node, adjoint: Sym) => {
      if (n.k === 'const') return;
      if (n.k === 'leaf') {
        const c = canonical.get(n)!;
        if (c.tan !== null) sums.set(c, [...(sums.get(c) ?? []), adjoint]);
        return;
      }
      const args = n.args.map(valueOf);
      n.args.forEach((child, i) => {
        if (!hasActive(child)) return;
        const local = asTemp(n.partial(i, args, n.z!, out), 'd');
        backward(child, asTemp(mulz(adjoint, local), 'p'));
      });
    };
    backward(root, 1);
    const terms: [Sym, Expr][] = [];
    for (const l of distinct) {
      const parts = sums.get(l);
      if (!parts) continue;
      let sum: Sym = 0;
      for (const c of parts) sum = K.add(sum as never, c as never) as unknown as Sym;
      if (sum === 0) continue;
      terms.push([asTemp(sum, 'p'), l.tan!]);
    }
    // tangent = Σ p·ℓ_t, a term being 0 when p or ℓ_t is (the zero convention).
    const term = (p: Sym, lt: Expr): Expr => {
      if (typeof p === 'number') {
        if (Number.isFinite(p)) return p === 1 ? lt : p === -1 ? t.unaryExpression('-', lt) : t.binaryExpression('*', K.lit(p), lt);
        return t.conditionalExpression(t.binaryExpression('===', t.cloneNode(lt), t.numericLiteral(0)), t.numericLiteral(0), t.binaryExpression('*', K.lit(p), lt));
      }
      return t.conditionalExpression(
        t.logicalExpression('||', t.binaryExpression('===', t.cloneNode(lt), t.numericLiteral(0)), t.binaryExpression('===', K.lit(p), t.numericLiteral(0))),
        t.numericLiteral(0),
        t.binaryExpression('*', K.lit(p), t.cloneNode(lt)),
      );
    };
    const sum = (es: Expr[]): Expr => (es.length === 0 ? t.numericLiteral(0) : es.reduce((a, b) => t.binaryExpression('+', a, b)));
    if (!this.chunk) {
      return { val, tan: this.temp(sum(terms.map(([p, lt]) => term(p, lt))), out, 'z_t') };
    }
    const target = dst ?? this.storage('z_t');
    const c = t.identifier(this.lane);
    const loop = (body: Expr[]) =>
      t.forStatement(
        t.variableDeclaration('let', [t.variableDeclarator(t.cloneNode(c), t.numericLiteral(0))]),
        t.binaryExpression('<', t.cloneNode(c), t.cloneNode(this.W)),
        t.updateExpression('++', t.cloneNode(c)),
        t.expressionStatement(t.assignmentExpression('=', t.memberExpression(t.cloneNode(target), t.cloneNode(c), true), sum(body))),
      );
    const lane = (lt: Expr) => t.memberExpression(t.cloneNode(lt), t.cloneNode(c), true);
    const guarded = loop(terms.map(([p, lt]) => term(p, lane(lt))));
    const symbolic = terms.filter(([p]) => typeof p !== 'number').map(([p]) => p as Expr);
    if (symbolic.length === 0) {
      out.push(guarded);
    } else {
      // A finite nonzero partial times any lane is the convention's answer already: no test per lane.
      const plain = loop(terms.map(([p, lt]) => (typeof p === 'number' ? term(p, lane(lt)) : t.binaryExpression('*', K.lit(p), lane(lt)))));
      const test = symbolic
        .map((p): Expr => t.logicalExpression('&&', t.binaryExpression('!==', K.lit(p), t.numericLiteral(0)), t.binaryExpression('===', t.binaryExpression('-', K.lit(p), K.lit(p)), t.numericLiteral(0))))
        .reduce((a, b) => t.logicalExpression('&&', a, b));
      out.push(t.ifStatement(test, plain, guarded));
    }
    return { val, tan: t.cloneNode(target) };
  }
}

/** No side effects and nothing that a leaf evaluated before it could change. */
function isPure(t: T, n: B.Node): boolean {
  if (t.isIdentifier(n) || t.isLiteral(n)) return !t.isTemplateLiteral(n) || n.expressions.every((e) => isPure(t, e));
  if (t.isMemberExpression(n)) return isPure(t, n.object) && (!n.computed || isPure(t, n.property));
  if (t.isBinaryExpression(n)) return isPure(t, n.left) && isPure(t, n.right);
  if (t.isUnaryExpression(n)) return n.operator !== 'delete' && isPure(t, n.argument);
  if (t.isLogicalExpression(n)) return isPure(t, n.left) && isPure(t, n.right);
  if (t.isConditionalExpression(n)) return isPure(t, n.test) && isPure(t, n.consequent) && isPure(t, n.alternate);
  if (t.isCallExpression(n) && t.isMemberExpression(n.callee) && t.isIdentifier(n.callee.object, { name: 'Math' })) {
    return n.arguments.every((a) => isPure(t, a));
  }
  if (t.isTSAsExpression(n) || t.isTSNonNullExpression(n) || t.isParenthesizedExpression(n)) return isPure(t, n.expression);
  return false;
}
