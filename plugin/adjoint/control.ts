/**
 * Loops, branches and returns, and the decision of what to save.
 *
 * - `if`: the forward code pushes the taken branch's id on the int stack at
 *   the end of the branch; the reverse pops it and runs that branch's
 *   reverse. When both branches' reverses are the same code, no id.
 * - loops run as written and push their trip count; the reverse runs the
 *   reversed body that many times. A counted loop (`for (let i = a; ...; i++)`
 *   with i untouched by the body) rebuilds i in the reverse instead of saving it.
 * - returns end a branch (analysis.ts moved every return there); the forward
 *   code saves the variables the reverse still needs, then the ids of the
 *   branches it is in, then returns; the reverse starts at that branch.
 *
 * What to save is a forward data-flow pass: a variable is *wanted* from the
 * moment a reverse reads it until it is next assigned; an assignment to a
 * wanted variable saves the old value (and its reverse restores it). At an
 * exit, every wanted variable is saved. Everything else is recomputed from
 * values the reverse sweep has restored, or read from never-written arrays.
 */
import { Fallback, children, varsIn } from './model.js';
import type { Expr, Stmt, Var } from './model.js';
import { assertNoNestedCall, forwardSimple, reverseSimple } from './statements.js';
import type { Env, SimpleStmt } from './statements.js';

type Loop = Extract<Stmt, { k: 'loop' }>;
type If = Extract<Stmt, { k: 'if' }>;

export class Body {
  /** Variables whose old value each simple statement saves. */
  private readonly pushes = new Map<Stmt, Var[]>();
  /** Variables saved at each return. */
  private readonly exits = new Map<Stmt, Var[]>();
  /** Reverse reads of each simple statement: before it (operands) and after it (its result). */
  private readonly reads = new Map<Stmt, { pre: Set<Var>; post: Set<Var>; defs: Var[] }>();
  /** Loop bookkeeping temporaries. */
  readonly temps: string[] = [];
  private tempN = 0;

  constructor(
    private readonly env: Env,
    private readonly indexVars: Set<Var>,
    /** Per loop: the declarations its reverse iterations recompute (emit.ts, findRecomputed). */
    private readonly recomputed: Map<Stmt, Stmt[]> = new Map(),
    /** May branch tests be evaluated again in the reverse sweep (see findRetests)? */
    private readonly allowRetests = true,
  ) {
    for (const list of recomputed.values()) for (const s of list) if (s.k === 'set') this.rebuilt.add(s.v);
  }

  /** Variables the reverse sweep rebuilds (loop indices, recomputed locals): never saved. */
  private readonly rebuilt = new Set<Var>();

  private isRebuilt(v: Var): boolean {
    return this.indexVars.has(v) || this.rebuilt.has(v);
  }

  private temp(base: string): string {
    const name = `${this.env.tmp}${base}${++this.tempN}`;
    this.temps.push(name);
    return name;
  }

  // ---- analysis -------------------------------------------------------------

  analyze(body: Stmt[]): void {
    if (this.allowRetests) this.findRetests(body);
    this.collect(body);
    this.flow(body, new Set());
  }

  /**
   * Branches whose test the reverse sweep evaluates again instead of saving
   * the branch taken: a pure test (no call) on variables neither branch
   * assigns and no array the function writes, in an `if` without a return.
   * Saves a push and a pop per execution. Value: the variables the test reads.
   */
  private readonly retests = new Map<Stmt, Set<Var>>();

  private findRetests(list: Stmt[]): void {
    for (const s of list) {
      if (s.k === 'loop') {
        this.findRetests(s.init);
        this.findRetests(s.body);
      }
      if (s.k !== 'if') continue;
      this.findRetests(s.then);
      this.findRetests(s.else);
      if (endsInReturn(s.then) || endsInReturn(s.else) || containsReturn(s.then) || containsReturn(s.else)) continue;
      let pure = true;
      const reads = new Set<Var>();
      const visit = (e: Expr): void => {
        if (e.k === 'call' || e.k === 'opaque' || e.k === 'newarr' || e.k === 'arrlit') pure = false;
        if (e.k === 'var') {
          reads.add(e.v);
          if (e.v.owned || e.v.changes) pure = false;
        }
        for (const c of children(e)) visit(c);
      };
      visit(s.test);
      const assigned = new Set<Var>();
      collectDefs([...s.then, ...s.else], assigned);
      if (pure && ![...reads].some((v) => assigned.has(v))) this.retests.set(s, reads);
    }
  }

