/**
 * dualtape in the toolchains people actually run (docs/toolchains.md), each
 * tested by building a real project in a fresh temporary folder
 * (test/helpers/project.ts: dualtape's dist/ copied in as npm installs it,
 * the tools linked from this repository) and running the result:
 *
 * - CommonJS and ES module config files for every bundler entry;
 * - webpack + ts-loader, type-checking and transpileOnly;
 * - decorators (experimentalDecorators and standard) in modules that use dualtape;
 * - `node --import dualtape/register` with .tsx, .jsx, .cts, .cjs, tsconfig
 *   paths, `using`, and its build errors (message and code frame only);
 * - Vite in Chromium: a cold dev start, a Web Worker in dev and build, a lazy import;
 * - one rule for which modules are compiled: a fixture set through every entry;
 * - two copies of dualtape (a library with its own copy).
 *
 * Every program prints the gradient of f(x) = x³ + sin x at x = 0.5; the
 * tests check it against the hand-derived 3x² + cos x and central differences.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installDualtape, output, project, repo, run, workspace } from './helpers/project.ts';

const ws = workspace('toolchains');
afterAll(() => ws.cleanup());

const X = 0.5;
const f = (x: number) => x ** 3 + Math.sin(x);
const HAND = 3 * X * X + Math.cos(X);
const FD = (f(X + 1e-6) - f(X - 1e-6)) / 2e-6;

/** A TypeScript module that uses dualtape and prints the gradient as JSON. */
const MAIN_TS = `import { grad } from 'dualtape';

export function f(x: number): number {
  return x * x * x + Math.sin(x);
}
const x: number = ${X};
console.log(JSON.stringify({ tool: 'TOOL', g: grad(f)(x) }));
`;

/** Checks that `text` printed the right gradient (from `tool`). */
function expectGradient(text: string, tool = 'TOOL'): void {
  const line = text.split('\n').find((l) => l.startsWith('{"tool"'));
  expect(line, text).toBeDefined();
  const { tool: printed, g } = JSON.parse(line!) as { tool: string; g: number };
  expect(printed).toBe(tool);
  expect(Math.abs(g - HAND)).toBeLessThan(1e-12);
  expect(Math.abs(g - FD)).toBeLessThan(1e-6);
}

// ---------------------------------------------------------------------------
// CommonJS and ES module configs: require('dualtape/<bundler>') is the factory
// ---------------------------------------------------------------------------

/** Config files for each bundler, as a CommonJS (`require`) or ES module (`import`) file. */
function configFiles(bundler: string, kind: 'cjs' | 'mjs'): { files: Record<string, string>; build: string[]; bin?: string } {
  const load = (name: string, what = 'default') =>
    kind === 'cjs' ? `const ${what === 'default' ? name : `{ ${what} }`} = require('${pkgOf(name, what)}');` : `import ${what === 'default' ? name : `{ ${what} }`} from '${pkgOf(name, what)}';`;
  const check = `if (typeof dualtape !== 'function') throw new Error('dualtape/${bundler} gave ' + typeof dualtape + ', not the plugin factory');`;
  const exportConfig = kind === 'cjs' ? 'module.exports =' : 'export default';
  switch (bundler) {
    case 'vite':
      return {
        files: {
          [`vite.config.${kind}`]: [
            load('dualtape'),
            check,
            `${exportConfig} {`,
            `  logLevel: 'warn',`,
            `  plugins: [dualtape()],`,
            `  ssr: { noExternal: true },`,
            `  build: { ssr: 'src/main.ts', outDir: 'out', rollupOptions: { output: { format: 'es', entryFileNames: 'main.mjs' } } },`,
            `};`,
          ].join('\n'),
        },
        build: ['build', '--config', `vite.config.${kind}`],
        bin: 'vite',
      };
    case 'rollup':
      return {
        files: {
          [`rollup.config.${kind}`]: [
            load('dualtape'),
            load('nodeResolve', 'nodeResolve'),
            check,
            `${exportConfig} {`,
            `  input: 'src/main.ts',`,
            `  output: { dir: 'out', format: 'es', entryFileNames: 'main.mjs' },`,
            `  plugins: [dualtape(), nodeResolve({ extensions: ['.ts', '.js'] })],`,
            `};`,
          ].join('\n'),
        },
        build: ['-c', `rollup.config.${kind}`, '--silent'],
        bin: 'rollup',
      };
    case 'webpack':
      return {
        files: {
          [`build.${kind}`]: [
            load('webpack'),
            load('dualtape'),
            kind === 'cjs' ? `const { join } = require('node:path');` : `import { join } from 'node:path';`,
            check,
            `webpack({`,
            `  mode: 'production', target: 'node20', entry: './src/main.ts',`,
            `  context: process.cwd(),`,
            `  output: { path: join(process.cwd(), 'out'), filename: 'main.mjs', module: true, chunkFormat: 'module', library: { type: 'module' } },`,
            `  experiments: { outputModule: true }, optimization: { minimize: false },`,
            `  resolve: { extensions: ['.ts', '.js'] },`,
            `  plugins: [dualtape()],`,
            `}, (error, stats) => {`,
            `  if (error || stats.hasErrors()) { console.error(error ?? stats.toString('errors-only')); process.exitCode = 1; }`,
            `});`,
          ].join('\n'),
        },
        build: [`build.${kind}`],
      };
    case 'esbuild':
      return {
        files: {
          [`build.${kind}`]: [
            load('esbuild'),
            load('dualtape'),
            check,
            `esbuild.build({ entryPoints: ['src/main.ts'], bundle: true, platform: 'node', format: 'esm', outfile: 'out/main.mjs', logLevel: 'warning', plugins: [dualtape()] })`,
            `  .catch(() => { process.exitCode = 1; });`,
          ].join('\n'),
        },
        build: [`build.${kind}`],
      };
    default:
      throw new Error(bundler);
  }
  function pkgOf(name: string, what: string): string {
    if (name === 'dualtape') return `dualtape/${bundler}`;
    if (what === 'nodeResolve') return '@rollup/plugin-node-resolve';
    return name;
  }
}

