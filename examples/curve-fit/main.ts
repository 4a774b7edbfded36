/**
 * Fits y = a · exp(-b · x) + c to 40 noisy samples (200 gradient steps) and prints the fitted
 * parameters and the final gradient.
 *
 *   node --import dualtape/register examples/curve-fit/main.ts
 *
 * or bundled by Vite, Rollup, webpack or esbuild with the dualtape bundler
 * plugin (see docs/bundlers.md; test/bundlers.test.ts builds it with each).
 */
import { fitCurve, formatFit } from './fit.ts';

const result = fitCurve();
console.log(`curve-fit: ${result.data.length} samples, ${result.steps} steps`);
console.log(formatFit(result));
