import { test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { graph, graphToDot, graphToMermaid, graphToSVG } from 'dualtape';
function helper(a: number, b: number) { return a * b + Math.sin(a); }
test('scratch', async () => {
  const g = graph((x: number, y: number) => Math.sin(x * y) + x)(1, 2);
  console.log(graphToDot(g), graphToMermaid(g));
  writeFileSync('/tmp/gx/a.svg', await graphToSVG(g));
  const h = graph((x: number[]) => { let s = 0; for (let i = 0; i < x.length; i++) s += helper(x[i], s) * 2; return s; })([1, 2, 3]);
  console.log(h.nodes.map((n) => `${n.id} ${n.op} ${n.stack.join(' < ')} g=${n.group}`).join('\n'), h.groups);
  console.log(graphToDot(h, { collapse: true }));
  writeFileSync('/tmp/gx/b.svg', await graphToSVG(h, { collapse: true }));
});
