/**
 * User-defined derivative rules: `customDerivative(f, { jvp, vjp })` makes a
 * function whose derivative comes from the rule instead of from its body, in
 * both modes; `checkRule` compares a declared rule with finite differences.
 *
 * How a call works: the arguments are unwrapped one derivative level at a
 * time. At the highest level present, the primal result comes from calling
 * the custom function again on the unwrapped arguments (so `f` itself only
 * ever sees plain numbers), and the derivative comes from the rule, which the
 * plugin compiles, so rules can be nested (hessian of a custom function).
 */
import { Active, Dual, DualtapeError, ReverseTrace, TapeVar } from './active.js';
import type { Num } from './core-types.js';
import { checkAcyclic, checkOutput, describe, describeFn, leavesLike, leavesOf, mapLeaves, shapeLike, topTraceOf } from './args.js';
import type { OutputOf, TangentsOf } from './transforms.js';
import { jacobian } from './transforms.js';
import { add, mul } from './engine.js';
import { compiled } from './registry.js';

export interface DerivativeRule<A extends unknown[], R> {
  /**
   * Forward rule: the output tangent (shaped like the result) for the given
   * argument tangents (one per argument, shaped like it).
   */
  jvp?: (primals: A, tangents: TangentsOf<A>, result: R) => OutputOf<R>;
  /**
   * Reverse rule: the argument cotangents (an array with one per argument,
   * each shaped like it) for a cotangent shaped like the result.
   */
  vjp?: (primals: A, result: R, cotangent: OutputOf<R>) => TangentsOf<A>;
}

/** A rule as the runtime calls it, without the user's types. */
interface LooseRule {
  jvp?: (primals: unknown[], tangents: unknown[], result: unknown) => unknown;
  vjp?: (primals: unknown[], result: unknown, cotangent: unknown) => unknown;
}

const rules = new WeakMap<Function, { f: Function; rule: LooseRule }>();

/** The trace of the highest derivative level among the arguments' leaves. */

function oneHot(shape: unknown, k: number): unknown {
  let n = 0;
  return mapLeaves(shape, () => (n++ === k ? 1 : 0));
}

/**
 * A function whose derivative is given by `rule` (at least one of `jvp`,
 * `vjp`; the other mode is derived from it). `f` takes numbers, arrays or
 * plain objects of numbers and returns a number or an array of numbers; it is
 * never looked inside, so it may call anything.
 */
