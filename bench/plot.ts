/**
 * A log-log SVG plot, written by hand: time of one gradient against n for one
 * workload, one line per method, fitted slopes in the legend.
 */
import type { CellResult, MethodId } from './harness.ts';
import { METHOD_ORDER, msOf, slopeText, type Slope } from './report.ts';

const STYLE: Record<MethodId, { color: string; marker: 'circle' | 'square' | 'diamond' | 'triangle'; dash?: string }> = {
  plain: { color: '#555555', marker: 'circle', dash: '5 4' },
  hand: { color: '#2ca02c', marker: 'square' },
  reverse: { color: '#d62728', marker: 'circle' },
  tape: { color: '#d62728', marker: 'square', dash: '2 3' },
  forward: { color: '#ff7f0e', marker: 'triangle' },
  fd: { color: '#9467bd', marker: 'diamond' },
  jax: { color: '#1f77b4', marker: 'square' },
  'tfjs-cpu': { color: '#8c564b', marker: 'triangle' },
  'tfjs-wasm': { color: '#e377c2', marker: 'diamond' },
};

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (x: number) => (Math.round(x * 10) / 10).toString();

const SUPERSCRIPT: Record<string, string> = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
const sup = (e: number) => (e === 1 ? '' : String(e).replace(/./g, (c) => SUPERSCRIPT[c] ?? c));
const power10 = (e: number) => (e >= 0 && e <= 3 ? String(10 ** e) : `10${sup(e)}`);

/** A decade of milliseconds as a time label: 1 µs, 10 µs, …, 1 s, 10 s. */
function timeLabel(e: number): string {
  if (e < -3) return `${power10(e + 6)} ns`;
  if (e < 0) return `${10 ** (e + 3)} µs`;
  if (e < 3) return `${10 ** e} ms`;
  return `${power10(e - 3)} s`;
}

function marker(kind: string, x: number, y: number, color: string): string {
  const r = 4;
  const common = `fill="${color}" stroke="white" stroke-width="1"`;
  switch (kind) {
    case 'square':
      return `<rect x="${num(x - r)}" y="${num(y - r)}" width="${2 * r}" height="${2 * r}" ${common}/>`;
    case 'diamond':
      return `<path d="M${num(x)} ${num(y - r - 1)} L${num(x + r + 1)} ${num(y)} L${num(x)} ${num(y + r + 1)} L${num(x - r - 1)} ${num(y)} Z" ${common}/>`;
    case 'triangle':
      return `<path d="M${num(x)} ${num(y - r - 1)} L${num(x + r + 1)} ${num(y + r)} L${num(x - r - 1)} ${num(y + r)} Z" ${common}/>`;
    default:
      return `<circle cx="${num(x)}" cy="${num(y)}" r="${r}" ${common}/>`;
  }
}

export interface PlotOptions {
  title: string;
  subtitle: string;
  /** Labels of the methods (by id), for the legend. */
  labels: Partial<Record<MethodId, string>>;
}

