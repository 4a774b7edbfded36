import { grad } from 'dualtape';
import { rosenbrock } from './workloads.ts';
import { rosenbrockGrad } from './analytic.ts';
const x = Array.from({ length: 10000 }, (_, i) => Math.sin(i));
const g = grad(rosenbrock);
const t = (label: string, run: () => unknown) => {
  for (let i = 0; i < 200; i++) run();
  const res: number[] = [];
  for (let s = 0; s < 7; s++) { const a = process.cpuUsage(); for (let i = 0; i < 300; i++) run(); const d = process.cpuUsage(a); res.push((d.user + d.system) / 1000 / 300); }
  res.sort((a, b) => a - b);
  console.log(label.padEnd(20), (res[3]! * 1000).toFixed(1), 'µs');
};
for (let rep = 0; rep < 2; rep++) {
  t('plain', () => rosenbrock(x));
  t('hand', () => rosenbrockGrad(x));
  t('grad', () => g(x));
  t('copy to number[]', () => { const s = new Float64Array(x.length); const o = new Array(s.length); for (let i = 0; i < s.length; i++) o[i] = s[i]; return o; });
  t('typeof scan', () => { for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number') return false; return true; });
}
