import { matmul, permute, reshape, Rng, Tensor } from '@heed/tensor';
import { embedTokens } from '../heads/sentence';

// The variants panel's input: the tokens of a sentence, embedded (a seeded vector per word plus a
// sinusoidal position code), projected by three fixed seeded matrices into H heads of queries, keys and
// values. Shape letters: L tokens, E embedding size, H heads, d = E / H.

export const VARIANT_EMBED_DIM = 16;
export const VARIANT_HEADS = 2;
const PROJECTION_SEED = 3;

/** tokens (L) -> query, keys, values [1, H, L, d], heads first as attend() takes them. */
export function variantInput(tokens: readonly string[]): { query: Tensor; keys: Tensor; values: Tensor } {
  const E = VARIANT_EMBED_DIM;
  const H = VARIANT_HEADS;
  const L = tokens.length;
  const x = embedTokens(tokens, E); // [1, L, E]
  const rng = new Rng(PROJECTION_SEED);
  const project = (): Tensor => {
    const W = new Tensor(
      Float32Array.from({ length: E * E }, () => rng.normal() / Math.sqrt(E)),
      [E, E],
    ); // [E, E], N(0, 1/E)
    const projected = matmul(x, W); // [1, L, E] x [E, E] -> [1, L, E]
    return permute(reshape(projected, [1, L, H, E / H]), [0, 2, 1, 3]); // [1, L, E] -> [1, L, H, d] -> [1, H, L, d]
  };
  const query = project();
  const keys = project();
  const values = project();
  return { query, keys, values };
}
