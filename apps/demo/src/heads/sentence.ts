import { Rng, Tensor } from '@heed/tensor';

// Token vectors for panel 3 without a trained model: each word gets a fixed random vector (seeded by the
// word, so the same word always gets the same vector) plus a sinusoidal position code (Vaswani et al.).
// Shape letters: L tokens, E embedding size.

/** Words and punctuation marks, at most `maxTokens`. */
export function tokenize(sentence: string, maxTokens = 16): string[] {
  return (sentence.match(/[\p{L}\p{N}'’]+|[^\s\p{L}\p{N}]/gu) ?? []).slice(0, maxTokens);
}

/** FNV-1a hash of the lower-cased word: the seed of its vector. */
function wordSeed(word: string): number {
  let x = 0x811c9dc5;
  for (const c of word.toLowerCase()) {
    x ^= c.codePointAt(0)!;
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

/** tokens (L) -> [1, L, E]: word vector N(0, 1.5²) + 0.5 · sinusoidal position code (larger than unit vectors so untrained heads are not flat). */
export function embedTokens(tokens: readonly string[], embedDim: number): Tensor {
  const L = tokens.length;
  const data = new Float32Array(L * embedDim);
  tokens.forEach((token, i) => {
    const rng = new Rng(wordSeed(token));
    for (let e = 0; e < embedDim; e++) {
      const frequency = 1 / 10000 ** ((2 * Math.floor(e / 2)) / embedDim);
      const position = e % 2 === 0 ? Math.sin(i * frequency) : Math.cos(i * frequency);
      data[i * embedDim + e] = 1.5 * rng.normal() + 0.5 * position;
    }
  });
  return new Tensor(data, [1, L, embedDim]); // [1, L, E]
}
