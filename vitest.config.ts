import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import dualtape from './bundler/vite.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const root = here('./');
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export default defineConfig({
  // The dualtape Vite plugin (from source: bundler/vite.ts) compiles the test
  // and example modules that use dualtape, before Vite's own TypeScript transform.
  plugins: [
    dualtape({
      include: new RegExp(`^${escapeRegExp(root)}(?:test|examples|bench)/.*\\.(?:ts|mts|tsx)$`),
      exclude: /[\\/]fixtures[\\/]/,
      // DUALTAPE_FAST_PATH=0 runs the whole suite on the generic path only.
      fastPath: process.env.DUALTAPE_FAST_PATH !== '0',
    }),
  ],
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
