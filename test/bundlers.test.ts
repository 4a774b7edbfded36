/**
 * dualtape in every build: the curve-fit example (examples/curve-fit/) built
 * by Vite (SSR build), Rollup, webpack and esbuild with the dualtape bundler
 * plugins, and run by `node --import dualtape/register`, prints the same fitted
 * parameters and gradient in every case, and that gradient is right.
 *
 * rollup-babel and webpack-babel are the plain-Babel route: dualtape/babel in
 * @rollup/plugin-babel's / babel-loader's options, no dualtape bundler plugin.
 *
 * The builds are the real user path: examples/curve-fit/build.mjs runs in a
 * child process, imports 'dualtape/vite' (…) by name, and the bundles resolve
 * 'dualtape' through package.json "exports" (the package refers to itself),
 * i.e. to dist/: `npm run build` first (`npm test` does). Each build writes to
 * a fresh temporary directory; the bundles run in Node from there.
 *
 * Also: a build error of the plugin surfaces as the bundler's error with the
 * plugin's message and code frame; a Jest project (test/jest-project/, babel-jest
 * + dualtape/babel) passes; a bundle that only uses `grad` carries none of the
 * runtime's other entry points (bench/size.ts).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBuildError, unpluginFactory, usesDualtape, type DualtapeBundlerOptions } from '../bundler/core.ts';
import { fitCurve, formatFit, handGradient, loss, type Sample } from '../examples/curve-fit/fit.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const BUNDLERS = ['vite', 'rollup', 'webpack', 'esbuild'] as const;
const genDir = join(repo, `test/.gen/bundlers-${process.pid}`);
const outRoot = mkdtempSync(join(tmpdir(), 'dualtape-bundlers-'));

function run(args: string[], options: { cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd: options.cwd ?? repo, encoding: 'utf8', timeout: 60_000 });
}
const output = (r: SpawnSyncReturns<string>) => `${r.stdout}\n${r.stderr}`;

/** Build `entry` with `bundler` into a fresh directory; returns the child's result and the bundle path. */
function build(bundler: string, entry: string) {
  const outDir = mkdtempSync(join(outRoot, `${bundler}-`));
  const result = run([join(repo, 'examples/curve-fit/build.mjs'), bundler, outDir, entry]);
  return { result, bundle: join(outDir, 'main.mjs') };
}

beforeAll(() => {
  for (const file of ['dist/runtime/index.js', ...BUNDLERS.map((b) => `dist/bundler/${b}.js`)]) {
    if (!existsSync(join(repo, file))) {
      throw new Error(`${file} is missing: run \`npm run build\` first (the builds import dualtape through its package exports)`);
    }
  }
  mkdirSync(genDir, { recursive: true });
});

