/**
 * The published package, as a user gets it: `npm pack` of this repository
 * (dist/ must be built: `npm test` builds first), checked by the ecosystem's
 * tools (publint, @arethetypeswrong/cli, ESM profile: CommonJS `require` is
 * not offered), then installed into a new project in a temporary folder
 * (from the tarball and the npm cache) where `tsc --strict` must pass with
 * and without skipLibCheck and `node --import dualtape/register` must run a
 * gradient.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};

let work: string;
let tarball: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'dualtape-package-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
  const [info] = JSON.parse(out) as { filename: string }[];
  tarball = join(work, info!.filename);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('publint finds nothing to report', async () => {
    const { messages, pkg: manifest } = await publint({
      // With a tarball, pkgDir is the folder inside it.
      pkgDir: 'package',
      level: 'suggestion',
      pack: { tarball: new Uint8Array(readFileSync(tarball)).buffer },
    });
    expect(messages.map((m) => formatMessage(m, manifest))).toEqual([]);
  });

  it('@arethetypeswrong/cli finds no problem for ESM users (node16 from ESM, bundler, node10 types)', () => {
    let out: string;
    try {
      out = execFileSync(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'json'], { encoding: 'utf8' });
    } catch (e) {
      // attw exits 1 when it finds problems; its JSON report is on stdout either way.
      out = (e as { stdout: string }).stdout;
    }
    const report = JSON.parse(out) as { analysis: { problems: { kind: string; entrypoint: string; resolutionKind: string }[] } };
    const problems = report.analysis.problems.filter((p) => p.resolutionKind !== 'node16-cjs');
    expect(problems).toEqual([]);
  }, 120_000);

  it('ships LICENSE and source maps that carry their sources', () => {
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(list).toContain('package/LICENSE');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/MIT License[\s\S]*2026 dualtape contributors/);
    const maps = list.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const f of maps) {
      const map = JSON.parse(readFileSync(join(root, f.replace(/^package\//, '')), 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      expect(map.sourcesContent?.length, f).toBe(map.sources.length);
      expect(map.sourcesContent!.every((s) => typeof s === 'string' && s.length > 0), f).toBe(true);
    }
  });
});

describe('installed into a new project', () => {
  let app: string;

  beforeAll(() => {
    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'dualtape-user', version: '1.0.0', private: true, type: 'module' }, null, 2),
    );
    // The tarball plus what a Vite user has; versions as this repository uses them, so the npm cache has them.
    execFileSync(
      'npm',
      [
        'install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error',
        tarball, `vite@${pkg.devDependencies.vite}`, `@types/node@${pkg.devDependencies['@types/node']}`,
      ],
      { cwd: app, encoding: 'utf8', stdio: 'pipe' },
    );
    writeFileSync(
      join(app, 'main.ts'),
      [
        "import { grad, jacobian, hessian, compareModes, type GradOf } from 'dualtape';",
        '',
        'export function loss(w: number[], x: number): number {',
        '  return Math.sin(w[0]! * x) + w[1]! * w[1]!;',
        '}',
        'const g: GradOf<number[]> = grad(loss, { argnums: 0 })([0.5, 2], 3);',
        'const j: number[][] = jacobian((v: number[]) => [v[0]! * v[1]!])([2, 3]);',
        'const h: number[][] = hessian(loss, { argnums: 0 })([0.5, 2], 3);',
        'const c: number = compareModes(loss, [[0.5, 2], 3], { argnums: 0, samples: 1, sampleMs: 1 }).inputs;',
        'console.log(JSON.stringify({ g, j, h, c }));',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'vite.config.ts'),
      [
        "import { defineConfig } from 'vite';",
        "import dualtape, { type DualtapeBundlerOptions } from 'dualtape/vite';",
        '',
        'const options: DualtapeBundlerOptions = { include: /src\\//, fastPath: true };',
        'export default defineConfig({ plugins: [dualtape(options)] });',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'babel.ts'),
      [
        "import dualtapeBabel, { type DualtapeBabelOptions } from 'dualtape/babel';",
        '',
        'const options: DualtapeBabelOptions = { fastPath: true };',
        'export const plugins = [[dualtapeBabel, options]];',
        '',
      ].join('\n'),
    );
  }, 300_000);

  const tsconfig = (skipLibCheck: boolean) => ({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck,
      types: ['node'],
      allowImportingTsExtensions: true,
    },
    include: ['main.ts', 'vite.config.ts', 'babel.ts'],
  });

  for (const skipLibCheck of [true, false]) {
    it(`tsc --strict passes with skipLibCheck: ${skipLibCheck}`, () => {
      const config = join(app, `tsconfig.${skipLibCheck}.json`);
      writeFileSync(config, JSON.stringify(tsconfig(skipLibCheck), null, 2));
      let output = '';
      try {
        execFileSync(bin('tsc'), ['-p', config], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
      } catch (e) {
        output = String((e as { stdout: string }).stdout) + String((e as { stderr: string }).stderr);
      }
      expect(output).toBe('');
    }, 120_000);
  }

  it('node --import dualtape/register runs a gradient', () => {
    const out = execFileSync(process.execPath, ['--import', 'dualtape/register', 'main.ts'], { cwd: app, encoding: 'utf8' });
    const { g, j, h, c } = JSON.parse(out) as { g: number[]; j: number[][]; h: number[][]; c: number };
    // By hand: d/dw0 sin(3 w0) = 3 cos(1.5), d/dw1 w1² = 4; the Hessian is diag(-9 sin(1.5), 2).
    expect(g[0]).toBeCloseTo(3 * Math.cos(1.5), 12);
    expect(g[1]).toBe(4);
    expect(j).toEqual([[3, 2]]);
    expect(h[0]![0]).toBeCloseTo(-9 * Math.sin(1.5), 12);
    expect(h[0]![1]).toBe(0);
    expect(h[1]![1]).toBe(2);
    expect(c).toBe(2);
  }, 60_000);

  it('a stack trace through the runtime points at TypeScript files the package ships', () => {
    // grad of a function that returns a string: a TypeError thrown inside dualtape's runtime.
    writeFileSync(
      join(app, 'throws.ts'),
      "import { grad } from 'dualtape';\nconst label = (x: number) => `x = ${x}`;\ngrad(label as never)(1);\n",
    );
    const r = spawnSync(process.execPath, ['--enable-source-maps', '--import', 'dualtape/register', 'throws.ts'], { cwd: app, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    const frames = [...r.stderr.matchAll(/(\/[^\s()]*node_modules\/dualtape\/[^\s():]+):\d+:\d+/g)].map((m) => m[1]!);
    const ts = frames.filter((f) => f.endsWith('.ts'));
    expect(ts.length, r.stderr).toBeGreaterThan(0);
    for (const f of ts) expect(existsSync(f), f).toBe(true);
  }, 60_000);

  it('the installed package has no source map pointing at a missing file without its content', () => {
    const dist = join(app, 'node_modules', 'dualtape', 'dist');
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    const maps = walk(dist).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const f of maps) {
      const map = JSON.parse(readFileSync(f, 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      map.sources.forEach((s, k) => {
        expect(existsSync(resolve(dirname(f), s)) || typeof map.sourcesContent?.[k] === 'string', `${f}: ${s}`).toBe(true);
      });
    }
  });
});
