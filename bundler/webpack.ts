/** `dualtape/webpack`: the dualtape plugin for webpack (`plugins: [dualtape()]`). The implementation is bundler/core.ts. */
import { createWebpackPlugin } from 'unplugin';
import type { WebpackPluginInstance } from 'webpack';
import { unpluginFactory } from './core.js';
import type { DualtapeBundlerOptions } from './options.js';

export type { DualtapeBundlerOptions };

export default createWebpackPlugin(unpluginFactory) as (options?: DualtapeBundlerOptions) => WebpackPluginInstance;
