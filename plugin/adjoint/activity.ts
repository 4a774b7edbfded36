/**
 * Activity, per variant: which variables carry a derivative when the
 * parameters in the variant's mask do, and what only activity can rule out
 * (a value that carries a derivative reaching code the tier cannot see
 * through). Values only used as indices, lengths, loop bounds or in
 * comparisons never become active.
 */
import { Fallback, children, isActive } from './model.js';
import type { Expr, Stmt, Var } from './model.js';
import type { Lowered } from './analysis.js';

// ---------------------------------------------------------------------------
// Activity
// ---------------------------------------------------------------------------

/**
 * Marks the variables that carry a derivative when the parameters in `mask`
 * do: a fixed point over every assignment (a variable is active when some
 * value assigned to it is; arrays that alias each other share activity).
 */
export function markActivity(low: Lowered, mask: number): void {
  for (const v of low.params) v.active = ((mask >> v.param) & 1) === 1 && v.kind !== 'data';
  for (const v of low.locals) v.active = false;
  let changed = true;
  const mark = (v: Var): void => {
    if (!v.active && v.kind !== 'data') {
      v.active = true;
      changed = true;
    }
  };
  const walk = (list: Stmt[]): void => {
    for (const s of list) {
      if (s.k === 'set') {
        if (isActive(s.e)) mark(s.v);
        // Aliases: `h = next` makes both sides share a shadow.
        if (s.e.k === 'var' && s.v.kind !== 'num' && s.v.active) mark(s.e.v);
        if (s.e.k === 'idx' && s.v.kind !== 'num' && s.v.active) markRoot(s.e, mark);
      } else if (s.k === 'elem' || s.k === 'push') {
        if (isActive(s.e)) mark(s.v);
      } else if (s.k === 'if') {
        walk(s.then);
        walk(s.else);
      } else if (s.k === 'loop') {
        walk(s.init);
        walk(s.body);
        walk(s.update);
      }
    }
  };
  while (changed) {
    changed = false;
    walk(low.body);
  }
}

/**
 * What only activity can tell (so per variant): a value that carries a
 * derivative must not reach code the tier cannot see through.
 */
export function checkVariant(low: Lowered): void {
  const expr = (e: Expr, line: number): void => {
    if (e.k === 'opaque' && children(e).some(isActive)) {
      throw new Fallback(`passes a value that carries a derivative to \`${e.code.slice(0, 40)}\`, which the adjoint tier does not compile`, line);
    }
    if (e.k === 'logic' && (isActive(e.l) || isActive(e.r))) throw new Fallback(`\`${e.op}\` on a value that carries a derivative runs on the tape`, line);
    if (e.k === 'prop' && e.name !== 'length' && isActive(e.obj)) throw new Fallback(`reads .${e.name} of an array that carries derivatives`, line);
    for (const c of children(e)) expr(c, line);
  };
  const walk = (list: Stmt[]): void => {
    for (const s of list) {
      switch (s.k) {
        case 'set': case 'destr': case 'push': case 'return': expr(s.e, s.line); break;
        case 'elem': expr(s.index, s.line); expr(s.e, s.line); break;
        case 'if': expr(s.test, s.line); walk(s.then); walk(s.else); break;
        case 'loop': if (s.test) expr(s.test, s.line); walk(s.init); walk(s.body); walk(s.update); break;
        case 'effect': expr(s.e, s.line); break;
      }
    }
  };
  walk(low.body);
}

function markRoot(e: Expr, mark: (v: Var) => void): void {
  if (e.k === 'var') mark(e.v);
  else if (e.k === 'idx') markRoot(e.obj, mark);
}