describe('config files: require() and import of every bundler entry', () => {
  const cases = ['vite', 'rollup', 'webpack', 'esbuild'].flatMap((b) => (['cjs', 'mjs'] as const).map((k) => [b, k] as const));
  it.each(cases)('%s, a .%s config: builds, and the bundle prints the right gradient', (bundler, kind) => {
    const { files, build, bin } = configFiles(bundler, kind);
    const dir = project(ws.root, `config-${bundler}-${kind}`, {
      // No "type": CommonJS by default, as in most webpack projects (webpack then reads .ts as either kind).
      'package.json': JSON.stringify({ name: `app-${bundler}-${kind}`, private: true }),
      'src/main.ts': MAIN_TS.replace('TOOL', `${bundler}-${kind}`),
      ...files,
    });
    const built = run(dir, build, bin ? { bin } : {});
    expect(built.status, output(built)).toBe(0);
    expect(output(built)).not.toMatch(/error|warn/i);
    const r = run(dir, ['out/main.mjs']);
    expect(r.status, output(r)).toBe(0);
    expectGradient(r.stdout, `${bundler}-${kind}`);
  });

  it('require() gives the factory itself for every entry (no { default })', () => {
    const dir = project(ws.root, 'config-require', {
      'check.cjs': `for (const b of ['vite', 'rollup', 'webpack', 'esbuild']) {
  const entry = require('dualtape/' + b);
  console.log(b, typeof entry, 'default' in entry, typeof entry().name === 'string' || typeof entry().apply === 'function');
}`,
    });
    const r = run(dir, ['check.cjs']);
    expect(r.status, output(r)).toBe(0);
    expect(r.stderr).toBe(''); // no ExperimentalWarning for require() of an ES module
    expect(r.stdout.trim().split('\n')).toEqual(['vite function false true', 'rollup function false true', 'webpack function false true', 'esbuild function false true']);
  });
});

// ---------------------------------------------------------------------------
// webpack + ts-loader, type-checking and transpileOnly
// ---------------------------------------------------------------------------

