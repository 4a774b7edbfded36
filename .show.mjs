import { transformSync } from '@babel/core';
import { readFileSync } from 'node:fs';
const plugin = (await import('/work/wt/adjoint/dist/plugin/index.js')).default;
const src = readFileSync(process.argv[2], 'utf8');
const out = transformSync(src, { filename: process.argv[2], babelrc: false, configFile: false, plugins: [[plugin, { report: true }]], parserOpts: { plugins: ['typescript'] } });
console.log(out.code);
