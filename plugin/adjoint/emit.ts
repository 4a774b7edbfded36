/**
 * One function, one activity variant: assembles the forward function
 * `f$fwd(params..., shadows...)` and the reverse function
 * `f$rev(params..., shadows..., seed)`.
 *
 * - Every local is declared once at the top of both (names made unique), so
 *   the reverse function can restore what the forward one saved.
 * - The adjoint of a number `v` is the local `v_b`; of an array, the shadow
 *   array `v_b` (a Float64Array for arguments, made by the runtime; a plain
 *   array for local arrays, made next to them in the forward code).
 * - A reverse function returns the adjoints of its number parameters in the
 *   stacks' `out` buffer (index = parameter position), read by the caller at once.
 */
import { checkVariant, markActivity } from './activity.js';
import type { Lowered } from './analysis.js';
import { Body, indent } from './control.js';
import { Printer } from './expressions.js';
import type { Expr, Stmt, Var } from './model.js';
import { children, isActive } from './model.js';
import type { CalleeInfo, Env } from './statements.js';

type T = typeof import('@babel/core').types;

export interface FunctionUnit {
  /** The binding's name in the module. */
  name: string;
  low: Lowered;
  /** Names already used by the module (generated names avoid them). */
  taken: Set<string>;
  /** Generated shadow names, per variable (stable across variants). */
  shadows: Map<Var, string>;
}

export interface Naming {
  fwd(fn: string, mask: number): string;
  rev(fn: string, mask: number): string;
  callee(fn: string): CalleeInfo;
  helper(name: string): string;
  /** Asks for variant `mask` of `fn` (a call needs it). */
  need(fn: string, mask: number): void;
}

function freshIn(taken: Set<string>, used: Set<string>, base: string): string {
  let name = base;
  for (let k = 2; taken.has(name) || used.has(name); k++) name = `${base}$${k}`;
  used.add(name);
  return name;
}

/** The mask of a call: which arguments carry derivatives into parameters that can take them. */
export function callMask(args: Expr[], info: CalleeInfo): number {
  let mask = 0;
  args.forEach((a, k) => {
    if (k < info.params.length && info.params[k] !== 'data' && isActive(a)) mask |= 1 << k;
  });
  return mask;
}

export function emitVariant(t: T, unit: FunctionUnit, mask: number, naming: Naming): string {
  const { low, taken, name } = unit;
  markActivity(low, mask);
  checkVariant(low);
  const used = new Set<string>([...low.params, ...low.locals].map((v) => v.name));
  const shadowName = (v: Var): string => {
    let s = unit.shadows.get(v);
    if (s === undefined) {
      s = freshIn(taken, used, `${v.name}_b`);
      unit.shadows.set(v, s);
    } else used.add(s);
    return s;
  };
  // Reserve every shadow name up front, so temporaries never take one.
  for (const v of [...low.params, ...low.locals]) shadowName(v);
  const anyDollar = [...taken].some((n) => n.startsWith('$'));
  const tmp = anyDollar ? '$$' : '$';
  const S = freshIn(taken, used, 'S');
  const pr = new Printer(shadowName, naming.helper, (fn, args) => {
    const m = callMask(args, naming.callee(fn));
    naming.need(fn, m);
    return naming.fwd(fn, m);
  });
  const seed = `${tmp}seed`;
  const env: Env = {
    t, pr, S, tmp, seed,
    callee: naming.callee,
    revName: (fn, args) => {
      const m = callMask(args, naming.callee(fn));
      naming.need(fn, m);
      return naming.rev(fn, m);
    },
  };
  const indexVars = new Set<Var>();
  const findIndex = (list: Lowered['body']): void => {
    for (const s of list) {
      if (s.k === 'loop') {
        if (s.index) indexVars.add(s.index.v);
        findIndex(s.body);
        findIndex(s.init);
      } else if (s.k === 'if') {
        findIndex(s.then);
        findIndex(s.else);
      }
    }
  };
  findIndex(low.body);
  // An uncompiled call could change data the reverse sweep would read again at another time: then save instead.
  const opaque = hasOpaque(low.body);
  const recomputed = opaque ? new Map<Stmt, Stmt[]>() : findRecomputed(low, indexVars);
  const body = new Body(env, indexVars, recomputed, !opaque);
  body.analyze(low.body);
  const fwdBody = body.forwardBlock(low.body);
  const revBody = body.reverse(low.body);

  const params = low.params.map((v) => v.name);
  const shadowParams = low.params.map((v) => (v.active && v.kind !== 'num' ? shadowName(v) : `${tmp}${v.name}`));
  const locals = low.locals.map((v) => v.name);
  const localShadows = low.locals.filter((v) => v.active && v.kind !== 'num').map(shadowName);
  const scalarAdj = [...low.params, ...low.locals].filter((v) => v.active && v.kind === 'num').map((v) => `${shadowName(v)} = 0`);
  const decl = (names: string[]): string[] => (names.length > 0 ? [`let ${names.join(', ')};`] : []);
  const stack = `const ${S} = ${naming.helper('$S')};`;
  const fwd = [
    `function ${naming.fwd(name, mask)}(${[...params, ...shadowParams].join(', ')}) {`,
    ...indent([stack, ...decl([...locals, ...localShadows, ...body.temps]), ...fwdBody]),
    `}`,
  ];
  const outs = low.params.filter((v) => v.active && v.kind === 'num').map((v) => `${S}.out[${v.param}] = ${shadowName(v)};`);
  const rev = [
    `function ${naming.rev(name, mask)}(${[...params, ...shadowParams, seed].join(', ')}) {`,
    ...indent([stack, ...decl([...locals, ...localShadows]), ...decl(scalarAdj), ...revBody, ...outs]),
    `}`,
  ];
  return [...fwd, ...rev].join('\n');
}

