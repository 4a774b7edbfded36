import { describe, expect, it } from 'vitest';
import { compareModes, grad } from 'dualtape';

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

describe('compareModes tells the truth', () => {
  it('times the user\'s own inline closure as "plain f", not its compiled version', () => {
    const called = new Set<Function>();
    const x = [0.3, -1.2, 2.5];
    const r = compareModes(
      function sumOfSquares(v: number[]): number {
        called.add(sumOfSquares);
        let s = 0;
        for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
        return s;
      },
      [x],
      { samples: 1, sampleMs: 1 },
    );
    expect(r.plainIsOriginal).toBe(true);
    expect(r.summary).not.toContain('no uncompiled copy');
    // Two versions ran: the compiled one (the gradients) and the untouched copy (the plain timing),
    // whose source has no call into the runtime.
    expect(called.size).toBe(2);
    const sources = [...called].map((f) => f.toString());
    expect(sources.filter((s) => /_dt/.test(s))).toHaveLength(1);
    expect(r.modeDifference).toBeLessThan(1e-12);
  });

  it('keeps the copy behind TypeScript wrappers; none when the closure holds another inline grad', () => {
    const wrapped = compareModes(((x: number) => x * Math.sin(x)) as (x: number) => number, [1.5], { samples: 1, sampleMs: 1 });
    expect(wrapped.plainIsOriginal).toBe(true);
    // A copy would call grad on an uncompiled closure: the compiled code is timed, and the summary says so.
    const nested = compareModes((x: number) => x * grad((y: number) => x * y * y)(2), [1.5], { samples: 1, sampleMs: 1 });
    expect(nested.plainIsOriginal).toBe(false);
    expect(nested.summary).toContain('no uncompiled copy was kept');
    expect(nested.modeDifference).toBeLessThan(1e-12);
  });

  it('reports the forward passes chunking really ran (32 directions per pass)', () => {
    for (const [n, passes] of [[1, 1], [32, 1], [33, 2], [50, 2], [100, 4]] as const) {
      const x = Array.from({ length: n }, (_, i) => Math.sin(i + 1));
      const r = compareModes(rosenbrock, [x], { samples: 1, sampleMs: 1 });
      expect(r.forwardPasses).toBe(passes);
      expect(r.summary).toContain(`(${passes} pass(es)`);
    }
  });

  it('argnums: data arguments are passed along, not counted as inputs', () => {
    const w = [0.5, -0.25];
    const data = { xs: [1, 2, 3, 4], ys: [1.1, 1.9, 3.2, 3.9] };
    const r = compareModes(
      (p: number[], d: { xs: number[]; ys: number[] }) => {
        let s = 0;
        for (let i = 0; i < d.xs.length; i++) s += (p[0]! * d.xs[i]! + p[1]! - d.ys[i]!) ** 2;
        return s;
      },
      [w, data],
      { argnums: 0, samples: 1, sampleMs: 1 },
    );
    expect(r.inputs).toBe(2);
    expect(r.forwardPasses).toBe(1);
    expect(r.summary).toContain('2 input(s)');
    expect(r.modeDifference).toBeLessThan(1e-12);
    const all = compareModes(rosenbrock, [[1, 2, 3]], { argnums: [0], samples: 1, sampleMs: 1 });
    expect(all.inputs).toBe(3);
    // @ts-expect-error: rosenbrock has one argument; the type refuses index 1, and so does the call.
    expect(() => compareModes(rosenbrock, [[1, 2]], { argnums: 1 })).toThrow(/argnums must be an index/);
  });
});
