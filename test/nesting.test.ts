/**
 * Nested derivatives: grad / jvp / vjp / jacobian / hessian inside one
 * another, in every combination of modes.
 *
 * The classic failure of nested AD is perturbation confusion (Siskind &
 * Pearlmutter): in d/dx [x · (d/dy (x + y))(y = 1)] the inner derivative must
 * treat x as a constant, giving d/dx [x · 1] = 1; an implementation that
 * confuses the two perturbations returns 2. Each nested call must get its own
 * derivative level, per call (not per function).
 */
import { describe, expect, it } from 'vitest';
import { grad, hessian, hvp, jacobian, jvp, stopGradient, vjp } from 'dualtape';
import { expectMatrixClose, expectVectorClose, fdJacobian, matVec } from './helpers/transforms-check.js';
import { fdDerivative } from './helpers/check.js';

const MODES = ['forward', 'reverse'] as const;
type M = (typeof MODES)[number];
const PAIRS: [M, M][] = MODES.flatMap((o) => MODES.map((i): [M, M] => [o, i]));
const TRIPLES: [M, M, M][] = PAIRS.flatMap(([a, b]) => MODES.map((c): [M, M, M] => [a, b, c]));

// ---------------------------------------------------------------------------
// Perturbation confusion
// ---------------------------------------------------------------------------

