#!/usr/bin/env node
/**
 * `npx dualtape`: the command line.
 *
 *   dualtape compare <module>#<export> [--n 10,100,1000,10000] [--input <module>#<makeInput>]
 *   dualtape graph <module>#<export> --at '<JSON args>' [--format svg|dot|mermaid|json] [-o file]
 *
 * The user's module is compiled by the same loader as `dualtape/register`,
 * as if it began with 'use differentiable' (see hooks.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** A usage error: exit code 2. */
class UsageError extends Error {}

interface Target {
  file: string;
  exportName: string;
}

function parseTarget(spec: string, what: string): Target {
  const hash = spec.lastIndexOf('#');
  const file = hash < 0 ? spec : spec.slice(0, hash);
  const exportName = hash < 0 ? 'default' : spec.slice(hash + 1);
  if (!file || !exportName) throw new UsageError(`${what} must look like path/to/module.ts#exportName, got ${JSON.stringify(spec)}`);
  return { file: resolvePath(file), exportName };
}

let hooksRegistered = false;

// Stack traces (errors, graph regions) point at the lines of the user's .ts files, as with dualtape/register.
process.setSourceMapsEnabled(true);

/** Compiles and imports the modules through dualtape's loader; returns the named exports. */
async function loadExports(targets: Target[]): Promise<Function[]> {
  const urls = targets.map((t) => pathToFileURL(t.file).href);
  if (!hooksRegistered) {
    // Registered first, so it runs after dualtape/register's hook has asked for the source (see hooks.ts).
    register('./hooks.js', import.meta.url, { data: { targets: urls } });
    register('../register/hooks.js', import.meta.url);
    hooksRegistered = true;
  }
  const out: Function[] = [];
  for (const [k, t] of targets.entries()) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(urls[k]!)) as Record<string, unknown>;
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(t.file)) {
        throw new UsageError(`cannot find module ${t.file}`);
      }
      throw e;
    }
    const f = mod[t.exportName];
    if (typeof f !== 'function') {
      const fns = Object.keys(mod).filter((key) => typeof mod[key] === 'function');
      throw new UsageError(
        `${t.file} has no exported function ${JSON.stringify(t.exportName)}` +
          (fns.length > 0 ? `; its exported functions are: ${fns.join(', ')}` : '; it exports no functions'),
      );
    }
    out.push(f as Function);
  }
  return out;
}

