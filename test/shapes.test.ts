/**
 * Argument shapes and gradient layouts: numbers, arrays (nested, ragged),
 * Float64Array, Float32Array, plain objects (nested, with arrays inside),
 * several arguments, argnums as a number or an array, and valueAndGrad.
 */
import { describe, it, expect } from 'vitest';
import { grad, valueAndGrad } from 'dualtape';
import { checkGrad, checkValueAndGrad, expectClose } from './helpers/check.js';

// ---------------------------------------------------------------------------
// Functions under test
// ---------------------------------------------------------------------------
function cube(x: number): number {
  return x * x * x;
}

function weightedSquares(xs: number[]): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (i + 1) * xs[i]! * xs[i]!;
  return s;
}

function ragged(m: number[][]): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) {
    const row = m[i]!;
    for (let j = 0; j < row.length; j++) s += row[j]! * (i + 1) * (j + 2);
  }
  return s;
}

function deep(t: number[][][]): number {
  return t[0]![0]![0]! * t[1]![0]![1]! + Math.sin(t[1]![1]![0]!);
}

function typedDot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function typedUsage(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  const m = v.reduce((acc, x) => acc + x, 0);
  return s + m * v[0]!;
}

interface Params {
  w: number[];
  b: number;
  inner: { s: number; t: Float64Array };
}

function objectLoss(p: Params): number {
  const lin = p.w[0]! * 2 + p.w[1]! * 3 + p.b;
  return lin * lin + p.inner.s * p.inner.t[0]! + p.inner.t[1]!;
}

interface Layer {
  w: number[];
  b: number;
}

function layers(net: { layers: Layer[] }, x: number): number {
  let h = x;
  for (const layer of net.layers) h = Math.tanh(layer.w[0]! * h + layer.b) * layer.w[1]!;
  return h;
}

function mixed(x: number, xs: number[], o: { a: number; b: number[] }): number {
  return x * xs[0]! + xs[1]! * o.a + o.b[0]! * o.b[1]! * x;
}

function withData(scale: number, label: string, data: { xs: number[] }, offset: number, verbose: boolean): number {
  const k = label === 'double' ? 2 : 1;
  let s = 0;
  for (const v of data.xs) s += (v * scale - offset) ** 2;
  return verbose ? k * s : k * s + 0;
}

function ignoresAll(xs: number[], o: { a: number }, f: Float64Array): number {
  return xs.length + Object.keys(o).length + f.length;
}

function emptyOk(xs: number[], o: Record<string, number>, y: number): number {
  let s = y * y;
  for (const v of xs) s += v;
  for (const k in o) s += o[k]!;
  return s;
}

