/**
 * Float64Array / Float32Array arguments behave as typed arrays at every
 * derivative level (grad, grad of grad, hessian, hvp, jacobian of grad):
 * instanceof, ArrayBuffer.isView, Array.isArray, numeric default sort,
 * subarray, set, map/filter/slice keeping the class; what needs bytes
 * (.buffer, new Float64Array(x.buffer)) throws a DualtapeError.
 */
import { describe, expect, it } from 'vitest';
import { DualtapeError, checkpoint, grad, hessian, hvp, jacobian, jvp, vjp } from 'dualtape';
import { expectClose } from './helpers/check.js';
import { expectMatrixClose, expectVectorClose, fdHessian, matVec } from './helpers/transforms-check.js';

/** 3 · x[1]² · x[0] at x = [3, 1, 2], when every typed-array check takes the typed-array branch. */
function typedChecks(x: Float64Array): number {
  const a = x instanceof Float64Array ? 1 : 0;
  const b = ArrayBuffer.isView(x) ? 1 : 0;
  const c = Array.isArray(x) ? 0 : 1;
  const d = Object.prototype.toString.call(x) === '[object Float64Array]' && x.constructor === Float64Array ? 1 : 0;
  const sub = x.subarray(1);
  const s = x.slice().sort(); // numeric: [1, 2, 3] (as strings "10" < "9" would differ below)
  const m = x.map((v) => v * 2);
  const kept = m instanceof Float64Array && x.filter((v) => v > 0) instanceof Float64Array ? 1 : 0;
  return (a + b + c + d + kept - 2) * sub[0]! * s[0]! * s[2]! * (m[0]! / 2 / x[0]!);
}
/** Numeric default sort with two-digit values: as strings 10 < 9. */
function sortedProduct(x: Float64Array): number {
  const y = x.slice().sort();
  return y[0]! * y[1]! * y[1]!;
}
function copiedIn(x: Float64Array): number {
  const y = new Float64Array(3);
  const z = x.slice();
  z.set(x.subarray(0, 2), 1);
  return y.length * z[2]! * z[0]! + z.reduce((s, v) => s + v, 0);
}
function typedSiblings(x: Float64Array): number {
  const nz = x.filter((v) => v); // truthiness of values, on a typed array
  const made = new (x.constructor as Float64ArrayConstructor)(2); // a real Float64Array of zeros
  const r = (x as unknown as { toReversed(): { with(i: number, v: number): Float64Array } }).toReversed().with(0, 1); // ES2023
  return nz.length * x[1]! + made[1]! + r[1]! * r[2]! + (x.includes(0) ? x[2]! : 0);
}
function throughBuffer(x: Float64Array): number {
  return new Float64Array(x.buffer, 0, 1)[0]!;
}
function writesToSubarray(x: Float64Array): number {
  const s = x.subarray(0, 2);
  s[0] = 5;
  return x[0]!;
}
function squares(x: Float64Array): Float64Array {
  return x.map((v) => v * v);
}
const scaled = checkpoint((x: Float64Array, c: number) => x.map((v) => v * c));
function typedThroughCheckpointAndInnerGrad(x: Float64Array): number {
  const y = scaled(x, 2); // a checkpointed step returning a typed array
  const g = grad((v: Float64Array) => v[0]! * v[1]! * v[1]!)(x); // an inner gradient at an outer level
  const kinds = (y instanceof Float64Array ? 1 : 0) + (g instanceof Float64Array ? 1 : 0);
  return kinds * (y[0]! * g[1]!); // 2 · 2 x0 · 2 x0 x1 = 8 x0² x1
}
function float32(x: Float32Array): number {
  return x instanceof Float32Array && !(x instanceof Float64Array) ? x[0]! * x[1]! : 0;
}

const hand = (x: number[]) => [3 * x[1]! * x[1]!, 6 * x[0]! * x[1]!, 0];
const handH = (x: number[]) => [[0, 6 * x[1]!, 0], [6 * x[1]!, 6 * x[0]!, 0], [0, 0, 0]];

