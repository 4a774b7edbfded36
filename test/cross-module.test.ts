/**
 * Differentiating through functions defined in other modules:
 * - test/modules/helpers.ts has a file-level 'use differentiable' directive
 * - test/modules/body-directive.ts has one function with the body directive
 * - test/modules/plain.ts has no directive (its code is never compiled)
 */
import { describe, it, expect } from 'vitest';
import { grad, valueAndGrad, DualtapeError } from 'dualtape';
import { grad as gradient } from 'dualtape';
import * as dt from 'dualtape';
import { checkGrad, checkValueAndGrad } from './helpers/check.js';
import { LOSS_WEIGHT, cubeMinus, distance, logisticLoss, makeScaler, mapSum, norm, poly, recPow, softplus } from './modules/helpers.js';
import * as H from './modules/helpers.js';
import { logistic } from './modules/body-directive.js';
import { plainSquare } from './modules/plain.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

// ---------------------------------------------------------------------------
// Functions in this module that call the imported helpers
// ---------------------------------------------------------------------------
function model(x: number): number {
  return softplus(x) * 2 + poly(x, [1, -2, 3]); // 2 softplus(x) + 1 - 2x + 3x^2
}

function viaNamespace(x: number, y: number): number {
  return H.softplus(x * y) + H.norm([x, y, 2]);
}

function withCallback(xs: number[], w: number): number {
  return mapSum(xs, (v, i) => v * v * w + i * v);
}

function withFactory(x: number, y: number): number {
  const scale = makeScaler(x);
  return scale(y) + scale(2); // x y + 2x + 2 * LOSS_WEIGHT x^2
}

function geometry(a: { x: number; y: number }, b: { x: number; y: number }): number {
  return distance(a, b) + distance(a, b, 3);
}

function usesLogistic(x: number, k: number): number {
  return logistic(x, k) + logistic(x) * 2;
}

function chain(x: number, label: number): number {
  return logisticLoss(x, label) + recPow(x, 3) + cubeMinus(x, x * 2);
}

function usesPlainOnConstants(x: number): number {
  return x * plainSquare(3); // plainSquare sees plain numbers only
}

function usesPlainOnDifferentiable(x: number): number {
  return plainSquare(x);
}

describe('file-level directive helpers', () => {
  it('called from a function in this module', () => {
    const fns = { f: model, rev: grad(model), fwd: grad(model, { mode: 'forward' }) };
    for (const x of [-1.5, 0.3, 2]) checkGrad(fns, [x], 2 * sigmoid(x) - 2 + 6 * x);
  });
  it('an imported helper handed straight to grad / valueAndGrad', () => {
    const sp = { f: softplus, rev: grad(softplus), fwd: grad(softplus, { mode: 'forward' }) };
    for (const x of [-3, 0, 1.7]) checkGrad(sp, [x], sigmoid(x));
    const nm = { f: norm, rev: valueAndGrad(norm), fwd: valueAndGrad(norm, { mode: 'forward' }) };
    checkValueAndGrad(nm, [[3, -4, 12]], 13, [3 / 13, -4 / 13, 12 / 13]);
    const pl = { f: poly, rev: grad(poly), fwd: grad(poly, { mode: 'forward' }) };
    // w.r.t. x and the coefficients
    checkGrad(pl, [0.5, [1, -2, 3]], [-2 + 6 * 0.5, [1, 0.5, 0.25]]);
  });
  it('through a namespace import', () => {
    const fns = { f: viaNamespace, rev: grad(viaNamespace), fwd: grad(viaNamespace, { mode: 'forward' }) };
    const [x, y] = [0.7, -1.2];
    const s = sigmoid(x * y);
    const n = Math.hypot(x, y, 2);
    checkGrad(fns, [x, y], [s * y + x / n, s * x + y / n]);
  });
  it('a helper that takes a callback written in this module', () => {
    const fns = { f: withCallback, rev: grad(withCallback), fwd: grad(withCallback, { mode: 'forward' }) };
    const xs = [1.5, -2, 0.5];
    const w = 0.8;
    // Σ v_i^2 w + i v_i
    checkGrad(fns, [xs, w], [[2 * 1.5 * w + 0, 2 * -2 * w + 1, 2 * 0.5 * w + 2], 1.5 ** 2 + 4 + 0.25]);
  });
  it('a closure factory from the helper module (reads a module constant)', () => {
    const fns = { f: withFactory, rev: grad(withFactory), fwd: grad(withFactory, { mode: 'forward' }) };
    const [x, y] = [1.5, -0.5];
    checkGrad(fns, [x, y], [y + 2 + 4 * LOSS_WEIGHT * x, x]);
    expect(LOSS_WEIGHT).toBe(0.5);
  });
  it('destructured object parameters and a default parameter in the helper', () => {
    const fns = { f: geometry, rev: grad(geometry), fwd: grad(geometry, { mode: 'forward' }) };
    const a = { x: 1, y: 2 };
    const b = { x: 4, y: -2 }; // dx = 3, dy = -4
    const d2 = 5;
    const d3 = Math.cbrt(27 + 64);
    // d/d(dx) of (|dx|^p + |dy|^p)^(1/p) = sign(dx) |dx|^(p-1) / d^(p-1)
    const gx = 3 / d2 + 9 / (d3 * d3);
    const gy = -4 / d2 - 16 / (d3 * d3);
    checkGrad(fns, [a, b], [{ x: -gx, y: -gy }, { x: gx, y: gy }]);
  });
  it('recursion, a cross-module chain of helpers and a const function expression', () => {
    const fns = { f: chain, rev: grad(chain, { argnums: 0 }), fwd: grad(chain, { mode: 'forward', argnums: 0 }), argnums: 0 };
    for (const [x, label] of [[0.4, 1], [-1.1, 0], [0.9, 0.3]] as const) {
      const p = sigmoid(x);
      // d/dx logistic loss = p - label; recPow: 3x^2; cubeMinus(x, 2x): 3x^2 - 2
      checkGrad(fns, [x, label], p - label + 3 * x * x + 3 * x * x - 2);
    }
  });
  it('the helpers still work as plain functions outside grad', () => {
    expect(softplus(0.5)).toBe(Math.log1p(Math.exp(0.5)));
    expect(poly(2, [1, 1, 1])).toBe(7);
    expect(norm([3, 4])).toBe(5);
    expect(logistic(0)).toBe(0.5);
  });
});