// ---------------------------------------------------------------------------
// One argument
// ---------------------------------------------------------------------------
describe('one argument: the gradient has its shape', () => {
  it('number -> number', () => {
    const g = grad(cube)(1.5);
    expect(typeof g).toBe('number');
    checkGrad({ f: cube, rev: grad(cube), fwd: grad(cube, { mode: 'forward' }) }, [1.5], 3 * 1.5 * 1.5);
    checkGrad({ f: cube, rev: grad(cube), fwd: grad(cube, { mode: 'forward' }) }, [-2], 12);
  });
  it('number[] -> number[]', () => {
    const fns = { f: weightedSquares, rev: grad(weightedSquares), fwd: grad(weightedSquares, { mode: 'forward' }) };
    const { rev } = checkGrad(fns, [[1, -2, 0.5]], [2 * 1, 2 * 2 * -2, 2 * 3 * 0.5]);
    expect(Array.isArray(rev)).toBe(true);
    checkGrad(fns, [[4]], [8]);
  });
  it('ragged nested arrays -> same nesting', () => {
    const fns = { f: ragged, rev: grad(ragged), fwd: grad(ragged, { mode: 'forward' }) };
    checkGrad(fns, [[[1, 2], [3], [4, 5, 6]]], [[2, 3], [4], [6, 9, 12]]);
  });
  it('three levels of nesting', () => {
    const fns = { f: deep, rev: grad(deep), fwd: grad(deep, { mode: 'forward' }) };
    const t = [[[2]], [[0.5, 3], [0.25]]];
    checkGrad(fns, [t], [[[3]], [[0, 2], [Math.cos(0.25)]]]);
  });
  it('Float64Array -> Float64Array', () => {
    const fns = { f: weightedSquares, rev: grad(weightedSquares), fwd: grad(weightedSquares, { mode: 'forward' }) };
    const x = new Float64Array([1, -2, 0.5]);
    const { rev, fwd } = checkGrad(fns, [x], new Float64Array([2, -8, 3]));
    expect(rev).toBeInstanceOf(Float64Array);
    expect(fwd).toBeInstanceOf(Float64Array);
  });
  it('Float32Array -> Float64Array (derivatives at the stored float32 values)', () => {
    const fns = { f: typedUsage, rev: grad(typedUsage), fwd: grad(typedUsage, { mode: 'forward' }) };
    const v = new Float32Array([0.1, -0.7, 1.3]);
    const [a, b, c] = Array.from(v); // the float32 values, widened
    const m = a! + b! + c!;
    // s = Σ v², m = Σ v, result s + m v0
    const expected = new Float64Array([2 * a! + m + a!, 2 * b! + a!, 2 * c! + a!]);
    const { rev } = checkGrad(fns, [v], expected);
    expect(rev).toBeInstanceOf(Float64Array);
    expect(rev).not.toBeInstanceOf(Float32Array);
    expect(Math.fround(0.1)).not.toBe(0.1); // the test means something: the float32 value differs
    // the derivative w.r.t. v[1] is 2 * fround(-0.7) + fround(0.1), not 2 * -0.7 + 0.1
    expect(Math.abs((rev as Float64Array)[1]! - (2 * -0.7 + 0.1))).toBeGreaterThan(1e-9);
  });
  it('plain object with arrays, a number and a nested object -> same shape', () => {
    const fns = { f: objectLoss, rev: grad(objectLoss), fwd: grad(objectLoss, { mode: 'forward' }) };
    const p: Params = { w: [0.5, -1], b: 2, inner: { s: 3, t: new Float64Array([0.25, 7]) } };
    const lin = 0.5 * 2 + -1 * 3 + 2; // 0
    const lin2 = 1.5 * 2 + -1 * 3 + 2; // 2
    checkGrad(fns, [p], { w: [2 * lin * 2, 2 * lin * 3], b: 2 * lin, inner: { s: 0.25, t: new Float64Array([3, 1]) } });
    const q: Params = { ...p, w: [1.5, -1] };
    checkGrad(fns, [q], { w: [2 * lin2 * 2, 2 * lin2 * 3], b: 2 * lin2, inner: { s: 0.25, t: new Float64Array([3, 1]) } });
  });
  it('array of objects inside an object', () => {
    const fns = { f: layers, rev: grad(layers, { argnums: 0 }), fwd: grad(layers, { mode: 'forward', argnums: 0 }), argnums: 0 };
    const net = { layers: [{ w: [0.7, 1.3], b: 0.1 }, { w: [-0.4, 2], b: -0.2 }] };
    const x = 0.9;
    // hand-derived backprop through two layers
    const [l1, l2] = net.layers as [Layer, Layer];
    const t1 = Math.tanh(l1.w[0]! * x + l1.b);
    const h1 = t1 * l1.w[1]!;
    const t2 = Math.tanh(l2.w[0]! * h1 + l2.b);
    const dt2 = (1 - t2 * t2) * l2.w[1]!; // dh2 / d(pre-activation 2)
    const dh1 = dt2 * l2.w[0]!;
    const dt1 = dh1 * l1.w[1]! * (1 - t1 * t1);
    checkGrad(fns, [net, x], {
      layers: [
        { w: [dt1 * x, dh1 * t1], b: dt1 },
        { w: [dt2 * h1, t2], b: dt2 },
      ],
    });
  });
});

