/** `dualtape/rollup`: the dualtape plugin for Rollup (`plugins: [dualtape()]`). The implementation is bundler/core.ts. */
import { createRollupPlugin } from 'unplugin';
import type { Plugin } from 'rollup';
import { unpluginFactory } from './core.js';
import type { DualtapeBundlerOptions } from './options.js';

export type { DualtapeBundlerOptions };

export default createRollupPlugin(unpluginFactory) as (options?: DualtapeBundlerOptions) => Plugin;
