/**
 * What every dualtape entry shares: the bundler plugins (bundler/core.ts) and
 * the Node loader (register/hooks.ts) decide with the same functions which
 * modules are compiled, parse them with the same Babel options (read from
 * the project's tsconfig.json), and report a build error the same way.
 *
 * The rule for which modules are compiled (`compiles`): a JavaScript or
 * TypeScript file outside node_modules and outside dualtape's own runtime
 * whose source
 *
 * - imports or re-exports from 'dualtape' (`import … from`, `export … from`,
 *   `import 'dualtape'`, or a dynamic `import('dualtape')`), or
 * - contains a 'use differentiable' directive: at the top of the file or of a
 *   function body, also on the line of the opening brace (`(x) => { 'use
 *   differentiable'; … }`).
 *
 * A module that does neither is never compiled, by any entry: a module that
 * only hands its functions to a library that calls `grad` (`train(loss)`
 * across packages) must import from 'dualtape' (even just `import 'dualtape'`)
 * or mark those functions with 'use differentiable'. The test is on the text:
 * a false positive (the same words in a comment) costs one Babel pass that
 * changes nothing; the Babel plugin makes the final decision on the syntax.
 */
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ParserOptions, PluginItem, TransformOptions } from '@babel/core';
import { getTsconfig, type TsConfigResult } from 'get-tsconfig';

const require = createRequire(import.meta.url);
// Resolved from this package (not the user's project), so users need not install them.
const resolved = (name: string) => require.resolve(name);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Source that uses dualtape (see the rule above): `from 'dualtape'` with
 * nothing quote-like before it on its line (so not the same words inside a
 * string), `import 'dualtape'`, `import('dualtape')`, or a 'use differentiable'
 * directive at the start of a line or right after `{` or `;`.
 */
export function usesDualtape(runtime = 'dualtape'): RegExp {
  const name = escapeRegExp(runtime);
  return new RegExp(
    [
      `(?:^|[{;])[ \\t]*(['"])use differentiable\\1`,
      `^[^'"\`\\n]*\\bfrom\\s*['"]${name}['"]`,
      `^\\s*import\\s*['"]${name}['"]`,
      `\\bimport\\s*\\(\\s*['"]${name}['"]\\s*\\)`,
    ].join('|'),
    'm',
  );
}

/** Module ids (query stripped) an entry may compile: JavaScript and TypeScript sources. */
export const SCRIPT = /\.(?:[cm]?[jt]s|[jt]sx)$/;
export const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/;
/** dualtape's own runtime (dist/runtime/ when installed, runtime/ in this repository). */
const OWN_RUNTIME = fileURLToPath(new URL('../runtime/', import.meta.url));

export interface ScopeOptions {
  runtime?: string | undefined;
  include?: readonly RegExp[];
  exclude?: readonly RegExp[];
}

/** May the file at `path` be compiled at all (by its name)? */
export function inScope(path: string, options: ScopeOptions = {}): boolean {
  const { include = [], exclude = [] } = options;
  return (
    SCRIPT.test(path) &&
    !/[\\/]node_modules[\\/]/.test(path) &&
    !path.startsWith(OWN_RUNTIME) &&
    (include.length === 0 || include.some((re) => re.test(path))) &&
    !exclude.some((re) => re.test(path))
  );
}

const patterns = new Map<string, RegExp>();
/** The one rule: does dualtape compile this module (path without query, source)? */
export function compiles(path: string, code: string, options: ScopeOptions = {}): boolean {
  const runtime = options.runtime ?? 'dualtape';
  let uses = patterns.get(runtime);
  if (!uses) patterns.set(runtime, (uses = usesDualtape(runtime)));
  return inScope(path, options) && uses.test(code);
}

// ---------------------------------------------------------------------------
// The project's settings, from the nearest tsconfig.json
// ---------------------------------------------------------------------------

/** Which decorators the source is written with: TypeScript's `experimentalDecorators` or the standard (stage 3) ones. */
export type DecoratorsOption = 'legacy' | 'stage3';