// ---------------------------------------------------------------------------
// Several arguments and argnums
// ---------------------------------------------------------------------------
describe('several arguments', () => {
  const x = 1.5;
  const xs = [2, -1];
  const o = { a: 0.5, b: [3, 4] };
  // f = x xs0 + xs1 a + b0 b1 x
  const dx = xs[0]! + o.b[0]! * o.b[1]!;
  const dxs = [x, o.a];
  const dO = { a: xs[1]!, b: [o.b[1]! * x, o.b[0]! * x] };

  it('no argnums: one gradient per argument, in order', () => {
    const fns = { f: mixed, rev: grad(mixed), fwd: grad(mixed, { mode: 'forward' }) };
    checkGrad(fns, [x, xs, o], [dx, dxs, dO]);
  });
  it('two typed arrays', () => {
    const fns = { f: typedDot, rev: grad(typedDot), fwd: grad(typedDot, { mode: 'forward' }) };
    const a = new Float64Array([1, 2, 3]);
    const b = new Float64Array([-1, 0.5, 4]);
    checkGrad(fns, [a, b], [Float64Array.from(b), Float64Array.from(a)]);
  });
  it('argnums: number -> that argument\'s gradient alone', () => {
    for (const [k, expected] of [[0, dx], [1, dxs], [2, dO]] as const) {
      const fns = {
        f: mixed,
        rev: grad(mixed, { argnums: k }),
        fwd: grad(mixed, { mode: 'forward', argnums: k }),
        argnums: k,
      };
      checkGrad(fns, [x, xs, o], expected);
    }
  });
  it('argnums: array -> array of gradients in the order asked', () => {
    const a02 = { f: mixed, rev: grad(mixed, { argnums: [0, 2] }), fwd: grad(mixed, { mode: 'forward', argnums: [0, 2] }), argnums: [0, 2] };
    checkGrad(a02, [x, xs, o], [dx, dO]);
    const a20 = { f: mixed, rev: grad(mixed, { argnums: [2, 0] }), fwd: grad(mixed, { mode: 'forward', argnums: [2, 0] }), argnums: [2, 0] };
    checkGrad(a20, [x, xs, o], [dO, dx]);
    const a1 = { f: mixed, rev: grad(mixed, { argnums: [1] }), fwd: grad(mixed, { mode: 'forward', argnums: [1] }), argnums: [1] };
    checkGrad(a1, [x, xs, o], [dxs]);
  });
  it('arguments outside argnums may be strings, booleans and data objects', () => {
    const fns = {
      f: withData,
      rev: grad(withData, { argnums: [0, 3] }),
      fwd: grad(withData, { mode: 'forward', argnums: [0, 3] }),
      argnums: [0, 3],
    };
    const data = { xs: [1, 2, -0.5] };
    const [scale, offset] = [0.8, 0.3];
    for (const [label, k] of [['double', 2], ['single', 1]] as const) {
      let ds = 0;
      let dOff = 0;
      for (const v of data.xs) {
        ds += 2 * k * (v * scale - offset) * v;
        dOff += -2 * k * (v * scale - offset);
      }
      checkGrad(fns, [scale, label, data, offset, true], [ds, dOff]);
      checkGrad(fns, [scale, label, data, offset, false], [ds, dOff]);
    }
  });
  it('a non-numeric argument without argnums is rejected rather than ignored', () => {
    expect(() => grad(withData)(1, 'double', { xs: [1] }, 0, true)).toThrow();
  });
});

// ---------------------------------------------------------------------------
// Zeros, empties, no aliasing
// ---------------------------------------------------------------------------
describe('zeros and empty containers', () => {
  it('an output that ignores the values gives zeros in every shape', () => {
    const fns = { f: ignoresAll, rev: grad(ignoresAll), fwd: grad(ignoresAll, { mode: 'forward' }) };
    checkGrad(fns, [[1, 2], { a: 3 }, new Float64Array([4, 5, 6])], [[0, 0], { a: 0 }, new Float64Array(3)]);
  });
  it('empty arrays and objects give empty gradients', () => {
    const fns = { f: emptyOk, rev: grad(emptyOk), fwd: grad(emptyOk, { mode: 'forward' }) };
    checkGrad(fns, [[], {}, 3], [[], {}, 6]);
    checkGrad(fns, [[1, 2], { p: 5 }, -1], [[1, 1], { p: 1 }, -2]);
    // a single empty argument: no input leaf at all
    const ws = { f: weightedSquares, rev: valueAndGrad(weightedSquares), fwd: valueAndGrad(weightedSquares, { mode: 'forward' }) };
    checkValueAndGrad(ws, [[]], 0, []);
    checkValueAndGrad(ws, [new Float64Array(0)], 0, new Float64Array(0));
  });
  it('the inputs are not modified and the gradient does not alias them', () => {
    const xs = [1, -2, 0.5];
    const ft = new Float64Array([1, -2, 0.5]);
    for (const g of [grad(weightedSquares), grad(weightedSquares, { mode: 'forward' })]) {
      const d = g(xs);
      expect(xs).toEqual([1, -2, 0.5]);
      expect(d).not.toBe(xs);
      (d as number[])[0] = 99;
      expect(xs[0]).toBe(1);
      const dt = g(ft as unknown as number[]) as unknown as Float64Array;
      expect(Array.from(ft)).toEqual([1, -2, 0.5]);
      expect(dt).not.toBe(ft);
    }
  });
});

