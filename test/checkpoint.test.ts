/**
 * checkpoint(step): in reverse mode a checkpointed call keeps only its inputs
 * and outputs on the tape and recomputes its intermediates during the
 * backward pass. The gradients must be the same as without checkpointing,
 * the tape (lastTapeStats) much smaller; under forward mode or outside
 * differentiation it is just a call.
 */
import { describe, expect, it } from 'vitest';
import { checkpoint, grad, hessian, jacobian, lastTapeStats, setTier, valueAndGrad, vjp } from 'dualtape';
import type { TapeStats } from 'dualtape';
import { expectMatrixClose, expectVectorClose, fdJacobian } from './helpers/transforms-check.js';
import { fdDerivative } from './helpers/check.js';

const N = 10_000;
const H = 1e-3;

/** How many times the checkpointed steps' bodies ran (they are compiled: the counter is a plain number). */
let stepCalls = 0;

/** s ← s + h sin(p s), N times. */
function plainRecurrence(p: number): number {
  let s = 1;
  for (let i = 0; i < N; i++) s = s + H * Math.sin(p * s);
  return s;
}

const step = checkpoint((s: number, p: number) => {
  stepCalls++;
  return s + H * Math.sin(p * s);
});

function checkpointedRecurrence(p: number): number {
  let s = 1;
  for (let i = 0; i < N; i++) s = step(s, p);
  return s;
}

/** Ten inner steps per checkpointed call: a coarser checkpoint, fewer nodes. */
function tenSteps(s: number, p: number): number {
  let u = s;
  for (let k = 0; k < 10; k++) u = u + H * Math.sin(p * u);
  return u;
}
const block = checkpoint(tenSteps);

function plainBlocks(p: number): number {
  let s = 1;
  for (let i = 0; i < N / 10; i++) s = tenSteps(s, p);
  return s;
}

function checkpointedBlocks(p: number): number {
  let s = 1;
  for (let i = 0; i < N / 10; i++) s = block(s, p);
  return s;
}

/** Tape sizes are the tape tier's: measured with it forced (the adjoint tier records no tape). */
function statsOf(run: () => unknown): [unknown, TapeStats] {
  const was = setTier('tape');
  try {
    const r = run();
    return [r, lastTapeStats()];
  } finally {
    setTier(was);
  }
}

describe('a long recurrence (10⁴ steps of s = s + h sin(p s))', () => {
  it('checkpointing every step: the same gradient, exactly, and at least 3x fewer tape bytes', () => {
    const [g0, plain] = statsOf(() => grad(plainRecurrence)(0.7));
    stepCalls = 0;
    const [g1, ckpt] = statsOf(() => grad(checkpointedRecurrence)(0.7));
    expect(g1).toBe(g0);
    // Each step was evaluated twice: once forward, once recomputed in the backward sweep.
    expect(stepCalls).toBe(2 * N);
    expect(plain.nodes).toBeGreaterThanOrEqual(N);
    expect(ckpt.bytes * 3).toBeLessThanOrEqual(plain.bytes);
    expect(ckpt.edges * 3).toBeLessThanOrEqual(plain.edges);
    expect(ckpt.nodes).toBeLessThanOrEqual(plain.nodes);
    // Recomputation used short-lived tapes of one step each.
    expect(ckpt.peakSubtapeNodes).toBeGreaterThan(0);
    expect(ckpt.peakSubtapeNodes).toBeLessThan(10);
    expect(plain.peakSubtapeNodes).toBe(0);
  });

  it('checkpointing blocks of ten steps: the same gradient (to 1e-12) and at least 3x fewer nodes, edges and bytes', () => {
    const [g0, plain] = statsOf(() => grad(plainBlocks)(0.7));
    const [g1, ckpt] = statsOf(() => grad(checkpointedBlocks)(0.7));
    expect(Math.abs((g1 as number) - (g0 as number))).toBeLessThanOrEqual(1e-12 * Math.abs(g0 as number));
    expect(ckpt.nodes * 3).toBeLessThanOrEqual(plain.nodes);
    expect(ckpt.edges * 3).toBeLessThanOrEqual(plain.edges);
    expect(ckpt.bytes * 3).toBeLessThanOrEqual(plain.bytes);
    expect(ckpt.peakSubtapeNodes).toBeGreaterThanOrEqual(10);
    expect(ckpt.peakSubtapeNodes).toBeLessThan(100);
  });

  it('both modes and finite differences agree on the gradient', () => {
    const rev = grad(checkpointedRecurrence)(0.7);
    const fwd = grad(checkpointedRecurrence, { mode: 'forward' })(0.7);
    expect(fwd).toBe(grad(plainRecurrence, { mode: 'forward' })(0.7));
    expect(Math.abs(rev - fwd)).toBeLessThanOrEqual(1e-12 * Math.abs(fwd));
    expect(rev).toBeCloseTo(fdDerivative(plainRecurrence, 0.7, 1e-3), 7);
    const fwdBlocks = grad(checkpointedBlocks, { mode: 'forward' })(0.7);
    expect(Math.abs(fwdBlocks - grad(checkpointedBlocks)(0.7))).toBeLessThanOrEqual(1e-12 * Math.abs(fwdBlocks));
  });

  it('valueAndGrad: the value is the plain value', () => {
    const [v, g] = valueAndGrad(checkpointedRecurrence)(0.7);
    expect(v).toBe(plainRecurrence(0.7));
    expect(g).toBe(grad(plainRecurrence)(0.7));
  });

  it('forward mode evaluates each step once, with no recomputation', () => {
    stepCalls = 0;
    grad(checkpointedRecurrence, { mode: 'forward' })(0.7);
    expect(stepCalls).toBe(N);
  });
});

