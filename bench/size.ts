/**
 * Bundle size of the dualtape runtime (`npm run bench:size`):
 *
 *   npm run build && node --import dualtape/register bench/size.ts [--json]
 *
 * Bundles two tiny entries for the browser, minified, with esbuild and with
 * Rollup (tree-shaken by Rollup, minified by esbuild's minifier), each through
 * the dualtape bundler plugin, with 'dualtape' resolved through the package's
 * "exports" (dist/, as an installed package):
 *
 * - `grad`:       one function handed to `grad`
 * - `everything`: every export of 'dualtape' kept alive
 *
 * and reports the minified and gzipped bytes of each bundle (the entry's own
 * code is a few dozen bytes; the rest is the runtime) and which runtime
 * modules ended up in it. A bundle that only uses `grad` must not carry the
 * code of hessian/jacobian (transforms), checkpoint, customDerivative or
 * compareModes: test/bundlers.test.ts asserts that from the `--json` output.
 * Without `--json` it also writes bench/size.json and regenerates the docs'
 * size table from it (bench/docs-tables.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import dualtapeEsbuild from 'dualtape/esbuild';
import dualtapeRollup from 'dualtape/rollup';

const repo = fileURLToPath(new URL('../', import.meta.url));

const ENTRIES: Record<string, string> = {
  grad: [
    `import { grad } from 'dualtape';`,
    `const f = (x: number[]): number => x[0] * Math.sin(x[1]) + x[1] ** 2;`,
    `console.log(grad(f)([1, 2]));`,
  ].join('\n'),
  everything: [
    `import * as dt from 'dualtape';`,
    `const f = (x: number[]): number => x[0] * Math.sin(x[1]) + x[1] ** 2;`,
    `console.log(dt.grad(f)([1, 2]), Object.keys(dt).join());`,
  ].join('\n'),
};

export interface BundleSize {
  entry: string;
  bundler: 'esbuild' | 'rollup';
  minifiedBytes: number;
  gzipBytes: number;
  /** Runtime modules (dist/runtime/*.js, by base name) with code in the bundle. */
  runtimeModules: string[];
}

const runtimeName = (path: string) => /runtime\/([\w-]+)\.js$/.exec(path.replace(/\\/g, '/'))?.[1];

async function withEsbuild(entry: string, file: string): Promise<BundleSize> {
  const result = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    metafile: true,
    logLevel: 'warning',
    // Not this repository's tsconfig.json, whose "paths" map 'dualtape' to the sources.
    tsconfigRaw: {},
    plugins: [dualtapeEsbuild()],
  });
  const code = result.outputFiles[0]!.contents;
  const output = Object.values(result.metafile.outputs)[0]!;
  const runtimeModules = Object.entries(output.inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => runtimeName(path))
    .filter((name): name is string => name !== undefined);
  return { entry, bundler: 'esbuild', minifiedBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length, runtimeModules: runtimeModules.sort() };
}

async function withRollup(entry: string, file: string): Promise<BundleSize> {
  const bundle = await rollup({
    input: file,
    plugins: [dualtapeRollup(), nodeResolve({ extensions: ['.ts', '.js'] })],
    onwarn: (warning) => console.error(`rollup: ${warning.message}`),
  });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  const chunk = output[0];
  // The entries are TypeScript only in their annotations, which dualtape's transform removed.
  const minified = await esbuild.transform(chunk.code, { minify: true, format: 'esm', target: 'es2022' });
  const code = Buffer.from(minified.code);
  const runtimeModules = Object.entries(chunk.modules)
    .filter(([, m]) => m.renderedLength > 0)
    .map(([path]) => runtimeName(path))
    .filter((name): name is string => name !== undefined);
  return { entry, bundler: 'rollup', minifiedBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length, runtimeModules: runtimeModules.sort() };
}

export async function measureSizes(): Promise<BundleSize[]> {
  // The entries live inside the package, so that 'dualtape' resolves to it (self-reference).
  const dir = join(repo, `.tmp/size-entries-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const results: BundleSize[] = [];
    for (const [name, source] of Object.entries(ENTRIES)) {
      const file = join(dir, `${name}.ts`);
      writeFileSync(file, source + '\n');
      results.push(await withEsbuild(name, file));
      results.push(await withRollup(name, file));
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = await measureSizes();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, sizes }, null, 2));
  } else {
    console.log(`dualtape runtime bundle size (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores)\n`);
    console.log('entry       bundler   minified   gzip      runtime modules');
    for (const s of sizes) {
      console.log(
        `${s.entry.padEnd(12)}${s.bundler.padEnd(10)}${kB(s.minifiedBytes).padEnd(11)}${kB(s.gzipBytes).padEnd(10)}${s.runtimeModules.join(' ')}`,
      );
    }
    console.log(`\n(bundled from ${relative(process.cwd(), join(repo, 'dist/runtime')) || '.'}; entries are a few lines each)`);
    const record = { benchmark: 'size', date: new Date().toISOString(), node: process.version, cores: os.cpus().length, sizes };
    writeFileSync(join(repo, 'bench/size.json'), `${JSON.stringify(record, null, 2)}\n`);
    const { updateDocs } = await import('./docs-tables.ts');
    console.log(`Wrote bench/size.json; ${updateDocs()}`);
  }
}
