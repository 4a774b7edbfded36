/**
 * Turning the measurements into tables (text and Markdown) and log-log slopes.
 */
import { fmt, table } from '../examples/util.ts';
import type { CellResult, MethodId, MethodResult } from './harness.ts';
import { formatMs } from './harness.ts';
import type { LibraryInfo } from './libs/common.ts';
import type { MemoryResult } from './memory.ts';

/** Column order and headings of every table. */
export const METHOD_ORDER: readonly { id: MethodId; short: string }[] = [
  { id: 'plain', short: 'plain f' },
  { id: 'hand', short: 'hand-written' },
  { id: 'reverse', short: 'dualtape reverse' },
  { id: 'tape', short: 'tape forced' },
  { id: 'forward', short: 'dualtape forward' },
  { id: 'fd', short: 'finite diff.' },
  { id: 'jax', short: 'jax-js wasm f64' },
  { id: 'tfjs-cpu', short: 'tfjs cpu f32' },
  { id: 'tfjs-wasm', short: 'tfjs wasm f32' },
];

export interface Slope {
  workload: string;
  method: MethodId;
  /** d log(ms per gradient) / d log n, least squares. */
  slope: number;
  /** The n used for the fit. */
  ns: number[];
}

/** A slope with two decimals (never "-0.00"). */
export const slopeText = (s: number): string => (Math.abs(s) < 0.005 ? 0 : s).toFixed(2);

