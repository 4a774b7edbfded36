/**
 * Generated forward-mode code: for each function the plugin compiles (named
 * module-level functions and inline functions handed to an entry point), a
 * tangent version in two variants, scalar and chunked (emit.ts), registered
 * with the runtime next to the twin. A function whose body the compiler does
 * not understand (analysis.ts throws Unsupported), or that calls one, gets
 * none and keeps the Dual runtime; nothing else changes.
 */
import type { NodePath } from '@babel/traverse';
import type * as B from '@babel/types';
import type { Binding, Context } from '../context.js';
import { functionOfBinding } from '../context.js';
import { Analysis, Unsupported } from './analysis.js';
import type { Callee } from './analysis.js';
import { Emitter } from './emit.js';
import type { EmitEnv, Mode } from './emit.js';

type Fn = NodePath<B.Function>;

interface Unit {
  fn: Fn;
  /** Named roots: the binding and the twin's name. */
  binding?: Binding;
  twin?: string;
  callee: Callee;
  code?: { scalar: B.FunctionDeclaration; chunk: B.FunctionDeclaration };
  why?: string;
}

export interface TangentPlan {
  /** Inserts the tangent code of named roots next to them (call after the twins exist). */
  insertNamed(): void;
  /** For an inline root: `compiled(fn)` wrapped so that its tangent code is registered. */
  wrapInline(fnNode: object, compiledCall: B.Expression): B.Expression;
  /** Why each function got no tangent code (for diagnostics and tests). */
  readonly skipped: Map<string, string>;
}

/**
 * Compiles tangent code for the named roots (`named`: binding -> twin name)
 * and inline roots, from their original source. Must run before the rewrite
 * changes inline roots in place.
 */
export function planTangents(ctx: Context, named: [Binding, string][], inline: Fn[], runtime = 'dualtape'): TangentPlan {
  const t = ctx.t;
  const taken = new Set<string>();
  ctx.program.traverse({
    Identifier(p) {
      taken.add(p.node.name);
    },
  });
  const fresh = (base: string): string => {
    const numbered = base.startsWith('_');
    if (!numbered && !taken.has(base)) {
      taken.add(base);
      return base;
    }
    for (let i = numbered ? 1 : 2; ; i++) {
      const name = `${base}${i}`;
      if (!taken.has(name)) {
        taken.add(name);
        return name;
      }
    }
  };
  const units: Unit[] = [];
  const byNode = new Map<object, Unit>();
  for (const [binding, twin] of named) {
    const fn = functionOfBinding(binding);
    // Only module-level functions: tangent code of nested ones would sit inside code the rewrite changes.
    if (!fn || !binding.scope.path.isProgram()) continue;
    const name = binding.identifier.name;
    const u: Unit = { fn, binding, twin, callee: { kinds: [], returnsArray: false, written: [], scalar: fresh(`${name}_tangent`), chunk: fresh(`${name}_tangents`), ok: true } };
    units.push(u);
    byNode.set(binding.path.node, u);
  }
  for (const fn of inline) {
    const u: Unit = { fn, callee: { kinds: [], returnsArray: false, written: [], scalar: fresh('_tangent'), chunk: fresh('_tangents'), ok: true } };
    // A function expression's own name is in scope only inside it, not where the tangent code goes.
    const id = fn.isFunctionExpression() ? fn.node.id : null;
    if (id && fn.scope.getBinding(id.name)?.referenced) {
      u.callee.ok = false;
      u.why = `refers to its own name ${id.name}`;
    }
    units.push(u);
  }
  const calleeOf = (callee: NodePath): Callee | undefined => {
    if (!callee.isIdentifier()) return undefined;
    const b = callee.scope.getBinding(callee.node.name);
    const u = b && byNode.get(b.path.node);
    return u?.callee.ok ? u.callee : undefined;
  };
  // Kinds first (a caller needs its callees' parameter kinds), twice for calls between them.
  const analyses = new Map<Unit, Analysis>();
  const signature = () => units.map((u) => `${u.callee.ok}${u.callee.kinds.join('')}${u.callee.written.join()}${u.callee.returnsArray}`).join('|');
  for (let round = 0, before = ''; round < 8; round++) {
    const now = signature();
    if (now === before) break;
    before = now;
    for (const u of units) {
      if (!u.callee.ok) continue;
      try {
        const an = new Analysis(t, u.fn, calleeOf, runtime);
        analyses.set(u, an);
        u.callee.kinds = an.params.map((b) => an.kindOf(b));
        u.callee.written = an.params.map((b) => an.written.has(b));
        u.callee.returnsArray = returnsArray(u.fn, an);
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        u.callee.ok = false;
        u.why = e.message;
      }
    }
  }
  const env = (mode: Mode): EmitEnv => ({
    t,
    mode,
    helper: ctx.helper,
    fresh,
    calleeOf,
    keyOf: (node) => leafKey(t, node),
  });
  // Emit; a function whose callee failed fails too (until nothing changes).
  let changed = true;
  while (changed) {
    changed = false;
    for (const u of units) {
      if (!u.callee.ok) continue;
      const an = analyses.get(u)!;
      try {
        u.code = {
          scalar: new Emitter(env('scalar'), an).emitFunction(u.callee.scalar),
          chunk: new Emitter(env('chunk'), an).emitFunction(u.callee.chunk),
        };
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        u.callee.ok = false;
        u.why = e.message;
        u.code = undefined;
        changed = true;
      }
    }
  }
  const skipped = new Map<string, string>();
  for (const u of units) if (!u.callee.ok) skipped.set(u.binding?.identifier.name ?? '(inline)', u.why ?? '');
  // DUALTAPE_TANGENT_DEBUG=1: say at build time which functions keep the Dual runtime, and why.
  if (typeof process !== 'undefined' && process.env?.DUALTAPE_TANGENT_DEBUG) {
    const file = (ctx.program.hub as { file?: { opts?: { filename?: string } } } | undefined)?.file?.opts?.filename ?? '';
    for (const [name, why] of skipped) console.error(`dualtape: no tangent code for ${name} in ${file}: ${why}`);
  }

  const registration = (target: B.Expression, u: Unit, scalar: B.Expression, chunk: B.Expression): B.Expression =>
    t.callExpression(ctx.helper('registerTangent'), [
      target, scalar, chunk,
      t.stringLiteral(u.callee.kinds.join('')),
      t.stringLiteral(u.callee.written.map((w) => (w ? '1' : '0')).join('')),
    ]);

  return {
    skipped,
    insertNamed() {
      for (const u of units) {
        if (!u.callee.ok || !u.code || !u.binding || !u.twin) continue;
        const stmt = statementOf(u.fn);
        const reg = t.expressionStatement(registration(t.identifier(u.twin), u, t.identifier(u.callee.scalar), t.identifier(u.callee.chunk)));
        markDone(ctx, [u.code.scalar, u.code.chunk, reg]);
        if (u.fn.isFunctionDeclaration()) {
          // Declarations are hoisted (the twin too): register at the top, as the twin is.
          stmt.insertAfter([u.code.scalar, u.code.chunk]);
          const block = stmt.parentPath!;
          const body = block.get('body') as NodePath[];
          const first = body.find((p) => !p.isImportDeclaration());
          if (first) first.insertBefore(reg);
          else (block as NodePath<B.Program>).pushContainer('body', reg);
        } else {
          // `const f_d = ...; register(f, f_d);` (the twin, made by targets.ts), then ours.
          const twinDecl = ctx.program.scope.getBinding(u.twin)?.path.getStatementParent();
          let after = twinDecl ?? stmt;
          const next = after.getNextSibling();
          if (next.node && t.isExpressionStatement(next.node) && t.isCallExpression(next.node.expression) &&
              next.node.expression.arguments.some((a) => t.isIdentifier(a, { name: u.twin }))) after = next;
          after.insertAfter([u.code.scalar, u.code.chunk, reg]);
        }
      }
    },
    wrapInline(fnNode, compiledCall) {
      const u = units.find((x) => !x.binding && x.fn.node === fnNode);
      if (!u || !u.callee.ok || !u.code) return compiledCall;
      const asExpr = (d: B.FunctionDeclaration) => t.functionExpression(d.id, d.params, d.body);
      const out = registration(compiledCall, u, asExpr(u.code.scalar), asExpr(u.code.chunk));
      markDone(ctx, [out]);
      ctx.done.add(out);
      return out;
    },
  };
}

