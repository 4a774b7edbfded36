/**
 * dualtape demo (`npm start`).
 *
 * 1. Trains a small neural network by gradient descent, with the gradient of
 *    an ordinary TypeScript loss function computed by `valueAndGrad`.
 * 2. Times one gradient of the Rosenbrock function by finite differences,
 *    forward mode and reverse mode, and checks that the three agree.
 *
 * Run with `node --import dualtape/register examples/demo.ts`: the loader
 * rewrites the arithmetic of the functions handed to grad/valueAndGrad (and of
 * the same-module functions they call); everything else runs untouched.
 */
import { grad, valueAndGrad } from 'dualtape';
import { fmt, gaussian, maxRelDiff, mulberry32, progress, row, table, time, type Timing } from './util.ts';

const rand = mulberry32(2024);

// ---------------------------------------------------------------------------
// 1. A 2-layer tanh network on two interleaved moons
// ---------------------------------------------------------------------------

interface Point {
  x: number;
  y: number;
  label: number; // +1 or -1
}

/** Two noisy interleaved half circles, centred on the origin. */
function moons(count: number, noise: number): Point[] {
  const points: Point[] = [];
  for (let i = 0; i < count; i++) {
    const upper = i % 2 === 0;
    const t = Math.PI * rand();
    const x = upper ? Math.cos(t) : 1 - Math.cos(t);
    const y = upper ? Math.sin(t) : 0.5 - Math.sin(t);
    points.push({
      x: x - 0.5 + noise * gaussian(rand),
      y: 2 * y - 0.5 + noise * gaussian(rand),
      label: upper ? 1 : -1,
    });
  }
  return points;
}

const H = 8; // hidden units
// All parameters in one flat vector:  [ A (H×2) | v (H) | b (H) | c ]
//   hidden unit j:  h_j = tanh(A_j0 x + A_j1 y + b_j)
//   output:         tanh(v · h + c)
const WEIGHTS = 3 * H; // A and v: the regularized part
const PARAMS = 4 * H + 1;
const LAMBDA = 1e-4; // L2 regularization strength

function predict(w: number[], x: number, y: number): number {
  let out = w[4 * H];
  for (let j = 0; j < H; j++) {
    const h = Math.tanh(w[2 * j] * x + w[2 * j + 1] * y + w[3 * H + j]);
    out += w[2 * H + j] * h;
  }
  return Math.tanh(out);
}

/** Mean squared error over the data, plus LAMBDA × (sum of squared weights). */
function loss(w: number[], data: Point[]): number {
  const sse = data.reduce((sum, p) => sum + (predict(w, p.x, p.y) - p.label) ** 2, 0);
  let l2 = 0;
  for (let i = 0; i < WEIGHTS; i++) l2 += w[i] ** 2;
  return sse / data.length + LAMBDA * l2;
}

// Differentiate with respect to the parameters only: the data is a constant.
const lossAndGrad = valueAndGrad(loss, { argnums: 0 });

const accuracy = (w: number[], data: Point[]): number =>
  data.filter((p) => Math.sign(predict(w, p.x, p.y)) === p.label).length / data.length;

/** The learned decision regions ('·' = predicted +1), with the data on top, and a legend. */
function plot(w: number[], data: Point[], cols = 64, rows = 20, r = 2): string {
  const grid = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j): string =>
      predict(w, -r + (2 * r * (j + 0.5)) / cols, r - (2 * r * (i + 0.5)) / rows) > 0 ? '·' : ' '),
  );
  for (const p of data) {
    const i = Math.floor(((r - p.y) / (2 * r)) * rows);
    const j = Math.floor(((p.x + r) / (2 * r)) * cols);
    const line = grid[i];
    if (line !== undefined && j >= 0 && j < cols) line[j] = p.label > 0 ? 'o' : 'x';
  }
  const edge = `  +${'-'.repeat(cols)}+`;
  return [
    edge,
    ...grid.map((line) => `  |${line.join('')}|`),
    edge,
    `  o  a point of class +1 (upper moon)     ·      region where the network predicts +1`,
    `  x  a point of class -1 (lower moon)     blank  region where the network predicts -1`,
    `  (x and y from ${-r} to ${r}; an o on a blank or an x on a dot is a misclassified point)`,
  ].join('\n');
}

const data = moons(160, 0.2);
// Random weights scaled by 1/sqrt(fan-in), zero biases.
let w = Array.from({ length: PARAMS }, (_, i) =>
  i < 2 * H ? gaussian(rand) * Math.SQRT1_2 : i < WEIGHTS ? gaussian(rand) / Math.sqrt(H) : 0,
);

