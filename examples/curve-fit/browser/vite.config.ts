/**
 * Vite config of the curve-fit page: the dualtape plugin compiles the
 * functions handed to grad/valueAndGrad (in ../fit.ts and main.ts) and the
 * 'use differentiable' helpers they call (../model.ts). `dualtape/vite` is
 * this package's own entry (package.json "exports" -> dist/bundler/vite.js),
 * so run `npm run build` first.
 *
 *   npx vite build examples/curve-fit/browser      # -> examples/curve-fit/browser/dist
 *   npx vite examples/curve-fit/browser            # dev server
 */
import dualtape from 'dualtape/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset URLs: the built page works from any directory.
  base: './',
  plugins: [dualtape()],
  build: {
    target: 'es2022',
    // Errors in the browser (and the ?throw demo) map back to the TypeScript sources.
    sourcemap: true,
  },
});
