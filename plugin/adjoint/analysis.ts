/**
 * Lowering and activity: reads one function's Babel AST into the adjoint
 * compiler's form (model.ts), refusing (with a `Fallback` naming the line)
 * anything the adjoint tier cannot compile, and decides per variant which
 * variables carry a derivative.
 *
 * What it accepts: parameters that are names (numbers, arrays of numbers,
 * arrays of arrays, or passive data); `let`/`const` declarations, object
 * destructuring of passive data; assignments `=`, `+=`, `-=`, `*=`, `/=`,
 * `++`/`--` to locals and to elements of arrays the function created;
 * `push` on such arrays; `for`/`while` loops without break/continue; if/else,
 * `?:`; returns (early returns only outside loops); `Math` functions of the
 * rule table; calls of same-module functions the tier compiles, and any other
 * call as a whole statement or a whole right-hand side with passive arguments.
 */
import type { NodePath } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import type { Binding } from '../context.js';
import { unaryRules, variadicRules } from '../../runtime/rules.js';
import { Fallback, PIECEWISE, children } from './model.js';
import type { Expr, Kind, Stmt, Var } from './model.js';

type B = typeof import('@babel/core').types;
type P<N = BabelTypes.Node> = NodePath<N>;

export interface Lowered {
  params: Var[];
  locals: Var[];
  body: Stmt[];
  /** Compiled same-module functions this one calls. */
  callees: Set<string>;
}

const COMPARE = new Set(['<', '<=', '>', '>=', '===', '!==', '==', '!=']);
const BITWISE = new Set(['|', '&', '^', '<<', '>>', '>>>']);
const MATH_RULES = new Set([...Object.keys(unaryRules), 'pow', 'atan2', ...Object.keys(variadicRules), ...PIECEWISE]);
const TYPED = new Set(['Float64Array', 'Float32Array']);

function lineOf(p: P): number {
  return p.node.loc?.start.line ?? 0;
}

function unwrap(p: P): P {
  while (p.isParenthesizedExpression() || p.isTSAsExpression() || p.isTSNonNullExpression() ||
         p.isTSSatisfiesExpression() || p.isTSTypeAssertion()) p = p.get('expression') as P;
  return p;
}

/** A parameter's kind from its type annotation, when it says. */
function kindOfAnnotation(t: B, node: BabelTypes.Node | null | undefined): Kind | undefined {
  if (!node || !t.isTSTypeAnnotation(node)) return undefined;
  let ty: BabelTypes.TSType = node.typeAnnotation;
  if (t.isTSTypeOperator(ty) && ty.operator === 'readonly') ty = ty.typeAnnotation;
  if (t.isTSNumberKeyword(ty)) return 'num';
  const elem = (e: BabelTypes.TSType): Kind | undefined => {
    if (t.isTSTypeOperator(e) && e.operator === 'readonly') e = e.typeAnnotation;
    if (t.isTSNumberKeyword(e)) return 'arr';
    if (t.isTSArrayType(e) && t.isTSNumberKeyword(e.elementType)) return 'arr2';
    if (t.isTSTypeReference(e) && t.isIdentifier(e.typeName) && TYPED.has(e.typeName.name)) return 'arr2';
    return undefined;
  };
  if (t.isTSArrayType(ty)) return elem(ty.elementType) ?? 'data';
  if (t.isTSTypeReference(ty) && t.isIdentifier(ty.typeName)) {
    if (TYPED.has(ty.typeName.name)) return 'arr';
    const arg = ty.typeParameters?.params[0];
    if ((ty.typeName.name === 'Array' || ty.typeName.name === 'ReadonlyArray') && arg) return elem(arg) ?? 'data';
  }
  return 'data';
}

export class Lowering {
  private readonly vars = new Map<Binding, Var>();
  private readonly names = new Set<string>();
  readonly locals: Var[] = [];
  readonly callees = new Set<string>();
  private loopDepth = 0;
  private tempCount = 0;

  constructor(
    private readonly t: B,
    private readonly fn: P<BabelTypes.Function>,
    /** Same-module functions with adjoint code, by the name of their binding. */
    private readonly compilable: (b: Binding) => string | undefined,
    /** Names the generated code must not take (every identifier of the module). */
    private readonly taken: Set<string>,
  ) {}

  private fail(p: P, reason: string): never {
    throw new Fallback(reason, lineOf(p));
  }

