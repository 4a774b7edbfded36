/**
 * Sizes of the last reverse-mode recording, for memory tests, benchmarks and
 * users who want to know what a gradient costs.
 */
import type { ReverseTrace } from './active.js';

export interface TapeStats {
  /** Nodes recorded (inputs and operations). */
  nodes: number;
  /** Edges (operand links with their partial derivatives). */
  edges: number;
  /** Bytes the tape's arrays need for those: 4 per node, 12 per edge. */
  bytes: number;
  /** The largest short-lived tape a checkpointed region recorded during the backward pass. */
  peakSubtapeNodes: number;
}

let last: TapeStats = { nodes: 0, edges: 0, bytes: 0, peakSubtapeNodes: 0 };
let peakSub = 0;

export const tapeStats = {
  begin(): void {
    peakSub = 0;
  },
  end(tape: ReverseTrace): void {
    last = { nodes: tape.size, edges: tape.edgeCount, bytes: tape.size * 4 + tape.edgeCount * 12, peakSubtapeNodes: peakSub };
  },
  noteSubtape(nodes: number, _edges: number): void {
    if (nodes > peakSub) peakSub = nodes;
  },
};

/** The sizes of the most recent reverse-mode recording (grad, valueAndGrad, vjp, jacobian). */
export function lastTapeStats(): TapeStats {
  return { ...last };
}
