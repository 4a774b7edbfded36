import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { transformAsync } from '@babel/core';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import dualtape from './plugin/index.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const root = here('./');
const presetTypescript = createRequire(import.meta.url).resolve('@babel/preset-typescript');

/**
 * Runs the dualtape Babel plugin (from source) over test and example modules
 * that use dualtape, before Vite's own TypeScript transform.
 */
function dualtapeBabel(): Plugin {
  const inScope = (file: string) =>
    file.startsWith(root) &&
    /\.(?:ts|mts|tsx)$/.test(file) &&
    /^(?:test|examples)\//.test(file.slice(root.length)) &&
    !/(?:^|\/)(?:fixtures|node_modules)\//.test(file.slice(root.length));

  return {
    name: 'dualtape-babel',
    enforce: 'pre',
    async transform(code, id) {
      const file = id.split('?')[0]!;
      if (!inScope(file) || !/dualtape|use differentiable/.test(code)) return null;
      const result = await transformAsync(code, {
        filename: file,
        sourceFileName: file,
        babelrc: false,
        configFile: false,
        sourceType: 'module',
        sourceMaps: true,
        presets: [[presetTypescript, { allowDeclareFields: true, onlyRemoveTypeImports: false }]],
        plugins: [dualtape],
      });
      if (!result?.code) return null;
      return { code: result.code, map: result.map ?? null };
    },
  };
}

export default defineConfig({
  plugins: [dualtapeBabel()],
  resolve: {
    // Tests and examples import the package by name; point it at the sources.
    alias: [
      { find: /^dualtape$/, replacement: here('./runtime/index.ts') },
      { find: /^dualtape\/ops$/, replacement: here('./runtime/ops.ts') },
      { find: /^dualtape\/babel$/, replacement: here('./plugin/index.ts') },
      { find: /^dualtape\/register$/, replacement: here('./register/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Some tests build the package or spawn node: give them time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
