/**
 * The benchmark's harness is correct (not fast): its hand-written reference
 * gradients agree with finite differences, and `bench/run.ts --smoke` (the
 * real measurement code on tiny sizes, no array libraries, run through
 * dualtape/register as `npm run bench` does) reports dualtape gradients that
 * agree with the hand-written ones to 1e-12, with sane timing statistics.
 *
 * Needs dist/ (`npm run build`), like `npm run bench`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { workloads, type AnyWorkload } from '../bench/cases.ts';
import { relError, type CellResult, type MethodResult } from '../bench/harness.ts';
import { centralDifferences } from '../bench/methods.ts';
import type { Results } from '../bench/run.ts';

const root = fileURLToPath(new URL('../', import.meta.url));

describe('hand-written gradients (bench/analytic.ts)', () => {
  // Smoke sizes plus one larger size each (mlp/rnn: hidden width).
  const extra: Record<string, number> = { rosenbrock: 200, mlp: 8, rnn: 6, 'straight-line': 300, 'rosenbrock-3': 200, huber: 200, helpers: 200 };
  for (const w of workloads) {
    it(`${w.id} agrees with central finite differences`, () => {
      for (const key of [...w.sizes.smoke, extra[w.id]!]) {
        const inst = w.make(key, 11);
        const hand = w.hand(inst.x, inst.data);
        expect(hand.length).toBe(inst.n);
        const fd = centralDifferences(w.f, inst.x, inst.data);
        expect(relError(fd, hand), `${w.id} key ${key}`).toBeLessThan(1e-7);
      }
    });
  }
});

describe('bench/run.ts --smoke', () => {
  let results: Results;

  beforeAll(() => {
    if (!existsSync(`${root}dist/register/index.js`)) throw new Error('dist/ is missing: run `npm run build` first');
    const child = spawnSync(process.execPath, ['--import', 'dualtape/register', 'bench/run.ts', '--smoke'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 50_000,
    });
    if (child.status !== 0) throw new Error(`bench --smoke exited with ${child.status}:\n${child.stderr}`);
    results = JSON.parse(child.stdout) as Results;
  });

  const byId = (cell: CellResult, id: string): MethodResult => {
    const m = cell.methods.find((r) => r.id === id);
    if (m === undefined) throw new Error(`${cell.workload} n=${cell.n}: no ${id} result`);
    return m;
  };
  const workloadOf = (cell: CellResult): AnyWorkload => workloads.find((w) => w.id === cell.workload)!;

  it('measures every workload at every smoke size, machine and date included', () => {
    expect(results.scale).toBe('smoke');
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(Number.isNaN(Date.parse(results.date))).toBe(false);
    const expected = workloads.flatMap((w) => w.sizes.smoke.map((key) => `${w.id}/${key}`));
    expect(results.cells.map((c) => `${c.workload}/${c.key}`)).toEqual(expected);
  });

  it('reports dualtape gradients equal to the hand-written ones (1e-12 relative)', () => {
    for (const cell of results.cells) {
      const w = workloadOf(cell);
      const inst = w.make(cell.key);
      expect(cell.n).toBe(inst.n);
      const hand = w.hand(inst.x, inst.data);
      for (const id of ['reverse', 'forward']) {
        const m = byId(cell, id);
        const where = `${cell.workload} n=${cell.n} ${id}`;
        expect(m.status, `${where}: ${m.reason ?? ''}`).toBe('ok');
        expect(m.gradient, where).toHaveLength(inst.n);
        const err = relError(m.gradient!, hand);
        expect(err, where).toBeLessThanOrEqual(1e-12);
        expect(m.error, where).toBe(err); // the harness's own error column
      }
      const handResult = byId(cell, 'hand');
      expect(handResult.error).toBe(0);
      expect(handResult.gradient).toEqual(Array.from(hand));
      const fd = byId(cell, 'fd');
      expect(fd.status).toBe('ok');
      expect(relError(fd.gradient!, hand)).toBeLessThan(1e-6);
      expect(fd.error).toBe(relError(fd.gradient!, hand));
    }
  });

  it('reports ratios and times as medians within their min–max, from paired runs', () => {
    for (const cell of results.cells) {
      const { plainMs } = cell;
      expect(plainMs.median).toBeGreaterThan(0);
      expect(plainMs.min).toBeLessThanOrEqual(plainMs.median);
      expect(plainMs.median).toBeLessThanOrEqual(plainMs.max);
      for (const m of cell.methods) {
        expect(m.status).toBe('ok');
        for (const s of [m.ratio!, m.ms!]) {
          expect(Number.isFinite(s.max)).toBe(true);
          expect(s.min).toBeGreaterThan(0);
          expect(s.min).toBeLessThanOrEqual(s.median);
          expect(s.median).toBeLessThanOrEqual(s.max);
        }
        expect(m.runs).toBeGreaterThanOrEqual(results.config.minRuns);
        expect(m.callsPerSample).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('records the reverse-mode tape size of every cell', () => {
    for (const cell of results.cells) {
      const tape = cell.tape!;
      expect(tape.nodes).toBeGreaterThanOrEqual(cell.n); // at least one node per input
      expect(tape.bytes).toBeGreaterThan(0);
      expect(tape.bytesPerNode).toBeCloseTo(tape.bytes / tape.nodes, 10);
      expect(tape.bytesPerOp).toBeCloseTo(tape.bytes / cell.ops, 10);
    }
  });

  it('fits log-log slopes where a workload has two or more sizes', () => {
    const multi = workloads.filter((w) => w.sizes.smoke.length >= 2).map((w) => w.id);
    for (const id of multi) {
      const s = results.slopes.find((x) => x.workload === id && x.method === 'reverse');
      expect(s, id).toBeDefined();
      expect(Number.isFinite(s!.slope)).toBe(true);
    }
  });
});
