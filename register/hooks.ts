/**
 * Node module customization hooks (see `module.register`) used by
 * `dualtape/register`:
 *
 * - `resolve`: `./helper.js` falls back to `./helper.ts` when no .js file
 *   exists (and `.mjs` -> `.mts`, `.cjs` -> `.cts`, `.jsx` -> `.tsx`);
 *   extensionless relative imports try `.ts` / `.tsx` / `/index.ts`; a bare
 *   specifier that Node cannot resolve is looked up in the nearest
 *   tsconfig.json's `paths`.
 * - `load`: TypeScript files (.ts .mts .tsx) are compiled by Babel to ES
 *   modules with an inline source map: types stripped, JSX, decorators and
 *   `using` declarations lowered, and the dualtape plugin applied to the
 *   modules the shared rule (bundler/compile.ts) selects; JavaScript modules
 *   the rule selects are compiled the same way. CommonJS TypeScript (.cts)
 *   has its types stripped; CommonJS that uses dualtape is refused with an
 *   error saying what to use.
 *
 * A build error is thrown as a DualtapeBuildError whose stack is its message:
 * Node prints the message and Babel's code frame, not Babel's stack.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transformAsync } from '@babel/core';
import { createPathsMatcher } from 'get-tsconfig';
import dualtape from '../plugin/index.js';
import { babelOptions, compiles, toBuildError, tsconfigOf } from '../bundler/compile.js';

const resolvePlugin = createRequire(import.meta.url).resolve;

// Minimal local shapes of Node's hook signatures (@types/node 20 does not export them all).
interface ResolveContext { conditions: string[]; importAttributes?: Record<string, string>; parentURL?: string }
interface ResolveResult { url: string; format?: string | null; shortCircuit?: boolean }
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult>;
interface LoadContext { conditions: string[]; format?: string | null; importAttributes?: Record<string, string> }
interface LoadResult { format: string; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult>;

const TS_ESM = /\.(?:ts|mts|tsx)$/;
const JS_ESM = /\.(?:js|mjs|jsx)$/;
const COMMONJS = /\.(?:cts|cjs)$/;
const REQUIRES_DUALTAPE = /\brequire\s*\(\s*['"]dualtape['"]\s*\)/;
// dualtape's own build output (dist/) is never recompiled.
const OWN_DIST = new URL('../', import.meta.url).href;

const isFile = (url: string) => url.startsWith('file:');
const isRelative = (specifier: string) => /^\.\.?\//.test(specifier);
const isBare = (specifier: string) => !isRelative(specifier) && !specifier.startsWith('/') && !/^[a-z][a-z0-9+.-]*:/i.test(specifier);

/** A file for `base` (a path without or with a JS extension): the TypeScript file it stands for. */
function typescriptFor(base: string): string | undefined {
  const candidates = /\.(?:js|mjs|cjs|jsx)$/.test(base)
    ? [base, base.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.cjs$/, '.cts').replace(/\.jsx$/, '.tsx')]
    : /\.[^./\\]+$/.test(base) ? [base] : [`${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`];
  return candidates.find((c) => existsSync(c));
}

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  const parent = context.parentURL;
  if (parent === undefined || !isFile(parent) || parent.includes('/node_modules/')) return nextResolve(specifier, context);

  if (isRelative(specifier)) {
    const path = fileURLToPath(new URL(specifier, parent));
    const found = typescriptFor(path);
    return nextResolve(found && found !== path ? pathToFileURL(found).href : specifier, context);
  }
  if (isBare(specifier)) {
    // tsconfig `paths` (with `extends` applied), for what Node cannot resolve itself: an
    // installed package (or the package's own name) keeps Node's resolution.
    try {
      return await nextResolve(specifier, context);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'ERR_PACKAGE_IMPORT_NOT_DEFINED') throw error;
      const tsconfig = tsconfigOf(fileURLToPath(parent));
      const matcher = tsconfig && pathsMatcher(tsconfig);
      for (const candidate of matcher ? matcher(specifier) : []) {
        const found = typescriptFor(candidate);
        if (found) return nextResolve(pathToFileURL(found).href, context);
      }
      throw error;
    }
  }
  return nextResolve(specifier, context);
}

