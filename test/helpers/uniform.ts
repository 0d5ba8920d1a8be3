/** A seeded uniform [0, 1) source for tests: the engine's Rng, so there is one PRNG in the project. */
import { Rng } from '../../engine/src/rng';

export function uniform(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}
