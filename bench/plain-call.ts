/**
 * Plain callers pay nothing: the cost of an ordinary call (plain numbers, no
 * derivative) of every kind of function marked 'use differentiable', against
 * the same code uncompiled, measured in the same process.
 *
 *   npm run bench:plain-call     (writes bench/plain-call.json and .md)
 *
 * bench/plain-call/kinds.ts holds a declaration, an arrow, a function
 * expression, an object-literal method, a class method, a static method and a
 * getter, each marked; bench/plain-call/plain.ts the same code without the
 * directive. For each kind, paired samples (compiled batch, then plain batch)
 * give a ratio; the table shows the median and min–max over the runs. The
 * machine is shared and noisy: ratios within about ±10% of 1 are noise.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median } from '../examples/util.ts';
import * as compiled from './plain-call/kinds.ts';
import * as plain from './plain-call/plain.ts';

const N = 16;
const x = Array.from({ length: N }, (_, i) => Math.sin(i + 1));
const w = Array.from({ length: N }, (_, i) => Math.cos(i + 1));

type Call = () => number;
function kinds(m: typeof compiled): Record<string, Call> {
  const layer = new m.Dense(w);
  return {
    'function declaration': () => m.declaration(x),
    'arrow function': () => m.arrow(x),
    'function expression': () => m.expression(x),
    'object-literal method': () => m.object.apply(x),
    'class method': () => layer.apply(x),
    'static method': () => m.Dense.apply(x),
    'getter (compiled in place)': () => layer.total,
  };
}

function time(fn: Call, calls: number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink += fn();
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink === 42.4242) console.log('');
  return ns / calls;
}

const RUNS = Number(process.env.RUNS ?? 15);
const CALLS = Number(process.env.CALLS ?? 200_000);
const a = kinds(compiled);
const b = kinds(plain as unknown as typeof compiled);
const rows: { kind: string; plainNs: number; compiledNs: number; ratio: number; min: number; max: number }[] = [];
for (const kind of Object.keys(a)) {
  const ratios: number[] = [];
  const ta: number[] = [];
  const tb: number[] = [];
  time(a[kind]!, CALLS); // warm-up
  time(b[kind]!, CALLS);
  for (let r = 0; r < RUNS; r++) {
    const c = time(a[kind]!, CALLS);
    const p = time(b[kind]!, CALLS);
    ta.push(c);
    tb.push(p);
    ratios.push(c / p);
  }
  rows.push({ kind, plainNs: median(tb), compiledNs: median(ta), ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) });
}

const out = fileURLToPath(new URL('./plain-call', import.meta.url));
const meta = { date: new Date().toISOString(), node: process.version, n: N, runs: RUNS, callsPerSample: CALLS };
writeFileSync(`${out}.json`, JSON.stringify({ ...meta, rows }, null, 2) + '\n');
const md = [
  `# Plain-call cost of compiled functions`,
  '',
  `A plain call (numbers in, no derivative) of each kind of function marked 'use differentiable', against the same`,
  `code without the directive; a loop of ${N} \`tanh\` terms. Median of ${RUNS} paired samples of ${CALLS} calls,`,
  `min–max in brackets; ${meta.node}, ${meta.date.slice(0, 10)}, on a shared 2-core machine (±10% is noise).`,
  '',
  '| kind | uncompiled, ns/call | marked, ns/call | ratio (min–max) |',
  '|---|---:|---:|---:|',
  ...rows.map((r) => `| ${r.kind} | ${r.plainNs.toFixed(0)} | ${r.compiledNs.toFixed(0)} | ${r.ratio.toFixed(2)}x (${r.min.toFixed(2)}–${r.max.toFixed(2)}) |`),
  '',
  'Methods get a twin like named functions (a static private method registered for a class method, a registered',
  'function for an object-literal method), so their plain callers run the method as written. Getters, setters,',
  'constructors, private methods and object-literal methods that use `super` are still compiled in place: the',
  'last row shows what a plain call of such a function costs.',
  '',
].join('\n');
writeFileSync(`${out}.md`, md);
console.log(md);

// The docs' tables come from bench/plain-call.json (bench/docs-tables.ts).
{
  const { updateDocs } = await import('./docs-tables.ts');
  console.log(`Wrote bench/plain-call.json; ${updateDocs()}`);
}
