// Node's `assert`, as far as @babel/helper-module-imports (used by the dualtape plugin) needs it in the browser.
module.exports = function assert(condition, message) {
  if (!condition) throw new Error(message || 'Assertion failed');
};
