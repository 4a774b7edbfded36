/**
 * Simple statements (assignments, array writes, pushes, calls, returns): the
 * forward code (the statement itself, plus saving what it overwrites when the
 * reverse sweep needs it) and the reverse code (restore, then accumulate the
 * adjoints of the right-hand side's leaves: `ℓ̄ += v̄ · ∂e/∂ℓ`).
 *
 * The state invariant of the reverse sweep: when it reaches a statement, every
 * variable the statement's reverse reads holds the value it had when the
 * forward sweep ran the statement (control.ts decides which overwritten
 * values must be saved for that).
 */
import { kindOfExpr } from './analysis.js';
import { adjointOf } from './expressions.js';
import type { Printer } from './expressions.js';
import { Fallback, children as childrenOf, isActive } from './model.js';
import type { Expr, Stmt, Var } from './model.js';

type T = typeof import('@babel/core').types;

/** What a compiled callee looks like to its callers. */
export interface CalleeInfo {
  params: Var['kind'][];
}

export interface Env {
  t: T;
  pr: Printer;
  /** The stacks' local name. */
  S: string;
  /** Prefix of temporaries in reverse blocks. */
  tmp: string;
  /** The reverse function's seed parameter. */
  seed: string;
  callee: (fn: string) => CalleeInfo;
  /** Reverse name of a compiled call with these arguments. */
  revName: (fn: string, args: Expr[]) => string;
}

export type SimpleStmt = Extract<Stmt, { k: 'set' | 'destr' | 'elem' | 'push' | 'effect' | 'return' }>;

export function pushVar(env: Env, v: Var): string[] {
  const S = env.S;
  if (v.kind === 'num') return [`${S}.F[${S}.fp++] = ${v.name};`];
  const out = [`${S}.O[${S}.op++] = ${v.name};`];
  if (v.active) out.push(`${S}.O[${S}.op++] = ${env.pr.shadowName(v)};`);
  return out;
}

export function popVar(env: Env, v: Var): string[] {
  const S = env.S;
  if (v.kind === 'num') return [`${v.name} = ${S}.F[--${S}.fp];`];
  const out = [`${v.name} = ${S}.O[--${S}.op];`];
  if (v.active) out.unshift(`${env.pr.shadowName(v)} = ${S}.O[--${S}.op];`);
  return out;
}

/** Forward code of a simple statement; `pushed` are the variables it overwrites whose old values are saved. */
export function forwardSimple(env: Env, s: SimpleStmt, pushed: readonly Var[]): string[] {
  const pr = env.pr;
  const S = env.S;
  const save = pushed.flatMap((v) => pushVar(env, v));
  switch (s.k) {
    case 'set': {
      const v = s.v;
      const lines = [...save];
      if (s.e.k === 'call' && s.op !== '=') throw new Error('dualtape internal: a compiled call in a compound assignment');
      if (s.e.k === 'call') {
        // The callee pushes first, the old value after: the reverse restores v, then runs the callee's reverse.
        const call = `${pr.callName(s.e.fn, s.e.args)}(${forwardCallArgs(env, s.e)})`;
        if (save.length === 0) return [`${v.name} = ${call};`];
        const c = `${env.tmp}c`;
        return [`{`, `  const ${c} = ${call};`, ...save.map((l) => `  ${l}`), `  ${v.name} = ${c};`, `}`];
      }
      lines.push(`${v.name} ${s.op} ${pr.print(s.e)};`);
      if (v.kind !== 'num' && v.active) {
        const sh = pr.shadowName(v);
        const e = s.e;
        if (e.k === 'newarr' && e.how === 'typed') lines.push(`${sh} = new Float64Array(${v.name}.length);`);
        else if (e.k === 'newarr' || e.k === 'arrlit') lines.push(`${sh} = new Array(${v.name}.length).fill(0);`);
        else if (isActive(e)) lines.push(`${sh} = ${pr.shadow(e)};`);
        else lines.push(`${sh} = new Array(${v.name}.length).fill(0);`);
      }
      return lines;
    }
    case 'destr': {
      const src = `${env.tmp}d`;
      return [...save, `{`, `  const ${src} = ${pr.print(s.e)};`, ...s.vars.map(([v, key]) => `  ${v.name} = ${src}.${key};`), `}`];
    }
    case 'elem': {
      const target = `${s.v.name}[${pr.print(s.index)}]`;
      return [`${S}.F[${S}.fp++] = ${target};`, `${target} ${s.op} ${pr.print(s.e)};`];
    }
    case 'push': {
      const lines = [`${s.v.name}.push(${pr.print(s.e)});`];
      if (s.v.active) lines.push(`${pr.shadowName(s.v)}.push(0);`);
      return lines;
    }
    case 'effect':
      return [`${pr.print(s.e)};`];
    case 'return':
      return [`return ${pr.print(s.e)};`];
  }
}

