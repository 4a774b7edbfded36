/**
 * Partials the plugin could not inline (their rule looks at a value, such as
 * pow's check for a zero base or max's search for ties): generated adjoint
 * code calls these, which run the very rule of `rules.ts` on plain numbers.
 */
import { kernel } from '../engine.js';
import { binaryRules, unaryRules, variadicRules } from '../rules.js';
import type { BinaryName, UnaryName, VariadicName } from '../rules.js';

/** ∂z/∂x of a unary rule at x (z its value). */
export function adjUnary(name: UnaryName, x: number, z: number): number {
  return unaryRules[name].d(kernel, x, z) as number;
}

/** ∂z/∂(argument k) of a binary rule at (x, y) (z its value). */
export function adjBinary(name: BinaryName, k: number, x: number, y: number, z: number): number {
  const rule = binaryRules[name];
  return (k === 0 ? rule.dx : rule.dy)(kernel, x, y, z) as number;
}

/** ∂z/∂(argument k) of a variadic rule (hypot, max, min) at xs (z its value). */
export function adjVariadic(name: VariadicName, k: number, xs: number[], z: number): number {
  return variadicRules[name].d(kernel, xs, z)[k] as number;
}
