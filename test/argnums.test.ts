/**
 * argnums on jacobian and hessian: the listed arguments are the inputs
 * (columns), the others are data passed as they are. Checked against the
 * full Jacobian/Hessian, central finite differences and hand-derived formulas.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import fc from 'fast-check';
import { grad, hessian, jacobian } from 'dualtape';

/** y_i = w_0 * x_i^2 + sin(w_1 * x_i) with data x. */
function model(w: number[], x: number[], scale: number): number[] {
  return x.map((xi) => scale * (w[0]! * xi * xi + Math.sin(w[1]! * xi)));
}

/** Sum of squared residuals of a line fit: hessian in (a, b) is 2 Σ [x², x; x, 1]. */
function sse(p: number[], xs: number[], ys: number[]): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (p[0]! * xs[i]! + p[1]! - ys[i]!) ** 2;
  return s;
}

const central = (f: (t: number) => number[], h = 1e-6) => {
  const a = f(h);
  const b = f(-h);
  return a.map((v, i) => (v - b[i]!) / (2 * h));
};

describe('jacobian with argnums', () => {
  const w = [0.7, -1.3];
  const x = [0.5, 1.5, -2, 3];
  for (const mode of ['forward', 'reverse', 'auto'] as const) {
    it(`${mode}: columns are the leaves of the listed arguments only`, () => {
      const jw = jacobian(model, { argnums: 0, mode })(w, x, 2);
      expect(jw).toHaveLength(x.length);
      for (const row of jw) expect(row).toHaveLength(w.length);
      // Hand-derived: d/dw0 = 2 x², d/dw1 = 2 x cos(w1 x).
      x.forEach((xi, i) => {
        expect(jw[i]![0]).toBeCloseTo(2 * xi * xi, 12);
        expect(jw[i]![1]).toBeCloseTo(2 * xi * Math.cos(w[1]! * xi), 12);
      });
      // The full Jacobian's first columns are the same numbers.
      const full = jacobian((ww: number[], xx: number[]) => model(ww, xx, 2), { mode })(w, x);
      jw.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(full[i]![j]!, 12)));
      // argnums [1]: columns for x (diagonal), by finite differences.
      const jx = jacobian(model, { argnums: [1], mode })(w, x, 2);
      x.forEach((_, j) => {
        const col = central((h) => model(w, x.map((v, k) => (k === j ? v + h : v)), 2));
        col.forEach((v, i) => expect(jx[i]![j]).toBeCloseTo(v, 6));
      });
    });
  }

  it('two listed arguments: columns in the order listed', () => {
    const f = (a: number[], k: number, b: number) => [a[0]! * b * k, a[1]! + b * b];
    const j = jacobian(f, { argnums: [2, 0] })([2, 3], 10, 5);
    // Columns: b, a0, a1.
    expect(j).toEqual([
      [2 * 10, 5 * 10, 0],
      [2 * 5, 0, 1],
    ]);
  });

  it('data arguments may be anything (strings, objects); bad argnums are refused', () => {
    const f = (a: number[], label: string) => (label === 'double' ? [2 * a[0]!] : [a[0]!]);
    expect(jacobian(f, { argnums: 0 })([3], 'double')).toEqual([[2]]);
    expect(() => jacobian(f, { argnums: [0, 0] as never })).toThrow(/lists an argument twice/);
    expect(() => jacobian(f, { argnums: -1 as never })).toThrow(/non-negative integer/);
    expect(() => jacobian(f, { argnums: 2 as never })([1], 'x')).toThrow(/argument 2/);
  });
});

