/**
 * The benchmark (`npm run bench`, see docs/performance.md):
 *
 *   node --expose-gc --import dualtape/register bench/run.ts [--quick] [--no-libs] [--only=rosenbrock,mlp]
 *
 * For each workload and size, times one gradient by every method as a ratio to
 * one plain evaluation of f (paired, interleaved samples), checks every
 * gradient against the hand-written one, records dualtape's tape size, fits
 * log-log slopes of time against n, and measures the heap around one gradient
 * of a ≈10⁶-operation function. Prints tables to stdout, progress to stderr,
 * and writes bench/results.json, bench/results.svg and bench/results.md.
 *
 * `--smoke` (used by test/bench-smoke.test.ts): tiny sizes, no libraries, no
 * files written; prints the results, gradients included, as JSON on stdout.
 * `--render`: measure nothing, rewrite the tables, results.md and results.svg
 * from bench/results.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { progress } from '../examples/util.ts';
import { workloads, type Scale } from './cases.ts';
import { measureCell, type CellResult, type Config, type History, type Method } from './harness.ts';
import type { LibraryInfo } from './libs/common.ts';
import { measureMemory, type MemoryResult } from './memory.ts';
import { jsMethods, plainMethod } from './methods.ts';
import { logLogPlot } from './plot.ts';
import { markdownReport, slopes, textReport } from './report.ts';
import { updateDocs } from './docs-tables.ts';

const CONFIGS: Record<Scale, Config> = {
  // ~80 ms samples, 9 paired runs; per-input (O(n²)) methods up to 6 s per gradient (then 3 runs).
  full: { targetMs: 80, runs: 9, minRuns: 3, warmupMs: 60, maxCallMs: 6000, slowBudgetMs: 8000, keepGradients: false },
  quick: { targetMs: 20, runs: 5, minRuns: 3, warmupMs: 20, maxCallMs: 400, slowBudgetMs: 1500, keepGradients: false },
  // Smoke sizes are tiny: every method runs (a 1 ms warm-up on a loaded machine could predict seconds and skip one);
  // 3 runs: the median of 2 is their maximum.
  smoke: { targetMs: 1, runs: 3, minRuns: 3, warmupMs: 1, maxCallMs: 60_000, slowBudgetMs: 50, keepGradients: true },
};

export interface Results {
  benchmark: 'dualtape bench';
  date: string;
  scale: Scale;
  machine: {
    cpuModel: string;
    cores: number;
    node: string;
    v8: string;
    platform: string;
    totalMemoryGB: number;
    /** 1-minute load average at the start and end of the run (other work on the machine). */
    loadAverage: { start: number; end: number };
  };
  config: Config;
  durationSeconds: number;
  libraries: LibraryInfo[];
  cells: CellResult[];
  slopes: ReturnType<typeof slopes>;
  memory: MemoryResult | null;
  notes: string[];
}

const args = process.argv.slice(2);
const scale: Scale = args.includes('--smoke') ? 'smoke' : args.includes('--quick') ? 'quick' : 'full';
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