  /** A fresh name based on `base`, unused in the module and in this function. */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.names.has(name) || this.outerNames.has(name) || (name !== base && this.taken.has(name)); k++) name = `${base}$${k}`;
    this.names.add(name);
    return name;
  }

  /**
   * Names the function reads from outside (module bindings, globals) and the
   * generated code uses: every local is declared at the top of the generated
   * functions, so a block-scoped local must not take one of these names.
   */
  private readonly outerNames = new Set<string>(['Math', 'Array', 'Float64Array', 'Float32Array', 'undefined']);

  private collectOuterNames(): void {
    this.fn.traverse({
      Identifier: (p) => {
        if (!p.isReferencedIdentifier()) return;
        const b = p.scope.getBinding(p.node.name);
        if (!b || !(b.path.isDescendant(this.fn) || b.scope === this.fn.scope)) this.outerNames.add(p.node.name);
      },
    });
  }

  private newVar(base: string, kind: Kind, param: number): Var {
    const v: Var = { name: this.fresh(base), kind, param, owned: false, active: false, reassigned: this.loopDepth > 0 };
    if (param < 0) this.locals.push(v);
    return v;
  }

  temp(kind: Kind = 'num'): Var {
    const v = this.newVar(`$t${++this.tempCount}`, kind, -1);
    v.reassigned = true;
    return v;
  }

  lower(): Lowered {
    const t = this.t;
    this.collectOuterNames();
    const fn = this.fn;
    const node = fn.node;
    if (node.async || node.generator) this.fail(fn, 'async and generator functions run on the tape');
    const params: Var[] = [];
    fn.get('params').forEach((pp, k) => {
      const p = pp as P;
      if (!p.isIdentifier()) this.fail(p, 'parameters with defaults, rest or destructuring run on the tape');
      const b = fn.scope.getBinding(p.node.name)!;
      const v = this.newVar(p.node.name, kindOfAnnotation(t, p.node.typeAnnotation) ?? this.kindFromUse(b), k);
      this.vars.set(b, v);
      params.push(v);
    });
    this.checkFree();
    const body = fn.get('body') as P;
    let stmts: Stmt[];
    if (body.isBlockStatement()) {
      stmts = this.block(body.get('body'));
      stmts.push({ k: 'return', e: { k: 'ext', code: 'undefined' }, line: body.node.loc?.end.line ?? 0 });
    } else {
      const pre: Stmt[] = [];
      const e = this.expr(body as P<BabelTypes.Expression>, pre, false);
      stmts = [...pre, { k: 'return', e, line: lineOf(body) }];
    }
    for (const v of params) if (v.reassigned && v.kind !== 'num') this.fail(fn, `parameter ${v.name} (an array) is reassigned`);
    checkBorrowed(stmts, this.locals, body.node.loc?.start.line ?? 0);
    checkOuterState(stmts);
    return { params, locals: this.locals, body: normalizeReturns(stmts), callees: this.callees };
  }

  /** `this`, `arguments`, nested functions, writes to outer variables: the tape handles those. */
  private checkFree(): void {
    const fn = this.fn;
    fn.traverse({
      ThisExpression: (p) => this.fail(p, '`this` runs on the tape'),
      Function: (p) => this.fail(p, 'functions defined inside run on the tape'),
      Identifier: (p) => {
        if (p.node.name === 'arguments' && p.isReferencedIdentifier() && !p.scope.getBinding('arguments')) {
          this.fail(p, '`arguments` runs on the tape');
        }
      },
      'AssignmentExpression|UpdateExpression': (p) => {
        const target = p.isAssignmentExpression() ? p.get('left') : (p as P<BabelTypes.UpdateExpression>).get('argument');
        const base = unwrap(target as P);
        let root: P = base;
        while (root.isMemberExpression()) root = unwrap(root.get('object') as P);
        if (root.isIdentifier()) {
          const b = p.scope.getBinding(root.node.name);
          if (!b || !b.path.isDescendant(fn) && b.path !== fn && !(b.kind === 'param' && b.scope === fn.scope)) {
            this.fail(p, `assigns to ${root.node.name}, which is declared outside the function`);
          }
        }
      },
    });
  }

  /** Kind of an unannotated parameter, from how the body uses it (`x[i]`, `x.length`, `x[i][j]`, `x * 2`). */
  private kindFromUse(b: Binding): Kind {
    const kinds = new Set<Kind>();
    for (const r of b.referencePaths) {
      const parent = r.parentPath!;
      if (parent.isMemberExpression() && parent.node.object === r.node) {
        if (!parent.node.computed) kinds.add(t_isLength(parent.node.property) ? 'arr' : 'data');
        else {
          const gp = parent.parentPath!;
          kinds.add(gp.isMemberExpression() && gp.node.object === parent.node ? 'arr2' : 'arr');
        }
      } else if (parent.isBinaryExpression() || parent.isUnaryExpression() || parent.isAssignmentExpression()) {
        kinds.add('num');
      } else if (!(parent.isCallExpression() && parent.node.callee !== r.node)) kinds.add('data');
    }
    if (kinds.has('data') || (kinds.has('num') && kinds.size > 1)) return 'data';
    return kinds.has('arr2') ? 'arr2' : kinds.has('arr') ? 'arr' : 'num';
  }

  // -------------------------------------------------------------------------
  // Statements
  // -------------------------------------------------------------------------

  block(paths: P[]): Stmt[] {
    const out: Stmt[] = [];
    for (const p of paths) this.stmt(p, out);
    return out;
  }

  private bodyOf(p: P): Stmt[] {
    return p.isBlockStatement() ? this.block(p.get('body')) : this.block([p]);
  }

  private stmt(p: P, out: Stmt[]): void {
    const t = this.t;
    const line = lineOf(p);
    if (p.isEmptyStatement() || p.isTSTypeAliasDeclaration() || p.isTSInterfaceDeclaration()) return;
    if (p.isBlockStatement()) {
      out.push(...this.block(p.get('body')));
      return;
    }
    if (p.isVariableDeclaration()) {
      if (p.node.kind !== 'let' && p.node.kind !== 'const') this.fail(p, `\`${p.node.kind}\` declarations run on the tape`);
      for (const d of p.get('declarations')) this.declarator(d, out);
      return;
    }
    if (p.isExpressionStatement()) {
      this.effect(unwrap(p.get('expression')), out, line);
      return;
    }
    if (p.isReturnStatement()) {
      if (this.loopDepth > 0) this.fail(p, 'a return inside a loop runs on the tape');
      const arg = p.get('argument');
      const e: Expr = arg.node ? this.expr(arg as P<BabelTypes.Expression>, out, false) : { k: 'ext', code: 'undefined' };
      // Callers take a compiled call's result as a number (kindOfExpr): a function that returns an
      // array, an object or nothing is left to the tape, and so are its callers.
      if (!arg.node || kindOfExpr(e) !== 'num') this.fail(p, 'a function that returns something other than a number runs on the tape');
      out.push({ k: 'return', e, line });
      return;
    }
    if (p.isIfStatement()) {
      const test = this.passive(p.get('test'), out);
      const alt = p.get('alternate');
      out.push({ k: 'if', test, then: this.bodyOf(p.get('consequent')), else: alt.node ? this.bodyOf(alt as P) : [], line });
      return;
    }
    if (p.isWhileStatement()) {
      this.noJumps(p);
      if (this.hasCall(p.get('test'))) this.fail(p.get('test'), 'a call in a loop test runs on the tape');
      const testPre: Stmt[] = [];
      const test = this.passive(p.get('test'), testPre);
      if (testPre.length > 0) this.fail(p.get('test'), 'a loop test that needs statements before it runs on the tape');
      this.loopDepth++;
      const body = this.bodyOf(p.get('body'));
      this.loopDepth--;
      out.push({ k: 'loop', init: [], test, update: [], body, line });
      return;
    }
    if (p.isForStatement()) {
      this.noJumps(p);
      const init: Stmt[] = [];
      const initP = p.get('init');
      if (initP.node) {
        if (initP.isVariableDeclaration()) this.stmt(initP, init);
        else this.effect(unwrap(initP as P), init, line);
      }
      const testP = p.get('test');
      if (testP.node && this.hasCall(testP as P)) this.fail(testP as P, 'a call in a loop test runs on the tape');
      this.loopDepth++;
      const testPre: Stmt[] = [];
      const test = testP.node ? this.passive(testP as P, testPre) : null;
      if (testPre.length > 0) this.fail(testP as P, 'a loop test that needs statements before it runs on the tape');
      const update: Stmt[] = [];
      const updP = p.get('update');
      if (updP.node) this.effect(unwrap(updP as P), update, line);
      const body = this.bodyOf(p.get('body'));
      this.loopDepth--;
      const loop: Stmt = { k: 'loop', init, test, update, body, line };
      // A counted loop: `let i = a; ...; i++` with i untouched by the body: i is rebuilt in the reverse sweep.
      const first = init[0];
      const upd = update[0];
      if (init.length === 1 && first!.k === 'set' && first.decl && first.v.kind === 'num' && update.length === 1 &&
          upd!.k === 'set' && upd.v === first.v && upd.op !== '=' && upd.e.k === 'num' && upd.e.v === 1 &&
          !assigns(body, first.v)) {
        loop.index = { v: first.v, start: first.e, step: upd.op === '+=' ? 1 : -1 };
      }
      out.push(loop);
      return;
    }
    if (p.isForOfStatement() || p.isForInStatement() || p.isDoWhileStatement()) this.fail(p, `${p.type} runs on the tape`);
    if (p.isSwitchStatement()) this.fail(p, 'switch runs on the tape');
    if (p.isTryStatement() || p.isThrowStatement()) this.fail(p, 'try/throw run on the tape');
    if (p.isBreakStatement() || p.isContinueStatement() || p.isLabeledStatement()) this.fail(p, 'break/continue run on the tape');
    if (p.isFunctionDeclaration() || p.isClassDeclaration()) this.fail(p, 'declarations of functions or classes inside run on the tape');
    void t;
    this.fail(p, `${p.type} runs on the tape`);
  }

  private noJumps(p: P): void {
    p.traverse({
      'BreakStatement|ContinueStatement|ReturnStatement': (q) => this.fail(q, `${q.type === 'ReturnStatement' ? 'a return' : 'break/continue'} inside a loop runs on the tape`),
    });
  }

  private hasCall(p: P): boolean {
    let found = false;
    p.traverse({
      CallExpression: (q) => {
        if (!this.isMathCall(q)) found = true;
      },
      NewExpression: () => {
        found = true;
      },
    });
    if (p.isCallExpression() && !this.isMathCall(p)) found = true;
    return found;
  }

  private isMathCall(p: P<BabelTypes.CallExpression>): boolean {
    const c = p.node.callee;
    return this.t.isMemberExpression(c) && !c.computed && this.t.isIdentifier(c.object, { name: 'Math' }) &&
      this.t.isIdentifier(c.property) && MATH_RULES.has(c.property.name) && !p.scope.getBinding('Math');
  }

  private varOf(p: P<BabelTypes.Identifier>): Var | undefined {
    const b = p.scope.getBinding(p.node.name);
    return b ? this.vars.get(b) : undefined;
  }

  private declarator(d: P<BabelTypes.VariableDeclarator>, out: Stmt[]): void {
    const id = d.get('id');
    const line = lineOf(d);
    const init = d.get('init');
    if (id.isObjectPattern()) {
      if (!init.node) this.fail(d, 'destructuring without a value');
      const e = this.expr(init as P<BabelTypes.Expression>, out, false);
      const vars: [Var, string][] = [];
      for (const prop of id.get('properties')) {
        if (!prop.isObjectProperty() || prop.node.computed || !this.t.isIdentifier(prop.node.key) || !prop.get('value').isIdentifier()) {
          this.fail(prop, 'only `{ a, b: c }` destructuring is compiled');
        }
        const local = prop.get('value') as P<BabelTypes.Identifier>;
        const v = this.newVar(local.node.name, 'data', -1);
        this.vars.set(d.scope.getBinding(local.node.name)!, v);
        vars.push([v, (prop.node.key as BabelTypes.Identifier).name]);
      }
      out.push({ k: 'destr', vars, e, line });
      return;
    }
    if (!id.isIdentifier()) this.fail(id, 'array destructuring runs on the tape');
    const b = d.scope.getBinding(id.node.name)!;
    const e: Expr = init.node ? this.expr(init as P<BabelTypes.Expression>, out, true) : { k: 'ext', code: 'undefined' };
    const v = this.newVar(id.node.name, kindOfExpr(e), -1);
    if (e.k === 'newarr' || e.k === 'arrlit') v.owned = true;
    if (e.k === 'ext' && !init.node) v.kind = kindOfAnnotation(this.t, id.node.typeAnnotation) ?? 'num';
    if (b.constantViolations.length > 0) v.reassigned = true;
    this.vars.set(b, v);
    out.push({ k: 'set', v, op: '=', e, decl: true, line });
  }

  /** An expression statement: assignment, update, push, or a passive call. */
  private effect(p: P, out: Stmt[], line: number): void {
    const t = this.t;
    if (p.isAssignmentExpression()) {
      const op = p.node.operator;
      if (!['=', '+=', '-=', '*=', '/='].includes(op)) this.fail(p, `\`${op}\` runs on the tape`);
      const left = unwrap(p.get('left') as P);
      const right = p.get('right');
      const compound = (cur: Expr, e: Expr): Expr => ({ k: 'bin', op: op.slice(0, 1), l: cur, r: e });
      if (left.isIdentifier()) {
        const v = this.varOf(left);
        if (!v) this.fail(left, `assigns to ${left.node.name}, which is not a local`);
        v.reassigned = true;
        // Only `v = g(...)` keeps a compiled call whole; `v += g(...)` gets it through a temporary.
        let e = this.expr(right, out, op === '=');
        if (op === '*=' || op === '/=') e = compound({ k: 'var', v }, e);
        if (v.kind !== 'num' && op !== '=') this.fail(p, `\`${op}\` on ${v.name}, which is not a number`);
        if (op === '=' && kindOfExpr(e) !== v.kind) {
          if (v.kind === 'num' || kindOfExpr(e) === 'num') this.fail(p, `${v.name} holds both numbers and other values`);
        }
        if (op === '=' && (e.k === 'newarr' || e.k === 'arrlit')) v.owned = true;
        out.push({ k: 'set', v, op: op === '+=' || op === '-=' ? op : '=', e, decl: false, line });
        return;
      }
      if (left.isMemberExpression() && left.node.computed) {
        const obj = unwrap(left.get('object') as P);
        const v = obj.isIdentifier() ? this.varOf(obj) : undefined;
        if (!v || !v.owned || v.kind !== 'arr') this.fail(left, 'writes into an array the function did not create (such as an argument) run on the tape');
        const index = this.passive(left.get('property') as P, out);
        if (this.hasCall(left.get('property') as P)) this.fail(left, 'a call in an index runs on the tape');
        let e = this.expr(right, out, false);
        if (op === '*=' || op === '/=') e = compound({ k: 'idx', obj: { k: 'var', v }, index }, e);
        out.push({ k: 'elem', v, index, op: op === '+=' || op === '-=' ? op : '=', e, line });
        return;
      }
      this.fail(left, 'this assignment target runs on the tape');
    }
    if (p.isUpdateExpression()) {
      const arg = unwrap(p.get('argument') as P);
      const op = p.node.operator === '++' ? '+=' : '-=';
      const one: Expr = { k: 'num', v: 1 };
      if (arg.isIdentifier()) {
        const v = this.varOf(arg);
        if (!v || v.kind !== 'num') this.fail(arg, `\`${p.node.operator}\` on something other than a local number`);
        v.reassigned = true;
        out.push({ k: 'set', v, op, e: one, decl: false, line });
        return;
      }
      if (arg.isMemberExpression() && arg.node.computed) {
        const obj = unwrap(arg.get('object') as P);
        const v = obj.isIdentifier() ? this.varOf(obj) : undefined;
        if (!v || !v.owned || v.kind !== 'arr') this.fail(arg, 'writes into an array the function did not create run on the tape');
        out.push({ k: 'elem', v, index: this.passive(arg.get('property') as P, out), op, e: one, line });
        return;
      }
      this.fail(p, 'this update runs on the tape');
    }
    if (p.isCallExpression()) {
      const callee = p.get('callee');
      if (callee.isMemberExpression() && !callee.node.computed && t.isIdentifier(callee.node.property, { name: 'push' })) {
        const obj = unwrap(callee.get('object') as P);
        const v = obj.isIdentifier() ? this.varOf(obj) : undefined;
        if (v && v.owned && v.kind === 'arr') {
          for (const a of p.get('arguments')) {
            if (a.isSpreadElement()) this.fail(a, 'push(...xs) runs on the tape');
            out.push({ k: 'push', v, e: this.expr(a as P<BabelTypes.Expression>, out, false), line });
          }
          return;
        }
      }
      const e = this.expr(p, out, true);
      if (e.k === 'call') {
        const tmp = this.temp();
        out.push({ k: 'set', v: tmp, op: '=', e, decl: true, line });
      } else if (e.k === 'opaque') out.push({ k: 'effect', code: e.code, e, line });
      else this.fail(p, 'this call runs on the tape');
      return;
    }
    this.fail(p, `the statement ${p.type} runs on the tape`);
  }

  // -------------------------------------------------------------------------
  // Expressions
  // -------------------------------------------------------------------------

  /** Inside a test or an index: no derivative flows (so `?:` may stay an expression). */
  private passiveContext = 0;

  /** An expression only used for its value in the forward sweep (a test, an index). */
  private passive(p: P, out: Stmt[]): Expr {
    this.passiveContext++;
    try {
      return this.expr(p as P<BabelTypes.Expression>, out, false);
    } finally {
      this.passiveContext--;
    }
  }

  /**
   * Lowers an expression. Compiled calls and `?:` with active branches move
   * into statements before it (`pre`); `whole` says the expression is a whole
   * right-hand side, where any other call may stay.
   */
  expr(p0: P, pre: Stmt[], whole: boolean): Expr {
    const t = this.t;
    const p = unwrap(p0);
    const line = lineOf(p);
    if (p.isNumericLiteral()) return { k: 'num', v: p.node.value };
    if (p.isIdentifier()) {
      if (p.node.name === 'undefined' && !p.scope.getBinding('undefined')) return { k: 'ext', code: 'undefined' };
      const b = p.scope.getBinding(p.node.name);
      const v = b ? this.vars.get(b) : undefined;
      if (v) return { k: 'var', v };
      if (b && b.path.isDescendant(this.fn)) this.fail(p, `${p.node.name} is used before this compiler saw its declaration`);
      // A function expression's own name is in scope only inside it, not where the generated code goes.
      if (b && b.path === this.fn && this.fn.isFunctionExpression()) this.fail(p, `the function expression refers to its own name ${p.node.name}`);
      // A variable of an enclosing function (an inline function's closure): a constant during the gradient, if never reassigned.
      if (b && !b.scope.path.isProgram() && !b.constant) this.fail(p, `reads ${p.node.name}, a variable of an enclosing function that is reassigned`);
      return { k: 'ext', code: p.node.name, ...(b ? { outer: b.constant ? 'constant' : 'reassigned' } : {}) } as Expr;
    }
    if (p.isBooleanLiteral() || p.isNullLiteral() || p.isStringLiteral()) return { k: 'ext', code: JSON.stringify((p.node as { value?: unknown }).value ?? null) };
    if (p.isMemberExpression()) {
      const obj = this.expr(p.get('object') as P, pre, false);
      if (p.node.computed) {
        const prop = p.get('property') as P;
        if (this.hasCall(prop)) this.fail(prop, 'a call in an index runs on the tape');
        const index = this.passive(prop, pre);
        return { k: 'idx', obj, index };
      }
      if (p.node.property.type !== 'Identifier') this.fail(p, 'this member read runs on the tape');
      const name = (p.node.property as BabelTypes.Identifier).name;
      return { k: 'prop', obj, name };
    }
    if (p.isBinaryExpression()) {
      const op = p.node.operator;
      const l = this.expr(p.get('left') as P, pre, false);
      const r = this.expr(p.get('right'), pre, false);
      if (op === '+' && (isString(l) || isString(r))) this.fail(p, 'string concatenation runs on the tape');
      if (!['+', '-', '*', '/', '%', '**'].includes(op) && !COMPARE.has(op) && !BITWISE.has(op)) this.fail(p, `\`${op}\` runs on the tape`);
      return { k: 'bin', op, l, r };
    }
    if (p.isUnaryExpression()) {
      const op = p.node.operator;
      const e = this.expr(p.get('argument'), pre, false);
      if (op === '-') return { k: 'un', op, e };
      if (op === '!' || op === '~') return { k: 'un', op, e };
      this.fail(p, `unary \`${op}\` runs on the tape`);
    }
    if (p.isLogicalExpression()) {
      const l = this.expr(p.get('left'), pre, false);
      // The right operand runs only sometimes: nothing of it may move before the expression.
      const rightPre: Stmt[] = [];
      this.passiveContext++;
      let r: Expr;
      try {
        r = this.expr(p.get('right'), rightPre, false);
      } finally {
        this.passiveContext--;
      }
      if (rightPre.length > 0) this.fail(p, `a call or ?: after \`${p.node.operator}\` runs on the tape`);
      if (this.hasCall(p.get('right'))) this.fail(p, `a call after \`${p.node.operator}\` runs on the tape`);
      return { k: 'logic', op: p.node.operator, l, r };
    }
    if (p.isConditionalExpression()) {
      if (this.hasCall(p.get('test'))) this.fail(p, 'a call in a test runs on the tape');
      const test = this.expr(p.get('test'), pre, false);
      const ap: Stmt[] = [];
      const bp: Stmt[] = [];
      const a = this.expr(p.get('consequent'), ap, false);
      const b = this.expr(p.get('alternate'), bp, false);
      if (this.passiveContext > 0 && ap.length === 0 && bp.length === 0) return { k: 'cond', test, a, b };
      // In a value: `tmp = c ? a : b` becomes an if statement, so each branch has its own reverse.
      const tmp = this.temp();
      ap.push({ k: 'set', v: tmp, op: '=', e: a, decl: false, line });
      bp.push({ k: 'set', v: tmp, op: '=', e: b, decl: false, line });
      pre.push({ k: 'if', test, then: ap, else: bp, line });
      return { k: 'var', v: tmp };
    }
    if (p.isCallExpression()) {
      const callee = p.get('callee');
      const args = p.get('arguments');
      if (args.some((a) => a.isSpreadElement())) this.fail(p, 'spread arguments run on the tape');
      // `new Array(n).fill(c)`: a local array of n copies of c.
      if (callee.isMemberExpression() && !callee.node.computed && t.isIdentifier(callee.node.property, { name: 'fill' }) &&
          t.isNewExpression(callee.node.object) && t.isIdentifier(callee.node.object.callee, { name: 'Array' }) &&
          !p.scope.getBinding('Array') && callee.node.object.arguments.length === 1 && args.length === 1 && whole) {
        const n = this.passive((callee.get('object') as P<BabelTypes.NewExpression>).get('arguments')[0] as P, pre);
        const fill = this.expr(args[0] as P, pre, false);
        if (kindOfExpr(n) !== 'num' || kindOfExpr(fill) !== 'num') this.fail(p, 'new Array(n).fill(c) with n and c numbers only');
        return { k: 'newarr', how: 'fill', n, fill };
      }
      if (this.isMathCall(p)) {
        const name = ((callee.node as BabelTypes.MemberExpression).property as BabelTypes.Identifier).name;
        const xs = args.map((a) => this.expr(a as P, pre, false));
        const arity = name in unaryRules || PIECEWISE.has(name) ? 1 : name === 'pow' || name === 'atan2' ? 2 : -1;
        if (arity > 0 && xs.length !== arity) this.fail(p, `Math.${name} with ${xs.length} arguments runs on the tape`);
        if (arity < 0 && xs.length === 0) this.fail(p, `Math.${name}() runs on the tape`);
        return { k: 'math', name, args: xs };
      }
      if (callee.isIdentifier()) {
        const b = p.scope.getBinding(callee.node.name);
        const name = b ? this.compilable(b) : undefined;
        if (name !== undefined) {
          this.callees.add(name);
          const xs = args.map((a) => {
            const e = this.expr(a as P, pre, false);
            if (e.k === 'num' || e.k === 'var' || e.k === 'ext' || e.k === 'idx') return e;
            // Other arguments become temporaries, so the call's reverse can accumulate into them.
            const tmp = this.temp(kindOfExpr(e));
            pre.push({ k: 'set', v: tmp, op: '=', e, decl: true, line });
            return { k: 'var', v: tmp } as Expr;
          });
          const call: Expr = { k: 'call', fn: name, args: xs };
          if (whole) return call;
          const tmp = this.temp();
          pre.push({ k: 'set', v: tmp, op: '=', e: call, decl: true, line });
          return { k: 'var', v: tmp };
        }
      }
      // Any other call: only as a whole statement or right-hand side (checked per variant: no active argument).
      if (!whole) {
        const b = callee.isIdentifier() ? p.scope.getBinding(callee.node.name) : undefined;
        this.fail(p, b && b.scope.path.isProgram() && (b.path.isFunctionDeclaration() || b.path.isVariableDeclarator())
          ? `calls ${describeCallee(p)}, which runs on the tape`
          : `calls ${describeCallee(p)}, which the adjoint tier does not compile, inside an expression`);
      }
      // Printed from its parts, so that locals renamed by this compiler are the right ones.
      let recv: Expr | undefined;
      let head: string;
      if (callee.isMemberExpression() && !callee.node.computed && t.isIdentifier(callee.node.property)) {
        recv = this.expr(callee.get('object') as P, pre, false);
        head = `.${callee.node.property.name}`;
      } else if (callee.isIdentifier()) {
        const cb = p.scope.getBinding(callee.node.name);
        if (cb && this.vars.has(cb)) recv = { k: 'var', v: this.vars.get(cb)! };
        head = recv ? '' : callee.node.name;
      } else this.fail(callee, 'this call runs on the tape');
      const xs = args.map((a) => this.expr(a as P, pre, false));
      return { k: 'opaque', code: p.toString(), recv, head, args: xs };
    }
    if (p.isNewExpression()) {
      const callee = p.get('callee');
      const args = p.get('arguments');
      if (callee.isIdentifier() && TYPED.has(callee.node.name) && !p.scope.getBinding(callee.node.name) && args.length === 1 && whole) {
        const n = this.expr(args[0] as P, pre, false);
        if (kindOfExpr(n) !== 'num') this.fail(p, `new ${callee.node.name}(array) runs on the tape`);
        return { k: 'newarr', how: 'typed', n, typed: callee.node.name };
      }
      this.fail(p, 'this `new` runs on the tape');
    }
    if (p.isArrayExpression()) {
      if (!whole) this.fail(p, 'an array literal inside an expression runs on the tape');
      const elems = p.get('elements').map((e) => {
        if (!e.node || e.isSpreadElement()) this.fail(p, 'holes and spreads in array literals run on the tape');
        const x = this.expr(e as P, pre, false);
        if (kindOfExpr(x) !== 'num') this.fail(e as P, 'array literals of non-numbers run on the tape');
        return x;
      });
      return { k: 'arrlit', elems };
    }
    // `new Array(n).fill(c)`
    this.fail(p, `${p.type} runs on the tape`);
  }
}

