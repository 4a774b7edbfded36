import { describe, it, expect } from 'vitest';
import { grad, valueAndGrad } from 'dualtape';
import { setTier, tierOfCompiled } from '../runtime/adjoint/entry.ts';
import { compiledVersion } from '../runtime/registry.ts';
import { rosenbrock, mlpLoss, rnnLoss, straightLine } from '../bench/workloads.ts';
import { mlpCase, rnnCase } from '../bench/cases.ts';

function both<T>(run: () => T): [T, T] {
  setTier('auto');
  const a = run();
  setTier('tape');
  try { return [a, run()]; } finally { setTier('auto'); }
}

describe('smoke', () => {
  it('rosenbrock', () => {
    const x = [0.3, -1.2, 0.7, 1.1, -0.4];
    console.log(tierOfCompiled(compiledVersion(rosenbrock)!));
    const [a, b] = both(() => valueAndGrad(rosenbrock)(x));
    console.log(a, b);
    expect(a[0]).toBe(rosenbrock(x));
    for (let i = 0; i < x.length; i++) expect(a[1][i]).toBeCloseTo(b[1][i], 12);
  });
  it('straight', () => {
    const x = [0.3, -1.2, 0.7, 1.1, -0.4];
    console.log(tierOfCompiled(compiledVersion(straightLine)!));
    const [a, b] = both(() => valueAndGrad(straightLine)(x));
    expect(a[0]).toBe(straightLine(x));
    for (let i = 0; i < x.length; i++) expect(a[1][i]).toBeCloseTo(b[1][i], 12);
  });
  it('mlp', () => {
    const inst = mlpCase.make(4);
    console.log(tierOfCompiled(compiledVersion(mlpLoss)!));
    const [a, b] = both(() => valueAndGrad(mlpLoss, { argnums: 0 })(inst.x, inst.data));
    expect(a[0]).toBe(mlpLoss(inst.x, inst.data));
    for (let i = 0; i < inst.x.length; i++) expect(a[1][i]).toBeCloseTo(b[1][i], 12);
  });
  it('rnn', () => {
    const inst = rnnCase.make(4);
    console.log(tierOfCompiled(compiledVersion(rnnLoss)!));
    const [a, b] = both(() => valueAndGrad(rnnLoss, { argnums: 0 })(inst.x, inst.data));
    expect(a[0]).toBe(rnnLoss(inst.x, inst.data));
    for (let i = 0; i < inst.x.length; i++) expect(a[1][i]).toBeCloseTo(b[1][i], 12);
  });
});
