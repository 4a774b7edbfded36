/**
 * `require('dualtape/rollup')`: the same plugin factory as `import dualtape from 'dualtape/rollup'`,
 * for CommonJS config files (`const dualtape = require('dualtape/rollup'); … dualtape()`).
 * It loads the ES module entry with require() (Node >= 20.19).
 */
import type { Plugin } from 'rollup';
import type { DualtapeBundlerOptions } from './core.js';

const dualtape: (options?: DualtapeBundlerOptions) => Plugin = require('./rollup.js').default;
export = dualtape;
