/**
 * `require('dualtape/esbuild')`: the same plugin factory as `import dualtape from 'dualtape/esbuild'`,
 * for CommonJS config files (`const dualtape = require('dualtape/esbuild'); … dualtape()`).
 * It loads the ES module entry with require() (Node >= 20.19).
 */
import type { Plugin } from 'esbuild';
import type { DualtapeBundlerOptions } from './core.js';

const dualtape: (options?: DualtapeBundlerOptions) => Plugin = require('./esbuild.js').default;
export = dualtape;
