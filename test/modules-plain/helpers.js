// A plain JavaScript module: the dualtape Babel plugin never compiles it
// (vitest.config.ts runs the plugin on .ts files only), so a value carrying
// a derivative that reaches these functions must fail loudly.

export function square(x) {
  return x * x;
}

export function cube(x) {
  return x * x * x;
}

export function plainSin(x) {
  return Math.sin(x);
}

export const helpers = {
  twice(x) {
    return 2 * x;
  },
};
