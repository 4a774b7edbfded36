/**
 * The methods measured on every workload that are plain JavaScript: f itself
 * (the baseline), the hand-written gradient, dualtape reverse and forward mode,
 * and central finite differences. The array libraries are in libs/.
 */
import { dualtapeGradient, onTape, tapeStats } from './dualtape.ts';
import type { Method } from './harness.ts';

export const plainMethod: Method = {
  id: 'plain',
  label: 'plain f',
  cost: 'constant',
  async prepare(w, inst) {
    const { f } = w;
    const { x, data } = inst;
    return { run: () => f(x, data) };
  },
};

export const handMethod: Method = {
  id: 'hand',
  label: 'hand-written',
  cost: 'constant',
  async prepare(w, inst) {
    const { hand } = w;
    const { x, data } = inst;
    return { run: () => hand(x, data) };
  },
};

export const reverseMethod: Method = {
  id: 'reverse',
  label: 'dualtape reverse',
  cost: 'constant',
  async prepare(w, inst) {
    const g = dualtapeGradient(w.f, 'reverse', w.hasData);
    const { x, data } = inst;
    const run = () => g(x, data);
    return {
      run,
      tape() {
        // What the tape tier records (the adjoint tier records no tape).
        onTape(run);
        const { nodes, edges, bytes } = tapeStats();
        return { nodes, edges, bytes, bytesPerNode: bytes / nodes, bytesPerOp: bytes / inst.ops };
      },
    };
  },
};

/** Reverse mode with the tape tier forced: today's statement tape, for comparison with the adjoint tier. */
export const tapeMethod: Method = {
  id: 'tape',
  label: 'dualtape reverse (tape forced)',
  cost: 'constant',
  async prepare(w, inst) {
    const g = dualtapeGradient(w.f, 'reverse', w.hasData);
    const { x, data } = inst;
    return { run: () => onTape(() => g(x, data)) };
  },
};

export const forwardMethod: Method = {
  id: 'forward',
  label: 'dualtape forward',
  cost: 'per-input',
  async prepare(w, inst) {
    const g = dualtapeGradient(w.f, 'forward', w.hasData);
    const { x, data } = inst;
    return { run: () => g(x, data) };
  },
};

/** Central differences with step cbrt(machine epsilon) · max(1, |x_i|): 2n evaluations of f. */
export function centralDifferences<D>(f: (x: number[], data: D) => number, x: readonly number[], data: D): Float64Array {
  const xh = x.slice();
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    const h = 6.055454452393343e-6 * Math.max(1, Math.abs(xi));
    xh[i] = xi + h;
    const up = f(xh, data);
    xh[i] = xi - h;
    const down = f(xh, data);
    xh[i] = xi;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

export const fdMethod: Method = {
  id: 'fd',
  label: 'finite differences',
  cost: 'per-input',
  async prepare(w, inst) {
    const { f } = w;
    const { x, data } = inst;
    return { run: () => centralDifferences(f, x, data) };
  },
};

/** The plain-JavaScript methods, in table order (plain f is the baseline, not listed). */
export const jsMethods: readonly Method[] = [handMethod, reverseMethod, tapeMethod, forwardMethod, fdMethod];
