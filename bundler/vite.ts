/** `dualtape/vite`: the dualtape plugin for Vite (`plugins: [dualtape()]`). The implementation is bundler/core.ts. */
import { createVitePlugin } from 'unplugin';
import type { Plugin } from 'vite';
import { unpluginFactory } from './core.js';
import type { DualtapeBundlerOptions } from './options.js';

export type { DualtapeBundlerOptions };

export default createVitePlugin(unpluginFactory) as (options?: DualtapeBundlerOptions) => Plugin;
