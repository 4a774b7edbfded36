/**
 * How deep a recursion can go, called plainly and under grad (both modes):
 * the deepest n for which `depth(x, n)` (n nested calls) runs, found by
 * bisection. Compiled code needs more stack per frame (temporaries of the
 * fast path, the runtime's calls on the way), so the limit is lower under
 * grad; at the limit grad throws a DualtapeError that says so. Under grad it
 * is measured twice: on the default tiers (generated adjoint/tangent code
 * where the function has it) and with the tape forced (setTier('tape')).
 *
 *   npm run bench:stack-depth     (writes bench/stack-depth.json)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { grad, setTier } from 'dualtape';

/** n nested calls, each with a typical statement (one multiply-add). */
function depth(x: number, n: number): number {
  if (n === 0) return x;
  return 0.5 * x + Math.sin(x) * depth(x, n - 1);
}

/** The same recursion written as a plain expression chain: the smallest frame. */
function depthSmall(x: number, n: number): number {
  return n === 0 ? x : x + depthSmall(x, n - 1);
}

function deepest(run: (n: number) => unknown): number {
  let lo = 1;
  let hi = 1 << 20;
  while (hi - lo > 16) {
    const mid = (lo + hi) >>> 1;
    let ok = true;
    try {
      run(mid);
    } catch {
      ok = false;
    }
    if (ok) lo = mid;
    else hi = mid;
  }
  return lo;
}

function onTape<T>(run: () => T): T {
  const was = setTier('tape');
  try {
    return run();
  } finally {
    setTier(was);
  }
}

const measure = (name: string, f: (x: number, n: number) => number, gr: Function, gf: Function) => {
  const plain = deepest((n) => f(0.3, n));
  const reverse = deepest((n) => gr(0.3, n));
  const forward = deepest((n) => gf(0.3, n));
  const reverseTape = onTape(() => deepest((n) => gr(0.3, n)));
  const forwardTape = onTape(() => deepest((n) => gf(0.3, n)));
  return {
    name, plain, reverse, forward, reverseTape, forwardTape,
    reverseRatio: plain / reverse, forwardRatio: plain / forward, reverseTapeRatio: plain / reverseTape, forwardTapeRatio: plain / forwardTape,
  };
};
const rows = [
  measure('depth (multiply-add and sin per frame)', depth,
    grad(depth, { argnums: 0 }), grad(depth, { argnums: 0, mode: 'forward' })),
  measure('depthSmall (one addition per frame)', depthSmall,
    grad(depthSmall, { argnums: 0 }), grad(depthSmall, { argnums: 0, mode: 'forward' })),
];
const out = fileURLToPath(new URL('./stack-depth.json', import.meta.url));
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2) + '\n');
for (const r of rows) {
  console.log(`${r.name}: plain ${r.plain}, grad reverse ${r.reverse} (${r.reverseRatio.toFixed(2)}x less), forward ${r.forward} (${r.forwardRatio.toFixed(2)}x less); ` +
    `tape forced: reverse ${r.reverseTape} (${r.reverseTapeRatio.toFixed(2)}x less), forward ${r.forwardTape} (${r.forwardTapeRatio.toFixed(2)}x less)`);
}

// The docs' tables come from bench/stack-depth.json (bench/docs-tables.ts).
{
  const { updateDocs } = await import('./docs-tables.ts');
  console.log(`Wrote bench/stack-depth.json; ${updateDocs()}`);
}
