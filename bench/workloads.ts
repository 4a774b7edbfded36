'use differentiable';
/**
 * The benchmark's workloads, written as ordinary TypeScript over `number[]`.
 *
 * The file-level 'use differentiable' directive makes the dualtape plugin add
 * a differentiable twin next to each function here (so `grad(rosenbrock)`
 * works from another module); the functions themselves stay untouched, and
 * plain callers (the "plain f" baseline of the benchmark) run exactly this
 * code. Their hand-written gradients are in analytic.ts, their array-library
 * versions in libs/.
 */

/** Rosenbrock: sum over i < n-1 of 100 (x[i+1] - x[i]²)² + (1 - x[i])². */
export function rosenbrock(x: number[]): number {
  let sum = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i];
    const b = x[i + 1];
    sum += 100 * (b - a * a) ** 2 + (1 - a) ** 2;
  }
  return sum;
}

/** A batch for the MLP: `inputs[k]` has `d` features, `targets[k]` is its target. */
export interface MlpData {
  inputs: number[][];
  targets: number[];
  hidden: number;
}

/**
 * Mean squared error of a 2-layer tanh network over a batch.
 * Flat parameters: [ W1 (hidden × d, row-major) | b1 (hidden) | w2 (hidden) | b2 ].
 *   y_k = w2 · tanh(W1 x_k + b1) + b2,  loss = mean_k (y_k - t_k)².
 */
export function mlpLoss(p: number[], data: MlpData): number {
  const { inputs, targets, hidden } = data;
  const d = inputs[0].length;
  const b1 = hidden * d;
  const w2 = b1 + hidden;
  const b2 = w2 + hidden;
  let loss = 0;
  for (let k = 0; k < inputs.length; k++) {
    const x = inputs[k];
    let out = p[b2];
    for (let j = 0; j < hidden; j++) {
      const row = j * d;
      let z = p[b1 + j];
      for (let i = 0; i < d; i++) z += p[row + i] * x[i];
      out += p[w2 + j] * Math.tanh(z);
    }
    const r = out - targets[k];
    loss += r * r;
  }
  return loss / inputs.length;
}

/** One sequence for the RNN: `xs[t]` is the input at step t, `ys[t]` the target. */
export interface RnnData {
  xs: number[][];
  ys: number[];
  hidden: number;
}

/**
 * An Elman RNN unrolled over the sequence, squared loss at every step.
 * Flat parameters: [ W (H × H) | U (H × D) | b (H) | v (H) | c ], all row-major.
 *   h_0 = 0,  h_t = tanh(W h_{t-1} + U x_t + b),  y_t = v · h_t + c,
 *   loss = mean_t (y_t - ys_t)².
 */
export function rnnLoss(p: number[], data: RnnData): number {
  const { xs, ys, hidden } = data;
  const dIn = xs[0].length;
  const oU = hidden * hidden;
  const ob = oU + hidden * dIn;
  const ov = ob + hidden;
  const oc = ov + hidden;
  let h: number[] = [];
  for (let j = 0; j < hidden; j++) h.push(0);
  let loss = 0;
  for (let t = 0; t < xs.length; t++) {
    const x = xs[t];
    const next: number[] = [];
    for (let j = 0; j < hidden; j++) {
      let z = p[ob + j];
      const rowW = j * hidden;
      for (let k = 0; k < hidden; k++) z += p[rowW + k] * h[k];
      const rowU = oU + j * dIn;
      for (let i = 0; i < dIn; i++) z += p[rowU + i] * x[i];
      next.push(Math.tanh(z));
    }
    h = next;
    let y = p[oc];
    for (let j = 0; j < hidden; j++) y += p[ov + j] * h[j];
    const r = y - ys[t];
    loss += r * r;
  }
  return loss / xs.length;
}

/** A long straight-line chain: sum over i < n-1 of sin(x[i]) · x[i+1] (3 operations a term). */
export function straightLine(x: number[]): number {
  let sum = 0;
  for (let i = 0; i < x.length - 1; i++) sum += Math.sin(x[i]) * x[i + 1];
  return sum;
}

/** Rosenbrock with each term's pieces as their own statements (the tape records each; the adjoint tier should not care). */
export function rosenbrock3(x: number[]): number {
  let sum = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const t = x[i + 1] - x[i] * x[i];
    const u = 1 - x[i];
    sum += 100 * t * t + u * u;
  }
  return sum;
}

/** Targets and threshold for the Huber loss. */
export interface HuberData {
  c: number[];
  delta: number;
}

/** Huber loss of the residuals x - c: a data-dependent branch per element. */
export function huberLoss(x: number[], data: HuberData): number {
  const { c, delta } = data;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const r = x[i] - c[i];
    if (Math.abs(r) <= delta) s += 0.5 * r * r;
    else s += delta * (Math.abs(r) - 0.5 * delta);
  }
  return s;
}

function softplus(t: number): number {
  return Math.log(1 + Math.exp(t));
}

/** 1 + t + t² + … + t^k, written recursively. */
function geometric(t: number, k: number): number {
  return k === 0 ? 1 : 1 + t * geometric(t, k - 1);
}

/** Calls of helper functions, one of them recursive: sum of softplus(x_i) · geometric(x_i / 2, 3). */
export function helperCalls(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += softplus(x[i]) * geometric(0.5 * x[i], 3);
  return s;
}
