/**
 * dualtape: exact derivatives of plain TypeScript math.
 *
 * The Babel plugin (`dualtape/babel`) compiles the functions handed to these
 * entry points; this module carries their derivatives at run time.
 */
export { grad, valueAndGrad, stopGradient } from './api.js';
export type { Differentiable, GradOf, GradsOf, GradOptions, Mode } from './api.js';
export { jvp, vjp, jacobian, hessian, hvp } from './transforms.js';
export type { JacobianOptions, OutputOf, TangentsOf } from './transforms.js';
export { customDerivative, checkRule } from './custom.js';
export type { DerivativeRule, RuleCheck } from './custom.js';
export { checkpoint } from './checkpoint.js';
export { lastTapeStats } from './stats.js';
export type { TapeStats } from './stats.js';
export { DualtapeError } from './active.js';
export { compareModes } from './compare.js';
export { tierOf, setTier } from './adjoint/tier.js';
export type { TierInfo } from './adjoint/entry.js';
export type { CompareOptions, ModeComparison } from './compare.js';
export { graph } from './graph.js';
export type { Graph, GraphEdge, GraphGroup, GraphLevel, GraphNode, GraphOptions } from './graph.js';
export { graphToDot, graphToMermaid, graphToJSON, graphToSVG } from './graph/render.js';
export type { RenderOptions } from './graph/render.js';
