/**
 * Run-time error paths, through real compiled code: every function handed to
 * grad/valueAndGrad below is compiled by the dualtape Babel plugin (see
 * vitest.config.ts), except those that are deliberately not (created with
 * `new Function`, or imported from the plain JavaScript module in
 * test/modules-plain/, which the plugin never sees).
 *
 * Each error must be loud, name what went wrong (and where), and leave the
 * runtime in a state where the next call gives correct numbers.
 */
import { describe, it, expect } from 'vitest';
import { grad, valueAndGrad, DualtapeError } from 'dualtape';
import { cube, helpers, plainSin, square } from './modules-plain/helpers.js';

const MODES = ['reverse', 'forward'] as const;

/** The error `fn` throws (fails the test if it does not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected an error, but the call returned normally');
}

// ---------------------------------------------------------------------------
// Functions the plugin did not compile
// ---------------------------------------------------------------------------
describe('a function the plugin did not compile', () => {
  it('grad of a `new Function` is a TypeError that points at the plugin', () => {
    const f = new Function('x', 'return x * x') as (x: number) => number;
    const e = thrown(() => grad(f));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain('did not compile');
    expect(e.message).toContain("'dualtape/babel'");
    expect(e.message).toContain('Babel plugin');
    expect(e.message).toContain("'use differentiable'");
  });

  it('grad of a function imported from a plain .js module names it', () => {
    const e = thrown(() => grad(square));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^dualtape: grad was given `square`, which the dualtape Babel plugin did not compile/);
  });

  it('valueAndGrad names itself in the message', () => {
    const e = thrown(() => valueAndGrad(cube));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^dualtape: valueAndGrad was given `cube`, which the dualtape Babel plugin did not compile/);
    expect(e.message).toContain('imports valueAndGrad from');
  });

  it('the error is thrown by grad itself, not on the first call', () => {
    // No gradient function is returned that fails later.
    expect(() => grad(plainSin)).toThrow(TypeError);
  });

  it('a bound copy of a compiled function is not compiled', () => {
    function sq(x: number): number {
      return x * x;
    }
    expect(grad(sq)(3)).toBe(6);
    const e = thrown(() => grad(sq.bind(null)));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain('`bound sq`');
  });

  it('something that is not a function', () => {
    const e = thrown(() => grad(42 as unknown as (x: number) => number));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('dualtape: grad expects a function, got a number (42).');
    expect(() => valueAndGrad(null as unknown as (x: number) => number)).toThrow(
      'dualtape: valueAndGrad expects a function, got null.',
    );
  });
});

// ---------------------------------------------------------------------------
// The differentiated function's result
// ---------------------------------------------------------------------------
describe('a result that is not a number', () => {
  function returnsArray(x: number): number {
    return [x, x] as unknown as number;
  }
  function returnsString(x: number): number {
    return ('v' + x) as unknown as number;
  }
  function returnsUndefined(x: number): number {
    void x;
    return undefined as unknown as number;
  }
  function returnsObject(x: number): number {
    return { value: x * 2 } as unknown as number;
  }
  function returnsBoolean(x: number): number {
    return (x > 0) as unknown as number;
  }

  for (const mode of MODES) {
    it(`is a TypeError naming what came back (${mode})`, () => {
      // Each function is handed to grad/valueAndGrad by name, so the plugin compiles it.
      const cases: [string, () => unknown, () => unknown][] = [
        ['an array', () => grad(returnsArray, { mode })(2), () => valueAndGrad(returnsArray, { mode })(2)],
        ['a string ("v2")', () => grad(returnsString, { mode })(2), () => valueAndGrad(returnsString, { mode })(2)],
        ['undefined', () => grad(returnsUndefined, { mode })(2), () => valueAndGrad(returnsUndefined, { mode })(2)],
        ['an object of class Object', () => grad(returnsObject, { mode })(2), () => valueAndGrad(returnsObject, { mode })(2)],
        ['a boolean (true)', () => grad(returnsBoolean, { mode })(2), () => valueAndGrad(returnsBoolean, { mode })(2)],
      ];
      for (const [what, viaGrad, viaValueAndGrad] of cases) {
        for (const call of [viaGrad, viaValueAndGrad]) {
          const e = thrown(call);
          expect(e).toBeInstanceOf(TypeError);
          expect(e.message).toContain(`dualtape: the differentiated function returned ${what};`);
          expect(e.message).toContain('returns a single number');
        }
      }
    });
  }

  it('a constant number result is fine: its gradient is zero', () => {
    expect(grad((x: number) => { void x; return 7; })(3)).toBe(0);
    expect(valueAndGrad((x: number[]) => { void x; return 7; }, { mode: 'forward' })([1, 2])).toEqual([7, [0, 0]]);
  });
});

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------
describe('arguments that cannot be differentiated', () => {
  const first = grad((p: { w: number[] }) => p.w[0]! * 2);
  const one = grad((x: number) => x * x);
  const two = grad((x: number, y: number) => x * y);

  class Point {
    x = 1;
    y = 2;
  }

  const bad = (g: (...args: never[]) => unknown, ...args: unknown[]) => thrown(() => (g as (...a: unknown[]) => unknown)(...args));

  it('names the path of the offending leaf: args[0].w[3]', () => {
    const e = bad(first, { w: [1, 2, 3, 'x'] });
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain('dualtape: args[0].w[3] is a string ("x"); differentiable arguments must be numbers');
  });

  it('strings, null, undefined, booleans, bigints and functions', () => {
    expect(bad(one, '3').message).toContain('args[0] is a string ("3")');
    expect(bad(one, null).message).toContain('args[0] is null;');
    expect(bad(one, undefined).message).toContain('args[0] is undefined;');
    expect(bad(one, true).message).toContain('args[0] is a boolean (true)');
    expect(bad(one, 3n).message).toContain('args[0] is a bigint (3)');
    expect(bad(one, () => 1).message).toContain('args[0] is a function');
    expect(bad(two, 1, false).message).toContain('args[1] is a boolean (false)');
  });

  it('long strings are shortened in the message', () => {
    expect(bad(one, 'abcdefghijklmnopqrstuvwxyz').message).toContain('args[0] is a string ("abcdefghijklmnopqrst…")');
  });

  it('Map, class instances and integer typed arrays', () => {
    expect(bad(one, new Map([['a', 1]])).message).toContain('args[0] is an object of class Map');
    expect(bad(one, new Point()).message).toContain('args[0] is an object of class Point');
    expect(bad(one, new Int32Array([1, 2])).message).toContain('args[0] is an object of class Int32Array');
    expect(bad(first, { w: [1, new Date(0)] }).message).toContain('args[0].w[1] is an object of class Date');
  });

  it('nested paths: object keys, odd keys and array indices', () => {
    const deep = grad((p: { a: { 'b-c': number[] }[] }) => p.a[0]!['b-c'][0]!);
    expect(bad(deep, { a: [{ 'b-c': [1] }, { 'b-c': [2, null] }] }).message).toContain('args[0].a[1]["b-c"][1] is null');
  });

  it('a cyclic object', () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    const e = bad(first, o);
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain('args[0].self refers back to itself');
    const xs: unknown[] = [1, 2];
    xs.push([3, xs]);
    expect(bad(one, xs).message).toContain('args[0][2][1] refers back to itself');
  });

  it('a shared (not cyclic) subtree is fine', () => {
    const shared = [1, 2];
    const g = grad((p: { a: number[]; b: number[] }) => p.a[0]! * p.b[1]!);
    expect(g({ a: shared, b: shared })).toEqual({ a: [2, 0], b: [0, 1] });
  });

  it('suggests argnums when every argument is differentiated, and argnums lets data through', () => {
    const f = (x: number, label: string) => (label === 'double' ? x * 2 : x);
    expect(bad(grad(f), 3, 'double').message).toContain('list the differentiated ones in the argnums option');
    expect(grad(f, { argnums: 0 })(3, 'double')).toBe(2);
    expect(bad(grad(f, { argnums: [1] }), 3, 'double').message).not.toContain('argnums option');
  });

  it('Float64Array and Float32Array are accepted', () => {
    const g = grad((xs: Float64Array) => xs[0]! * xs[1]!);
    expect(g(new Float64Array([2, 3]))).toEqual(new Float64Array([3, 2]));
    const h = grad((xs: Float32Array) => xs[0]! * 2);
    expect(h(new Float32Array([1.5]))).toEqual(new Float64Array([2]));
  });
});

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------
describe('options', () => {
  const f = (x: number, y: number) => x * y;

  it('argnums out of range is reported on the call', () => {
    const g = grad(f, { argnums: 2 });
    const e = thrown(() => g(1, 2));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('dualtape: argnums asks for argument 2, but the function was called with 2 argument(s).');
    expect(() => valueAndGrad(f, { argnums: [0, 5] })(1, 2)).toThrow('argnums asks for argument 5');
  });

  it('argnums listing an argument twice', () => {
    const e = thrown(() => grad(f, { argnums: [0, 0] }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('dualtape: grad option argnums lists an argument twice: [0, 0].');
    expect(() => valueAndGrad(f, { argnums: [1, 0, 1] })).toThrow('lists an argument twice');
  });

  it('argnums that is not a non-negative integer', () => {
    for (const argnums of [1.5, -1, NaN, Infinity, '0', [0, 0.5], [-2], ['1'], null, {}] as unknown[]) {
      const e = thrown(() => grad(f, { argnums } as unknown as { argnums: number }));
      expect(e, `argnums: ${String(argnums)}`).toBeInstanceOf(TypeError);
      expect(e.message).toContain('grad option argnums must be a non-negative integer or an array of them, got');
    }
    expect(thrown(() => grad(f, { argnums: 1.5 })).message).toContain('got a number (1.5)');
    expect(thrown(() => grad(f, { argnums: '0' } as unknown as { argnums: number })).message).toContain('got a string ("0")');
  });

  it('a bad mode', () => {
    const e = thrown(() => grad(f, { mode: 'backward' } as unknown as { mode: 'reverse' }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(`dualtape: grad option mode must be 'reverse' or 'forward', got a string ("backward").`);
    expect(() => valueAndGrad(f, { mode: 1 } as unknown as { mode: 'reverse' })).toThrow(
      `dualtape: valueAndGrad option mode must be 'reverse' or 'forward', got a number (1).`,
    );
  });

  it('options that are not an object', () => {
    expect(() => grad(f, null as unknown as { mode: 'reverse' })).toThrow('dualtape: grad options must be an object, got null.');
    expect(() => grad(f, 'forward' as unknown as { mode: 'reverse' })).toThrow('grad options must be an object, got a string');
  });
});

// ---------------------------------------------------------------------------
// Differentiable values reaching code the plugin did not compile
// ---------------------------------------------------------------------------
describe('a differentiable value reaching uncompiled code', () => {
  for (const mode of MODES) {
    it(`a helper from a plain .js module: DualtapeError naming the helper (${mode})`, () => {
      const g = grad((x: number) => square(x) + 1, { mode });
      const e = thrown(() => g(3));
      expect(e).toBeInstanceOf(DualtapeError);
      expect(e.name).toBe('DualtapeError');
      expect(e.message).toContain('dualtape: a differentiable value (3) was converted to a plain number in square');
      expect(e.message).toContain('modules-plain/helpers.js');
      expect(e.message).toContain("'use differentiable'");
    });

    it(`Math.sin inside an uncompiled helper names the helper (${mode})`, () => {
      const e = thrown(() => grad((x: number) => plainSin(x * 2), { mode })(0.5));
      expect(e).toBeInstanceOf(DualtapeError);
      expect(e.message).toContain('a differentiable value (1) was converted to a plain number');
      expect(e.message).toContain('plainSin');
    });

    it(`a method of a plain object from a plain .js module (${mode})`, () => {
      const e = thrown(() => grad((x: number) => helpers.twice(x), { mode })(4));
      expect(e).toBeInstanceOf(DualtapeError);
      expect(e.message).toContain('twice');
    });

    it(`Number(x) inside compiled code is x, derivative included (${mode})`, () => {
      // Number(x) of a number is x: compiled code keeps the derivative (runtime/natives.ts).
      expect(grad((x: number) => Number(x) * x, { mode })(1.5)).toBe(3);
    });

    it(`parseFloat(x) inside compiled code does not silently drop the derivative (${mode})`, () => {
      // Either a loud error (as the runtime's own message promises for parseFloat) or the right gradient.
      const g = grad((x: number) => parseFloat(x as unknown as string) * x, { mode });
      let result: unknown;
      try {
        result = g(2);
      } catch (e) {
        expect(e).toBeInstanceOf(DualtapeError);
        return;
      }
      expect(result).toBe(4);
    });

    it(`storing into a Float64Array passed in as data is a loud error (${mode})`, () => {
      const g = grad(
        (x: number, buf: Float64Array) => {
          buf[0] = x * 2;
          return buf[0]!;
        },
        { mode, argnums: 0 },
      );
      const e = thrown(() => g(1, new Float64Array(1)));
      expect(e).toBeInstanceOf(DualtapeError);
      expect(e.message).toContain('a differentiable value (2) was converted to a plain number');
    });
  }
});

// ---------------------------------------------------------------------------
// Values escaping a finished computation
// ---------------------------------------------------------------------------
describe('a differentiable value escaping a finished grad', () => {
  for (const mode of MODES) {
    it(`through an outer variable (${mode})`, () => {
      let leaked = 0;
      const g = grad(
        (x: number) => {
          leaked = x * 2;
          return x * x;
        },
        { mode },
      );
      expect(g(3)).toBe(6);
      // Using it in another differentiated computation: the escape error.
      const e = thrown(() => grad((y: number) => y * leaked, { mode })(1));
      expect(e).toBeInstanceOf(DualtapeError);
      expect(e.message).toContain('from a grad/valueAndGrad call that has already returned');
      expect(e.message).toContain('stopGradient');
      // Using it in plain code: it cannot become a number silently either.
      expect(() => leaked + 1).toThrow(DualtapeError);
      // Showing it is fine.
      expect(String(leaked)).toBe('6');
    });

    it(`through a closure (${mode})`, () => {
      let saved: (() => number) | undefined;
      const g = grad(
        (x: number) => {
          saved = () => x * 3;
          return x;
        },
        { mode },
      );
      expect(g(2)).toBe(1);
      const e = thrown(() => grad((y: number) => y + saved!(), { mode })(1));
      expect(e).toBeInstanceOf(DualtapeError);
      expect(e.message).toContain('has already returned');
    });
  }
});

// ---------------------------------------------------------------------------
// An exception inside the differentiated function
// ---------------------------------------------------------------------------
describe('an exception thrown inside f leaves the runtime clean', () => {
  const f = (x: number) => {
    const y = x * x;
    if (y > 25) throw new RangeError('too big');
    return y * x;
  };

  for (const mode of MODES) {
    it(`the next call gives correct numbers (${mode})`, () => {
      const g = grad(f, { mode });
      const vg = valueAndGrad(f, { mode });
      expect(() => g(6)).toThrow(RangeError);
      expect(g(2)).toBe(12);
      expect(() => vg(10)).toThrow('too big');
      expect(vg(3)).toEqual([27, 27]);
      // A different function afterwards, too.
      expect(grad((a: number, b: number) => a * b + a, { mode })(2, 5)).toEqual([6, 2]);
    });

    it(`after a conversion error (${mode})`, () => {
      expect(() => grad((x: number) => cube(x), { mode })(2)).toThrow(DualtapeError);
      expect(grad((x: number) => x * x * x, { mode })(2)).toBe(12);
    });

    it(`an exception in an inner grad, caught by the outer function (${mode})`, () => {
      const outer = grad(
        (x: number) => {
          let inner = 0;
          try {
            inner = grad((y: number) => {
              if (y > 0) throw new Error('inner');
              return y * x;
            })(x);
          } catch {
            inner = x * x;
          }
          return inner + x;
        },
        { mode },
      );
      // inner = x^2 (the inner grad threw), d/dx (x^2 + x) = 2x + 1
      expect(outer(3)).toBe(7);
      expect(outer(-3)).toBe(2); // inner = d/dy (y x) = x, d/dx (x + x) = 2
      expect(grad((z: number) => z * 4, { mode })(1)).toBe(4);
    });
  }
});

// ---------------------------------------------------------------------------
// Showing a differentiable value
// ---------------------------------------------------------------------------
describe('converting a differentiable value to a string shows its value', () => {
  for (const mode of MODES) {
    it(`template literals, String(), toFixed, concatenation (${mode})`, () => {
      const shown: string[] = [];
      const g = grad(
        (x: number) => {
          const y = x * 2;
          shown.push(`x=${x}`, String(y), y.toFixed(2), 'y=' + y, [x, y].join(','));
          return y * x;
        },
        { mode },
      );
      expect(g(1.5)).toBe(6);
      expect(shown).toEqual(['x=1.5', '3', '3.00', 'y=3', '1.5,3']);
    });

    // JSON round-trips a number (JSON.parse(JSON.stringify(x))) without its derivative, so it is
    // refused like Number(x), rather than shown.
    it(`JSON.stringify of a differentiable value throws (${mode})`, () => {
      const g = grad((x: number) => {
        const y = x * 2;
        return JSON.stringify({ y }).length * y;
      }, { mode });
      expect(() => g(1.5)).toThrow(DualtapeError);
    });

    it(`nested derivatives show the plain number (${mode})`, () => {
      const shown: string[] = [];
      const d2 = grad(
        (x: number) =>
          grad((y: number) => {
            shown.push(`${y}|${x}|${y * x}`);
            return y * y * x;
          })(x),
        { mode },
      );
      // inner derivative 2 y x at y = x is 2 x^2; its derivative is 4 x.
      expect(d2(2)).toBe(8);
      expect(shown).toEqual(['2|2|4']);
    });
  }
});
