/**
 * A small self-contained SVG log-log line plot (the CLI's `compare` plot and
 * the playground's cost plot). No layout problem to solve here: axes at
 * powers of ten, one polyline per series.
 */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [x: number, y: number])[];
  readonly dashed?: boolean;
}

export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function logLogPlot(series: readonly Series[], opts: PlotOptions): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 420;
  const m = { left: 70, right: 150, top: 40, bottom: 55 };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y));
  if (pts.length === 0) throw new Error('logLogPlot: no positive finite points to plot');
  const lx = pts.map(([x]) => Math.log10(x));
  const ly = pts.map(([, y]) => Math.log10(y));
  let [x0, x1] = [Math.floor(Math.min(...lx)), Math.ceil(Math.max(...lx))];
  let [y0, y1] = [Math.floor(Math.min(...ly)), Math.ceil(Math.max(...ly))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const px = (x: number) => m.left + ((Math.log10(x) - x0) / (x1 - x0)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - ((Math.log10(y) - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2 - m.right / 2 + m.left / 2}" y="22" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`,
  ];
  const sup = (k: number) => `10<tspan dy="-6" font-size="9">${k}</tspan>`;
  for (let k = x0; k <= x1; k++) {
    const x = px(10 ** k);
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${H - m.bottom}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${x}" y="${H - m.bottom + 18}" text-anchor="middle">${sup(k)}</text>`);
  }
  for (let k = y0; k <= y1; k++) {
    const y = py(10 ** k);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${W - m.right}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${m.left - 8}" y="${y + 4}" text-anchor="end">${sup(k)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#6b7280"/>`);
  out.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const ok = s.points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y));
    const d = ok.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    out.push(`<g class="series" data-name="${esc(s.name)}">`);
    out.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const [x, y] of ok) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    out.push('</g>');
    const ly2 = m.top + 10 + i * 20;
    out.push(`<line x1="${W - m.right + 12}" y1="${ly2}" x2="${W - m.right + 36}" y2="${ly2}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${W - m.right + 42}" y="${ly2 + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
