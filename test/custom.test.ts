/**
 * customDerivative and checkRule.
 *
 * A custom function's derivative comes from its rule (jvp and/or vjp; the
 * missing one is derived from the other), in both modes and under nesting;
 * the function itself is never looked inside and only ever sees plain
 * numbers. checkRule compares a rule with finite differences.
 */
import { describe, expect, it } from 'vitest';
import { DualtapeError, checkRule, customDerivative, grad, hessian, hvp, jacobian, jvp, vjp } from 'dualtape';
import { expectMatrixClose, expectVectorClose, fdHessian, fdJacobian, matVec, softmax } from './helpers/transforms-check.js';
import { fdDerivative } from './helpers/check.js';

// ---------------------------------------------------------------------------
// A stable log-sum-exp
// ---------------------------------------------------------------------------

/** Every argument list the primal function of `lse` was called with. */
const lseCalls: unknown[][] = [];

/** log Σ exp(x_i), computed stably (shifted by the maximum), with both rules. */
const lse = customDerivative(
  (x: number[]): number => {
    lseCalls.push([x.map((v) => typeof v)]);
    const m = Math.max(...x);
    let s = 0;
    for (const v of x) s += Math.exp(v - m);
    return m + Math.log(s);
  },
  {
    // d lse = Σ softmax(x)_i dx_i, and softmax(x)_i = exp(x_i - lse(x))
    jvp: ([x], [dx], y) => {
      let t = 0;
      for (let i = 0; i < x.length; i++) t += Math.exp(x[i]! - y) * dx[i]!;
      return t;
    },
    vjp: ([x], y, ct) => [x.map((v) => ct * Math.exp(v - y))],
  },
);

/** The textbook formula: overflows for large inputs. */
function naiveLse(x: number[]): number {
  let s = 0;
  for (const v of x) s += Math.exp(v);
  return Math.log(s);
}