export function logLogPlot(cells: readonly CellResult[], fitted: readonly Slope[], opts: PlotOptions): string {
  const W = 820;
  const H = 500;
  const left = 78;
  const right = 250;
  const top = 62;
  const bottom = 58;
  const pw = W - left - right;
  const ph = H - top - bottom;

  const series = METHOD_ORDER.map(({ id, short }) => ({
    id,
    label: opts.labels[id] ?? short,
    points: cells
      .map((c) => ({ n: c.n, ms: msOf(c, id) }))
      .filter((p): p is { n: number; ms: number } => p.ms !== undefined && p.ms > 0)
      .sort((a, b) => a.n - b.n),
    skipped: cells.filter((c) => c.methods.some((m) => m.id === id && m.status !== 'ok')).map((c) => c.n),
  })).filter((s) => s.points.length > 0 || s.skipped.length > 0);

  const ns = cells.map((c) => c.n);
  const all = series.flatMap((s) => s.points.map((p) => p.ms));
  const x0 = Math.floor(Math.log10(Math.min(...ns)));
  const x1 = Math.max(x0 + 1, Math.ceil(Math.log10(Math.max(...ns))));
  const y0 = Math.floor(Math.log10(Math.min(...all)));
  const y1 = Math.max(y0 + 1, Math.ceil(Math.log10(Math.max(...all))));
  const sx = (n: number) => left + ((Math.log10(n) - x0) / (x1 - x0)) * pw;
  const sy = (ms: number) => top + ph - ((Math.log10(ms) - y0) / (y1 - y0)) * ph;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="bold">${escape(opts.title)}</text>`,
    `<text x="${left}" y="43" fill="#555">${escape(opts.subtitle)}</text>`,
  );

  // Grid and ticks: decades (labelled) and 2..9 within each decade.
  for (let e = x0; e <= x1; e++) {
    for (let k = 1; k <= 9; k++) {
      const v = k * 10 ** e;
      if (Math.log10(v) > x1 + 1e-9) break;
      const x = sx(v);
      const major = k === 1;
      out.push(`<line x1="${num(x)}" y1="${top}" x2="${num(x)}" y2="${top + ph}" stroke="${major ? '#d0d0d0' : '#eeeeee'}"/>`);
      out.push(`<line x1="${num(x)}" y1="${top + ph}" x2="${num(x)}" y2="${top + ph + (major ? 6 : 3)}" stroke="#333"/>`);
      if (major) out.push(`<text x="${num(x)}" y="${top + ph + 20}" text-anchor="middle">${e === 0 ? '1' : `10${sup(e)}`}</text>`);
    }
  }
  for (let e = y0; e <= y1; e++) {
    for (let k = 1; k <= 9; k++) {
      const v = k * 10 ** e;
      if (Math.log10(v) > y1 + 1e-9) break;
      const y = sy(v);
      const major = k === 1;
      out.push(`<line x1="${left}" y1="${num(y)}" x2="${left + pw}" y2="${num(y)}" stroke="${major ? '#d0d0d0' : '#eeeeee'}"/>`);
      out.push(`<line x1="${left - (major ? 6 : 3)}" y1="${num(y)}" x2="${left}" y2="${num(y)}" stroke="#333"/>`);
      if (major) out.push(`<text x="${left - 9}" y="${num(y + 4)}" text-anchor="end">${timeLabel(e)}</text>`);
    }
  }
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${left + pw / 2}" y="${H - 14}" text-anchor="middle" font-size="13">n (number of parameters)</text>`);
  out.push(
    `<text transform="translate(18 ${top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">time per gradient (plain f: per evaluation)</text>`,
  );

  // One line per method.
  for (const s of series) {
    const st = STYLE[s.id];
    if (s.points.length > 1) {
      const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(sx(p.n))} ${num(sy(p.ms))}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${st.color}" stroke-width="2"${st.dash ? ` stroke-dasharray="${st.dash}"` : ''}/>`);
    }
    for (const p of s.points) out.push(marker(st.marker, sx(p.n), sy(p.ms), st.color));
  }

  // Legend with fitted slopes.
  const lx = left + pw + 18;
  let ly = top + 8;
  out.push(`<text x="${lx}" y="${ly}" font-weight="bold">method (log-log slope)</text>`);
  ly += 20;
  for (const s of series) {
    const st = STYLE[s.id];
    const fit = fitted.find((f) => f.method === s.id);
    const note = fit ? `slope ${slopeText(fit.slope)}` : s.points.length === 0 ? 'not run' : 'one point';
    const missing = s.skipped.length > 0 && s.points.length > 0 ? `, skipped n ≥ ${Math.min(...s.skipped)}` : '';
    out.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 26}" y2="${ly - 4}" stroke="${st.color}" stroke-width="2"${st.dash ? ` stroke-dasharray="${st.dash}"` : ''}/>`,
      marker(st.marker, lx + 13, ly - 4, st.color),
      `<text x="${lx + 34}" y="${ly}">${escape(s.label)}</text>`,
      `<text x="${lx + 34}" y="${ly + 14}" fill="#555" font-size="11">${escape(note + missing)}</text>`,
    );
    ly += 36;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
