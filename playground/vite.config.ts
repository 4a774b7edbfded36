/**
 * The playground (`npm run playground`, `npm run playground:build` -> playground/dist).
 * Built with Vite and dualtape's own Vite plugin; the user's code is compiled in the
 * browser by the same Babel plugin (see compile.ts).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import dualtape from '../bundler/vite.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('./'),
  base: './',
  plugins: [dualtape({ include: /[\\/]playground[\\/][^\\/]*\.ts$/ })],
  resolve: {
    alias: [
      { find: /^dualtape$/, replacement: here('../runtime/index.ts') },
      { find: /^dualtape\/ops$/, replacement: here('../runtime/ops.ts') },
      { find: /^dualtape\/babel$/, replacement: here('../plugin/index.ts') },
      { find: /^assert$/, replacement: here('./shims/assert.cjs') },
    ],
  },
  define: {
    // @babel/standalone and the plugin read process.env in a few places.
    'process.env': '{}',
  },
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 6000,
  },
});
