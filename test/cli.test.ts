/**
 * The command line end to end: the built CLI (dist/cli/index.js, `npm run
 * build` first, as `npm test` does) run as a user's project runs it, through
 * node_modules/.bin/dualtape, on modules written to a temporary folder. Its
 * outputs are checked against values computed here independently (hand
 * derivatives, plain arithmetic), its conventions (exit codes, stderr) too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
let dir: string;
let bin: string;

beforeAll(() => {
  if (!existsSync(join(root, pkg.bin['dualtape']!))) throw new Error('dist/cli/index.js is missing: run npm run build first');
  dir = mkdtempSync(join(tmpdir(), 'dualtape-cli-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', dependencies: { dualtape: '*' } }));
  // What `npm install dualtape` leaves: the package, and its bin linked into node_modules/.bin.
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(root, join(dir, 'node_modules', 'dualtape'), 'dir');
  bin = join(dir, 'node_modules', '.bin', 'dualtape');
  symlinkSync(join('..', 'dualtape', pkg.bin['dualtape']!), bin);
  chmodSync(join(root, pkg.bin['dualtape']!), 0o755); // as npm's bin linking does (tsc writes it without the x bit)
  writeFileSync(
    join(dir, 'model.ts'),
    [
      'export function sumsq(x: number[]): number {',
      '  let s = 0;',
      '  for (let i = 0; i < x.length; i++) s += Math.sin(x[i]!) * x[i]!;',
      '  return s;',
      '}',
      'export const chain = (x: number, y: number): number => Math.sin(x * y) + x;',
      'export function loss(p: { w: number[]; b: number }): number {',
      '  let s = p.b * p.b;',
      '  for (const w of p.w) s += (w - 1) ** 2;',
      '  return s;',
      '}',
      'export function broken(x: number): number {',
      "  throw new Error('model failed at ' + x);",
      '}',
      'export const notAFunction = 3;',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'inputs.ts'), 'export const makeParams = (n: number) => [{ w: Array.from({ length: n }, (_, i) => i / n), b: 0.5 }];\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dualtape CLI', () => {
  it('--help and --version', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: dualtape/);
    expect(help.stdout).toMatch(/compare/);
    expect(help.stdout).toMatch(/graph/);
    const graphHelp = run('graph', '--help');
    expect(graphHelp.status).toBe(0);
    expect(graphHelp.stdout).toMatch(/--at <json>/);
    expect(graphHelp.stdout).toMatch(/svg.*dot.*mermaid.*json/);
    const version = run('--version');
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('graph --format json: values and adjoints of sin(x*y) + x', () => {
    const r = run('graph', 'model.ts#chain', '--at', '[0.5, 3]', '--format', 'json');
    expect(r.status, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout) as { value: number; nodes: { op: string; adjoint: number; value: number }[]; inputs: number[] };
    expect(g.value).toBe(Math.sin(1.5) + 0.5);
    expect(g.nodes.map((n) => n.op)).toEqual(['x', 'y', 'mul', 'sin', 'add']);
    expect(g.nodes[0]!.adjoint).toBeCloseTo(Math.cos(1.5) * 3 + 1, 14);
    expect(g.nodes[1]!.adjoint).toBeCloseTo(Math.cos(1.5) * 0.5, 14);
  });

  it('graph -o file.svg / .dot / .mmd: format from the extension', () => {
    const svg = run('graph', 'model.ts#loss', '--at', '[{"w": [0.5, 2], "b": 0.25}]', '-o', 'loss.svg');
    expect(svg.status, svg.stderr).toBe(0);
    expect(svg.stdout).toBe('');
    expect(svg.stderr).toMatch(/nodes.*written to loss\.svg/);
    const text = readFileSync(join(dir, 'loss.svg'), 'utf8');
    expect(text).toMatch(/<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(text).toContain('p.w[0]');
    expect(text).toContain('p.b');
    // ∂/∂b of b² + Σ (w − 1)² at b = 0.25 is 0.5: shown on the input node.
    expect(text).toMatch(/p\.b<\/text>\s*<text[^>]*>value 0\.25<\/text>\s*<text[^>]*>adjoint 0\.5<\/text>/);
    expect(run('graph', 'model.ts#chain', '--at', '[1, 2]', '-o', 'chain.dot').status).toBe(0);
    expect(readFileSync(join(dir, 'chain.dot'), 'utf8')).toMatch(/^digraph dualtape \{/);
    const mmd = run('graph', 'model.ts#chain', '--at', '[1, 2]', '--format', 'mermaid', '--level', 'statement');
    expect(mmd.status).toBe(0);
    expect(mmd.stdout).toMatch(/^flowchart TB\n/);
    expect(mmd.stdout).toContain('expr');
  });

  it('compare --json: sizes, ratios, gradients that agree, plot written', () => {
    const r = run('compare', 'model.ts#sumsq', '--n', '64,8', '--sample-ms', '5', '--json', '--plot', 'cmp.svg');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { rows: { n: number; plainMs: number; forwardMs: number; reverseMs: number; fdMs: number; chunk: number; passes: number; modeDifference: number; fdDifference: number }[] };
    expect(out.rows.map((row) => row.n)).toEqual([8, 64]);
    for (const row of out.rows) {
      for (const t of [row.plainMs, row.forwardMs, row.reverseMs, row.fdMs]) expect(t).toBeGreaterThan(0);
      expect(row.modeDifference).toBeLessThan(1e-12);
      expect(row.fdDifference).toBeLessThan(1e-6);
    }
    expect(out.rows[1]!.chunk).toBe(32);
    expect(out.rows[1]!.passes).toBe(2);
    expect(r.stderr).toMatch(/\[0\/4\] n = 8: timing f, reverse mode, forward mode and finite differences in turn/);
    const plot = readFileSync(join(dir, 'cmp.svg'), 'utf8');
    expect(plot.match(/<g class="series"/g)?.length).toBe(3);
    expect(plot).toContain('data-name="reverse"');
  });

  it('compare prints a table with the crossover line; --input makes the arguments', () => {
    const r = run('compare', 'model.ts#loss', '--input', 'inputs.ts#makeParams', '--n', '4,16', '--sample-ms', '5', '--no-plot');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const header = lines.find((l) => l.trim().startsWith('n '))!;
    expect(header).toMatch(/forward ×f.*reverse ×f.*finite diff ×f/);
    // makeParams(n) has n weights and a bias: n + 1 inputs.
    expect(lines.some((l) => /^\s*5\s/.test(l))).toBe(true);
    expect(lines.some((l) => /^\s*17\s/.test(l))).toBe(true);
    expect(r.stdout).toMatch(/Reverse mode becomes cheaper|cheaper at every n measured|Neither mode/);
    expect(existsSync(join(dir, 'dualtape-compare.svg'))).toBe(false);
  });

  it('runs from outside the project too: the module gets the CLI’s own dualtape', () => {
    const alone = mkdtempSync(join(tmpdir(), 'dualtape-cli-alone-'));
    try {
      writeFileSync(join(alone, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(join(alone, 'm.ts'), "import { grad } from 'dualtape';\nexport const h = (x: number): number => x * grad((y: number) => y * y)(x);\n");
      const r = spawnSync(process.execPath, [join(root, pkg.bin['dualtape']!), 'graph', 'm.ts#h', '--at', '[3]', '--format', 'json'], { cwd: alone, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const g = JSON.parse(r.stdout) as { value: number; nodes: { adjoint: number }[] };
      expect(g.value).toBe(18); // x · 2x
      expect(g.nodes[0]!.adjoint).toBe(12); // 4x
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
  });

  it('errors: usage errors exit 2, failures exit 1, messages on stderr only', () => {
    const missing = run('graph', 'model.ts#nope', '--at', '[1]');
    expect(missing.status).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/no exported function "nope"; its exported functions are: broken, chain, loss, sumsq/);
    const notFn = run('graph', 'model.ts#notAFunction', '--at', '[1]');
    expect(notFn.status).toBe(2);
    const badJson = run('graph', 'model.ts#chain', '--at', '[1,');
    expect(badJson.status).toBe(2);
    expect(badJson.stderr).toMatch(/--at is not valid JSON/);
    const notArray = run('graph', 'model.ts#chain', '--at', '1');
    expect(notArray.status).toBe(2);
    expect(notArray.stderr).toMatch(/--at must be a JSON array/);
    expect(run('graph', 'model.ts#chain').status).toBe(2); // --at is required
    expect(run('graph', 'model.ts#chain', '--at', '[1,2]', '--format', 'png').status).toBe(2);
    expect(run('compare', 'model.ts#sumsq', '--n', '10,abc').status).toBe(2);
    expect(run('frobnicate').status).toBe(2);
    const noFile = run('graph', 'nofile.ts#f', '--at', '[1]');
    expect(noFile.status).toBe(2);
    expect(noFile.stderr).toMatch(/cannot find module .*nofile\.ts/);
    const thrown = run('graph', 'model.ts#broken', '--at', '[7]');
    expect(thrown.status).toBe(1);
    expect(thrown.stderr).toMatch(/^dualtape: model failed at 7/);
    const tooBig = run('graph', 'model.ts#sumsq', '--at', `[${JSON.stringify(Array(100).fill(1))}]`, '--max-nodes', '50');
    expect(tooBig.status).toBe(1);
    expect(tooBig.stderr).toMatch(/graph stopped at 50 nodes/);
  });
});
