/**
 * dualtape: exact derivatives of plain TypeScript math.
 *
 * The Babel plugin (`dualtape/babel`) compiles the functions handed to these
 * entry points; this module carries their derivatives at run time.
 */
export { grad, valueAndGrad, stopGradient } from './api.js';
export type { Differentiable, GradOf, GradsOf, GradOptions, Mode } from './api.js';
export { DualtapeError } from './active.js';