describe('checkpoints inside checkpoints', () => {
  const inner = checkpoint((s: number, p: number) => s + 0.1 * Math.sin(p * s));
  const outer = checkpoint((s: number, p: number) => {
    let u = s;
    for (let k = 0; k < 10; k++) u = inner(u, p);
    return u;
  });
  it('two levels of checkpointing give the plain gradient', () => {
    const nested = (p: number) => {
      let s = 1;
      for (let i = 0; i < 20; i++) s = outer(s, p);
      return s;
    };
    const plain = (p: number) => {
      let s = 1;
      for (let i = 0; i < 200; i++) s = s + 0.1 * Math.sin(p * s);
      return s;
    };
    const [g0, plainStats] = statsOf(() => grad(plain)(0.7));
    const [g1, nestedStats] = statsOf(() => grad(nested)(0.7));
    expect(Math.abs((g1 as number) - (g0 as number))).toBeLessThanOrEqual(1e-12 * Math.abs(g0 as number));
    expect(nestedStats.nodes * 5).toBeLessThanOrEqual(plainStats.nodes);
    expect(grad(nested, { mode: 'forward' })(0.7)).toBeCloseTo(g0 as number, 12);
  });
});

describe('outside differentiation', () => {
  it('just calls the function, once per call', () => {
    stepCalls = 0;
    expect(step(1, 0.7)).toBe(1 + H * Math.sin(0.7));
    expect(stepCalls).toBe(1);
    expect(checkpointedRecurrence(0.7)).toBe(plainRecurrence(0.7));
    expect(block(1, 0.7)).toBe(tenSteps(1, 0.7));
  });

  it('keeps array and object results as they are', () => {
    const swap = checkpoint((a: number[]) => [a[1]!, a[0]!]);
    expect(swap([1, 2])).toEqual([2, 1]);
    const obj = checkpoint((o: { q: number; v: number }) => ({ q: o.v, v: -o.q }));
    expect(obj({ q: 1, v: 2 })).toEqual({ q: 2, v: -1 });
  });
});

// ---------------------------------------------------------------------------
// Array and object state
// ---------------------------------------------------------------------------

/** A pendulum, symplectic Euler: state [q, v], parameter g (gravity over length). */
function pendulumStep(st: number[], g: number): number[] {
  const v = st[1]! - 0.01 * g * Math.sin(st[0]!);
  return [st[0]! + 0.01 * v, v];
}
const pendulumCkpt = checkpoint(pendulumStep);

function pendulumPlain(x: number[]): number {
  let st = [x[0]!, x[1]!];
  for (let i = 0; i < 500; i++) st = pendulumStep(st, x[2]!);
  return st[0]! * st[1]!;
}
function pendulumCheckpointed(x: number[]): number {
  let st = [x[0]!, x[1]!];
  for (let i = 0; i < 500; i++) st = pendulumCkpt(st, x[2]!);
  return st[0]! * st[1]!;
}

