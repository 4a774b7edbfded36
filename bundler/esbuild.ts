/** `dualtape/esbuild`: the dualtape plugin for esbuild (`plugins: [dualtape()]`). The implementation is bundler/core.ts. */
import { createEsbuildPlugin } from 'unplugin';
import type { Plugin } from 'esbuild';
import { unpluginFactory } from './core.js';
import type { DualtapeBundlerOptions } from './options.js';

export type { DualtapeBundlerOptions };

export default createEsbuildPlugin(unpluginFactory) as (options?: DualtapeBundlerOptions) => Plugin;
