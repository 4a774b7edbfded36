/**
 * `dualtape/register`: run TypeScript (and 'use differentiable' JavaScript)
 * through the dualtape Babel plugin on the fly.
 *
 *   node --import dualtape/register app.ts
 *
 * The hooks themselves live in hooks.ts and run on Node's loader thread.
 */
import { register } from 'node:module';

// Stack traces point at the original .ts lines (the hooks emit inline source maps).
process.setSourceMapsEnabled(true);

register('./hooks.js', import.meta.url);