const tsconfigCache = new Map<string, unknown>();
/** The nearest tsconfig.json above `file` (with `extends` applied), or null. Cached per process. */
export function tsconfigOf(file: string): TsConfigResult | null {
  return getTsconfig(dirname(file), 'tsconfig.json', tsconfigCache as Map<string, never>);
}

/** The decorators to parse `file` with: the option, else the nearest tsconfig's `experimentalDecorators`. */
export function decoratorsFor(file: string, option?: DecoratorsOption): DecoratorsOption {
  if (option) return option;
  return tsconfigOf(file)?.config.compilerOptions?.experimentalDecorators ? 'legacy' : 'stage3';
}

export interface CompileOptions {
  /** Babel plugins and options: the dualtape plugin with its options. */
  plugins: PluginItem[];
  /** Decorators syntax (default: from the nearest tsconfig.json). */
  decorators?: DecoratorsOption | undefined;
  /**
   * 'bundler': TypeScript types are stripped; decorators and JSX are left for
   * the bundler's own TypeScript step. 'node': the output must run in Node
   * as it is: decorators, JSX and `using` declarations are lowered too.
   */
  target: 'bundler' | 'node';
  /** Source maps: an object for bundlers, inline for Node. */
  sourceMaps: TransformOptions['sourceMaps'];
  /** The source, when known: the 'node' lowering plugins are added only where it may need them. */
  code?: string;
}

/** The Babel options every entry compiles `file` with. */
export function babelOptions(file: string, options: CompileOptions): TransformOptions {
  const isTs = TYPESCRIPT.test(file);
  const jsx = /\.[jt]sx$/.test(file);
  const decorators = decoratorsFor(file, options.decorators);
  // Parse what TypeScript parses: decorators of the kind the project uses.
  const parserPlugins: NonNullable<ParserOptions['plugins']> = [decorators === 'legacy' ? 'decorators-legacy' : 'decorators'];
  if (jsx && !isTs) parserPlugins.push('jsx');
  const plugins: PluginItem[] = [...options.plugins];
  if (options.target === 'node') {
    const code = options.code;
    // (A cheap look at the text first: most files have neither, and these plugins cost time.)
    if (code === undefined || code.includes('@')) {
      plugins.push([resolved('@babel/plugin-proposal-decorators'), decorators === 'legacy' ? { version: 'legacy' } : { version: '2023-11' }]);
    }
    // `using` / `await using`: Node 20 does not run them.
    if (code === undefined || /\busing\b/.test(code)) plugins.push(resolved('@babel/plugin-transform-explicit-resource-management'));
    if (jsx) plugins.push(jsxTransform(file));
  }
  return {
    filename: file,
    sourceFileName: file,
    babelrc: false,
    configFile: false,
    sourceType: 'module',
    sourceMaps: options.sourceMaps,
    highlightCode: false,
    // The preset picks TSX parsing for .tsx itself (by file name).
    presets: isTs ? [[resolved('@babel/preset-typescript'), { allowDeclareFields: true, onlyRemoveTypeImports: false }]] : [],
    parserOpts: { plugins: parserPlugins },
    plugins,
  };
}

/** JSX for Node, as the nearest tsconfig says (`jsx`, `jsxImportSource`, `jsxFactory`); React's automatic runtime by default. */
function jsxTransform(file: string): PluginItem {
  const options = tsconfigOf(file)?.config.compilerOptions ?? {};
  const plugin = resolved('@babel/plugin-transform-react-jsx');
  const jsx = String(options.jsx ?? 'react-jsx').toLowerCase();
  if (jsx === 'react') {
    return [plugin, { runtime: 'classic', pragma: options.jsxFactory ?? 'React.createElement', pragmaFrag: options.jsxFragmentFactory ?? 'React.Fragment' }];
  }
  return [plugin, { runtime: 'automatic', importSource: options.jsxImportSource ?? 'react', development: jsx === 'react-jsxdev' }];
}

// ---------------------------------------------------------------------------
// Build errors: the message and the code frame, no stack from inside Babel
// ---------------------------------------------------------------------------

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
