/**
 * graph(f)(...args): the recorded graph must be the computation, checked
 * independently of the recorder:
 *   - node values: the output's equals the plain function's value; each
 *     operation node whose operands are all in the graph equals its operation
 *     (by name, with Math) applied to its operands' values;
 *   - edge partials: against central finite differences of that operation;
 *   - adjoints of the inputs: equal grad's, in both modes;
 *   - the chain rule: every node's adjoint equals the sum over all paths from
 *     it to the output of the product of the edge partials (paths enumerated
 *     explicitly on small graphs, and by dynamic programming over the exported
 *     edges on generated programs);
 * plus the exports (DOT, Mermaid, JSON, SVG) checked structurally, the node
 * limit, and the grouping of loop iterations and helper calls.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DualtapeError, checkpoint, customDerivative, grad, graph, graphToDot, graphToJSON, graphToMermaid, graphToSVG } from 'dualtape';
import type { Graph } from 'dualtape';
import { EXT_FILE, EXT_MODULE, argsAt, flatGrad, programArb, renderModule } from './helpers/programs.js';

// ---------------------------------------------------------------------------
// Independent checks
// ---------------------------------------------------------------------------

const unary: Record<string, (x: number) => number> = {
  neg: (x) => -x, sqrt: Math.sqrt, cbrt: Math.cbrt, exp: Math.exp, expm1: Math.expm1, log: Math.log,
  log1p: Math.log1p, log2: Math.log2, log10: Math.log10, sin: Math.sin, cos: Math.cos, tan: Math.tan,
  asin: Math.asin, acos: Math.acos, atan: Math.atan, sinh: Math.sinh, cosh: Math.cosh, tanh: Math.tanh,
  asinh: Math.asinh, acosh: Math.acosh, atanh: Math.atanh, abs: Math.abs,
};
const binary: Record<string, (x: number, y: number) => number> = {
  add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, div: (x, y) => x / y, pow: (x, y) => x ** y,
  atan2: Math.atan2,
};

const close = (a: number, b: number, tol: number): boolean =>
  Object.is(a, b) || Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

/** Node values and edge partials against Math, where a node's operands are all in the graph. */
function checkLocal(g: Graph): number {
  let checked = 0;
  for (const n of g.nodes) {
    if (n.kind !== 'op') continue;
    const ins = g.edges.filter((e) => e.to === n.id);
    const vals = ins.map((e) => g.nodes[e.from]!.value);
    const u = unary[n.op];
    const b = binary[n.op];
    if (u && ins.length === 1) {
      expect(close(n.value, u(vals[0]!), 1e-14), `${n.op}(${vals[0]}) = ${n.value}`).toBe(true);
      const h = 1e-6 * Math.max(1, Math.abs(vals[0]!));
      const fd = (u(vals[0]! + h) - u(vals[0]! - h)) / (2 * h);
      expect(close(ins[0]!.partial, fd, 1e-5), `d${n.op} at ${vals[0]}: ${ins[0]!.partial} vs ${fd}`).toBe(true);
      checked++;
    } else if (b && ins.length === 2) {
      const [x, y] = vals as [number, number];
      expect(close(n.value, b(x, y), 1e-14), `${n.op}(${x}, ${y}) = ${n.value}`).toBe(true);
      const hx = 1e-6 * Math.max(1, Math.abs(x));
      const hy = 1e-6 * Math.max(1, Math.abs(y));
      expect(close(ins[0]!.partial, (b(x + hx, y) - b(x - hx, y)) / (2 * hx), 1e-5)).toBe(true);
      expect(close(ins[1]!.partial, (b(x, y + hy) - b(x, y - hy)) / (2 * hy), 1e-5)).toBe(true);
      checked++;
    }
  }
  return checked;
}

