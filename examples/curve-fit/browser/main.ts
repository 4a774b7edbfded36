/// <reference lib="dom" />
/**
 * The curve fit of ../fit.ts, run in the browser: fits the parameters, then
 * draws the data and the fitted curve and prints the fitted parameters and the
 * gradient of the loss. Built by Vite with the dualtape plugin (vite.config.ts);
 * test/browser.test.ts builds this page, opens it in Chromium and compares the
 * numbers on it with the same computation run in Node.
 *
 * Numbers are printed with String(x), which round-trips a float64 exactly.
 *
 * With `?throw` in the URL the page instead runs a differentiated function
 * that throws, and prints the stack: the build's source map takes its frames
 * back to this file.
 */
import { grad } from 'dualtape';
import { DEFAULTS, fitCurve, lossAndGrad, model, type FitResult, type Sample } from '../fit.ts';

const SVG = 'http://www.w3.org/2000/svg';
const NAMES = ['a', 'b', 'c'];

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

function svgEl(tag: string, attrs: Record<string, string | number>, parent?: Element): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  parent?.appendChild(el);
  return el;
}

function text(parent: Element, x: number, y: number, content: string, attrs: Record<string, string | number> = {}): void {
  svgEl('text', { x, y, 'font-size': 12, fill: '#5f6b7a', ...attrs }, parent).textContent = content;
}

/** About `count` round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

const tickLabel = (t: number) => String(Number(t.toPrecision(6)));

interface Frame {
  readonly sx: (x: number) => number;
  readonly sy: (y: number) => number;
}

/** Frame, grid lines, ticks and axis labels; returns the data -> pixel maps. */
function axes(
  svg: Element,
  box: { left: number; top: number; right: number; bottom: number },
  xr: [number, number],
  yr: [number, number],
  labels: { x?: string; y?: string; xTicks?: number[]; yTicks?: number[]; yTickLabel?: (t: number) => string },
): Frame {
  const sx = (x: number) => box.left + ((x - xr[0]) / (xr[1] - xr[0])) * (box.right - box.left);
  const sy = (y: number) => box.bottom - ((y - yr[0]) / (yr[1] - yr[0])) * (box.bottom - box.top);
  const grid = svgEl('g', { stroke: '#e6eaf0', 'stroke-width': 1 }, svg);
  for (const t of labels.xTicks ?? ticks(xr[0], xr[1], 6)) {
    svgEl('line', { x1: sx(t), x2: sx(t), y1: box.top, y2: box.bottom }, grid);
    text(svg, sx(t), box.bottom + 16, tickLabel(t), { 'text-anchor': 'middle' });
  }
  for (const t of labels.yTicks ?? ticks(yr[0], yr[1], 7)) {
    svgEl('line', { x1: box.left, x2: box.right, y1: sy(t), y2: sy(t) }, grid);
    text(svg, box.left - 6, sy(t) + 4, (labels.yTickLabel ?? tickLabel)(t), { 'text-anchor': 'end' });
  }
  svgEl('rect', {
    x: box.left, y: box.top, width: box.right - box.left, height: box.bottom - box.top,
    fill: 'none', stroke: '#9aa5b4', 'stroke-width': 1,
  }, svg);
  if (labels.x) text(svg, (box.left + box.right) / 2, box.bottom + 34, labels.x, { 'text-anchor': 'middle', fill: '#1d2433' });
  if (labels.y) {
    text(svg, 0, 0, labels.y, {
      'text-anchor': 'middle', fill: '#1d2433',
      transform: `translate(${box.left - 40} ${(box.top + box.bottom) / 2}) rotate(-90)`,
    });
  }
  return { sx, sy };
}

