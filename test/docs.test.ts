/**
 * Docs that stay true:
 * - every table of measured figures is what bench/docs-tables.ts makes from
 *   the benchmarks' result files (edit one without the other and this fails);
 * - the performance and bundler pages hold no table outside those blocks, and
 *   no page (README.md, docs/*.md) holds a hand-written table row with a
 *   measured figure (a number with x, ×, ms, µs, ns, KiB, kB or frames);
 * - every benchmark that writes a result file rewrites the docs' tables after it;
 * - the README's example prints what the README says it prints;
 * - every relative link in README.md and docs/ points at a file that exists
 *   (pages other branches bring are listed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { docFiles, renderTables, rewrite } from '../bench/docs-tables.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (file: string) => readFileSync(file, 'utf8');

describe('generated tables', () => {
  const tables = renderTables();

  it('every result file has its tables, and each table has a place in the docs', () => {
    expect([...tables.keys()].sort()).toEqual(
      [
        'chunk',
        'crossover',
        'crossover-workloads',
        'performance-errors',
        'performance-ratios',
        'performance-slopes',
        'performance-tape',
        'plain-call',
        'size',
        'stack-depth',
        'tiers',
        'tiers-targets',
        'transform',
      ].sort(),
    );
    const placed = new Set(docFiles().flatMap((f) => rewrite(read(f), tables).names));
    expect([...placed].sort()).toEqual([...tables.keys()].sort());
  });

  for (const file of docFiles()) {
    it(`${relative(root, file)}: the tables agree with bench/*.json (npm run docs:tables rewrites them)`, () => {
      const text = read(file);
      expect(rewrite(text, tables).text).toBe(text);
    });
  }

  it('each table sits on the page its benchmark documents', () => {
    const home: Record<string, string> = {
      tiers: 'docs/adjoint.md',
      'tiers-targets': 'docs/adjoint.md',
      crossover: 'docs/forward-mode.md',
      'crossover-workloads': 'docs/forward-mode.md',
      'plain-call': 'docs/plugin-hardening.md',
      'stack-depth': 'docs/plugin-hardening.md',
    };
    for (const [name, page] of Object.entries(home)) {
      expect(rewrite(read(join(root, page)), tables).names, page).toContain(name);
    }
  });

  it('each result file says when it was measured', () => {
    for (const file of ['results.json', 'chunk.json', 'size.json', 'tiers.json', 'plain-call.json', 'stack-depth.json']) {
      const { date } = JSON.parse(read(join(root, 'bench', file))) as { date: string };
      expect(Number.isNaN(Date.parse(date)), file).toBe(false);
    }
    const transform = JSON.parse(read(join(root, 'bench/transform.json'))) as { results: { date: string }[] };
    expect(transform.results.length).toBeGreaterThan(0);
    for (const r of transform.results) expect(Number.isNaN(Date.parse(r.date))).toBe(false);
    const crossover = JSON.parse(read(join(root, 'bench/crossover.json'))) as { meta: { date: string } };
    expect(Number.isNaN(Date.parse(crossover.meta.date))).toBe(false);
  });

  it('bench/tiers.json covers every workload at every size of the scale it names', async () => {
    const { workloads } = await import('../bench/cases.ts');
    const t = JSON.parse(read(join(root, 'bench/tiers.json'))) as { sizes: 'full' | 'quick' | 'smoke'; rows: { workload: string; n: number }[] };
    expect(['full', 'quick', 'smoke']).toContain(t.sizes);
    const expected = workloads.flatMap((w) => w.sizes[t.sizes].map((key) => `${w.id} ${w.make(key).n}`));
    expect(t.rows.map((r) => `${r.workload} ${r.n}`)).toEqual(expected);
  });

  for (const bench of ['run', 'chunk', 'transform', 'size', 'tiers', 'crossover', 'plain-call', 'stack-depth']) {
    it(`bench/${bench}.ts rewrites the docs' tables after writing its result file`, () => {
      expect(read(join(root, 'bench', `${bench}.ts`))).toMatch(/updateDocs\(\)/);
    });
  }

  // A table row outside the generated blocks with a number followed by a unit of measurement.
  const measured = /\|[^|\n]*\d(?:[\d.,  ]*\d)?\s?(?:x|×|ms|µs|ns|KiB|kB|frames)(?![\w-])[^|\n]*\|/;
  for (const file of docFiles()) {
    it(`${relative(root, file)}: no hand-written table of measured figures`, () => {
      let inside = false;
      const stray: string[] = [];
      for (const line of read(file).split('\n')) {
        if (/^<!-- table:[\w-]+ /.test(line)) inside = true;
        else if (/^<!-- \/table:/.test(line)) inside = false;
        else if (!inside && /^\s*\|/.test(line) && measured.test(line)) stray.push(line);
      }
      expect(stray).toEqual([]);
    });
  }

  for (const page of ['docs/performance.md', 'docs/bundlers.md']) {
    it(`${page}: every table in it is a generated one`, () => {
      let inside = false;
      const stray: string[] = [];
      for (const line of read(join(root, page)).split('\n')) {
        if (/^<!-- table:[\w-]+ /.test(line)) inside = true;
        else if (/^<!-- \/table:/.test(line)) inside = false;
        else if (!inside && line.startsWith('|')) stray.push(line);
      }
      expect(stray).toEqual([]);
    });
  }
});

describe('README example', () => {
  it('prints what the README shows', () => {
    const readme = read(join(root, 'README.md'));
    const m = /<!-- example:[^\n]*-->\n```ts\n([\s\S]*?)```\n\nprints\n\n```text\n([\s\S]*?)```/.exec(readme);
    expect(m, 'the README has an example block followed by its output').not.toBeNull();
    const [, code, output] = m!;
    const dir = join(root, '.tmp', `readme-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, 'example.ts'), code!);
      const r = spawnSync(process.execPath, ['--import', 'dualtape/register', join(dir, 'example.ts')], { cwd: root, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('links', () => {
  // Generated output (npm run docs:api), not committed.
  const elsewhere = new Set<string>();
  for (const file of docFiles()) {
    it(`${relative(root, file)}: relative links point at files that exist`, () => {
      const broken: string[] = [];
      // Code (fenced blocks and `inline` spans) holds no links: `xs['filter'](cb)` is not one.
      const prose = read(file).replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
      for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target!)) continue;
        const path = target!.split('#')[0]!;
        const abs = resolve(dirname(file), path);
        if (elsewhere.has(path.replace(/^docs\//, '')) || abs.startsWith(join(root, 'docs', 'api-reference'))) continue;
        if (!existsSync(abs)) broken.push(target!);
      }
      expect(broken).toEqual([]);
    });
  }
});