afterAll(() => {
  rmSync(genDir, { recursive: true, force: true });
  rmSync(outRoot, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// Which modules the plugin compiles (bundler/core.ts, in process)
// ---------------------------------------------------------------------------

describe('the transform hook', () => {
  type Handler = (this: unknown, code: string, id: string) => Promise<{ code: string; map: unknown } | null>;
  const transform = (code: string, id: string, options?: DualtapeBundlerOptions) => {
    const hook = unpluginFactory(options, { framework: 'rollup', versions: {} }).transform as { handler: Handler };
    return hook.handler.call({}, code, id);
  };
  const USES = `import { grad } from 'dualtape';\nexport const g = grad((x: number) => x * x);\n`;

  it('recognizes modules that use dualtape', () => {
    const re = usesDualtape();
    expect(re.test(`import { grad } from 'dualtape';`)).toBe(true);
    expect(re.test(`import {\n  grad,\n} from "dualtape";`)).toBe(true);
    expect(re.test(`export { grad } from 'dualtape';`)).toBe(true);
    expect(re.test(`import * as dt from 'dualtape';`)).toBe(true);
    expect(re.test(`'use differentiable';\nexport const f = (x) => x;`)).toBe(true);
    expect(re.test(`function f(x) {\n  "use differentiable";\n  return x;\n}`)).toBe(true);
    expect(re.test(`import { add } from 'dualtape/ops';`)).toBe(false); // already compiled
    expect(re.test(`const s = "import { grad } from 'dualtape'";`)).toBe(false);
    expect(re.test(`console.log('use differentiable');`)).toBe(false);
    expect(re.test(`import x from 'dualtape-extra';`)).toBe(false);
    expect(usesDualtape('@me/ad').test(`import { grad } from '@me/ad';`)).toBe(true);
  });

  it('compiles them, with a source map, and leaves everything else alone', async () => {
    const out = await transform(USES, '/app/src/a.ts?v=1');
    expect(out?.code).toContain(`from "dualtape/ops"`);
    expect(out?.code).not.toContain(': number'); // types stripped
    expect(out?.map).toMatchObject({ sources: ['/app/src/a.ts'] });
    expect(await transform(USES.replace(': number', ''), '/app/src/a.mjs')).not.toBeNull();
    expect(await transform(USES, '/app/node_modules/lib/a.ts')).toBeNull();
    expect(await transform(USES, '/app/src/a.css')).toBeNull();
    expect(await transform('export const x: number = 1;\n', '/app/src/b.ts')).toBeNull();
    expect(await transform(USES, '/app/src/a.ts', { exclude: /\/src\// })).toBeNull();
    expect(await transform(USES, '/app/src/a.ts', { include: [/\/lib\//] })).toBeNull();
    expect(await transform(USES, '/app/lib/a.ts', { include: [/\/lib\//] })).not.toBeNull();
    // The runtime option: compiled code imports `${runtime}/ops`.
    const custom = await transform(USES.replace(`'dualtape'`, `'@me/ad'`), '/app/src/a.ts', { runtime: '@me/ad' });
    expect(custom?.code).toContain(`from "@me/ad/ops"`);
  });

  it('turns a Babel error into a build error: message, location, code frame, no Babel stack', async () => {
    const id = '/app/src/bad.ts';
    const error = await transform(`import { grad } from 'dualtape';\n\nexport const g = grad(async (x: number) => x);\n`, id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'DualtapeBuildError', code: 'DUALTAPE_BUILD_ERROR', plugin: 'dualtape', id, loc: { file: id, line: 3, column: 22 } });
    const { message, stack } = error as Error;
    expect(message).toMatch(/^\/app\/src\/bad\.ts:3:23: dualtape cannot differentiate an async function/);
    expect(message).toContain('> 3 | export const g = grad(async (x: number) => x);');
    expect(stack).not.toMatch(/\n\s+at /);
    // A syntax error: Babel's position suffix dropped (the location says it).
    const syntax = await transform(`import { grad } from 'dualtape';\nconst f = (x: number) => x * ;\n`, id).catch((e: unknown) => e);
    expect((syntax as Error).message).toMatch(/^\/app\/src\/bad\.ts:2:30: Unexpected token\n/);
    // Anything else (a crash inside the plugin) keeps its stack, for the bug report.
    const crash = new TypeError('boom');
    expect(toBuildError(crash, id)).toBe(crash);
  });
});

// ---------------------------------------------------------------------------
// The same numbers from every build
// ---------------------------------------------------------------------------

/** What examples/curve-fit/main.ts prints, computed here (vitest, plugin and runtime from source). */
const reference = fitCurve();
const expectedText = `curve-fit: ${reference.data.length} samples, ${reference.steps} steps\n${formatFit(reference)}\n`;

/** The gradient printed by a run (7 significant digits). */
function printedGradient(text: string): number[] {
  const line = /^gradient \[(.*)\]$/m.exec(text);
  if (!line) throw new Error(`no gradient line in:\n${text}`);
  return line[1]!.split(', ').map(Number);
}

function centralDifferences(f: (p: number[]) => number, p: readonly number[], h = 1e-6): number[] {
  return p.map((_, i) => {
    const up = [...p];
    const down = [...p];
    up[i] += h;
    down[i] -= h;
    return (f(up) - f(down)) / (2 * h);
  });
}

describe('the fitted parameters and gradient', () => {
  it('are right (here: hand-derived gradient, finite differences, near the minimum)', () => {
    const hand = handGradient(reference.params, reference.data);
    const fd = centralDifferences((p) => loss(p, reference.data as Sample[]), reference.params);
    reference.gradient.forEach((g, i) => {
      expect(Math.abs(g - hand[i]!)).toBeLessThan(1e-15);
      expect(Math.abs(g - fd[i]!)).toBeLessThan(1e-8);
    });
    // Close to the minimum: near the generating parameters [2.5, 1.3, 0.5], small gradient.
    expect(reference.params[0]).toBeCloseTo(2.45, 1);
    expect(reference.params[1]).toBeCloseTo(1.31, 1);
    expect(reference.params[2]).toBeCloseTo(0.52, 1);
    expect(Math.max(...reference.gradient.map(Math.abs))).toBeLessThan(1e-4);
    expect(Math.max(...reference.gradient.map(Math.abs))).toBeGreaterThan(1e-7); // not a trivial zero
  });

  it('node --import dualtape/register examples/curve-fit/main.ts', () => {
    const r = run(['--import', 'dualtape/register', 'examples/curve-fit/main.ts']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(expectedText);
  });

  it.each([...BUNDLERS, 'rollup-babel', 'webpack-babel'])('%s: a fresh build, run in Node, prints the same text', (bundler) => {
    const { result, bundle } = build(bundler, join(repo, 'examples/curve-fit/main.ts'));
    expect(output(result)).not.toMatch(/error|warn/i);
    expect(result.status).toBe(0);
    // The runtime is in the bundle: it runs from the temporary directory, outside the package.
    const r = run([bundle], { cwd: outRoot });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(expectedText);
    // And the printed gradient is the hand-derived one (to the 7 printed digits).
    const hand = handGradient(reference.params, reference.data);
    printedGradient(r.stdout).forEach((g, i) => expect(Math.abs(g - hand[i]!)).toBeLessThan(1e-6 * Math.abs(hand[i]!)));
  });
});

// ---------------------------------------------------------------------------
// Build errors: the plugin's message and code frame, from the bundler
// ---------------------------------------------------------------------------

describe('a construct dualtape cannot differentiate fails the build', () => {
  const source = [
    `import { grad } from 'dualtape';`,
    ``,
    `export const g = grad(async (x: number) => x);`,
    `console.log(g);`,
    ``,
  ].join('\n');

  it.each(BUNDLERS)('%s: with the plugin message and code frame, no stack from inside Babel', (bundler) => {
    const entry = join(genDir, `async-${bundler}.ts`);
    writeFileSync(entry, source);
    const { result } = build(bundler, entry);
    const text = output(result);
    expect(result.status, text).toBe(1);
    // The plugin's sentence, with the file and position…
    expect(text).toContain(`${entry}:3:23: dualtape cannot differentiate an async function`);
    expect(text).toContain('Await or collect the data first');
    // …and Babel's code frame pointing at the function.
    expect(text).toContain('> 3 | export const g = grad(async (x: number) => x);');
    expect(text).toMatch(/\n {4}\| {23}\^{22}\n/);
    // Not a crash report from inside Babel.
    expect(text).not.toMatch(/@babel[\\/]core|buildCodeFrameError|at File\./);
    expect(text).not.toContain('onLoad'); // esbuild: not attributed to the plugin's callback
  });
});

// ---------------------------------------------------------------------------
// Jest, through babel-jest and dualtape/babel
// ---------------------------------------------------------------------------

describe('Jest', () => {
  it('npx jest --rootDir test/jest-project passes', () => {
    const r = spawnSync('npx', ['jest', '--rootDir', 'test/jest-project', '--ci'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const text = output(r);
    expect(r.status, text).toBe(0);
    expect(text).toMatch(/Tests:\s+2 passed, 2 total/);
  });
});

// ---------------------------------------------------------------------------
// Tree-shaking: `grad` alone does not pull in the rest of the runtime
// ---------------------------------------------------------------------------

describe('bundle size (bench/size.ts)', () => {
  it('a bundle that uses only grad carries no transforms/checkpoint/custom/compare code', () => {
    const r = run(['--import', 'dualtape/register', 'bench/size.ts', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const { sizes } = JSON.parse(r.stdout) as {
      sizes: { entry: string; bundler: string; minifiedBytes: number; gzipBytes: number; runtimeModules: string[] }[];
    };
    expect(sizes).toHaveLength(4);
    for (const s of sizes) {
      expect(s.runtimeModules, `${s.entry} with ${s.bundler}`).toEqual(expect.arrayContaining(['api', 'engine', 'ops', 'rules']));
      const others = ['transforms', 'checkpoint', 'custom', 'compare'];
      if (s.entry === 'grad') {
        for (const m of others) expect(s.runtimeModules, `grad-only bundle with ${s.bundler}`).not.toContain(m);
      } else {
        expect(s.runtimeModules).toEqual(expect.arrayContaining(others));
      }
      expect(s.gzipBytes).toBeLessThan(s.minifiedBytes);
    }
    const bytes = (entry: string, bundler: string) => sizes.find((s) => s.entry === entry && s.bundler === bundler)!.minifiedBytes;
    for (const bundler of ['esbuild', 'rollup']) expect(bytes('grad', bundler)).toBeLessThan(0.8 * bytes('everything', bundler));
  });
});
