/**
 * Plugin hardening (issue 9): each class of bug reduced to a case, checked in
 * both modes (and nested where it applies) against a hand-derived value, with
 * the fast path on (vitest's pipeline) and off (test/helpers/compile.ts).
 */
import { describe, expect, it } from 'vitest';
import { grad, valueAndGrad } from 'dualtape';
import { run } from './helpers/compile.js';

const MODES = ['reverse', 'forward'] as const;
const BOTH_PATHS = [true, false] as const;

describe('fast-path constants', () => {
  it('a literal -0 keeps its sign in the generic branch (atan2 in a second derivative)', () => {
    // f(x) = x² atan2(x · -0, -1); for x > 0, x · -0 = -0 and atan2(-0, -1) = -π, so f'' = -2π.
    for (const fastPath of BOTH_PATHS) {
      const m = run(`import { grad } from 'dualtape';
        const f = (x: number) => x * x * Math.atan2(x * -0, -1);
        export const d2 = (mode: any) => grad((x: number) => grad(f, { mode })(x), { mode });`, { fastPath });
      for (const mode of MODES) expect(m.d2(mode)(1)).toBeCloseTo(-2 * Math.PI, 12);
    }
    const f = (x: number) => x * x * Math.atan2(x * -0, -1);
    for (const mode of MODES) expect(grad((x: number) => grad(f, { mode })(x), { mode })(1)).toBeCloseTo(-2 * Math.PI, 12);
  });

  it('a constant partial 1/0 obeys 0 × ∞ = 0: exp(-(x / 0)) has derivative 0', () => {
    // For x > 0, x / 0 = ∞, exp(-∞) = 0, and the derivative (exp's partial 0 times 1/0) is 0.
    const f = (x: number) => Math.exp(-(x / 0));
    for (const mode of MODES) expect(valueAndGrad(f, { mode })(2)).toEqual([0, 0]);
    for (const fastPath of BOTH_PATHS) {
      const m = run(`import { valueAndGrad } from 'dualtape';
        export const vg = (mode: any) => valueAndGrad((x: number) => Math.exp(-(x / 0)) + 3 * x, { mode });`, { fastPath });
      for (const mode of MODES) expect(m.vg(mode)(2)).toEqual([6, 3]);
    }
  });
});