const STEPS = 500;
const LEARNING_RATE = 0.5;
const widths = [6, 10, 10];
console.log(`Training a 2-${H}-1 tanh network on ${data.length} points (plain gradient descent)\n`);
console.log(row(['step', 'loss', 'accuracy'], widths));
const start = performance.now();
for (let step = 0; step <= STEPS; step++) {
  const [value, g] = lossAndGrad(w, data);
  if (step % 50 === 0) {
    console.log(row([`${step}`, value.toFixed(5), `${(100 * accuracy(w, data)).toFixed(1)}%`], widths));
  }
  if (step < STEPS) w = w.map((wi, i) => wi - LEARNING_RATE * g[i]);
}
const seconds = (performance.now() - start) / 1000;
console.log(
  `\nFinal training accuracy: ${(100 * accuracy(w, data)).toFixed(1)}%` +
    ` (${STEPS} gradients in ${seconds.toFixed(2)} s)\n`,
);
console.log(plot(w, data));

// ---------------------------------------------------------------------------
// 2. The cost of one gradient: finite differences vs forward vs reverse mode
// ---------------------------------------------------------------------------

function rosenbrock(x: number[]): number {
  let sum = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i];
    const b = x[i + 1];
    sum += 100 * (b - a * a) ** 2 + (1 - a) ** 2;
  }
  return sum;
}

const reverse = grad(rosenbrock);
const forward = grad(rosenbrock, { mode: 'forward' });

/** Central differences: 2n evaluations of f. */
function finiteDiff(f: (x: number[]) => number, x: number[]): number[] {
  const xh = x.slice();
  return x.map((xi, i) => {
    const h = 6e-6 * Math.max(1, Math.abs(xi)); // ≈ cbrt(machine epsilon), scaled
    xh[i] = xi + h;
    const up = f(xh);
    xh[i] = xi - h;
    const down = f(xh);
    xh[i] = xi;
    return (up - down) / (2 * h);
  });
}

// Finite differences and forward mode need O(n) evaluations of f, so O(n²)
// time: one predicted to take longer than this is estimated, not run.
const MAX_RUN_MS = 5000;

/** Time `fn`, or if `predictedMs` is over budget, return the prediction (runs: 0). */
function timeOrEstimate(fn: () => unknown, predictedMs: number): Timing {
  return predictedMs > MAX_RUN_MS ? { ms: predictedMs, runs: 0 } : time(fn);
}
/** A cost as a multiple of one plain evaluation of f; marked if not a median. */
function ratio(m: Timing, plain: Timing): string {
  const r = fmt(m.ms / plain.ms);
  return m.runs === 0 ? `~${r} (est.)` : m.runs === 1 ? `${r} *` : r;
}

console.log('\nOne gradient of the Rosenbrock function, as a multiple of one evaluation of f\n');
const rows: string[][] = [];
let previous: { n: number; fd: number; fwd: number } | undefined;
for (const n of [10, 100, 1000, 10000]) {
  const x = Array.from({ length: n }, () => 3 * rand() - 1.5);
  const scale = (ms: number): number => (previous ? ms * (n / previous.n) ** 2 : 0);
  let gFd: number[] = [];
  let gFwd: number[] = [];
  let gRev: number[] = [];

  progress(`timing n = ${n}: plain f ...`);
  const plain = time(() => rosenbrock(x));
  progress(`timing n = ${n}: reverse mode ...`);
  const rev = time(() => (gRev = reverse(x)));
  progress(`timing n = ${n}: forward mode ...`);
  const fwd = timeOrEstimate(() => (gFwd = forward(x)), scale(previous?.fwd ?? 0));
  progress(`timing n = ${n}: finite differences ...`);
  const fd = timeOrEstimate(() => (gFd = finiteDiff(rosenbrock, x)), scale(previous?.fd ?? 0));
  progress('');

  rows.push([
    `${n}`,
    fmt(plain.ms * 1000),
    ratio(fd, plain),
    ratio(fwd, plain),
    ratio(rev, plain),
    fd.runs === 0 ? 'not run' : maxRelDiff(gFd, gRev).toExponential(1),
    fwd.runs === 0 ? 'not run' : maxRelDiff(gFwd, gRev).toExponential(1),
  ]);
  previous = { n, fd: fd.ms, fwd: fwd.ms };
}
console.log(
  table(
    ['n', 'plain f (µs)', 'finite diff (×f)', 'forward (×f)', 'reverse (×f)', 'fd vs reverse', 'fwd vs reverse'],
    rows,
  ),
);
console.log(
  '\nTimes are medians of repeated runs after a warm-up; * = a single run;' +
    `\n~ = estimated from the previous n by O(n²) scaling (over the ${MAX_RUN_MS / 1000} s budget), not run.` +
    '\nLast two columns: max |g - g_reverse| / max |g_reverse| over the gradient components.',
);