/** A compiled call anywhere but the whole right-hand side of `v = g(...)` would run its forward without its reverse. */
export function assertNoNestedCall(e: Expr, top = true): void {
  if (e.k === 'call' && !top) throw new Error('dualtape internal: a compiled call inside an expression');
  const kids = e.k === 'call' ? e.args : childrenOf(e);
  for (const c of kids) assertNoNestedCall(c, false);
}

/** `x_b += a * p` for one leaf. */
function accumulate(env: Env, leaf: Expr, adj: string, partial: string | number): string {
  const pr = env.pr;
  const target = leaf.k === 'var' && leaf.v.kind === 'num' ? pr.shadowName(leaf.v) : pr.shadow(leaf);
  if (partial === 0) return '';
  if (partial === 1) return `${target} += ${adj};`;
  if (partial === -1) return `${target} -= ${adj};`;
  return `${target} += ${adj} * ${typeof partial === 'number' && partial < 0 ? `(${partial})` : partial};`;
}

export interface ReverseInfo {
  lines: string[];
  /** The reverse reads the target's value after the statement (the `z` of a rule). */
  usesZ: boolean;
}

/**
 * Reverse code of the adjoint of `e` with incoming adjoint `adj`, `z` the code of its value if known.
 * Returns the lines, plus whether a zero guard is needed.
 */
function leafAdjoints(env: Env, e: Expr, adj: string, z: string | undefined, sign: 1 | -1 = 1): string[] {
  if (!isActive(e)) return [];
  const r = adjointOf(env.t, env.pr, e, z, `${env.tmp}v`);
  const body = [...r.temps];
  for (const [leaf, p] of r.terms) {
    const partial = sign === 1 ? p : typeof p === 'number' ? -p : `-${p}`;
    const line = accumulate(env, leaf, adj, partial);
    if (line) body.push(line);
  }
  if (body.length === 0) return [];
  return r.singular ? [`if (${adj} !== 0) {`, ...body.map((l) => `  ${l}`), `}`] : body;
}

/**
 * Reverse code of a simple statement. `pushed`: the variables whose old values
 * the forward code saved (restored here); `exit`: for a return, the variables
 * saved at the exit (restored first).
 */