describe('perturbation confusion', () => {
  it.each(PAIRS)('d/dx [x · d/dy (x + y)] at x = 1 is 1: %s over %s', (outer, inner) => {
    const d = grad((x: number) => x * grad((y: number) => x + y, { mode: inner })(1), { mode: outer });
    expect(d(1)).toBe(1);
    expect(d(7.5)).toBe(1);
  });

  it.each(PAIRS)('d/dx [x · d/dy (x · y)] = 2x (inner derivative depends on x): %s over %s', (outer, inner) => {
    const d = grad((x: number) => x * grad((y: number) => x * y, { mode: inner })(2), { mode: outer });
    expect(d(1)).toBe(2);
    expect(d(3)).toBe(6);
  });

  it('jvp inside grad', () => {
    for (const mode of MODES) {
      expect(grad((x: number) => x * jvp((y: number) => x + y, [1], [1])[1], { mode })(1)).toBe(1);
    }
  });

  it('vjp inside grad (and the pullback called inside)', () => {
    for (const mode of MODES) {
      expect(grad((x: number) => { const [, pb] = vjp((y: number) => x + y, 1); return x * pb(1); }, { mode })(1)).toBe(1);
      // d/dx [x · d/dy (x y + y)] = d/dx [x (x + 1)] = 2x + 1
      expect(grad((x: number) => { const [, pb] = vjp((y: number) => x * y + y, 1); return x * pb(1); }, { mode })(1)).toBe(3);
    }
  });

  it('grad inside jvp, grad inside vjp, jvp inside jvp, vjp inside vjp', () => {
    expect(jvp((x: number) => x * grad((y: number) => x + y)(1), [1], [1])).toEqual([1, 1]);
    expect(jvp((x: number) => x * grad((y: number) => x + y, { mode: 'forward' })(1), [1], [1])).toEqual([1, 1]);
    expect(vjp((x: number) => x * grad((y: number) => x + y)(1), 1)[1](1)).toBe(1);
    expect(jvp((x: number) => x * jvp((y: number) => x + y, [1], [1])[1], [1], [1])).toEqual([1, 1]);
    expect(vjp((x: number) => x * vjp((y: number) => x + y, 1)[1](1), 1)[1](1)).toBe(1);
  });

  it('jacobian and hessian levels are kept apart too', () => {
    // d/dx [x · (∂/∂y (x + y0 + y1))_0] = 1
    expect(grad((x: number) => x * jacobian((y: number[]) => [x + y[0]! + y[1]!])([1, 2])[0]![0]!)(1)).toBe(1);
    expect(grad((x: number) => x * jacobian((y: number[]) => [x + y[0]! + y[1]!], { mode: 'reverse' })([1, 2])[0]![0]!)(1)).toBe(1);
    // d/dx [x · ∂²/∂y² (x y²)] = d/dx [2 x²] = 4x
    expect(grad((x: number) => x * hessian((y: number[]) => x * y[0]! * y[0]!)([3])[0]![0]!)(1)).toBe(4);
  });

  it.each(TRIPLES)('three levels deep (%s / %s / %s)', (m1, m2, m3) => {
    // inner: d/dz (x z + y z + z)|_{z=1} = x + y + 1
    // middle: d/dy [y · (x + y + 1)]|_{y=1} = x + 2y + 1 = x + 3
    // outer: d/dx [x · (x + 3)] = 2x + 3
    const d = grad(
      (x: number) =>
        x *
        grad(
          (y: number) => y * grad((z: number) => x * z + y * z + z, { mode: m3 })(1),
          { mode: m2 },
        )(1),
      { mode: m1 },
    );
    expect(d(1)).toBe(5);
    expect(d(-2)).toBe(-1);
  });

  it('the inner function closes over the outer variable in a loop', () => {
    for (const [outer, inner] of PAIRS) {
      const d = grad(
        (x: number) => {
          let s = 0;
          for (let k = 1; k <= 3; k++) {
            const h = (y: number) => x * y * k + y * y;
            // d/dy h at y = 1: x k + 2; s += x (x k + 2)
            s += x * grad(h, { mode: inner })(1);
          }
          return s;
        },
        { mode: outer },
      );
      // s = 6 x² + 6 x; ds/dx = 12 x + 6
      expect(d(1)).toBe(18);
      expect(d(0.5)).toBe(12);
    }
  });

  it('derivatives of closures made in one loop, applied in another', () => {
    const f = (x: number) => {
      let s = 0;
      const ds: ((y: number) => number)[] = [];
      for (let k = 0; k < 3; k++) {
        const g = (y: number) => Math.sin(x * y + k);
        ds.push(grad(g));
      }
      for (const d of ds) s += x * d(0.5);
      return s;
    };
    // s = Σ_k x · x cos(x/2 + k); ds/dx = Σ_k [2x cos(x/2 + k) - x²/2 sin(x/2 + k)]
    const x = 0.8;
    let expected = 0;
    for (let k = 0; k < 3; k++) expected += 2 * x * Math.cos(x / 2 + k) - (x * x / 2) * Math.sin(x / 2 + k);
    for (const mode of MODES) expect(grad(f, { mode })(x)).toBeCloseTo(expected, 13);
  });

  // Regression (plugin): a function created inside differentiated code used to be marked as
  // compiled only when handed to an entry point inline or by its const name (or returned);
  // reaching grad through an array, an object or a parameter, it was refused.
  it('regression: closures stored in an array inside differentiated code, then differentiated', () => {
    const f = (x: number) => {
      let s = 0;
      const fs: ((y: number) => number)[] = [];
      for (let k = 0; k < 3; k++) fs.push((y: number) => Math.sin(x * y + k));
      for (const g of fs) s += x * grad(g)(0.5);
      return s;
    };
    // s = Σ_k x · x cos(x/2 + k); ds/dx = Σ_k [2x cos(x/2 + k) - x²/2 sin(x/2 + k)]
    const x = 0.8;
    let expected = 0;
    for (let k = 0; k < 3; k++) expected += 2 * x * Math.cos(x / 2 + k) - (x * x / 2) * Math.sin(x / 2 + k);
    for (const mode of MODES) expect(grad(f, { mode })(x)).toBeCloseTo(expected, 13);
  });

  it('the same function differentiated at two levels', () => {
    const cube = (u: number) => u * u * u;
    const dcube = grad(cube);
    // d/dx [cube(x) · dcube(x)] = d/dx 3x⁵ = 15 x⁴
    for (const mode of MODES) {
      expect(grad((x: number) => cube(x) * dcube(x), { mode })(1.1)).toBeCloseTo(15 * 1.1 ** 4, 12);
    }
    // d/dx [x · dcube(x)] = d/dx 3x³ = 9x²
    expect(grad((x: number) => x * dcube(x))(2)).toBe(36);
    // d/dx dcube(x · y)|_{y=x}: the same inner derivative function at two different nesting depths
    const twoLevels = grad((x: number) => dcube(x) + grad((y: number) => dcube(x * y))(1));
    // dcube(x) = 3x²; d/dy dcube(xy) at y = 1 = 6 x² y · ... = 6 x (x y) = 6x²; total 9x², derivative 18x
    expect(twoLevels(2)).toBe(36);
  });

  it('f and its own derivative in the same expression: d/dx [f(x) f\'(x)] = f\'² + f f\'\'', () => {
    const f = (x: number) => Math.sin(x) * x;
    const fp = (x: number) => Math.cos(x) * x + Math.sin(x);
    const fpp = (x: number) => -Math.sin(x) * x + 2 * Math.cos(x);
    const df = grad(f);
    for (const [outer, inner] of PAIRS) {
      const dfm = grad(f, { mode: inner });
      const d = grad((x: number) => f(x) * dfm(x), { mode: outer })(0.7);
      expect(d).toBeCloseTo(fp(0.7) ** 2 + f(0.7) * fpp(0.7), 13);
    }
    expect(df(0.7)).toBeCloseTo(fp(0.7), 14);
  });

  it('stopGradient at one level: d/dx [x · d/dy (stopGradient(x) · y)] = d/dx x² = 2x', () => {
    // stopGradient(x) inside the inner function: the inner derivative is x's value,
    // a constant at every level, so the outer derivative only sees the explicit x.
    expect(grad((x: number) => x * grad((y: number) => stopGradient(x) * y)(1))(3)).toBe(3);
    expect(grad((x: number) => x * grad((y: number) => x * y)(1))(3)).toBe(6);
  });
});