function t_isLength(n: BabelTypes.Node): boolean {
  return n.type === 'Identifier' && n.name === 'length';
}

function isString(e: Expr): boolean {
  return e.k === 'ext' && e.code.startsWith('"');
}

function describeCallee(p: P<BabelTypes.CallExpression>): string {
  const c = p.node.callee;
  const s = p.get('callee').toString();
  return c.type === 'Identifier' || c.type === 'MemberExpression' ? s.slice(0, 40) : 'a function';
}

/** What an expression evaluates to, as far as the kinds go. */
export function kindOfExpr(e: Expr): Kind {
  switch (e.k) {
    case 'num': return 'num';
    case 'var': return e.v.kind;
    case 'idx': {
      const o = kindOfExpr(e.obj);
      return o === 'arr2' ? 'arr' : o === 'arr' ? 'num' : 'data';
    }
    case 'prop': return e.name === 'length' ? 'num' : 'data';
    case 'bin': case 'un': case 'math': case 'call': return 'num';
    case 'newarr': case 'arrlit': return 'arr';
    case 'cond': {
      const a = kindOfExpr(e.a);
      return a === kindOfExpr(e.b) ? a : 'data';
    }
    default: return 'data';
  }
}

/**
 * The reverse sweep reads values again. A call the tier does not compile may
 * change module-level state between the forward and the reverse sweep, so a
 * function with such a call must not read module-level variables that are
 * reassigned, nor elements of module-level arrays or objects.
 */
