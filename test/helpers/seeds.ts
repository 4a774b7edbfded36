/**
 * Seeds for the property tests. CI runs three fixed seeds (a red CI must
 * mean a change broke something, and three seeds explore more than one);
 * a local run explores a new random seed each time. PROPERTY_SEED overrides:
 * one seed, or several separated by commas. The run count is shared among
 * the seeds, so CI takes about as long as with one seed.
 */
import fc from 'fast-check';

const CI_SEEDS = [20261127, 20261203, 4099];

export function propertySeeds(): (number | undefined)[] {
  const env = process.env.PROPERTY_SEED;
  if (env !== undefined && env.trim() !== '') return env.split(',').map((s) => Number(s.trim()));
  return process.env.CI ? CI_SEEDS : [undefined];
}

/** fast-check parameters for each seed (offset per property, so properties differ), `runs` shared among them. */
export function seededParams(runs: number, seedOffset: number): { numRuns: number; seed?: number }[] {
  const seeds = propertySeeds();
  const per = Math.max(1, Math.ceil(runs / seeds.length));
  return seeds.map((s) => ({ numRuns: per, ...(s !== undefined ? { seed: s + seedOffset } : {}) }));
}

/** fc.assert once per seed; a failure names the seed (fast-check prints it). */
export async function assertEachSeed<T>(property: fc.IAsyncProperty<T> | fc.IProperty<T>, params: { numRuns: number; seed?: number }[]): Promise<void> {
  for (const p of params) await fc.assert(property as fc.IAsyncProperty<T>, p);
}
