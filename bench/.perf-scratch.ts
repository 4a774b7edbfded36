import { grad, setTier } from 'dualtape';
import { workloads } from '/work/wt/adjoint/bench/cases.ts';
const now = () => performance.now();
function time(run: () => unknown, ms = 150): number {
  let n = 0; const t0 = now();
  while (now() - t0 < ms / 3) { run(); n++; }
  const reps = Math.max(1, n);
  const res: number[] = [];
  for (let s = 0; s < 5; s++) { const a = now(); for (let r = 0; r < reps; r++) run(); res.push((now() - a) / reps); }
  res.sort((a, b) => a - b); return res[2]!;
}
const only = process.argv[2];
for (const w of workloads) {
  if (only && w.id !== only) continue;
  for (const key of w.sizes.quick) {
    const inst = w.make(key);
    const g = w.hasData ? grad(w.f as any, { argnums: 0 }) : grad(w.f as any);
    const f = () => w.f(inst.x, inst.data as never);
    const tf = time(f);
    const th = time(() => w.hand(inst.x, inst.data as never));
    const call = w.hasData ? () => g(inst.x, inst.data) : () => g(inst.x);
    const ta = time(call);
    setTier('tape');
    const tt = time(call, 100);
    setTier('auto');
    console.log(`${w.id.padEnd(14)} n=${String(inst.n).padEnd(6)} hand ${(th / tf).toFixed(2)}x  adjoint ${(ta / tf).toFixed(2)}x  tape ${(tt / tf).toFixed(1)}x  adj/hand ${(ta / th).toFixed(2)}`);
  }
}