/** Σ over all paths from each node to the output of Π partials, by explicit enumeration. */
function pathSums(g: Graph): number[] {
  const outEdges = g.nodes.map((n) => g.edges.filter((e) => e.from === n.id));
  const sums: number[] = [];
  for (const n of g.nodes) {
    let total = 0;
    let paths = 0;
    const walk = (k: number, product: number): void => {
      if (k === g.output) {
        total += product;
        paths++;
        return;
      }
      for (const e of outEdges[k]!) walk(e.to, product * e.partial);
      if (paths > 100_000) throw new Error('too many paths for explicit enumeration');
    };
    walk(n.id, 1);
    sums.push(total);
  }
  return sums;
}

/** The same sum by dynamic programming over the exported edges (any size). */
function pathSumsDP(g: Graph): number[] {
  const acc = new Array<number>(g.nodes.length).fill(0);
  if (g.output === undefined) return acc;
  acc[g.output] = 1;
  for (let i = g.edges.length - 1; i >= 0; i--) {
    const e = g.edges[i]!;
    expect(e.from).toBeLessThan(e.to); // topological order
    if (acc[e.to] !== 0) acc[e.from]! += e.partial * acc[e.to]!;
  }
  return acc;
}

function checkGraph(g: Graph, plainValue: number, gradient: number[]): void {
  expect(Object.is(g.value, plainValue) || close(g.value, plainValue, 1e-15)).toBe(true);
  if (g.output !== undefined) expect(g.nodes[g.output]!.value).toBe(g.value);
  expect(g.inputs.map((k) => g.nodes[k]!.adjoint).every((a, i) => close(a, gradient[i]!, 1e-12))).toBe(true);
  const sums = pathSums(g);
  g.nodes.forEach((n, k) => expect(close(n.adjoint, sums[k]!, 1e-12), `node ${k} (${n.op}): adjoint ${n.adjoint}, path sum ${sums[k]}`).toBe(true));
}

// ---------------------------------------------------------------------------
// Small functions
// ---------------------------------------------------------------------------

function square(u: number): number {
  return u * u;
}

function layer(p: { w: number[]; b: number }, x: number[]): number {
  let s = p.b;
  for (let i = 0; i < x.length; i++) s += p.w[i]! * x[i]!;
  return Math.tanh(s);
}

function rosenbrock(x: number[]): number {
  'use differentiable';
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) s += 100 * (x[i + 1]! - x[i]! ** 2) ** 2 + (1 - x[i]!) ** 2;
  return s;
}
function withHelper(p: { w: number[]; b: number }, x: number[]): number {
  'use differentiable';
  return square(layer(p, x)) + p.b / 3;
}
function branchy(a: number, b: number): number {
  'use differentiable';
  return a > b ? Math.max(a, b * b) / (1 + a ** 2) : Math.exp(a - b);
}
function trig(a: number, b: number): number {
  'use differentiable';
  return Math.atan2(a, b) * Math.hypot(a, b, 1) + Math.log(Math.sqrt(a * a + 1));
}

