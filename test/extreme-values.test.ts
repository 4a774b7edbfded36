'use differentiable';
/**
 * Derivatives at tiny and huge arguments (1e-300 … 1e300, subnormals), where
 * the partials of sqrt, hypot, div, cbrt, log, pow … are huge or tiny.
 *
 * The bug these tests pin down: reverse mode summed the contributions to an
 * adjoint in tape order. d/da [a / |a|] is 1/|a| - a·sign(a)/|a|², two terms
 * of 1e100 at a = 1e-100 that reach `a` by two different paths; a small
 * contribution that reached `a` first (the `+ a` of `grad(h)(a) + a`) was
 * absorbed by the first and lost when the second cancelled it, so
 * d/da [grad(u => Math.hypot(u) / 2)(a) + a] came out 0 instead of 1 (forward
 * mode gave 1). The sweep now sums with compensation once a contribution is
 * large against the seed (runtime/engine.ts), the fast path sums the terms of
 * a leaf's partial and forward tangents of three or more terms with
 * compensation (plugin/preaccumulate.ts, runtime/ops.ts psum), and the
 * one-argument hypot has the exact partial sign(x) (runtime/rules.ts).
 *
 * Checks, in every combination of outer and inner mode (reverse over
 * reverse, forward over reverse, reverse over forward, forward over
 * forward): hand-derived values; a fast-check property over magnitudes
 * 1e-300 … 1e300 and subnormals comparing the four combinations with each
 * other, with the hand-derived value and (where the inner gradient is
 * piecewise linear, so that a wide stencil is exact) with central finite
 * differences of the inner gradient.
 *
 * What is not promised (see docs/extreme-values.md): where an intermediate
 * of the chain rule overflows or underflows although the result would not
 * (the second derivative of a / |a| at |a| < 1e-154 needs 1/a², which is
 * Infinity), the result is ±Infinity or NaN, the same in every mode; where
 * the terms that cancel are not bit-identical, the error is rounding relative
 * to their size (1e-16 × 1e100), as for forward mode.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { grad, setTier } from 'dualtape';

type Mode = 'reverse' | 'forward';
const MODES: Mode[] = ['reverse', 'forward'];
const COMBOS: [outer: Mode, inner: Mode][] = MODES.flatMap((o) => MODES.map((i): [Mode, Mode] => [o, i]));

// The functions of the issue: |u| / 2 written three ways.
function h1(u: number) { return Math.hypot(u) / 2; }
function h2(u: number) { return Math.abs(u) / 2; }
function h3(u: number) { return Math.sqrt(u * u) / 2; }
// sign(a) written as a / |a| over statements, so that the two huge partials
// (1/|a| and -a/|a|², 1e100 at a = 1e-100) reach `a` by different paths.
function signPlus(a: number) {
  const z = Math.abs(a);
  const q = a / z;
  return q + 3 * a;
}
// sign(u)/2 (or sign(u)) written through divisions and square roots.
function sqrtSq(u: number) { return Math.sqrt(u * u) / 2; }
function divAbs(u: number) { return u / Math.abs(u); }
function sqOverAbs(u: number) { return (u * u) / Math.abs(u) / 2; }
// One statement (the plugin's fast path preaccumulates it): a occurs three
// times, with the terms 3, 1/|a| and -a·sign(a)/|a|² of its partial.
function k1(a: number) { return 3 * a + a / Math.abs(a); }
function k2(a: number) { return a / Math.abs(a) + 3 * a; }
function k3(a: number) { return 3 * a + a / Math.hypot(a, 0); }
function k4(a: number) { return 3 * a + Math.sqrt(a * a) / a; }
// Several inputs, so that forward mode carries them in one chunk.
function kv(x: number[]) { return 3 * x[0]! + x[0]! / Math.abs(x[0]!) + x[1]! / Math.abs(x[0]!) + x[2]!; }
// The property test's counterexample: the first argument of a two-argument function.
function h0(u: number, _v: number) { return Math.hypot(u) / 2; }

/** d/da [c · h'(a) + a], with h' taken in mode `inner` and d/da in mode `outer`. */
function second(h: (u: number) => number, c: number, outer: Mode, inner: Mode): (a: number) => number {
  const f = (a: number) => c * grad(h, { mode: inner })(a) + a;
  return grad(f, { mode: outer });
}

