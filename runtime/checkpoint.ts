/**
 * Gradient checkpointing (as JAX's `checkpoint` / PyTorch's
 * `torch.utils.checkpoint`): in reverse mode, a checkpointed call keeps only
 * its inputs and outputs on the tape, not its intermediate values. When the
 * backward sweep reaches its outputs, the call is recorded again on a
 * short-lived tape of its own, swept, and thrown away. Memory for a long loop
 * of checkpointed steps is then one node per input and output of each step
 * plus one step's tape, at the price of evaluating each step twice.
 */
import { Active, ReverseTrace, TapeVar, newerTraceOpen } from './active.js';
import type { Adjoints, Num } from './core-types.js';
import { topTraceOf, checkAcyclic, checkOutput, compiledOrThrow, leavesOf, mapLeaves, shapeLike } from './args.js';
import { reverseSweep } from './engine.js';
import { compiled } from './registry.js';
import { tapeStats } from './stats.js';


/**
 * `checkpoint(step)` behaves like `step` (same arguments and results:
 * numbers, arrays or plain objects of numbers), but under reverse mode its
 * intermediate values are recomputed during the backward pass instead of
 * being stored. Under forward mode or outside differentiation it just calls
 * `step`.
 */
export function checkpoint<A extends unknown[], R>(step: (...args: A) => R): (...args: A) => R {
  const fc = compiledOrThrow(step, 'checkpoint');
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const top = topTraceOf(args);
    if (!(top instanceof ReverseTrace) || top.inlineCheckpoints) return fc.apply(this, args);
    // Leaves that are not numbers (a label, null, an options object) are constants: mapLeaves passes them on.
    args.forEach((a, k) => checkAcyclic(a, `args[${k}]`));
    const tape = top;
    // Called inside a derivative taken within the one that records the arguments (grad of grad,
    // jvp inside grad): the step may close over that inner derivative's values, and an operation
    // whose partial is exactly 0 at this level would hide that from the check on the outputs below.
    // Record it normally (right, without the memory saving).
    if (newerTraceOpen(tape)) return fc.apply(this, args);
    // The step's inputs on the outer tape, and the arguments without this level.
    const inputNodes: number[] = [];
    const primals = args.map((a) =>
      mapLeaves(a, (x) => {
        const mine = x instanceof TapeVar && x.tr === tape;
        inputNodes.push(mine ? x.i : -1);
        return mine ? x.v : x;
      }),
    );
    const y = fc.apply(this, primals);
    checkOutput(y, 'checkpoint');
    // The step closes over values of this derivative or of one taken inside it (a grad or jvp
    // within the one that recorded the arguments): it cannot be recomputed from its arguments
    // alone, so record it normally (correct, without the savings).
    const outLeaves = leavesOf(y);
    if (outLeaves.some((v) => v instanceof Active && v.tr.id >= tape.id)) return fc.apply(this, args);
    // Values of outer derivatives flow through the recomputation: the sweep must not assume plain numbers.
    if (outLeaves.some((v) => v instanceof Active) || primals.some((p) => leavesOf(p).some((v) => v instanceof Active))) {
      tape.nestedSpecials = true;
    }
    // One edge-less node per output; the last one carries the backward step.
    const outNodes: number[] = [];
    const self = this;
    const result = shapeLike(y, (() => {
      const vals = leavesOf(y);
      let k = 0;
      return () => {
        const node = tape.close();
        outNodes.push(node);
        return new TapeVar(vals[k++]!, node, tape);
      };
    })());
    if (outNodes.length === 0) return result;
    // The backward step runs when the sweep reaches the highest of the outputs it visits
    // (every node that uses an output comes later, so their adjoints are final then), once per sweep.
    let lastSweep: object | undefined;
    const backward = (adj: Adjoints) => {
      if (adj.sweep === lastSweep) return;
      lastSweep = adj.sweep;
      const seedsOut = outNodes.map((node) => adj.get(node));
      if (seedsOut.every((a) => a === 0)) return;
      // Record the step again, on a tape of its own.
      const sub = new ReverseTrace();
      try {
        const subInputs: number[] = [];
        let n = 0;
        const subArgs = primals.map((p) =>
          mapLeaves(p, (v) => {
            if (inputNodes[n++]! < 0) {
              subInputs.push(-1);
              return v;
            }
            const node = new TapeVar(v, sub.close(), sub);
            subInputs.push(node.i);
            return node;
          }),
        );
        const out = leavesOf(fc.apply(self, subArgs));
        const seeds: [number, Num][] = [];
        out.forEach((o, k) => {
          if (o instanceof TapeVar && o.tr === sub && seedsOut[k] !== 0) seeds.push([o.i, seedsOut[k]!]);
        });
        tapeStats.noteSubtape(sub.size, sub.edgeCount);
        if (seeds.length === 0) return;
        const subAdj = reverseSweep(sub, seeds);
        subInputs.forEach((si, l) => {
          if (si >= 0 && si < subAdj.length && subAdj[si] !== 0) adj.add(inputNodes[l]!, subAdj[si]!);
        });
      } finally {
        sub.end();
      }
    };
    const specials = (tape.specials ??= new Map());
    for (const node of outNodes) specials.set(node, backward);
    return result;
  };
  return compiled(wrapped) as unknown as (...args: A) => R;
}
