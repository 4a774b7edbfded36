/**
 * The adjoint tier's stacks: what the forward sweep of generated adjoint code
 * saves for its reverse sweep.
 *
 * - `F` (Float64Array): numbers overwritten in the forward sweep whose old
 *   value the reverse sweep reads (a partial, an index), popped as the
 *   reverse sweep walks back over the statement.
 * - `I` (Int32Array): control flow: loop trip counts and branch ids.
 * - `O` (plain array): anything else that is overwritten and needed again
 *   (array references, destructured data).
 * - `out` (Float64Array): a reverse function's adjoints of its number
 *   parameters, read by the caller right after the call.
 *
 * One set for the whole program, reused by every gradient: the runtime entry
 * saves the three pointers before a gradient and restores them after it (also
 * when it throws), so recursion, gradients taken inside a differentiated
 * function and exceptions leave the stacks as they were. Generated code checks
 * capacity once per loop iteration (`reserve`) rather than on every push.
 */
export interface AdjointStacks {
  F: Float64Array;
  fp: number;
  I: Int32Array;
  ip: number;
  O: unknown[];
  op: number;
  out: Float64Array;
}

export const $S: AdjointStacks = {
  F: new Float64Array(1 << 12),
  fp: 0,
  I: new Int32Array(1 << 10),
  ip: 0,
  O: [],
  op: 0,
  out: new Float64Array(256),
};

/** Room for `nf` more numbers and `ni` more ints (generated code calls this before pushing). */
export function reserve(nf: number, ni: number): void {
  if ($S.fp + nf > $S.F.length) {
    const bigger = new Float64Array(Math.max(2 * $S.F.length, $S.fp + nf));
    bigger.set($S.F.subarray(0, $S.fp));
    $S.F = bigger;
  }
  if ($S.ip + ni > $S.I.length) {
    const bigger = new Int32Array(Math.max(2 * $S.I.length, $S.ip + ni));
    bigger.set($S.I.subarray(0, $S.ip));
    $S.I = bigger;
  }
}
