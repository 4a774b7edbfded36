/**
 * The adjoint tier's entry in the plugin: for each named module-level
 * function the plugin twins, try to compile forward/reverse adjoint code
 * (analysis.ts → control.ts/statements.ts/expressions.ts → emit.ts), emit it
 * at the end of the module and register it with the runtime next to the
 * twin; otherwise register the reason the tape tier runs it.
 *
 * Variants: one per set of active parameters that is asked for: all of them
 * that can carry a derivative (what `grad(f)` needs), plus whatever calls
 * between compiled functions need, found on demand.
 */
import { parse } from '@babel/parser';
import type { NodePath } from '@babel/traverse';
import type * as BabelTypes from '@babel/types';
import { functionOfBinding } from '../context.js';
import type { Binding, Context } from '../context.js';
import { Lowering } from './analysis.js';
import { emitVariant } from './emit.js';
import type { FunctionUnit, Naming } from './emit.js';
import { Fallback } from './model.js';
import type { CalleeInfo } from './statements.js';

export interface AdjointOptions {
  /** Print per function which tier runs it (also DUALTAPE_REPORT=1). */
  report?: boolean;
  filename?: string;
}

interface Candidate {
  binding?: Binding;
  /** An inline function handed to an entry point: its adjoint code goes next to it, not at the module level. */
  inline?: boolean;
  name: string;
  fn: NodePath<BabelTypes.Function>;
  twin: string;
  unit?: FunctionUnit;
  reason?: string;
  masks: Set<number>;
}

/** For an inline function: wraps its compiled expression with its registration. */
export type InlineWrap = (compiledFn: BabelTypes.Expression) => BabelTypes.Expression;

