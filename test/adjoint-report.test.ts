/**
 * Saying which tier runs: the plugin's build-time report (option `report`,
 * or DUALTAPE_REPORT=1) and the `adjoint: false` switch.
 */
import { describe, expect, it, vi } from 'vitest';
import { transformSync } from '@babel/core';
import plugin from '../plugin/index.ts';

const source = `
import { grad } from 'dualtape';
export function square(x: number): number {
  return x * x;
}
export function viaForOf(xs: number[]): number {
  let s = 0;
  for (const v of xs) s += v;
  return s;
}
export const g1 = grad(square);
export const g2 = grad(viaForOf);
export const g3 = grad((t: number) => Math.sin(t) * t);
`;

function compile(options: Record<string, unknown>): string {
  const out = transformSync(source, {
    filename: 'report-case.ts',
    babelrc: false,
    configFile: false,
    parserOpts: { plugins: ['typescript'] },
    plugins: [[plugin, options]],
  });
  return out!.code!;
}

describe('which tier: the build-time report', () => {
  it('prints one line per function: adjoint, or tape with the reason and line', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      compile({ report: true });
      const lines = spy.mock.calls.map((c) => String(c[0]));
      expect(lines).toContain('dualtape: report-case.ts: square: adjoint');
      expect(lines.find((l) => l.includes('viaForOf'))).toMatch(/viaForOf: tape: ForOfStatement runs on the tape \(line 8\)/);
      expect(lines).toContain('dualtape: report-case.ts: inline function (line 13): adjoint');
    } finally {
      spy.mockRestore();
    }
  });
  it('is silent without the option', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      if (process.env.DUALTAPE_REPORT !== '1') {
        compile({});
        expect(spy).not.toHaveBeenCalled();
      }
    } finally {
      spy.mockRestore();
    }
  });
  it('adjoint: false emits no adjoint code (the tape only)', () => {
    const on = compile({});
    const off = compile({ adjoint: false });
    expect(on).toMatch(/function square\$fwd\(/);
    expect(on).toMatch(/registerTape/);
    expect(off).not.toMatch(/\$fwd|\$rev|registerAdjoint|registerTape/);
  });
});
