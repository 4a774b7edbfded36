'use differentiable';
// Compiled by the dualtape plugin because of the file directive above.
//
// Assignment targets wrapped in TypeScript-only syntax, as strict TypeScript
// code writes them (`xs[i]! += v` under noUncheckedIndexedAccess). The
// test imports this module dynamically so that a compile error fails only
// the test that needs it.

/** acc[i] accumulates xs[i] * w through a non-null-asserted target. */
export function nonNullTargets(xs: number[], w: number): number {
  const acc: number[] = [0, 0, 0];
  for (let i = 0; i < xs.length; i++) {
    acc[i]! += xs[i]! * w;
    acc[i]! *= w;
  }
  const o: { f?: number } = { f: 1 };
  o.f! -= w;
  return acc[0]! + 2 * acc[1]! + 3 * acc[2]! + o.f!; // w^2 (x0 + 2 x1 + 3 x2) + 1 - w
}