// ---------------------------------------------------------------------------
// Second and third derivatives
// ---------------------------------------------------------------------------

interface Case {
  name: string;
  f: (x: number) => number;
  /** The hand-derived derivative of the order under test. */
  d: (x: number) => number;
  at: number[];
}

/**
 * The functions of the tables below are same-module functions passed by name
 * to `derivativeCase`, which is how the plugin knows to compile them (a
 * function written inline in an object literal would not be).
 */
function derivativeCase(name: string, f: (x: number) => number, d: (x: number) => number, at: number[]): Case {
  return { name, f, d, at };
}

function sinF(x: number): number {
  return Math.sin(x);
}
function cubeF(x: number): number {
  return x ** 3;
}
function exp2F(x: number): number {
  return Math.exp(2 * x);
}
function lorentzianF(x: number): number {
  return 1 / (1 + x * x);
}
function xlogxF(x: number): number {
  return x * Math.log(x);
}
function tanhF(x: number): number {
  return Math.tanh(x);
}
function sqrtF(x: number): number {
  return Math.sqrt(1 + x * x);
}
/** (x+1)(x+2)(x+3) = x³ + 6x² + 11x + 6, in a loop. */
function productF(x: number): number {
  let p = 1;
  for (let k = 1; k <= 3; k++) p *= x + k;
  return p;
}
function quarticF(x: number): number {
  return x ** 4;
}
function xexpF(x: number): number {
  return x * Math.exp(x);
}
function logF(x: number): number {
  return Math.log(x);
}

const SECOND: Case[] = [
  derivativeCase('sin', sinF, (x) => -Math.sin(x), [0.3, 2]),
  derivativeCase('x³', cubeF, (x) => 6 * x, [-1.5, 2]),
  derivativeCase('exp(2x)', exp2F, (x) => 4 * Math.exp(2 * x), [-0.5, 0.7]),
  derivativeCase('1/(1+x²)', lorentzianF, (x) => (6 * x * x - 2) / (1 + x * x) ** 3, [0.4, -2]),
  derivativeCase('x log x', xlogxF, (x) => 1 / x, [0.5, 3]),
  derivativeCase('tanh', tanhF, (x) => (-2 * Math.tanh(x)) / Math.cosh(x) ** 2, [0.2, -1.1]),
  derivativeCase('sqrt(1+x²)', sqrtF, (x) => (1 + x * x) ** -1.5, [0, 1.7]),
  derivativeCase('a loop: (x+1)(x+2)(x+3)', productF, (x) => 6 * x + 12, [0.5, -2]),
];

const THIRD: Case[] = [
  derivativeCase('sin', sinF, (x) => -Math.cos(x), [0.6, 1.9]),
  derivativeCase('x⁴', quarticF, (x) => 24 * x, [0.6, -1.9]),
  derivativeCase('x eˣ', xexpF, (x) => (x + 3) * Math.exp(x), [0.6, -1.9]),
  derivativeCase('log x', logF, (x) => 2 / x ** 3, [0.6, 1.9]),
  derivativeCase('(x+1)(x+2)(x+3)', productF, () => 6, [0.6, -1.9]),
];

