/** `dualtape/rollup`: the dualtape plugin for Rollup (`plugins: [dualtape()]`). The implementation is bundler/core.ts. */
import { createRollupPlugin } from 'unplugin';
import type { Plugin } from 'rollup';
import { unpluginFactory, type DualtapeBundlerOptions } from './core.js';

export default createRollupPlugin(unpluginFactory) as (options?: DualtapeBundlerOptions) => Plugin;
