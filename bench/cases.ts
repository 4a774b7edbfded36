/**
 * The workloads as benchmark cases: sizes per run scale, seeded inputs, an
 * operation count, and the hand-written gradient to check against.
 */
import { gaussian, mulberry32 } from '../examples/util.ts';
import { helperCallsGrad, huberGrad, mlpGrad, rnnGrad, rosenbrockGrad, straightLineGrad } from './analytic.ts';
import { helperCalls, huberLoss, mlpLoss, rnnLoss, rosenbrock, rosenbrock3, straightLine, type HuberData, type MlpData, type RnnData } from './workloads.ts';

export type Scale = 'full' | 'quick' | 'smoke';
export type WorkloadId = 'rosenbrock' | 'mlp' | 'rnn' | 'straight-line' | 'rosenbrock-3' | 'huber' | 'helpers';

/** One concrete problem: parameters x (length n) and constant data. */
export interface Instance<D = unknown> {
  /** Number of parameters (the gradient's length). */
  readonly n: number;
  /** Arithmetic operations (and Math calls) in one evaluation of f. */
  readonly ops: number;
  /** The size key it was made from (n, or the hidden width for mlp/rnn). */
  readonly key: number;
  readonly description: string;
  readonly x: number[];
  readonly data: D;
}

export interface Workload<D = unknown> {
  readonly id: WorkloadId;
  readonly title: string;
  /** The workload function itself (from workloads.ts), so that dualtape finds its compiled twin. */
  readonly f: (x: number[], data: D) => number;
  readonly hand: (x: readonly number[], data: D) => Float64Array;
  /** Whether f takes the data argument (then only x is differentiated). */
  readonly hasData: boolean;
  /** Size keys per scale (n, or the hidden width for mlp/rnn). */
  readonly sizes: Readonly<Record<Scale, readonly number[]>>;
  make(key: number, seed?: number): Instance<D>;
}

/** Both RNN sizes use this many inputs per step and steps. */
export const RNN_INPUTS = 8;
export const RNN_STEPS = 20;
/** Examples in the MLP's batch. */
export const MLP_BATCH = 32;

const uniform = (rand: () => number, lo: number, hi: number) => lo + (hi - lo) * rand();

export const rosenbrockCase: Workload<undefined> = {
  id: 'rosenbrock',
  title: 'Rosenbrock',
  f: rosenbrock,
  hand: (x) => rosenbrockGrad(x),
  hasData: false,
  sizes: { full: [10, 100, 1000, 10_000], quick: [10, 100, 1000, 10_000], smoke: [2, 10, 31] },
  make(n, seed = 1) {
    const rand = mulberry32(seed);
    return {
      n,
      key: n,
      ops: 8 * (n - 1),
      description: `n = ${n}`,
      x: Array.from({ length: n }, () => uniform(rand, -1.5, 1.5)),
      data: undefined,
    };
  },
};

/** MLP with `hidden` units and d = hidden - 2 inputs: n = hidden² + 1 parameters (101, 10 001). */
export const mlpCase: Workload<MlpData> = {
  id: 'mlp',
  title: `2-layer tanh MLP, ${MLP_BATCH} examples`,
  f: mlpLoss,
  hand: (p, data) => mlpGrad(p, data),
  hasData: true,
  sizes: { full: [10, 100], quick: [10, 100], smoke: [3, 5] },
  make(hidden, seed = 2) {
    const rand = mulberry32(seed);
    const d = hidden - 2;
    const n = hidden * d + 2 * hidden + 1;
    const p: number[] = [];
    for (let i = 0; i < hidden * d; i++) p.push(gaussian(rand) / Math.sqrt(d));
    for (let j = 0; j < hidden; j++) p.push(0.1 * gaussian(rand)); // b1
    for (let j = 0; j < hidden; j++) p.push(gaussian(rand) / Math.sqrt(hidden)); // w2
    p.push(0.1 * gaussian(rand)); // b2
    const inputs = Array.from({ length: MLP_BATCH }, () => Array.from({ length: d }, () => gaussian(rand)));
    const targets = inputs.map((x) => Math.sin(x.reduce((s, v) => s + v, 0)));
    return {
      n,
      key: hidden,
      ops: MLP_BATCH * (hidden * (2 * d + 3) + 3) + 1,
      description: `n = ${n} (${d} inputs, ${hidden} hidden)`,
      x: p,
      data: { inputs, targets, hidden },
    };
  },
};