describe('typed-array arguments keep their type at every level', () => {
  const x = [3, 1, 2];
  it('grad, both modes', () => {
    for (const mode of ['reverse', 'forward'] as const) {
      const g = grad(typedChecks, { mode })(new Float64Array(x));
      expect(g).toBeInstanceOf(Float64Array);
      expectClose(Array.from(g), hand(x));
    }
  });
  it('grad of grad, hessian, hvp and jacobian of grad', () => {
    const row0 = grad((v: Float64Array) => grad(typedChecks)(v)[0]!)(new Float64Array(x));
    expectClose(Array.from(row0), handH(x)[0]!);
    const H = hessian(typedChecks)(new Float64Array(x));
    expectMatrixClose(H, handH(x));
    expectMatrixClose(H, fdHessian((v) => typedChecks(new Float64Array(v)), x), 1e-5, 1e-5);
    expectMatrixClose(jacobian(grad(typedChecks))(new Float64Array(x)), handH(x));
    const v = [0.5, -1, 2];
    expectVectorClose(hvp(typedChecks)(new Float64Array(x), new Float64Array(v)), matVec(handH(x), v));
  });
  it('default sort is numeric under hessian too ([10, 9])', () => {
    // y = [9, 10]: f = x1 · x0², H = [[2 x1, 2 x0], [2 x0, 0]].
    const H = hessian(sortedProduct)(new Float64Array([10, 9]));
    expectMatrixClose(H, [[18, 20], [20, 0]]);
    expectMatrixClose(H, fdHessian((v) => sortedProduct(new Float64Array(v)), [10, 9]), 1e-4, 1e-4);
  });
  it('set and subarray copy values in', () => {
    // z = [x0, x0, x1]: f = 3 x1 x0 + 2 x0 + x1.
    for (const mode of ['reverse', 'forward'] as const) {
      expectClose(Array.from(grad(copiedIn, { mode })(new Float64Array([2, 5, 7]))), [3 * 5 + 2, 3 * 2 + 1, 0]);
      expect(copiedIn(new Float64Array([2, 5, 7]))).toBe(3 * 5 * 2 + 2 + 2 + 5);
    }
  });
  it('typed arrays out of a checkpointed step and out of an inner grad stay typed', () => {
    const x = [1.5, 2];
    for (const mode of ['reverse', 'forward'] as const) {
      expectClose(Array.from(grad(typedThroughCheckpointAndInnerGrad, { mode })(new Float64Array(x))), [16 * x[0]! * x[1]!, 8 * x[0]! * x[0]!]);
    }
    expectMatrixClose(hessian(typedThroughCheckpointAndInnerGrad)(new Float64Array(x)), [[16 * x[1]!, 16 * x[0]!], [16 * x[0]!, 0]]);
    expect(typedThroughCheckpointAndInnerGrad(new Float64Array(x))).toBe(8 * 1.5 * 1.5 * 2);
  });
  it('Float32Array arguments are Float32Arrays', () => {
    expectClose(Array.from(grad(float32)(new Float32Array([2, 5]))), [5, 2]);
    expectMatrixClose(hessian(float32)(new Float32Array([2, 5])), [[0, 1], [1, 0]]);
  });
  it('filter by truthiness, new x.constructor(n), toReversed and with, includes(0)', () => {
    // x = [0, 3, 2]: nz = [3, 2]; r = [1, 3, 0]: f = 2 x1 + 0 + x1 x0 + x2.
    for (const mode of ['reverse', 'forward'] as const) {
      expectClose(Array.from(grad(typedSiblings, { mode })(new Float64Array([0, 3, 2]))), [3, 2, 1]);
    }
    expect(typedSiblings(new Float64Array([0, 3, 2]))).toBe(8);
    expectMatrixClose(hessian(typedSiblings)(new Float64Array([0, 3, 2])), [[0, 1, 0], [1, 0, 0], [0, 0, 0]]);
  });
  it('.buffer throws a DualtapeError saying what to do; writes through a subarray throw', () => {
    for (const run of [() => grad(throughBuffer)(new Float64Array(x)), () => hessian(throughBuffer)(new Float64Array(x))]) {
      expect(run).toThrow(DualtapeError);
      expect(run).toThrow(/\.buffer of a Float64Array argument.*Read it by index/);
    }
    expect(() => grad(writesToSubarray)(new Float64Array(x))).toThrow(TypeError);
  });
  it('jvp and vjp give typed-array outputs back as real Float64Arrays', () => {
    const [y, t] = jvp(squares, [new Float64Array([2, 3])], [new Float64Array([1, 0.5])]);
    expect(y).toBeInstanceOf(Float64Array);
    expect(t).toBeInstanceOf(Float64Array);
    expect(Array.from(y as Float64Array)).toEqual([4, 9]);
    expect(Array.from(t as Float64Array)).toEqual([4, 3]);
    const [v, pullback] = vjp(squares, new Float64Array([2, 3]));
    expect(ArrayBuffer.isView(v) && (v as Float64Array).buffer.byteLength).toBe(16);
    expect(Array.from(pullback(new Float64Array([1, 1]) as never) as Float64Array)).toEqual([4, 6]);
  });
  it('a plain call is untouched', () => {
    expect(typedChecks(new Float64Array(x))).toBe(3 * 1 * 1 * 3);
    expect(throughBuffer(new Float64Array(x))).toBe(3);
  });
});
