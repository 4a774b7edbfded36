/**
 * The plugin's handling of JavaScript / TypeScript syntax, written as an
 * outside user would write ordinary numeric code. Each case carries its
 * minimal program and says whether it concerns the fast path
 * (plugin/preaccumulate.ts) or also the generic path (`fastPath: false`). Gradients are checked against a hand-derived value, the other mode
 * and central finite differences of the original function.
 */
import { describe, it, expect } from 'vitest';
import { transformSync } from '@babel/core';
import { parse } from '@babel/parser';
import { DualtapeError, grad, valueAndGrad } from 'dualtape';
import dualtapeBabel from 'dualtape/babel';

/** Central finite differences of a scalar function of a number array. */
function fd(f: (x: number[]) => number, x: number[], h = 1e-6): number[] {
  return x.map((_, i) => {
    const a = x.slice();
    const b = x.slice();
    a[i]! += h;
    b[i]! -= h;
    return (f(a) - f(b)) / (2 * h);
  });
}

function expectAll(actual: number[], expected: number[], digits = 8): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, digits));
}

// ===========================================================================
// Failing cases (bugs)
// ===========================================================================
describe('syntax that is easy to get wrong', () => {
  // -------------------------------------------------------------------------
  // Silent wrong values and gradients
  // -------------------------------------------------------------------------

  // Minimal repro (fast path only; correct with fastPath: false):
  //   class Counter { n = 0; get next() { this.n++; return this.n; } }
  //   const f = (x) => { const c = new Counter(); return x * c.next * c.next; };
  //   f(1.3) = 2.6, d/dx = 2; compiled: value 1.3, d/dx = 1.
  // preaccumulate.ts shares one temporary between leaves with the same
  // "pure" key (`c.next` twice), so a getter with side effects runs once.
  class Counter {
    n = 0;
    get next() {
      this.n++;
      return this.n;
    }
  }
  function getterTwice(x: number): number {
    const c = new Counter();
    return x * c.next * c.next;
  }
  it('fast path evaluates a side-effecting getter once when it appears twice in one expression (silent wrong value and gradient)', () => {
    expect(getterTwice(1.3)).toBeCloseTo(2.6, 12); // the original: 1.3 * 1 * 2
    const [v, g] = valueAndGrad(getterTwice)(1.3);
    expect(v).toBeCloseTo(2.6, 12);
    expect(g).toBeCloseTo(2, 12);
    expect(grad(getterTwice, { mode: 'forward' })(1.3)).toBeCloseTo(2, 12);
  });

  // Minimal repro (fast path only; correct with fastPath: false):
  //   function re(x) {
  //     let depth = 0;
  //     class N { k = x * (depth + 1); w = this.k * (depth++ < 2 ? new N().w : 1); }
  //     (written below with a hoisted `child()` only to satisfy tsc)
  //     return new N().w;
  //   }
  //   re(x) = 6x^3, d/dx = 18x^2 = 30.42 at 1.3; compiled: value 59.319 (not 13.182), d/dx = 136.89.
  // Temporaries of expressions in a class field initializer are `var`s of the
  // enclosing function (ctx.temp uses getFunctionParent), so an initializer that
  // re-enters itself (constructs another instance while evaluating its leaves)
  // overwrites the outer evaluation's temporaries.
  function reentrantField(x: number): number {
    let depth = 0;
    class N {
      k = x * (depth + 1);
      w: number = this.k * (depth++ < 2 ? child().w : 1);
    }
    function child(): { w: number } {
      return new N();
    }
    return new N().w;
  }
  it('fast-path temporaries of a class field initializer are shared across re-entrant constructions (silent wrong value and gradient)', () => {
    const x = 1.3;
    expect(reentrantField(x)).toBeCloseTo(6 * x ** 3, 10);
    const [v, g] = valueAndGrad(reentrantField)(x);
    expect(v).toBeCloseTo(6 * x ** 3, 10);
    expect(g).toBeCloseTo(18 * x * x, 10);
  });

  // Minimal repro (both paths):
  //   const f = (p) => { const seg = { length: p[0] - p[1] }; if (!seg.length) return p[0] * 100; return p[0] * p[1]; };
  //   f([2, 2]) = 200, gradient [100, 0]; compiled: value 4, gradient [2, 2].
  // activity.ts treats every `.length` as inactive, so `!seg.length`,
  // `seg.length === 0`, `if (seg.length)`, `seg.length || d` stay native and
  // test the TapeVar/Dual object (always truthy, never === 0).
  function zeroLength(p: number[]): number {
    const seg = { length: p[0]! - p[1]! };
    if (!seg.length) return p[0]! * 100;
    return p[0]! * p[1]!;
  }
  function zeroLengthEq(p: number[]): number {
    const seg = { length: p[0]! - p[1]! };
    return seg.length === 0 ? p[0]! * 100 : p[0]! * p[1]!;
  }
  it('a differentiable value in a `.length` property is tested natively (`!o.length`): wrong branch, silent', () => {
    const [v, g] = valueAndGrad(zeroLength)([2, 2]);
    expect(v).toBe(200);
    expectAll(g, [100, 0]);
  });
  it('a differentiable value in a `.length` property is compared natively (`o.length === 0`): wrong branch, silent', () => {
    const [v, g] = valueAndGrad(zeroLengthEq)([2, 2]);
    expect(v).toBe(200);
    expectAll(g, [100, 0]);
  });

  // Minimal repro (runtime, both paths and modes):
  //   const f = (x) => { const y = JSON.parse(JSON.stringify(x)); return y[0] * x[1]; };
  //   grad(f)([1.5, 2]) = [2, 1.5]; compiled: [0, 1.5] - no error.
  // Active.toJSON returns the plain value, so the common deep-copy idiom drops
  // the derivative without a sound (unlike parseFloat(String(x)), which throws).
  function jsonCopy(x: number[]): number {
    const y = JSON.parse(JSON.stringify(x)) as number[];
    return y[0]! * x[1]!;
  }
  // Fixed by refusing: JSON cannot carry the derivative, so toJSON throws (loud, not silent).
  it('JSON.parse(JSON.stringify(x)) fails loudly instead of dropping the derivative', () => {
    const x = [1.5, 2];
    expectAll(fd(jsonCopy, x), [2, 1.5], 6);
    for (const mode of ['reverse', 'forward'] as const) {
      expect(() => grad(jsonCopy, { mode })(x)).toThrow(DualtapeError);
      expect(() => grad(jsonCopy, { mode })(x)).toThrow(/converted to a plain number/);
    }
  });

  // -------------------------------------------------------------------------
  // Crashes on valid code
  // -------------------------------------------------------------------------

  // Minimal repro (both paths):
  //   function f(p: { a: number }, s = p.a || 1) { return s * p.a; }
  //   grad((a) => f({ a }))(1.3)  ->  ReferenceError: _dt$left… is not defined
  // Temporaries (LogicalExpression `left`, postfix `old`, compound-assignment
  // `obj`/`key`) are declared in the function BODY, which parameter defaults
  // cannot see. preaccumulate.ts guards against this (inParameters), rewrite.ts does not.
  function defaultLogical(p: { a: number }, s = p.a || 1): number {
    return s * p.a;
  }
  it('`||` / `&&` on a differentiable member in a parameter default throws ReferenceError', () => {
    expect(grad((a: number) => defaultLogical({ a }))(1.3)).toBeCloseTo(2.6, 12);
  });
  // Minimal repro: function f(o: { a: number }, y = o.a++) { return y * o.a; }
  function defaultPostfix(o: { a: number }, y = o.a++): number {
    return y * o.a;
  }
  it('postfix ++ on a differentiable value in a parameter default throws ReferenceError', () => {
    // y = a, o.a = a + 1: d/da [a (a + 1)] = 2a + 1
    expect(grad((a: number) => defaultPostfix({ a }))(1.3)).toBeCloseTo(3.6, 12);
  });

  // Minimal repro (fast path only; correct with fastPath: false):
  //   function f(x, y) { const Math = { PI: 3 }; return (x % y) * Math.PI; }
  //   grad(f)(5.5, 2)  ->  TypeError: Math.trunc is not a function
  // The symbolic partial of `%` w.r.t. its divisor emits `Math.trunc(...)`,
  // which resolves to the user's local `Math` (a user Math with its own trunc
  // would give a silently wrong partial instead).
  function modShadowedMath(x: number, y: number): number {
    const Math = { PI: 3 };
    return (x % y) * Math.PI;
  }
  it('fast-path partial of `x % y` calls `Math.trunc` of a locally shadowed `Math`', () => {
    // d/dx = 3, d/dy = -trunc(x / y) * 3 = -6
    expectAll(grad(modShadowedMath)(5.5, 2), [3, -6]);
  });

  // Minimal repro (both paths): in a 'use differentiable' method,
  //   class C extends B { m(x) { 'use differentiable'; super.n += x; return super.n * x; } }
  // compiles to `_dt$obj1 = super, _dt$obj1.n = …`: a SyntaxError when the module
  // loads (target() in rewrite.ts copies a non-simple object into a temporary;
  // `super` cannot be). Same for `super.n++`, `super[k] *= x`. Checked on the
  // transform output, since the broken module would not even load.
  it('compound assignment / update on `super.prop` with a differentiable value emits invalid JS', () => {
    const src = `
      import { grad } from 'dualtape';
      class B { get n() { return this._n ?? 1; } set n(v) { this._n = v; } }
      class C extends B {
        m(x) { 'use differentiable'; super.n += x; super.n++; return super.n * x; }
      }
      export const g = grad((x) => new C().m(x));
    `;
    for (const fastPath of [true, false]) {
      const out = transformSync(src, {
        filename: 'super.js', babelrc: false, configFile: false, plugins: [[dualtapeBabel, { fastPath }]],
      })!.code!;
      expect(() => parse(out, { sourceType: 'module' })).not.toThrow();
    }
  });
});

