/**
 * Newton's method for minimization with exact second derivatives.
 *
 *   npm run build && node --import dualtape/register examples/newton.ts
 *
 * At each iterate x the direction d solves  (H(x) + λ I) d = -∇f(x),  where
 * the gradient comes from `grad` (reverse mode) and the Hessian from `hessian`
 * (forward mode over reverse mode), both exact. λ is 0 (the Newton direction)
 * unless that is not a descent direction (far from the minimum the Rosenbrock
 * Hessian is indefinite), and a backtracking line search picks the step
 * length t. Near the minimum the steps are full Newton steps (λ = 0, t = 1)
 * and convergence is quadratic: the printed gradient norm roughly squares
 * from one iteration to the next.
 *
 * The linear solve is a small Gaussian elimination with partial pivoting,
 * written out below.
 */
import { pathToFileURL } from 'node:url';
import { grad, hessian } from 'dualtape';

// ---------------------------------------------------------------------------
// The test function
// ---------------------------------------------------------------------------

/** The n-dimensional Rosenbrock function; its minimum is 0 at (1, 1, ..., 1). */
export function rosenbrock(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1]! - x[i]! ** 2;
    s += 100 * a * a + (1 - x[i]!) ** 2;
  }
  return s;
}

// ---------------------------------------------------------------------------
// Linear algebra
// ---------------------------------------------------------------------------

/**
 * Solves A d = b by Gaussian elimination with partial pivoting. Returns
 * undefined when A is singular (to working precision). A and b are not modified.
 */
export function solveLinear(A: readonly (readonly number[])[], b: readonly number[]): number[] | undefined {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  const scale = Math.max(1e-300, ...A.flatMap((row) => row.map(Math.abs)));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r]![col]!) > Math.abs(M[pivot]![col]!)) pivot = r;
    if (Math.abs(M[pivot]![col]!) <= 1e-14 * scale) return undefined;
    [M[col], M[pivot]] = [M[pivot]!, M[col]!];
    const p = M[col]!;
    for (let r = col + 1; r < n; r++) {
      const row = M[r]!;
      const factor = row[col]! / p[col]!;
      if (factor === 0) continue;
      for (let c = col; c <= n; c++) row[c] = row[c]! - factor * p[c]!;
    }
  }
  const d = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r]![n]!;
    for (let c = r + 1; c < n; c++) s -= M[r]![c]! * d[c]!;
    d[r] = s / M[r]![r]!;
  }
  return d;
}

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (v: readonly number[]): number => Math.sqrt(dot(v, v));

// ---------------------------------------------------------------------------
// Newton's method
// ---------------------------------------------------------------------------

export interface NewtonIteration {
  /** 0 for the starting point. */
  iteration: number;
  x: number[];
  f: number;
  gradNorm: number;
  /** The shift λ of the step that led here (0: the Newton direction itself). */
  lambda: number;
  /** The line-search step length t of that step (1: the full step; 0 for the start). */
  step: number;
}

export interface NewtonResult {
  x: number[];
  f: number;
  gradNorm: number;
  iterations: number;
  converged: boolean;
  history: NewtonIteration[];
}

export interface NewtonOptions {
  /** Stop when |∇f| falls below this (default 1e-10). */
  tolerance?: number;
  maxIterations?: number;
  /** Called with every iterate (including the start). */
  onIteration?: (it: NewtonIteration) => void;
}

/**
 * Minimizes `f` from `x0` by (safeguarded) Newton's method. `f` must be a
 * function the dualtape plugin compiled: a same-module function passed by
 * name (as `rosenbrock` below), or one handed to a dualtape entry point.
 */
export function newtonMinimize(f: (x: number[]) => number, x0: readonly number[], opts: NewtonOptions = {}): NewtonResult {
  const tolerance = opts.tolerance ?? 1e-10;
  const maxIterations = opts.maxIterations ?? 100;
  const gradient = grad(f);
  const hess = hessian(f);
  let x = x0.slice();
  let fx = f(x);
  let g = gradient(x);
  let lambda = 0;
  let step = 0;
  const history: NewtonIteration[] = [];
  const record = (iteration: number) => {
    const it: NewtonIteration = { iteration, x: x.slice(), f: fx, gradNorm: norm(g), lambda, step };
    history.push(it);
    opts.onIteration?.(it);
  };
  record(0);
  let iteration = 0;
  while (norm(g) > tolerance && iteration < maxIterations) {
    iteration++;
    const H = hess(x);
    const minusG = g.map((v) => -v);
    // The Newton direction, shifted towards -g (λ > 0) until it is a descent direction.
    const diag = Math.max(1e-12, ...H.map((row, i) => Math.abs(row[i]!)));
    let d: number[] | undefined;
    for (lambda = 0; ; lambda = lambda === 0 ? 1e-6 * diag : 4 * lambda) {
      d = solveLinear(
        H.map((row, i) => row.map((h, j) => (i === j ? h + lambda : h))),
        minusG,
      );
      if (d !== undefined && dot(d, g) < 0) break;
      if (lambda > 1e12 * diag) break;
    }
    if (d === undefined || !(dot(d, g) < 0)) break;
    // Backtracking (Armijo) line search: the full step t = 1 near the minimum.
    const slope = dot(d, g);
    let t = 1;
    let xNew = x;
    let fNew = fx;
    for (let k = 0; k < 60; k++, t /= 2) {
      xNew = x.map((v, i) => v + t * d![i]!);
      fNew = f(xNew);
      if (fNew <= fx + 1e-4 * t * slope) break;
    }
    if (!(fNew <= fx)) break; // no decrease along a descent direction: stationary to working precision
    x = xNew;
    fx = fNew;
    step = t;
    g = gradient(x);
    record(iteration);
  }
  return { x, f: fx, gradNorm: norm(g), iterations: iteration, converged: norm(g) <= tolerance, history };
}

/** Minimizes the n-dimensional Rosenbrock function from (-1.2, 1, -1.2, 1, ...). */
export function minimizeRosenbrock(n: number, opts: NewtonOptions = {}): NewtonResult {
  const x0 = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
  return newtonMinimize(rosenbrock, x0, opts);
}

// ---------------------------------------------------------------------------
// Printing (only when run as a script)
// ---------------------------------------------------------------------------

function main(): void {
  // For n >= 4 the Rosenbrock function also has a local minimum near (-1, 1, ..., 1):
  // from this start, n = 6 ends there (f ≈ 3.97), n = 2 and n = 4 at the global one.
  for (const n of [2, 4, 6]) {
    console.log(`Rosenbrock, n = ${n}, from (${Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1)).join(', ')})`);
    console.log('  iter   f(x)                |grad f|   lambda     t          x');
    const result = minimizeRosenbrock(n, {
      onIteration: (it) =>
        console.log(
          `  ${String(it.iteration).padStart(4)}   ${it.f.toExponential(10).padEnd(18)}  ${it.gradNorm.toExponential(2)}   ` +
            `${(it.lambda === 0 ? '0' : it.lambda.toExponential(1)).padEnd(9)}  ${String(it.step).padEnd(9)}  ` +
            `[${it.x.map((v) => v.toFixed(6)).join(', ')}]`,
        ),
    });
    console.log(
      `  ${result.converged ? 'converged' : 'did NOT converge'} after ${result.iterations} iterations to ` +
        `[${result.x.map((v) => v.toFixed(6)).join(', ')}]: ` +
        `f = ${result.f.toExponential(3)}, |grad f| = ${result.gradNorm.toExponential(3)}\n`,
    );
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
