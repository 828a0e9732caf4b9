import { describe, expect, it } from 'vitest';
import { noGrad, tensor } from '@heed/tensor';
import { listScorers } from '@heed/scorers';
import { attend, createNormalizer } from '@heed/soft-attention';
import { BOOKS, MARVEL_QUERY } from './library';
import { createLibraryScorer } from './library-scorer';

// The page's scorers must rank the library as a reader would. The expected scores of the hand-set
// scorers come from naive loops over the formulas written in the page, with the numbers typed here.

const N = BOOKS.length;
const SUPERHERO_BOOKS = ['Iron Man: Extremis', 'Guardians of the Galaxy'];

function run(kind: string, normalizer: string, query: readonly number[] = MARVEL_QUERY): { scores: number[]; weights: number[] } {
  const scorer = createLibraryScorer(kind);
  return noGrad(() => {
    const q = tensor([...query], [1, 1, 3]); // [1, 1, d]
    const keys = tensor(
      BOOKS.flatMap((b) => b.key),
      [1, N, 3],
    ); // [1, N, d]
    const values = tensor(
      BOOKS.flatMap((b) => b.value),
      [1, N, 2],
    ); // [1, N, 2]
    const result = attend({ query: q, keys, values, scorer, normalizer: createNormalizer({ kind: normalizer }) }); // weights [1, 1, N]
    return { scores: Array.from(scorer.score(q, keys).data), weights: Array.from(result.weights.data) }; // scores [1, 1, N]
  });
}

const ranking = (scores: number[]): string[] =>
  scores
    .map((s, n) => [s, n] as const)
    .sort((a, b) => b[0] - a[0])
    .map(([, n]) => BOOKS[n]!.title);

describe('panel 1: every scorer ranks the books for "Marvel" plausibly', () => {
  for (const kind of listScorers()) {
    it(`${kind}: the two superhero books first, "Pride and Prejudice" last`, () => {
      const order = ranking(run(kind, 'softmax').scores);
      expect(order.slice(0, 2).sort()).toEqual([...SUPERHERO_BOOKS].sort());
      expect(order[N - 1]).toBe('Pride and Prejudice');
    });
    it(`${kind}: sparsemax gives exact zeros and weights that sum to 1`, () => {
      const { weights } = run(kind, 'sparsemax');
      expect(weights.filter((w) => w === 0).length).toBeGreaterThanOrEqual(1);
      expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expect(weights[3]).toBe(0); // Pride and Prejudice
    });
  }

  it('for a romance query, the romance book comes first with every scorer', () => {
    for (const kind of listScorers()) expect(ranking(run(kind, 'softmax', [0, 0, 1]).scores)[0], kind).toBe('Pride and Prejudice');
  });
});

describe('panel 1: the hand-set weights are the ones the page describes', () => {
  const q = MARVEL_QUERY;
  it('general: qᵀ diag(2, 1, 1) k', () => {
    const expected = BOOKS.map((b) => 2 * q[0]! * b.key[0]! + q[1]! * b.key[1]! + q[2]! * b.key[2]!);
    run('general', 'softmax').scores.forEach((s, n) => expect(s).toBeCloseTo(expected[n]!, 5));
  });
  it('additive: Σᵢ tanh(2(qᵢ + kᵢ − 1.2))', () => {
    const expected = BOOKS.map((b) => b.key.reduce((s, k, i) => s + Math.tanh(2 * (q[i]! + k - 1.2)), 0));
    run('additive', 'softmax').scores.forEach((s, n) => expect(s).toBeCloseTo(expected[n]!, 5));
  });
  it('concat: 2 Σᵢ (tanh(2kᵢ) − tanh(2(qᵢ + kᵢ)))', () => {
    const expected = BOOKS.map((b) => b.key.reduce((s, k, i) => s + 2 * (Math.tanh(2 * k) - Math.tanh(2 * (q[i]! + k))), 0));
    run('concat', 'softmax').scores.forEach((s, n) => expect(s).toBeCloseTo(expected[n]!, 5));
  });
});
