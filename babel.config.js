// The repo's own Babel config, for tools that read one (editors, jest-style
// runners). Babel cannot load the plugin's TypeScript source, so this points
// at the build output: run `npm run build` first to create dist/plugin/index.js.
// (The loader in register/ and vitest.config.ts do not read this file.)
export default {
  presets: [['@babel/preset-typescript', { allowDeclareFields: true, onlyRemoveTypeImports: false }]],
  plugins: ['./dist/plugin/index.js'],
};
