/**
 * Memory of one reverse-mode gradient of a ≈10⁶-operation function: the heap
 * (and the ArrayBuffers, where a tape may keep its arrays) before, right
 * after, and after garbage collection, to show that nothing stays behind
 * once the gradient is dropped. Needs `node --expose-gc`.
 */
import { straightLineCase } from './cases.ts';
import type { TapeInfo } from './harness.ts';
import { reverseMethod } from './methods.ts';

export interface Snapshot {
  /** process.memoryUsage().heapUsed, MB */
  heapUsedMB: number;
  /** process.memoryUsage().arrayBuffers, MB */
  arrayBuffersMB: number;
}

export interface MemoryResult {
  workload: string;
  n: number;
  ops: number;
  tape?: TapeInfo;
  /** The gradient (n doubles in a number[]) as it sits on the heap, about 8n bytes. */
  gradientMB: number;
  /** After a warm-up gradient was dropped and the heap collected. */
  baseline: Snapshot;
  /** Right after one gradient returned, before any collection (garbage included). */
  afterGradient: Snapshot;
  /** After collection, the gradient still referenced: baseline + the gradient. */
  afterGcHoldingGradient: Snapshot;
  /** After dropping the gradient and collecting. */
  afterRelease: Snapshot;
  /** After 5 more gradients, all dropped, and a collection. */
  afterRepeats: Snapshot;
  /** afterRelease and afterRepeats within 1 MB of the baseline (heap and ArrayBuffers). */
  returnsToBaseline: boolean;
}

const MB = 1024 * 1024;

function snapshot(): Snapshot {
  const m = process.memoryUsage();
  return { heapUsedMB: m.heapUsed / MB, arrayBuffersMB: m.arrayBuffers / MB };
}

function collect(gc: () => void): Snapshot {
  for (let i = 0; i < 3; i++) gc();
  return snapshot();
}

/** Returns undefined when global.gc is unavailable (node started without --expose-gc). */
export async function measureMemory(n = 333_334): Promise<MemoryResult | undefined> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return undefined;
  const w = straightLineCase;
  const inst = w.make(n);
  const p = await reverseMethod.prepare(w, inst);

  let g: ArrayLike<number> | number | undefined = p.run(); // warm-up: compile, size any pools
  const tape = p.tape?.();
  g = undefined;
  const baseline = collect(gc);

  g = p.run();
  const afterGradient = snapshot();
  const afterGcHoldingGradient = collect(gc);
  const gradientMB = afterGcHoldingGradient.heapUsedMB - baseline.heapUsedMB;
  if (typeof g === 'number' || g.length !== n) throw new Error('unexpected gradient');
  g = undefined;
  const afterRelease = collect(gc);

  for (let i = 0; i < 5; i++) p.run();
  const afterRepeats = collect(gc);

  const near = (s: Snapshot) =>
    Math.abs(s.heapUsedMB - baseline.heapUsedMB) < 1 && Math.abs(s.arrayBuffersMB - baseline.arrayBuffersMB) < 1;
  return {
    workload: w.id,
    n,
    ops: inst.ops,
    ...(tape ? { tape } : {}),
    gradientMB,
    baseline,
    afterGradient,
    afterGcHoldingGradient,
    afterRelease,
    afterRepeats,
    returnsToBaseline: near(afterRelease) && near(afterRepeats),
  };
}