function polyline(points: [number, number][], attrs: Record<string, string | number>, parent: Element): void {
  const d = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(2)},${y.toFixed(2)}`).join('');
  svgEl('path', { d, fill: 'none', 'stroke-linejoin': 'round', ...attrs }, parent);
}

function drawFit(svg: Element, data: readonly Sample[], fitted: number[], truth: readonly number[]): void {
  const xs = data.map((s) => s.x);
  const xr: [number, number] = [Math.min(...xs), Math.max(...xs)];
  const curve = (p: readonly number[]) =>
    Array.from({ length: 161 }, (_, i): [number, number] => {
      const x = xr[0] + ((xr[1] - xr[0]) * i) / 160;
      return [x, model(p, x)];
    });
  const fitLine = curve(fitted);
  const truthLine = curve(truth);
  const ys = [...data.map((s) => s.y), ...fitLine.map(([, y]) => y), ...truthLine.map(([, y]) => y)];
  const pad = 0.06 * (Math.max(...ys) - Math.min(...ys));
  const yr: [number, number] = [Math.min(...ys) - pad, Math.max(...ys) + pad];
  const { sx, sy } = axes(svg, { left: 56, top: 14, right: 646, bottom: 490 }, xr, yr, { x: 'x', y: 'y' });
  const toPx = (pts: [number, number][]) => pts.map(([x, y]): [number, number] => [sx(x), sy(y)]);

  polyline(toPx(truthLine), { stroke: '#8a94a3', 'stroke-width': 1.5, 'stroke-dasharray': '5 4' }, svg);
  polyline(toPx(fitLine), { stroke: '#e4572e', 'stroke-width': 2.5 }, svg);
  const dots = svgEl('g', { fill: '#2f6fb3', 'fill-opacity': 0.85, stroke: '#ffffff', 'stroke-width': 1 }, svg);
  for (const s of data) svgEl('circle', { cx: sx(s.x), cy: sy(s.y), r: 4.2 }, dots);

  // Legend, top right.
  const legend = svgEl('g', { transform: 'translate(420 26)' }, svg);
  svgEl('rect', { x: -10, y: -12, width: 226, height: 70, rx: 6, fill: '#ffffff', 'fill-opacity': 0.92, stroke: '#d8dee6' }, legend);
  svgEl('circle', { cx: 10, cy: 0, r: 4.2, fill: '#2f6fb3' }, legend);
  text(legend, 26, 4, `data (${data.length} noisy samples)`, { fill: '#1d2433' });
  svgEl('line', { x1: 0, x2: 20, y1: 22, y2: 22, stroke: '#e4572e', 'stroke-width': 2.5 }, legend);
  text(legend, 26, 26, 'fitted curve', { fill: '#1d2433' });
  svgEl('line', { x1: 0, x2: 20, y1: 44, y2: 44, stroke: '#8a94a3', 'stroke-width': 1.5, 'stroke-dasharray': '5 4' }, legend);
  text(legend, 26, 48, 'curve the data came from', { fill: '#1d2433' });
}

function drawLoss(svg: Element, history: [number, number][]): void {
  const logs = history.map(([, l]) => Math.log10(l));
  const lo = Math.floor(Math.min(...logs));
  const hi = Math.ceil(Math.max(...logs));
  const steps = history[history.length - 1]![0];
  const yTicks = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  const { sx, sy } = axes(svg, { left: 46, top: 8, right: 284, bottom: 88 }, [0, steps], [lo, hi], {
    xTicks: ticks(0, steps, 4),
    yTicks,
    yTickLabel: (t) => `1e${t}`,
  });
  text(svg, 165, 124, 'step', { 'text-anchor': 'middle', fill: '#1d2433' });
  polyline(history.map(([s, l]) => [sx(s), sy(Math.log10(l))]), { stroke: '#e4572e', 'stroke-width': 2 }, svg);
}

/** Shortest text that reads back as the same float64; exponent form for tiny values. */
const num = (v: number) => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v));
const lines = (names: string[], values: number[]) => values.map((v, i) => `${names[i]} = ${num(v)}`).join('\n');

function show(result: FitResult, startGradient: number[], history: [number, number][], ms: number): void {
  drawFit($('plot'), result.data, result.params, DEFAULTS.truth);
  drawLoss($('loss-plot'), history);
  $('params').textContent = lines(NAMES, result.params);
  $('truth').textContent = `The data was generated with a = ${DEFAULTS.truth[0]}, b = ${DEFAULTS.truth[1]}, c = ${DEFAULTS.truth[2]} plus noise of σ = ${DEFAULTS.noise}.`;
  const partials = NAMES.map((n) => `∂L/∂${n}`);
  $('grad').textContent = lines(partials, result.gradient);
  $('start').textContent = `at the starting point ${NAMES.map((n, i) => `${n} = ${DEFAULTS.start[i]}`).join(', ')}`;
  $('grad-start').textContent = lines(partials, startGradient);
  $('loss').textContent = `start = ${history[0]![1].toPrecision(6)}\nfinal = ${num(result.loss)}`;
  $('status').textContent = `Done: ${result.steps} gradient steps in ${ms.toFixed(0)} ms.`;
  document.body.dataset['status'] = 'done';
}

/** `?throw`: an error thrown inside a differentiated function; its stack is printed. */
function throwDemo(): void {
  function explode(p: number[]): number {
    const y = p[0]! * p[1]!;
    if (y > 0) throw new Error('thrown inside a differentiated function');
    return y;
  }
  try {
    grad(explode)([1, 2]);
    $('error').textContent = 'no error';
  } catch (e) {
    $('error').textContent = e instanceof Error ? (e.stack ?? String(e)) : String(e);
  }
  $('status').textContent = 'Thrown on purpose (?throw); the stack is below.';
  document.body.dataset['status'] = 'thrown';
}

function run(): void {
  const t0 = performance.now();
  const history: [number, number][] = [];
  const result = fitCurve({ onProgress: (step, loss) => history.push([step, loss]), every: 5 });
  const ms = performance.now() - t0;
  const start = [...DEFAULTS.start];
  const [, startGradient] = lossAndGrad(start, result.data);
  show(result, startGradient, history, ms);
}

try {
  if (new URLSearchParams(location.search).has('throw')) throwDemo();
  else run();
} catch (e) {
  document.body.dataset['status'] = 'error';
  $('status').textContent = `Failed: ${e instanceof Error ? e.message : String(e)}`;
  console.error(e);
}
