/**
 * Plugin hardening (issue 9): each class of bug reduced to a case, checked in
 * both modes (and nested where it applies) against a hand-derived value, with
 * the fast path on (vitest's pipeline) and off (test/helpers/compile.ts).
 */
import { describe, expect, it, vi } from 'vitest';
import { grad, valueAndGrad } from 'dualtape';
import { run, transform } from './helpers/compile.js';

const MODES = ['reverse', 'forward'] as const;
const BOTH_PATHS = [true, false] as const;

describe('fast-path constants', () => {
  it('a literal -0 keeps its sign in the generic branch (atan2 in a second derivative)', () => {
    // f(x) = x² atan2(x · -0, -1); for x > 0, x · -0 = -0 and atan2(-0, -1) = -π, so f'' = -2π.
    for (const fastPath of BOTH_PATHS) {
      const m = run(`import { grad } from 'dualtape';
        const f = (x: number) => x * x * Math.atan2(x * -0, -1);
        export const d2 = (mode: any) => grad((x: number) => grad(f, { mode })(x), { mode });`, { fastPath });
      for (const mode of MODES) expect(m.d2(mode)(1)).toBeCloseTo(-2 * Math.PI, 12);
    }
    const f = (x: number) => x * x * Math.atan2(x * -0, -1);
    for (const mode of MODES) expect(grad((x: number) => grad(f, { mode })(x), { mode })(1)).toBeCloseTo(-2 * Math.PI, 12);
  });

  it('a constant partial 1/0 obeys 0 × ∞ = 0: exp(-(x / 0)) has derivative 0', () => {
    // For x > 0, x / 0 = ∞, exp(-∞) = 0, and the derivative (exp's partial 0 times 1/0) is 0.
    const f = (x: number) => Math.exp(-(x / 0));
    for (const mode of MODES) expect(valueAndGrad(f, { mode })(2)).toEqual([0, 0]);
    for (const fastPath of BOTH_PATHS) {
      const m = run(`import { valueAndGrad } from 'dualtape';
        export const vg = (mode: any) => valueAndGrad((x: number) => Math.exp(-(x / 0)) + 3 * x, { mode });`, { fastPath });
      for (const mode of MODES) expect(m.vg(mode)(2)).toEqual([6, 3]);
    }
  });
});

// ---------------------------------------------------------------------------
// A function used as a value keeps its identity; imported functions as values
// ---------------------------------------------------------------------------

