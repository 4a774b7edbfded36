/**
 * The check the exec.ts files of fixtures/tangent/ run, provided to them as
 * `dualtape/tangent-tier` by test/fixtures.test.ts: generated forward mode
 * against the Dual runtime, reverse mode and central finite differences.
 */
import { expect } from 'vitest';
import { grad } from '../../runtime/index.ts';
import { hasTangentCode, setTangentTier } from '../../runtime/tangent.ts';

/** Generated forward mode vs the Dual runtime vs reverse mode vs central differences. */
export function compareTangent(f: (...a: any[]) => number, args: any[], argnums?: number) {
  expect(hasTangentCode(f)).toBe(true);
  const opts: any = argnums === undefined ? { mode: "forward" } : { mode: "forward", argnums };
  const flat = (g: any): number[] => (typeof g === "number" ? [g] : Array.from(g as ArrayLike<number>));
  const gen = flat(grad(f, opts)(...args));
  setTangentTier(false);
  const dual = flat(grad(f, opts)(...args));
  setTangentTier(true);
  const ropts: any = argnums === undefined ? {} : { argnums };
  const rev = flat(grad(f, ropts)(...args));
  const k = argnums ?? 0;
  const x = args[k];
  const fd = flat(x).map((_, i) => {
    const at = (d: number) => {
      const a = args.slice();
      if (typeof x === "number") a[k] = x + d;
      else { const y = Array.from(x as number[]); y[i] += d; a[k] = y; }
      return f(...a);
    };
    const h = 1e-6;
    return (at(h) - at(-h)) / (2 * h);
  });
  gen.forEach((g, i) => {
    expect(Math.abs(g - dual[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(g)));
    expect(Math.abs(g - rev[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(g)));
    expect(Math.abs(g - fd[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(g)));
  });
  return gen;
}
