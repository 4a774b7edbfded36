/**
 * The dualtape bundler plugin, written once against unplugin: `dualtape/vite`,
 * `dualtape/rollup`, `dualtape/webpack` and `dualtape/esbuild` are thin
 * entries over this factory (and `bundler/*.cts` their CommonJS twins).
 *
 * Its main hook is `transform`: a module that the shared rule selects
 * (bundler/compile.ts: it imports dualtape, statically or dynamically, or has
 * a 'use differentiable' directive) is run through @babel/core with
 * @babel/preset-typescript (for .ts/.tsx/.mts/.cts files) and the dualtape
 * Babel plugin, parsed with the decorators the nearest tsconfig.json asks
 * for, returning the code and its source map. Everything else — other
 * modules, anything under node_modules, dualtape's own runtime — is left to
 * the bundler untouched, so TypeScript files that do not use dualtape still
 * need the bundler's usual TypeScript handling (docs/toolchains.md).
 *
 * Per bundler:
 * - Vite: the plugin adds a copy of itself to `worker.plugins` (Vite builds
 *   Web Workers with those only) and, in dev, `dualtape` and `dualtape/ops`
 *   to `optimizeDeps.include` (the compiled code imports `dualtape/ops`,
 *   which the dependency scan cannot see: a cold start would reload).
 * - webpack: before the TypeScript loader (`enforce: 'pre'`), except behind
 *   ts-loader in its type-checking mode, which must see the user's own
 *   source: then after it (`'post'`), on its JavaScript output.
 *
 * A build error of the plugin (an unsupported construct, a syntax error)
 * becomes the bundler's error: the plugin's message with Babel's code frame
 * and the location, without a stack trace from inside Babel.
 */
import { createVitePlugin, type UnpluginFactory } from 'unplugin';
import type { Plugin as VitePlugin, PluginOption, UserConfig as ViteUserConfig } from 'vite';
import { transformAsync } from '@babel/core';
import dualtapeBabel from '../plugin/index.js';
import { babelOptions, compiles, inScope, toBuildError, usesDualtape } from './compile.js';
import type { DualtapeBundlerOptions } from './options.js';

export { toBuildError, usesDualtape, type DualtapeBuildError } from './compile.js';
export type { DualtapeBundlerOptions };