describe('array and object state', () => {
  it('array state: the same gradient for all inputs (initial state and parameter), fewer tape bytes', () => {
    const x = [0.9, -0.3, 9.81];
    const [g0, plain] = statsOf(() => grad(pendulumPlain)(x));
    const [g1, ckpt] = statsOf(() => grad(pendulumCheckpointed)(x));
    expectVectorClose(g1, g0 as number[], 1e-12, 1e-14, 'checkpointed vs plain');
    expectVectorClose(grad(pendulumCheckpointed, { mode: 'forward' })(x), g0 as number[], 1e-12, 1e-14, 'forward');
    expectVectorClose(g1, fdJacobian(pendulumPlain, [x])[0]!, 1e-7, 1e-9, 'finite differences');
    expect(ckpt.bytes * 2).toBeLessThanOrEqual(plain.bytes);
  });

  it('object state', () => {
    const stepObj = checkpoint((st: { q: number; v: number }, k: number) => {
      const v = st.v - 0.05 * k * st.q;
      return { q: st.q + 0.05 * v, v };
    });
    const f = (k: number) => {
      let st = { q: 1, v: 0 };
      for (let i = 0; i < 40; i++) st = stepObj(st, k);
      return st.q * st.v;
    };
    const plain = (k: number) => {
      let q = 1;
      let v = 0;
      for (let i = 0; i < 40; i++) {
        v = v - 0.05 * k * q;
        q = q + 0.05 * v;
      }
      return q * v;
    };
    expect(grad(f)(2)).toBeCloseTo(fdDerivative(plain, 2), 9);
    expect(Math.abs(grad(f)(2) - grad(f, { mode: 'forward' })(2))).toBeLessThanOrEqual(1e-13);
  });

  it('many inputs: reverse and forward (several directions per pass) agree', () => {
    const stepN = checkpoint((s: number[], p: number) => s.map((v, i) => v + 0.01 * Math.sin(p * v + i)));
    const f = (q: number[]) => {
      let s = q.slice(0, 12);
      for (let i = 0; i < 10; i++) s = stepN(s, q[12]!);
      return s.reduce((u, v) => u + v * v, 0);
    };
    const q = Array.from({ length: 13 }, (_, i) => Math.cos(i));
    expectVectorClose(grad(f)(q), grad(f, { mode: 'forward' })(q), 1e-13, 1e-15);
    expectVectorClose(grad(f)(q), fdJacobian(f, [q])[0]!, 1e-7, 1e-9, 'finite differences');
  });

  it('a step with constant (non-differentiated) extra arguments', () => {
    const scaled = checkpoint((s: number, p: number, h: number) => s + h * Math.sin(p * s));
    const f = (p: number) => {
      let s = 1;
      for (let i = 0; i < 100; i++) s = scaled(s, p, 0.01);
      return s;
    };
    const ref = (p: number) => {
      let s = 1;
      for (let i = 0; i < 100; i++) s = s + 0.01 * Math.sin(p * s);
      return s;
    };
    expect(grad(f)(0.7)).toBe(grad(ref)(0.7));
  });
});

// ---------------------------------------------------------------------------
// Other reverse-mode entry points
// ---------------------------------------------------------------------------

