/**
 * Build-time cost of the dualtape plugin (`npm run bench:transform`):
 *
 *   node --import dualtape/register bench/transform.ts [--functions=300,1000,3000] [--runs=5] [--json]
 *
 * Generates one large TypeScript module — thousands of small numeric functions
 * (loops, branches, Math calls, typed parameters, interfaces), every tenth of
 * them handed to `grad` and some of those calling others — and times, as the
 * median of several runs after a warm-up:
 *
 * - `typescript`: @babel/core with @babel/preset-typescript only (what a
 *   Babel-based TypeScript build costs anyway);
 * - `dualtape`: the transform hook of the dualtape bundler plugin
 *   (bundler/core.ts: preset-typescript plus the dualtape Babel plugin,
 *   source maps on), called as a bundler calls it.
 *
 * Prints both and their ratio, for each module size (`--functions`: the
 * number of functions, a comma-separated list), writes them to
 * bench/transform.json and regenerates the docs' build-time table from it
 * (bench/docs-tables.ts). `--json`: print the results as JSON, write nothing. Both produce a source map,
 * as in a build. (Babel notes on stderr that it compacts outputs over 500 kB.)
 */
import os from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { transformAsync } from '@babel/core';
import { unpluginFactory } from '../bundler/core.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SIZES = option('functions', '300,1000,3000').split(',').map(Number);
const RUNS = Number(option('runs', '5'));
const GRAD_EVERY = 10;

