/**
 * Curve fitting with dualtape: fit y = a · exp(-b · x) + c to noisy samples
 * (generated with a seeded PRNG, so every run sees the same data) by gradient
 * descent with momentum, the gradient of the mean squared error coming from
 * `valueAndGrad`.
 *
 * This module is the whole computation; examples/curve-fit/main.ts prints it
 * in Node and examples/curve-fit/browser/ shows it in a page. It is plain
 * TypeScript whose only dependency is 'dualtape': every bundler setup in
 * docs/bundlers.md compiles it (test/bundlers.test.ts builds it with each of them).
 */
import { valueAndGrad } from 'dualtape';
import { model, squaredError } from './model.ts';

export { model };

export interface Sample {
  readonly x: number;
  readonly y: number;
}

export interface FitOptions {
  /** PRNG seed for the data (default 7). */
  readonly seed?: number;
  /** Number of samples, x evenly spaced in [0, 4] (default 40). */
  readonly count?: number;
  /** Standard deviation of the Gaussian noise added to y (default 0.05). */
  readonly noise?: number;
  /** The parameters [a, b, c] the data is generated from (default [2.5, 1.3, 0.5]). */
  readonly truth?: readonly number[];
  /** Starting point of the descent (default [1, 0.5, 0]). */
  readonly start?: readonly number[];
  /** Gradient steps (default 200: close to the minimum, the gradient ~1e-5). */
  readonly steps?: number;
  /** Step size (default 0.05). */
  readonly learningRate?: number;
  /** Momentum coefficient (default 0.9). */
  readonly momentum?: number;
  /** Called every `every` steps (default 20, and after the last one) with the step and loss. */
  readonly onProgress?: (step: number, loss: number) => void;
  readonly every?: number;
}

export interface FitResult {
  /** Fitted [a, b, c]. */
  readonly params: number[];
  /** Mean squared error at the fitted parameters. */
  readonly loss: number;
  /** Gradient of the loss at the fitted parameters (≈ 0 at a minimum). */
  readonly gradient: number[];
  readonly steps: number;
  readonly data: Sample[];
}

export const DEFAULTS = {
  seed: 7,
  count: 40,
  noise: 0.05,
  truth: [2.5, 1.3, 0.5],
  start: [1, 0.5, 0],
  steps: 200,
  learningRate: 0.05,
  momentum: 0.9,
} as const;

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples of the model at `truth` plus Gaussian noise (Box–Muller). */
export function makeData(
  seed: number = DEFAULTS.seed,
  count: number = DEFAULTS.count,
  noise: number = DEFAULTS.noise,
  truth: readonly number[] = DEFAULTS.truth,
): Sample[] {
  const rand = mulberry32(seed);
  const data: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const x = (4 * i) / (count - 1);
    const gauss = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    data.push({ x, y: model(truth, x) + noise * gauss });
  }
  return data;
}

/** Mean squared error of the model with parameters p over the data. */
export function loss(p: number[], data: readonly Sample[]): number {
  let sum = 0;
  for (const s of data) sum += squaredError(p, s.x, s.y);
  return sum / data.length;
}

/** The loss and its gradient with respect to p (the data is a constant). */
export const lossAndGrad = valueAndGrad(loss, { argnums: 0 });

/** The same gradient derived by hand, for checking. */
export function handGradient(p: readonly number[], data: readonly Sample[]): number[] {
  const g = [0, 0, 0];
  for (const { x, y } of data) {
    const e = Math.exp(-p[1] * x);
    const r = p[0] * e + p[2] - y;
    g[0] += 2 * r * e;
    g[1] += 2 * r * -p[0] * x * e;
    g[2] += 2 * r;
  }
  return g.map((gi) => gi / data.length);
}

/** Fit [a, b, c] by gradient descent with momentum. */
export function fitCurve(options: FitOptions = {}): FitResult {
  const {
    seed = DEFAULTS.seed,
    count = DEFAULTS.count,
    noise = DEFAULTS.noise,
    truth = DEFAULTS.truth,
    start = DEFAULTS.start,
    steps = DEFAULTS.steps,
    learningRate = DEFAULTS.learningRate,
    momentum = DEFAULTS.momentum,
    onProgress,
    every = 20,
  } = options;
  const data = makeData(seed, count, noise, truth);
  let p = [...start];
  let velocity = p.map(() => 0);
  for (let step = 0; step < steps; step++) {
    const [value, g] = lossAndGrad(p, data);
    if (onProgress && step % every === 0) onProgress(step, value);
    velocity = velocity.map((v, i) => momentum * v - learningRate * g[i]);
    p = p.map((pi, i) => pi + velocity[i]);
  }
  const [value, gradient] = lossAndGrad(p, data);
  onProgress?.(steps, value);
  return { params: p, loss: value, gradient, steps, data };
}

/** Fixed formatting of a result (the same text in every build). */
export function formatFit(result: FitResult): string {
  const [a, b, c] = result.params;
  return [
    `fitted a=${a.toFixed(6)} b=${b.toFixed(6)} c=${c.toFixed(6)}`,
    `loss ${result.loss.toExponential(6)}`,
    `gradient [${result.gradient.map((g) => g.toExponential(6)).join(', ')}]`,
  ].join('\n');
}
