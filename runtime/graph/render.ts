/**
 * Pictures of a recorded graph (see ../graph.ts): Graphviz DOT, Mermaid,
 * JSON, and SVG laid out by Graphviz itself (`@viz-js/viz`, Graphviz compiled
 * to WebAssembly, loaded on first use so that it costs nothing to users who
 * never draw).
 */
import type { Graph, GraphNode } from '../graph.js';

export interface RenderOptions {
  /** Label each edge with its local partial derivative (default true). */
  readonly partials?: boolean;
  /**
   * Draw each repeated region (loop iterations, calls of a helper from one
   * place: `graph.groups`) as one box with its count. Default: only when the
   * graph has more than 80 nodes.
   */
  readonly collapse?: boolean;
  /** Significant digits of the numbers shown (default 4). */
  readonly digits?: number;
  /** Top-to-bottom ('TB', default) or left-to-right ('LR'). */
  readonly direction?: 'TB' | 'LR';
}

/** What is drawn: nodes of the graph, or boxes standing for a repeated region. */
export interface ViewNode {
  readonly key: string;
  readonly kind: 'input' | 'op' | 'output' | 'group';
  /** Label lines: operation, value, adjoint (or the region's name and count). */
  readonly lines: readonly string[];
  /** The graph nodes it stands for. */
  readonly nodes: readonly number[];
}

export interface ViewEdge {
  readonly from: string;
  readonly to: string;
  /** The partial, when the edge stands for one edge of the graph. */
  readonly partial: number | undefined;
}