/**
 * Locals the reverse sweep recomputes instead of saving: declared once, at the
 * top level of a loop body, from arithmetic on values that stay intact for the
 * whole reverse sweep (parameters never reassigned, counted-loop indices,
 * locals assigned once outside loops, arrays the function never writes, and
 * earlier recomputed locals of the same body), with no Math call. The reverse
 * of each iteration starts by recomputing them: cheaper than pushing and
 * popping (memory traffic), as the worked examples measured.
 */
export function findRecomputed(low: Lowered, indexVars: Set<Var>): Map<Stmt, Stmt[]> {
  const defs = new Map<Var, number>();
  const count = (list: Stmt[], inLoop: boolean): void => {
    for (const s of list) {
      if (s.k === 'set') defs.set(s.v, (defs.get(s.v) ?? 0) + (inLoop && !s.decl ? 2 : 1));
      if (s.k === 'destr') for (const [v] of s.vars) defs.set(v, (defs.get(v) ?? 0) + (inLoop ? 2 : 1));
      if (s.k === 'if') {
        count(s.then, inLoop);
        count(s.else, inLoop);
      }
      if (s.k === 'loop') {
        count(s.init, true);
        count(s.body, true);
        count(s.update, true);
      }
    }
  };
  count(low.body, false);
  const intact = new Set<Var>(indexVars);
  for (const v of low.params) if (!v.reassigned) intact.add(v);
  // Locals assigned once, outside any loop, with their declaration at the function's top level.
  for (const s of low.body) {
    if (s.k === 'set' && s.decl && defs.get(s.v) === 1 && !s.v.owned && !s.v.changes) intact.add(s.v);
    if (s.k === 'destr') for (const [v] of s.vars) if (defs.get(v) === 1) intact.add(v);
  }
  const cheap = (e: Expr, ok: Set<Var>): boolean => {
    switch (e.k) {
      case 'num': case 'ext': return true;
      case 'var': return ok.has(e.v);
      case 'idx': return cheap(e.obj, ok) && cheap(e.index, ok) && !(e.obj.k === 'var' && (e.obj.v.owned || e.obj.v.changes));
      case 'prop': return e.name === 'length' && cheap(e.obj, ok);
      case 'bin': return ['+', '-', '*', '/', '%', '<', '<=', '>', '>=', '===', '!==', '|', '&', '>>', '<<'].includes(e.op) && cheap(e.l, ok) && cheap(e.r, ok);
      case 'un': return e.op === '-' && cheap(e.e, ok);
      default: return false;
    }
  };
  const out = new Map<Stmt, Stmt[]>();
  const visit = (list: Stmt[]): void => {
    for (const s of list) {
      if (s.k === 'if') {
        visit(s.then);
        visit(s.else);
      }
      if (s.k !== 'loop') continue;
      const ok = new Set(intact);
      const mine: Stmt[] = [];
      for (const b of s.body) {
        const aliasOk = b.k === 'set' && (b.v.kind === 'num' || b.e.k === 'var' || b.e.k === 'idx');
        if (b.k === 'set' && b.decl && b.op === '=' && defs.get(b.v) === 1 && !b.v.owned && !b.v.changes && !indexVars.has(b.v) && aliasOk && cheap(b.e, ok)) {
          mine.push(b);
          ok.add(b.v);
        }
      }
      if (mine.length > 0) out.set(s, mine);
      visit(s.body);
    }
  };
  visit(low.body);
  return out;
}

function hasOpaque(list: Stmt[]): boolean {
  const inExpr = (e: Expr): boolean => e.k === 'opaque' || children(e).some(inExpr);
  return list.some((s) => {
    if (s.k === 'effect') return true;
    if (s.k === 'if') return inExpr(s.test) || hasOpaque(s.then) || hasOpaque(s.else);
    if (s.k === 'loop') return (s.test !== null && inExpr(s.test)) || hasOpaque(s.init) || hasOpaque(s.body) || hasOpaque(s.update);
    return ('e' in s && inExpr(s.e)) || (s.k === 'elem' && inExpr(s.index));
  });
}