export function customDerivative<A extends unknown[], R extends number | readonly number[]>(
  f: (...args: A) => R,
  rule: DerivativeRule<A, R>,
): (...args: A) => R {
  if (typeof f !== 'function') throw new TypeError(`dualtape: customDerivative expects a function, got ${describe(f)}.`);
  if (rule === null || typeof rule !== 'object' || (typeof rule.jvp !== 'function' && typeof rule.vjp !== 'function')) {
    throw new TypeError('dualtape: customDerivative(f, rule) needs a rule object with a jvp or a vjp function (or both).');
  }
  const r = rule as unknown as LooseRule;
  const custom = function (this: unknown, ...args: unknown[]): unknown {
    const top = topTraceOf(args);
    if (top === undefined) return f.apply(this, args as A);
    // Leaves that are not numbers (a label, null, an options object) are constants: mapLeaves passes them on.
    args.forEach((a, k) => checkAcyclic(a, `args[${k}]`));
    const primals = args.map((a) => mapLeaves(a, (x) => (x instanceof Active && x.tr === top ? x.v : x)));
    const y = custom.apply(this, primals);
    checkOutput(y, 'customDerivative');
    const outLeaves = leavesOf(y);
    if (!(top instanceof ReverseTrace)) {
      // Forward: one rule call per direction gives the output tangent (chunked
      // forward mode carries several directions, as array tangents).
      let width = 0;
      for (const a of args) {
        mapLeaves(a, (x) => {
          if (x instanceof Dual && x.tr === top && Array.isArray(x.t)) width = x.t.length;
          return x;
        });
      }
      const direction = (c: number) =>
        args.map((a) =>
          mapLeaves(a, (x) => {
            if (!(x instanceof Dual) || x.tr !== top) return 0;
            return Array.isArray(x.t) ? x.t[c]! : x.t;
          }),
        );
      const tangentOut = (tangents: unknown[]): Num[] => {
        let tOut: Num[];
        if (r.jvp) {
          tOut = ruleLeaves(y, r.jvp(primals, tangents, y), 'jvp', f);
        } else {
          const ts = tangents.flatMap((t) => leavesOf(t));
          tOut = outLeaves.map((_, k) => {
            const row = vjpRow(r.vjp!(primals, y, oneHot(y, k)), primals, f);
            return row.reduce<Num>((s, p, l) => (ts[l] === 0 || p === 0 ? s : add(s, mul(p, ts[l]!))), 0);
          });
        }
        if (tOut.length !== outLeaves.length) throw ruleShapeError('jvp', tOut.length, outLeaves.length);
        return tOut;
      };
      let k = 0;
      if (width === 0) {
        const tOut = tangentOut(direction(0));
        return shapeLike(y, () => {
          const t = tOut[k]!;
          const v = outLeaves[k++]!;
          return t === 0 ? v : new Dual(v, t, top as never);
        });
      }
      const perDirection = Array.from({ length: width }, (_, c) => tangentOut(direction(c)) as number[]);
      return shapeLike(y, () => {
        const t = perDirection.map((tOut) => tOut[k]!);
        const v = outLeaves[k++]!;
        return t.every((e) => e === 0) ? v : new Dual(v, t, top as never);
      });
    }
    // Reverse: a tape node per output with the rule's partials.
    const inputs = args.flatMap((a) => leavesOf(a));
    const nodes = inputs.map((x) => (x instanceof TapeVar && x.tr === top ? x.i : -1));
    const partialRows: Num[][] = outLeaves.map((_, k) => {
      if (r.vjp) {
        const row = vjpRow(r.vjp(primals, y, oneHot(y, k)), primals, f);
        if (row.length !== inputs.length) throw ruleShapeError('vjp', row.length, inputs.length);
        return row;
      }
      return [];
    });
    if (!r.vjp) {
      // Derive the rows from the jvp rule, one input direction at a time.
      nodes.forEach((node, l) => {
        const tOut = node < 0 ? outLeaves.map(() => 0) : ruleLeaves(y, r.jvp!(primals, args.map((a, k) => oneHotIn(args, k, l)) as never, y), 'jvp', f);
        tOut.forEach((t, k) => partialRows[k]!.push(t));
      });
    }
    const tape = top;
    let k = 0;
    return shapeLike(y, () => {
      const row = partialRows[k]!;
      const v = outLeaves[k++]!;
      let edges = 0;
      row.forEach((p, l) => {
        if (nodes[l]! >= 0 && p !== 0) {
          tape.edge(nodes[l]!, p);
          edges++;
        }
      });
      return edges === 0 ? v : new TapeVar(v, tape.close(), tape);
    });
  };
  rules.set(custom, { f, rule: r });
  return compiled(custom) as unknown as (...args: A) => R;

  /** Tangents for all arguments with a 1 at flat input leaf `l`. */
  function oneHotIn(args: readonly unknown[], k: number, l: number): unknown {
    let offset = 0;
    for (let j = 0; j < k; j++) offset += leavesOf(args[j]).length;
    let n = 0;
    return mapLeaves(args[k], () => (offset + n++ === l ? 1 : 0));
  }
}

/** A vjp rule's result: one cotangent per argument, flattened in leaf order. */
function vjpRow(cts: unknown, primals: unknown[], f: Function): Num[] {
  if (!Array.isArray(cts) || cts.length !== primals.length) {
    const E = Array.isArray(cts) ? TypeError : DualtapeError; // a wrong shape, or not cotangents at all
    throw new E(
      `dualtape: the vjp rule of customDerivative(${describeFn(f)}) returned ${describe(cts)}` +
        (Array.isArray(cts) ? ` of ${cts.length}` : '') +
        `: a vjp rule must return an array with one cotangent per argument (${primals.length}).`,
    );
  }
  return cts.flatMap((c, a) => ruleLeaves(primals[a], c, 'vjp', f, a));
}

/**
 * The leaves of a rule's result, lined up with `shape` (by key). An argument
 * without numeric leaves (a string, null) takes any cotangent (null, 0). A
 * result that is not numbers where `shape` has them is a DualtapeError naming
 * the rule and what it returned; a different number of leaves a TypeError.
 */
function ruleLeaves(shape: unknown, result: unknown, which: 'jvp' | 'vjp', f: Function, arg?: number): Num[] {
  const want = leavesOf(shape).length;
  if (want === 0) return [];
  const bad = firstNonNumber(shape, result);
  const got = leavesOf(result).length;
  // Something that is not a number where one belongs; a leaf merely missing is a wrong shape (below).
  if (bad !== undefined && (bad.value !== undefined || bad.path === '' || got === want)) {
    const part = which === 'vjp' ? `the cotangent of argument ${arg}` : 'its result';
    throw new DualtapeError(
      `dualtape: the ${which} rule of customDerivative(${describeFn(f)}) returned ${describe(bad.value)} ` +
        `${bad.path ? `at ${bad.path} of ${part}` : `as ${part}`}, where a number was expected. A ${which} rule ` +
        `must return numbers shaped like the ${which === 'jvp' ? 'function output' : 'arguments'} ` +
        `(0 for no derivative).`,
    );
  }
  if (got !== want) throw ruleShapeError(which, got, want);
  return leavesLike(shape, result);
}

