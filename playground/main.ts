/**
 * The playground page: an editor (CodeMirror 6), a point, and, as the user
 * types, the value, the gradient in both modes, a finite-difference check,
 * the flow graph with a step-by-step forward/backward walk, and on request
 * the cost of each mode as n grows.
 */
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { javascript } from '@codemirror/lang-javascript';
import { grad, graph, graphToSVG } from 'dualtape';
import type { Graph } from 'dualtape';
import { finiteDifferences, measure, normals } from '../cli/compare.js';
import { logLogPlot } from '../cli/plot.js';
import { BuildError, compile } from './compile.js';
import { examples } from './examples.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const exampleSelect = $<HTMLSelectElement>('example');
const pointInput = $<HTMLInputElement>('point');
const errorBox = $<HTMLPreElement>('error');
const levelSelect = $<HTMLSelectElement>('level');
const collapseBox = $<HTMLInputElement>('collapse');
const stepSlider = $<HTMLInputElement>('step');
const playButton = $<HTMLButtonElement>('play');
const caption = $<HTMLDivElement>('caption');
const graphBox = $<HTMLDivElement>('graph');
const measureButton = $<HTMLButtonElement>('measure');
const costStatus = $<HTMLSpanElement>('cost-status');
const costPlot = $<HTMLDivElement>('cost-plot');

type Fn = (...args: unknown[]) => number;
let current: { f: Fn; args: unknown[]; graph: Graph } | undefined;
let updates = 0;

const fmt = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(8)).toString() : String(x));
const flatten = (x: unknown): number[] =>
  typeof x === 'number' ? [x] : Array.isArray(x) ? x.flatMap(flatten) : x && typeof x === 'object' ? Object.values(x).flatMap(flatten) : [];
const show = (g: unknown): string => JSON.stringify(g, (_k, v: unknown) => (typeof v === 'number' ? Number(fmt(v)) : v));

// ---------------------------------------------------------------------------
// Editor
// ---------------------------------------------------------------------------

let timer: ReturnType<typeof setTimeout> | undefined;
const schedule = (): void => {
  document.body.dataset['state'] = 'busy';
  clearTimeout(timer);
  timer = setTimeout(() => void update(), 250);
};

const editor = new EditorView({
  parent: $('editor'),
  state: EditorState.create({
    doc: examples[0]!.code,
    extensions: [
      lineNumbers(),
      highlightActiveLine(),
      history(),
      indentOnInput(),
      bracketMatching(),
      syntaxHighlighting(defaultHighlightStyle),
      javascript({ typescript: true }),
      keymap.of([...defaultKeymap, ...historyKeymap]),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) schedule();
      }),
    ],
  }),
});

for (const [k, ex] of examples.entries()) exampleSelect.add(new Option(ex.name, String(k)));
exampleSelect.addEventListener('change', () => {
  const ex = examples[Number(exampleSelect.value)]!;
  pointInput.value = ex.point;
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: ex.code } });
  schedule();
});
pointInput.value = examples[0]!.point;
pointInput.addEventListener('input', schedule);
levelSelect.addEventListener('change', schedule);
collapseBox.addEventListener('change', schedule);

// ---------------------------------------------------------------------------
// Value, gradients, graph
// ---------------------------------------------------------------------------

function fail(message: string): void {
  errorBox.hidden = false;
  errorBox.textContent = message;
  document.body.dataset['state'] = 'error';
}

