/**
 * The two reverse-mode tiers side by side, measured in CPU time
 * (`npm run bench:tiers`): for each workload and size, one gradient on the
 * adjoint tier, one on the tape tier (forced) and one hand-written gradient,
 * as multiples of one plain evaluation of f. CPU time of this process
 * (process.cpuUsage), median of interleaved samples, so that other work on a
 * shared machine disturbs it less than wall-clock time; it still moves by
 * ±30% between runs. Also: heap growth over 10⁵ gradients of a small function.
 *
 * Writes bench/tiers.json (docs/adjoint.md's table is generated from it by
 * bench/docs-tables.ts) unless `--only` picks a subset.
 *
 *   node --expose-gc --import dualtape/register bench/tiers.ts [--only=rosenbrock,huber] [--sizes=smoke|quick|full]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { workloads, type Scale } from './cases.ts';
import { dualtapeGradient, onTape, tierLabel } from './dualtape.ts';

const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const scale = (process.argv.find((a) => a.startsWith('--sizes='))?.slice(8) ?? 'full') as Scale;
const SAMPLES = 9;
const started = new Date();
const loadStart = loadavg()[0]!;

/** One row of bench/tiers.json: CPU time per call, medians of SAMPLES interleaved samples. */
export interface TiersRow {
  workload: string;
  n: number;
  plainUs: number;
  handUs: number;
  adjointUs: number;
  tapeUs: number;
  /** The tier the gradient ran on by default ('adjoint' or the reason it fell back to the tape). */
  tier: string;
}
export interface TiersFile {
  date: string;
  machine: { cpuModel: string; cores: number; node: string; loadAverage: { start: number; end: number } };
  sizes: Scale;
  samples: number;
  durationSeconds: number;
  clock: string;
  rows: TiersRow[];
  heapGrowthKiB: number | null;
}
const records: TiersRow[] = [];

function cpuTime(run: () => unknown, reps: number): number {
  const t0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) run();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / reps; // µs per call
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const rows: string[][] = [];
for (const w of workloads) {
  if (only && !only.includes(w.id)) continue;
  for (const key of w.sizes[scale]) {
    const inst = w.make(key);
    const { x, data } = inst;
    const g = dualtapeGradient(w.f, 'reverse', w.hasData);
    const methods: [string, () => unknown][] = [
      ['plain', () => w.f(x, data as never)],
      ['hand', () => w.hand(x, data as never)],
      ['adjoint', () => g(x, data)],
      ['tape', () => onTape(() => g(x, data))],
    ];
    // Warm up (about 100 ms each, so the JIT has settled), then repetitions per sample: about 20 ms.
    const once = methods.map(([, run]) => {
      const t0 = performance.now();
      let calls = 0;
      while (performance.now() - t0 < 100) {
        run();
        calls++;
      }
      return Math.max(((performance.now() - t0) * 1000) / calls, 0.05);
    });
    const reps = once.map((t) => Math.max(1, Math.round(20_000 / t)));
    const samples: number[][] = methods.map(() => []);
    for (let s = 0; s < SAMPLES; s++) {
      methods.forEach(([, run], m) => samples[m]!.push(cpuTime(run, reps[m]!)));
    }
    const [plain, hand, adj, tape] = samples.map(median) as [number, number, number, number];
    records.push({ workload: w.id, n: inst.n, plainUs: plain, handUs: hand, adjointUs: adj, tapeUs: tape, tier: tierLabel(w.f) });
    rows.push([w.id, String(inst.n), `${plain.toFixed(plain < 10 ? 3 : 1)} µs`, (hand / plain).toFixed(2), (adj / plain).toFixed(2), (tape / plain).toFixed(1),
      (adj / hand).toFixed(2), tierLabel(w.f)]);
    process.stderr.write(`${w.id} n=${inst.n} done\n`);
  }
}

const head = ['workload', 'n', 'plain f', 'hand / f', 'adjoint / f', 'tape / f', 'adjoint / hand', 'tier'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((n) => '-'.repeat(n + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));

// Heap over 10⁵ gradients of a small function (needs --expose-gc).
const gc = (globalThis as { gc?: () => void }).gc;
let heapGrowthKiB: number | null = null;
if (gc) {
  const rb = workloads.find((w) => w.id === 'rosenbrock')!;
  const inst = rb.make(10);
  const g = dualtapeGradient(rb.f, 'reverse', false);
  for (let i = 0; i < 10_000; i++) g(inst.x, undefined);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) g(inst.x, undefined);
  gc();
  const after = process.memoryUsage().heapUsed;
  heapGrowthKiB = Math.round((after - before) / 1024);
  console.log(`\nheap after 10^5 gradients of Rosenbrock n = 10 (adjoint tier): ${((after - before) / 1024).toFixed(0)} KiB growth`);
}

if (!only) {
  const record: TiersFile = {
    date: started.toISOString(),
    machine: { cpuModel: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadAverage: { start: loadStart, end: loadavg()[0]! } },
    sizes: scale,
    samples: SAMPLES,
    durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
    clock: 'process.cpuUsage (user + system), µs per call',
    rows: records,
    heapGrowthKiB,
  };
  writeFileSync(new URL('./tiers.json', import.meta.url), `${JSON.stringify(record, null, 2)}\n`);
  const { updateDocs } = await import('./docs-tables.ts');
  console.log(`Wrote bench/tiers.json; ${updateDocs()}`);
}
