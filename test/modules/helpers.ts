'use differentiable';
// Every function in this file is compiled by the dualtape plugin because of
// the file-level directive above, so differentiated code in other modules can
// call them. Called with plain numbers they behave as ordinary functions.
import { logistic } from './body-directive.js';

/** A module-level constant read by compiled code. */
export const LOSS_WEIGHT = 0.5;

/** log(1 + e^x); derivative: the logistic sigmoid. */
export function softplus(x: number): number {
  return x > 30 ? x : Math.log1p(Math.exp(x));
}

/** Σ cs[i] x^i by Horner's rule. */
export function poly(x: number, cs: readonly number[]): number {
  let acc = 0;
  for (let i = cs.length - 1; i >= 0; i--) acc = acc * x + cs[i]!;
  return acc;
}

/** Not exported: only reachable through `norm`. */
function sumSquares(xs: readonly number[]): number {
  let s = 0;
  for (const v of xs) s += v * v;
  return s;
}

/** Euclidean norm. */
export function norm(xs: readonly number[]): number {
  return Math.sqrt(sumSquares(xs));
}

/** Σ fn(x_i, i): the callback comes from the caller's module. */
export function mapSum(xs: readonly number[], fn: (x: number, i: number) => number): number {
  return xs.map(fn).reduce((a, b) => a + b, 0);
}

/** A closure factory: the returned arrow captures k. */
export const makeScaler = (k: number) => (t: number) => k * t + LOSS_WEIGHT * k * k;

/** Distance with destructured object parameters and a default exponent. */
export function distance({ x: x1, y: y1 }: { x: number; y: number }, { x: x2, y: y2 }: { x: number; y: number }, power = 2): number {
  const [dx, dy] = [x2 - x1, y2 - y1];
  return (Math.abs(dx) ** power + Math.abs(dy) ** power) ** (1 / power);
}

/** Recursive: x^n for integer n >= 0. */
export function recPow(x: number, n: number): number {
  return n === 0 ? 1 : x * recPow(x, n - 1);
}

/** Calls a helper from yet another module (body directive). */
export function logisticLoss(x: number, label: number): number {
  const p = logistic(x);
  return -(label * Math.log(p) + (1 - label) * Math.log(1 - p));
}

/** A function expression assigned to a const. */
export const cubeMinus = function (x: number, y: number): number {
  return x * x * x - y;
};
