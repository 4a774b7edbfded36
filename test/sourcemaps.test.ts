/**
 * An exception thrown inside a differentiated function points at the user's
 * own file and line, whichever way the code was built:
 *
 * - `node --import dualtape/register main.ts` (inline source maps, source-mapped
 *   stack traces switched on by the loader);
 * - Vite (SSR build), Rollup, webpack and esbuild with the dualtape plugin and
 *   source maps on (examples/curve-fit/build.mjs), run with
 *   `node --enable-source-maps`.
 *
 * Two throws: one in a function handed to `grad` (compiled as a twin in the
 * same module), one in a helper module with a file-level 'use differentiable'
 * directive, called from it. Needs dist/ (`npm run build`; `npm test` does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../', import.meta.url));
const BUNDLERS = ['vite', 'rollup', 'webpack', 'esbuild'] as const;
const genDir = join(repo, `test/.gen/sourcemaps-${process.pid}`);
const outRoot = mkdtempSync(join(tmpdir(), 'dualtape-sourcemaps-'));

// Positions matter below: MAIN_THROW, MAIN_CALL, HELPER_THROW.
const MAIN = `import { grad } from 'dualtape';
import { checkedLog } from './helper.ts';

function loss(x: number[]): number {
  let s = 0;
  for (const v of x) s += v * v;
  if (s > 100) throw new RangeError('loss: too large');
  return s + checkedLog(x[0]!);
}

const cases: [string, number[]][] = [['in-file', [20]], ['helper', [-1]]];
for (const [name, x] of cases) {
  try {
    console.log(grad(loss)(x));
  } catch (error) {
    console.log(\`--- \${name}\\n\${(error as Error).stack}\`);
  }
}
`;
// line:column (1-based) of `new RangeError` and of the call to checkedLog.
const MAIN_THROW = '7:22';
const MAIN_CALL = '8:24';

const HELPER = `'use differentiable';

export function checkedLog(v: number): number {
  if (v <= 0) throw new RangeError('checkedLog: not positive');
  return Math.log(v);
}
`;
const HELPER_THROW = '4:21';

/** The stack frames ("at …" lines) printed for one case. */
function framesOf(stdout: string, name: string): string[] {
  const block = stdout.split('--- ').find((b) => b.startsWith(`${name}\n`));
  if (!block) throw new Error(`no '${name}' case in:\n${stdout}`);
  return block.split('\n').filter((line) => /^\s+at /.test(line));
}

function checkStacks(stdout: string): void {
  expect(stdout).toContain('RangeError: loss: too large');
  expect(stdout).toContain('RangeError: checkedLog: not positive');
  const inFile = framesOf(stdout, 'in-file');
  // The first frame is the throw in the user's main.ts, at its line and column.
  expect(inFile[0], stdout).toMatch(new RegExp(`/main\\.ts:${MAIN_THROW}\\)$`));
  const helper = framesOf(stdout, 'helper');
  expect(helper[0], stdout).toMatch(new RegExp(`/helper\\.ts:${HELPER_THROW}\\)$`));
  // …called from loss, in main.ts.
  expect(helper[1], stdout).toMatch(new RegExp(`/main\\.ts:${MAIN_CALL}\\)$`));
}

beforeAll(() => {
  for (const file of ['dist/register/index.js', ...BUNDLERS.map((b) => `dist/bundler/${b}.js`)]) {
    if (!existsSync(join(repo, file))) throw new Error(`${file} is missing: run \`npm run build\` first`);
  }
  mkdirSync(genDir, { recursive: true });
  writeFileSync(join(genDir, 'main.ts'), MAIN);
  writeFileSync(join(genDir, 'helper.ts'), HELPER);
});

afterAll(() => {
  rmSync(genDir, { recursive: true, force: true });
  rmSync(outRoot, { recursive: true, force: true });
});

const node = (args: string[], cwd = repo) =>
  spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });

describe('a throw inside a differentiated function shows the original file and line', () => {
  it('node --import dualtape/register', () => {
    const r = node(['--import', 'dualtape/register', join(genDir, 'main.ts')]);
    expect(r.status, r.stderr).toBe(0);
    checkStacks(r.stdout);
  });

  it.each(BUNDLERS)('%s build, node --enable-source-maps', (bundler) => {
    const outDir = mkdtempSync(join(outRoot, `${bundler}-`));
    const built = node([join(repo, 'examples/curve-fit/build.mjs'), bundler, outDir, join(genDir, 'main.ts')]);
    expect(built.status, `${built.stdout}\n${built.stderr}`).toBe(0);
    expect(existsSync(join(outDir, 'main.mjs.map'))).toBe(true);
    const r = node(['--enable-source-maps', join(outDir, 'main.mjs')], outDir);
    expect(r.status, r.stderr).toBe(0);
    checkStacks(r.stdout);
  });
});