async function measureAll(): Promise<Results> {
  const withLibs = scale !== 'smoke' && !args.includes('--no-libs');
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const cfg = CONFIGS[scale];
  const started = performance.now();
  const load0 = os.loadavg()[0]!;
  const say = scale === 'smoke' ? () => {} : progress;
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)}s`;

  const libraries: LibraryInfo[] = [];
  const libMethods: Method[] = [];
  if (withLibs) {
    say('loading jax-js ...');
    try {
      const { loadJax } = await import('./libs/jax.ts');
      const jax = await loadJax();
      libraries.push(...jax.info);
      libMethods.push(...jax.methods);
    } catch (e) {
      libraries.push({ id: 'jax', name: 'jax-js (@jax-js/jax)', status: 'failed', error: String(e), notes: [] });
    }
    say('loading TensorFlow.js ...');
    try {
      const { loadTfjs } = await import('./libs/tfjs.ts');
      const tf = await loadTfjs();
      libraries.push(...tf.info);
      libMethods.push(...tf.methods);
    } catch (e) {
      libraries.push({ id: 'tfjs', name: 'TensorFlow.js (@tensorflow/tfjs)', status: 'failed', error: String(e), notes: [] });
    }
    for (const l of libraries) if (l.status === 'failed') process.stderr.write(`${l.name}: FAILED: ${l.error}\n`);
  }
  const methods = [...jsMethods, ...libMethods];

  const chosen = workloads.filter((w) => only === undefined || only.includes(w.id));
  const total = chosen.reduce((s, w) => s + w.sizes[scale].length, 0);
  const cells: CellResult[] = [];
  for (const w of chosen) {
    const history: History = new Map();
    for (const key of w.sizes[scale]) {
      const inst = w.make(key);
      const prefix = `[${cells.length + 1}/${total} ${elapsed()}]`;
      cells.push(await measureCell(w, inst, plainMethod, methods, cfg, history, (m) => say(`${prefix} ${m}`)));
    }
  }

  let memory: MemoryResult | undefined;
  if (scale !== 'smoke') {
    say(`[memory ${elapsed()}] one reverse gradient of the ≈10⁶-operation straight-line function`);
    memory = await measureMemory();
  }
  say('');

  return {
    benchmark: 'dualtape bench',
    date: new Date().toISOString(),
    scale,
    machine: {
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      node: process.version,
      v8: process.versions.v8,
      platform: `${os.platform()} ${os.arch()}`,
      totalMemoryGB: Math.round(os.totalmem() / 2 ** 30),
      loadAverage: { start: load0, end: os.loadavg()[0]! },
    },
    config: cfg,
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
    libraries,
    cells,
    slopes: slopes(cells),
    memory: memory ?? null,
    notes: [
      'ratio = time of one gradient / time of one plain evaluation of f (the TypeScript function in bench/workloads.ts), ' +
        'each sample of a method paired with a sample of plain f taken just before it; median (min–max) over the runs.',
      'error = max_i |g_i - h_i| / max_i |h_i| against the hand-written gradient h (bench/analytic.ts).',
      'Per-input methods (dualtape forward, finite differences) predicted to take longer than config.maxCallMs per gradient are skipped (status "skipped", predictedMs).',
      'Libraries: inputs stay resident in the library between calls (upload not timed); reading the gradient back to JavaScript is timed.',
    ],
  };
}

/** Prints the tables and writes results.md and results.svg (and results.json when `json`). */
function writeOutputs(results: Results, json: boolean): void {
  const report = { cells: results.cells, slopes: results.slopes, memory: results.memory ?? undefined, libraries: results.libraries };
  const m = results.machine;
  const machineLine = `${m.cpuModel}, ${m.cores} cores, Node ${m.node}, ${results.date.slice(0, 10)}`;
  console.log(
    `dualtape benchmark (${results.scale}) — ${machineLine}; ${results.durationSeconds} s; ` +
      `load average ${m.loadAverage.start.toFixed(1)} → ${m.loadAverage.end.toFixed(1)}\n`,
  );
  console.log(textReport(report));

  if (json) writeFileSync(here('results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const rosen = results.cells.filter((c) => c.workload === 'rosenbrock');
  if (rosen.length > 0) {
    const labels = Object.fromEntries(results.cells.flatMap((c) => c.methods.map((mm) => [mm.id, mm.label])));
    const svg = logLogPlot(rosen, results.slopes.filter((s) => s.workload === 'rosenbrock'), {
      title: 'Rosenbrock: time of one gradient against n (log-log)',
      subtitle: `${machineLine}${results.scale === 'quick' ? ' (--quick)' : ''}`,
      labels,
    });
    writeFileSync(here('results.svg'), svg);
  }
  writeFileSync(
    here('results.md'),
    `<!-- written by npm run bench (${results.scale}), ${results.date}: ${machineLine} -->\n\n${markdownReport(report)}`,
  );
  console.log(`\n${json ? 'Wrote bench/results.json, ' : 'Rewrote '}bench/results.svg, bench/results.md`);
  // The docs' performance tables come from bench/results.json (bench/docs-tables.ts).
  if (json || args.includes('--render')) console.log(updateDocs());
}

if (args.includes('--render')) {
  writeOutputs(JSON.parse(readFileSync(here('results.json'), 'utf8')) as Results, false);
} else {
  const results = await measureAll();
  if (scale === 'smoke') process.stdout.write(`${JSON.stringify(results)}\n`);
  else writeOutputs(results, true);
}