/** d²/da² [a·exp(-a²)] = (4a³ - 6a)·exp(-a²), 0 where exp(-a²) underflows (a³ may overflow there). */
function gaussSecond(a: number): number {
  const e = Math.exp(-a * a);
  return e === 0 ? 0 : (4 * a * a * a - 6 * a) * e;
}

function close(actual: number, expected: number, tol: number): boolean {
  if (!Number.isFinite(expected)) return Object.is(actual, expected);
  return Math.abs(actual - expected) <= tol;
}

function expectClose(actual: number, expected: number, tol: number, what: string): void {
  if (!close(actual, expected, tol)) {
    throw new Error(`${what}: expected ${expected} (± ${tol}), got ${actual}`);
  }
}

describe('the reported case: d/da [grad(h)(a) + a] with h = |u|/2 written three ways', () => {
  // h'(a) = sign(a)/2 is constant away from 0, so d/da [h'(a) + a] = 1.
  const points = [-1e-100, -1e-10, -1, 2, 1e-300, -5e-324, 1e150];
  for (const [name, h] of [['Math.hypot(u) / 2', h1], ['Math.abs(u) / 2', h2]] as const) {
    it(`${name}: 1 in every mode combination, tiny, huge and subnormal a`, () => {
      for (const [outer, inner] of COMBOS) {
        for (const a of points) expectClose(second(h, 1, outer, inner)(a), 1, 0, `${outer} over ${inner} at ${a}`);
      }
    });
  }
  it('Math.sqrt(u * u) / 2: 1 in every mode combination where u * u neither underflows nor overflows', () => {
    for (const [outer, inner] of COMBOS) {
      for (const a of [-1e-100, -1e-10, -1, 2, 1e-150, -1e150]) {
        expectClose(second(h3, 1, outer, inner)(a), 1, 1e-12, `${outer} over ${inner} at ${a}`);
      }
    }
  });
  it('the property test counterexample 2·sin(grad(h0, {argnums: 0})(a, a)) + a at -1e-300 and the subnormal -5.56e-309', () => {
    // h0's gradient in u is sign(u)/2: f(a) = 2 sin(sign(a)/2) + a, f'(a) = 1.
    const f = (a: number) => 2 * Math.sin(grad(h0, { argnums: 0 })(a, a)) + a;
    const fF = (a: number) => 2 * Math.sin(grad(h0, { argnums: 0, mode: 'forward' })(a, a)) + a;
    for (const a of [-1e-300, -5.56e-309, 1e-300, 1e300]) {
      for (const mode of MODES) {
        expect(grad(f, { mode })(a), `${mode} over reverse at ${a}`).toBe(1);
        expect(grad(fF, { mode })(a), `${mode} over forward at ${a}`).toBe(1);
      }
    }
  });
  it('third order: d/da [grad(u => grad(h)(u) + u)(a) + a] = 1', () => {
    for (const [outer, inner] of COMBOS) {
      const g = (a: number) => grad((u: number) => grad(h1, { mode: inner })(u) + u, { mode: inner })(a) + a;
      for (const a of [-1e-100, -1e-10, 3e-300, -5e-324]) expect(grad(g, { mode: outer })(a), `${outer} over ${inner} at ${a}`).toBe(1);
    }
  });
});

/**
 * The compensated sums are the tape tier's (runtime/engine.ts, the fast path's psum). The generated
 * tiers (adjoint and tangent code) add plainly, so 3 + 1e100 - 1e100 still loses the 3 there
 * (docs/extreme-values.md): these tests pin the tape tier.
 */
