import { Rng, tensor, type Tensor } from '@heed/tensor';
import { createScorer, type Scorer } from '@heed/scorers';

// Panel 1's scorers. The parametric ones (general, additive, concat) get weights set by hand, so that they
// rank the library's books the way a reader would: with random weights, additive put "Pride and
// Prejudice" first for "Marvel". Each set of weights is one idea, written out in WEIGHTS_NOTES.
// Shapes: d = 3 key features (superheroes, space, romance), A hidden units.

const FEATURES = 3;
/** Kinds registered later with parameters of their own fall back to weights drawn from this seed. */
export const FALLBACK_SEED = 7;
/** How much a unit of the additive and concat scorers reacts (the slope of its tanh). */
const SLOPE = 2;

/** The hand-set weights of each parametric scorer, by state-dict name. */
export const HAND_SET_WEIGHTS: Record<string, { hiddenDim: number; state: Record<string, { data: number[]; shape: number[] }> }> = {
  // qᵀ W k with W = diag(2, 1, 1): the dot product, with the superhero feature counted twice
  general: { hiddenDim: FEATURES, state: { 'W.weight': { data: [2, 0, 0, 0, 1, 0, 0, 0, 1], shape: [3, 3] } } },
  // one hidden unit per feature, tanh(2 (qᵢ + kᵢ − 1.2)): near +1 only when query and book both have it
  additive: {
    hiddenDim: FEATURES,
    state: {
      'W1.weight': { data: [SLOPE, 0, 0, 0, SLOPE, 0, 0, 0, SLOPE], shape: [3, 3] }, // [A, d]
      'W2.weight': { data: [SLOPE, 0, 0, 0, SLOPE, 0, 0, 0, SLOPE], shape: [3, 3] }, // [A, d]
      b: { data: [-1.2 * SLOPE, -1.2 * SLOPE, -1.2 * SLOPE], shape: [3] }, // [A]
      'v.weight': { data: [1, 1, 1], shape: [1, 3] }, // [1, A]
    },
  },
  // no bias, so two units per feature: 2 (tanh(2kᵢ) − tanh(2(qᵢ + kᵢ))), the part of the query's
  // feature i that the book does not already cover (the tanh saturates when it does)
  concat: {
    hiddenDim: 2 * FEATURES,
    state: {
      'W.weight': {
        // [A, 2d]: query columns first; units 0-2 see qᵢ + kᵢ, units 3-5 see kᵢ alone
        data: [
          [SLOPE, 0, 0, SLOPE, 0, 0],
          [0, SLOPE, 0, 0, SLOPE, 0],
          [0, 0, SLOPE, 0, 0, SLOPE],
          [0, 0, 0, SLOPE, 0, 0],
          [0, 0, 0, 0, SLOPE, 0],
          [0, 0, 0, 0, 0, SLOPE],
        ].flat(),
        shape: [6, 6],
      },
      'v.weight': { data: [-2, -2, -2, 2, 2, 2], shape: [1, 6] }, // [1, A]
    },
  },
};

/** How each parametric scorer's weights were obtained, in words for the page. */
export const WEIGHTS_NOTES: Record<string, string> = {
  general: 'W is set by hand to diag(2, 1, 1): the dot product with the superhero feature counted twice.',
  additive:
    'set by hand: W₁ = W₂ = 2·I, b = −2.4, v = 1, one hidden unit per feature, tanh(2(qᵢ + kᵢ − 1.2)), near +1 only when the query and the book both have feature i.',
  concat:
    'set by hand (concat has no bias): six hidden units see qᵢ + kᵢ or kᵢ alone, and v = (−2, −2, −2, 2, 2, 2) makes the score 2 Σᵢ (tanh(2kᵢ) − tanh(2(qᵢ + kᵢ))): minus what the query asks for that the book does not already have.',
};

/** A scorer for d = 3 features; general, additive and concat carry the hand-set weights above. */
export function createLibraryScorer(kind: string): Scorer {
  const handSet = HAND_SET_WEIGHTS[kind];
  const scorer = createScorer({
    kind,
    queryDim: FEATURES,
    keyDim: FEATURES,
    hiddenDim: handSet?.hiddenDim ?? 4,
    rng: new Rng(FALLBACK_SEED),
  });
  if (handSet) {
    const state: Record<string, Tensor> = {};
    for (const [name, { data, shape }] of Object.entries(handSet.state)) state[name] = tensor(data, shape);
    scorer.loadStateDict(state);
  }
  return scorer;
}
