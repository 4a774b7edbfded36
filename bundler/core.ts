/**
 * The dualtape bundler plugin, written once against unplugin: `dualtape/vite`,
 * `dualtape/rollup`, `dualtape/webpack` and `dualtape/esbuild` are thin
 * entries over this factory.
 *
 * Its one hook is `transform`: a module that imports dualtape (or contains a
 * 'use differentiable' directive) is run through @babel/core with
 * @babel/preset-typescript (for .ts/.tsx/.mts/.cts files) and the dualtape
 * Babel plugin, returning the code and its source map. Everything else —
 * other modules, anything under node_modules, dualtape's own runtime — is
 * left to the bundler untouched, so TypeScript files that do not use dualtape
 * still need the bundler's usual TypeScript handling (Vite and esbuild strip
 * types themselves; for Rollup and webpack see the README).
 *
 * A build error of the plugin (an unsupported construct, a syntax error)
 * becomes the bundler's error: the plugin's message with Babel's code frame
 * and the location, without a stack trace from inside Babel.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { transformAsync } from '@babel/core';
import type { UnpluginFactory } from 'unplugin';
import dualtapeBabel from '../plugin/index.js';
import type { DualtapeBundlerOptions } from './options.js';

export type { DualtapeBundlerOptions };

// Resolved from this package (not the user's project), so users need not install it.
const presetTypescript = createRequire(import.meta.url).resolve('@babel/preset-typescript');

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Source that uses dualtape: an import or re-export from the runtime module
 * (`from 'dualtape'` with nothing quote-like before it on its line, so not
 * the same words inside a string), a bare `import 'dualtape'`, or a
 * 'use differentiable' directive at the start of a line (file level or a
 * function body). A false positive (say, a commented-out import) only costs
 * a Babel pass that changes nothing.
 */
export function usesDualtape(runtime = 'dualtape'): RegExp {
  const name = escapeRegExp(runtime);
  return new RegExp(
    `^\\s*(['"])use differentiable\\1|^[^'"\`\\n]*\\bfrom\\s*['"]${name}['"]|^\\s*import\\s*['"]${name}['"]`,
    'm',
  );
}

/** Module ids (query stripped) the plugin may compile: JavaScript and TypeScript sources. */
const SCRIPT = /\.(?:[cm]?[jt]s|[jt]sx)$/;
const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/;
/** dualtape's own runtime (dist/runtime/ when installed, runtime/ in this repository). */
const OWN_RUNTIME = fileURLToPath(new URL('../runtime/', import.meta.url));

