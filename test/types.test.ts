/**
 * The types of grad and valueAndGrad: a gradient has the shape of what it is
 * the gradient of. Checked by `tsc -p tsconfig.json --noEmit` (vitest does
 * not type-check; it only runs the few run-time checks below, which make sure
 * the values have the shapes the types promise).
 */
import { describe, it, expect, expectTypeOf } from 'vitest';
import { grad, valueAndGrad } from 'dualtape';
import type { Differentiable, GradOf, GradOptions, GradsOf, Mode } from 'dualtape';

describe('grad: one argument, the gradient has its shape', () => {
  it('number -> number', () => {
    expectTypeOf(grad((x: number) => x * x)).toEqualTypeOf<(x: number) => number>();
  });

  it('number[] -> number[]', () => {
    expectTypeOf(grad((x: number[]) => x[0]!)).toEqualTypeOf<(x: number[]) => number[]>();
  });

  it('readonly number[] -> number[] (the gradient is a fresh, mutable array)', () => {
    expectTypeOf(grad((x: readonly number[]) => x[0]!)).toEqualTypeOf<(x: readonly number[]) => number[]>();
  });

  it('nested arrays', () => {
    expectTypeOf(grad((m: number[][]) => m[0]![0]!)).toEqualTypeOf<(m: number[][]) => number[][]>();
    expectTypeOf(grad((t: number[][][]) => t[0]![0]![0]!)).toEqualTypeOf<(t: number[][][]) => number[][][]>();
  });

  it('tuples keep their length', () => {
    expectTypeOf(grad((p: [number, number]) => p[0] * p[1])).toEqualTypeOf<(p: [number, number]) => [number, number]>();
    expectTypeOf(grad((p: readonly [number, number[]]) => p[0])).toEqualTypeOf<
      (p: readonly [number, number[]]) => [number, number[]]
    >();
  });

  it('Float64Array -> Float64Array, Float32Array -> Float64Array', () => {
    expectTypeOf(grad((x: Float64Array) => x[0]!)).toEqualTypeOf<(x: Float64Array) => Float64Array>();
    expectTypeOf(grad((x: Float32Array) => x[0]!)).toEqualTypeOf<(x: Float32Array) => Float64Array>();
  });

  it('objects, nested objects, readonly properties', () => {
    interface Params {
      w: number[];
      b: number;
    }
    expectTypeOf(grad((p: Params) => p.b)).toEqualTypeOf<(p: Params) => { w: number[]; b: number }>();
    expectTypeOf(grad((p: { readonly layers: readonly { readonly w: number[][]; b: Float64Array }[] }) => p.layers.length)).toEqualTypeOf<
      (p: { readonly layers: readonly { readonly w: number[][]; b: Float64Array }[] }) => { layers: { w: number[][]; b: Float64Array }[] }
    >();
  });
});

describe('grad: several arguments', () => {
  it('two arguments -> a tuple of gradients', () => {
    expectTypeOf(grad((x: number, y: number) => x * y)).toEqualTypeOf<(x: number, y: number) => [number, number]>();
    expectTypeOf(grad((w: number[], b: { c: number }) => w[0]! + b.c)).toEqualTypeOf<
      (w: number[], b: { c: number }) => [number[], { c: number }]
    >();
  });

  it('argnums: a number -> the gradient of that argument alone', () => {
    expectTypeOf(grad((x: number, y: number[]) => x * y[0]!, { argnums: 1 })).toEqualTypeOf<(x: number, y: number[]) => number[]>();
    expectTypeOf(grad((x: number, y: number[]) => x * y[0]!, { argnums: 0 })).toEqualTypeOf<(x: number, y: number[]) => number>();
  });

  it('argnums: an array -> a tuple in that order', () => {
    expectTypeOf(grad((x: number, y: number[], z: Float32Array) => x * y[0]! * z[0]!, { argnums: [2, 0] })).toEqualTypeOf<
      (x: number, y: number[], z: Float32Array) => [Float64Array, number]
    >();
    expectTypeOf(grad((x: number, y: number[]) => x * y[0]!, { argnums: [1] })).toEqualTypeOf<(x: number, y: number[]) => [number[]]>();
  });

  it('data arguments excluded by argnums may have any type', () => {
    expectTypeOf(grad((x: number, label: string) => (label ? x : 0), { argnums: 0 })).toEqualTypeOf<
      (x: number, label: string) => number
    >();
  });

  it('mode does not change the type', () => {
    expectTypeOf(grad((x: number[]) => x[0]!, { mode: 'forward' })).toEqualTypeOf<(x: number[]) => number[]>();
    expectTypeOf(grad((x: number, y: number) => x * y, { mode: 'reverse', argnums: 1 })).toEqualTypeOf<(x: number, y: number) => number>();
  });
});