describe('webpack + ts-loader', () => {
  // ts-loader needs TypeScript's JavaScript API, which TypeScript 7 (this repository's
  // compiler) does not have: the projects name TypeScript 5 (`compiler: 'typescript5'`, an
  // npm alias). A project with typescript@5 installed writes nothing.
  const files = (transpileOnly: boolean, options: { module?: string; main?: string } = {}) => ({
    'package.json': JSON.stringify({ name: 'app-ts-loader', private: true }),
    'tsconfig.json': JSON.stringify({
      compilerOptions: { strict: true, target: 'ES2022', module: options.module ?? 'ESNext', moduleResolution: 'Bundler', skipLibCheck: true },
      include: ['src'],
    }),
    // A helper module with typed parameters: dualtape's twins of it have none (TS7006 if checked).
    'src/model.ts': `'use differentiable';\n\nexport function cube(x: number): number {\n  return x * x * x;\n}\n`,
    'src/main.ts':
      options.main ??
      MAIN_TS.replace(`import { grad } from 'dualtape';`, `import { grad } from 'dualtape';\nimport { cube } from './model';`).replace('x * x * x', 'cube(x)'),
    'build.mjs': `import webpack from 'webpack';
import dualtape from 'dualtape/webpack';
import { join } from 'node:path';

webpack({
  mode: 'production', target: 'node20', entry: './src/main.ts', context: process.cwd(), devtool: 'source-map',
  output: { path: join(process.cwd(), 'out'), filename: 'main.mjs', module: true, chunkFormat: 'module', library: { type: 'module' } },
  experiments: { outputModule: true }, optimization: { minimize: false },
  resolve: { extensions: ['.ts', '.js'] },
  module: { rules: [{ test: /\\.ts$/, exclude: /node_modules/, loader: 'ts-loader', options: { compiler: 'typescript5', transpileOnly: ${transpileOnly} } }] },
  plugins: [dualtape()],
}, (error, stats) => {
  if (error || stats.hasErrors()) { console.error(error ?? stats.toString('errors-only')); process.exitCode = 1; }
});
`,
  });

  it.each([false, true])('transpileOnly: %s — builds, and the bundle prints the right gradient', (transpileOnly) => {
    const dir = project(ws.root, `ts-loader-${transpileOnly}`, files(transpileOnly));
    const built = run(dir, ['build.mjs']);
    expect(built.status, output(built)).toBe(0);
    expect(output(built)).not.toMatch(/error|TS\d{4}/i);
    const r = run(dir, ['--enable-source-maps', 'out/main.mjs']);
    expect(r.status, output(r)).toBe(0);
    expectGradient(r.stdout);
  });

  it('type-checking: the user’s own type errors are still reported (ts-loader checks the original source)', () => {
    const main = `import { grad } from 'dualtape';\nconst s: string = grad((x: number) => x * x)(1);\nconsole.log(s);\n`;
    const dir = project(ws.root, 'ts-loader-type-error', files(false, { main }));
    const built = run(dir, ['build.mjs']);
    expect(built.status, output(built)).toBe(1);
    expect(output(built)).toMatch(/TS2322: Type 'number' is not assignable to type 'string'/);
    expect(output(built)).toContain('src/main.ts');
  });

  it('type-checking with "module": "CommonJS": refused with what to change', () => {
    const dir = project(ws.root, 'ts-loader-commonjs', files(false, { module: 'CommonJS' }));
    const built = run(dir, ['build.mjs']);
    expect(built.status, output(built)).toBe(1);
    expect(output(built)).toMatch(/ts-loader emitted CommonJS .* Set "module": "ESNext"/);
  });
});

// ---------------------------------------------------------------------------
// Decorators in a module that uses dualtape
// ---------------------------------------------------------------------------