/** The first place where `shape` has a numeric leaf and `x` does not hold a number. */
function firstNonNumber(shape: unknown, x: unknown, path = ''): { path: string; value: unknown } | undefined {
  if (typeof shape === 'number' || shape instanceof Active) {
    return typeof x === 'number' || x instanceof Active ? undefined : { path, value: x };
  }
  if (shape === null || typeof shape !== 'object') return undefined;
  if (x === null || typeof x !== 'object') return { path, value: x };
  for (const key of Object.keys(shape)) {
    const bad = firstNonNumber((shape as Record<string, unknown>)[key], (x as Record<string, unknown>)[key], `${path}[${JSON.stringify(/^\d+$/.test(key) ? Number(key) : key)}]`);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

function ruleShapeError(which: string, got: number, want: number): TypeError {
  return new TypeError(`dualtape: the ${which} rule returned ${got} number(s) where ${want} were expected: its result must have the shape of the ${which === 'jvp' ? 'function output' : 'arguments'}.`);
}

// ---------------------------------------------------------------------------
// checkRule
// ---------------------------------------------------------------------------

export interface RuleCheck {
  /** Every declared rule agrees with central finite differences within the tolerance. */
  ok: boolean;
  /** The largest error found, relative to max(1, |finite difference|). */
  maxError: number;
  /** Where the largest error is: output row, input column, which rule, the two values. */
  worst?: { row: number; column: number; rule: 'jvp' | 'vjp'; declared: number; numeric: number };
  /** A sentence for a test failure message. */
  message: string;
}

/**
 * Compares the derivative a custom rule declares (its jvp, through forward
 * mode, and its vjp, through reverse mode) with central finite differences of
 * the function itself at `args`. Use it in your tests:
 * `expect(checkRule(lse, [[1, 2, 3]]).ok).toBe(true)`.
 */
export function checkRule<A extends unknown[]>(
  fn: (...args: A) => unknown,
  args: A,
  opts: { tolerance?: number; step?: number } = {},
): RuleCheck {
  const entry = rules.get(fn);
  if (!entry) throw new TypeError('dualtape: checkRule takes a function made by customDerivative.');
  const tolerance = opts.tolerance ?? 1e-6;
  const step = opts.step ?? 1e-6;
  const f = entry.f as (...a: unknown[]) => unknown;
  // Central differences on the plain function, column by column.
  const flat = args.flatMap((a) => leavesOf(a)) as number[];
  const columns = flat.map((x0, l) => {
    const h = step * Math.max(1, Math.abs(x0));
    const at = (x: number) => {
      let n = 0;
      const shifted = args.map((a) => mapLeaves(a, (v) => (n++ === l ? x : v)));
      return leavesOf(f(...shifted)) as number[];
    };
    const plus = at(x0 + h);
    const minus = at(x0 - h);
    return plus.map((p, k) => (p - minus[k]!) / (2 * h));
  });
  const numeric = (k: number, l: number) => columns[l]![k]!;
  let maxError = 0;
  let worst: RuleCheck['worst'];
  const modes: ['jvp' | 'vjp', 'forward' | 'reverse'][] = [];
  if (entry.rule.jvp) modes.push(['jvp', 'forward']);
  if (entry.rule.vjp) modes.push(['vjp', 'reverse']);
  for (const [ruleName, mode] of modes) {
    const jac = jacobian(fn as (...a: unknown[]) => unknown, { mode })(...args);
    jac.forEach((row, k) =>
      row.forEach((declared, l) => {
        const num = numeric(k, l);
        const err = Math.abs(declared - num) / Math.max(1, Math.abs(num));
        if (!(err <= maxError)) {
          maxError = err;
          worst = { row: k, column: l, rule: ruleName, declared, numeric: num };
        }
      }),
    );
  }
  const ok = maxError <= tolerance;
  const message = ok
    ? `the declared derivative matches finite differences (max relative error ${maxError.toExponential(2)})`
    : `the ${worst!.rule} rule gives ${worst!.declared} for d output[${worst!.row}] / d input[${worst!.column}], ` +
      `finite differences give ${worst!.numeric} (relative error ${maxError.toExponential(2)} > ${tolerance})`;
  return { ok, maxError, ...(worst ? { worst } : {}), message };
}
