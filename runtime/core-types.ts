/**
 * Types shared by the rule table and the engine. Kept in their own module so
 * that `rules.ts` depends on nothing but types.
 */
import type { Active } from './active.js';

/** A number that may carry derivatives (of one or more nesting levels). */
export type Num = number | Active;

/**
 * The generic kernel handed to every rule: operations that accept plain
 * numbers or values carrying derivatives. Rules compute their partials with
 * it so that one rule serves every mode and every nesting depth.
 */
export interface Kernel {
  add(a: Num, b: Num): Num;
  sub(a: Num, b: Num): Num;
  mul(a: Num, b: Num): Num;
  div(a: Num, b: Num): Num;
  pow(a: Num, b: Num): Num;
  neg(a: Num): Num;
  sqrt(a: Num): Num;
  log(a: Num): Num;
  sin(a: Num): Num;
  cos(a: Num): Num;
  sinh(a: Num): Num;
  cosh(a: Num): Num;
  /** Piecewise constant: plain numbers. */
  sign(a: Num): number;
  trunc(a: Num): number;
  /** The plain number underneath every level of derivative. */
  value(a: Num): number;
}

/** Adjoints as seen by a tape node's own backward step (see `ReverseTrace.specials`). */
export interface Adjoints {
  /** A token that is the same object for the whole of one backward sweep. */
  readonly sweep: object;
  get(node: number): Num;
  add(node: number, contribution: Num): void;
}
