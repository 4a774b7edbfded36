/**
 * Docs that stay true:
 * - every table of measured figures is what bench/docs-tables.ts makes from
 *   the benchmarks' result files (edit one without the other and this fails);
 * - the performance and bundler pages hold no table outside those blocks;
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
      ['chunk', 'performance-errors', 'performance-ratios', 'performance-slopes', 'performance-tape', 'size', 'transform'].sort(),
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

  it('each result file says when it was measured', () => {
    for (const file of ['results.json', 'chunk.json', 'size.json']) {
      const { date } = JSON.parse(read(join(root, 'bench', file))) as { date: string };
      expect(Number.isNaN(Date.parse(date)), file).toBe(false);
    }
    const transform = JSON.parse(read(join(root, 'bench/transform.json'))) as { results: { date: string }[] };
    expect(transform.results.length).toBeGreaterThan(0);
    for (const r of transform.results) expect(Number.isNaN(Date.parse(r.date))).toBe(false);
  });

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
