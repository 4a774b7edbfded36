import { grad } from 'dualtape';
function loss(p: number[], data: { scale: number }): number {
  let t = 0;
  for (let i = 0; i < p.length; i++) t += data.scale * p[i] * p[i];
  return t;
}
let calls = 0;
const data = { get scale() { calls++; return calls; } };
const g = grad(loss, { argnums: 0 })([1, 2], data);
console.log(g, 'getter reads', calls);