describe('a stable logsumexp with custom rules', () => {
  it('its gradient is softmax, in both modes', () => {
    for (const x of [[1, 2, 3], [-0.5, 0.25], [0, 0, 0, 0]]) {
      expectVectorClose(grad(lse)(x), softmax(x), 1e-15, 1e-16, `reverse at ${x}`);
      expectVectorClose(grad(lse, { mode: 'forward' })(x), softmax(x), 1e-15, 1e-16, `forward at ${x}`);
      // and the plain gradient of the naive formula agrees where that does not overflow
      expectVectorClose(grad(naiveLse)(x), softmax(x), 1e-14, 1e-15, `naive at ${x}`);
    }
  });

  it('many inputs (forward mode in several passes): softmax in both modes, from either rule', () => {
    const x = Array.from({ length: 20 }, (_, i) => 3 * Math.sin(i));
    const onlyVjp = customDerivative((v: number[]) => lse(v), { vjp: ([v], y, ct) => [v.map((vi) => ct * Math.exp(vi - y))] });
    for (const f of [lse, onlyVjp]) {
      expectVectorClose(grad(f, { mode: 'forward' })(x), softmax(x), 1e-14, 1e-16, 'forward');
      expectVectorClose(grad(f)(x), softmax(x), 1e-14, 1e-16, 'reverse');
    }
  });

  it('works for large inputs where the naive formula overflows', () => {
    const x = [1000, 1001];
    expect(naiveLse(x)).toBe(Infinity);
    // The naive gradient is no use there either.
    expect(grad(naiveLse)(x).every((g) => Number.isNaN(g) || g === 0)).toBe(true);
    expect(lse(x)).toBeCloseTo(1001 + Math.log1p(Math.exp(-1)), 12);
    const p = [1 / (1 + Math.E), Math.E / (1 + Math.E)];
    // exp(x_i - lse(x)) with lse(x) ≈ 1001 (rounded to ~1e-13): a relative error of ~1e-14 is expected
    expectVectorClose(grad(lse)(x), p, 1e-12, 1e-16, 'reverse');
    expectVectorClose(grad(lse, { mode: 'forward' })(x), p, 1e-12, 1e-16, 'forward');
    expectVectorClose(grad(lse)([-1000, -1001, -999]), softmax([-1000, -1001, -999]), 1e-12, 1e-16, 'large negative');
  });

  it('is used from ordinary differentiated code (composition with the chain rule)', () => {
    // d/dx 3 lse(2x) = 6 softmax(2x)
    const f = (x: number[]) => 3 * lse(x.map((v) => 2 * v));
    const x = [0.1, -0.4, 0.9];
    const expected = softmax(x.map((v) => 2 * v)).map((p) => 6 * p);
    expectVectorClose(grad(f)(x), expected, 1e-14, 1e-15, 'reverse');
    expectVectorClose(grad(f, { mode: 'forward' })(x), expected, 1e-14, 1e-15, 'forward');
    expectVectorClose(grad(f)(x), fdJacobian(f, [x])[0]!, 1e-8, 1e-10, 'finite differences');
  });

  it('jvp and vjp use the rules directly', () => {
    const x = [1, 2, 3];
    const p = softmax(x);
    const [y, t] = jvp(lse, [x], [[1, -1, 0.5]]);
    expect(y).toBe(lse(x));
    expect(t).toBeCloseTo(p[0]! - p[1]! + 0.5 * p[2]!, 15);
    const [, pb] = vjp(lse, x);
    expectVectorClose(pb(2), p.map((v) => 2 * v), 1e-15, 1e-16);
  });

  it('hessian of the custom function (nesting through the rules): diag(p) - p pᵀ', () => {
    const x = [1, 2, 3];
    const p = softmax(x);
    const expected = p.map((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj));
    expectMatrixClose(hessian(lse)(x), expected, 1e-13, 1e-15, 'hessian');
    // also for large inputs, where the naive formula cannot be differentiated at all
    const big = [1000, 1001, 999.5];
    const q = softmax(big);
    expectMatrixClose(hessian(lse)(big), q.map((qi, i) => q.map((qj, j) => (i === j ? qi : 0) - qi * qj)), 1e-12, 1e-14, 'hessian, large');
    // every combination of modes for a mixed second derivative
    for (const outer of ['forward', 'reverse'] as const) {
      for (const inner of ['forward', 'reverse'] as const) {
        const d = grad((v: number[]) => grad(lse, { mode: inner })(v)[0]!, { mode: outer })(x);
        expectVectorClose(d, expected[0]!, 1e-13, 1e-15, `${outer} over ${inner}`);
      }
    }
    expectVectorClose(hvp(lse)(x, [1, 0, -1]), matVec(expected, [1, 0, -1]), 1e-13, 1e-15, 'hvp');
  });

  it('the primal function is never looked inside: it only ever sees plain numbers', () => {
    lseCalls.length = 0;
    grad(lse)([1, 2]);
    grad(lse, { mode: 'forward' })([1, 2]);
    hessian(lse)([1, 2]);
    grad((v: number[]) => grad(lse)(v)[1]!)([1, 2]);
    expect(lseCalls.length).toBeGreaterThan(0);
    for (const call of lseCalls) expect(call).toEqual([['number', 'number']]);
  });

  it('checkRule: ok for the correct rule', () => {
    const r = checkRule(lse, [[1, 2, 3]]);
    expect(r.ok).toBe(true);
    expect(r.maxError).toBeLessThan(1e-6);
    expect(r.message).toMatch(/matches finite differences/);
  });
});

// ---------------------------------------------------------------------------
// One rule only
// ---------------------------------------------------------------------------

