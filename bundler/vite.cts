/**
 * `require('dualtape/vite')`: the same plugin factory as `import dualtape from 'dualtape/vite'`,
 * for CommonJS config files (`const dualtape = require('dualtape/vite'); … dualtape()`).
 * It loads the ES module entry with require() (Node >= 20.19).
 */
import type { Plugin } from 'vite';
import type { DualtapeBundlerOptions } from './core.js';

const dualtape: (options?: DualtapeBundlerOptions) => Plugin = require('./vite.js').default;
export = dualtape;
