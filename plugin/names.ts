/**
 * What the plugin maps to the runtime (`dualtape/ops`). The plugin never
 * knows a derivative: it maps each operator and `Math.*` function to a rule
 * key, and `runtime/rules.ts` holds the rule.
 */

/** Entry points exported by `dualtape` whose first argument is a function to differentiate. */
export const ENTRY_POINTS: ReadonlySet<string> = new Set([
  'grad', 'valueAndGrad', 'jvp', 'vjp', 'jacobian', 'hessian', 'hvp', 'checkpoint', 'compareModes', 'graph',
  'customDerivative',
]);

/**
 * `customDerivative(f, { jvp, vjp })`: `f` is a black box the plugin must not
 * look inside (its derivative comes from the rule); the rule's functions are
 * compiled, since they run on derivative-carrying values when nested.
 */
export const CUSTOM_DERIVATIVE = 'customDerivative';

/** Arithmetic operators (and their compound assignments). `+` is `plus`: it also concatenates strings. */
export const ARITHMETIC: Readonly<Record<string, string>> = {
  '+': 'plus', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod', '**': 'pow',
};

/** Comparisons look at the values. */
export const COMPARISON: Readonly<Record<string, string>> = {
  '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '===': 'eq', '!==': 'ne', '==': 'looseEq', '!=': 'looseNe',
};

/** Integer operators: piecewise constant, they take the plain value (derivative 0). */
export const BITWISE: ReadonlySet<string> = new Set(['|', '&', '^', '<<', '>>', '>>>']);

/** `Math.*` functions with a rule or a piecewise-constant definition in the runtime. */
export const MATH: ReadonlySet<string> = new Set([
  'abs', 'sign', 'sqrt', 'cbrt', 'exp', 'expm1', 'log', 'log1p', 'log2', 'log10', 'pow',
  'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'sinh', 'cosh', 'tanh',
  'asinh', 'acosh', 'atanh', 'hypot', 'max', 'min', 'floor', 'ceil', 'round', 'trunc', 'fround',
]);

/** `Math.*` functions whose result is a plain number whatever the arguments. */
export const MATH_CONSTANT_RESULT: ReadonlySet<string> = new Set([
  'floor', 'ceil', 'round', 'trunc', 'sign', 'random', 'imul', 'clz32',
]);

/** `Math.*` integer functions that take plain values. */
export const MATH_INTEGER: ReadonlySet<string> = new Set(['imul', 'clz32']);

/** Predicates that must look at the value: `isNaN(x)`, `Number.isFinite(x)`, ... */
export const GLOBAL_PREDICATES: ReadonlySet<string> = new Set(['isNaN', 'isFinite']);
export const NUMBER_PREDICATES: ReadonlySet<string> = new Set(['isNaN', 'isFinite', 'isInteger', 'isSafeInteger']);

/** Functions that read a number through its string form: refused on differentiable values. */
export const PARSERS: ReadonlySet<string> = new Set(['parseFloat', 'parseInt']);

/**
 * Native methods that test a callback's result or compare values by identity
 * (array predicates and searches, Map/Set keys): calls with these names go
 * through the runtime's `method`, which checks the receiver at run time.
 */
export const NATIVE_METHODS: ReadonlySet<string> = new Set([
  'filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'some', 'every',
  'includes', 'indexOf', 'lastIndexOf', 'get', 'has', 'delete', 'set', 'add',
]);

/** Built-ins that test or read a number: passed as values, they go through `callable` (their value-aware versions). */
export const NATIVE_VALUES: ReadonlySet<string> = new Set(['Boolean', 'Number', 'isNaN', 'isFinite', 'parseFloat', 'parseInt']);

/** Typed arrays: storing a value that carries a derivative into one would drop it. */
export const TYPED_ARRAYS: ReadonlySet<string> = new Set([
  'Float64Array', 'Float32Array', 'Float16Array', 'Int8Array', 'Int16Array', 'Int32Array',
  'Uint8Array', 'Uint8ClampedArray', 'Uint16Array', 'Uint32Array',
]);

/** The directive that marks a file or function body for compilation. */
export const DIRECTIVE = 'use differentiable';

/**
 * Method names of built-in prototypes (`push`, `slice`, `get`, `toFixed`, ...).
 * Compiled code calls methods with these names directly; every other method
 * call goes through the registry (`callable(o.m).call(o, ...)`), so that a
 * method or stored function with a twin runs its twin. The plugin never gives
 * a method with one of these names a twin: it compiles it in place instead.
 * `call`, `apply` and `bind` are not here: `f.call(...)` must reach f's twin.
 */
export const BUILTIN_METHODS: ReadonlySet<string> = (() => {
  const out = new Set<string>();
  const protos: object[] = [
    Array.prototype, String.prototype, Number.prototype, Boolean.prototype, Object.prototype, Map.prototype,
    Set.prototype, WeakMap.prototype, WeakSet.prototype, Promise.prototype, RegExp.prototype, Date.prototype,
    Object.getPrototypeOf(Float64Array.prototype) as object, ArrayBuffer.prototype, DataView.prototype,
    Error.prototype, Symbol.prototype,
  ];
  for (const p of protos) for (const k of Object.getOwnPropertyNames(p)) out.add(k);
  for (const k of ['call', 'apply', 'bind', 'constructor']) out.delete(k);
  return out;
})();
