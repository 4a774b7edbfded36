/**
 * Property tests over programs that hand derivative-carrying values to native
 * code (test/helpers/programs-natives.ts): native array callbacks, searches,
 * Map/Set keys, built-ins as values, odd object keys, typed-array arguments,
 * nested entry points with checkpoint and vjp. Each program is written to
 * test/.gen/ and imported, so the real plugin compiles it. At random points,
 * often exactly at a kink or with equal coordinates:
 *
 *   1. valueAndGrad's value is the uncompiled copy's (exactly; to rounding
 *      when a derivative is taken inside);
 *   2. forward and reverse gradients agree;
 *   3. away from kinks and ties, both agree with central finite differences;
 *   4. hessian (forward over reverse) agrees with jacobian of grad in reverse
 *      mode (reverse over reverse), and away from kinks with finite
 *      differences of the exact gradient;
 *   5. argument objects with odd own keys (`__proto__`, numeric keys,
 *      `constructor`, `toString`, ...) get their gradients by key, in both
 *      modes and under hessian, against the hand formula.
 *
 * PROPERTY_RUNS and PROPERTY_SEED (environment) override the run count and seed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { grad, hessian } from 'dualtape';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KINKS, nativesArb, pointArb, renderNativesModule } from './helpers/programs-natives.js';
import type { RenderedNatives } from './helpers/programs-natives.js';

const genDir = fileURLToPath(new URL(`./.gen/natives-${process.pid}/`, import.meta.url));
mkdirSync(genDir, { recursive: true });
afterAll(() => rmSync(genDir, { recursive: true, force: true }));

type Vec = number[] | Float64Array;
interface Compiled {
  f_plain: (x: Vec) => number;
  gr: (x: Vec) => ArrayLike<number>;
  gf: (x: Vec) => ArrayLike<number>;
  vr: (x: Vec) => [number, ArrayLike<number>];
  he: (x: Vec) => number[][];
  rr: (x: Vec) => number[][];
}

const loaded = new Map<string, Promise<Compiled>>();
function load(p: RenderedNatives): Promise<Compiled> {
  const hash = createHash('sha1').update(p.source).digest('hex').slice(0, 16);
  let m = loaded.get(hash);
  if (!m) {
    const file = `${genDir}n_${hash}.ts`;
    writeFileSync(file, p.source);
    m = import(/* @vite-ignore */ file) as Promise<Compiled>;
    loaded.set(hash, m);
  }
  return m;
}

const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 60);
const SEED = process.env.PROPERTY_SEED ?? (process.env.CI ? '20261203' : undefined);
const params = (offset: number): { numRuns: number; seed?: number } => ({
  numRuns: NUM_RUNS,
  ...(SEED === undefined ? {} : { seed: Number(SEED) + offset }),
});

type Shown = RenderedNatives & { [fc.toStringMethod]: () => string };
const programs = nativesArb().map((ast) => {
  const r = renderNativesModule(ast);
  return Object.assign(r, { [fc.toStringMethod]: () => `\n${r.shown}\n` }) as Shown;
});

const arg = (p: RenderedNatives, x: readonly number[]): Vec => (p.typed ? new Float64Array(x) : x.slice());

