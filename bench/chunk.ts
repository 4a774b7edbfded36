/**
 * `npm run bench:chunk`: how many input directions a forward-mode pass should
 * carry. Times one forward-mode gradient per chunk width on three workloads
 * and prints the cost per input direction as a multiple of one plain
 * evaluation (median of interleaved samples). The default width in
 * runtime/api.ts (FORWARD_CHUNK) was chosen from this table. Writes
 * bench/chunk.json and regenerates the docs' chunk table from it
 * (bench/docs-tables.ts).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { grad } from 'dualtape';
import { mlpCase, rnnCase, rosenbrockCase } from './cases.ts';

const WIDTHS = [1, 4, 8, 16, 32, 64, 128];
const loadAtStart = os.loadavg()[0]!;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Milliseconds per call of `run`, over a batch of about `ms` milliseconds. */
function perCall(run: () => unknown, ms: number): number {
  let calls = 0;
  const t0 = performance.now();
  do {
    run();
    calls++;
  } while (performance.now() - t0 < ms);
  return (performance.now() - t0) / calls;
}

const cases = [
  { name: 'rosenbrock n = 1000', f: rosenbrockCase.f as (x: number[], d?: unknown) => number, inst: rosenbrockCase.make(1000) },
  { name: 'mlp n = 101', f: mlpCase.f as (x: number[], d?: unknown) => number, inst: mlpCase.make(10) },
  { name: 'rnn n = 145', f: rnnCase.f as (x: number[], d?: unknown) => number, inst: rnnCase.make(5) },
];

console.log(`forward mode: cost of one input direction, as a multiple of one plain evaluation (median of 5)\n`);
console.log(['workload'.padEnd(22), ...WIDTHS.map((w) => `chunk ${w}`.padStart(10))].join(''));
const rows: { workload: string; perDirection: Record<string, number> }[] = [];
for (const c of cases) {
  const { x, data } = c.inst;
  const perDirection: Record<string, number> = {};
  const n = x.length;
  const row: string[] = [c.name.padEnd(22)];
  for (const chunk of WIDTHS) {
    const g = grad(c.f, { mode: 'forward', argnums: 0, chunk });
    const ratios: number[] = [];
    for (let s = 0; s < 5; s++) {
      const plain = perCall(() => c.f(x, data), 20);
      const fwd = perCall(() => g(x, data), 60);
      ratios.push(fwd / plain / n);
    }
    perDirection[chunk] = median(ratios);
    row.push(median(ratios).toFixed(2).padStart(10));
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  console.log(row.join(''));
  rows.push({ workload: c.name, perDirection });
}
const machine = {
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  loadAverage: { start: loadAtStart, end: os.loadavg()[0]! },
};
const record = { benchmark: 'chunk', date: new Date().toISOString(), machine, widths: WIDTHS, samples: 5, rows };
writeFileSync(new URL('./chunk.json', import.meta.url), `${JSON.stringify(record, null, 2)}\n`);
const { updateDocs } = await import('./docs-tables.ts');
console.log(`Wrote bench/chunk.json; ${updateDocs()}`);
