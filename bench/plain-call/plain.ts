/**
 * The same functions as kinds.ts without the directive: never compiled.
 * (bench/plain-call.ts times plain calls of kinds.ts against these.) The
 * bodies are the same, character for character.
 */
export function declaration(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
  return s;
}

export const arrow = (x: number[]): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
  return s;
};

export const expression = function (x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
  return s;
};

export const object = {
  apply(x: number[]): number {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
    return s;
  },
};

export class Dense {
  constructor(readonly w: number[]) {}
  apply(x: number[]): number {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += this.w[i]! * Math.tanh(x[i]!);
    return s;
  }
  static apply(x: number[]): number {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * Math.tanh(x[i]!);
    return s;
  }
  /** The getter, uncompiled. */
  get total(): number {
    let s = 0;
    for (let i = 0; i < this.w.length; i++) s += this.w[i]! * Math.tanh(this.w[i]!);
    return s;
  }
}
