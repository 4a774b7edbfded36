/** The examples the playground offers: a module exporting `f`, and a point (the argument list as JSON). */
export interface Example {
  name: string;
  code: string;
  point: string;
}

export const examples: Example[] = [
  {
    name: 'Math.sin(x*y) + x',
    code: `export function f(x: number, y: number): number {
  return Math.sin(x * y) + x;
}
`,
    point: '[1.5, -0.7]',
  },
  {
    name: 'Rosenbrock',
    code: `export function f(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) {
    s += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2;
  }
  return s;
}
`,
    point: '[[0.3, -1.2, 0.8]]',
  },
  {
    name: 'MLP (2-3-1, tanh)',
    code: `interface Params { w1: number[][]; b1: number[]; w2: number[]; b2: number }

function dense(w: number[], b: number, x: number[]): number {
  let s = b;
  for (let i = 0; i < x.length; i++) s += w[i] * x[i];
  return s;
}

export function f(p: Params, x: number[], y: number): number {
  const h = p.w1.map((row, j) => Math.tanh(dense(row, p.b1[j], x)));
  const out = dense(p.w2, p.b2, h);
  return (out - y) ** 2;
}
`,
    point: '[{"w1": [[0.5, -0.3], [0.8, 0.1], [-0.4, 0.9]], "b1": [0.1, 0, -0.2], "w2": [0.7, -0.5, 0.3], "b2": 0.05}, [1, 2], 0.5]',
  },
  {
    name: 'RNN step',
    code: `// One step of a tiny recurrent cell, h' = tanh(W h + U x + b); loss = sum of h'.
export function f(h: number[], x: number[], W: number[][], U: number[][]): number {
  let loss = 0;
  for (let i = 0; i < h.length; i++) {
    let s = 0.1;
    for (let j = 0; j < h.length; j++) s += W[i][j] * h[j];
    for (let j = 0; j < x.length; j++) s += U[i][j] * x[j];
    loss += Math.tanh(s);
  }
  return loss;
}
`,
    point: '[[0.2, -0.4], [1], [[0.5, -0.1], [0.3, 0.8]], [[0.6], [-0.7]]]',
  },
  {
    name: 'A branch',
    code: `// Only the branch taken is in the graph; its derivative is the derivative of that branch.
export function f(x: number, y: number): number {
  if (x * y > 1) {
    return Math.log(x * y) + y;
  }
  return Math.exp(x) * y - x;
}
`,
    point: '[2, 0.8]',
  },
];
