'use differentiable';
/**
 * The curve-fit model, in its own module: the file-level 'use differentiable'
 * directive makes these functions callable from differentiated code in other
 * modules (fit.ts hands its loss to valueAndGrad, and the loss calls these).
 */

/** y = a · exp(-b · x) + c, with p = [a, b, c]. */
export function model(p: readonly number[], x: number): number {
  return p[0] * Math.exp(-p[1] * x) + p[2];
}

/** Squared residual of one sample. */
export function squaredError(p: readonly number[], x: number, y: number): number {
  const r = model(p, x) - y;
  return r * r;
}