  private collect(list: Stmt[]): void {
    for (const s of list) {
      if (s.k === 'if') {
        this.collect(s.then);
        this.collect(s.else);
      } else if (s.k === 'loop') {
        this.collect(s.init);
        this.collect(s.body);
        this.collect(s.update);
      } else {
        const pr = this.env.pr;
        const pre = new Set<Var>();
        pr.reads = pre;
        let usesZ = false;
        try {
          usesZ = reverseSimple(this.env, s, []).usesZ;
        } finally {
          pr.reads = null;
        }
        if ('e' in s) assertNoNestedCall(s.e, s.k === 'set' && s.op === '=');
        if (s.k === 'elem') assertNoNestedCall(s.index, false);
        const defs = s.k === 'set' ? [s.v] : s.k === 'destr' ? s.vars.map(([v]) => v) : [];
        // A recomputed local's right-hand side is evaluated again in the reverse sweep.
        if (s.k === 'set' && this.rebuilt.has(s.v)) for (const v of varsIn(s.e)) pre.add(v);
        const post = new Set<Var>(usesZ && s.k === 'set' ? [s.v] : []);
        this.reads.set(s, { pre, post, defs });
      }
    }
  }

  /** The wanted set after `list`, from the one before it. */
  private flow(list: Stmt[], wanted: Set<Var>): Set<Var> {
    for (const s of list) {
      if (s.k === 'if') {
        const a = this.flow(s.then, new Set(wanted));
        const b = this.flow(s.else, new Set(wanted));
        wanted = new Set([...a, ...b]);
        // A test evaluated again in the reverse sweep reads its variables there (as they are after the branch).
        for (const v of this.retests.get(s) ?? []) wanted.add(v);
      } else if (s.k === 'loop') {
        wanted = this.flow(s.init, wanted);
        let head = wanted;
        for (;;) {
          const end = this.flow([...s.body, ...s.update], new Set(head));
          const next = new Set([...head, ...end]);
          if (next.size === head.size) break;
          head = next;
        }
        wanted = head;
      } else if (s.k === 'return') {
        const r = this.reads.get(s)!;
        for (const v of r.pre) wanted.add(v);
        const saved = [...wanted].filter((v) => !this.isRebuilt(v) && !(v.param >= 0 && !v.reassigned));
        this.exits.set(s, saved);
      } else {
        const r = this.reads.get(s)!;
        for (const v of r.pre) wanted.add(v);
        for (const d of r.defs) {
          if (wanted.has(d) && !this.isRebuilt(d)) {
            const list2 = this.pushes.get(s) ?? [];
            if (!list2.includes(d)) list2.push(d);
            this.pushes.set(s, list2);
          }
          wanted.delete(d);
        }
        for (const v of r.post) wanted.add(v);
      }
    }
    return wanted;
  }

  // ---- code -----------------------------------------------------------------

  /** Saves per iteration (numbers, ints), for the capacity check at the top of a loop body or function. */
  private count(list: Stmt[]): [number, number] {
    let f = 0;
    let i = 0;
    for (const s of list) {
      if (s.k === 'if') {
        const [a, b] = this.count(s.then);
        const [c, d] = this.count(s.else);
        f += a + c;
        i += b + d + 1;
      } else if (s.k === 'loop') {
        const [a, b] = this.count(s.init);
        f += a + 1;
        i += b + 1;
      } else if (s.k === 'elem') f += 1;
      else if (s.k === 'return') f += (this.exits.get(s) ?? []).filter((v) => v.kind === 'num').length;
      else f += (this.pushes.get(s) ?? []).filter((v) => v.kind === 'num').length;
    }
    return [f, i];
  }

  /** The capacity the enclosing block reserved: re-checked after each call (the callee's pushes use it up). */
  private readonly blocks: [number, number][] = [];

  /** A block's forward code, with its capacity check (function body, loop body). */
  forwardBlock(list: Stmt[], withReserve = true): string[] {
    const counts = this.count(list);
    this.blocks.push(counts);
    try {
      return [...(withReserve ? this.reserveFor(counts) : []), ...this.forward(list)];
    } finally {
      this.blocks.pop();
    }
  }

  reserve(list: Stmt[]): string[] {
    return this.reserveFor(this.count(list));
  }