describe('decorators (experimentalDecorators and standard) in a module that uses dualtape', () => {
  const DECORATOR = {
    legacy: `function scaled(factor: number) {
  return (_target: object, _key: string, d: PropertyDescriptor) => {
    const f = d.value as (x: number) => number;
    d.value = function (this: unknown, x: number) { return factor * f.call(this, x); };
  };
}`,
    stage3: `function scaled(factor: number) {
  return <T extends (x: number) => number>(f: T, _context: ClassMethodDecoratorContext) =>
    function (this: unknown, x: number) { return factor * f.call(this, x); } as T;
}`,
  };
  const source = (kind: 'legacy' | 'stage3', tool: string) => `import { grad } from 'dualtape';

${DECORATOR[kind]}

@((c: unknown) => c)
class Model {
  @scaled(2) value(x: number): number { return x + 1; }
}

export function f(x: number): number {
  return x * x * x + Math.sin(x);
}
console.log(JSON.stringify({ tool: '${tool}', g: grad(f)(${X}), decorated: new Model().value(3) }));
`;
  const tsconfig = (kind: 'legacy' | 'stage3') =>
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, ...(kind === 'legacy' ? { experimentalDecorators: true } : {}) } });
  const build = (kind: 'legacy' | 'stage3'): Record<string, { files: Record<string, string>; args: string[]; bin?: string }> => ({
    register: { files: {}, args: ['--import', 'dualtape/register', 'src/main.ts'] },
    rollup: {
      // Rollup has no TypeScript step of its own: Babel's, with the decorators plugin, after dualtape.
      files: {
        'rollup.config.mjs': `import dualtape from 'dualtape/rollup';\nimport { nodeResolve } from '@rollup/plugin-node-resolve';\nimport { babel } from '@rollup/plugin-babel';\nexport default { input: 'src/main.ts', output: { dir: 'out', format: 'es', entryFileNames: 'main.mjs' },\n  plugins: [dualtape(), nodeResolve({ extensions: ['.ts', '.js'] }),\n    babel({ babelHelpers: 'bundled', extensions: ['.ts'], babelrc: false, configFile: false, presets: ['@babel/preset-typescript'], plugins: [['@babel/plugin-proposal-decorators', { version: '${kind === 'legacy' ? 'legacy' : '2023-11'}' }]] })] };\n`,
      },
      args: ['-c', 'rollup.config.mjs', '--silent'],
      bin: 'rollup',
    },
    vite: {
      files: { 'vite.config.mjs': `import dualtape from 'dualtape/vite';\nexport default { logLevel: 'warn', plugins: [dualtape()], ssr: { noExternal: true }, build: { ssr: 'src/main.ts', outDir: 'out', rollupOptions: { output: { entryFileNames: 'main.mjs' } } } };\n` },
      args: ['build'],
      bin: 'vite',
    },
    esbuild: {
      files: { 'build.mjs': `import * as esbuild from 'esbuild';\nimport dualtape from 'dualtape/esbuild';\nawait esbuild.build({ entryPoints: ['src/main.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: 'out/main.mjs', logLevel: 'warning', plugins: [dualtape()] });\n` },
      args: ['build.mjs'],
    },
    webpack: {
      // ts-loader (transpileOnly) compiles the decorators as TypeScript does.
      files: {
        'build.mjs': `import webpack from 'webpack';\nimport dualtape from 'dualtape/webpack';\nimport { join } from 'node:path';\nwebpack({ mode: 'none', target: 'node20', entry: './src/main.ts', context: process.cwd(),\n  output: { path: join(process.cwd(), 'out'), filename: 'main.mjs', module: true, chunkFormat: 'module', library: { type: 'module' } },\n  experiments: { outputModule: true }, resolve: { extensions: ['.ts', '.js'] },\n  module: { rules: [{ test: /\\.ts$/, exclude: /node_modules/, loader: 'ts-loader', options: { compiler: 'typescript5', transpileOnly: true } }] },\n  plugins: [dualtape()] }, (e, s) => { if (e || s.hasErrors()) { console.error(e ?? s.toString('errors-only')); process.exitCode = 1; } });\n`,
      },
      args: ['build.mjs'],
    },
  });
  const cases = Object.keys(build('legacy'))
    .flatMap((tool) => (['legacy', 'stage3'] as const).map((kind) => [tool, kind] as const))
    .filter(([tool, kind]) => !(tool === 'vite' && kind === 'stage3'));
  it.each(cases)('%s, %s decorators: builds and runs; the decorator applied, the gradient right', (tool, kind) => {
    const { files, args, bin } = build(kind)[tool]!;
    const dir = project(ws.root, `decorators-${tool}-${kind}`, {
      'package.json': JSON.stringify({ name: 'app', private: true, type: 'module' }),
      'tsconfig.json': tsconfig(kind),
      'src/main.ts': source(kind, tool),
      ...files,
    });
    const r1 = run(dir, args, bin ? { bin } : {});
    expect(r1.status, output(r1)).toBe(0);
    const r = tool === 'register' ? r1 : run(dir, ['out/main.mjs']);
    expect(r.status, output(r)).toBe(0);
    expectGradient(r.stdout, tool);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).decorated).toBe(8); // 2 · (3 + 1)
  });

  it('vite, stage3 decorators: the build passes and keeps them as written (as Vite does without dualtape)', () => {
    // Vite 8 leaves standard decorators to the runtime, which Node 20 cannot run
    // (docs/toolchains.md: lower them with Babel).
    const { files, args, bin } = build('stage3')['vite']!;
    const dir = project(ws.root, 'decorators-vite-stage3', {
      'package.json': JSON.stringify({ name: 'app', private: true, type: 'module' }),
      'tsconfig.json': tsconfig('stage3'),
      'src/main.ts': source('stage3', 'vite'),
      ...files,
    });
    const r = run(dir, args, { bin: bin! });
    expect(r.status, output(r)).toBe(0);
    const bundle = readFileSync(join(dir, 'out/main.mjs'), 'utf8');
    expect(bundle).toMatch(/@scaled\(2\)\s*value\(x\)/);
    expect(bundle).toContain('register('); // f was compiled (its twin registered)
  });
});

// ---------------------------------------------------------------------------
// node --import dualtape/register: the files TypeScript users have
// ---------------------------------------------------------------------------

