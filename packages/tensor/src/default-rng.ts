import { Rng } from './rng';

let shared = new Rng(0);

/** The generator used when a module is built without an `rng` (seeded 0 at start; see `manualSeed`). */
export function defaultRng(): Rng {
  return shared;
}

/** Re-seeds the default generator (like `torch.manual_seed`). */
export function manualSeed(seed: number): void {
  shared = new Rng(seed);
}
