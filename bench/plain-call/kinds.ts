/**
 * Every kind of function the plugin compiles, marked 'use differentiable'
 * (bench/plain-call.ts times plain calls of these against plain.ts). The
 * bodies are the same as plain.ts's, character for character.
 */
export function declaration(x: number[]): number {
  'use differentiable';
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
  return s;
}

export const arrow = (x: number[]): number => {
  'use differentiable';
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
  return s;
};

export const expression = function (x: number[]): number {
  'use differentiable';
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
  return s;
};

export const object = {
  apply(x: number[]): number {
    'use differentiable';
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
    return s;
  },
};

export class Dense {
  constructor(readonly w: number[]) {}
  apply(x: number[]): number {
    'use differentiable';
    let s = 0;
    for (let i = 0; i < x.length; i++) s += this.w[i]! * Math.tanh(x[i]!);
    return s;
  }
  static apply(x: number[]): number {
    'use differentiable';
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
    return s;
  }
  /** A getter: compiled in place (no twin), so its plain callers pay. */
  get total(): number {
    'use differentiable';
    let s = 0;
    for (let i = 0; i < this.w.length; i++) s += this.w[i]! * Math.tanh(this.w[i]!);
    return s;
  }
}
