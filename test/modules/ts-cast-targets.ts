'use differentiable';
// Compiled by the dualtape plugin because of the file directive above.
//
// Assignment targets wrapped in TypeScript-only syntax, as strict TypeScript
// code writes them (`xs[i]! += v` under noUncheckedIndexedAccess). The
// test imports this module dynamically so that a compile error fails only
// the test that needs it.

/** Targets wrapped in `as` and parentheses. */
export function castTargets(x: number): number {
  const o: Record<string, unknown> = { a: x, b: 2 };
  (o.a as number) *= x; // x^2
  (o['b'] as number) += x; // 2 + x
  ((o.a) as number) += 1; // x^2 + 1
  return (o.a as number) * (o.b as number); // (x^2 + 1)(2 + x)
}