export function emitAdjoints(
  ctx: Context,
  named: Iterable<Binding>,
  inline: readonly NodePath<BabelTypes.Function>[],
  options: AdjointOptions,
): Map<object, InlineWrap> {
  const t = ctx.t;
  const program = ctx.program;
  const taken = new Set<string>();
  program.traverse({
    Identifier(p) {
      taken.add(p.node.name);
    },
  });
  const cands = new Map<string, Candidate>();
  // Keyed by the declaration node: Binding objects do not survive a scope crawl.
  const byBinding = new Map<object, Candidate>();
  const all: Candidate[] = [];
  for (const b of named) {
    const fn = functionOfBinding(b);
    const twin = ctx.twinOf(b);
    if (!fn || !twin) continue;
    // Only module-level functions: the generated code lives at the module level.
    if (!b.scope.path.isProgram()) continue;
    const c: Candidate = { binding: b, name: b.identifier.name, fn, twin: twin.name, masks: new Set() };
    all.push(c);
    cands.set(c.name, c);
    byBinding.set(b.path.node, c);
  }
  for (const fn of inline) {
    let name = `lambda${fn.node.loc?.start.line ?? ''}`;
    for (let k = 2; cands.has(name) || taken.has(name); k++) name = `lambda${fn.node.loc?.start.line ?? ''}_${k}`;
    const c: Candidate = { name, fn, twin: '', inline: true, masks: new Set() };
    all.push(c);
    cands.set(name, c);
  }
  const compilable = (b: Binding): string | undefined => {
    const c = byBinding.get(b.path.node);
    return c && c.reason === undefined ? c.name : undefined;
  };
  // Lower every function until no more fall back: a call of a function that fell back is an ordinary
  // (opaque) call, fine with plain arguments, refused per variant with an argument that carries a derivative.
  const lowerAll = (): void => {
    for (let again = true; again; ) {
      again = false;
      for (const c of cands.values()) {
        if (c.reason !== undefined) continue;
        try {
          const low = new Lowering(t, c.fn, compilable, taken).lower();
          c.unit = { name: c.name, low, taken, shadows: new Map() };
        } catch (e) {
          c.reason = reasonOf(e);
          c.unit = undefined;
          again = true;
        }
      }
    }
  };
  let code = '';
  const inlineCode = new Map<Candidate, string[]>();
  let settled = false;
  for (let round = 0; round < 50 && !settled; round++) {
    lowerAll();
    const ok = [...cands.values()].filter((c) => c.reason === undefined && c.unit);
    const done = new Map<string, Set<number>>();
    const work: [Candidate, number][] = [];
    const need = (fn: string, mask: number): void => {
      const c = cands.get(fn)!;
      const seen = done.get(fn) ?? new Set<number>();
      done.set(fn, seen);
      if (!seen.has(mask)) {
        seen.add(mask);
        work.push([c, mask]);
      }
    };
    const full = (c: Candidate): number => c.unit!.low.params.reduce((m, v) => (v.kind !== 'data' ? m | (1 << v.param) : m), 0);
    const naming: Naming = {
      fwd: (fn, mask) => `${fn}$fwd${mask === full(cands.get(fn)!) ? '' : `_${mask}`}`,
      rev: (fn, mask) => `${fn}$rev${mask === full(cands.get(fn)!) ? '' : `_${mask}`}`,
      callee: (fn): CalleeInfo => ({ params: cands.get(fn)!.unit!.low.params.map((v) => v.kind) }),
      helper: (name) => ctx.helper(name).name,
      need,
    };
    for (const c of ok) need(c.name, full(c));
    const parts: string[] = [];
    inlineCode.clear();
    let failed = false;
    while (work.length > 0) {
      const [c, mask] = work.shift()!;
      try {
        const text = emitVariant(t, c.unit!, mask, naming);
        if (c.inline) inlineCode.set(c, [...(inlineCode.get(c) ?? []), text]);
        else parts.push(text);
      } catch (e) {
        c.reason = e instanceof Fallback && !e.line ? `${e.reason} (line ${c.fn.node.loc?.start.line ?? 0})` : reasonOf(e);
        failed = true;
        break;
      }
    }
    if (failed) continue;
    for (const [fn, masks] of done) cands.get(fn)!.masks = masks;
    code = parts.join('\n');
    settled = true;
  }
  if (!settled) for (const c of cands.values()) c.reason ??= 'the adjoint compiler did not settle; please report this';

  // Emit: the functions at the end, registrations next to the twins.
  if (code) {
    const stmts = parse(code, { sourceType: 'module' }).program.body;
    program.pushContainer('body', stmts);
  }
  const body = program.get('body');
  const firstNonImport = body.find((p) => !p.isImportDeclaration());
  const report = options.report || (typeof process !== 'undefined' && process.env.DUALTAPE_REPORT === '1');
  const cwd = typeof process !== 'undefined' && typeof process.cwd === 'function' ? `${process.cwd()}/` : '';
  const file = options.filename && cwd && options.filename.startsWith(cwd) ? options.filename.slice(cwd.length) : options.filename ?? 'module';
  const wraps = new Map<object, InlineWrap>();
  const variantsOf = (c: Candidate, local: boolean): BabelTypes.ArrayExpression =>
    t.arrayExpression([...c.masks].sort((a, b) => a - b).map((m) =>
      t.objectExpression([
        t.objectProperty(t.identifier('mask'), t.numericLiteral(m)),
        t.objectProperty(t.identifier('fwd'), t.identifier(`${c.name}$fwd${m === fullMask(c) ? '' : `_${m}`}`)),
        t.objectProperty(t.identifier('rev'), t.identifier(`${c.name}$rev${m === fullMask(c) ? '' : `_${m}`}`)),
      ])));
  for (const c of all) {
    if (!c.inline) continue;
    const where = `${file}: inline function (line ${c.fn.node.loc?.start.line ?? 0})`;
    if (c.reason === undefined && c.unit) {
      // registerAdjoint(compiled(fn), name, kinds, (() => { function fwd..., function rev...; return [...] })())
      const decls = parse((inlineCode.get(c) ?? []).join('\n'), { sourceType: 'module' }).program.body;
      const iife = t.callExpression(t.arrowFunctionExpression([], t.blockStatement([...decls, t.returnStatement(variantsOf(c, true))])), []);
      const kinds = t.arrayExpression(c.unit.low.params.map((v) => t.stringLiteral(KIND_NAMES[v.kind])));
      wraps.set(c.fn.node, (e) => t.callExpression(ctx.helper('registerAdjoint'), [e, t.stringLiteral(c.name), kinds, iife]));
      if (report) console.error(`dualtape: ${where}: adjoint`);
    } else {
      const reason = c.reason ?? 'not compiled';
      wraps.set(c.fn.node, (e) => t.callExpression(ctx.helper('registerTape'), [e, t.stringLiteral(reason)]));
      if (report) console.error(`dualtape: ${where}: tape: ${reason}`);
    }
  }
  for (const c of all) {
    if (c.inline) continue;
    let call: BabelTypes.Statement;
    if (c.reason === undefined && c.unit) {
      call = t.expressionStatement(t.callExpression(ctx.helper('registerAdjoint'), [
        t.identifier(c.twin), t.stringLiteral(c.name),
        t.arrayExpression(c.unit.low.params.map((v) => t.stringLiteral(KIND_NAMES[v.kind]))),
        variantsOf(c, false),
      ]));
      if (report) console.error(`dualtape: ${file}: ${c.name}: adjoint`);
    } else {
      call = t.expressionStatement(t.callExpression(ctx.helper('registerTape'), [t.identifier(c.twin), t.stringLiteral(c.reason ?? 'not compiled')]));
      if (report) console.error(`dualtape: ${file}: ${c.name}: tape: ${c.reason}`);
    }
    // A function declaration's twin is hoisted: register at the top; a const's after its declaration.
    const twinBinding = program.scope.getBinding(c.twin);
    const decl = twinBinding?.path;
    if (decl?.isFunctionDeclaration() && firstNonImport) firstNonImport.insertBefore(call);
    else {
      const stmt = decl?.getStatementParent();
      if (stmt) stmt.insertAfter(call);
      else program.pushContainer('body', call);
    }
  }
  return wraps;
}

/**
 * The reason a function stays on the tape. A construct the adjoint compiler
 * does not expect is a fallback too (the tape is the tested path), never a
 * build error; DUALTAPE_REPORT=1 shows it.
 */
function reasonOf(e: unknown): string {
  if (e instanceof Fallback) return e.message;
  return `the adjoint compiler failed (${e instanceof Error ? e.message : String(e)}); please report this`;
}

const KIND_NAMES = { num: 'number', arr: 'array', arr2: 'array2', data: 'data' } as const;

function fullMask(c: Candidate): number {
  return c.unit!.low.params.reduce((m, v) => (v.kind !== 'data' ? m | (1 << v.param) : m), 0);
}
