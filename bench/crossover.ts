/**
 * `npm run bench:crossover`: forward mode against reverse mode for functions
 * of few inputs, and forward mode with the generated tangent code
 * (plugin/tangent/) against forward mode on the Dual runtime.
 *
 * Part 1: the derivative of a one-input function, then the gradient of a
 * function of n = 2 … 64 inputs (the same coupled term per input, so f costs
 * O(n)); every time is one gradient as a multiple of one plain evaluation of
 * f, measured in the same process, interleaved (a batch of plain f before each
 * batch of the method), median and range of 7 runs.
 * Part 2: forward mode on the benchmark's workloads (one pass per 32 inputs,
 * so O(n²) in all; reported per input direction).
 *
 * Writes bench/crossover.json, bench/crossover.md and bench/crossover.svg.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { grad } from 'dualtape';
import { hasTangentCode, setTangentTier } from './tier.ts';
import { mlpCase, rnnCase, rosenbrockCase, straightLineCase } from './cases.ts';

// ---------------------------------------------------------------------------
// The functions
// ---------------------------------------------------------------------------

/** One input. */
export function one(x: number): number {
  return Math.sin(x * x) + (x * x) / (1 + x * x) + Math.exp(-x);
}

/** n inputs, each term coupling x[i] with x[i + 1]. */
export function few(x: number[]): number {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i];
    const b = x[(i + 1) % n];
    s += Math.sin(a * b) + (a * a) / (1 + b * b) + Math.exp(-a);
  }
  return s;
}

// ---------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------

let sink = 0;
function consume(r: unknown): void {
  sink += typeof r === 'number' ? r : (r as ArrayLike<number>)[0] ?? 0;
}

/** Milliseconds per call of `run` over a batch of about `ms` milliseconds. */
function perCall(run: () => unknown, ms: number): number {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    for (let k = 0; k < 16; k++) consume(run());
    calls += 16;
    t = performance.now();
  } while (t - t0 < ms);
  return (t - t0) / calls;
}

interface Stat {
  median: number;
  min: number;
  max: number;
}

function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, min: s[0]!, max: s[s.length - 1]! };
}

const RUNS = Number(process.env.CROSSOVER_RUNS ?? 7);
const BATCH_MS = Number(process.env.CROSSOVER_MS ?? 40);

/** Ratio of `method` to `plain`, paired samples; `tier` selects generated code (true) or the Dual runtime. */
function ratio(plain: () => unknown, method: () => unknown, tier: boolean): Stat {
  setTangentTier(tier);
  try {
    for (let w = 0; w < 3; w++) {
      perCall(plain, 10);
      perCall(method, 10);
    }
    const rs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const p = perCall(plain, BATCH_MS);
      const m = perCall(method, BATCH_MS);
      rs.push(m / p);
    }
    return stat(rs);
  } finally {
    setTangentTier(true);
  }
}

// ---------------------------------------------------------------------------
// Part 1: crossover
// ---------------------------------------------------------------------------

interface Row {
  n: number;
  fNs: number;
  forwardGenerated: Stat;
  forwardDual: Stat;
  reverse: Stat;
}

const NS = [1, 2, 4, 8, 16, 32, 64];
const rows: Row[] = [];
if (!hasTangentCode(one) || !hasTangentCode(few)) throw new Error('crossover: the plugin made no tangent code for the benchmark functions');
process.stderr.write('crossover ');
for (const n of NS) {
  let plain: () => unknown;
  let fwd: () => unknown;
  let rev: () => unknown;
  if (n === 1) {
    const gf = grad(one, { mode: 'forward' });
    const gr = grad(one);
    const x = 0.7;
    plain = () => one(x);
    fwd = () => gf(x);
    rev = () => gr(x);
  } else {
    const gf = grad(few, { mode: 'forward' });
    const gr = grad(few);
    const x = Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    plain = () => few(x);
    fwd = () => gf(x);
    rev = () => gr(x);
  }
  const fNs = perCall(plain, 50) * 1e6;
  rows.push({ n, fNs, forwardGenerated: ratio(plain, fwd, true), forwardDual: ratio(plain, fwd, false), reverse: ratio(plain, rev, true) });
  process.stderr.write('.');
}
process.stderr.write('\n');

// ---------------------------------------------------------------------------
// Part 2: forward mode on the workloads
// ---------------------------------------------------------------------------

interface WorkloadRow {
  workload: string;
  n: number;
  /** One forward-mode gradient / one f, divided by n: the cost of one input direction. */
  generatedPerInput: Stat;
  dualPerInput: Stat;
}

