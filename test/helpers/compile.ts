/**
 * Compiles a source string with the real dualtape Babel plugin (plus the
 * CommonJS transform) and runs it as a module, `dualtape` and `dualtape/ops`
 * resolving to the runtime under test. Extra modules (`./helpers`) may be
 * given as source strings; they are compiled the same way. For tests that
 * need a transform option per program (fastPath on and off) or several
 * modules in one test, where vitest's own pipeline compiles each file once.
 */
import { transformSync } from '@babel/core';
import type { TransformOptions } from '@babel/core';
import { createRequire } from 'node:module';
import plugin from '../../plugin/index.ts';
import * as runtimeIndex from '../../runtime/index.ts';
import * as runtimeOps from '../../runtime/ops.ts';

const require = createRequire(import.meta.url);
const presetTypescript = require.resolve('@babel/preset-typescript');
const modulesCommonjs = require.resolve('@babel/plugin-transform-modules-commonjs');

export interface CompileOptions {
  fastPath?: boolean;
  /** The generated tiers (adjoint and tangent code); default on, as in the plugin. False: the tape tier only. */
  generated?: boolean;
  filename?: string;
  sourceType?: 'module' | 'script';
}

export function transform(source: string, opts: CompileOptions = {}, commonjs = true): string {
  const options: TransformOptions = {
    filename: opts.filename ?? '/virtual/input.ts',
    babelrc: false,
    configFile: false,
    highlightCode: false,
    sourceType: opts.sourceType ?? 'module',
    presets: [[presetTypescript, { onlyRemoveTypeImports: false }]],
    plugins: [[plugin, { fastPath: opts.fastPath !== false, ...(opts.generated === false ? { adjoint: false, tangent: false } : {}) }], ...(commonjs ? [modulesCommonjs] : [])] as TransformOptions['plugins'],
  };
  const out = transformSync(source, options);
  if (out?.code == null) throw new Error('no output');
  return out.code;
}

/** Runs `main` (and the modules it imports by './name') compiled; returns its exports. */
export function run(main: string, opts: CompileOptions = {}, others: Record<string, string> = {}): Record<string, any> {
  const cache = new Map<string, Record<string, unknown>>();
  const load = (name: string, source: string): Record<string, unknown> => {
    const hit = cache.get(name);
    if (hit) return hit;
    const module = { exports: {} as Record<string, unknown> };
    cache.set(name, module.exports);
    const code = transform(source, { ...opts, filename: `/virtual/${name}.ts` });
    const req = (id: string) => {
      if (id === 'dualtape') return runtimeIndex;
      if (id === 'dualtape/ops') return runtimeOps;
      const local = id.replace(/^\.\//, '').replace(/\.(ts|js)$/, '');
      if (local in others) return load(local, others[local]!);
      throw new Error(`unknown module ${id}`);
    };
    new Function('require', 'module', 'exports', code)(req, module, module.exports);
    cache.set(name, module.exports);
    return module.exports;
  };
  return load('main', main);
}
