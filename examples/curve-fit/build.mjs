/**
 * Bundles the curve-fit app (or another entry) for Node with one bundler and
 * the matching dualtape plugin — each config below is what a project would
 * write, with dualtape and the plugin imported by package name:
 *
 *   npm run build   # once: dualtape's own dist/, which 'dualtape/…' resolves to here
 *   node examples/curve-fit/build.mjs <bundler> [outDir] [entry]
 *   node --enable-source-maps <outDir>/main.mjs
 *
 * <bundler> is vite, rollup, webpack or esbuild (the dualtape bundler plugin),
 * or rollup-babel / webpack-babel: the plain-Babel route, dualtape/babel in
 * @rollup/plugin-babel's or babel-loader's options and no dualtape bundler plugin.
 *
 * Writes <outDir>/main.mjs (one ES module with dualtape's runtime bundled in)
 * and its source map. Defaults: outDir .tmp/curve-fit-<bundler>/, entry
 * examples/curve-fit/main.ts. A failed build exits with status 1 after the
 * bundler has reported the error (dualtape's build errors carry a code frame).
 *
 * Plain JavaScript (.mjs) so that Node runs it without a TypeScript loader.
 * test/bundlers.test.ts and test/sourcemaps.test.ts run it for each bundler.
 */
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLERS = ['vite', 'rollup', 'webpack', 'esbuild', 'rollup-babel', 'webpack-babel'];

// In a project: plugins: ['dualtape/babel']. Babel resolves plugin names from
// @babel/core's location, where this repository (the package itself) is not
// installed, so here the name is resolved from this file (package self-reference).
const dualtapeBabel = fileURLToPath(import.meta.resolve('dualtape/babel'));
const babelOptions = (withDualtape) => ({
  babelrc: false,
  configFile: false,
  presets: ['@babel/preset-typescript'],
  plugins: withDualtape ? [dualtapeBabel] : [],
});

/** Build `entry` into `outDir`/main.mjs with `bundler`. Rejects on a failed build. */
export async function buildWith(bundler, { entry, outDir }) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'main.mjs');
  switch (bundler) {
    case 'vite': {
      const { build } = await import('vite');
      const { default: dualtape } = await import('dualtape/vite');
      // SSR build: a Node program, every dependency (dualtape too) bundled in.
      await build({
        configFile: false,
        root: repo,
        logLevel: 'warn',
        plugins: [dualtape()],
        ssr: { noExternal: true, target: 'node' },
        build: {
          ssr: entry,
          outDir,
          emptyOutDir: true,
          sourcemap: true,
          minify: false,
          rollupOptions: { output: { format: 'es', entryFileNames: 'main.mjs' } },
        },
      });
      break;
    }
    case 'rollup':
    case 'rollup-babel': {
      const { rollup } = await import('rollup');
      const { nodeResolve } = await import('@rollup/plugin-node-resolve');
      const { babel } = await import('@rollup/plugin-babel');
      const { default: dualtape } = await import('dualtape/rollup');
      const plainBabel = bundler === 'rollup-babel';
      const bundle = await rollup({
        input: entry,
        plugins: [
          ...(plainBabel ? [] : [dualtape()]),
          nodeResolve({ extensions: ['.ts', '.mjs', '.js', '.json'] }),
          // Rollup does not read TypeScript: strip types from the modules dualtape did not
          // compile (rollup-babel: Babel compiles every module, dualtape/babel included).
          babel({ babelHelpers: 'bundled', extensions: ['.ts'], exclude: /node_modules/, ...babelOptions(plainBabel) }),
        ],
        onwarn: (warning) => {
          // The compiled module keeps its file-level 'use differentiable' directive, which
          // Rollup says it ignores (dualtape/rollup filters this out; plain Babel does not).
          if (warning.code === 'MODULE_LEVEL_DIRECTIVE' && warning.message.includes('use differentiable')) return;
          console.warn(`rollup: ${warning.message}`);
        },
      });
      await bundle.write({ file: outfile, format: 'es', sourcemap: true });
      await bundle.close();
      break;
    }
    case 'webpack':
    case 'webpack-babel': {
      const { default: webpack } = await import('webpack');
      const { default: dualtape } = await import('dualtape/webpack');
      const plainBabel = bundler === 'webpack-babel';
      const compiler = webpack({
        mode: 'production',
        target: 'node20',
        context: repo,
        entry,
        devtool: 'source-map',
        output: { path: outDir, filename: 'main.mjs', module: true, chunkFormat: 'module', library: { type: 'module' } },
        experiments: { outputModule: true },
        optimization: { minimize: false },
        resolve: { extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } },
        module: {
          rules: [
            // webpack does not read TypeScript either (ts-loader or esbuild-loader work too);
            // webpack-babel: babel-loader compiles every module, dualtape/babel included.
            { test: /\.ts$/, exclude: /node_modules/, loader: 'babel-loader', options: babelOptions(plainBabel) },
          ],
        },
        plugins: plainBabel ? [] : [dualtape()],
      });
      const stats = await new Promise((ok, fail) => compiler.run((error, result) => (error ? fail(error) : ok(result))));
      await new Promise((ok) => compiler.close(ok));
      if (stats.hasErrors() || stats.hasWarnings()) {
        console.error(stats.toString({ all: false, errors: true, warnings: true, colors: false }));
      }
      if (stats.hasErrors()) throw new Error('webpack: build failed (errors above)');
      break;
    }
    case 'esbuild': {
      const esbuild = await import('esbuild');
      const { default: dualtape } = await import('dualtape/esbuild');
      await esbuild.build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        outfile,
        sourcemap: true,
        logLevel: 'warning',
        // This repository's tsconfig.json maps 'dualtape' to its sources for type
        // checking, and esbuild follows tsconfig "paths": ignore it, so 'dualtape'
        // resolves through package.json "exports" as in a project that installs it.
        tsconfigRaw: {},
        plugins: [dualtape()],
      });
      break;
    }
    default:
      throw new Error(`unknown bundler '${bundler}' (one of ${BUNDLERS.join(', ')})`);
  }
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [bundler, outArg, entryArg] = process.argv.slice(2);
  if (!BUNDLERS.includes(bundler ?? '')) {
    console.error(`usage: node examples/curve-fit/build.mjs <${BUNDLERS.join('|')}> [outDir] [entry]`);
    process.exit(2);
  }
  const abs = (p) => (isAbsolute(p) ? p : resolve(p));
  const outDir = abs(outArg ?? join(repo, `.tmp/curve-fit-${bundler}`));
  const entry = abs(entryArg ?? join(repo, 'examples/curve-fit/main.ts'));
  try {
    const outfile = await buildWith(bundler, { entry, outDir });
    console.log(`${bundler}: ${outfile}`);
  } catch (error) {
    // The bundler's error as Node would print it (message, then the bundler's own stack).
    console.error(error instanceof Error ? error.stack : error);
    process.exitCode = 1;
  }
}