function onTape(body: () => void): void {
  const was = setTier('tape');
  try {
    body();
  } finally {
    setTier(was);
  }
}

describe('first order: the same absorption without nesting', () => {
  it('d/da [a / |a| + 3a] = 3 at tiny a, both modes', () => onTape(() => {
    for (const mode of MODES) {
      for (const a of [-1e-100, 1e-150, -1e-10, 2]) expect(grad(signPlus, { mode })(a), `${mode} at ${a}`).toBe(3);
    }
  }));
});

describe('one statement: the partial of a leaf that occurs several times (fast path; DUALTAPE_FAST_PATH=0 runs the generic path)', () => {
  it('d/da [3a + a / |a|] = 3 however the statement is written, both modes', () => onTape(() => {
    for (const k of [k1, k2, k3, k4]) {
      for (const mode of MODES) {
        for (const a of [-1e-100, 1e-150, -1e-10, 2]) expect(grad(k, { mode })(a), `${k.name}, ${mode} at ${a}`).toBe(3);
      }
    }
  }));
  it('several inputs (chunked forward mode): [3 - x1/x0², 1/|x0|, 1] at x0 = -1e-100 (to the rounding of 1e100 in the first entry)', () => onTape(() => {
    // d/dx0 [3 x0 + sign(x0) + x1/|x0|] = 3 - x1 sign(x0)/x0²: with x1 = 0, 3.
    for (const mode of MODES) expect(grad(kv, { mode })([-1e-100, 0, 5]), mode).toEqual([3, 1e100, 1]);
  }));
});

// At module level: in this 'use differentiable' file the plugin compiles functions stored in a
// module-level table; closures made inside a test callback (which runs uncompiled) are not.
const cases: [string, (u: number) => number, (a: number) => number, number[]][] = [
  ['u·|u|', (u) => u * Math.abs(u), (a) => 2 * Math.sign(a), [1e-300, -5e-324, -1e-100, 1e150, -1e300]],
  ['|u| ** 1', (u) => Math.abs(u) ** 1, () => 0, [5.56e-309, -5e-324, 1e-300, -1e300]],
  ['u ** 2', (u) => u ** 2, () => 2, [5e-324, -1e-300, 1e300]],
  ['u ** 3', (u) => u ** 3, (a) => 6 * a, [5e-324, -1e-300, 1e100]],
  ['log|u|', (u) => Math.log(Math.abs(u)), (a) => -1 / (a * a), [1e-100, -1e-10, 1e100, -1e300]],
  ['sqrt', (u) => Math.sqrt(u), (a) => -0.25 / (a * Math.sqrt(a)), [1e-100, 1e-200, 1e300]],
  ['cbrt', (u) => Math.cbrt(u), (a) => -2 / (9 * a * Math.cbrt(a) * Math.cbrt(a)), [1e-90, -1e-90, 1e300]],
  ['1 / u', (u) => 1 / u, (a) => 2 / (a * a * a), [1e-100, -1e-60, 1e200]],
  ['atan', (u) => Math.atan(u), (a) => -2 * a / ((1 + a * a) * (1 + a * a)), [1e-300, -5e-324, 1e100, -1e300]],
  ['atan2(u, 1)', (u) => Math.atan2(u, 1), (a) => -2 * a / ((1 + a * a) * (1 + a * a)), [1e-300, 1e100, -1e300]],
  ['atan2(1, u)', (u) => Math.atan2(1, u), (a) => 2 * a / ((1 + a * a) * (1 + a * a)), [1e-300, -5e-324, 1e100]],
  ['hypot(u, 1)', (u) => Math.hypot(u, 1), (a) => 1 / (Math.hypot(a, 1) ** 3), [1e-300, -5e-324, 1e100]],
  ['asin', (u) => Math.asin(u), (a) => a / (1 - a * a) ** 1.5, [1e-300, -5e-324, 0.5]],
  ['acos', (u) => Math.acos(u), (a) => -a / (1 - a * a) ** 1.5, [1e-300, -5e-324, -0.5]],
  ['atanh', (u) => Math.atanh(u), (a) => 2 * a / ((1 - a * a) * (1 - a * a)), [1e-300, -5e-324, 0.5]],
  ['tanh', (u) => Math.tanh(u), (a) => -2 * Math.tanh(a) * (1 - Math.tanh(a) ** 2), [1e-300, -1e300, 20]],
  ['u·exp(-u²)', (u) => u * Math.exp(-u * u), gaussSecond, [1e-300, -1e300, 1e150]],
];