/** Least-squares slope of log y against log x. */
export function logLogSlope(points: readonly { x: number; y: number }[]): number {
  const xs = points.map((p) => Math.log10(p.x));
  const ys = points.map((p) => Math.log10(p.y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxy / sxx;
}

/** Absolute ms per gradient (per evaluation, for plain f) of a method in a cell, if measured. */
export function msOf(cell: CellResult, id: MethodId): number | undefined {
  if (id === 'plain') return cell.plainMs.median;
  const m = cell.methods.find((r) => r.id === id);
  return m?.status === 'ok' ? m.ms?.median : undefined;
}

/**
 * Slopes of time per gradient against n, per workload and method, over the
 * sizes with n ≥ 100 (below that, fixed per-call costs dominate), or over all
 * sizes when fewer than two are that large. Needs two measured sizes.
 */
export function slopes(cells: readonly CellResult[]): Slope[] {
  const out: Slope[] = [];
  const workloads = [...new Set(cells.map((c) => c.workload))];
  for (const wl of workloads) {
    const mine = cells.filter((c) => c.workload === wl);
    for (const { id } of METHOD_ORDER) {
      const all = mine.flatMap((c) => {
        const ms = msOf(c, id);
        return ms === undefined ? [] : [{ x: c.n, y: ms }];
      });
      const large = all.filter((p) => p.x >= 100);
      const used = large.length >= 2 ? large : all;
      if (used.length < 2) continue;
      out.push({ workload: wl, method: id, slope: logLogSlope(used), ns: used.map((p) => p.x) });
    }
  }
  return out;
}

function ratioCell(m: MethodResult | undefined): string {
  if (m === undefined) return '–';
  if (m.status === 'skipped') return m.predictedMs === undefined ? 'skipped' : `skip (~${formatMs(m.predictedMs)})`;
  // A library with no version of this workload (the array libraries have none of the scalar,
  // branchy ones written for dualtape) is not a failure of the library: no entry.
  if (m.status === 'failed') return /no array-library version/.test(m.reason ?? '') ? '–' : 'failed';
  const r = m.ratio!;
  return `${fmt(r.median)} (${fmt(r.min, 2)}–${fmt(r.max, 2)})`;
}

/** The method columns present in these cells, in table order (plain f first). */
function columns(cells: readonly CellResult[]): typeof METHOD_ORDER {
  const present = new Set<MethodId>(['plain', ...cells.flatMap((c) => c.methods.map((m) => m.id))]);
  return METHOD_ORDER.filter((c) => present.has(c.id));
}

/** Rows of the main table: time of one gradient / time of one plain evaluation. */
function ratioRows(cells: readonly CellResult[]): { header: string[]; rows: string[][] } {
  const cols = columns(cells).filter((c) => c.id !== 'plain');
  const header = ['workload', 'n', 'plain f', ...cols.map((c) => c.short)];
  const rows = cells.map((c) => [
    c.workload,
    String(c.n),
    formatMs(c.plainMs.median),
    ...cols.map((col) => ratioCell(c.methods.find((m) => m.id === col.id))),
  ]);
  return { header, rows };
}

function errorRows(cells: readonly CellResult[]): { header: string[]; rows: string[][] } {
  const cols = columns(cells).filter((c) => c.id !== 'plain' && c.id !== 'hand');
  const header = ['workload', 'n', ...cols.map((c) => c.short)];
  const rows = cells.map((c) => [
    c.workload,
    String(c.n),
    ...cols.map((col) => {
      const m = c.methods.find((r) => r.id === col.id);
      return m?.error === undefined ? '–' : m.error === 0 ? '0' : m.error.toExponential(1);
    }),
  ]);
  return { header, rows };
}

function tapeRows(cells: readonly CellResult[]): { header: string[]; rows: string[][] } {
  const header = ['workload', 'n', 'ops of f', 'tape nodes', 'edges', 'bytes', 'bytes/node', 'bytes/op of f'];
  const rows = cells.flatMap((c) =>
    c.tape === undefined
      ? []
      : [[c.workload, String(c.n), String(c.ops), String(c.tape.nodes), String(c.tape.edges), String(c.tape.bytes),
          fmt(c.tape.bytesPerNode), fmt(c.tape.bytesPerOp)]],
  );
  return { header, rows };
}

function slopeRows(all: readonly Slope[]): { header: string[]; rows: string[][] } {
  const ids = METHOD_ORDER.filter((c) => all.some((s) => s.method === c.id));
  const header = ['workload', ...ids.map((c) => c.short)];
  const rows = [...new Set(all.map((s) => s.workload))].map((wl) => [
    wl,
    ...ids.map((c) => {
      const s = all.find((x) => x.workload === wl && x.method === c.id);
      return s === undefined ? '–' : slopeText(s.slope);
    }),
  ]);
  return { header, rows };
}

function memoryLines(mem: MemoryResult | undefined): string[] {
  if (mem === undefined) return ['not measured (run node with --expose-gc)'];
  const d = (s: { heapUsedMB: number; arrayBuffersMB: number }) =>
    `heap ${s.heapUsedMB.toFixed(1)} MB, ArrayBuffers ${s.arrayBuffersMB.toFixed(1)} MB`;
  return [
    `straight-line n = ${mem.n} (${mem.ops} ops)` +
      (mem.tape ? `, tape ${mem.tape.nodes} nodes, ${mem.tape.edges} edges, ${(mem.tape.bytes / 2 ** 20).toFixed(1)} MB` : ''),
    `baseline:                         ${d(mem.baseline)}`,
    `right after one gradient (no GC): ${d(mem.afterGradient)}`,
    `after GC, gradient still held:    ${d(mem.afterGcHoldingGradient)} (gradient ≈ ${mem.gradientMB.toFixed(1)} MB)`,
    `after dropping it and GC:         ${d(mem.afterRelease)}`,
    `after 5 more gradients and GC:    ${d(mem.afterRepeats)}`,
    `returns to baseline (±1 MB): ${mem.returnsToBaseline ? 'yes' : 'NO'}`,
  ];
}

export interface Report {
  cells: readonly CellResult[];
  slopes: readonly Slope[];
  memory: MemoryResult | undefined;
  libraries: readonly LibraryInfo[];
}

const LEGEND =
  'Cells: time of one gradient / time of one plain evaluation of f, median (min–max) over paired runs;' +
  '\n"plain f" is the absolute time of one evaluation; skip (~t) = not run, predicted to take t per gradient.';

export function textReport(r: Report): string {
  const libs = r.libraries.map((l) =>
    `  ${l.name} ${l.version ?? '?'}: ${l.status === 'ok' ? 'ok' : `FAILED: ${l.error}`}${l.notes.length ? ` (${l.notes.join('; ')})` : ''}`);
  const main = ratioRows(r.cells);
  const err = errorRows(r.cells);
  const tape = tapeRows(r.cells);
  const sl = slopeRows(r.slopes);
  return [
    'One gradient, as a multiple of one plain evaluation of f',
    '',
    table(main.header, main.rows),
    '',
    LEGEND,
    '',
    'Gradient error: max_i |g_i - h_i| / max_i |h_i| against the hand-written gradient h',
    '',
    table(err.header, err.rows),
    '',
    'dualtape reverse-mode tape (lastTapeStats)',
    '',
    table(tape.header, tape.rows),
    '',
    'Log-log slope of time per gradient against n (sizes with n ≥ 100)',
    '',
    table(sl.header, sl.rows),
    '',
    'Memory of one reverse-mode gradient',
    ...memoryLines(r.memory).map((l) => `  ${l}`),
    '',
    'Libraries',
    ...libs,
  ].join('\n');
}

function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i < 1 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** Each table as Markdown (bench/docs-tables.ts puts them into docs/performance.md). */
export function markdownTables(r: Report): { ratios: string; errors: string; slopes: string; tape: string; memory: string } {
  const main = ratioRows(r.cells);
  const err = errorRows(r.cells);
  const tape = tapeRows(r.cells);
  const sl = slopeRows(r.slopes);
  return {
    ratios: mdTable(main.header, main.rows),
    errors: mdTable(err.header, err.rows),
    slopes: mdTable(sl.header, sl.rows),
    tape: mdTable(tape.header, tape.rows),
    memory: memoryLines(r.memory).map((l) => `    ${l}`).join('\n'),
  };
}

/** All tables as one Markdown report (bench/results.md). */
export function markdownReport(r: Report): string {
  const t = markdownTables(r);
  return [
    t.ratios,
    '',
    'Gradient error (max_i |g_i − h_i| / max_i |h_i| against the hand-written gradient h):',
    '',
    t.errors,
    '',
    'Log-log slope of time per gradient against n (sizes with n ≥ 100):',
    '',
    t.slopes,
    '',
    'dualtape reverse-mode tape:',
    '',
    t.tape,
    '',
    'Memory of one reverse-mode gradient:',
    '',
    t.memory,
    '',
  ].join('\n');
}
