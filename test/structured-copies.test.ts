/**
 * Structured copies (structuredClone, postMessage, v8.serialize) of values
 * carrying derivatives throw a DualtapeError saying what to do, as
 * JSON.stringify does; copies of plain results are untouched.
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { DualtapeError, grad, hessian, stopGradient } from 'dualtape';

function cloned(x: number): number {
  return structuredClone([x * 2])[0]! * 3;
}
function serialized(x: number): number {
  v8.serialize({ loss: x * x });
  return x;
}
function posted(x: number): number {
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage({ value: x });
  } finally {
    port1.close();
    port2.close();
  }
  return x;
}
function clonedConstant(x: number): number {
  const c = structuredClone(stopGradient([x, 2 * x]));
  return c[1]! * x;
}

describe('structured copies of differentiable values', () => {
  for (const mode of ['reverse', 'forward'] as const) {
    it(`structuredClone, v8.serialize and postMessage throw (${mode})`, () => {
      const runs = [() => grad(cloned, { mode })(1.5), () => grad(serialized, { mode })(1.5), () => grad(posted, { mode })(1.5)];
      for (const run of runs) {
        expect(run).toThrow(DualtapeError);
        expect(run).toThrow(/structured copy.*stopGradient/);
      }
    });
    it(`a copy of stopGradient(x) is a plain copy (${mode})`, () => {
      expect(grad(clonedConstant, { mode })(1.5)).toBe(3);
    });
  }
  it('under hessian too', () => {
    expect(() => hessian((x: number[]) => cloned(x[0]!))([1])).toThrow(DualtapeError);
  });
  it('plain calls and gradients (plain numbers) copy as usual', () => {
    expect(cloned(1.5)).toBe(9);
    expect(structuredClone(grad((x: number[]) => x[0]! * x[1]!)([2, 3]))).toEqual([3, 2]);
  });
});