describe('valueAndGrad', () => {
  it('[value, gradient]', () => {
    expectTypeOf(valueAndGrad((x: number) => x * x)).toEqualTypeOf<(x: number) => [number, number]>();
    expectTypeOf(valueAndGrad((x: number[]) => x[0]!)).toEqualTypeOf<(x: number[]) => [number, number[]]>();
    expectTypeOf(valueAndGrad((x: Float64Array) => x[0]!)).toEqualTypeOf<(x: Float64Array) => [number, Float64Array]>();
    expectTypeOf(valueAndGrad((p: { w: number[] }) => p.w[0]!)).toEqualTypeOf<(p: { w: number[] }) => [number, { w: number[] }]>();
  });

  it('several arguments and argnums', () => {
    expectTypeOf(valueAndGrad((x: number, y: number[]) => x * y[0]!)).toEqualTypeOf<
      (x: number, y: number[]) => [number, [number, number[]]]
    >();
    expectTypeOf(valueAndGrad((x: number, y: number[]) => x * y[0]!, { argnums: 1 })).toEqualTypeOf<
      (x: number, y: number[]) => [number, number[]]
    >();
    expectTypeOf(valueAndGrad((x: number, y: number[]) => x * y[0]!, { argnums: [1, 0] })).toEqualTypeOf<
      (x: number, y: number[]) => [number, [number[], number]]
    >();
  });
});

describe('the exported helper types', () => {
  it('GradOf', () => {
    expectTypeOf<GradOf<number>>().toEqualTypeOf<number>();
    expectTypeOf<GradOf<readonly number[]>>().toEqualTypeOf<number[]>();
    expectTypeOf<GradOf<Float32Array>>().toEqualTypeOf<Float64Array>();
    expectTypeOf<GradOf<{ readonly a: readonly [number, Float64Array] }>>().toEqualTypeOf<{ a: [number, Float64Array] }>();
  });

  it('GradsOf', () => {
    expectTypeOf<GradsOf<[number]>>().toEqualTypeOf<number>();
    expectTypeOf<GradsOf<[number[], number]>>().toEqualTypeOf<[number[], number]>();
  });

  it('Differentiable, GradOptions, Mode', () => {
    expectTypeOf<{ w: number[][]; b: Float64Array; c: { d: Float32Array } }>().toExtend<Differentiable>();
    expectTypeOf<readonly [number, readonly number[]]>().toExtend<Differentiable>();
    expectTypeOf<string>().not.toExtend<Differentiable>();
    expectTypeOf<Map<string, number>>().not.toExtend<Differentiable>();
    expectTypeOf<Int32Array>().not.toExtend<Differentiable>();
    expectTypeOf<Mode>().toEqualTypeOf<'reverse' | 'forward'>();
    expectTypeOf<{ mode: 'forward'; argnums: [0, 1] }>().toExtend<GradOptions>();
    expectTypeOf<{ mode: 'sideways' }>().not.toExtend<GradOptions>();
  });
});

describe('what does not type-check', () => {
  it('functions that do not return a number, and bad options', () => {
    // Never called: these only have to be rejected by the type checker.
    const rejected = () => {
      // @ts-expect-error: the function must return a number
      grad((x: number) => String(x));
      // @ts-expect-error: the function must return a number
      valueAndGrad((x: number[]) => x);
      // @ts-expect-error: mode is 'reverse' or 'forward'
      grad((x: number) => x, { mode: 'backward' });
      // @ts-expect-error: argnums is a number or an array of numbers
      grad((x: number) => x, { argnums: '0' });
      // @ts-expect-error: the gradient function takes the arguments of f
      grad((x: number) => x)('3');
      // @ts-expect-error: and all of them
      grad((x: number, y: number) => x * y)(1);
    };
    expectTypeOf(rejected).toBeFunction();
  });
});

// The values must have the shapes the types promise.
describe('run time agrees with the types', () => {
  it('one argument: its gradient; several: a tuple', () => {
    const g1: number[] = grad((x: number[]) => x[0]! * x[1]!)([2, 3]);
    expect(g1).toEqual([3, 2]);
    const g2: [number, number] = grad((x: number, y: number) => x * y)(2, 3);
    expect(g2).toEqual([3, 2]);
    const g3: [number, number[]] = valueAndGrad((x: number[]) => x[0]!)([5]);
    expect(g3).toEqual([5, [1]]);
    const g4: Float64Array = grad((x: Float32Array) => x[0]! * 2)(new Float32Array([1]));
    expect(g4).toBeInstanceOf(Float64Array);
    const g5: [number[]] = grad((x: number, y: number[]) => x * y[0]!, { argnums: [1] })(2, [3]);
    expect(g5).toEqual([[2]]);
    const g6: number = grad((x: number, y: number[]) => x * y[0]!, { argnums: 0 })(2, [3]);
    expect(g6).toBe(3);
  });

  it('a rest parameter: one gradient when called with one argument, a tuple otherwise', () => {
    const g = grad((...xs: number[]) => xs[0]! * 2);
    expectTypeOf(g).toEqualTypeOf<(...xs: number[]) => number | number[]>();
    expect(g(3)).toBe(2);
    expect(g(3, 4)).toEqual([2, 0]);
  });

  it('an optional parameter: left out, the gradient of the one argument', () => {
    const g = grad((x: number, y?: number) => x * (y ?? 1));
    expectTypeOf(g).returns.toEqualTypeOf<number | [number, number?]>();
    expect(g(3)).toBe(1);
    expect(g(3, 2)).toEqual([2, 3]);
  });
});
