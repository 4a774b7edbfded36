/**
 * `require('dualtape/webpack')`: the same plugin factory as `import dualtape from 'dualtape/webpack'`,
 * for CommonJS config files (`const dualtape = require('dualtape/webpack'); … dualtape()`).
 * It loads the ES module entry with require() (Node >= 20.19).
 */
import type { WebpackPluginInstance } from 'webpack';
import type { DualtapeBundlerOptions } from './core.js';

const dualtape: (options?: DualtapeBundlerOptions) => WebpackPluginInstance = require('./webpack.js').default;
export = dualtape;
