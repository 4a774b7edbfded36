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
import type * as BabelTypes from '@babel/types';
import { checkVariant, markActivity } from './analysis.js';
import type { Lowered } from './analysis.js';
import { Body, indent } from './control.js';
import { Printer } from './expressions.js';
import type { Expr, Var } from './model.js';
import { isActive } from './model.js';
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
  const body = new Body(env, low.params, indexVars);
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