describe('vjp and jacobian through checkpointed steps', () => {
  const F = (x: number[]) => {
    let st = [x[0]!, x[1]!];
    for (let i = 0; i < 50; i++) st = pendulumCkpt(st, x[2]!);
    return [st[0]! + st[1]!, st[0]! - 2 * st[1]!, st[0]! * st[1]!];
  };
  const Fplain = (x: number[]) => {
    let st = [x[0]!, x[1]!];
    for (let i = 0; i < 50; i++) st = pendulumStep(st, x[2]!);
    return [st[0]! + st[1]!, st[0]! - 2 * st[1]!, st[0]! * st[1]!];
  };
  const x = [0.9, -0.3, 9.81];

  it('jacobian (reverse, one sweep per row; forward) equals the plain Jacobian', () => {
    const J = jacobian(Fplain, { mode: 'reverse' })(x);
    expectMatrixClose(jacobian(F, { mode: 'reverse' })(x), J, 1e-12, 1e-14, 'reverse');
    expectMatrixClose(jacobian(F, { mode: 'forward' })(x), J, 1e-12, 1e-14, 'forward');
    expectMatrixClose(J, fdJacobian(Fplain, [x]), 1e-7, 1e-9, 'finite differences');
  });

  it('the vjp pullback recomputes on every call and gives the same rows', () => {
    const J = jacobian(Fplain)(x);
    const [y, pb] = vjp(F, x);
    expect(y).toEqual(Fplain(x));
    for (let k = 0; k < 3; k++) {
      const u = [0, 0, 0];
      u[k] = 1;
      expectVectorClose(pb(u), J[k]!, 1e-12, 1e-14, `row ${k}`);
    }
    expectVectorClose(pb([1, 0, 0]), J[0]!, 1e-12, 1e-14, 'row 0 again');
  });

  // Regression (runtime/checkpoint.ts), was a silent wrong gradient: the backward step of a
  // checkpointed call was attached to its LAST output node only, and the sweep starts at the
  // highest seeded node, so seeding an earlier output of the last call gave 0. Now every output
  // node carries the step, run once per sweep.
  it('regression: an output of the last checkpointed call, used directly (minimal)', () => {
    const two = checkpoint((a: number) => [2 * a, 3 * a]);
    expect(grad((a: number) => two(a)[0]!, { mode: 'forward' })(1)).toBe(2); // holds
    expect(grad((a: number) => two(a)[1]!)(1)).toBe(3); // holds (the last output)
    expect(grad((a: number) => two(a)[0]!)(1)).toBe(2); // 0
  });

  it('regression: jacobian (reverse) of a loop returning the checkpointed state directly', () => {
    const direct = (x: number[]) => {
      let st = [x[0]!, x[1]!];
      for (let i = 0; i < 50; i++) st = pendulumCkpt(st, x[2]!);
      return st;
    };
    const directPlain = (x: number[]) => {
      let st = [x[0]!, x[1]!];
      for (let i = 0; i < 50; i++) st = pendulumStep(st, x[2]!);
      return st;
    };
    // row 0 comes out as [0, 0, 0]
    expectMatrixClose(jacobian(direct, { mode: 'reverse' })(x), jacobian(directPlain, { mode: 'reverse' })(x), 1e-12, 1e-14);
  });

  it('regression: vjp pullback of a one-hot on the first output of the last checkpointed call', () => {
    const [, pb] = vjp((x: number[]) => pendulumCkpt([x[0]!, x[1]!], x[2]!), x);
    const [, pbPlain] = vjp((x: number[]) => pendulumStep([x[0]!, x[1]!], x[2]!), x);
    expectVectorClose(pb([1, 0]), pbPlain([1, 0]), 1e-14, 1e-15); // gives [0, 0, 0]
  });

  it('regression: object state, returning one field of the last checkpointed call', () => {
    const stepObj = checkpoint((st: { q: number; v: number }, k: number) => {
      const v = st.v - 0.05 * k * st.q;
      return { q: st.q + 0.05 * v, v };
    });
    const f = (k: number) => {
      let st = { q: 1, v: 0 };
      for (let i = 0; i < 40; i++) st = stepObj(st, k);
      return st.q;
    };
    expect(grad(f)(2)).toBeCloseTo(grad(f, { mode: 'forward' })(2), 12); // reverse gives 0
  });

  // Regression: lastTapeStats() describes the last reverse-mode recording of grad,
  // valueAndGrad, vjp or jacobian (vjp used to leave the previous grad's numbers).
  it('regression: lastTapeStats() describes the tape recorded by vjp', () => {
    grad((s: number) => s * s)(1);
    const before = lastTapeStats();
    vjp(Fplain, x);
    const after = lastTapeStats();
    expect(after.nodes).toBeGreaterThan(before.nodes);
    expect(after.nodes).toBeGreaterThanOrEqual(50);
  });
});

// ---------------------------------------------------------------------------
// Higher order
// ---------------------------------------------------------------------------

describe('higher-order derivatives through checkpointed steps', () => {
  const short = checkpoint((s: number, p: number) => s + 0.1 * Math.sin(p * s));
  const ckpt = (p: number) => {
    let s = 1;
    for (let i = 0; i < 5; i++) s = short(s, p);
    return s;
  };
  const plain = (p: number) => {
    let s = 1;
    for (let i = 0; i < 5; i++) s = s + 0.1 * Math.sin(p * s);
    return s;
  };

  it('hessian when the outer computation also has nested partials', () => {
    const f = (x: number[]) => ckpt(x[0]!) * x[1]!;
    const g = (x: number[]) => plain(x[0]!) * x[1]!;
    expectMatrixClose(hessian(f)([0.7, 2]), hessian(g)([0.7, 2]), 1e-12, 1e-14);
  });

  // Regression (runtime/checkpoint.ts): when the only nodes on the inner tape were checkpointed
  // calls, the sweep took the plain-number path and the recomputed step's adjoints (which carry
  // the outer derivative level) could not be stored: a DualtapeError.
  it('regression: grad(grad(f)) where f is a loop of checkpointed steps', () => {
    expect(grad(grad(ckpt))(0.7)).toBeCloseTo(grad(grad(plain))(0.7), 12);
  });

  it('regression: hessian of a loop of checkpointed steps', () => {
    const f = (x: number[]) => ckpt(x[0]!);
    const g = (x: number[]) => plain(x[0]!);
    expectMatrixClose(hessian(f)([0.7]), hessian(g)([0.7]), 1e-12, 1e-14);
  });
});