describe('grad(grad(f)) against hand-derived second derivatives', () => {
  for (const c of SECOND) {
    it.each(PAIRS)(`${c.name}: %s over %s`, (outer, inner) => {
      const d2 = grad(grad(c.f, { mode: inner }), { mode: outer });
      for (const x of c.at) {
        const v = d2(x);
        expect(typeof v).toBe('number');
        expect(v).toBeCloseTo(c.d(x), 12);
      }
    });
  }

  it('against finite differences of the first derivative', () => {
    const f = (x: number) => Math.atan(x * x) * Math.exp(-x / 3);
    const d1 = grad(f);
    const d2 = grad(grad(f));
    for (const x of [-1.3, 0.2, 2.4]) expect(d2(x)).toBeCloseTo(fdDerivative(d1, x), 8);
  });

  it('mixed partial ∂²/∂x∂y (x² y³) = 6 x y² through nested closures', () => {
    for (const [outer, inner] of PAIRS) {
      const dxdy = grad((x: number) => grad((y: number) => x * x * y * y * y, { mode: inner })(1.5), { mode: outer });
      expect(dxdy(2)).toBeCloseTo(6 * 2 * 1.5 ** 2, 12);
    }
  });

  it('second derivative of a function of an array (grad of a gradient entry)', () => {
    const f = (x: number[]) => x[0]! ** 2 * Math.sin(x[1]!);
    // ∂/∂x1 of (∂f/∂x0 = 2 x0 sin x1) = 2 x0 cos x1
    const g = grad((x: number[]) => grad(f)(x)[0]!)([1.5, 0.4]);
    expectVectorClose(g, [2 * Math.sin(0.4), 2 * 1.5 * Math.cos(0.4)], 1e-14, 1e-15);
  });
});

describe('third derivatives', () => {
  for (const c of THIRD) {
    it(`${c.name}: all 8 combinations of modes`, () => {
      for (const [m1, m2, m3] of TRIPLES) {
        const d3 = grad(grad(grad(c.f, { mode: m3 }), { mode: m2 }), { mode: m1 });
        for (const x of c.at) expect(d3(x)).toBeCloseTo(c.d(x), 11);
      }
    });
  }

  it('fourth derivative of x⁵ / 5! is x (four levels)', () => {
    const f = (x: number) => x ** 5 / 120;
    expect(grad(grad(grad(grad(f))))(1.5)).toBeCloseTo(1.5, 13);
    expect(grad(grad(grad(grad(f, { mode: 'forward' })), { mode: 'forward' }))(1.5)).toBeCloseTo(1.5, 13);
  });

  it('gradient of the Hessian trace (Laplacian): ∇ Σ 12 x_i² = 24 x', () => {
    const lap = (x: number[]) => {
      const H = hessian((y: number[]) => y[0]! ** 4 + y[1]! ** 4 + y[0]! * y[1]!)(x);
      return H[0]![0]! + H[1]![1]!;
    };
    expect(grad(lap)([1, 2])).toEqual([24, 48]);
    expect(grad(lap, { mode: 'forward' })([1, 2])).toEqual([24, 48]);
  });

  it('gradient of a Hessian-vector product', () => {
    // f = y0³ y1; (H [1, 0])_0 = 6 y0 y1; its gradient: [6 y1, 6 y0]
    const g = grad((x: number[]) => hvp((y: number[]) => y[0]! ** 3 * y[1]!)(x, [1, 0])[0]!);
    expect(g([1, 2])).toEqual([12, 6]);
  });
});

// ---------------------------------------------------------------------------
// jacobian of derivatives
// ---------------------------------------------------------------------------

function rosenF(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) s += 100 * (x[i + 1]! - x[i]! ** 2) ** 2 + (1 - x[i]!) ** 2;
  return s;
}
function coupledF(x: number[]): number {
  return Math.exp(x[0]! * x[1]!) / (1 + x[2]! ** 2) + Math.sin(x[0]! + 2 * x[2]!);
}
/** Passing the function by name to a call is what makes the plugin compile it (see derivativeCase). */
function vectorCase(name: string, f: (x: number[]) => number, x: number[]): [string, (x: number[]) => number, number[]] {
  return [name, f, x];
}