// ===========================================================================
// Interesting cases that work
// ===========================================================================
describe('syntax that works', () => {
  class Base {
    constructor(public w: number) {
      'use differentiable';
    }
    energy(x: number) {
      'use differentiable';
      return this.w * x * x;
    }
    static twice(v: number) {
      'use differentiable';
      return 2 * v;
    }
    static quad(v: number) {
      'use differentiable';
      return this.twice(this.twice(v));
    }
  }
  class Derived extends Base {
    #bias: number;
    constructor(w: number, b: number) {
      'use differentiable';
      super(w * 2);
      this.#bias = b * b;
    }
    override energy(x: number) {
      'use differentiable';
      return super.energy(x) + this.#bias * x;
    }
    get bias() {
      'use differentiable';
      return this.#bias;
    }
    set bias(v: number) {
      'use differentiable';
      this.#bias = v * 3;
    }
    bump(v: number) {
      'use differentiable';
      this.#bias += v * v;
      this.w *= v;
      return this;
    }
  }
  function classes(p: number[]): number {
    const d = new Derived(p[0]!, p[1]!);
    d.bump(p[2]!);
    d.bias = d.bias + p[0]!;
    return d.energy(p[2]!) + Base.quad(p[1]!);
  }
  it('inheritance, super calls, private fields, accessors, static this-calls', () => {
    const p = [1.3, 0.7, 1.9];
    const g = grad(classes)(p);
    expectAll(g, grad(classes, { mode: 'forward' })(p), 12);
    expectAll(g, fd(classes, p), 6);
  });

  function labels(x: number[]): number {
    let s = 0;
    blk: {
      for (const v of x) {
        if (v > 2) break blk;
        s += v * v;
      }
      s *= 10;
    }
    loop: for (let i = 0; i < x.length; i++) {
      switch (i) {
        case 0:
          continue loop;
        case 1:
          s += x[i]! * 3; // falls through
        case 2:
          s -= x[i]!;
          break;
        default:
          break loop;
      }
    }
    return s;
  }
  it('labeled block break, labeled continue from a switch, fallthrough', () => {
    for (const x of [[1.5, 1.1, 0.3, 4], [1.5, 3.1, 0.3, 4]]) {
      const g = grad(labels)(x);
      expectAll(g, grad(labels, { mode: 'forward' })(x), 12);
      expectAll(g, fd(labels, x), 6);
    }
  });

  function indexSideEffects(x: number[]): number {
    let i = 0;
    const a = x[i++]! * x[i++]! + x[i++]! ** 2;
    let j = 0;
    const b = x[j]! * x[++j]! * x[j++]!;
    const o = { a: x[0]! } as { a: number; b?: number };
    o.a **= 2;
    o.b ??= x[1]! * 3;
    o.b ??= 100;
    return a + b + o.a + o.b + i + j;
  }
  it('x[i++] leaves, **= and ??= on members', () => {
    const x = [1.5, 2, 3];
    const [a, b, c] = x as [number, number, number];
    // a*b + c^2 + a*b*b + a^2 + 3b
    const want = [b + b * b + 2 * a, a + 2 * a * b + 3, 2 * c];
    expectAll(grad(indexSideEffects)(x), want, 12);
    expectAll(grad(indexSideEffects, { mode: 'forward' })(x), want, 12);
  });

  function shadowedMath(x: number): number {
    const Math = { sin: (v: number) => v * v, PI: 3 };
    return Math.sin(x) * Math.PI;
  }
  it('a local `Math` is not mistaken for the global one', () => {
    expect(grad(shadowedMath)(1.3)).toBeCloseTo(6 * 1.3, 12);
  });

  function mixedTypes(x: number): number {
    const s: any = '2';
    const n: any = null;
    const b: any = true;
    const a: any = [3];
    const label = 'n=' + x;
    return x * s + (x - s) * 2 + (x + n) * x + x * b + x / a + x ** s + (label.startsWith('n=') ? x : 0);
  }
  it('arithmetic mixing numbers with strings, null, booleans, arrays', () => {
    const x = 1.3;
    const want = 2 + 2 + 2 * x + 1 + 1 / 3 + 2 * x + 1;
    expect(grad(mixedTypes)(x)).toBeCloseTo(want, 12);
    expect(grad(mixedTypes, { mode: 'forward' })(x)).toBeCloseTo(want, 12);
  });

  const fact = function f(x: number, n: number): number {
    return n <= 0 ? 1 : x * f(x, n - 1);
  };
  function hoisted(x: number): number {
    if (x > 0) {
      const y = cube(x);
      function cube(v: number) {
        return v * v * v;
      }
      return y + fact(x, 4);
    }
    return 0;
  }
  it('named function expression recursion, function hoisted within a block', () => {
    const x = 1.3;
    expect(grad(hoisted)(x)).toBeCloseTo(3 * x * x + 4 * x ** 3, 12);
  });

  function mathAliases(x: number): number {
    const { sin, cos } = Math;
    const e = Math.exp;
    const fs = [Math.sqrt, Math.log];
    return sin(x) * cos(x) + e(x) + fs.reduce((s, f) => s + f(x), 0) + Math.max.apply(null, [x, 2 * x]) + Math.sin.call(null, x);
  }
  it('Math functions destructured, aliased, stored, applied and called', () => {
    const x = 1.3;
    const want = Math.cos(2 * x) + Math.exp(x) + 0.5 / Math.sqrt(x) + 1 / x + 2 + Math.cos(x);
    expect(grad(mathAliases)(x)).toBeCloseTo(want, 12);
  });

  const big = (x: number[]) =>
    x[0]! * x[1]! * 1 + x[1]! * x[2]! * 2 + x[2]! * x[3]! * 3 + x[3]! * x[4]! * 4 + x[4]! * x[0]! * 5 +
    x[0]! ** 2 * 6 + x[1]! ** 2 * 7 + x[2]! ** 2 * 8 + x[3]! ** 2 * 9 + x[4]! ** 2 * 10 +
    Math.sin(x[0]! * x[1]!) * Math.cos(x[2]! - x[3]!) / (1 + x[4]! * x[4]!) - Math.exp(-x[0]!) * x[1]! * x[2]! * x[3]! * x[4]!;
  it('one expression with five leaves and many operations (emitN)', () => {
    const x = [1.1, 0.7, -0.3, 2, 0.5];
    const g = grad(big)(x);
    expectAll(g, grad(big, { mode: 'forward' })(x), 12);
    expectAll(g, fd(big, x), 6);
  });

  function swaps(x: number[]): number {
    let a = x[0]!;
    let b = x[1]!;
    for (let i = 0; i < 3; i++) [a, b] = [b, a * b + 0.1];
    let u: number, v: number;
    ({ u, v } = { u: a * 2, v: b });
    return a + b * u - v;
  }
  it('destructuring assignment swaps in a loop', () => {
    const x = [1.1, 0.9];
    const g = grad(swaps)(x);
    expectAll(g, grad(swaps, { mode: 'forward' })(x), 12);
    expectAll(g, fd(swaps, x), 6);
  });
});