const GELU_HELPERS = `'use differentiable';
export function gelu(x: number) { return 0.5 * x * (1 + Math.tanh(0.79788456 * (x + 0.044715 * x ** 3))); }
export const sq = (x: number) => x * x;
`;
const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(0.79788456 * (x + 0.044715 * x ** 3)));
const geluPrime = (x: number) => {
  const th = Math.tanh(0.79788456 * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * 0.79788456 * (1 + 3 * 0.044715 * x * x);
};

describe('functions as values', () => {
  const main = `import { grad, hessian } from 'dualtape';
import { gelu, sq } from './helpers';
function scale(x: number) { return 3 * x; }
scale.factor = 2;
const table = new Map<Function, number>([[scale, 5]]);
const fs = [scale];
export function f(x: number) {
  let r = scale(x) * scale.factor + table.get(scale)! * x;                      // 11x
  if (fs[0] === scale) r = r + x;                                               // 12x
  if (scale.name === 'scale' && scale.length === 1 && typeof scale === 'function') r = r + x; // 13x
  r = r + scale.call(null, x) + scale.apply(null, [x]) + scale.bind(null)(x) + fs[0](x) + [scale][0](x); // 28x
  r = r + [x, x].map(gelu).reduce((a, b) => a + b, 0) + gelu.bind(null)(x) + gelu?.(x) + [gelu][0](x) + gelu.call(null, x);
  r = r + [x].map(sq)[0] + (String(scale).includes('3 * x') ? x : 0);           // + x² + x
  const o = { h: gelu, s: scale };
  return r + o.h(x) + o['s'](x);                                                // + gelu + 3x
}
export const g = (mode: any) => grad(f, { mode });
export const h = hessian((v: number[]) => f(v[0]!));
`;
  const value = (x: number) => 32 * x + 7 * gelu(x) + x * x;
  const slope = (x: number) => 32 + 7 * geluPrime(x) + 2 * x;

  it('property, name, length, Map key, ===, typeof, call/apply/bind, toString see the function; imported helpers work as values', () => {
    for (const fastPath of BOTH_PATHS) {
      const m = run(main, { fastPath }, { helpers: GELU_HELPERS });
      for (const x of [0.7, -1.3]) {
        expect(m.f(x)).toBeCloseTo(value(x), 12);
        for (const mode of MODES) expect(m.g(mode)(x)).toBeCloseTo(slope(x), 11);
      }
      // Central finite difference of the plain function, as a third check.
      const h = 1e-6;
      expect((m.f(0.7 + h) - m.f(0.7 - h)) / (2 * h)).toBeCloseTo(slope(0.7), 5);
      // Under hessian (nested): f'' = 7 gelu'' + 2, gelu'' by a central difference of the hand-derived gelu'.
      const d2 = 7 * (geluPrime(0.7 + 1e-5) - geluPrime(0.7 - 1e-5)) / 2e-5 + 2;
      expect((m.h([0.7]) as number[][])[0]![0]).toBeCloseTo(d2, 6);
    }
  });
});

describe('function declarations wherever the language allows them', () => {
  it('in a loop body, a switch case, a block and a labelled block (module code)', () => {
    for (const fastPath of BOTH_PATHS) {
      const m = run(`import { grad } from 'dualtape';
        export const out: number[] = [];
        for (let i = 0; i < 2; i++) {
          function h(x: number) { return x * x * (i + 1); }
          out.push(grad(h)(3), grad(h, { mode: 'forward' })(3));
        }
        export function sw(k: number) {
          switch (k) {
            case 1:
              function q(x: number) { return x ** 3; }
              return [grad(q)(2), grad(q, { mode: 'forward' })(2)];
          }
          return [];
        }
        { function b(x: number) { return 5 * x; } out.push(grad(b)(1)); }
        lab: { function l(x: number) { return Math.sin(x); } out.push(grad(l)(0)); }`, { fastPath });
      // d/dx (i + 1) x² at 3 = 6 (i + 1); d/dx x³ at 2 = 12; 5; cos 0 = 1.
      expect(m.out).toEqual([6, 6, 12, 12, 5, 1]);
      expect(m.sw(1)).toEqual([12, 12]);
    }
  });

  it("as the body of an if or a label without braces (sloppy scripts, Annex B), marked 'use differentiable'", () => {
    const m = run(`const { grad } = require('dualtape');
      if (true) function w(x) { 'use differentiable'; return 9 * x * x; }
      lab: function v(x) { 'use differentiable'; return Math.exp(x); }
      module.exports.r = [grad(w)(1), grad(w, { mode: 'forward' })(1), grad(v)(0), w(2)];`, { sourceType: 'script' });
    expect(m.r).toEqual([18, 18, 1, 36]);
  });
});

describe('other spellings of Math', () => {
  it("const M = Math, Math['sin'], const { sin } = Math, globalThis.Math.sin, window/self aliases", () => {
    for (const fastPath of BOTH_PATHS) {
      const m = run(`import { grad } from 'dualtape';
        const M = Math;
        const { sin, cos: c, PI } = Math;
        const G = globalThis.Math;
        export function f(x: number) {
          const L = globalThis['Math'];
          return M.sin(x) + Math['cos'](x) + sin(x) * c(x) + globalThis.Math.exp(x) + G.tanh(x) + L.sqrt(x) + PI * x +
            [x].map(M.log)[0] + [x].map(sin)[0];
        }
        export const g = (mode: any) => grad(f, { mode });`, { fastPath });
      const f = (x: number) => Math.sin(x) + Math.cos(x) + Math.sin(x) * Math.cos(x) + Math.exp(x) + Math.tanh(x) + Math.sqrt(x) +
        Math.PI * x + Math.log(x) + Math.sin(x);
      const df = (x: number) => Math.cos(x) - Math.sin(x) + Math.cos(2 * x) + Math.exp(x) + 1 - Math.tanh(x) ** 2 +
        0.5 / Math.sqrt(x) + Math.PI + 1 / x + Math.cos(x);
      expect(m.f(0.8)).toBeCloseTo(f(0.8), 13);
      for (const mode of MODES) expect(m.g(mode)(0.8)).toBeCloseTo(df(0.8), 12);
    }
  });
});

// ---------------------------------------------------------------------------
// Methods get twins: plain callers run the untouched method
// ---------------------------------------------------------------------------

describe('methods marked with the directive', () => {
  const src = `import { grad } from 'dualtape';
export class Dense {
  #scale = 2;
  constructor(public w: number[]) {}
  apply(x: number[]) {
    'use differentiable';
    let s = 0;
    for (let i = 0; i < x.length; i++) s += this.w[i] * Math.tanh(x[i]);
    return s * this.#scale;
  }
  static square(v: number) { 'use differentiable'; return v * v; }
  get norm() { 'use differentiable'; return Math.hypot(...this.w); }
}
export class Scaled extends Dense {
  apply(x: number[]) { 'use differentiable'; return 10 * super.apply(x); }
  static square(v: number) { 'use differentiable'; return 2 * super.square(v); }
}
export const obj = {
  k: 3,
  cube(v: number) { 'use differentiable'; return this.k * v ** 3; },
};
const layer = new Dense([1, 2]);
const scaled = new Scaled([1, 1]);
export const g = (mode: any) => grad((x: number[]) => layer.apply(x) + Dense.square(x[0]) + obj.cube(x[1]) + scaled.apply(x), { mode });
export const unbound = () => grad(layer.apply)([1, 2]);
export const direct = (mode: any) => grad(Dense.square, { mode })(3);
export const directSuper = (mode: any) => grad(Scaled.square, { mode })(3);
export const viaObject = (mode: any) => grad((v: number) => obj.cube(v), { mode })(2);
export const normGrad = (mode: any) => grad((w: number[]) => new Dense(w).norm, { mode })([3, 4]);
export { layer };
`;
  const sech2 = (v: number) => 1 - Math.tanh(v) ** 2;

  it('class, static and object-literal methods: right derivatives in both modes; the plain method is untouched', () => {
    for (const fastPath of BOTH_PATHS) {
      const m = run(src, { fastPath });
      const [a, b] = [0.5, 0.7];
      // layer: 2 (tanh a + 2 tanh b); square: a²; cube: 3 b³; scaled: 20 (tanh a + tanh b).
      const expected = [2 * sech2(a) + 2 * a + 20 * sech2(a), 4 * sech2(b) + 9 * b * b + 20 * sech2(b)];
      for (const mode of MODES) {
        const got = m.g(mode)([a, b]) as number[];
        expect(got[0]).toBeCloseTo(expected[0]!, 12);
        expect(got[1]).toBeCloseTo(expected[1]!, 12);
        expect(m.direct(mode)).toBe(6);
        expect(m.directSuper(mode)).toBe(12);
        expect(m.viaObject(mode)).toBe(36);
        const n = m.normGrad(mode) as number[];
        expect(n[0]).toBeCloseTo(0.6, 14);
        expect(n[1]).toBeCloseTo(0.8, 14);
      }
      expect(m.layer.apply([a, b])).toBeCloseTo(2 * (Math.tanh(a) + 2 * Math.tanh(b)), 14);
      // Plain callers run the method as written: no runtime call in it.
      expect(String(m.Dense.prototype.apply)).not.toMatch(/_dt_/);
      expect(String(m.Dense.square)).not.toMatch(/_dt_/);
      expect(String(m.obj.cube)).not.toMatch(/_dt_/);
      // Methods that use super get a symbol-keyed twin: not seen by getOwnPropertyNames or for-in.
      expect(String(m.Scaled.prototype.apply)).not.toMatch(/_dt_/);
      expect(String(m.Scaled.square)).not.toMatch(/_dt_/);
      expect(Object.getOwnPropertyNames(m.Scaled.prototype).sort()).toEqual(['apply', 'constructor']);
    }
  });

  it('grad(obj.method) of a method that reads this says to wrap it', () => {
    const m = run(src);
    expect(() => m.unbound()).toThrow(/called without its object.*grad\(\(w\) => obj\.apply\(w\)\)/s);
  });
});

describe('deep recursion', () => {
  function depth(x: number, n: number): number {
    if (n === 0) return x;
    return 0.5 * x + Math.sin(x) * depth(x, n - 1);
  }

  it('a stack overflow under grad is a DualtapeError that says what to do; the next call works', () => {
    for (const mode of MODES) {
      const g = grad(depth, { argnums: 0, mode });
      let caught: unknown;
      try {
        g(0.3, 1e6);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(Error);
      expect((caught as Error).name).toBe('DualtapeError');
      expect((caught as Error).message).toMatch(/call stack overflowed while grad ran `depth`.*as a loop.*--stack-size/s);
      expect((caught as Error).cause).toBeInstanceOf(RangeError);
      // d/dx [0.5 x + sin x · x] at n = 1.
      expect(g(0.3, 1)).toBeCloseTo(0.5 + Math.cos(0.3) * 0.3 + Math.sin(0.3), 14);
    }
  });
});

describe("a 'use differentiable' that is not a directive", () => {
  it('after an import: a warning with a code frame, and it is taken as the file directive', () => {
    const warnings: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((m: unknown) => void warnings.push(String(m)));
    try {
      const helpers = `import { something } from './other';
'use differentiable';
export function cube(x: number) { return x ** 3; }
`;
      const m = run(`import { grad } from 'dualtape';
        import { cube } from './helpers';
        export const g = (mode: any) => grad(cube, { mode });`, {}, { helpers, other: 'export const something = 1;' });
      for (const mode of MODES) expect(m.g(mode)(2)).toBe(12);
      expect(warnings.join('\n')).toMatch(/after an import is not a directive[\s\S]*> 2 \| 'use differentiable';/);
    } finally {
      spy.mockRestore();
    }
  });

  it('after another statement of a file or function body: a warning that it does nothing', () => {
    const warnings: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((m: unknown) => void warnings.push(String(m)));
    try {
      transform(`const k = 2;
'use differentiable';
export function f(x: number) {
  const y = x * k;
  'use differentiable';
  return y;
}
`);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(/other statements come before it[\s\S]*> 2 \|/);
      expect(warnings[1]).toMatch(/function body[\s\S]*> 5 \|/);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('an inline function that reaches grad through a same-module helper', () => {
  it('derivativeAt((x) => x ** 3, 2), directly and through a second helper, in both modes', () => {
    for (const fastPath of BOTH_PATHS) {
      const m = run(`import { grad } from 'dualtape';
        function derivativeAt(f: (x: number) => number, x: number, mode: any) { return grad(f, { mode })(x); }
        const slope = (g: (x: number) => number, x: number, mode: any) => derivativeAt(g, x, mode);
        export const a = (mode: any) => derivativeAt((x) => x ** 3, 2, mode);
        export const b = (mode: any) => slope(function (x) { return Math.sin(x) * x; }, 0.5, mode);`, { fastPath });
      for (const mode of MODES) {
        expect(m.a(mode)).toBe(12);
        expect(m.b(mode)).toBeCloseTo(Math.cos(0.5) * 0.5 + Math.sin(0.5), 14);
      }
    }
  });
});

describe('messages for a function the plugin did not compile', () => {
  it('never ask for a directive that is there: the plugin did not run on its file', () => {
    // Built at run time, so no plugin ever saw it: its source keeps the directive.
    const f = new Function('x', "'use differentiable'; return x * x;") as (x: number) => number;
    expect(() => grad(f)(1)).toThrow(/whose source has the 'use differentiable' directive, but the dualtape Babel plugin did not run/);
  });

  it('a bound function: says bind makes a new function, and to wrap the call', () => {
    const m = run(`import { grad } from 'dualtape';
      export function cube(x: number) { return x ** 3; }
      export const viaBind = () => grad(cube.bind(null))(2);
      export const wrapped = () => grad((x: number) => cube.call(null, x))(2);`);
    expect(() => m.viaBind()).toThrow(/`bound cube`, a bound function.*grad\(\(x\) => cube\.call\(thisValue, x\)\)/s);
    expect(m.wrapped()).toBe(12);
  });

  it('an anonymous function through a helper of another module: says which paths are followed and how to mark it', () => {
    const m = run(`import { derivativeAt } from './helpers';
      export const a = () => derivativeAt((x: number) => x ** 3, 2);`, {}, {
      helpers: `import { grad } from 'dualtape';
        export function derivativeAt(f: (x: number) => number, x: number) { return grad(f)(x); }`,
    });
    expect(() => m.a()).toThrow(/anonymous function.*helper in another module.*first statement of its body/s);
    const marked = run(`import { derivativeAt } from './helpers';
      export const a = () => derivativeAt((x: number) => { 'use differentiable'; return x ** 3; }, 2);`, {}, {
      helpers: `import { grad } from 'dualtape';
        export function derivativeAt(f: (x: number) => number, x: number) { return grad(f)(x); }`,
    });
    expect(marked.a()).toBe(12);
  });
});

describe('constructor functions in compiled code', () => {
  it('new Point(x) runs the twin and makes a Point (instanceof, prototype methods)', () => {
    for (const fastPath of BOTH_PATHS) {
      const m = run(`import { grad } from 'dualtape';
        function Point(this: any, x: number, y: number) { this.x = x * 2; this.y = Math.sin(y); }
        Point.prototype.norm2 = function (this: any) { return this.x * this.x + this.y * this.y; };
        export const f = (a: number) => {
          const p = new (Point as any)(a, a);
          return (p instanceof Point ? 1 : 100) * (p.x + p.y);
        };
        export const g = (mode: any) => grad(f, { mode });`, { fastPath });
      for (const mode of MODES) expect(m.g(mode)(0.4)).toBeCloseTo(2 + Math.cos(0.4), 14);
    }
  });
});

describe('recursion compiles without the fast path', () => {
  it('a named function expression calling itself by its own name reaches the depth of a declaration', () => {
    const m = run(`import { grad } from 'dualtape';
      export const walk = function step(x: number, n: number): number {
        return n === 0 ? x : 0.5 * x + Math.sin(x) * step(x, n - 1);
      };
      export const g = grad(walk, { argnums: 0 });`);
    expect(m.g(0.3, 1)).toBeCloseTo(0.5 + Math.cos(0.3) * 0.3 + Math.sin(0.3), 14);
    // About 3 500 nested calls fit with the fast path's larger frames; without it, more than 5 000.
    expect(Number.isFinite(m.g(0.3, 5000))).toBe(true);
  });
});