describe('graph of small functions', () => {
  it('sin(x*y) + x: the textbook picture, node by node', () => {
    const f = (x: number, y: number) => Math.sin(x * y) + x;
    const g = graph(f)(1.5, -0.7);
    expect(g.level).toBe('operation');
    expect(g.nodes.map((n) => n.op)).toEqual(['x', 'y', 'mul', 'sin', 'add']);
    expect(g.inputs).toEqual([0, 1]);
    expect(g.output).toBe(4);
    // Hand-derived: ∂/∂x = cos(xy)·y + 1, ∂/∂y = cos(xy)·x.
    const c = Math.cos(1.5 * -0.7);
    expect(g.nodes[0]!.adjoint).toBeCloseTo(c * -0.7 + 1, 14);
    expect(g.nodes[1]!.adjoint).toBeCloseTo(c * 1.5, 14);
    expect(checkLocal(g)).toBe(3);
    checkGraph(g, Math.sin(1.5 * -0.7) + 1.5, grad(f)(1.5, -0.7) as number[]);
    // Fan-out: x reaches the output by two paths, whose products add up.
    expect(g.edges.filter((e) => e.from === 0).length).toBe(2);
  });

  const cases: [string, (...a: never[]) => number, unknown[], () => number][] = [
    ['rosenbrock', rosenbrock as never, [[0.3, -1.2, 0.8]], () => 100 * (-1.2 - 0.09) ** 2 + 0.49 + 100 * (0.8 - 1.44) ** 2 + 2.2 ** 2],
    ['object parameters and a helper', withHelper as never, [{ w: [0.5, -0.25], b: 0.1 }, [1.2, 0.4]], () => Math.tanh(0.1 + 0.6 - 0.1) ** 2 + 0.1 / 3],
    ['branch, max, division, power', branchy as never, [0.9, 0.4], () => Math.max(0.9, 0.16) / (1 + 0.81)],
    ['atan2, hypot, sqrt, log', trig as never, [0.6, -0.8], () => Math.atan2(0.6, -0.8) * Math.hypot(0.6, -0.8, 1) + Math.log(Math.sqrt(1.36))],
  ];
  for (const [name, f, args, plain] of cases) {
    it(`${name}: values, partials, input adjoints = grad (both modes), chain rule`, () => {
      const g = graph(f as (...a: unknown[]) => number)(...args);
      const flat = (x: unknown): number[] => (typeof x === 'number' ? [x] : Array.isArray(x) ? x.flatMap(flat) : Object.values(x as object).flatMap(flat));
      const gr = flat(grad(f as (...a: unknown[]) => number)(...args));
      const gf = flat(grad(f as (...a: unknown[]) => number, { mode: 'forward' })(...args));
      expect(gr.length).toBe(g.inputs.length);
      expect(checkLocal(g)).toBeGreaterThanOrEqual(2);
      checkGraph(g, plain(), gr);
      checkGraph(g, plain(), gf);
      // Statement level: what the reverse tape records; fewer nodes, the same adjoints and chain rule.
      const s = graph(f as (...a: unknown[]) => number, { level: 'statement' })(...args);
      // (Code compiled without the fast path, DUALTAPE_FAST_PATH=0, records one node per operation at both levels.)
      if (process.env['DUALTAPE_FAST_PATH'] !== '0') {
        expect(s.nodes.length).toBeLessThan(g.nodes.length);
        // Preaccumulated expressions are 'expr' nodes; what the fast path leaves to the runtime keeps its name.
        expect(s.nodes.some((n) => n.op === 'expr')).toBe(true);
      }
      checkGraph(s, plain(), gr);
    });
  }

  it('names inputs by argument path', () => {
    const g = graph((p: { w: number[]; b: number }, x: number[]) => layer(p, x))({ w: [1, 2], b: 3 }, [4, 5]);
    expect(g.inputs.map((k) => g.nodes[k]!.op)).toEqual(['p.w[0]', 'p.w[1]', 'p.b', 'x[0]', 'x[1]']);
    const h = graph((m: number[][]) => m[1]![0]! * 2, { names: ['matrix'] })([[1], [2]]);
    expect(h.inputs.map((k) => h.nodes[k]!.op)).toEqual(['matrix[0][0]', 'matrix[1][0]']);
    expect(h.nodes[1]!.adjoint).toBe(2);
    expect(h.nodes[0]!.adjoint).toBe(0); // no path to the output
  });

  it('an input can be the output; Float64Array and destructured parameters', () => {
    const g = graph((x: number[]) => x[1]!)([3, 4]);
    expect(g.output).toBe(1);
    expect(g.nodes.map((n) => [n.op, n.adjoint, n.output])).toEqual([['x[0]', 0, false], ['x[1]', 1, true]]);
    expect(graphToDot(g)).toMatch(/n1 \[label="x\[1\] \(output\)\\nvalue 4\\nadjoint 1", peripheries=2/);
    const h = graph(({ a, b }: { a: number; b: number }, v: Float64Array) => a * b + v[0]! * v[1]!)({ a: 2, b: 3 }, Float64Array.of(5, 7));
    expect(h.inputs.map((k) => h.nodes[k]!.op)).toEqual(['args[0].a', 'args[0].b', 'v[0]', 'v[1]']);
    expect(h.inputs.map((k) => h.nodes[k]!.adjoint)).toEqual([3, 2, 7, 5]);
  });

  it('inside a derivative, over values that carry an outer derivative: the numbers underneath', () => {
    let seen: Graph | undefined;
    const outer = grad((x: number) => {
      seen = graph((y: number) => Math.sin(y * x))(2);
      return x * x;
    })(0.5);
    expect(outer).toBe(1);
    const g = seen!;
    expect(g.value).toBe(Math.sin(1));
    expect(g.nodes.map((n) => [n.op, n.value])).toEqual([['y', 2], ['mul', 1], ['sin', Math.sin(1)]]);
    expect(g.nodes[0]!.adjoint).toBeCloseTo(Math.cos(1) * 0.5, 15);
    expect(g.edges[0]!.partial).toBe(0.5);
  });

  it('a result that does not depend on the inputs has no output node', () => {
    const g = graph((x: number) => 3 + 0 * x)(2);
    expect(g.output).toBeUndefined();
    expect(g.value).toBe(3);
    expect(g.nodes[0]!.adjoint).toBe(0);
  });

  it('leaves grad untouched: a gradient after a graph is the same', () => {
    const f = (x: number[]) => x[0]! * Math.sin(x[1]!);
    const before = grad(f)([0.5, 2]);
    graph(f)([0.5, 2]);
    expect(grad(f)([0.5, 2])).toEqual(before);
  });

  it('refuses a function the plugin did not compile, bad options, non-number results', () => {
    const notCompiled = new Function('x', 'return x * 2') as (x: number) => number;
    expect(() => graph(notCompiled)).toThrow(/graph/);
    expect(() => graph((x: number) => x, { level: 'expression' as never })).toThrow(/level/);
    expect(() => graph((x: number) => x, { maxNodes: 0 })).toThrow(/maxNodes/);
    expect(() => graph((x: number) => [x] as unknown as number)(1)).toThrow(/single number/);
    expect(() => graph((x: number) => x)('1' as unknown as number)).toThrow(TypeError);
  });

  it('stops at maxNodes with an error that says what to do', () => {
    const f = (x: number[]) => {
      let s = 0;
      for (let i = 0; i < 2000; i++) s += Math.sin(x[0]! * i);
      return s;
    };
    expect(() => graph(f)([1])).toThrow(DualtapeError);
    expect(() => graph(f)([1])).toThrow(/5000 nodes.*level: 'statement'.*maxNodes/);
    expect(graph(f, { maxNodes: 10_000 })([1]).nodes.length).toBeGreaterThan(5000);
    // After the error, ordinary gradients still work (the recording was closed).
    expect(grad((x: number) => x * x)(3)).toBe(6);
  });
});

const softplus = customDerivative((x: number) => Math.log(1 + Math.exp(x)), {
  jvp: (x: number, t: number) => t / (1 + Math.exp(-x)),
  vjp: (x: number, _y: number, ct: number) => [ct / (1 + Math.exp(-x))],
} as never) as (x: number) => number;
function nestedGrad(x: number): number {
  'use differentiable';
  return grad((y: number) => y * y * x)(x) * x; // the inner derivative 2yx at y = x, times x: 2x³
}
function withCustom(x: number): number {
  'use differentiable';
  return softplus(x * 2) + x;
}
function withCheckpoint(x: number): number {
  'use differentiable';
  return checkpoint((y: number) => Math.sin(y) * y)(x * 2) + x;
}

describe('graph of functions using the rest of the API', () => {
  const cases: [string, (x: number) => number, (x: number) => number][] = [
    ['a derivative taken inside', nestedGrad, (x) => 6 * x * x],
    ['a customDerivative', withCustom, (x) => 2 / (1 + Math.exp(-2 * x)) + 1],
    ['a checkpoint', withCheckpoint, (x) => 2 * (Math.cos(2 * x) * 2 * x + Math.sin(2 * x)) + 1],
  ];
  for (const [name, f, df] of cases) {
    for (const level of ['operation', 'statement'] as const) {
      it(`${name}, ${level} level: the input's adjoint is the derivative, path sums hold`, () => {
        const g = graph(f, { level })(0.7);
        expect(g.value).toBe(f(0.7));
        expect(g.nodes[0]!.adjoint).toBeCloseTo(df(0.7), 12);
        expect(g.nodes[0]!.adjoint).toBe(grad(f)(0.7));
        const sums = pathSums(g);
        g.nodes.forEach((n, k) => expect(close(n.adjoint, sums[k]!, 1e-12)).toBe(true));
        if (f === withCheckpoint) expect(g.nodes.some((n) => n.op === 'sin' || (level === 'statement' && n.op === 'expr'))).toBe(true);
      });
    }
  }
});

describe('repeated regions', () => {
  it('groups loop iterations and helper calls, with their counts', () => {
    const f = (x: number[]) => {
      let s = 0;
      for (let i = 0; i < x.length; i++) {
        s = s + square(x[i]!);
      }
      return Math.sqrt(s);
    };
    const g = graph(f)([1, 2, 3, 4]);
    checkGraph(g, Math.sqrt(30), grad(f)([1, 2, 3, 4]) as number[]);
    const helper = g.groups.find((gr) => gr.label.startsWith('square()'));
    expect(helper?.count).toBe(4);
    expect(helper?.nodes.map((k) => g.nodes[k]!.op)).toEqual(['mul', 'mul', 'mul', 'mul']);
    const loop = g.groups.find((gr) => gr.label.startsWith('line'));
    expect(loop?.count).toBe(4);
    expect(loop?.nodes.map((k) => g.nodes[k]!.op)).toEqual(['add', 'add', 'add', 'add']);
    expect(g.nodes[g.output!]!.group).toBeUndefined();
    // Collapsed: one box per region, inputs and output kept.
    const dot = graphToDot(g, { collapse: true });
    expect(dot).toMatch(/g\d+ \[label="square\(\) at line \d+\\n×4 \(4 operations\)"/);
    expect(dot.match(/shape=box3d/g)?.length).toBe(2);
    expect(dot).toMatch(/n0 \[label="x\[0\]/);
  });
});

// ---------------------------------------------------------------------------
// Exports
// ---------------------------------------------------------------------------

describe('exports', () => {
  const f = (x: number, y: number) => Math.sin(x * y) + x;
  const g = graph(f)(1, 2);

  it('DOT: one statement per node and edge, inputs and output styled, partials on edges', () => {
    const dot = graphToDot(g);
    expect(dot.startsWith('digraph dualtape {')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    const nodeLines = dot.split('\n').filter((l) => /^ {2}n\d+ \[label=/.test(l));
    const edgeLines = dot.split('\n').filter((l) => /^ {2}n\d+ -> n\d+/.test(l));
    expect(nodeLines.length).toBe(g.nodes.length);
    expect(edgeLines.length).toBe(g.edges.length);
    expect(nodeLines.filter((l) => l.includes('shape=box')).length).toBe(2);
    expect(nodeLines.filter((l) => l.includes('peripheries=2')).length).toBe(1);
    expect(dot).toContain(`n2 -> n3 [label="${Math.cos(2).toPrecision(4)}"`);
    expect(graphToDot(g, { partials: false })).not.toMatch(/-> n\d+ \[label/);
  });

  it('Mermaid: a flowchart with every node and edge', () => {
    const m = graphToMermaid(g);
    expect(m.split('\n')[0]).toBe('flowchart TB');
    expect(m.split('\n').filter((l) => /^ {2}n\d+[[(]/.test(l)).length).toBe(g.nodes.length);
    expect(m.split('\n').filter((l) => /^ {2}n\d+ -->/.test(l)).length).toBe(g.edges.length);
    expect(m).toContain('class n0,n1 input');
    expect(m).toContain('class n4 output');
  });

  it('JSON: round-trips, with non-finite numbers as strings', () => {
    expect(JSON.parse(graphToJSON(g))).toEqual(JSON.parse(JSON.stringify(g)));
    const h = graph((x: number) => Math.sqrt(x))(0);
    const parsed = JSON.parse(graphToJSON(h)) as { edges: { partial: unknown }[] };
    expect(parsed.edges[0]!.partial).toBe('Infinity');
  });

  it('SVG: laid out by Graphviz, self-contained, one <g> per node and edge', async () => {
    const svg = await graphToSVG(g);
    expect(svg).toMatch(/<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.match(/<g id="n\d+" class="node">/g)?.length).toBe(g.nodes.length);
    expect(svg.match(/class="edge"/g)?.length).toBe(g.edges.length);
    expect(svg).not.toMatch(/(?:href|src)="(?:https?:|file:)/);
    // Laid out: the output is below its operands (top-to-bottom ranks).
    const y = (id: string) => Number(new RegExp(`<g id="${id}" class="node">[\\s\\S]*?(?:cy|points)="?(-?[\\d.]+)`).exec(svg)?.[1] ?? NaN);
    expect(Number.isFinite(y('n4'))).toBe(true);
    expect(y('n4')).toBeGreaterThan(y('n2'));
  });
});

// ---------------------------------------------------------------------------
// Generated programs
// ---------------------------------------------------------------------------

const genDir = fileURLToPath(new URL(`./.gen/graph-${process.pid}/`, import.meta.url));
mkdirSync(genDir, { recursive: true });
// Generated programs may import helpers marked 'use differentiable' from './ext'.
writeFileSync(`${genDir}${EXT_FILE}`, EXT_MODULE);
afterAll(() => rmSync(genDir, { recursive: true, force: true }));

interface GraphModule {
  gop: (...a: unknown[]) => Graph;
  gst: (...a: unknown[]) => Graph;
  gr: (...a: unknown[]) => unknown;
  f_plain: (...a: unknown[]) => number;
}

describe('graph of generated programs (fast-check)', () => {
  it('value = plain value, input adjoints = grad, adjoints = path sums of partials, at both levels', async () => {
    const programs = programArb();
    const coord = fc.double({ min: -2, max: 2, noNaN: true });
    await fc.assert(
      fc.asyncProperty(programs, fc.array(coord, { minLength: 5, maxLength: 5 }), async (ast, point) => {
        const p = renderModule(ast);
        const start = p.source.indexOf('export const gr = grad(') + 'export const gr = grad('.length;
        const target = p.source.slice(start, p.source.indexOf(');\nexport const gf', start));
        const source =
          p.source.replace(`import { grad, stopGradient, valueAndGrad } from 'dualtape';`, `import { grad, graph, stopGradient, valueAndGrad } from 'dualtape';`) +
          `\nexport const gop = graph(${target}, { maxNodes: 100000 });\nexport const gst = graph(${target}, { level: 'statement', maxNodes: 100000 });\n`;
        const file = `${genDir}g_${createHash('sha1').update(source).digest('hex').slice(0, 16)}.ts`;
        writeFileSync(file, source);
        const m = (await import(/* @vite-ignore */ file)) as GraphModule;
        const plain = m.f_plain(...argsAt(p, point));
        const gradient = flatGrad(p, m.gr(...argsAt(p, point)));
        for (const g of [m.gop(...argsAt(p, point)), m.gst(...argsAt(p, point))]) {
          // Programs that take a derivative inside compute it at another level here: equal to rounding.
          expect(Object.is(g.value, plain) || (p.nestedGrad && close(g.value, plain, 1e-12)), `value ${g.value} vs ${plain}\n${p.shown}`).toBe(true);
          const adj = g.inputs.map((k) => g.nodes[k]!.adjoint);
          adj.forEach((a, i) => {
            if (Number.isFinite(gradient[i])) expect(close(a, gradient[i]!, 1e-9), `input ${i}: ${a} vs grad ${gradient[i]}\n${p.shown}`).toBe(true);
          });
          const dp = pathSumsDP(g);
          g.nodes.forEach((n, k) => {
            if (Number.isFinite(n.adjoint) && Number.isFinite(dp[k])) expect(close(n.adjoint, dp[k]!, 1e-9), `node ${k}\n${p.shown}`).toBe(true);
          });
        }
      }),
      { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 40) },
    );
  });
});
