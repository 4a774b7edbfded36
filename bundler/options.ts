/**
 * The options of every bundler entry (dualtape/vite, /rollup, /webpack,
 * /esbuild). A file of its own so that the entries' published types import
 * nothing but the bundler's own types.
 */
import type { DualtapeBabelOptions } from '../plugin/options.js';

export interface DualtapeBundlerOptions extends DualtapeBabelOptions {
  /**
   * Only modules whose path (query stripped) matches one of these are
   * considered (default: all). The other conditions still apply: a JS/TS
   * file that uses dualtape, outside node_modules.
   */
  include?: RegExp | readonly RegExp[];
  /** Modules whose path matches one of these are never compiled. */
  exclude?: RegExp | readonly RegExp[];
  /**
   * The decorators your source is written with: 'legacy' (TypeScript's
   * `experimentalDecorators`) or 'stage3' (the standard ones). Default: read
   * from the nearest tsconfig.json of each file (`experimentalDecorators`).
   * dualtape only parses them; your TypeScript step compiles them.
   */
  decorators?: 'legacy' | 'stage3';
}
