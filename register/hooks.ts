/**
 * Node module customization hooks (see `module.register`) used by
 * `dualtape/register`:
 *
 * - `resolve`: `./helper.js` falls back to `./helper.ts` when no .js file
 *   exists (and `.mjs` -> `.mts`, `.jsx` -> `.tsx`); extensionless relative
 *   imports try `.ts` / `.tsx` / `/index.ts`.
 * - `load`: TypeScript files, and JavaScript files that use dualtape, are
 *   compiled by Babel (preset-typescript + the dualtape plugin) to ES modules
 *   with an inline source map.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { transformAsync } from '@babel/core';
import dualtape from '../plugin/index.js';

// Resolved from here (not from the user's cwd); a path also needs no type declarations.
const presetTypescript = createRequire(import.meta.url).resolve('@babel/preset-typescript');

// Minimal local shapes of Node's hook signatures (@types/node 20 does not export them all).
interface ResolveContext { conditions: string[]; importAttributes?: Record<string, string>; parentURL?: string }
interface ResolveResult { url: string; format?: string | null; shortCircuit?: boolean }
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult>;
interface LoadContext { conditions: string[]; format?: string | null; importAttributes?: Record<string, string> }
interface LoadResult { format: string; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult>;

const TS_EXT = /\.(?:ts|mts|tsx)$/;
const JS_EXT = /\.(?:js|mjs)$/;
// A 'use differentiable' directive, or an import/export from 'dualtape' (not the
// same words inside a string: nothing quote-like may precede `from` on its line).
const USES_DUALTAPE = /^\s*(['"])use differentiable\1|^[^'"`\n]*\bfrom\s*['"]dualtape['"]|^\s*import\s*['"]dualtape['"]/m;
// dualtape's own build output (dist/) is never recompiled.
const OWN_DIST = new URL('../', import.meta.url).href;

const isFile = (url: string) => url.startsWith('file:');
const isRelative = (specifier: string) => /^\.\.?\//.test(specifier);

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  const parent = context.parentURL;
  if (!isRelative(specifier) || parent === undefined || !isFile(parent)) return nextResolve(specifier, context);

  const exists = (candidate: string) => existsSync(fileURLToPath(new URL(candidate, parent)));
  let candidates: string[] = [];
  if (/\.(?:js|mjs|jsx)$/.test(specifier) && !exists(specifier)) {
    candidates = [specifier.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.jsx$/, '.tsx')];
  } else if (!/\.[^./]+$/.test(specifier)) {
    candidates = [`${specifier}.ts`, `${specifier}.tsx`, `${specifier}/index.ts`];
  }
  const found = candidates.find(exists);
  return nextResolve(found ?? specifier, context);
}

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  const candidate = isFile(url) && !url.includes('/node_modules/') && !url.startsWith(OWN_DIST);
  const path = candidate ? fileURLToPath(url) : '';
  if (!candidate || !(TS_EXT.test(path) || JS_EXT.test(path))) return nextLoad(url, context);

  const isTs = TS_EXT.test(path);
  // Node does not know .ts: ask for 'module' so the default loader just reads the file.
  const loaded = await nextLoad(url, isTs ? { ...context, format: 'module' } : context);
  if (loaded.source == null) return loaded;
  const source = typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString('utf8');
  if (!isTs && (loaded.format !== 'module' || !USES_DUALTAPE.test(source))) return loaded;

  const result = await transformAsync(source, {
    filename: path,
    sourceFileName: path,
    babelrc: false,
    configFile: false,
    sourceType: 'module',
    sourceMaps: 'inline',
    presets: [[presetTypescript, { allowDeclareFields: true, onlyRemoveTypeImports: false }]],
    plugins: [dualtape],
  });
  return { format: 'module', source: result?.code ?? '', shortCircuit: true };
}
