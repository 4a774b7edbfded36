/**
 * `tierOf(f)`: which tier runs the reverse-mode gradients of `f`, and why.
 * `setTier('tape')`: force the tape tier (as the environment variable
 * DUALTAPE_TIER=tape does); `setTier('auto')`: the adjoint tier where it applies.
 */
import { compiledOrThrow } from '../args.js';
import { setTier, tierOfCompiled } from './entry.js';
import type { TierInfo } from './entry.js';

export function tierOf(f: Function): TierInfo {
  return tierOfCompiled(compiledOrThrow(f, 'tierOf'));
}

export { setTier };