const cleanId = (id: string) => id.replace(/[?#].*$/, '');

/**
 * The error a bundler reports for a plugin failure. The message is the whole
 * report — `file:line:column: what is wrong and what to do`, then Babel's code
 * frame — because that is the part every bundler prints. (No `frame`
 * property: Rollup and Rolldown would print the frame a second time.)
 */
export interface DualtapeBuildError extends Error {
  code: 'DUALTAPE_BUILD_ERROR';
  plugin: 'dualtape';
  id: string;
  /** 1-based line, 0-based column (Rollup's convention), when the code frame shows one. */
  loc?: { file: string; line: number; column: number };
  /** Tells webpack to print the message instead of the stack. */
  hideStack: true;
}

interface BabelErrorParts {
  /** What is wrong and what to do (the plugin's message). */
  text: string;
  /** Babel's code frame around the offending code. */
  frame?: string;
  loc?: { file: string; line: number; column: number };
}

/**
 * Babel reports a plugin or parse error as `${filename}: ${message}\n${frame}`
 * with a stack from inside @babel/core: split it into the message, the frame
 * and the location (read off the frame). Other errors: undefined.
 */
function describeBabelError(error: unknown, id: string): BabelErrorParts | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (code !== 'BABEL_TRANSFORM_ERROR' && code !== 'BABEL_PARSE_ERROR') return undefined;
  const prefix = `${id}: `;
  const full = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  const lines = full.split('\n');
  const frameStart = lines.findIndex((line) => /^[> ] *\d+ \|/.test(line));
  // (A parse error's message ends with its position, which the location below repeats.)
  const text = (frameStart === -1 ? lines : lines.slice(0, frameStart)).join('\n').trim().replace(/ \(\d+:\d+\)$/, '');
  const frame = frameStart === -1 ? undefined : lines.slice(frameStart).join('\n').trimEnd();

  let loc: BabelErrorParts['loc'];
  const parsed = (error as { loc?: { line: number; column: number } }).loc; // parse errors carry one
  if (parsed && typeof parsed.line === 'number') loc = { file: id, line: parsed.line, column: parsed.column };
  else if (frame) {
    const frameLines = frame.split('\n');
    const at = frameLines.findIndex((line) => line.startsWith('>'));
    const marker = frameLines[at + 1];
    const line = at === -1 ? NaN : Number(/^> *(\d+) \|/.exec(frameLines[at]!)?.[1]);
    if (Number.isInteger(line)) {
      const gutter = marker?.indexOf('|') ?? -1;
      const caret = marker?.indexOf('^') ?? -1;
      loc = { file: id, line, column: gutter !== -1 && caret > gutter ? caret - gutter - 2 : 0 };
    }
  }
  return { text, ...(frame ? { frame } : {}), ...(loc ? { loc } : {}) };
}

/**
 * A Babel error as a DualtapeBuildError: the message, the code frame and the
 * location, and no stack from inside Babel. Other errors (a crash inside the
 * plugin, worth a bug report with its stack) are returned unchanged.
 */
export function toBuildError(error: unknown, id: string): unknown {
  const parts = describeBabelError(error, id);
  if (!parts) return error;
  const { text, frame, loc } = parts;
  const where = loc ? `${id}:${loc.line}:${loc.column + 1}` : id;
  const message = frame ? `${where}: ${text}\n\n${frame}\n` : `${where}: ${text}`;
  const result = new Error(message) as DualtapeBuildError;
  result.name = 'DualtapeBuildError';
  result.code = 'DUALTAPE_BUILD_ERROR';
  result.plugin = 'dualtape';
  result.id = id;
  if (loc) result.loc = loc;
  result.hideStack = true;
  // A stack of just the message: bundlers that print the stack print the message.
  result.stack = `${result.name}: ${message}`;
  return result;
}

const isOwnDirectiveLog = (log: { code?: string; message: string }) =>
  log.code === 'MODULE_LEVEL_DIRECTIVE' && log.message.includes('use differentiable');

/** The unplugin factory behind every dualtape bundler entry. */
export const unpluginFactory: UnpluginFactory<DualtapeBundlerOptions | undefined, false> = (options = {}, meta) => {
  const { include, exclude, ...babelOptions } = options;
  const uses = usesDualtape(options.runtime);
  const toList = (patterns: RegExp | readonly RegExp[] | undefined): RegExp[] =>
    patterns === undefined ? [] : patterns instanceof RegExp ? [patterns] : [...patterns];
  const includes = toList(include);
  const excludes = toList(exclude);
  const inScope = (id: string) =>
    SCRIPT.test(id) &&
    !/[\\/]node_modules[\\/]/.test(id) &&
    !id.startsWith(OWN_RUNTIME) &&
    (includes.length === 0 || includes.some((re) => re.test(id))) &&
    !excludes.some((re) => re.test(id));
  return {
    name: 'dualtape',
    // Before the bundler's own TypeScript/JSX handling: the plugin reads the original source.
    enforce: 'pre',
    // The compiled module keeps its file-level 'use differentiable' directive
    // (inert at run time); Rollup would warn that it ignores it when bundling.
    rollup: { onLog: (_level, log) => !isOwnDirectiveLog(log) },
    vite: { onLog: (_level, log) => !isOwnDirectiveLog(log) },
    transform: {
      filter: {
        id: { include: [SCRIPT, /\.(?:[cm]?[jt]s|[jt]sx)[?#]/], exclude: [/[\\/]node_modules[\\/]/, /\0/] },
        code: { include: uses },
      },
      async handler(code, rawId) {
        const id = cleanId(rawId);
        // (The filter above is a fast path some bundlers apply natively; this is the rule.)
        if (!inScope(id) || !uses.test(code)) return null;
        const isTs = TYPESCRIPT.test(id);
        let result;
        try {
          result = await transformAsync(code, {
            filename: id,
            sourceFileName: id,
            babelrc: false,
            configFile: false,
            sourceType: 'module',
            sourceMaps: true,
            highlightCode: false,
            // The preset picks TSX parsing for .tsx itself (by file name); JSX stays for the bundler.
            presets: isTs ? [[presetTypescript, { allowDeclareFields: true, onlyRemoveTypeImports: false }]] : [],
            parserOpts: { plugins: /\.jsx$/.test(id) ? ['jsx'] : [] },
            plugins: [[dualtapeBabel, babelOptions]],
          });
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