describe('node --import dualtape/register', () => {
  const pkg = (type: 'module' | 'commonjs' = 'module') => JSON.stringify({ name: 'app', private: true, type });
  const register = (dir: string, file: string) => run(dir, ['--import', 'dualtape/register', file]);

  it('.tsx and .jsx: JSX compiled as tsconfig "jsx" says (classic factory here), in modules that use dualtape', () => {
    const dir = project(ws.root, 'register-tsx', {
      'package.json': pkg(),
      'tsconfig.json': JSON.stringify({ compilerOptions: { jsx: 'react', jsxFactory: 'h', strict: true } }),
      'src/main.tsx': `import { grad } from 'dualtape';
import { note } from './note.jsx';
const h = (tag: string, _props: unknown, ...children: unknown[]) => \`<\${tag}>\${children.join('')}</\${tag}>\`;
export function f(x: number): number {
  return x * x * x + Math.sin(x);
}
const g: number = grad(f)(${X});
console.log(JSON.stringify({ tool: 'tsx', g }));
console.log(<p><b>{g.toFixed(3)}</b></p>);
console.log(note(grad((x: number) => x * x)(3)));
`,
      // A .jsx module (plain JavaScript with JSX) that uses dualtape itself.
      'src/note.jsx': `import { grad } from 'dualtape';\nconst h = (tag, _props, ...children) => \`<\${tag}>\${children.join('')}</\${tag}>\`;\nexport const note = (d) => <i>{d + grad((x) => 2 * x)(1)}</i>;\n`,
    });
    const r = register(dir, 'src/main.tsx');
    expect(r.status, output(r)).toBe(0);
    expectGradient(r.stdout, 'tsx');
    expect(r.stdout).toContain(`<p><b>${HAND.toFixed(3)}</b></p>`);
    expect(r.stdout).toContain('<i>8</i>'); // 6 + 2
  });

  it('.tsx with the automatic runtime (react-jsx, jsxImportSource)', () => {
    const dir = project(ws.root, 'register-tsx-automatic', {
      'package.json': pkg(),
      'tsconfig.json': JSON.stringify({ compilerOptions: { jsx: 'react-jsx', jsxImportSource: 'mini' } }),
      'node_modules/mini/package.json': JSON.stringify({ name: 'mini', type: 'module', exports: { './jsx-runtime': './jsx-runtime.js' } }),
      'node_modules/mini/jsx-runtime.js': `export const jsx = (tag, props) => \`<\${tag}>\${[].concat(props.children ?? []).join('')}</\${tag}>\`;\nexport const jsxs = jsx;\nexport const Fragment = 'frag';\n`,
      'main.tsx': `import { grad } from 'dualtape';\nconst d = grad((x: number) => x * x)(3);\nconsole.log(<i>{d}</i>);\n`,
    });
    const r = register(dir, 'main.tsx');
    expect(r.status, output(r)).toBe(0);
    expect(r.stdout.trim()).toBe('<i>6</i>');
  });

  it('tsconfig "paths" (with "extends"): a helper module imported through an alias', () => {
    const dir = project(ws.root, 'register-paths', {
      'package.json': pkg(),
      'tsconfig.base.json': JSON.stringify({ compilerOptions: { paths: { '@lib/*': ['./lib/*'], '#model': ['./lib/model.ts'] } } }),
      'tsconfig.json': JSON.stringify({ extends: './tsconfig.base.json', compilerOptions: { strict: true } }),
      'lib/model.ts': `'use differentiable';\n\nexport function cube(x: number): number {\n  return x * x * x;\n}\n`,
      'lib/sine.ts': `'use differentiable';\n\nexport const sine = (x: number): number => Math.sin(x);\n`,
      'src/main.ts': `import { grad } from 'dualtape';\nimport { cube } from '#model';\nimport { sine } from '@lib/sine';\n\nexport function f(x: number): number {\n  return cube(x) + sine(x);\n}\nconsole.log(JSON.stringify({ tool: 'paths', g: grad(f)(${X}) }));\n`,
    });
    const r = register(dir, 'src/main.ts');
    expect(r.status, output(r)).toBe(0);
    expectGradient(r.stdout, 'paths');
  });

  it('`using` and `await using` declarations run on Node 20 (lowered)', () => {
    const dir = project(ws.root, 'register-using', {
      'package.json': pkg(),
      'main.ts': `import { grad } from 'dualtape';
const log: string[] = [];
function resource(name: string) {
  return { [Symbol.dispose]() { log.push('dispose ' + name); } };
}
{
  using a = resource('a');
  await using b = { async [Symbol.asyncDispose]() { log.push('async dispose b'); } };
  log.push('grad ' + grad((x: number) => x * x)(3));
}
console.log(log.join(', '));
`,
    });
    const r = register(dir, 'main.ts');
    expect(r.status, output(r)).toBe(0);
    expect(r.stdout.trim()).toBe('grad 6, async dispose b, dispose a');
  });

  it('.cts: types stripped, run as CommonJS (require and import of it)', () => {
    const dir = project(ws.root, 'register-cts', {
      'package.json': pkg(),
      'lib.cts': `import { basename } from 'node:path';\nconst scale: number = 3;\nexport = { scale, name: basename(__filename) };\n`,
      'main.cts': `const lib: { scale: number; name: string } = require('./lib.cts');\nconsole.log('cts', lib.scale, lib.name);\n`,
      'main.mts': `import lib from './lib.cjs';\nconsole.log('mts', lib.scale);\n`,
    });
    const a = register(dir, 'main.cts');
    expect(a.status, output(a)).toBe(0);
    expect(a.stdout.trim()).toBe('cts 3 lib.cts');
    const b = register(dir, 'main.mts');
    expect(b.status, output(b)).toBe(0);
    expect(b.stdout.trim()).toBe('mts 3');
  });

  it.each(['main.cjs', 'main.cts'])('%s that uses dualtape: one clear error saying what to use', (file) => {
    const dir = project(ws.root, `register-${file.replace('.', '-')}`, {
      'package.json': pkg('commonjs'),
      [file]: `const { grad } = require('dualtape');\nconsole.log(grad((x${file.endsWith('.cts') ? ': number' : ''}) => x * x)(3));\n`,
    });
    const r = register(dir, file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${join(dir, file)}: dualtape/register compiles ES modules only, and this CommonJS file uses dualtape`);
    expect(r.stderr).toContain('Rename it to .mts');
    expect(r.stderr).not.toMatch(/node:internal\/modules\/esm\/hooks|\/register\/hooks\.js/);
  });

  it('a build error: the message and the code frame, no stack from inside Babel', () => {
    const dir = project(ws.root, 'register-error', {
      'package.json': pkg(),
      'bad.ts': `import { grad } from 'dualtape';\n\nexport const g = grad(async (x: number) => x);\n`,
      'syntax.ts': `const x: number = ;\n`,
    });
    const r = register(dir, 'bad.ts');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'bad.ts')}:3:23: dualtape cannot differentiate an async function`);
    expect(r.stderr).toContain('> 3 | export const g = grad(async (x: number) => x);');
    expect(r.stderr).not.toMatch(/@babel|gensync|SyntaxError \[Error\]|BABEL_TRANSFORM_ERROR|code: '/);
    // (The only frame is the user's file.)
    expect(r.stderr.match(/^\s+at .*$/gm)).toEqual([`    at ${join(dir, 'bad.ts')}:3:23`]);
    const s = register(dir, 'syntax.ts');
    expect(s.status).toBe(1);
    expect(s.stderr).toContain(`${join(dir, 'syntax.ts')}:1:19: Unexpected token`);
    expect(s.stderr).not.toMatch(/@babel|gensync/);
  });
});

// ---------------------------------------------------------------------------
// Vite in the browser: a cold dev start, and a Web Worker in dev and in build
// ---------------------------------------------------------------------------

describe('Vite in Chromium: cold dev start, a Web Worker, a lazy import', () => {
  const files = {
    'package.json': JSON.stringify({ name: 'app-vite-worker', private: true, type: 'module' }),
    'vite.config.mjs': `import dualtape from 'dualtape/vite';\nexport default { plugins: [dualtape()], logLevel: 'info', build: { target: 'es2022' } };\n`,
    'index.html': `<!doctype html>\n<html><body><script type="module" src="/src/main.ts"></script></body></html>\n`,
    'src/main.ts': `import { grad } from 'dualtape';

export function f(x: number): number {
  return x * x * x + Math.sin(x);
}
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const fromWorker = new Promise((resolve) => { worker.onmessage = (e: MessageEvent) => resolve(e.data); });
// Lazy loading: a dynamic import, destructured.
const { grad: lazyGrad } = await import('dualtape');
const lazy = lazyGrad((x: number) => x * x)(3);
(window as unknown as { result: unknown }).result = fromWorker.then((w) => ({ main: grad(f)(${X}), worker: w, lazy }));
`,
    'src/worker.ts': `import { grad } from 'dualtape';

function f(x: number): number {
  return x * x * x + Math.sin(x);
}
try {
  self.postMessage(grad(f)(${X}));
} catch (error) {
  self.postMessage(String(error)); // an uncompiled worker says so
}
`,
  };

  /** Opens `url`; returns what the page computed, the HTTP statuses seen and how often the page navigated. */
  async function open(url: string) {
    const { launchChromium } = await import('./helpers/chromium.ts');
    // A browser per page: the registry Chromium runs as one process, which closing a page ends.
    const browser = await launchChromium();
    const page = await browser.newPage();
    const statuses: string[] = [];
    let navigations = 0;
    page.on('response', (response) => statuses.push(`${response.status()} ${new URL(response.url()).pathname}`));
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    await page.goto(url);
    const result = (await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, undefined, { timeout: 30_000 })
      .then(() => page.evaluate(() => (window as unknown as { result: Promise<unknown> }).result))) as { main: number; worker: number | string; lazy: number };
    // A dependency found late makes Vite reload the page shortly after: give it the time.
    await page.waitForTimeout(1500);
    await browser.close();
    return { result, statuses, navigations };
  }

  const expectRight = (result: { main: number; worker: number | string; lazy: number }) => {
    expect(result.lazy).toBe(6);
    for (const g of [result.main, result.worker]) {
      expect(typeof g, String(g)).toBe('number');
      expect(Math.abs((g as number) - HAND)).toBeLessThan(1e-12);
      expect(Math.abs((g as number) - FD)).toBeLessThan(1e-6);
    }
  };

  it('dev, cold start (no dependency cache): the first load succeeds, no 504, no reload; the worker is compiled', async () => {
    const dir = project(ws.root, 'vite-dev', files);
    const { createServer } = await import('vite');
    const logs: string[] = [];
    const server = await createServer({
      root: dir,
      configFile: join(dir, 'vite.config.mjs'),
      server: { port: 0, host: '127.0.0.1' },
      customLogger: {
        info: (m) => logs.push(m), warn: (m) => logs.push(m), warnOnce: (m) => logs.push(m), error: (m) => logs.push(m),
        clearScreen: () => {}, hasErrorLogged: () => false, hasWarned: false,
      },
    });
    try {
      await server.listen();
      const url = server.resolvedUrls!.local[0]!;
      const { result, statuses, navigations } = await open(url);
      expect(statuses.filter((s) => !s.startsWith('200') && !s.startsWith('304')), statuses.join('\n')).toEqual([]);
      expect(navigations).toBe(1);
      expect(logs.join('\n')).not.toMatch(/reload|new dependencies/i);
      expectRight(result);
      // The worker module as Vite serves it: compiled by dualtape.
      const worker = await (await fetch(new URL('/src/worker.ts', url))).text();
      expect(worker).toMatch(/dualtape_ops|dualtape\/ops/);
    } finally {
      await server.close();
    }
  });

  it('build: the worker is compiled too (worker.plugins), and runs in Chromium', async () => {
    const dir = project(ws.root, 'vite-build', files);
    const built = run(dir, ['build'], { bin: 'vite' });
    expect(built.status, output(built)).toBe(0);
    const { preview } = await import('vite');
    const server = await preview({ root: dir, configFile: join(dir, 'vite.config.mjs'), preview: { port: 0, host: '127.0.0.1' }, logLevel: 'silent' });
    try {
      const { result } = await open(server.resolvedUrls!.local[0]!);
      expectRight(result);
    } finally {
      await server.close();
    }
  });
});

