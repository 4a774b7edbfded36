/**
 * Edge cases of the derivative rules and of chunking (pow at a zero
 * exponent, atan2 with an infinite argument, odd functions at 0, chunk
 * boundaries), each checked against a hand-derived value. Most were found by
 * the property tests (test/property.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { grad, jacobian, stopGradient } from 'dualtape';

const MODES = ['reverse', 'forward'] as const;

describe('derivative rules at their edges', () => {
  // Found with PROPERTY_SEED=8: pow's partial in the base was the constant 0 whenever the
  // exponent was 0, so its derivative in the exponent (1/x there) was lost one level up.
  it('second derivative of x ** y at y = 0 keeps d/dy (d/dx x^y) = x^(y-1) (1 + y ln x)', () => {
    const dfdx = (x: number, y: number) => grad((b: number) => b ** y)(x);
    for (const mode of MODES) {
      // d/dy [y x^(y-1)] at y = 0 is x^-1.
      const d2 = grad((y: number) => dfdx(2.5, y), { mode })(0);
      expect(d2).toBeCloseTo(1 / 2.5, 14);
    }
  });

  it('the same through a function of u in both base and exponent at u = 0', () => {
    // p(u) = (1.5 + tanh u)^u; p'(u) = p (ln(1.5 + tanh u) + u sech²u / (1.5 + tanh u)); p''(0) = 2/1.5 + ln(1.5)²... checked by FD.
    const p = (u: number) => (1.5 + Math.tanh(u)) ** u;
    const dp = (u: number) => grad(p)(u);
    const h = 1e-5;
    const pPrime = (u: number) => {
      const b = 1.5 + Math.tanh(u);
      return b ** u * (Math.log(b) + (u * (1 - Math.tanh(u) ** 2)) / b);
    };
    const fd = (pPrime(h) - pPrime(-h)) / (2 * h);
    for (const mode of MODES) expect(grad(dp, { mode })(0)).toBeCloseTo(fd, 8);
  });

  // Found with PROPERTY_SEED=4: atan2(t, cosh t) with cosh t overflowing to Infinity gave the
  // partial ∞/∞ = NaN in its first argument, where the true value is 0.
  it('atan2 with one infinite argument has partial 0 in the other', () => {
    for (const mode of MODES) {
      expect(grad((t: number) => Math.atan2(t, Math.cosh(t)), { mode })(903)).toBe(0);
      expect(grad((t: number) => Math.atan2(Math.cosh(t), t), { mode })(903)).toBe(0);
      const [da, db] = grad((a: number, b: number) => Math.atan2(a, b), { mode })(2, Infinity) as number[];
      expect(da).toBe(0);
      expect(Math.abs(db!)).toBe(0);
    }
  });

  // From a user review: an odd function written through Math.abs (the usual erf approximation)
  // gets abs's convention (derivative 0) at exactly 0; the pattern without the kink (docs/guide.md, conventions) is right.
  it('odd functions: sign(x)·g(|x|) follows the abs convention at 0, x < 0 ? -g(-x) : g(x) does not', () => {
    const g = (a: number) => Math.tanh(a) + a * a; // g'(0) = 1
    const withAbs = (x: number) => (x < 0 ? -1 : 1) * g(Math.abs(x));
    const withoutKink = (x: number) => (x < 0 ? -g(-x) : g(x));
    for (const mode of MODES) {
      expect(grad(withAbs, { mode })(0)).toBe(0); // documented convention: abs'(0) = 0
      expect(grad(withoutKink, { mode })(0)).toBe(1);
      expect(grad(withAbs, { mode })(0.5)).toBeCloseTo(1 - Math.tanh(0.5) ** 2 + 1, 14);
    }
  });

  // jacobian's forward mode carries 8 columns per pass: the column order across passes.
  it('chunked forward jacobian (20 inputs, 3 outputs) equals the reverse one and the formula', () => {
    const f = (x: number[]) => [
      x.reduce((s, v, i) => s + (i + 1) * v * v, 0),
      Math.sin(x[0]! * x[19]!),
      x[7]! * x[8]! - x[15]! * x[16]!,
    ];
    const x = Array.from({ length: 20 }, (_, i) => 0.1 * (i + 1));
    const jf = jacobian(f, { mode: 'forward' })(x);
    const jr = jacobian(f, { mode: 'reverse' })(x);
    const c = Math.cos(x[0]! * x[19]!);
    const want = [
      x.map((v, i) => 2 * (i + 1) * v),
      x.map((_, i) => (i === 0 ? c * x[19]! : i === 19 ? c * x[0]! : 0)),
      x.map((_, i) => (i === 7 ? x[8]! : i === 8 ? x[7]! : i === 15 ? -x[16]! : i === 16 ? -x[15]! : 0)),
    ];
    for (const j of [jf, jr]) {
      j.forEach((row, r) => row.forEach((v, k) => expect(v).toBeCloseTo(want[r]![k]!, 13)));
    }
  });

  // Chunked forward mode (32 directions per pass by default, `chunk` to choose): pass boundaries.
  it('forward mode equals reverse mode across chunk boundaries, for every chunk width', () => {
    const f = (x: number[]) => {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += Math.sin(x[i]! * (i + 1)) * x[(i + 1) % x.length]!;
      return s;
    };
    for (const n of [1, 31, 32, 33, 65]) {
      const x = Array.from({ length: n }, (_, i) => Math.cos(i) / 2);
      const r = grad(f)(x);
      for (const chunk of [undefined, 1, 3, 32, 100]) {
        const fw = grad(f, { mode: 'forward', ...(chunk === undefined ? {} : { chunk }) })(x);
        fw.forEach((v, i) => expect(Math.abs(v - r[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(r[i]!))));
      }
    }
    expect(() => grad(f, { mode: 'forward', chunk: 0 })).toThrow(/chunk must be an integer from 1 to 256/);
  });

  // stopGradient on an object it cannot look inside used to return it unchanged, letting the
  // derivatives inside flow on: now a TypeError. Arrays and plain objects are stopped leaf by leaf.
  it('stopGradient refuses objects it cannot look inside, and stops mixed plain objects', () => {
    class Box {
      constructor(readonly v: number) {}
    }
    for (const mode of MODES) {
      expect(() => grad((x: number) => stopGradient(new Box(x)).v * x, { mode })(2)).toThrow(/stopGradient cannot look inside x/);
      // A plain object mixing a label and values: the values are stopped, the label kept.
      const g = grad((x: number) => {
        const o = stopGradient({ label: 'w', w: [x * 3] });
        return o.w[0]! * x + o.label.length;
      }, { mode })(2);
      expect(g).toBe(6);
    }
    expect(stopGradient('text')).toBe('text');
    expect(stopGradient(null)).toBe(null);
  });
});
