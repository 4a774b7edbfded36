import { expect, test } from '@jest/globals';
import { grad, valueAndGrad } from 'dualtape';
import { fitCurve, handGradient, makeData, lossAndGrad } from '../../examples/curve-fit/fit.ts';

function rosenbrock(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) s += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2;
  return s;
}

test('grad of a function in the test file, both modes', () => {
  const x = [1.2, 1.0, 0.8];
  const expected = [
    -400 * 1.2 * (1.0 - 1.44) - 2 * (1 - 1.2),
    200 * (1.0 - 1.44) - 400 * 1.0 * (0.8 - 1.0) - 2 * (1 - 1.0),
    200 * (0.8 - 1.0),
  ];
  for (const mode of ['reverse', 'forward'] as const) {
    const g = grad(rosenbrock, { mode })(x);
    g.forEach((gi, i) => expect(gi).toBeCloseTo(expected[i], 10));
  }
  const [value, dx] = valueAndGrad((x: number) => Math.sin(x) * x)(2);
  expect(value).toBeCloseTo(Math.sin(2) * 2, 12);
  expect(dx).toBeCloseTo(Math.cos(2) * 2 + Math.sin(2), 12);
});

test('the curve-fit example (a helper module with a file-level directive)', () => {
  const data = makeData();
  const p = [2, 1, 0.3];
  const [, g] = lossAndGrad(p, data);
  handGradient(p, data).forEach((gi, i) => expect(g[i]).toBeCloseTo(gi, 12));

  const result = fitCurve();
  expect(result.params[0]).toBeCloseTo(2.45, 1);
  expect(result.params[1]).toBeCloseTo(1.31, 1);
  expect(result.params[2]).toBeCloseTo(0.52, 1);
  expect(Math.max(...result.gradient.map(Math.abs))).toBeLessThan(1e-4);
});
