/**
 * Property test of the generated forward-mode code over random programs
 * (test/helpers/programs.ts, compiled by the real plugin through vitest's
 * pipeline): for every program and point, forward mode with the generated
 * code and forward mode on the Dual runtime (the generated code switched off)
 * give bit-identical values, gradients equal to 1e-12 (relative to
 * max(1, |g|); NaN equals NaN, an infinity only itself), and the value is the
 * plain function's. Programs the tangent compiler cannot handle run on the
 * Dual runtime both times; the test asserts that enough of them did compile,
 * so that it cannot pass vacuously.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { argsAt, flatGrad, programArb, renderModule, EXT_FILE, EXT_MODULE } from './helpers/programs.js';
import type { RenderedProgram } from './helpers/programs.js';
import { hasTangentCode, setTangentTier } from '../runtime/tangent.ts';

const genDir = fileURLToPath(new URL(`./.gen/tangent-${process.pid}/`, import.meta.url));
mkdirSync(genDir, { recursive: true });
// Generated programs may import helpers marked 'use differentiable' from './ext'.
writeFileSync(`${genDir}${EXT_FILE}`, EXT_MODULE);
afterAll(() => rmSync(genDir, { recursive: true, force: true }));
afterEach(() => setTangentTier(true));

type AnyFn = (...args: unknown[]) => unknown;
interface Compiled {
  f?: AnyFn;
  f_plain: (...args: unknown[]) => number;
  vf: (...args: unknown[]) => [number, unknown];
  gf: AnyFn;
}

function load(p: RenderedProgram): Promise<Compiled> {
  const hash = createHash('sha1').update(p.source).digest('hex').slice(0, 16);
  const file = `${genDir}p_${hash}.ts`;
  writeFileSync(file, p.source);
  return import(/* @vite-ignore */ file) as Promise<Compiled>;
}

const sameValue = (a: unknown, b: unknown): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

function close(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

const coord = fc.double({ min: -2, max: 2, noNaN: true });
const point = fc.array(coord, { minLength: 5, maxLength: 5 });
const runs = Number(process.env.PROPERTY_RUNS ?? 60);

function property(name: string, arb: ReturnType<typeof programArb>, minCompiled: number): void {
  it(name, async () => {
    let withCode = 0;
    let total = 0;
    await fc.assert(
      fc.asyncProperty(
        arb.map((ast) => {
          const r = renderModule(ast);
          return Object.assign(r, { [fc.toStringMethod]: () => `\n${r.shown}\n` });
        }),
        fc.array(point, { minLength: 1, maxLength: 2 }),
        async (p, pts) => {
          const m = await load(p);
          total++;
          if (m.f && hasTangentCode(m.f)) withCode++;
          for (const pt of pts) {
            const args = () => argsAt(p, pt);
            let gen: [number, unknown] | Error;
            let dual: [number, unknown] | Error;
            try {
              gen = m.vf(...args());
            } catch (e) {
              gen = e as Error;
            }
            setTangentTier(false);
            try {
              dual = m.vf(...args());
            } catch (e) {
              dual = e as Error;
            } finally {
              setTangentTier(true);
            }
            if (gen instanceof Error || dual instanceof Error) {
              // Both paths must fail alike (the same error class), or neither.
              expect(gen instanceof Error && dual instanceof Error, `one path threw: ${String(gen)} / ${String(dual)}`).toBe(true);
              expect((gen as Error).constructor).toBe((dual as Error).constructor);
              continue;
            }
            expect(sameValue(gen[0], dual[0]), `values ${gen[0]} vs ${dual[0]} at ${pt}`).toBe(true);
            // A program that takes a derivative inside computes part of its value by AD: its plain
            // copy runs that inner derivative on the generated code, while vf (an outer derivative
            // being taken) runs it on the Dual runtime, which may round differently.
            const plainValue = m.f_plain(...args());
            if (p.nestedGrad) expect(close(gen[0], plainValue, 1e-12), `value ${gen[0]} vs plain ${plainValue}`).toBe(true);
            else expect(sameValue(gen[0], plainValue), 'value of the plain function').toBe(true);
            const a = flatGrad(p, gen[1]);
            const b = flatGrad(p, dual[1]);
            expect(a.length).toBe(b.length);
            a.forEach((ai, i) => expect(close(ai, b[i]!, 1e-12), `d/d${i}: generated ${ai} vs Dual ${b[i]} at ${pt}`).toBe(true));
          }
        },
      ),
      { numRuns: runs, seed: process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : undefined },
    );
    if (process.env.TANGENT_SHARE) console.log(`${name}: ${withCode} of ${total} programs had tangent code`);
    // Not vacuous: a share of the programs ran on generated code.
    expect(withCode, `${withCode} of ${total} programs had tangent code`).toBeGreaterThanOrEqual(Math.max(1, Math.ceil(total * minCompiled)));
  });
}

describe('generated tangent code vs the Dual runtime on random programs', () => {
  property('programs without nested derivatives', programArb({ nested: false, stmtDepth: 2 }), 0.1);
  property('any program (nested derivatives fall back)', programArb(), 0.02);
});