export function reverseSimple(env: Env, s: SimpleStmt, pushed: readonly Var[], exit: readonly Var[] = []): ReverseInfo {
  const pr = env.pr;
  const S = env.S;
  const a = `${env.tmp}a`;
  const restore = [...pushed].reverse().flatMap((v) => popVar(env, v));
  switch (s.k) {
    case 'set': {
      const v = s.v;
      if (v.kind !== 'num') {
        // Arrays: an array literal's elements get the adjoints of its slots.
        const lines: string[] = [];
        let usesZ = false;
        if (s.e.k === 'arrlit' && v.active && s.e.elems.some(isActive)) {
          usesZ = true;
          const z = `${env.tmp}z`;
          lines.push(`const ${z} = ${pr.shadowName(v)};`);
          lines.push(...restore);
          s.e.elems.forEach((el, i) => lines.push(...leafAdjoints(env, el, `${z}[${i}]`, undefined)));
          return { lines, usesZ };
        }
        return { lines: restore, usesZ: false };
      }
      if (s.e.k === 'call') return reverseCall(env, s.v, s.e, restore);
      if (!v.active) return { lines: restore, usesZ: false };
      if (!isActive(s.e)) return { lines: s.op === '=' ? [`${pr.shadowName(v)} = 0;`, ...restore] : restore, usesZ: false };
      const lines = [`const ${a} = ${pr.shadowName(v)};`];
      if (s.op === '=') lines.push(`${pr.shadowName(v)} = 0;`);
      let z: string | undefined;
      let usesZ = false;
      if (s.op === '=' && isActive(s.e)) {
        // The value just assigned is the rule's z (the result): read it before restoring the old value.
        const probe = adjointOf(env.t, pr.reads ? pr : pr, s.e, '\u0000z', `${env.tmp}v`);
        usesZ = probe.temps.some((l) => l.includes('\u0000z')) || probe.terms.some(([, p]) => String(p).includes('\u0000z'));
        if (usesZ) {
          if (pushed.includes(v)) {
            z = `${env.tmp}z`;
            lines.push(`const ${z} = ${v.name};`);
          } else z = v.name;
        }
      }
      lines.push(...restore);
      const acc = leafAdjoints(env, s.e, a, z, s.op === '-=' ? -1 : 1);
      if (acc.length === 0 && s.op !== '=') return { lines: restore, usesZ: false };
      lines.push(...acc);
      return { lines, usesZ };
    }
    case 'destr':
    case 'effect':
      return { lines: restore, usesZ: false };
    case 'elem': {
      const i = `${env.tmp}i`;
      const lines = [`const ${i} = ${pr.print(s.index)};`];
      const target = `${s.v.name}[${i}]`;
      if (!s.v.active) return { lines: [...lines, `${target} = ${S}.F[--${S}.fp];`], usesZ: false };
      pr.reads?.add(s.v);
      const sh = `${pr.shadowName(s.v)}[${i}]`;
      lines.push(`const ${a} = ${sh};`);
      if (s.op === '=') lines.push(`${sh} = 0;`);
      let z: string | undefined;
      if (s.op === '=') {
        z = `${env.tmp}z`;
        lines.push(`const ${z} = ${target};`);
      }
      lines.push(`${target} = ${S}.F[--${S}.fp];`);
      lines.push(...leafAdjoints(env, s.e, a, z, s.op === '-=' ? -1 : 1));
      return { lines, usesZ: false };
    }
    case 'push': {
      pr.reads?.add(s.v);
      if (!s.v.active) return { lines: [`${s.v.name}.pop();`], usesZ: false };
      const z = `${env.tmp}z`;
      return {
        lines: [`const ${z} = ${s.v.name}.pop();`, `const ${a} = ${pr.shadowName(s.v)}.pop();`, ...leafAdjoints(env, s.e, a, z)],
        usesZ: false,
      };
    }
    case 'return': {
      const lines = [...exit].reverse().flatMap((v) => popVar(env, v));
      lines.push(...leafAdjoints(env, s.e, env.seed, undefined));
      return { lines, usesZ: false };
    }
  }
}

/** `v = g(args)`: the reverse runs g's reverse with v's adjoint, then collects the adjoints of g's number arguments. */
function reverseCall(env: Env, v: Var, e: Extract<Expr, { k: 'call' }>, restore: string[]): ReverseInfo {
  const pr = env.pr;
  const a = `${env.tmp}a`;
  const lines: string[] = [];
  if (v.active) lines.push(`const ${a} = ${pr.shadowName(v)};`, `${pr.shadowName(v)} = 0;`);
  lines.push(...restore);
  const info = env.callee(e.fn);
  lines.push(`${env.revName(e.fn, e.args)}(${forwardCallArgs(env, e)}, ${v.active ? a : '0'});`);
  e.args.forEach((x, k) => {
    if (!isActive(x) || info.params[k] !== 'num') return;
    lines.push(accumulate(env, x, `${env.S}.out[${k}]`, 1));
  });
  return { lines, usesZ: false };
}

/** Forward code of a compiled call: values, then the shadows of array arguments. */
export function forwardCallArgs(env: Env, e: Extract<Expr, { k: 'call' }>): string {
  const pr = env.pr;
  const info = env.callee(e.fn);
  const n = info.params.length;
  const args: string[] = [];
  const shadows: string[] = [];
  for (let k = 0; k < n; k++) {
    const x = e.args[k];
    args.push(x ? pr.print(x) : 'undefined');
    const active = x !== undefined && isActive(x);
    if (active && info.params[k] === 'data') {
      throw new Fallback(`passes a value that carries a derivative to ${e.fn}, whose parameter ${k} the adjoint tier treats as data`, 0);
    }
    shadows.push(active && info.params[k] !== 'num' ? pr.shadow(x) : 'undefined');
  }
  if (e.args.length > n) throw new Fallback(`calls ${e.fn} with more arguments than it declares`, 0);
  return [...args, ...shadows].join(', ');
}

export { kindOfExpr };
