/**
 * The check the exec.ts files of fixtures/adjoint/ run, provided to them as
 * `dualtape/adjoint-tier` by test/fixtures.test.ts: `f` runs on the adjoint
 * tier (unless DUALTAPE_TIER=tape), its value is the plain function's bit for
 * bit, its gradient in argument 0 equals the tape tier's to 1e-12 and, unless
 * `fd: false`, central finite differences of the plain function to 1e-6.
 */
import { expect } from 'vitest';
import { setTier, tierOf, valueAndGrad } from '../../runtime/index.ts';

export function checkAdjoint(f: (...a: any[]) => number, args: unknown[], opts: { fd?: boolean } = {}): number[] {
  expect(tierOf(f)).toEqual(process.env.DUALTAPE_TIER === 'tape' ? { tier: 'tape', reason: 'DUALTAPE_TIER=tape' } : { tier: 'adjoint', reason: '' });
  const vg = valueAndGrad(f as (...a: unknown[]) => number, { argnums: 0 });
  const [v, g] = vg(...args);
  expect(Object.is(v, f(...args))).toBe(true);
  const was = setTier('tape');
  const [vt, gt] = vg(...args);
  setTier(was);
  expect(Object.is(vt, v)).toBe(true);
  const ga = g as number[];
  (gt as number[]).forEach((t, i) => expect(Math.abs(t - ga[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(t))));
  if (opts.fd === false) return ga;
  // Central finite differences on the plain function.
  const x0 = args[0] as number[];
  for (let i = 0; i < x0.length; i++) {
    const h = 1e-6 * Math.max(1, Math.abs(x0[i]!));
    const up = x0.slice(); up[i]! += h;
    const down = x0.slice(); down[i]! -= h;
    const fd = (f(up, ...args.slice(1)) - f(down, ...args.slice(1))) / (2 * h);
    expect(Math.abs(fd - ga[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(fd)));
  }
  return ga;
}
