/**
 * checkpoint, jvp and vjp across derivative levels: a checkpointed step that
 * closes over a value of an inner derivative, jvp inside grad, and grad of a
 * function that calls a vjp pullback through a checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { checkpoint, grad, hessian, jvp, vjp } from 'dualtape';
import { expectClose, fdDerivative } from './helpers/check.js';
import { expectMatrixClose, fdHessian } from './helpers/transforms-check.js';

const modes = ['reverse', 'forward'] as const;

const cube = checkpoint((s: number) => s * s * s);
function pullbackOfCube(x: number): number {
  const [, pb] = vjp((s: number) => cube(s), x);
  return pb(1) as number; // 3x²
}
function innerCheckpointClosure(p: number): number {
  // d/dq [checkpoint(s => s · q)(p)] = p, for any q.
  return grad((q: number) => checkpoint((s: number) => s * q)(p))(1.5);
}
function closureAtZero(x: number[]): number {
  // d/dq [u · q] = u = x0: the derivative is 1 also at x0 = 0, where the step's partial is exactly 0 at the inner level.
  return grad((q: number) => checkpoint((u: number) => u * q)(x[0]!))(x[0]!);
}
function innerCheckpointBoth(p: number): number {
  // d/dq [p q²] at q = 1.5 is 3p.
  return grad((q: number) => checkpoint((s: number, t: number) => s * t * q)(p, q))(1.5);
}
function jvpOfCheckpoint(p: number): number {
  return jvp((q: number) => checkpoint((s: number) => s * q * q)(p), [1.5], [1])[1]; // 2 · 1.5 · p
}
function checkpointOfOuter(q: number, p: number): number {
  // The step closes over an outer value p: recomputed during the inner sweep with p carrying its derivative.
  return checkpoint((s: number) => Math.sin(s * p))(q);
}
function gradOfOuterClosure(p: number): number {
  return grad((q: number) => checkpointOfOuter(q, p))(0.7); // p cos(0.7 p)
}
const smooth = checkpoint((s: number, w: number) => Math.tanh(s * w) + s * s);
function checkpointed(x: number[]): number {
  let s = x[0]!;
  for (let i = 0; i < 4; i++) s = smooth(s, x[1]!);
  return s;
}
function plain(x: number[]): number {
  let s = x[0]!;
  for (let i = 0; i < 4; i++) s = Math.tanh(s * x[1]!) + s * s;
  return s;
}

describe('checkpoint, jvp and vjp across derivative levels', () => {
  it('grad(p => grad(q => checkpoint(s => s * q)(p))(1.5))(2) is 1', () => {
    for (const mode of modes) {
      expect(grad(innerCheckpointClosure, { mode })(2)).toBe(1);
      expectClose(grad(innerCheckpointBoth, { mode })(2), 3);
    }
    expectClose(grad(innerCheckpointBoth)(2), fdDerivative(innerCheckpointBoth, 2), 1e-6);
  });
  it('a step closing over an inner value, at a point where its inner partial is exactly 0 (found by the property test)', () => {
    for (const mode of modes) {
      expect(grad(closureAtZero, { mode })([0])).toEqual([1]);
      expect(grad(closureAtZero, { mode })([0.5])).toEqual([1]);
    }
  });
  it('jvp of a checkpointed step inside grad', () => {
    for (const mode of modes) expectClose(grad(jvpOfCheckpoint, { mode })(2), 3);
  });
  it('a step closing over an outer value', () => {
    for (const mode of modes) {
      const g = grad(gradOfOuterClosure, { mode })(1.3);
      expectClose(g, Math.cos(0.7 * 1.3) - 0.7 * 1.3 * Math.sin(0.7 * 1.3), 1e-12);
      expectClose(g, fdDerivative(gradOfOuterClosure, 1.3), 1e-6);
    }
  });
  it('grad of a function calling a vjp pullback through a checkpoint', () => {
    for (const mode of modes) expectClose(grad(pullbackOfCube, { mode })(2), 12);
    expect(pullbackOfCube(2)).toBe(12);
  });
  it('hessian through checkpointed steps equals the uncheckpointed one and second differences', () => {
    const x = [0.3, 0.8];
    const H = hessian(checkpointed)(x);
    expectMatrixClose(H, hessian(plain)(x), 1e-12, 1e-12);
    expectMatrixClose(H, fdHessian(plain, x), 1e-5, 1e-5);
  });
});