/** The generated module: FUNCTIONS numeric functions, every GRAD_EVERY-th handed to grad. */
export function generateModule(count: number): string {
  const out: string[] = [
    `import { grad, valueAndGrad } from 'dualtape';`,
    ``,
    `export interface Point { readonly x: number; readonly y: number }`,
    `type Vec = number[];`,
    `const SCALE: number = 0.5;`,
    ``,
  ];
  for (let i = 0; i < count; i++) {
    const k = (i % 7) + 1;
    switch (i % 4) {
      case 0:
        out.push(
          `export function f${i}(x: Vec, w: number): number {`,
          `  let s: number = 0;`,
          `  for (let j = 0; j < x.length; j++) {`,
          `    const t = x[j] * w + ${k} * SCALE;`,
          `    s += t > 0 ? Math.sin(t) * t : Math.exp(t) - 1;`,
          `  }`,
          `  return s / (1 + x.length);`,
          `}`,
        );
        break;
      case 1:
        out.push(
          `export function f${i}(p: Point, a: number): number {`,
          `  const r = Math.hypot(p.x - a, p.y + ${k});`,
          `  if (r < 1e-9) return 0;`,
          `  return Math.log1p(r * r) / r + (p.x * p.y) ** 2 * ${k / 10};`,
          `}`,
        );
        break;
      case 2:
        out.push(
          `export const f${i} = (x: Vec, b: number): number =>`,
          `  x.reduce((acc: number, v: number, j: number) => acc + Math.tanh(v * b - j) * ${k}, 0);`,
        );
        break;
      default:
        out.push(
          `export function f${i}(x: Vec, c: number): number {`,
          `  let m = -Infinity;`,
          `  let total = 0;`,
          `  for (const v of x) {`,
          `    m = Math.max(m, v * c);`,
          `    total += Math.sqrt(1 + v * v) * ${k};`,
          `  }`,
          `  return m + total / x.length;`,
          `}`,
        );
    }
    if (i % GRAD_EVERY === 0) {
      // A loss that calls its neighbour (a same-module helper: twinned too).
      const helper = i > 0 && (i - 1) % 4 !== 1 ? `f${i - 1}(x, 0.5)` : '0';
      out.push(
        `function loss${i}(x: Vec, w: number): number {`,
        `  return f${i}(${i % 4 === 1 ? '{ x: x[0], y: x[1] }' : 'x'}, w) + ${helper} * 0.1;`,
        `}`,
        i % 20 === 0
          ? `export const dLoss${i} = grad(loss${i}, { argnums: 0 });`
          : `export const vgLoss${i} = valueAndGrad(loss${i});`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

const presetTypescript = createRequire(import.meta.url).resolve('@babel/preset-typescript');

async function typescriptOnly(code: string, filename: string): Promise<number> {
  const result = await transformAsync(code, {
    filename,
    sourceFileName: filename,
    babelrc: false,
    configFile: false,
    sourceType: 'module',
    sourceMaps: true,
    presets: [[presetTypescript, { allowDeclareFields: true, onlyRemoveTypeImports: false }]],
  });
  return result?.code?.length ?? 0;
}

const plugin = unpluginFactory(undefined, { framework: 'esbuild', versions: {} });
type Handler = (this: unknown, code: string, id: string) => Promise<{ code: string } | null>;
const handler = (plugin.transform as { handler: Handler }).handler;
const context = {
  error(message: unknown) {
    throw new Error(String((message as { message?: string }).message ?? message));
  },
};

async function withDualtape(code: string, filename: string): Promise<number> {
  const result = await handler.call(context, code, filename);
  if (!result) throw new Error('the dualtape plugin skipped the benchmark module');
  return result.code.length;
}

const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export interface TransformBench {
  date: string;
  machine: { cpuModel: string; cores: number; node: string; loadAverage: { start: number; end: number } };
  functions: number;
  differentiated: number;
  sourceBytes: number;
  lines: number;
  runs: number;
  typescriptMs: number;
  dualtapeMs: number;
  ratio: number;
  outputBytes: { typescript: number; dualtape: number };
}

export async function benchTransform(functions: number, runs = RUNS): Promise<TransformBench> {
  const code = generateModule(functions);
  const filename = `${process.cwd()}/bench-transform-generated.ts`;
  const loadStart = os.loadavg()[0]!;
  const tsBytes = await typescriptOnly(code, filename); // warm-up (and output size)
  const dtBytes = await withDualtape(code, filename);
  // Alternate the two, so that both see the same machine load; median of each.
  const ts: number[] = [];
  const dt: number[] = [];
  for (let i = 0; i < runs; i++) {
    ts.push(await timed(() => typescriptOnly(code, filename)));
    dt.push(await timed(() => withDualtape(code, filename)));
  }
  const typescriptMs = medianOf(ts);
  const dualtapeMs = medianOf(dt);
  return {
    date: new Date().toISOString(),
    machine: {
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      node: process.version,
      loadAverage: { start: loadStart, end: os.loadavg()[0]! },
    },
    functions,
    differentiated: Math.ceil(functions / GRAD_EVERY),
    sourceBytes: code.length,
    lines: code.split('\n').length,
    runs,
    typescriptMs,
    dualtapeMs,
    ratio: dualtapeMs / typescriptMs,
    outputBytes: { typescript: tsBytes, dualtape: dtBytes },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results: TransformBench[] = [];
  for (const n of SIZES) results.push(await benchTransform(n));
  if (args.includes('--json')) console.log(JSON.stringify(results, null, 2));
  else {
    const m = results[0]!.machine;
    console.log(`Transform time of one generated TypeScript module, median of ${RUNS} runs`);
    console.log(`(${results[0]!.date.slice(0, 10)}, ${m.cpuModel}, ${m.cores} cores, Node ${m.node})\n`);
    console.log('functions  grad  lines   source   preset-typescript   + dualtape    ratio   output (ts / dualtape)   load');
    for (const r of results) {
      console.log(
        [
          String(r.functions).padStart(9),
          String(r.differentiated).padStart(5),
          String(r.lines).padStart(6),
          `${(r.sourceBytes / 1024).toFixed(0)} kB`.padStart(8),
          `${r.typescriptMs.toFixed(0)} ms`.padStart(19),
          `${r.dualtapeMs.toFixed(0)} ms`.padStart(12),
          `${r.ratio.toFixed(2)} x`.padStart(8),
          `${(r.outputBytes.typescript / 1024).toFixed(0)} / ${(r.outputBytes.dualtape / 1024).toFixed(0)} kB`.padStart(24),
          `${r.machine.loadAverage.start.toFixed(1)}-${r.machine.loadAverage.end.toFixed(1)}`.padStart(8),
        ].join(' '),
      );
    }
    console.log('\n(grad: functions handed to grad/valueAndGrad; load: 1-minute load average before and after)');
    writeFileSync(new URL('./transform.json', import.meta.url), `${JSON.stringify({ benchmark: 'transform', runs: RUNS, results }, null, 2)}\n`);
    const { updateDocs } = await import('./docs-tables.ts');
    console.log(`Wrote bench/transform.json; ${updateDocs()}`);
  }
}
