/**
 * Jacobians of ODE right-hand sides, in forward and in reverse mode.
 *
 *   npm run build && node --import dualtape/register examples/ode-jacobian.ts
 *
 * Stiff ODE solvers (implicit Euler, BDF, Rosenbrock methods) need the
 * Jacobian ∂f/∂u of the right-hand side u' = f(u, p), and sensitivity
 * analysis needs ∂f/∂p. `jacobian(f, { mode })` gives both exactly: forward
 * mode builds it column by column (one pass per input), reverse mode row by
 * row (one recorded pass, one backward sweep per output). The two must agree
 * to rounding; this script prints both and their largest difference, for
 *
 *   - the Lorenz system (also against its hand-written Jacobian), and
 *   - a three-species Lotka–Volterra food chain (grass, rabbits, foxes), with
 *     the Jacobian with respect to the state and the parameters together
 *     (columns: the state's three entries, then the parameters in key order).
 */
import { pathToFileURL } from 'node:url';
import { jacobian } from 'dualtape';

// ---------------------------------------------------------------------------
// Right-hand sides
// ---------------------------------------------------------------------------

export const LORENZ = { sigma: 10, rho: 28, beta: 8 / 3 };

/** Lorenz: x' = σ (y - x),  y' = x (ρ - z) - y,  z' = x y - β z. */
export function lorenz(u: number[]): number[] {
  const [x, y, z] = u as [number, number, number];
  return [LORENZ.sigma * (y - x), x * (LORENZ.rho - z) - y, x * y - LORENZ.beta * z];
}

/** The Lorenz Jacobian written out by hand, for comparison. */
export function lorenzJacobianByHand(u: readonly number[]): number[][] {
  const [x, y, z] = u as [number, number, number];
  const { sigma, rho, beta } = LORENZ;
  return [
    [-sigma, sigma, 0],
    [rho - z, -1, -x],
    [y, x, -beta],
  ];
}

export interface FoodChainParams {
  /** grass growth rate and carrying capacity */
  r: number;
  K: number;
  /** grazing rate, rabbit efficiency, rabbit death rate */
  a: number;
  b: number;
  m: number;
  /** predation rate, fox efficiency, fox death rate */
  c: number;
  e: number;
  d: number;
}

export const FOOD_CHAIN: FoodChainParams = { r: 1.2, K: 10, a: 0.6, b: 0.4, m: 0.3, c: 0.5, e: 0.3, d: 0.25 };

/**
 * Grass g, rabbits h, foxes f (with a saturating predation term):
 *   g' = r g (1 - g/K) - a g h
 *   h' = b a g h - m h - c h f / (1 + h)
 *   f' = e c h f / (1 + h) - d f
 */
export function foodChain(u: number[], p: FoodChainParams): number[] {
  const [g, h, f] = u as [number, number, number];
  const predation = (p.c * h * f) / (1 + h);
  return [p.r * g * (1 - g / p.K) - p.a * g * h, p.b * p.a * g * h - p.m * h - predation, p.e * predation - p.d * f];
}

// ---------------------------------------------------------------------------
// The Jacobians in both modes
// ---------------------------------------------------------------------------

export interface JacobianPair {
  forward: number[][];
  reverse: number[][];
  /** max |forward - reverse| over all entries */
  maxDiff: number;
}

function maxAbsDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))));
  return m;
}

const lorenzForward = jacobian(lorenz, { mode: 'forward' });
const lorenzReverse = jacobian(lorenz, { mode: 'reverse' });

/** ∂(Lorenz)/∂u at u, both modes. */
export function lorenzJacobians(u: number[]): JacobianPair {
  const forward = lorenzForward(u);
  const reverse = lorenzReverse(u);
  return { forward, reverse, maxDiff: maxAbsDiff(forward, reverse) };
}

const foodChainForward = jacobian(foodChain, { mode: 'forward' });
const foodChainReverse = jacobian(foodChain, { mode: 'reverse' });

/** ∂(food chain)/∂(u, p) at (u, p): 3 rows, 3 + 8 columns (u's entries, then p's in key order). */
export function foodChainJacobians(u: number[], p: FoodChainParams = FOOD_CHAIN): JacobianPair {
  const forward = foodChainForward(u, p);
  const reverse = foodChainReverse(u, p);
  return { forward, reverse, maxDiff: maxAbsDiff(forward, reverse) };
}

// ---------------------------------------------------------------------------
// Printing (only when run as a script)
// ---------------------------------------------------------------------------

function printMatrix(title: string, m: readonly (readonly number[])[], columns?: readonly string[]): void {
  console.log(`  ${title}`);
  if (columns) console.log(`    ${columns.map((c) => c.padStart(10)).join(' ')}`);
  for (const row of m) console.log(`    ${row.map((v) => v.toFixed(6).padStart(10)).join(' ')}`);
}

function main(): void {
  const u = [1.5, -2, 20];
  console.log(`Lorenz (σ = ${LORENZ.sigma}, ρ = ${LORENZ.rho}, β = 8/3) at u = [${u.join(', ')}]: ∂f/∂u`);
  const lz = lorenzJacobians(u);
  printMatrix('forward mode (3 passes, one per column)', lz.forward);
  printMatrix('reverse mode (1 recorded pass, 3 sweeps, one per row)', lz.reverse);
  console.log(`  max |forward - reverse| = ${lz.maxDiff.toExponential(2)}`);
  console.log(`  max |AD - hand-written| = ${maxAbsDiff(lz.forward, lorenzJacobianByHand(u)).toExponential(2)}\n`);

  const v = [4, 2, 1];
  console.log(`Food chain (grass, rabbits, foxes) at u = [${v.join(', ')}]: ∂f/∂(u, p)`);
  const fc = foodChainJacobians(v);
  const columns = ['g', 'h', 'f', ...Object.keys(FOOD_CHAIN)];
  printMatrix('forward mode (11 passes)', fc.forward, columns);
  printMatrix('reverse mode (1 recorded pass, 3 sweeps)', fc.reverse, columns);
  console.log(`  max |forward - reverse| = ${fc.maxDiff.toExponential(2)}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