/** Elman RNN with `hidden` units, 8 inputs, 20 steps: n = hidden² + 10·hidden + 1 (145, 10 177). */
export const rnnCase: Workload<RnnData> = {
  id: 'rnn',
  title: `Elman RNN, ${RNN_STEPS} steps`,
  f: rnnLoss,
  hand: (p, data) => rnnGrad(p, data),
  hasData: true,
  sizes: { full: [8, 96], quick: [8, 96], smoke: [3] },
  make(hidden, seed = 3) {
    const rand = mulberry32(seed);
    const D = RNN_INPUTS;
    const n = hidden * hidden + hidden * D + 2 * hidden + 1;
    const p: number[] = [];
    for (let i = 0; i < hidden * hidden; i++) p.push((0.9 * gaussian(rand)) / Math.sqrt(hidden)); // W
    for (let i = 0; i < hidden * D; i++) p.push(gaussian(rand) / Math.sqrt(D)); // U
    for (let j = 0; j < hidden; j++) p.push(0.1 * gaussian(rand)); // b
    for (let j = 0; j < hidden; j++) p.push(gaussian(rand) / Math.sqrt(hidden)); // v
    p.push(0.1 * gaussian(rand)); // c
    const xs = Array.from({ length: RNN_STEPS }, () => Array.from({ length: D }, () => gaussian(rand)));
    const ys = xs.map((x, t) => Math.sin(0.3 * t + x[0]));
    return {
      n,
      key: hidden,
      ops: RNN_STEPS * (hidden * (2 * hidden + 2 * D + 1) + 2 * hidden + 3) + 1,
      description: `n = ${n} (${hidden} hidden, ${D} inputs)`,
      x: p,
      data: { xs, ys, hidden },
    };
  },
};

/** n inputs, 3(n - 1) operations: the largest full size is ≈ 10⁶ operations. */
export const straightLineCase: Workload<undefined> = {
  id: 'straight-line',
  title: 'Straight-line sin(x[i])·x[i+1] chain',
  f: straightLine,
  hand: (x) => straightLineGrad(x),
  hasData: false,
  sizes: { full: [1000, 10_000, 100_000, 333_334], quick: [1000, 10_000, 100_000], smoke: [2, 50] },
  make(n, seed = 4) {
    const rand = mulberry32(seed);
    return {
      n,
      key: n,
      ops: 3 * (n - 1),
      description: `n = ${n} (${3 * (n - 1)} ops)`,
      x: Array.from({ length: n }, () => uniform(rand, -2, 2)),
      data: undefined,
    };
  },
};

/** Rosenbrock with its term written as three statements (compare with the one-statement version). */
export const rosenbrock3Case: Workload<undefined> = {
  ...rosenbrockCase,
  id: 'rosenbrock-3',
  title: 'Rosenbrock, body as three statements',
  f: rosenbrock3,
};

/** Huber loss with a data-dependent branch per element; about half the residuals fall in each branch. */
export const huberCase: Workload<HuberData> = {
  id: 'huber',
  title: 'Huber loss (a branch per element)',
  f: huberLoss,
  hand: (x, data) => huberGrad(x, data),
  hasData: true,
  sizes: { full: [10, 100, 1000, 10_000], quick: [10, 100, 1000, 10_000], smoke: [3, 10] },
  make(n, seed = 5) {
    const rand = mulberry32(seed);
    return {
      n,
      key: n,
      ops: 6 * n,
      description: `n = ${n}`,
      x: Array.from({ length: n }, () => uniform(rand, -2, 2)),
      data: { c: Array.from({ length: n }, () => uniform(rand, -1, 1)), delta: 0.8 },
    };
  },
};

/** Calls of helpers (softplus, and a recursive geometric sum of depth 3) per element. */
export const helpersCase: Workload<undefined> = {
  id: 'helpers',
  title: 'Helper calls and recursion',
  f: helperCalls,
  hand: (x) => helperCallsGrad(x),
  hasData: false,
  sizes: { full: [10, 100, 1000, 10_000], quick: [10, 100, 1000, 10_000], smoke: [3, 10] },
  make(n, seed = 6) {
    const rand = mulberry32(seed);
    return {
      n,
      key: n,
      ops: 14 * n,
      description: `n = ${n}`,
      x: Array.from({ length: n }, () => uniform(rand, -2, 2)),
      data: undefined,
    };
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWorkload = Workload<any>;

export const workloads: readonly AnyWorkload[] = [rosenbrockCase, mlpCase, rnnCase, straightLineCase, rosenbrock3Case, huberCase, helpersCase];
