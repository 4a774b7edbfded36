/**
 * The adjoint tier against the tape tier on random programs
 * (test/helpers/programs.ts, compiled by the real plugin as a user's file):
 * at random points, the value of valueAndGrad is exactly the same in both
 * tiers (and the original's), and the gradients agree to 1e-12 relative to
 * max(1, |g|) wherever every intermediate value is finite (the generator's
 * domain, as in property.test.ts); NaN equals NaN, an infinity only itself.
 * The test also counts how many programs the adjoint tier compiled, and fails
 * if too few did (so it cannot pass by everything falling back).
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTier, tierOf } from 'dualtape';
import { argsAt, flatGrad, programArb, renderModule, EXT_FILE, EXT_MODULE } from './helpers/programs.js';
import type { RenderedProgram } from './helpers/programs.js';

const genDir = fileURLToPath(new URL(`./.gen/adjoint-property-${process.pid}/`, import.meta.url));
mkdirSync(genDir, { recursive: true });
// Generated programs may import helpers marked 'use differentiable' from './ext'.
writeFileSync(`${genDir}${EXT_FILE}`, EXT_MODULE);
afterAll(() => rmSync(genDir, { recursive: true, force: true }));

type AnyFn = (...args: unknown[]) => unknown;
interface Compiled {
  f?: AnyFn;
  f_plain: (...args: unknown[]) => number;
  f_probe: (...args: unknown[]) => number;
  __values: { nonFinite: number; maxAbs: number };
  vr: (...args: unknown[]) => [number, unknown];
}

async function load(p: RenderedProgram): Promise<Compiled> {
  const hash = createHash('sha1').update(p.source).digest('hex').slice(0, 16);
  const file = `${genDir}p_${hash}.ts`;
  writeFileSync(file, p.source);
  return (await import(/* @vite-ignore */ file)) as Compiled;
}

function close(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

const sameValue = (a: unknown, b: unknown) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

const program = programArb().map((ast) => {
  const r = renderModule(ast);
  return Object.assign(r, { [fc.toStringMethod]: () => `\n${r.shown}\n` });
});
const point = fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 5, maxLength: 5 });

const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 80);
const SEED = process.env.PROPERTY_SEED ?? (process.env.CI ? '20261203' : undefined);

describe('adjoint tier vs tape tier on random programs', () => {
  it('same values, gradients to 1e-12', { timeout: 600_000 }, async () => {
    const stats = { programs: 0, adjoint: 0 };
    await fc.assert(
      fc.asyncProperty(program, fc.array(point, { minLength: 1, maxLength: 3 }), async (p, pts) => {
        const m = await load(p);
        stats.programs++;
        if (m.f && tierOf(m.f).tier === 'adjoint') stats.adjoint++;
        for (const pt of pts) {
          const args = () => argsAt(p, pt);
          const ref = m.f_plain(...args());
          const [va, ga] = m.vr(...args());
          const was = setTier('tape');
          let vt: number;
          let gt: unknown;
          try {
            [vt, gt] = m.vr(...args());
          } finally {
            setTier(was);
          }
          const where = `at ${JSON.stringify(pt.slice(0, p.n))}\n${p.shown}`;
          if (!p.nestedGrad) {
            expect(sameValue(va, ref), `adjoint value ${va} vs original ${ref} ${where}`).toBe(true);
            expect(sameValue(vt, va), `tape value ${vt} vs adjoint ${va} ${where}`).toBe(true);
          }
          m.__values.nonFinite = 0;
          m.f_probe(...args());
          if (!Number.isFinite(ref) || m.__values.nonFinite > 0) continue;
          const a = flatGrad(p, ga);
          const b = flatGrad(p, gt);
          for (let i = 0; i < a.length; i++) {
            if (!close(a[i]!, b[i]!, 1e-12)) throw new Error(`gradient ${i}: adjoint ${a[i]} vs tape ${b[i]} ${where}`);
          }
        }
      }),
      { numRuns: NUM_RUNS, ...(SEED !== undefined ? { seed: Number(SEED) } : {}) },
    );
    // Not vacuous: a good share of the generated programs run on the adjoint tier.
    if (process.env.DUALTAPE_TIER !== 'tape') expect(stats.adjoint).toBeGreaterThanOrEqual(Math.ceil(stats.programs / 25));
    console.log(`adjoint tier compiled ${stats.adjoint} of ${stats.programs} random programs`);
  });
});