/** Formats a number for a label: `digits` significant digits, no trailing zeros. */
export function formatNumber(x: number, digits = 4): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  const s = x.toPrecision(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** The nodes and edges to draw, with repeated regions collapsed if asked. */
export function viewOf(g: Graph, opts: RenderOptions = {}): { nodes: ViewNode[]; edges: ViewEdge[] } {
  const digits = opts.digits ?? 4;
  const collapse = opts.collapse ?? g.nodes.length > 80;
  const keyOf = (n: GraphNode): string => (collapse && n.group !== undefined ? `g${n.group}` : `n${n.id}`);
  const nodes: ViewNode[] = [];
  const seen = new Set<string>();
  for (const n of g.nodes) {
    const key = keyOf(n);
    if (seen.has(key)) continue;
    seen.add(key);
    if (key.startsWith('g')) {
      const grp = g.groups[n.group!]!;
      nodes.push({ key, kind: 'group', lines: [grp.label, `×${grp.count} (${grp.nodes.length} operations)`], nodes: grp.nodes });
    } else {
      const kind = n.output ? 'output' : n.kind;
      const head = n.output && n.kind === 'input' ? `${n.op} (output)` : n.output ? `${n.op} → output` : n.op;
      nodes.push({
        key,
        kind,
        lines: [head, `value ${n.op === 'custom' && Number.isNaN(n.value) ? '?' : formatNumber(n.value, digits)}`, `adjoint ${formatNumber(n.adjoint, digits)}`],
        nodes: [n.id],
      });
    }
  }
  const edges: ViewEdge[] = [];
  const merged = new Set<string>();
  for (const e of g.edges) {
    const from = keyOf(g.nodes[e.from]!);
    const to = keyOf(g.nodes[e.to]!);
    const single = from.startsWith('n') && to.startsWith('n');
    if (single) {
      edges.push({ from, to, partial: opts.partials === false ? undefined : e.partial });
      continue;
    }
    if (from === to) continue; // inside one region
    const k = `${from}>${to}`;
    if (merged.has(k)) continue;
    merged.add(k);
    edges.push({ from, to, partial: undefined });
  }
  return { nodes, edges };
}

const dotString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** Graphviz DOT. Inputs are blue boxes, the output a double orange outline, repeated regions grey 3-D boxes. */
export function graphToDot(g: Graph, opts: RenderOptions = {}): string {
  const { nodes, edges } = viewOf(g, opts);
  const digits = opts.digits ?? 4;
  const out: string[] = [
    'digraph dualtape {',
    `  rankdir=${opts.direction ?? 'TB'};`,
    '  node [fontname="Helvetica", fontsize=11, shape=ellipse, style=filled, fillcolor="#ffffff", color="#555555"];',
    '  edge [fontname="Helvetica", fontsize=9, color="#777777", fontcolor="#444444"];',
    `  label=${dotString(`${g.nodes.length} nodes (${g.level} level), value ${formatNumber(g.value, digits)}`)};`,
    '  labelloc=t;',
    '  fontname="Helvetica";',
    '  fontsize=12;',
  ];
  for (const n of nodes) {
    const style =
      n.kind === 'input' ? 'shape=box, fillcolor="#dbeafe", color="#1d4ed8"'
      : n.kind === 'output' ? 'peripheries=2, fillcolor="#ffedd5", color="#c2410c", penwidth=1.6'
      : n.kind === 'group' ? 'shape=box3d, fillcolor="#f3f4f6", color="#6b7280"'
      : 'fillcolor="#ffffff"';
    out.push(`  ${n.key} [label=${dotString(n.lines.join('\n'))}, ${style}, id=${dotString(n.key)}];`);
  }
  for (const e of edges) {
    const label = e.partial === undefined ? '' : `label=${dotString(formatNumber(e.partial, digits))}, `;
    out.push(`  ${e.from} -> ${e.to} [${label}id=${dotString(`${e.from}-${e.to}`)}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}

const mermaidText = (s: string): string => s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');

/** A Mermaid flowchart (renders on GitHub inside a ```mermaid block). */
export function graphToMermaid(g: Graph, opts: RenderOptions = {}): string {
  const { nodes, edges } = viewOf(g, opts);
  const digits = opts.digits ?? 4;
  const out: string[] = [`flowchart ${opts.direction ?? 'TB'}`];
  for (const n of nodes) {
    const text = `"${n.lines.map(mermaidText).join('<br/>')}"`;
    const shape = n.kind === 'input' ? `[${text}]` : n.kind === 'output' ? `(((${text})))` : n.kind === 'group' ? `[[${text}]]` : `(${text})`;
    out.push(`  ${n.key}${shape}`);
  }
  for (const e of edges) {
    out.push(e.partial === undefined ? `  ${e.from} --> ${e.to}` : `  ${e.from} -->|"${mermaidText(formatNumber(e.partial, digits))}"| ${e.to}`);
  }
  out.push('  classDef input fill:#dbeafe,stroke:#1d4ed8');
  out.push('  classDef output fill:#ffedd5,stroke:#c2410c,stroke-width:2px');
  out.push('  classDef group fill:#f3f4f6,stroke:#6b7280');
  for (const kind of ['input', 'output', 'group'] as const) {
    const keys = nodes.filter((n) => n.kind === kind).map((n) => n.key);
    if (keys.length > 0) out.push(`  class ${keys.join(',')} ${kind}`);
  }
  return out.join('\n') + '\n';
}

/** The graph as JSON text; non-finite numbers (which JSON lacks) are written as the strings "NaN", "Infinity", "-Infinity". */
export function graphToJSON(g: Graph, indent: number | undefined = 2): string {
  return JSON.stringify(g, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), indent);
}

type VizInstance = { renderString(dot: string, opts: { format: string; engine?: string }): string };
let viz: Promise<VizInstance> | undefined;

/**
 * A self-contained SVG laid out by Graphviz (`@viz-js/viz`, WebAssembly; in
 * Node and in browsers). Each drawn node is an SVG `<g class="node">` whose
 * `id` is its key (`n3` for node 3, `g0` for region 0).
 */
export async function graphToSVG(g: Graph, opts: RenderOptions = {}): Promise<string> {
  viz ??= import('@viz-js/viz').then((m) => m.instance() as Promise<VizInstance>);
  return (await viz).renderString(graphToDot(g, opts), { format: 'svg', engine: 'dot' });
}
