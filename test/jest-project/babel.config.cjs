// Babel config for the Jest project: Jest runs CommonJS, so preset-env turns
// ES modules into require() calls; preset-typescript strips types; the
// dualtape plugin compiles the differentiated functions.
//
// In a project that installs dualtape this is `plugins: ['dualtape/babel']`.
// Here the package is this repository itself: Babel resolves plugin names
// from @babel/core's location, where 'dualtape' is not installed, so the name
// is resolved from this file (package self-reference through "exports").
module.exports = {
  presets: [['@babel/preset-env', { targets: { node: 'current' } }], '@babel/preset-typescript'],
  plugins: [require.resolve('dualtape/babel')],
};