describe('jacobian(grad(f)) == hessian(f)', () => {
  const fns = [vectorCase('Rosenbrock', rosenF, [-1.2, 1, 0.5, 2]), vectorCase('coupled', coupledF, [0.3, -0.8, 1.1])];
  for (const [name, f, x] of fns) {
    it(`${name}: every combination of modes`, () => {
      const H = hessian(f)(x);
      for (const [outer, inner] of PAIRS) {
        const J = jacobian(grad(f, { mode: inner }), { mode: outer })(x);
        expectMatrixClose(J, H, 1e-12, 1e-12, `jacobian(${outer}) of grad(${inner})`);
      }
      expectMatrixClose(H, fdJacobian(grad(f), [x]), 1e-7, 1e-6, 'vs FD of the gradient');
    });
  }

  it('jacobian of a jacobian: second derivatives of a vector function, flattened row by row', () => {
    const F = (x: number[]) => [x[0]! * x[0]! * x[1]!, Math.sin(x[1]!) * x[0]!];
    const JJ = jacobian(jacobian(F))([1.5, 0.5]);
    // J = [[2 x0 x1, x0²], [sin x1, x0 cos x1]]; rows of JJ: d J00, d J01, d J10, d J11
    const [a, b] = [1.5, 0.5];
    expectMatrixClose(
      JJ,
      [
        [2 * b, 2 * a],
        [2 * a, 0],
        [0, Math.cos(b)],
        [Math.cos(b), -a * Math.sin(b)],
      ],
      1e-14,
      1e-15,
    );
    expectMatrixClose(jacobian(jacobian(F, { mode: 'reverse' }), { mode: 'reverse' })([1.5, 0.5]), JJ, 1e-14, 1e-15, 'reverse over reverse');
  });

  it('the vjp pullback is itself differentiable: its Jacobian is Jᵀ', () => {
    const F = (x: number[]) => [x[0]! * x[1]!, Math.sin(x[0]!), x[1]! ** 2];
    const x = [1, 2];
    const [, pb] = vjp(F, x);
    const J = jacobian(F)(x);
    const JT = J[0]!.map((_, j) => J.map((row) => row[j]!));
    expectMatrixClose(jacobian(pb)([0.3, -1, 2]), JT, 0, 0, 'forward');
    expectMatrixClose(jacobian(pb, { mode: 'reverse' })([0.3, -1, 2]), JT, 0, 0, 'reverse');
  });

  it('tangents, cotangents and hvp directions that carry derivatives themselves', () => {
    // d/dt of J(x)·t = J(x): for f = x0 x1², J = [x1², 2 x0 x1] = [4, 4] at [1, 2]
    expect(grad((t: number[]) => jvp((x: number[]) => x[0]! * x[1]! * x[1]!, [[1, 2]], [t])[1])([0.3, 0.7])).toEqual([4, 4]);
    // d/dc of (pullback([c, c²]))_0 = d/dc (c x1 + c²) = x1 + 2c
    expect(grad((c: number) => vjp((x: number[]) => [x[0]! * x[1]!, x[0]!], [2, 3])[1]([c, c * c])[0]!)(1.5)).toBe(6);
    // d/dv of w·(H v) = H w (H symmetric)
    const f = (x: number[]) => x[0]! ** 3 * x[1]!;
    const H = hessian(f)([1, 2]);
    const w = [1, 2];
    expectVectorClose(grad((v: number[]) => { const r = hvp(f)([1, 2], v); return w[0]! * r[0]! + w[1]! * r[1]!; })([0.3, 0.7]), matVec(H, w), 1e-15, 0);
  });

  it('jacobian inside jvp', () => {
    // d/dx of ∂/∂y1 (x y0 y1) at y = [1, 2] = d/dx (x y0) = y0 = 1
    expect(jvp((x: number) => jacobian((y: number[]) => [x * y[0]! * y[1]!])([1, 2])[0]![1]!, [3], [1])).toEqual([3, 1]);
  });

  it('grad through a jvp: d/dx of the directional derivative is H v', () => {
    const f = (x: number[]) => Math.exp(x[0]!) * x[1]! + x[0]! * x[1]! ** 3;
    const v = [0.5, -1];
    const x = [0.4, 1.3];
    const dd = grad((y: number[]) => jvp(f, [y], [v])[1]);
    expectVectorClose(dd(x), matVec(hessian(f)(x), v), 1e-13, 1e-14);
    expectVectorClose(grad((y: number[]) => jvp(f, [y], [v])[1], { mode: 'forward' })(x), matVec(hessian(f)(x), v), 1e-13, 1e-14);
  });
});