function parseSizes(value: string): number[] {
  const ns = value.split(',').map((s) => Number(s.trim()));
  if (ns.length === 0 || ns.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new InvalidArgumentError('expected positive integers separated by commas, e.g. 10,100,1000');
  }
  return [...new Set(ns)].sort((a, b) => a - b);
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Progress on stderr: one line rewritten in place on a terminal, one line per step otherwise. */
function progress(message: string, done: number, total: number): void {
  const text = `[${done}/${total}] ${message}`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${message === 'done' ? '' : text}`);
  else if (message !== 'done') process.stderr.write(text + '\n');
}

const program = new Command();
program
  .name('dualtape')
  .description('Exact derivatives of plain TypeScript: compare forward and reverse mode, draw the computation graph.')
  .version(pkg.version, '-v, --version')
  .showHelpAfterError('(run dualtape --help for usage)')
  .exitOverride();

program
  .command('compare')
  .description('time plain f, forward mode, reverse mode and finite differences as the number of inputs n grows')
  .argument('<target>', 'module#export: a function of one number[] (or of the arguments --input makes)')
  .option('--n <sizes>', 'input sizes, comma-separated', parseSizes, [10, 100, 1000, 10000])
  .option('--input <target>', 'module#export of makeInput(n), returning the argument list for size n (default: one array of n random normal numbers)')
  .option('--seed <int>', 'seed of the random inputs', parseInteger, 1)
  .option('--chunk <int>', 'forward-mode directions per pass (default: grad\'s, 32)', parseInteger)
  .option('--sample-ms <ms>', 'length of one timing sample', parsePositive, 50)
  .option('--plot <file>', 'where to write the log-log plot (SVG)', 'dualtape-compare.svg')
  .option('--no-plot', 'do not write a plot')
  .option('--json', 'print the measurements as JSON instead of a table')
  .action(async (spec: string, o: { n: number[]; input?: string; seed: number; chunk?: number; sampleMs: number; plot: string | false; json?: boolean }) => {
    const { measure, formatTable, normals, crossover } = await import('./compare.js');
    const { logLogPlot } = await import('./plot.js');
    const targets = [parseTarget(spec, 'the target')];
    if (o.input) targets.push(parseTarget(o.input, '--input'));
    const [f, makeInput] = await loadExports(targets);
    const makeArgs = makeInput ? (n: number) => (makeInput as (n: number) => unknown[])(n) : (n: number) => [normals(n, o.seed)];
    const rows = await measure(f as (...a: unknown[]) => number, makeArgs, o.n, { sampleMs: o.sampleMs, onProgress: progress, ...(o.chunk ? { chunk: o.chunk } : {}) });
    if (o.json) process.stdout.write(JSON.stringify({ rows, crossover: crossover(rows) }, null, 2) + '\n');
    else process.stdout.write(`${targets[0]!.exportName}: cost of one gradient, as multiples of one evaluation of f (medians, this machine)\n\n${formatTable(rows)}\n`);
    if (o.plot !== false) {
      const xs = (pick: (r: (typeof rows)[number]) => number) => rows.map((r) => [r.n, pick(r) / r.plainMs] as const);
      const svg = logLogPlot(
        [
          { name: 'forward', color: '#2563eb', points: xs((r) => r.forwardMs) },
          { name: 'reverse', color: '#dc2626', points: xs((r) => r.reverseMs) },
          { name: 'finite diff.', color: '#6b7280', points: xs((r) => r.fdMs), dashed: true },
        ],
        { title: `${targets[0]!.exportName}: gradient cost / cost of f`, xLabel: 'n (inputs)', yLabel: 'time of one gradient ÷ time of f' },
      );
      writeFileSync(o.plot, svg);
      if (!o.json) process.stdout.write(`\nPlot written to ${o.plot}\n`);
    }
  });

program
  .command('graph')
  .description('record one evaluation and write its computation graph with values, partials and adjoints')
  .argument('<target>', 'module#export: the function to record')
  .requiredOption('--at <json>', "the arguments as a JSON array, e.g. '[1, 2]' or '[[0.5, -1, 2]]'")
  .addOption(new Option('--format <format>', 'output format (default: from the -o extension, else svg)').choices(['svg', 'dot', 'mermaid', 'json']))
  .option('-o, --output <file>', 'write to this file instead of stdout')
  .addOption(new Option('--level <level>', 'one node per operation, or per preaccumulated expression').choices(['operation', 'statement']).default('operation'))
  .option('--collapse', 'draw loop iterations and repeated helper calls as one box with a count')
  .option('--no-partials', 'do not label edges with their partial derivatives')
  .option('--max-nodes <int>', 'give up above this many nodes', parseInteger, 5000)
  .action(async (spec: string, o: { at: string; format?: string; output?: string; level: 'operation' | 'statement'; collapse?: boolean; partials: boolean; maxNodes: number }) => {
    let args: unknown;
    try {
      args = JSON.parse(o.at);
    } catch (e) {
      throw new UsageError(`--at is not valid JSON (${(e as Error).message}); give the arguments as a JSON array, e.g. --at '[1, 2]'`);
    }
    if (!Array.isArray(args)) throw new UsageError(`--at must be a JSON array of the arguments, e.g. --at '[${o.at}]' for one argument`);
    const ext = o.output?.split('.').pop()?.toLowerCase();
    const byExt: Record<string, string> = { svg: 'svg', dot: 'dot', gv: 'dot', mmd: 'mermaid', mermaid: 'mermaid', json: 'json' };
    const format = o.format ?? (ext && byExt[ext]) ?? 'svg';
    const [f] = await loadExports([parseTarget(spec, 'the target')]);
    const { graph, graphToDot, graphToJSON, graphToMermaid, graphToSVG } = await import('../runtime/index.js');
    const g = graph(f as (...a: unknown[]) => number, { level: o.level, maxNodes: o.maxNodes })(...args);
    const ro = { partials: o.partials, ...(o.collapse ? { collapse: true } : {}) };
    const text = format === 'svg' ? await graphToSVG(g, ro) : format === 'dot' ? graphToDot(g, ro) : format === 'mermaid' ? graphToMermaid(g, ro) : graphToJSON(g) + '\n';
    if (o.output) {
      writeFileSync(o.output, text);
      process.stderr.write(`${g.nodes.length} nodes, ${g.edges.length} edges; value ${g.value}; written to ${o.output}\n`);
    } else {
      process.stdout.write(text);
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has printed its message (or the help / version) already.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`${message.startsWith('dualtape:') ? message : `dualtape: ${message}`}\n`);
    if (!(e instanceof UsageError) && process.env['DUALTAPE_DEBUG'] && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}
