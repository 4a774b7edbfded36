// A module whose single function carries the dualtape function-body directive.

/** 1 / (1 + e^{-k x}); derivative w.r.t. x: k p (1 - p). */
export function logistic(x: number, k = 1): number {
  'use differentiable';
  const e = Math.exp(-k * x);
  return 1 / (1 + e);
}