  private reserveFor([f, i]: [number, number]): string[] {
    const S = this.env.S;
    const tests: string[] = [];
    if (f > 0) tests.push(`${S}.fp + ${f} > ${S}.F.length`);
    if (i > 0) tests.push(`${S}.ip + ${i} > ${S}.I.length`);
    return tests.length === 0 ? [] : [`if (${tests.join(' || ')}) ${this.env.pr.helper('reserve')}(${f}, ${i});`];
  }

  /** Forward code. `ids`: branch ids to push at a return (innermost first). */
  forward(list: Stmt[], ids: string[] = []): string[] {
    const out: string[] = [];
    const S = this.env.S;
    const pr = this.env.pr;
    for (const s of list) {
      if (s.k === 'if') {
        const same = this.sameReverse(s) || this.retests.has(s);
        const push = (id: number) => `${S}.I[${S}.ip++] = ${id};`;
        const branch = (b: Stmt[], id: number): string[] => {
          const returns = endsInReturn(b);
          const code = this.forward(b, same ? ids : [push(id), ...ids]);
          if (!same && !returns) code.push(push(id));
          return code;
        };
        const other = branch(s.else, 0);
        out.push(`if (${pr.print(s.test)}) {`, ...indent(branch(s.then, 1)));
        if (other.length > 0) out.push(`} else {`, ...indent(other));
        out.push(`}`);
      } else if (s.k === 'loop') {
        out.push(...this.forwardLoop(s));
      } else if (s.k === 'return') {
        const saved = this.exits.get(s) ?? [];
        if (saved.length === 0 && ids.length === 0) {
          out.push(...forwardSimple(this.env, s, []));
        } else {
          const r = `${this.env.tmp}r`;
          out.push(`{`, `  const ${r} = ${pr.print(s.e)};`);
          out.push(...indent([...saved.flatMap((v) => savePush(this.env, v)), ...ids, `return ${r};`]), `}`);
        }
      } else {
        out.push(...forwardSimple(this.env, s as SimpleStmt, this.pushes.get(s) ?? []));
        const top = this.blocks[this.blocks.length - 1];
        if (s.k === 'set' && s.e.k === 'call' && top) out.push(...this.reserveFor(top));
      }
    }
    return out;
  }

  private forwardLoop(s: Loop): string[] {
    const env = this.env;
    const S = env.S;
    const pr = env.pr;
    const out: string[] = [];
    const rev = [...this.reverse(s.body), ...this.reverse(s.update)];
    const needed = rev.some((l) => !l.trimStart().startsWith('//'));
    if (s.index) {
      const body = this.forwardBlock(s.body, needed);
      const { v, start } = s.index;
      const init = this.forward(s.init);
      const literal = start.k === 'num';
      out.push(...init);
      let from = pr.print(start);
      if (!literal && needed) {
        const t0 = this.temp('i0_');
        out.push(`${t0} = ${v.name};`, `${S}.F[${S}.fp++] = ${t0};`);
        from = t0;
      }
      const upd = s.index.step === 1 ? `${v.name}++` : `${v.name}--`;
      out.push(`for (; ${s.test ? pr.print(s.test) : ''}; ${upd}) {`, ...indent(body), `}`);
      if (needed) out.push(`${S}.I[${S}.ip++] = ${s.index.step === 1 ? (from === '0' ? v.name : `${v.name} - ${from}`) : `${from} - ${v.name}`};`);
      return out;
    }
    const body = this.forwardBlock([...s.body, ...s.update], needed);
    out.push(...this.forward(s.init));
    if (!needed) {
      out.push(`while (${s.test ? pr.print(s.test) : 'true'}) {`, ...indent(body), `}`);
      return out;
    }
    const n = this.temp('n');
    out.push(`${n} = 0;`, `while (${s.test ? pr.print(s.test) : 'true'}) {`, ...indent([...body, `${n}++;`]), `}`, `${S}.I[${S}.ip++] = ${n};`);
    return out;
  }

  private sameReverse(s: If): boolean {
    if (endsInReturn(s.then) || endsInReturn(s.else)) return false;
    const a = this.reverse(s.then).filter((l) => !l.trimStart().startsWith('//')).join('\n');
    const b = this.reverse(s.else).filter((l) => !l.trimStart().startsWith('//')).join('\n');
    return a === b;
  }