const workloadRows: WorkloadRow[] = [];
const cases = [
  { name: 'rosenbrock', c: rosenbrockCase, key: 100 },
  { name: 'rosenbrock', c: rosenbrockCase, key: 1000 },
  { name: 'mlp', c: mlpCase, key: 10 },
  { name: 'rnn', c: rnnCase, key: 5 },
  { name: 'straight-line', c: straightLineCase, key: 100 },
];
process.stderr.write('workloads ');
for (const { name, c, key } of cases) {
  const inst = c.make(key);
  const f = c.f as (x: number[], d?: unknown) => number;
  if (!hasTangentCode(f)) throw new Error(`crossover: no tangent code for ${name}`);
  const g = grad(f, { mode: 'forward', argnums: 0 });
  const n = inst.x.length;
  const plain = () => f(inst.x, inst.data);
  const fwd = () => g(inst.x, inst.data);
  const per = (s: Stat): Stat => ({ median: s.median / n, min: s.min / n, max: s.max / n });
  workloadRows.push({ workload: name, n, generatedPerInput: per(ratio(plain, fwd, true)), dualPerInput: per(ratio(plain, fwd, false)) });
  process.stderr.write('.');
}
process.stderr.write('\n');

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

const meta = { date: new Date().toISOString(), node: process.version, runs: RUNS, batchMs: BATCH_MS, sink: sink === 0 ? 0 : 1 };
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
writeFileSync(here('./crossover.json'), JSON.stringify({ meta, crossover: rows, workloads: workloadRows }, null, 2) + '\n');

const fmt = (s: Stat) => `${s.median.toFixed(1)}x (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
const md: string[] = [
  '# Forward vs reverse mode for few inputs, generated tangent code vs Dual runtime',
  '',
  `Measured ${meta.date.slice(0, 10)}, Node ${meta.node}, ${RUNS} paired runs of ~${BATCH_MS} ms each; median (min–max) of one gradient's time`,
  'as a multiple of one plain evaluation of f in the same process. The machine is shared and noisy: read ±30%.',
  '`npm run bench:crossover` regenerates this file.',
  '',
  '## One gradient, n inputs (n = 1: `one(x)`, a scalar function; n ≥ 2: `few(x)`, one coupled term per input)',
  '',
  '| n | f (ns) | forward, generated | forward, Dual runtime | reverse | forward / reverse |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.n} | ${r.fNs.toFixed(0)} | ${fmt(r.forwardGenerated)} | ${fmt(r.forwardDual)} | ${fmt(r.reverse)} | ${(r.forwardGenerated.median / r.reverse.median).toFixed(2)} |`),
  '',
  '## Forward mode on the workloads: cost per input direction (one gradient / f / n)',
  '',
  '| workload | n | generated | Dual runtime | speed-up |',
  '|---|---|---|---|---|',
  ...workloadRows.map((w) => `| ${w.workload} | ${w.n} | ${w.generatedPerInput.median.toFixed(2)}x | ${w.dualPerInput.median.toFixed(2)}x | ${(w.dualPerInput.median / w.generatedPerInput.median).toFixed(1)}x |`),
  '',
];
writeFileSync(here('./crossover.md'), md.join('\n'));
writeFileSync(here('./crossover.svg'), plot(rows));
console.log(md.join('\n'));

// The docs' tables come from bench/crossover.json (bench/docs-tables.ts).
{
  const { updateDocs } = await import('./docs-tables.ts');
  console.log(`Wrote bench/crossover.json; ${updateDocs()}`);
}

/** Ratio to f against n, log-log, one line per method. */
function plot(rs: Row[]): string {
  const W = 640;
  const H = 360;
  const m = { l: 60, r: 170, t: 30, b: 45 };
  const series: [string, string, (r: Row) => number][] = [
    ['forward, generated', '#1b7837', (r) => r.forwardGenerated.median],
    ['forward, Dual runtime', '#b2182b', (r) => r.forwardDual.median],
    ['reverse', '#2166ac', (r) => r.reverse.median],
  ];
  const ys = rs.flatMap((r) => series.map(([, , y]) => y(r)));
  const y0 = Math.log10(Math.max(0.5, Math.min(...ys) / 1.5));
  const y1 = Math.log10(Math.max(...ys) * 1.5);
  const x0 = Math.log2(rs[0]!.n);
  const x1 = Math.log2(rs[rs.length - 1]!.n);
  const px = (n: number) => m.l + ((Math.log2(n) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (v: number) => H - m.b - ((Math.log10(v) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.l}" y="18">one gradient / one evaluation of f, against the number of inputs n</text>`);
  for (let e = Math.ceil(y0); e <= Math.floor(y1); e++) {
    const y = py(10 ** e);
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${m.l - 8}" y="${y + 4}" text-anchor="end">${10 ** e}x</text>`);
  }
  for (const r of rs) out.push(`<text x="${px(r.n)}" y="${H - m.b + 18}" text-anchor="middle">${r.n}</text>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">n (inputs)</text>`);
  series.forEach(([label, color, y], k) => {
    const pts = rs.map((r) => `${px(r.n).toFixed(1)},${py(y(r)).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${W - m.r + 10}" y="${m.t + 20 + 18 * k}" fill="${color}">${label}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