describe('a rule with only jvp, or only vjp', () => {
  // f(x, y) = x sin y
  const onlyJvp = customDerivative((x: number, y: number) => x * Math.sin(y), {
    jvp: ([x, y], [dx, dy]) => dx * Math.sin(y) + dy * x * Math.cos(y),
  });
  const onlyVjp = customDerivative((x: number, y: number) => x * Math.sin(y), {
    vjp: ([x, y], _r, ct) => [ct * Math.sin(y), ct * x * Math.cos(y)],
  });
  const expected = (x: number, y: number) => [Math.sin(y), x * Math.cos(y)];
  const hess = (x: number, y: number) => [
    [0, Math.cos(y)],
    [Math.cos(y), -x * Math.sin(y)],
  ];

  it('only jvp: reverse mode is derived from it', () => {
    expectVectorClose(grad(onlyJvp)(2, 1), expected(2, 1), 1e-15, 0, 'reverse');
    expectVectorClose(grad(onlyJvp, { mode: 'forward' })(2, 1), expected(2, 1), 1e-15, 0, 'forward');
    expect(vjp(onlyJvp, 2, 1)[1](3)).toEqual(expected(2, 1).map((g) => 3 * g));
  });

  it('only vjp: forward mode is derived from it', () => {
    expectVectorClose(grad(onlyVjp, { mode: 'forward' })(2, 1), expected(2, 1), 1e-15, 0, 'forward');
    expectVectorClose(grad(onlyVjp)(2, 1), expected(2, 1), 1e-15, 0, 'reverse');
    expect(jvp(onlyVjp, [2, 1], [1, 0.5])[1]).toBeCloseTo(Math.sin(1) + 0.5 * 2 * Math.cos(1), 15);
  });

  it('second derivatives through either rule', () => {
    const h1 = hessian((v: number[]) => onlyJvp(v[0]!, v[1]!))([2, 1]);
    const h2 = hessian((v: number[]) => onlyVjp(v[0]!, v[1]!))([2, 1]);
    expectMatrixClose(h1, hess(2, 1), 1e-15, 1e-15, 'only jvp');
    expectMatrixClose(h2, hess(2, 1), 1e-15, 1e-15, 'only vjp');
  });

  it('vector-valued custom functions: jacobian in both modes from one rule', () => {
    // polar -> cartesian
    const polarJvp = customDerivative((r: number, t: number) => [r * Math.cos(t), r * Math.sin(t)], {
      jvp: ([r, t], [dr, dt]) => [dr * Math.cos(t) - r * Math.sin(t) * dt, dr * Math.sin(t) + r * Math.cos(t) * dt],
    });
    const polarVjp = customDerivative((r: number, t: number) => [r * Math.cos(t), r * Math.sin(t)], {
      vjp: ([r, t], _y, [cx, cy]) => [cx! * Math.cos(t) + cy! * Math.sin(t), -cx! * r * Math.sin(t) + cy! * r * Math.cos(t)],
    });
    const J = [
      [Math.cos(0.7), -2 * Math.sin(0.7)],
      [Math.sin(0.7), 2 * Math.cos(0.7)],
    ];
    for (const f of [polarJvp, polarVjp]) {
      for (const mode of ['forward', 'reverse'] as const) expectMatrixClose(jacobian(f, { mode })(2, 0.7), J, 1e-15, 1e-15, mode);
    }
    expect(checkRule(polarJvp, [2, 0.7]).ok).toBe(true);
    expect(checkRule(polarVjp, [2, 0.7]).ok).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// Several arguments
// ---------------------------------------------------------------------------

describe('a custom function of several arguments', () => {
  // weighted sum of squares: Σ w_i (x_i - c)²
  const wss = customDerivative(
    (w: number[], x: number[], c: number) => {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += w[i]! * (x[i]! - c) ** 2;
      return s;
    },
    {
      vjp: ([w, x, c], _y, ct) => {
        const dw = x.map((xi) => ct * (xi - c) ** 2);
        const dx = x.map((xi, i) => ct * 2 * w[i]! * (xi - c));
        let dc = 0;
        for (let i = 0; i < x.length; i++) dc -= ct * 2 * w[i]! * (x[i]! - c);
        return [dw, dx, dc];
      },
    },
  );
  const args: [number[], number[], number] = [[1, 2, 0.5], [0.3, -1, 2], 0.4];

  it('gradients for every argument, in both modes, against finite differences', () => {
    const fd = fdJacobian(wss, args)[0]!;
    const expected = [fd.slice(0, 3), fd.slice(3, 6), fd[6]!];
    for (const mode of ['forward', 'reverse'] as const) {
      const g = grad(wss, { mode })(...args);
      expectVectorClose(g[0], expected[0] as number[], 1e-9, 1e-10, `${mode} dw`);
      expectVectorClose(g[1], expected[1] as number[], 1e-9, 1e-10, `${mode} dx`);
      expect(g[2]).toBeCloseTo(expected[2] as number, 8);
    }
  });

  it('argnums: only some arguments carry derivatives', () => {
    const gx = grad(wss, { argnums: 1 })(...args);
    expectVectorClose(gx, args[1].map((xi, i) => 2 * args[0][i]! * (xi - args[2])), 1e-15, 1e-15);
    const gc = grad(wss, { argnums: 2, mode: 'forward' })(...args);
    expect(gc).toBeCloseTo(-2 * args[0].reduce((s, w, i) => s + w * (args[1][i]! - args[2]), 0), 14);
  });

  it('checkRule over all arguments', () => {
    const r = checkRule(wss, args);
    expect(r.ok).toBe(true);
  });

  it('object arguments', () => {
    const affine = customDerivative((p: { a: number; b: number }, x: number) => p.a * x + p.b, {
      jvp: ([p, x], [dp, dx]) => dp.a * x + dp.b + p.a * dx,
    });
    expect(grad(affine)({ a: 2, b: 3 }, 5)).toEqual([{ a: 5, b: 1 }, 2]);
    expect(grad(affine, { mode: 'forward' })({ a: 2, b: 3 }, 5)).toEqual([{ a: 5, b: 1 }, 2]);
  });
});

// ---------------------------------------------------------------------------
// checkRule
// ---------------------------------------------------------------------------

describe('checkRule', () => {
  it('not ok for a wrong jvp rule, with a message naming the rule, the entry and both values', () => {
    const wrong = customDerivative((x: number) => x * x, { jvp: ([x], [dx]) => 3 * x * dx });
    const r = checkRule(wrong, [2]);
    expect(r.ok).toBe(false);
    expect(r.maxError).toBeCloseTo(0.5, 6);
    expect(r.worst).toMatchObject({ row: 0, column: 0, rule: 'jvp', declared: 6 });
    expect(r.worst!.numeric).toBeCloseTo(4, 6);
    expect(r.message).toMatch(/the jvp rule gives 6 for d output\[0\] \/ d input\[0\], finite differences give 4/);
    expect(r.message).toMatch(/relative error 5\.00e-1 > 0\.000001/);
  });

  it('not ok for a wrong vjp rule in one entry of a vector function', () => {
    // f(x, y) = [x y, x + y]; the rule gets d(x+y)/dy wrong
    const wrong = customDerivative((x: number, y: number) => [x * y, x + y], {
      vjp: ([x, y], _r, [c0, c1]) => [c0! * y + c1!, c0! * x - c1!],
    });
    const r = checkRule(wrong, [2, 3]);
    expect(r.ok).toBe(false);
    expect(r.worst).toMatchObject({ row: 1, column: 1, rule: 'vjp', declared: -1 });
    expect(r.message).toMatch(/the vjp rule gives -1 for d output\[1\] \/ d input\[1\]/);
  });

  it('a wrong rule among two: the jvp is right, the vjp wrong', () => {
    const half = customDerivative((x: number) => Math.exp(x), {
      jvp: ([x], [dx]) => Math.exp(x) * dx,
      vjp: ([x], _y, ct) => [ct * Math.exp(x) * 1.01],
    });
    const r = checkRule(half, [0.5]);
    expect(r.ok).toBe(false);
    expect(r.worst!.rule).toBe('vjp');
  });

  it('tolerance and step options', () => {
    // A rule off by 1e-5 relative passes a loose tolerance and fails a tight one.
    const slightly = customDerivative((x: number) => Math.sin(x), { jvp: ([x], [dx]) => Math.cos(x) * (1 + 1e-5) * dx });
    expect(checkRule(slightly, [0.3], { tolerance: 1e-3 }).ok).toBe(true);
    expect(checkRule(slightly, [0.3]).ok).toBe(false);
    expect(checkRule(slightly, [0.3], { tolerance: 1e-3, step: 1e-4 }).ok).toBe(true);
  });

  it('refuses a function not made by customDerivative', () => {
    const f = (x: number) => x;
    grad(f);
    expect(() => checkRule(f, [1])).toThrow(/checkRule takes a function made by customDerivative/);
  });
});

// ---------------------------------------------------------------------------
// An implicit function: the root of x³ + a x - b = 0
// ---------------------------------------------------------------------------

/** Newton's method for x³ + a x = b (a > 0: one real root). Plain numbers only. */
function solveCubic(a: number, b: number): number {
  let x = Math.cbrt(b);
  for (let k = 0; k < 100; k++) {
    const F = x * x * x + a * x - b;
    const step = F / (3 * x * x + a);
    x -= step;
    if (Math.abs(step) <= 1e-16 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

/**
 * The root x(a, b) with its derivative from the implicit function theorem:
 * F(x, a, b) = x³ + a x - b = 0, so dx = -(F_a da + F_b db) / F_x
 * = (db - x da) / (3x² + a).
 */
const cubicRoot = customDerivative((a: number, b: number) => solveCubic(a, b), {
  jvp: ([a], [da, db], x) => (db - x * da) / (3 * x * x + a),
  vjp: ([a], x, ct) => {
    const s = ct / (3 * x * x + a);
    return [-x * s, s];
  },
});

describe('an implicit function (Newton solver) with the implicit-function-theorem derivative', () => {
  const points: [number, number][] = [[1, 2], [0.5, -3], [2.5, 10]];

  it('the solver finds the root', () => {
    for (const [a, b] of points) {
      const x = cubicRoot(a, b);
      expect(Math.abs(x ** 3 + a * x - b)).toBeLessThan(1e-12 * Math.max(1, Math.abs(b)));
    }
  });

  it('first derivatives against finite differences of the solver, in both modes', () => {
    for (const [a, b] of points) {
      const fd = [fdDerivative((t) => solveCubic(t, b), a), fdDerivative((t) => solveCubic(a, t), b)];
      for (const mode of ['forward', 'reverse'] as const) {
        expectVectorClose(grad(cubicRoot, { mode })(a, b), fd, 1e-8, 1e-10, `${mode} at a=${a}, b=${b}`);
      }
      expect(checkRule(cubicRoot, [a, b]).ok).toBe(true);
    }
  });

  it('through surrounding code: d/da of x(a, a²)·a', () => {
    const g = (a: number) => cubicRoot(a, a * a) * a;
    for (const mode of ['forward', 'reverse'] as const) {
      expect(grad(g, { mode })(1.5)).toBeCloseTo(fdDerivative((t) => solveCubic(t, t * t) * t, 1.5), 8);
    }
  });

  it('second derivatives (the rule differentiated again) against finite differences', () => {
    for (const [a, b] of points) {
      const H = hessian((p: number[]) => cubicRoot(p[0]!, p[1]!))([a, b]);
      const plainGrad = (p: number[]) => {
        const x = solveCubic(p[0]!, p[1]!);
        const s = 1 / (3 * x * x + p[0]!);
        return [-x * s, s];
      };
      expectMatrixClose(H, fdJacobian(plainGrad, [[a, b]]), 1e-8, 1e-9, `hessian vs FD of the IFT gradient at ${a}, ${b}`);
      expectMatrixClose(H, fdHessian((p) => solveCubic(p[0]!, p[1]!), [a, b]), 1e-5, 1e-6, `hessian vs second differences at ${a}, ${b}`);
    }
  });
});

// ---------------------------------------------------------------------------
// Outside differentiation, errors
// ---------------------------------------------------------------------------

describe('plain calls and errors', () => {
  it('outside differentiation a custom function is just the function', () => {
    let calls = 0;
    const f = customDerivative(
      (x: number) => {
        calls++;
        return x + 1;
      },
      { jvp: (_p, [dx]) => dx },
    );
    expect(f(2)).toBe(3);
    expect(calls).toBe(1);
  });

  it('customDerivative without a usable rule is a TypeError', () => {
    expect(() => customDerivative((x: number) => x, {} as never)).toThrow(/needs a rule object with a jvp or a vjp function/);
    expect(() => customDerivative((x: number) => x, null as never)).toThrow(TypeError);
    expect(() => customDerivative(3 as never, { jvp: () => 0 })).toThrow(/customDerivative expects a function, got a number/);
  });

  it('a rule result of the wrong shape is a TypeError', () => {
    const badJvp = customDerivative((x: number[]) => [x[0]!, x[1]!], { jvp: () => [1] as never });
    expect(() => jacobian(badJvp, { mode: 'forward' })([1, 2])).toThrow(/the jvp rule returned 1 number\(s\) where 2 were expected/);
    const badVjp = customDerivative((x: number, y: number) => x * y, { vjp: (_p, _y, ct) => [ct] as never });
    expect(() => grad(badVjp)(1, 2)).toThrow(/a vjp rule must return an array with one cotangent per argument \(2\)/);
    const badVjpShape = customDerivative((x: number[]) => x[0]! * x[1]!, { vjp: (_p, _y, ct) => [[ct]] });
    expect(() => grad(badVjpShape)([1, 2])).toThrow(/the vjp rule returned 1 number\(s\) where 2 were expected/);
  });

  it('a rule object defined outside the call is not compiled: first order works, second order fails loudly', () => {
    const rule = { jvp: ([x]: [number], [dx]: [number]) => Math.cos(x) * dx };
    const mySin = customDerivative((x: number) => Math.sin(x), rule);
    expect(grad(mySin)(1)).toBeCloseTo(Math.cos(1), 15);
    expect(() => grad(grad(mySin))(1)).toThrow(DualtapeError);
  });
});
