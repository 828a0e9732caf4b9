import type { Rng } from '@heed/tensor';

// The induction task: a start token, then n letters, then the same n letters again.
//   ^ a₁ a₂ … aₙ a₁ a₂ … aₙ
// From the second a₁ on, the next letter is the one that followed this letter the first time: a model can
// only predict it by finding the earlier occurrence and copying what came after (an induction head),
// which needs a head that tells each position what the previous token was (a previous-token head).

/** The letters a to z are ids 1 to 26; id 0 is the start token the page puts first. */
export const START = 0;
export const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
export const VOCAB_SIZE = LETTERS.length + 1;
/** The shortest and longest repeated run in training (sequence length 1 + 2n). */
export const MIN_RUN = 5;
export const MAX_RUN = 12;
/** The longest sequence the page takes: the start token and up to 2 · MAX_RUN letters. */
export const MAX_LETTERS = 2 * MAX_RUN;

/** The shown name of every token id. */
export function tokenName(id: number): string {
  return id === START ? '^' : LETTERS[id - 1]!;
}

/** ^, n distinct random letters, the same letters again: 1 + 2n ids. */
export function repeatedSequence(rng: Rng, n: number): number[] {
  const pool = Array.from({ length: LETTERS.length }, (_, i) => i + 1);
  const run: number[] = [];
  for (let k = 0; k < n; k++) run.push(pool.splice(rng.int(pool.length), 1)[0]!);
  return [START, ...run, ...run];
}

export type ParsedLetters = { ok: true; ids: number[] } | { ok: false; problem: string };

/** The user's letters (spaces and case ignored) -> [^, ids…], or what is wrong with them, in words. */
export function parseLetters(text: string): ParsedLetters {
  const letters = [...text.toLowerCase()].filter((c) => !/\s/.test(c));
  const foreign = [...new Set(letters.filter((c) => !LETTERS.includes(c)))];
  if (letters.length === 0) return { ok: false, problem: 'The sequence is empty: type some letters, e.g. a word twice.' };
  if (foreign.length > 0) {
    return {
      ok: false,
      problem: `The model knows only the letters a to z; remove ${foreign.map((c) => `“${c}”`).join(', ')}.`,
    };
  }
  if (letters.length > MAX_LETTERS) {
    return {
      ok: false,
      problem: `At most ${MAX_LETTERS} letters (the model was trained on up to ${MAX_LETTERS}); this has ${letters.length}.`,
    };
  }
  return { ok: true, ids: [START, ...letters.map((c) => LETTERS.indexOf(c) + 1)] };
}