const matchers = new Map<string, ReturnType<typeof createPathsMatcher>>();
function pathsMatcher(tsconfig: NonNullable<ReturnType<typeof tsconfigOf>>) {
  let matcher = matchers.get(tsconfig.path);
  if (matcher === undefined) matchers.set(tsconfig.path, (matcher = createPathsMatcher(tsconfig)));
  return matcher;
}

const toText = (source: string | ArrayBuffer | Uint8Array) =>
  typeof source === 'string' ? source : Buffer.from(source as Uint8Array).toString('utf8');

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  const candidate = isFile(url) && !url.includes('/node_modules/') && !url.startsWith(OWN_DIST);
  const path = candidate ? fileURLToPath(url) : '';
  // TypeScript and JSX always need Babel; plain JavaScript only when dualtape compiles it.
  const isTs = TS_ESM.test(path) || path.endsWith('.jsx');
  if (!candidate || !(isTs || JS_ESM.test(path) || COMMONJS.test(path))) return nextLoad(url, context);

  // Node does not know .ts/.tsx/.jsx/.cts: ask for a format so the default loader just reads the file.
  const commonjs = COMMONJS.test(path);
  const loaded = await nextLoad(url, isTs ? { ...context, format: 'module' } : path.endsWith('.cts') ? { ...context, format: 'commonjs' } : context);
  // (Node's loader leaves a CommonJS source to require() unless asked: read it ourselves.)
  const raw = loaded.source ?? (commonjs ? await import('node:fs/promises').then((fs) => fs.readFile(path, 'utf8')) : null);
  if (raw == null) return loaded;
  const source = toText(raw);
  const selected = compiles(path, source);

  if (commonjs) {
    if (selected || REQUIRES_DUALTAPE.test(source)) {
      throw plainError(
        path,
        `${path}: dualtape/register compiles ES modules only, and this CommonJS file uses dualtape. ` +
          `Node cannot load dualtape (an ES module) into CommonJS that a loader compiled, and the plugin follows import declarations, not require(). ` +
          `Rename it to .mts (or .mjs), or to .ts/.js in a package with "type": "module", and use import.`,
      );
    }
    if (path.endsWith('.cjs')) return loaded;
    // .cts without dualtape: types stripped, imports turned into require().
    const result = await transformAsync(source, {
      filename: path,
      babelrc: false,
      configFile: false,
      sourceType: 'module',
      sourceMaps: 'inline',
      presets: [[resolvePlugin('@babel/preset-typescript'), { allowDeclareFields: true, onlyRemoveTypeImports: false }]],
      plugins: [[resolvePlugin('@babel/plugin-transform-modules-commonjs'), { importInterop: 'node' }]],
    }).catch((error: unknown) => Promise.reject(cleanError(error, path)));
    return { format: 'commonjs', source: result?.code ?? '', shortCircuit: true };
  }

  if (!isTs && (loaded.format !== 'module' || !selected)) return loaded;
  const options = babelOptions(path, { plugins: selected ? [dualtape] : [], target: 'node', sourceMaps: 'inline', code: source });
  let result;
  try {
    result = await transformAsync(source, options);
  } catch (error) {
    throw cleanError(error, path);
  }
  return { format: 'module', source: result?.code ?? '', shortCircuit: true };
}

/**
 * A Babel error as a message with its code frame and no stack (so Node prints
 * just that). The error crosses from the loader thread to the main thread as
 * a structured clone, which keeps a plain Error's message and stack only.
 */
function cleanError(error: unknown, path: string): unknown {
  const built = toBuildError(error, path);
  if (built === error || !(built instanceof Error)) return error;
  const { loc } = built as { loc?: { line: number; column: number } };
  return plainError(loc ? `${path}:${loc.line}:${loc.column + 1}` : path, built.message);
}

/** An error whose stack is its message and one frame, the user's file (Node prints a stack without frames in brackets). */
function plainError(where: string, message: string): Error {
  const error = new Error(message.trimEnd());
  error.stack = `Error: ${error.message}\n    at ${where}`;
  return error;
}