function returnsArray(fn: Fn, an: Analysis): boolean {
  let arr = false;
  fn.traverse({
    ReturnStatement(p) {
      const arg = p.get('argument');
      if (arg.node && an.isArrayExpr(arg as NodePath)) arr = true;
    },
  });
  return arr;
}

function statementOf(path: NodePath): NodePath {
  const stmt = path.getStatementParent()!;
  return stmt.parentPath?.isExportDeclaration() ? stmt.parentPath : stmt;
}

/** Everything we built is final: the rewrite must not touch it. */
function markDone(ctx: Context, nodes: B.Node[]): void {
  const seen = new Set<object>();
  const visit = (n: unknown) => {
    if (!n || typeof n !== 'object' || seen.has(n)) return;
    seen.add(n);
    if (typeof (n as B.Node).type === 'string') ctx.done.add(n);
    for (const [k, v] of Object.entries(n)) {
      if (k === 'loc' || k.endsWith('Comments')) continue;
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === 'object') visit(v);
    }
  };
  nodes.forEach(visit);
}

/** A key for leaves that read the same value (`x`, `a[i + 1]`), or undefined. */
function leafKey(t: typeof import('@babel/core').types, node: B.Node): string | undefined {
  if (t.isIdentifier(node)) return node.name;
  if (t.isNumericLiteral(node)) return String(node.value);
  if (t.isMemberExpression(node) && node.computed && t.isIdentifier(node.object)) {
    const p = leafKey(t, node.property);
    return p === undefined ? undefined : `${node.object.name}[${p}]`;
  }
  if (t.isBinaryExpression(node) && !t.isPrivateName(node.left)) {
    const l = leafKey(t, node.left);
    const r = leafKey(t, node.right);
    return l === undefined || r === undefined ? undefined : `(${l}${node.operator}${r})`;
  }
  return undefined;
}
