/**
 * The only benchmark module that imports dualtape: it turns a workload from
 * workloads.ts into its dualtape gradient. Kept tiny on purpose, so the
 * plugin has nothing else to compile here; everything else in bench/ is
 * plain TypeScript.
 */
import { grad, lastTapeStats, setTier, tierOf, type TapeStats } from 'dualtape';

export type Mode = 'reverse' | 'forward';
export type GradientOf = (x: number[], data: unknown) => number[];

/**
 * `grad(f)` (or `grad(f, { argnums: 0 })` when f takes a data argument,
 * which is then a constant), in the given mode.
 */
export function dualtapeGradient(f: (x: number[], data: never) => number, mode: Mode, hasData: boolean): GradientOf {
  if (hasData) {
    const g = grad(f as (x: number[], data: unknown) => number, { mode, argnums: 0 });
    return (x, data) => g(x, data);
  }
  const g = grad(f as (x: number[]) => number, { mode });
  return (x) => g(x);
}

export function tapeStats(): TapeStats {
  return lastTapeStats();
}

/** Runs `run` with the tape tier forced (the adjoint tier off), restoring the setting after. */
export function onTape<T>(run: () => T): T {
  const was = setTier('tape');
  try {
    return run();
  } finally {
    setTier(was);
  }
}

/** Which tier dualtape's reverse mode runs `f` on ('adjoint' or 'tape: <reason>'). */
export function tierLabel(f: Function): string {
  const t = tierOf(f);
  return t.tier === 'adjoint' ? 'adjoint' : `tape: ${t.reason}`;
}
