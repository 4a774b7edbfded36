// A tiny Jest project: TypeScript tests compiled by babel-jest with the
// dualtape Babel plugin (babel.config.cjs next to this file).
//   npx jest --rootDir test/jest-project      (from the repository root)
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // *.spec.ts, not *.test.ts: the repository's vitest run picks up test/**/*.test.ts.
  testMatch: ['<rootDir>/**/*.spec.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: { '\\.[cm]?[jt]s$': 'babel-jest' },
  // dualtape ships ES modules; Jest (CommonJS) must compile it like your own
  // code when it is installed in node_modules. (Here it is this repository.)
  transformIgnorePatterns: ['/node_modules/(?!dualtape/)'],
};