  /** Reverse code of a statement list: the statements mirrored bottom-up. */
  reverse(list: Stmt[]): string[] {
    const out: string[] = [];
    const S = this.env.S;
    for (let k = list.length - 1; k >= 0; k--) {
      const s = list[k]!;
      let code: string[];
      if (s.k === 'if') {
        const a = this.reverse(s.then);
        const b = this.reverse(s.else);
        if (this.sameReverse(s)) code = a;
        else if (this.retests.has(s)) code = [`if (${this.env.pr.print(s.test)}) {`, ...indent(a), `} else {`, ...indent(b), `}`];
        else code = [`if (${S}.I[--${S}.ip] === 1) {`, ...indent(a), `} else {`, ...indent(b), `}`];
      } else if (s.k === 'loop') {
        code = this.reverseLoop(s);
      } else {
        code = reverseSimple(this.env, s as SimpleStmt, this.pushes.get(s) ?? [], this.exits.get(s) ?? []).lines;
        // Each statement's temporaries live in their own block.
        if (code.some((l) => l.startsWith('const '))) code = [`{`, ...indent(code), `}`];
      }
      if (code.some((l) => !l.trimStart().startsWith('//'))) out.push(`// line ${s.line}`, ...code);
    }
    return out;
  }

  private reverseLoop(s: Loop): string[] {
    const S = this.env.S;
    const pr = this.env.pr;
    const body = [...this.reverse(s.update), ...this.reverse(s.body)];
    const init = this.reverse(s.init);
    if (!body.some((l) => !l.trimStart().startsWith('//'))) return init;
    const again = this.recomputed.get(s) ?? [];
    if (again.length > 0) {
      const lines = again.flatMap((d) => {
        const { v, e } = d as { v: Var; e: Expr };
        const out = [`${v.name} = ${pr.print(e)};`];
        // An alias of an active array (`const row = W[j]`) brings its shadow along.
        if (v.kind !== 'num' && v.active) out.push(`${pr.shadowName(v)} = ${pr.shadow(e)};`);
        return out;
      });
      body.unshift(`// recomputed, not saved`, ...lines);
    }
    const n = `${this.env.tmp}n`;
    if (s.index) {
      const v = s.index.v.name;
      const literal = s.index.start.k === 'num';
      const from = literal ? pr.print(s.index.start) : `${this.env.tmp}i0`;
      const lines = [`const ${n} = ${S}.I[--${S}.ip];`];
      if (!literal) lines.push(`const ${from} = ${S}.F[--${S}.fp];`);
      const head = s.index.step === 1
        ? `for (${v} = ${from === '0' ? '' : `${from} + `}${n} - 1; ${v} >= ${from}; ${v}--) {`
        : `for (${v} = ${from} - ${n} + 1; ${v} <= ${from}; ${v}++) {`;
      return [`{`, ...indent([...lines, head, ...indent(body), `}`]), `}`, ...init];
    }
    return [`for (let ${n} = ${S}.I[--${S}.ip]; ${n} > 0; ${n}--) {`, ...indent(body), `}`, ...init];
  }
}

function savePush(env: Env, v: Var): string[] {
  const S = env.S;
  if (v.kind === 'num') return [`${S}.F[${S}.fp++] = ${v.name};`];
  const out = [`${S}.O[${S}.op++] = ${v.name};`];
  if (v.active) out.push(`${S}.O[${S}.op++] = ${env.pr.shadowName(v)};`);
  return out;
}

function containsReturn(list: Stmt[]): boolean {
  return list.some((s) => s.k === 'return' || (s.k === 'if' && (containsReturn(s.then) || containsReturn(s.else))));
}

/** Variables assigned anywhere in `list`. */
function collectDefs(list: Stmt[], out: Set<Var>): void {
  for (const s of list) {
    if (s.k === 'set') out.add(s.v);
    if (s.k === 'destr') for (const [v] of s.vars) out.add(v);
    if (s.k === 'if') {
      collectDefs(s.then, out);
      collectDefs(s.else, out);
    }
    if (s.k === 'loop') {
      collectDefs(s.init, out);
      collectDefs(s.body, out);
      collectDefs(s.update, out);
    }
  }
}

export function endsInReturn(list: Stmt[]): boolean {
  const last = list[list.length - 1];
  return last !== undefined && (last.k === 'return' || (last.k === 'if' && endsInReturn(last.then) && endsInReturn(last.else)));
}

export function indent(lines: string[]): string[] {
  return lines.map((l) => `  ${l}`);
}

export { Fallback };
export type { Expr };
