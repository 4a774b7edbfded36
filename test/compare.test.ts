import { describe, expect, it } from 'vitest';
import { compareModes } from 'dualtape';

function rosenbrock(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) s += 100 * (x[i + 1]! - x[i]! ** 2) ** 2 + (1 - x[i]!) ** 2;
  return s;
}

describe('compareModes', () => {
  it('reports the recorded tape, both timings and agreeing gradients', () => {
    const n = 50;
    const x = Array.from({ length: n }, (_, i) => Math.cos(i));
    const r = compareModes(rosenbrock, [x], { samples: 3, sampleMs: 5 });
    expect(r.inputs).toBe(n);
    if (process.env.DUALTAPE_FAST_PATH !== '0') {
      // With the fast path: one node per input and one per loop statement; three partials per
      // statement but the first (s = 0).
      expect(r.tapeNodes).toBe(n + (n - 1));
      expect(r.tapeEdges).toBe(2 + 3 * (n - 2));
    } else {
      expect(r.tapeNodes).toBeGreaterThan(n + 5 * (n - 1)); // one node per operation
    }
    expect(r.tapeBytes).toBe(r.tapeNodes * 4 + r.tapeEdges * 12);
    expect(r.modeDifference).toBeLessThan(1e-12);
    for (const ms of [r.plainMs, r.forwardMs, r.reverseMs]) expect(ms).toBeGreaterThan(0);
    expect(r.forwardRatio).toBeCloseTo(r.forwardMs / r.plainMs, 9);
    expect(r.cheaper === 'reverse' ? r.forwardMs / r.reverseMs : r.reverseMs / r.forwardMs).toBeCloseTo(r.factor, 9);
    expect(r.summary).toContain(`${n} input(s)`);
  });

  it('refuses a function the plugin did not compile and a non-array argument list', () => {
    const plain = new Function('x', 'return x * x') as (x: number) => number;
    expect(() => compareModes(plain, [1])).toThrow(/did not compile/);
    expect(() => compareModes(rosenbrock, 3 as never)).toThrow(/as an array/);
  });
});