describe('hessian with argnums', () => {
  const xs = [0, 1, 2, 3, 4];
  const ys = [1, 2.9, 5.2, 7.1, 8.8];
  it('the Hessian in the parameters alone, the data held constant', () => {
    const h = hessian(sse, { argnums: 0 })([0.3, 0.1], xs, ys);
    let sx2 = 0;
    let sx = 0;
    for (const v of xs) {
      sx2 += v * v;
      sx += v;
    }
    // Hand-derived: 2 Σ [x², x; x, 1].
    expect(h).toEqual([
      [2 * sx2, 2 * sx],
      [2 * sx, 2 * xs.length],
    ]);
    // The same as the closure over the data.
    const closed = hessian((p: number[]) => sse(p, xs, ys))([0.3, 0.1]);
    expect(h).toEqual(closed);
  });

  it('non-quadratic, against finite differences of the gradient formula', () => {
    const f = (x: number[], c: number) => Math.exp(c * x[0]!) * Math.sin(x[1]!);
    const x = [0.4, 1.1];
    const c = 0.7;
    const h = hessian(f, { argnums: 0 })(x, c);
    const g = (p: number[]) => [c * Math.exp(c * p[0]!) * Math.sin(p[1]!), Math.exp(c * p[0]!) * Math.cos(p[1]!)];
    for (let j = 0; j < 2; j++) {
      const col = central((t) => g(x.map((v, k) => (k === j ? v + t : v))));
      col.forEach((v, i) => expect(h[i]![j]).toBeCloseTo(v, 6));
    }
  });

  it('nested: a data argument that carries an outer derivative passes it through', () => {
    // d/dc of H_00 = c² e^{c x0} sin(x1): (2c + c² x0) e^{c x0} sin(x1); checked by hand and by finite differences.
    const f = (x: number[], c: number) => Math.exp(c * x[0]!) * Math.sin(x[1]!);
    const x = [0.4, 1.1];
    const h00 = (c: number) => hessian(f, { argnums: 0 })(x, c)[0]![0]!;
    const c = 0.7;
    const byHand = (2 * c + c * c * x[0]!) * Math.exp(c * x[0]!) * Math.sin(x[1]!);
    for (const mode of ['reverse', 'forward'] as const) {
      expect(grad(h00, { mode })(c)).toBeCloseTo(byHand, 12);
    }
    expect((h00(c + 1e-5) - h00(c - 1e-5)) / 2e-5).toBeCloseTo(byHand, 6);
    // The same through jacobian: d/dc of the Jacobian column in x0.
    const j0 = (k: number) => jacobian((v: number[], s: number) => [s * v[0]! * v[0]!], { argnums: 0 })(x, k)[0]![0]!;
    expect(grad(j0)(c)).toBeCloseTo(2 * x[0]!, 12);
  });

  it('types: argnums must name an argument; without it, one vector', () => {
    expectTypeOf(hessian(sse, { argnums: 0 })).toEqualTypeOf<(p: number[], xs: number[], ys: number[]) => number[][]>();
    expectTypeOf(jacobian(model, { argnums: [0, 1] })).toEqualTypeOf<(w: number[], x: number[], scale: number) => number[][]>();
    // @ts-expect-error: sse has three arguments; 3 is not one of them.
    hessian(sse, { argnums: 3 });
    // @ts-expect-error: without argnums, hessian takes a function of one vector.
    hessian(sse);
  });
});

describe('argnums, property: the listed arguments\' columns of the full Jacobian', () => {
  const small = fc.double({ min: -2, max: 2, noNaN: true });
  it('jacobian(f, { argnums }) is the full Jacobian restricted to those columns, in every mode', () => {
    // f(a, b, c) = [a0 b1 c, sin(a1) + b0², c a0 b0]: every argument matters to some output.
    const f = (a: number[], b: number[], c: number) => [a[0]! * b[1]! * c, Math.sin(a[1]!) + b[0]! ** 2, c * a[0]! * b[0]!];
    fc.assert(
      fc.property(
        fc.tuple(small, small), fc.tuple(small, small), small,
        fc.subarray([0, 1, 2], { minLength: 1 }), fc.constantFrom('forward' as const, 'reverse' as const, 'auto' as const),
        fc.boolean(),
        (a, b, c, chosen, mode, reversed) => {
          const list = reversed ? [...chosen].reverse() : chosen;
          const full = jacobian(f, { mode: 'reverse' })(a, b, c);
          const offsets = [0, 2, 4];
          const widths = [2, 2, 1];
          const columns = list.flatMap((k) => Array.from({ length: widths[k]! }, (_, i) => offsets[k]! + i));
          const part = jacobian(f, { argnums: list as [0], mode })(a, b, c);
          const expected = full.map((row) => columns.map((j) => row[j]!));
          expect(part.map((row) => row.length)).toEqual(expected.map((row) => row.length));
          // The modes may sum the chain rule in another order: equal to rounding (and -0 is 0).
          part.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - expected[i]![j]!)).toBeLessThanOrEqual(1e-14 * (1 + Math.abs(v)))));
        },
      ),
      { numRuns: 60 },
    );
  });
});
