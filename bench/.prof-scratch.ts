import { grad, setTier } from 'dualtape';
import { rosenbrock, straightLine } from './workloads.ts';
import { rosenbrockGrad, straightLineGrad } from './analytic.ts';
const t = (label: string, run: () => unknown, n = 20000) => {
  for (let i = 0; i < n; i++) run();
  const res: number[] = [];
  for (let s = 0; s < 7; s++) { const a = process.cpuUsage(); for (let i = 0; i < n; i++) run(); const d = process.cpuUsage(a); res.push((d.user + d.system) / n); }
  res.sort((a, b) => a - b);
  return res[3]!;
};
for (const n of [10, 100, 1000]) {
  const x = Array.from({ length: n }, (_, i) => Math.sin(i));
  const g = grad(rosenbrock);
  const reps = Math.max(200, 200000 / n);
  const p = t('plain', () => rosenbrock(x), reps);
  const h = t('hand', () => rosenbrockGrad(x), reps);
  const a = t('adj', () => g(x), reps);
  setTier('tape');
  const tp = t('tape', () => g(x), reps / 10);
  setTier('auto');
  console.log(`rosen n=${n}: plain ${(p*1000).toFixed(0)} ns, hand ${(h/p).toFixed(2)}x, adjoint ${(a/p).toFixed(2)}x (${(a/h).toFixed(2)} of hand), tape ${(tp/p).toFixed(1)}x`);
}
import { adjointOf } from '../dist/runtime/adjoint/entry.js';
import { compiledVersion } from '../dist/runtime/registry.js';
import { $S } from '../dist/runtime/adjoint/stack.js';
{
  const n = 1000;
  const x = Array.from({ length: n }, (_, i) => Math.sin(i));
  const info = adjointOf(compiledVersion(rosenbrock)!)!;
  const v = info.variants[0]!;
  const sh = new Float64Array(n);
  const p = t('plain', () => rosenbrock(x), 200);
  const fw = t('fwd', () => { v.fwd(x, sh); $S.ip = 0; $S.fp = 0; }, 200);
  const fr = t('fwd+rev', () => { v.fwd(x, sh); v.rev(x, sh, 1); }, 200);
  const al = t('alloc', () => new Float64Array(n), 200);
  const cp = t('copy', () => { const o = new Array(n); for (let i = 0; i < n; i++) o[i] = sh[i]; return o; }, 200);
  const g = grad(rosenbrock);
  const all = t('grad', () => g(x), 200);
  console.log(`n=1000 (x plain): fwd ${(fw/p).toFixed(2)}, fwd+rev ${(fr/p).toFixed(2)}, alloc ${(al/p).toFixed(2)}, copy ${(cp/p).toFixed(2)}, grad ${(all/p).toFixed(2)}`);
}
