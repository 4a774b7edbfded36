/**
 * Differential fuzz of the statement-level fast path (plugin/preaccumulate.ts)
 * against the generic per-operation path (`fastPath: false`).
 *
 * Random arithmetic expressions over two parameters and awkward constants
 * (-0, ±Infinity written as 1 / 0, NaN, 1e±300, the smallest subnormal), at
 * special points (0, -0, ±Infinity, NaN, ±1e300, tiny), are compiled twice by
 * the real plugin. Values must be identical (Object.is, NaN equal to NaN);
 * gradients in both modes must agree (see `agree`). The second derivative (grad of grad) is compared
 * the same way: it runs the generic path inside and the fast path outside.
 *
 * PROPERTY_RUNS and PROPERTY_SEED override the run count and seeds (CI: three
 * fixed seeds, see test/helpers/seeds.ts).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { run } from './helpers/compile.js';
import { assertEachSeed, seededParams } from './helpers/seeds.js';

const CONSTANTS = ['0', '-0', '2', '0.5', '-3', '1 / 0', '-(1 / 0)', 'Infinity', 'NaN', '1e300', '1e-300', '5e-324', '(-0)'];
const UNARY = ['Math.sin', 'Math.cos', 'Math.exp', 'Math.log', 'Math.sqrt', 'Math.tanh', 'Math.atan', 'Math.abs', 'Math.cbrt',
  'Math.expm1', 'Math.log1p', 'Math.sinh', 'Math.asinh', '-'];
const BINARY = ['+', '-', '*', '/', '**', '%', 'Math.atan2', 'Math.pow'];
const POINTS = [0, -0, Infinity, -Infinity, NaN, 1e300, -1e300, 1e-300, 5e-324, 1.5, -2];

const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('x', 'y'),
    // Constants weigh as much as parameters: folded partials are what this test is after.
    fc.constantFrom(...CONSTANTS),
    fc.constantFrom(...CONSTANTS),
    fc.tuple(fc.constantFrom(...UNARY), tie('e')).map(([f, a]) => (f === '-' ? `-(${a})` : `${f}(${a})`)),
    fc.tuple(fc.constantFrom(...BINARY), tie('e'), tie('e')).map(([op, a, b]) =>
      op.startsWith('Math.') ? `${op}(${a}, ${b})` : `(${a}) ${op} (${b})`),
  ),
})).e.filter((s) => s.includes('x') || s.includes('y'));

const pointArb = fc.tuple(fc.constantFrom(...POINTS), fc.constantFrom(...POINTS));

function source(e: string): string {
  return `import { grad, valueAndGrad } from 'dualtape';
export function f(x: number, y: number) { return ${e}; }
export const vr = valueAndGrad(f);
export const vf = valueAndGrad(f, { mode: 'forward' });
const dx = (x: number, y: number) => grad(f, { argnums: 0 })(x, y);
export const ddr = grad(dx, { argnums: 0 });
export const ddf = grad(dx, { argnums: 0, mode: 'forward' });
`;
}

/**
 * `fast` agrees with `generic`. Where the generic derivative is finite, the
 * fast one must be equal to 1e-12 relative to max(1, |g|) (the two paths
 * associate a chain of products and sums differently), zero sign not compared
 * (a sum that starts from +0 and a single product round a zero's sign
 * differently; both are the derivative 0). Where it is not finite, the fast
 * one must not be finite either.
 */
function agree(fast: number, generic: number): boolean {
  if (Object.is(fast, generic) || (fast === 0 && generic === 0)) return true;
  if (!Number.isFinite(generic)) return !Number.isFinite(fast);
  if (!Number.isFinite(fast)) return false;
  return Math.abs(fast - generic) <= 1e-12 * Math.max(1, Math.abs(fast), Math.abs(generic));
}

/**
 * The fast path's derivative (in either mode) must agree with the generic
 * path's in one of the two modes. At an infinity the generic modes differ
 * among themselves: reverse pushes an adjoint of ±Infinity through `x - x`
 * (Infinity - Infinity = NaN), forward first finds the tangent of `x - x` to
 * be 0 (and 0 × ∞ = 0). The fast path sums an expression's partials first,
 * like forward mode, so in either mode it may side with either; what it may
 * not do is give a number neither mode gives (a folded constant's NaN, a
 * flipped -0).
 */
function agreesWithAMode(fast: number, genericReverse: number, genericForward: number): boolean {
  return agree(fast, genericReverse) || agree(fast, genericForward);
}

const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 150);

describe('fast path vs generic path', () => {
  it('agree on values and first and second derivatives at special points', { timeout: 300_000 }, async () => {
    await assertEachSeed(
      fc.property(expr, fc.array(pointArb, { minLength: 4, maxLength: 8 }), (e, pts) => {
        // The tape tier's two paths (the generated tiers have their own property tests).
        const fast = run(source(e), { fastPath: true, generated: false });
        const slow = run(source(e), { fastPath: false, generated: false });
        for (const [x, y] of pts) {
          const what = `f(x, y) = ${e} at (${x}, ${y})`;
          const [v2, gr] = slow.vr(x, y) as [number, number[]];
          const [v3, gf] = slow.vf(x, y) as [number, number[]];
          expect(Object.is(v2, v3), `${what}: generic value ${v2} (reverse) vs ${v3} (forward)`).toBe(true);
          for (const k of ['vr', 'vf'] as const) {
            const [v1, g1] = fast[k](x, y) as [number, number[]];
            expect(Object.is(v1, v2), `${what}: value ${v1} vs ${v2}`).toBe(true);
            for (let i = 0; i < 2; i++) {
              expect(agreesWithAMode(g1[i]!, gr[i]!, gf[i]!),
                `${what}: ${k} d/d${'xy'[i]} fast ${g1[i]} vs generic ${gr[i]} (reverse), ${gf[i]} (forward)`).toBe(true);
            }
          }
          const dr = slow.ddr(x, y) as number;
          const df = slow.ddf(x, y) as number;
          for (const k of ['ddr', 'ddf'] as const) {
            const a = fast[k](x, y) as number;
            expect(agreesWithAMode(a, dr, df), `${what}: ${k} d²/dx² fast ${a} vs generic ${dr} (reverse), ${df} (forward)`).toBe(true);
          }
        }
      }),
      seededParams(NUM_RUNS, 0),
    );
  });
});