const cleanId = (id: string) => id.replace(/[?#].*$/, '');

/** webpack rules that run ts-loader with type checking (not `transpileOnly`). */
function typeCheckingTsLoader(rules: unknown): boolean {
  const isTsLoader = (loader: unknown) => typeof loader === 'string' && /(?:^|[\\/])ts-loader(?:[\\/]|$)/.test(loader);
  const checks = (options: unknown) => {
    const o = (options ?? {}) as { transpileOnly?: unknown; happyPackMode?: unknown };
    return o.transpileOnly !== true && o.happyPackMode !== true;
  };
  const visit = (rule: unknown): boolean => {
    if (!rule || typeof rule !== 'object') return typeof rule === 'string' && isTsLoader(rule);
    const r = rule as { loader?: unknown; options?: unknown; use?: unknown; rules?: unknown; oneOf?: unknown };
    if (isTsLoader(r.loader) && checks(r.options)) return true;
    const use = Array.isArray(r.use) ? r.use : r.use === undefined ? [] : [r.use];
    for (const u of use) {
      if (typeof u === 'string' ? isTsLoader(u) && checks(undefined) : typeof u === 'object' && u && visit(u)) return true;
    }
    return [r.rules, r.oneOf].some((list) => Array.isArray(list) && list.some(visit));
  };
  return Array.isArray(rules) && rules.some(visit);
}

const isOwnDirectiveLog = (log: { code?: string; message: string }) =>
  log.code === 'MODULE_LEVEL_DIRECTIVE' && log.message.includes('use differentiable');

/** Marks the copy of the Vite plugin that compiles Web Workers (see `vite.config` below). */
const WORKER = Symbol('dualtape worker plugin');

/** The unplugin factory behind every dualtape bundler entry. */
export const unpluginFactory: UnpluginFactory<DualtapeBundlerOptions | undefined, false> = (options = {}, meta) => {
  const { include, exclude, decorators, ...babelPluginOptions } = options;
  const runtime = options.runtime ?? 'dualtape';
  const toList = (patterns: RegExp | readonly RegExp[] | undefined): RegExp[] =>
    patterns === undefined ? [] : patterns instanceof RegExp ? [patterns] : [...patterns];
  const scope = { runtime, include: toList(include), exclude: toList(exclude) };
  // webpack with ts-loader type-checking: ts-loader must see the user's own source (it
  // type-checks what it is given), so dualtape runs after it, on its JavaScript output.
  const compiler = meta.framework === 'webpack' ? (meta as { webpack?: { compiler?: { options?: { module?: { rules?: unknown } } } } }).webpack?.compiler : undefined;
  const afterTsLoader = compiler !== undefined && typeCheckingTsLoader(compiler.options?.module?.rules);
  const requiresRuntime = new RegExp(`\\brequire\\s*\\(\\s*['"]${runtime.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]\\s*\\)`);
  const isWorkerCopy = (options as { [WORKER]?: true })[WORKER] === true;
  return {
    name: 'dualtape',
    // Before the bundler's own TypeScript/JSX handling: the plugin reads the original source
    // (after it only behind a type-checking ts-loader, see above).
    enforce: afterTsLoader ? 'post' : 'pre',
    // The compiled module keeps its file-level 'use differentiable' directive
    // (inert at run time); Rollup would warn that it ignores it when bundling.
    rollup: { onLog: (_level, log) => !isOwnDirectiveLog(log) },
    vite: {
      onLog: (_level, log) => !isOwnDirectiveLog(log),
      config(config: ViteUserConfig, env: { command: string }) {
        if (isWorkerCopy) return;
        // Vite applies `plugins` to Web Workers only in dev: `vite build` bundles workers
        // with `worker.plugins`. Add a copy of this plugin there, unless the user did.
        const userWorkerPlugins = config.worker?.plugins as unknown;
        config.worker = {
          ...config.worker,
          plugins: () => {
            const user = typeof userWorkerPlugins === 'function' ? (userWorkerPlugins as () => unknown)() : userWorkerPlugins;
            const list = ((Array.isArray(user) ? user : user ? [user] : []) as unknown[]).flat(Infinity) as PluginOption[];
            const hasOwn = list.some((p) => (p as { name?: unknown } | null)?.name === 'dualtape');
            return hasOwn ? list : [...list, createVitePlugin(unpluginFactory)({ ...options, [WORKER]: true } as DualtapeBundlerOptions)];
          },
        } as ViteUserConfig['worker'];
        // The compiled code imports `${runtime}/ops`, which no source file names: without it
        // in `optimizeDeps.include`, a cold dev server finds it late (504, page reload).
        if (env.command === 'serve') {
          return { optimizeDeps: { include: [runtime, `${runtime}/ops`] } };
        }
        return undefined;
      },
    } as Partial<VitePlugin>,
    transform: {
      filter: {
        id: { include: [/\.(?:[cm]?[jt]s|[jt]sx)$/, /\.(?:[cm]?[jt]s|[jt]sx)[?#]/], exclude: [/[\\/]node_modules[\\/]/, /\0/] },
        code: { include: afterTsLoader ? [usesDualtape(runtime), requiresRuntime] : usesDualtape(runtime) },
      },
      async handler(code, rawId) {
        const id = cleanId(rawId);
        if (afterTsLoader && inScope(id, scope) && requiresRuntime.test(code) && !compiles(id, code, scope)) {
          // ts-loader turned the imports into require() calls, which dualtape cannot follow.
          this.error(
            `${id}: ts-loader emitted CommonJS (require('${runtime}')), so dualtape cannot find the functions handed to grad. ` +
              `Set "module": "ESNext" (or "preserve") in the tsconfig.json ts-loader uses: webpack handles ES modules itself.`,
          );
        }
        // (The filter above is a fast path some bundlers apply natively; this is the rule.)
        if (!compiles(id, code, scope)) return null;
        let result;
        try {
          result = await transformAsync(
            code,
            babelOptions(id, { plugins: [[dualtapeBabel, babelPluginOptions]], decorators, target: 'bundler', sourceMaps: true }),
          );
        } catch (error) {
          const built = toBuildError(error, id);
          if (meta.framework === 'esbuild' && built !== error) {
            // Reported, not thrown: esbuild attributes a thrown error to the plugin's
            // onLoad callback and prints where that was registered. No location
            // either (the message starts with it): esbuild would show an empty line
            // of source under it. unplugin passes errors on only with a result:
            // the source, unchanged, which esbuild never uses once the build failed.
            this.error({ message: (built as Error).message, id, plugin: 'dualtape' });
            return { code };
          }
          throw built;
        }
        if (!result?.code) return null;
        return { code: result.code, map: result.map ?? null };
      },
    },
  };
};