describe('siblings: rules with singular partials, in every mode combination, against hand-derived values', () => {
  // Each: h, and the hand-derived h''(a); checked as d/da [3 h'(a) + a] = 3 h''(a) + 1.
  for (const [name, h, h2nd, points] of cases) {
    it(name, () => {
      for (const a of points) {
        const expected = 3 * h2nd(a) + 1;
        for (const [outer, inner] of COMBOS) {
          expectClose(second(h, 3, outer, inner)(a), expected, 1e-12 * Math.max(1, Math.abs(expected)), `${outer} over ${inner} at ${a}`);
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------
// Property: random magnitudes
// ---------------------------------------------------------------------------

/** Normal doubles from 1e-300 to 1e300 (log-uniform), either sign. */
const wide = fc
  .tuple(fc.integer({ min: -300, max: 299 }), fc.double({ min: 1, max: 9.999, noNaN: true }), fc.boolean())
  .map(([e, m, neg]) => (neg ? -1 : 1) * m * 10 ** e);
/** Subnormals: n × 2^-1074. */
const subnormal = fc
  .tuple(fc.integer({ min: 1, max: 2 ** 52 - 1 }), fc.boolean())
  .map(([n, neg]) => (neg ? -1 : 1) * n * 2 ** -1074);
/** Either, plus the values the issue names. */
const magnitude = fc.oneof(wide, subnormal, fc.constantFrom(-1e-100, -1e-300, -5.56e-309, 5e-324, 1e300));

/**
 * Central difference of g at a with a stencil that keeps the sign of a (exact
 * for g piecewise linear there); undefined where a subnormal a leaves no room.
 */
function centralOnSide(g: (a: number) => number, a: number): number | undefined {
  const d = Math.abs(a) / 4;
  const hi = a + d;
  const lo = a - d;
  if (hi === a || lo === a || Math.sign(lo) !== Math.sign(a) || Math.sign(hi) !== Math.sign(a)) return undefined;
  return (g(hi) - g(lo)) / (hi - lo);
}

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const SEED = process.env.PROPERTY_SEED === undefined ? 20261203 : Number(process.env.PROPERTY_SEED);

// At module level: in this 'use differentiable' file the plugin compiles functions stored in a
// module-level table; closures made inside a test callback (which runs uncompiled) are not.
const exact: [string, (u: number) => number, (a: number) => number][] = [
  ['Math.hypot(u) / 2', h1, () => 0],
  ['Math.abs(u) / 2', h2, () => 0],
  ['u · |u|', (u) => u * Math.abs(u), (a) => 2 * Math.sign(a)],
  ['|u| ** 1', (u) => Math.abs(u) ** 1, () => 0],
];

const smooth: [(u: number) => number, (a: number) => number][] = [
  [(u) => Math.atan(u), (a) => -2 * a / ((1 + a * a) * (1 + a * a))],
  [(u) => Math.tanh(u), (a) => -2 * Math.tanh(a) * (1 - Math.tanh(a) ** 2)],
  [(u) => u * Math.exp(-u * u), gaussSecond],
  [(u) => Math.hypot(u, 1), (a) => 1 / Math.hypot(a, 1) ** 3],
];

describe('property: tiny, huge and subnormal arguments', () => {
  // Inner gradients that are piecewise constant or linear in a: the exact
  // answer is representable, so every mode combination must give it.
  for (const [name, h, h2nd] of exact) {
    it(`${name}: every mode combination, the hand-derived value and finite differences agree`, () => {
      fc.assert(
        fc.property(magnitude, fc.integer({ min: -4, max: 4 }), (a, c) => {
          const expected = c * h2nd(a) + 1;
          for (const [outer, inner] of COMBOS) expectClose(second(h, c, outer, inner)(a), expected, 0, `${outer} over ${inner} at ${a}, c = ${c}`);
          // h'' by central differences of the inner gradient on a's side of 0.
          const fd = centralOnSide((x) => grad(h)(x), a);
          if (fd !== undefined) expectClose(fd, h2nd(a), 1e-9 * Math.max(1, Math.abs(h2nd(a))), `finite differences at ${a}`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }

  // sign(u) written through divisions and square roots: the terms that
  // cancel are about c/|a| in size and not always bit-identical, so the
  // result is 1 to their rounding (a few ulps of c/|a|), in every mode. In
  // range where a² is a normal number and 1/a² is finite.
  const inRange = magnitude.filter((a) => Math.abs(a) > 1e-150 && Math.abs(a) < 1e150);
  for (const [name, h] of [['Math.sqrt(u * u) / 2', sqrtSq], ['u / |u|', divAbs], ['(u * u) / |u| / 2', sqOverAbs]] as const) {
    it(`${name}: every mode combination gives d/da [sign(a)/2 + a] = 1 to the rounding of c/|a|`, () => {
      fc.assert(
        fc.property(inRange, fc.integer({ min: 1, max: 4 }), (a, c) => {
          const tol = 8 * Number.EPSILON * (1 + c / Math.abs(a));
          const rr = second(h, c, 'reverse', 'reverse')(a);
          const fr = second(h, c, 'forward', 'reverse')(a);
          expectClose(rr, 1, tol, `reverse over reverse at ${a}, c = ${c}`);
          expectClose(fr, 1, tol, `forward over reverse at ${a}, c = ${c}`);
          expectClose(second(h, c, 'reverse', 'forward')(a), 1, tol, `reverse over forward at ${a}, c = ${c}`);
          expectClose(second(h, c, 'forward', 'forward')(a), 1, tol, `forward over forward at ${a}, c = ${c}`);
          expectClose(rr, fr, 2 * tol, `reverse over reverse vs forward over reverse at ${a}`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }

  it('smooth rules (atan, tanh, u·exp(-u²), hypot(u, 1)): all combinations agree with the hand-derived value', () => {
    fc.assert(
      fc.property(magnitude, fc.nat({ max: smooth.length - 1 }), (a, k) => {
        const [h, h2nd] = smooth[k]!;
        const expected = 2 * h2nd(a) + 1;
        for (const [outer, inner] of COMBOS) {
          expectClose(second(h, 2, outer, inner)(a), expected, 1e-12 * Math.max(1, Math.abs(expected)), `case ${k}, ${outer} over ${inner} at ${a}`);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe('documented limits stay loud and mode-independent', () => {
  it('an intermediate that overflows (1/a² for a / |a| at a = 1e-300) gives the same non-finite result in every mode', () => {
    const results = COMBOS.map(([o, i]) => second(divAbs, 1, o, i)(1e-300));
    for (const r of results) expect(Number.isFinite(r)).toBe(false);
    expect(new Set(results.map(String)).size).toBe(1);
  });
  it('0 × ∞ = 0 still holds where the docs state it: d/dx sqrt(x·x) at 0 and d/dy [sqrt(x) + y] at x = 0', () => {
    const f = (x: number) => Math.sqrt(x * x);
    const g = (x: number, y: number) => Math.sqrt(x) + y;
    for (const mode of MODES) {
      expect(grad(f, { mode })(0)).toBe(0);
      expect(grad(g, { mode })(0, 2)).toEqual([Infinity, 1]);
    }
  });
});