describe('entry points imported under other names', () => {
  it('an aliased import and a namespace import compile their arguments too', () => {
    const fns = { f: model, rev: gradient(model), fwd: dt.grad(model, { mode: 'forward' }) };
    checkGrad(fns, [0.8], 2 * sigmoid(0.8) - 2 + 6 * 0.8);
    const vg = { f: model, rev: dt.valueAndGrad(model), fwd: dt.valueAndGrad(model, { mode: 'forward' }) };
    checkValueAndGrad(vg, [0.8], 2 * Math.log1p(Math.exp(0.8)) + 1 - 1.6 + 3 * 0.64, 2 * sigmoid(0.8) - 2 + 6 * 0.8);
    const [v, d] = dt.valueAndGrad((x: number) => x * x * x)(2);
    expect([v, d]).toEqual([8, 12]);
  });
});

describe('function-body directive', () => {
  it('the directive function handed straight to grad', () => {
    const one = { f: logistic, rev: grad(logistic, { argnums: 0 }), fwd: grad(logistic, { mode: 'forward', argnums: 0 }), argnums: 0 };
    for (const x of [-2, 0, 1.3]) {
      const p = sigmoid(x);
      checkGrad(one, [x], p * (1 - p));
    }
  });
  it('called from this module, with and without its default parameter', () => {
    const fns = { f: usesLogistic, rev: grad(usesLogistic), fwd: grad(usesLogistic, { mode: 'forward' }) };
    for (const [x, k] of [[0.5, 2], [-1, 0.5]] as const) {
      const pk = 1 / (1 + Math.exp(-k * x));
      const p1 = sigmoid(x);
      checkGrad(fns, [x, k], [k * pk * (1 - pk) + 2 * p1 * (1 - p1), x * pk * (1 - pk)]);
    }
  });
  it('valueAndGrad through the directive function', () => {
    const fns = { f: usesLogistic, rev: valueAndGrad(usesLogistic), fwd: valueAndGrad(usesLogistic, { mode: 'forward' }) };
    checkValueAndGrad(fns, [0, 3], 0.5 + 1, [3 * 0.25 + 2 * 0.25, 0]);
  });
});

describe('a module without the directive', () => {
  it('can be called with plain numbers from differentiated code', () => {
    const fns = { f: usesPlainOnConstants, rev: grad(usesPlainOnConstants), fwd: grad(usesPlainOnConstants, { mode: 'forward' }) };
    checkGrad(fns, [1.5], 9);
  });
  it('fails loudly (instead of dropping the derivative) when it receives a differentiable value', () => {
    expect(() => grad(usesPlainOnDifferentiable)(2)).toThrow(DualtapeError);
    expect(() => grad(usesPlainOnDifferentiable, { mode: 'forward' })(2)).toThrow(DualtapeError);
  });
});
