// A helper module without any directive: the build-time transform leaves it
// untouched, so its arithmetic is native JavaScript.

export function plainSquare(x: number): number {
  return x * x;
}
