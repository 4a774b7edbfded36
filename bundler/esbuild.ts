/** `dualtape/esbuild`: the dualtape plugin for esbuild (`plugins: [dualtape()]`). The implementation is bundler/core.ts. */
import { createEsbuildPlugin } from 'unplugin';
import type { Plugin } from 'esbuild';
import { unpluginFactory, type DualtapeBundlerOptions } from './core.js';

export default createEsbuildPlugin(unpluginFactory) as (options?: DualtapeBundlerOptions) => Plugin;