// ---------------------------------------------------------------------------
// One rule for which modules are compiled, the same through every entry
// ---------------------------------------------------------------------------

describe('which modules are compiled: the same fixture set through register and every bundler', () => {
  // Plain JavaScript syntax in .ts files: a module dualtape does not compile reaches
  // Rollup and webpack (which have no TypeScript step here) as it is.
  const FIXTURES: Record<string, string> = {
    'src/lib.ts': `import { grad } from 'dualtape';\nexport function train(loss, x) {\n  return grad(loss)(x);\n}\n`,
    // Imports grad: compiled.
    'src/cases/static.ts': `import { grad } from 'dualtape';\nexport const run = () => grad((x) => x * x * x)(2);\n`,
    // The directive on the line of the opening brace: compiled.
    'src/cases/cube.ts': `export const cube = (x) => { 'use differentiable'; return x * x * x; };\n`,
    'src/cases/same-line.ts': `import { train } from '../lib';\nimport { cube } from './cube';\nexport const run = () => train(cube, 2);\n`,
    // Hands a function to a library that calls grad, imports nothing from dualtape: not compiled.
    'src/cases/train-no-import.ts': `import { train } from '../lib';\nfunction loss(x) {\n  return x * x * x;\n}\nexport const run = () => train(loss, 2);\n`,
    // The same with \`import 'dualtape'\`: compiled (loss is twinned, train finds it).
    'src/cases/train-bare-import.ts': `import 'dualtape';\nimport { train } from '../lib';\nfunction loss(x) {\n  return x * x * x;\n}\nexport const run = () => train(loss, 2);\n`,
    // Lazy loading: the dynamic import is recognized.
    'src/cases/dynamic.ts': `export async function run() {\n  const { grad } = await import('dualtape');\n  const dt = await import('dualtape');\n  return grad((x) => x * x * x)(2) + dt.grad((x) => x * x)(1);\n}\n`,
    // The words in a string only: not compiled (and nothing to compile).
    'src/cases/string-only.ts': `const text = "import { grad } from 'dualtape'";\nexport const run = () => text.length;\n`,
    'src/main.ts': `import * as staticCase from './cases/static';
import * as sameLine from './cases/same-line';
import * as trainNoImport from './cases/train-no-import';
import * as trainBareImport from './cases/train-bare-import';
import * as dynamic from './cases/dynamic';
import * as stringOnly from './cases/string-only';
const cases = { static: staticCase, 'same-line': sameLine, 'train-no-import': trainNoImport, 'train-bare-import': trainBareImport, dynamic, 'string-only': stringOnly };
for (const [name, c] of Object.entries(cases)) {
  try {
    console.log(name + ': ' + (await c.run()));
  } catch (error) {
    console.log(name + ': ' + (/did not compile/.test(String(error)) ? 'not compiled' : String(error)));
  }
}
`,
  };
  const EXPECTED = ['static: 12', 'same-line: 12', 'train-no-import: not compiled', 'train-bare-import: 12', 'dynamic: 14', `string-only: ${"import { grad } from 'dualtape'".length}`].join('\n');

  it('the rule, in process: which fixture modules compiles() selects', async () => {
    const { compiles } = await import('../bundler/compile.ts');
    const selected = Object.entries(FIXTURES).filter(([path, code]) => compiles(`/app/${path}`, code)).map(([path]) => path);
    expect(selected).toEqual(['src/lib.ts', 'src/cases/static.ts', 'src/cases/cube.ts', 'src/cases/train-bare-import.ts', 'src/cases/dynamic.ts']);
    expect(compiles('/app/node_modules/x/a.ts', FIXTURES['src/cases/static.ts']!)).toBe(false);
    expect(compiles('/app/src/a.css', FIXTURES['src/cases/static.ts']!)).toBe(false);
    expect(compiles('/app/a.ts', `const f = function (x) {"use differentiable"\n  return x; };`)).toBe(true);
    expect(compiles('/app/a.ts', `console.log('use differentiable');`)).toBe(false);
  });

  it('the plugin: a bare `import \'dualtape\'` opts a module in; a type-only import does not', async () => {
    const { transformAsync } = await import('@babel/core');
    const { default: dualtape } = await import('../plugin/index.ts');
    const compile = async (code: string) =>
      (await transformAsync(code, { filename: '/app/a.ts', babelrc: false, configFile: false, presets: ['@babel/preset-typescript'], plugins: [dualtape] }))!.code!;
    const body = `function loss(x: number) {\n  return x * x;\n}\ntrain(loss);\n`;
    expect(await compile(`import 'dualtape';\ndeclare function train(f: unknown): void;\n${body}`)).toContain('dualtape/ops');
    for (const head of [`import type { Num } from 'dualtape';`, `import { type Num } from 'dualtape';`, ``]) {
      const out = await compile(`${head}\ndeclare function train(f: unknown): void;\n${body}export type T = ${head ? 'Num' : 'number'};\n`);
      expect(out, head).not.toContain('dualtape/ops');
      expect(out, head).not.toContain(`from 'dualtape'`);
    }
  });

  const ENTRIES = ['register', 'vite', 'rollup', 'webpack', 'esbuild'];
  it.each(ENTRIES)('%s: the same outcome for every fixture', (entry) => {
    const config = entry === 'register' ? undefined : configFiles(entry, 'mjs');
    const dir = project(ws.root, `rule-${entry}`, {
      'package.json': JSON.stringify({ name: 'app-rule', private: true, ...(entry === 'register' ? { type: 'module' } : {}) }),
      ...FIXTURES,
      ...(config?.files ?? {}),
    });
    let r;
    if (config) {
      const built = run(dir, config.build, config.bin ? { bin: config.bin } : {});
      expect(built.status, output(built)).toBe(0);
      r = run(dir, ['out/main.mjs']);
    } else {
      r = run(dir, ['--import', 'dualtape/register', 'src/main.ts']);
    }
    expect(r.status, output(r)).toBe(0);
    expect(r.stdout.trim()).toBe(EXPECTED);
  });
});