// ---------------------------------------------------------------------------
// valueAndGrad
// ---------------------------------------------------------------------------
describe('valueAndGrad', () => {
  it('number', () => {
    checkValueAndGrad({ f: cube, rev: valueAndGrad(cube), fwd: valueAndGrad(cube, { mode: 'forward' }) }, [1.5], 3.375, 6.75);
  });
  it('arrays, typed arrays and objects', () => {
    const ws = { f: weightedSquares, rev: valueAndGrad(weightedSquares), fwd: valueAndGrad(weightedSquares, { mode: 'forward' }) };
    checkValueAndGrad(ws, [[1, -2]], 1 + 8, [2, -8]);
    checkValueAndGrad(ws, [new Float32Array([1, -2])], 1 + 8, new Float64Array([2, -8]));
    const ol = { f: objectLoss, rev: valueAndGrad(objectLoss), fwd: valueAndGrad(objectLoss, { mode: 'forward' }) };
    const p: Params = { w: [1.5, -1], b: 2, inner: { s: 3, t: new Float64Array([0.25, 7]) } };
    checkValueAndGrad(ol, [p], 4 + 0.75 + 7, { w: [8, 12], b: 4, inner: { s: 0.25, t: new Float64Array([3, 1]) } });
  });
  it('several arguments and argnums', () => {
    const x = 1.5;
    const xs = [2, -1];
    const o = { a: 0.5, b: [3, 4] };
    const value = 1.5 * 2 + -1 * 0.5 + 12 * 1.5;
    const all = { f: mixed, rev: valueAndGrad(mixed), fwd: valueAndGrad(mixed, { mode: 'forward' }) };
    checkValueAndGrad(all, [x, xs, o], value, [14, [1.5, 0.5], { a: -1, b: [6, 4.5] }]);
    const one = { f: mixed, rev: valueAndGrad(mixed, { argnums: 1 }), fwd: valueAndGrad(mixed, { mode: 'forward', argnums: 1 }), argnums: 1 };
    checkValueAndGrad(one, [x, xs, o], value, [1.5, 0.5]);
    const two = {
      f: mixed,
      rev: valueAndGrad(mixed, { argnums: [2, 0] }),
      fwd: valueAndGrad(mixed, { mode: 'forward', argnums: [2, 0] }),
      argnums: [2, 0],
    };
    checkValueAndGrad(two, [x, xs, o], value, [{ a: -1, b: [6, 4.5] }, 14]);
  });
  it('value of a function whose result does not depend on the input', () => {
    const fns = { f: ignoresAll, rev: valueAndGrad(ignoresAll), fwd: valueAndGrad(ignoresAll, { mode: 'forward' }) };
    checkValueAndGrad(fns, [[1, 2], { a: 3 }, new Float64Array([4])], 2 + 1 + 1, [[0, 0], { a: 0 }, new Float64Array(1)]);
  });
  it('valueAndGrad and grad agree', () => {
    const [v, g] = valueAndGrad(mixed)(1.5, [2, -1], { a: 0.5, b: [3, 4] });
    expect(v).toBe(mixed(1.5, [2, -1], { a: 0.5, b: [3, 4] }));
    expectClose(g, grad(mixed)(1.5, [2, -1], { a: 0.5, b: [3, 4] }), 0, 0);
  });
});

// ---------------------------------------------------------------------------
// Typed-array methods and shared sub-trees in arguments
// ---------------------------------------------------------------------------
function typedMethods(v: Float64Array): number {
  const head = v.subarray(0, 2); // typed-array-only method
  const tail = v.slice(2);
  let s = 0;
  for (let i = 0; i < head.length; i++) s += head[i]! * (i + 1);
  return s + tail[0]! * tail[0]!;
}

function twoViews(o: { p: number[]; q: number[] }): number {
  return o.p[0]! * 2 + o.q[0]! * 3;
}

describe('typed-array methods and shared sub-trees', () => {
  it('subarray and slice on a Float64Array argument', () => {
    const fns = { f: typedMethods, rev: grad(typedMethods), fwd: grad(typedMethods, { mode: 'forward' }) };
    checkGrad(fns, [new Float64Array([0.5, -1, 3])], new Float64Array([1, 2, 6]));
  });
  it('the same array reachable from two keys gets one gradient per position', () => {
    const fns = { f: twoViews, rev: grad(twoViews), fwd: grad(twoViews, { mode: 'forward' }) };
    const shared = [1.5];
    // each position is its own input (as if the tree had been copied)
    checkGrad(fns, [{ p: shared, q: shared }], { p: [2], q: [3] });
  });
});