function checkOuterState(body: Stmt[]): void {
  let opaque: number | undefined;
  let outer: [string, number] | undefined;
  const expr = (e: Expr, line: number): void => {
    if (e.k === 'opaque') opaque ??= line;
    if (e.k === 'ext' && e.outer === 'reassigned') outer ??= [e.code, line];
    if ((e.k === 'idx' || e.k === 'prop') && e.obj.k === 'ext' && e.obj.outer && !(e.k === 'prop' && e.name === 'length')) outer ??= [e.obj.code, line];
    for (const c of children(e)) expr(c, line);
  };
  const walk = (list: Stmt[]): void => {
    for (const s of list) {
      if (s.k === 'effect') opaque ??= s.line;
      if ('e' in s && s.k !== 'effect') expr(s.e, s.line);
      if (s.k === 'elem') expr(s.index, s.line);
      if (s.k === 'if') {
        expr(s.test, s.line);
        walk(s.then);
        walk(s.else);
      }
      if (s.k === 'loop') {
        if (s.test) expr(s.test, s.line);
        walk(s.init);
        walk(s.body);
        walk(s.update);
      }
    }
  };
  walk(body);
  if (opaque !== undefined && outer !== undefined) {
    throw new Fallback(`reads ${outer[0]} (module state) and makes a call (line ${opaque}) the adjoint tier cannot see into, which could change it`, outer[1]);
  }
}