function close(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

function fail(p: RenderedNatives, x: readonly number[], what: string): never {
  throw new Error(`${what}\n  at x = [${x.join(', ')}]${p.typed ? ' (Float64Array)' : ''}\n  program:\n${p.shown}`);
}

/** Coordinates whose finite-difference stencil crosses no kink and breaks no tie. */
function smoothCoordinates(x: readonly number[], h = 1e-3): number[] {
  return x.flatMap((v, i) => {
    if (KINKS.some((k) => Math.abs(v - k) < h)) return [];
    if (x.some((w, j) => j !== i && Math.abs(v - w) < h)) return [];
    return [i];
  });
}

function fdPartial(f: (x: Vec) => number, p: RenderedNatives, x: readonly number[], i: number, h: number): number {
  const at = (d: number) => f(arg(p, x.map((v, j) => (j === i ? v + d : v))));
  return (at(h) - at(-h)) / (2 * h);
}

describe('programs handing differentiable values to native code', () => {
  it('(1) values are the plain function\'s; (2) forward and reverse gradients agree', async () => {
    await fc.assert(
      fc.asyncProperty(programs, fc.array(pointArb(), { minLength: 1, maxLength: 3 }), async (p, pts) => {
        const m = await load(p);
        for (const x of pts) {
          const plain = m.f_plain(arg(p, x));
          const [v, g] = m.vr(arg(p, x));
          if (p.nested ? !close(v, plain, 1e-12) : !Object.is(v, plain)) fail(p, x, `value ${v}, plain ${plain}`);
          const gr = Array.from(m.gr(arg(p, x)));
          const gf = Array.from(m.gf(arg(p, x)));
          gr.forEach((r, i) => {
            if (!Object.is(r, Array.from(g)[i])) fail(p, x, `grad ${r} and valueAndGrad ${Array.from(g)[i]} differ at [${i}]`);
            if (!close(r, gf[i]!, 1e-10)) fail(p, x, `reverse ${r}, forward ${gf[i]} at [${i}]`);
          });
        }
      }),
      params(0),
    );
  });

  it('(3) gradients agree with finite differences away from kinks and ties', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(programs, pointArb(), async (p, x) => {
        const m = await load(p);
        const g = Array.from(m.gr(arg(p, x)));
        for (const i of smoothCoordinates(x)) {
          const h = 1e-6 * Math.max(1, Math.abs(x[i]!));
          const fd = fdPartial(m.f_plain, p, x, i, h);
          const fd4 = fdPartial(m.f_plain, p, x, i, 4 * h);
          if (!close(fd, fd4, 1e-4)) continue; // not converged (large curvature): no verdict
          checked++;
          if (!close(g[i]!, fd, 1e-5)) fail(p, x, `gradient ${g[i]}, finite differences ${fd} at [${i}]`);
        }
      }),
      params(1),
    );
    if (checked < NUM_RUNS / 2) throw new Error(`only ${checked} coordinates were away from kinks: the check would be vacuous`);
  });

  it('(4) hessian: forward over reverse = reverse over reverse = finite differences of the gradient', async () => {
    await fc.assert(
      fc.asyncProperty(programs, pointArb(), async (p, x) => {
        const m = await load(p);
        const H = m.he(arg(p, x));
        const R = m.rr(arg(p, x));
        H.forEach((row, i) =>
          row.forEach((hij, j) => {
            // hessian averages the two triangles (rounding only); compare with both of R's.
            const r = (R[i]![j]! + R[j]![i]!) / 2;
            if (!close(hij, r, 1e-9)) fail(p, x, `hessian[${i}][${j}] = ${hij}, reverse over reverse ${r}`);
          }),
        );
        const smooth = smoothCoordinates(x);
        for (const j of smooth) {
          const h = 1e-5 * Math.max(1, Math.abs(x[j]!));
          const at = (d: number) => Array.from(m.gr(arg(p, x.map((v, k) => (k === j ? v + d : v)))));
          const gp = at(h);
          const gm = at(-h);
          for (const i of smooth) {
            const fd = (gp[i]! - gm[i]!) / (2 * h);
            if (!close(H[i]![j]!, fd, 1e-4)) fail(p, x, `hessian[${i}][${j}] = ${H[i]![j]}, finite differences of the gradient ${fd}`);
          }
        }
      }),
      params(2),
    );
  });

  it('(5) argument objects with odd keys (__proto__, numeric, constructor, toString, ...): gradients by key', () => {
    const key = fc.constantFrom('__proto__', '0', '1', '10', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '', 'a-b', 'w');
    const entries = fc.uniqueArray(fc.tuple(key, fc.noBias(fc.integer({ min: -2000, max: 2000 })).map((k) => k / 1000)), {
      minLength: 1, maxLength: 6, selector: ([k]) => k,
    });
    fc.assert(
      fc.property(entries, (es) => {
        const o: Record<string, number> = {};
        for (const [k, v] of es) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        // f = Σ_k c_k o[k]^3 with c_k = 1 + (index of k in the pool's order of Object.keys)
        const keys = Object.keys(o);
        const hand: Record<string, number> = {};
        keys.forEach((k, i) => Object.defineProperty(hand, k, { value: 3 * (1 + i) * o[k]! * o[k]!, enumerable: true }));
        for (const mode of ['reverse', 'forward'] as const) {
          const g = grad(weightedCubes, { mode })(o) as Record<string, number>;
          expect(Object.keys(g)).toEqual(keys);
          for (const k of keys) {
            expect(Object.getOwnPropertyDescriptor(g, k)?.value).toBeCloseTo(hand[k]!, 12);
            expect(Object.prototype.hasOwnProperty.call(g, k)).toBe(true);
          }
        }
        const x = keys.map((k) => o[k]!);
        const H = hessian(weightedCubesOfVector)(x);
        H.forEach((row, i) => row.forEach((h, j) => expect(h).toBeCloseTo(i === j ? 6 * (1 + i) * x[i]! : 0, 12)));
      }),
      params(3),
    );
  });
});

/** Σ c_k o[k]³ over the own keys of o, read by key (also "__proto__", "constructor", ...). */
function weightedCubes(o: Record<string, number>): number {
  let s = 0;
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) s += (1 + i) * o[keys[i]!]! ** 3;
  return s;
}
function weightedCubesOfVector(x: number[]): number {
  const o: Record<string, number> = {};
  x.forEach((v, i) => Object.defineProperty(o, String(i) === '0' ? '__proto__' : `k${i}`, { value: v, enumerable: true }));
  return weightedCubes(o);
}