// ---------------------------------------------------------------------------
// Two copies of dualtape
// ---------------------------------------------------------------------------

describe('two copies of dualtape (a library with its own copy)', () => {
  it('the runtime version constant is the package version', async () => {
    const { VERSION } = await import('../runtime/copies.ts');
    const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(version);
  });

  it('the error names both copies and the fix; after deduping the same program works', async () => {
    // A library precompiled with dualtape/babel, shipped with its own copy of dualtape.
    const { transformAsync } = await import('@babel/core');
    const compiled = await transformAsync(`'use differentiable';\nexport function cube(x) {\n  return x * x * x;\n}\n`, {
      babelrc: false,
      configFile: false,
      plugins: [join(repo, 'dist/plugin/index.js')],
    });
    const dir = project(ws.root, 'two-copies', {
      'package.json': JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { dualtape: '*', mylib: '*' } }),
      'node_modules/mylib/package.json': JSON.stringify({ name: 'mylib', type: 'module', exports: './index.js', dependencies: { dualtape: '*' } }),
      'node_modules/mylib/index.js': compiled!.code!,
      'main.mjs': `import { grad } from 'dualtape';\nimport { cube } from 'mylib';\nconsole.log('grad', grad(cube)(2));\n`,
    });
    installDualtape(join(dir, 'node_modules/mylib/node_modules/dualtape'));

    const r = run(dir, ['main.mjs']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the dualtape Babel plugin did not compile');
    expect(r.stderr).toContain('Note: 2 copies of dualtape are loaded (0.1.0 at file://');
    expect(r.stderr).toContain(`${join(dir, 'node_modules/mylib/node_modules/dualtape')}`);
    expect(r.stderr).toContain(`${join(ws.root, 'node_modules/dualtape')}`);
    expect(r.stderr).toMatch(/npm ls dualtape.*npm dedupe.*peerDependencies/s);

    // The fix: one copy (what `npm dedupe` leaves when the versions agree).
    rmSync(join(dir, 'node_modules/mylib/node_modules'), { recursive: true });
    const fixed = run(dir, ['main.mjs']);
    expect(fixed.status, output(fixed)).toBe(0);
    expect(fixed.stdout.trim()).toBe('grad 12');
  });

  it('one copy: the same error carries no note about copies', () => {
    const dir = project(ws.root, 'one-copy', {
      'package.json': JSON.stringify({ name: 'app', private: true, type: 'module' }),
      'main.mjs': `import { grad } from 'dualtape';\ngrad((x) => x * x)(2);\n`,
    });
    const r = run(dir, ['main.mjs']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the dualtape Babel plugin did not compile');
    expect(r.stderr).not.toContain('copies of dualtape');
  });
});