/** A local array that may alias one the function did not create must not be written. */
function checkBorrowed(body: Stmt[], locals: Var[], line: number): void {
  const borrowed = new Set<Var>();
  const written = new Map<Var, number>();
  const walk = (list: Stmt[]): void => {
    for (const s of list) {
      if (s.k === 'set' && s.v.kind !== 'num' && !(s.e.k === 'newarr' || s.e.k === 'arrlit' || (s.e.k === 'var' && s.e.v.owned))) borrowed.add(s.v);
      if (s.k === 'elem' || s.k === 'push') written.set(s.v, s.line);
      if (s.k === 'if') {
        walk(s.then);
        walk(s.else);
      }
      if (s.k === 'loop') {
        walk(s.init);
        walk(s.body);
        walk(s.update);
      }
    }
  };
  walk(body);
  // Aliases of borrowed arrays are borrowed too.
  for (let changed = true; changed; ) {
    changed = false;
    const visit = (list: Stmt[]): void => {
      for (const s of list) {
        if (s.k === 'set' && s.e.k === 'var' && borrowed.has(s.e.v) && !borrowed.has(s.v)) {
          borrowed.add(s.v);
          changed = true;
        }
        if (s.k === 'if') {
          visit(s.then);
          visit(s.else);
        }
        if (s.k === 'loop') {
          visit(s.init);
          visit(s.body);
          visit(s.update);
        }
      }
    };
    visit(body);
  }
  // Variables that may hold an array created here (whose elements change): created ones and their aliases.
  const changes = new Set<Var>(locals.filter((v) => v.owned));
  for (let grew = true; grew; ) {
    grew = false;
    const visit = (list: Stmt[]): void => {
      for (const s of list) {
        if (s.k === 'set' && (s.e.k === 'newarr' || s.e.k === 'arrlit' || (s.e.k === 'var' && changes.has(s.e.v))) && !changes.has(s.v)) {
          changes.add(s.v);
          grew = true;
        }
        if (s.k === 'if') {
          visit(s.then);
          visit(s.else);
        }
        if (s.k === 'loop') {
          visit(s.init);
          visit(s.body);
          visit(s.update);
        }
      }
    };
    visit(body);
  }
  for (const v of changes) v.changes = true;
  for (const v of locals) {
    if (borrowed.has(v) && written.has(v)) throw new Fallback(`writes into ${v.name}, which may be an array the function did not create`, written.get(v) ?? line);
    if (borrowed.has(v)) v.owned = false;
  }
}