async function update(): Promise<void> {
  let f: Fn;
  try {
    const { exports } = compile(editor.state.doc.toString());
    const fn = typeof exports['f'] === 'function' ? exports['f'] : Object.values(exports).find((v) => typeof v === 'function');
    if (typeof fn !== 'function') return fail('The module exports no function: export function f(...) { ... }');
    f = fn as Fn;
  } catch (e) {
    return fail(e instanceof BuildError ? e.message : `Error while loading the module: ${(e as Error).message}`);
  }
  let args: unknown[];
  try {
    args = JSON.parse(pointInput.value) as unknown[];
    if (!Array.isArray(args)) return fail(`The point must be a JSON array of f's arguments, e.g. [${pointInput.value}]`);
  } catch (e) {
    return fail(`The point is not valid JSON: ${(e as Error).message}`);
  }
  const copy = (): unknown[] => structuredClone(args);
  try {
    const value = f(...copy());
    const gr = flatten(grad(f)(...copy()));
    const gf = flatten(grad(f, { mode: 'forward' })(...copy()));
    const gd = finiteDifferences(f, copy());
    const scale = Math.max(1e-300, ...gr.map(Math.abs).filter(Number.isFinite));
    const diff = (a: number[]) => Math.max(0, ...a.map((v, i) => Math.abs(v - gr[i]!) / scale));
    $('value').textContent = fmt(value);
    $('grad-reverse').textContent = show(gr);
    $('grad-forward').textContent = show(gf);
    $('grad-fd').textContent = show(gd);
    const modes = diff(gf);
    const fd = diff(gd);
    const check = $('check');
    check.className = modes < 1e-12 && fd < 1e-5 ? 'ok' : 'bad';
    check.textContent = `forward vs reverse: ${modes.toExponential(1)}; finite differences vs reverse: ${fd.toExponential(1)} (relative)`;
    const g = graph(f, { level: levelSelect.value as 'operation' | 'statement', maxNodes: 3000 })(...copy());
    const svg = await graphToSVG(g, { collapse: collapseBox.checked || g.nodes.length > 80 });
    graphBox.innerHTML = svg;
    current = { f, args, graph: g };
    stepSlider.max = String(2 * g.nodes.length);
    stepSlider.value = '0';
    paint(0);
    measureButton.disabled = !(args.length === 1 && Array.isArray(args[0]) && (args[0] as unknown[]).every((v) => typeof v === 'number'));
    errorBox.hidden = true;
    document.body.dataset['state'] = 'ready';
    document.body.dataset['updates'] = String(++updates);
  } catch (e) {
    fail(`Error while running f: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------
// The forward pass, then the backward pass, step by step
// ---------------------------------------------------------------------------

/** The SVG element drawn for node k (its region's box when collapsed). */
function elementOf(k: number): Element | null {
  const n = current!.graph.nodes[k]!;
  return graphBox.querySelector(`g.node#n${k}`) ?? (n.group === undefined ? null : graphBox.querySelector(`g.node#g${n.group}`));
}

function paint(step: number): void {
  if (!current) return;
  const g = current.graph;
  const N = g.nodes.length;
  graphBox.querySelectorAll('.fwd, .bwd, .current, .active').forEach((el) => el.classList.remove('fwd', 'bwd', 'current', 'active'));
  if (step === 0) {
    caption.textContent = `${N} nodes, ${g.edges.length} edges. Step through the forward pass (values, in topological order), then the backward pass (adjoints, in reverse).`;
    return;
  }
  const forward = step <= N;
  const k = forward ? step - 1 : 2 * N - step;
  for (let j = 0; j < N; j++) {
    const done = forward ? j <= k : true;
    if (done) elementOf(j)?.classList.add(!forward && j >= k ? 'bwd' : 'fwd');
  }
  elementOf(k)?.classList.add('current');
  const n = g.nodes[k]!;
  if (forward) {
    const ins = g.edges.filter((e) => e.to === k);
    ins.forEach((e) => graphBox.querySelector(`g.edge#n${e.from}-n${k}`)?.classList.add('active'));
    caption.textContent =
      n.kind === 'input'
        ? `forward, node ${k}: input ${n.op} = ${fmt(n.value)}`
        : `forward, node ${k}: ${n.op}(${ins.map((e) => fmt(g.nodes[e.from]!.value)).join(', ')}) = ${fmt(n.value)}; local partials ${ins.map((e) => fmt(e.partial)).join(', ')}`;
  } else {
    const outs = g.edges.filter((e) => e.from === k);
    outs.forEach((e) => graphBox.querySelector(`g.edge#n${k}-n${e.to}`)?.classList.add('active'));
    caption.textContent =
      k === g.output
        ? `backward, node ${k} (output): adjoint = 1`
        : `backward, node ${k} (${n.op}): adjoint = ${outs.map((e) => `${fmt(e.partial)} × ${fmt(g.nodes[e.to]!.adjoint)}`).join(' + ') || '0'} = ${fmt(n.adjoint)}`;
  }
}

stepSlider.addEventListener('input', () => paint(Number(stepSlider.value)));
let playing: ReturnType<typeof setInterval> | undefined;
playButton.addEventListener('click', () => {
  if (playing) {
    clearInterval(playing);
    playing = undefined;
    playButton.textContent = '▶ play';
    return;
  }
  playButton.textContent = '❚❚ pause';
  if (Number(stepSlider.value) >= Number(stepSlider.max)) stepSlider.value = '0';
  playing = setInterval(() => {
    const next = Number(stepSlider.value) + 1;
    stepSlider.value = String(next);
    paint(next);
    if (next >= Number(stepSlider.max)) playButton.click();
  }, 600);
});

// ---------------------------------------------------------------------------
// Cost as n grows
// ---------------------------------------------------------------------------

measureButton.addEventListener('click', async () => {
  if (!current) return;
  measureButton.disabled = true;
  const f = current.f;
  try {
    const rows = await measure(f, (n) => [normals(n)], [10, 100, 1000, 3000], {
      sampleMs: 25,
      samples: 3,
      onProgress: (msg, done, total) => (costStatus.textContent = `${done}/${total} ${msg}`),
    });
    const pts = (pick: (r: (typeof rows)[number]) => number) => rows.map((r) => [r.n, pick(r) / r.plainMs] as const);
    costPlot.innerHTML = logLogPlot(
      [
        { name: 'forward', color: '#2563eb', points: pts((r) => r.forwardMs) },
        { name: 'reverse', color: '#dc2626', points: pts((r) => r.reverseMs) },
        { name: 'finite diff.', color: '#6b7280', points: pts((r) => r.fdMs), dashed: true },
      ],
      { title: 'one gradient ÷ one evaluation of f', xLabel: 'n (length of the array)', yLabel: 'cost ÷ cost of f' },
    );
    costStatus.textContent = `measured in this tab (noisy): forward ${rows.map((r) => (r.forwardMs / r.plainMs).toFixed(1)).join(', ')}×f; reverse ${rows.map((r) => (r.reverseMs / r.plainMs).toFixed(1)).join(', ')}×f`;
  } catch (e) {
    costStatus.textContent = `Error: ${(e as Error).message}`;
  } finally {
    measureButton.disabled = false;
  }
});

void update();