function assigns(body: Stmt[], v: Var): boolean {
  for (const s of body) {
    if (s.k === 'set' && s.v === v) return true;
    if (s.k === 'if' && (assigns(s.then, v) || assigns(s.else, v))) return true;
    if (s.k === 'loop' && (assigns(s.init, v) || assigns(s.update, v) || assigns(s.body, v))) return true;
  }
  return false;
}

/** Ends every path through `s` with a return? */
function returns(s: Stmt[]): boolean {
  const last = s[s.length - 1];
  return last !== undefined && (last.k === 'return' || (last.k === 'if' && returns(last.then) && returns(last.else)));
}

/**
 * Early returns: `if (c) return a; rest` becomes `if (c) return a; else rest`,
 * so that every return ends the function's statement list and the reverse
 * sweep starts at the branch that returned. Statements after a return go.
 */
export function normalizeReturns(list: Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  for (let i = 0; i < list.length; i++) {
    const s = list[i]!;
    if (s.k === 'return') {
      out.push(s);
      return out;
    }
    if (s.k === 'if' && (containsReturn(s.then) || containsReturn(s.else))) {
      const rest = list.slice(i + 1);
      const then = returns(s.then) ? s.then : [...s.then, ...rest];
      const els = returns(s.else) ? s.else : [...s.else, ...rest];
      out.push({ ...s, then: normalizeReturns(then), else: normalizeReturns(els) });
      return out;
    }
    out.push(s);
  }
  return out;
}

function containsReturn(s: Stmt[]): boolean {
  return s.some((x) => x.k === 'return' || (x.k === 'if' && (containsReturn(x.then) || containsReturn(x.else))));
}
