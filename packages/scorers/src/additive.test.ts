import { randn, Rng } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { checkScorerFixture } from '../../../fixtures/check-scorer-fixture';
import { loadFixture } from '../../../fixtures/load-fixture';
import { AdditiveScorer } from './additive';

describe('AdditiveScorer', () => {
  it('matches PyTorch (bahdanau_additive): outputs and gradients incl. W1, W2, b, v', () => {
    checkScorerFixture(loadFixture('bahdanau_additive'), new AdditiveScorer({ queryDim: 5, keyDim: 4, hiddenDim: 6 }));
  });

  it('equals a naive vᵀ tanh(W₁q + W₂k + b)', () => {
    const rng = new Rng(9);
    const scorer = new AdditiveScorer({ queryDim: 2, keyDim: 3, hiddenDim: 4, rng });
    const q = randn([1, 2, 2], rng);
    const k = randn([1, 3, 3], rng);
    const s = scorer.score(q, k);
    const [W1, W2, b, v] = [scorer.W1.weight.data, scorer.W2.weight.data, scorer.b.data, scorer.v.weight.data];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) {
        let ref = 0;
        for (let a = 0; a < 4; a++) {
          let h = b[a]!;
          for (let c = 0; c < 2; c++) h += W1[a * 2 + c]! * q.data[i * 2 + c]!;
          for (let c = 0; c < 3; c++) h += W2[a * 3 + c]! * k.data[j * 3 + c]!;
          ref += v[a]! * Math.tanh(h);
        }
        expect(s.data[i * 3 + j]).toBeCloseTo(ref, 5);
      }
  });

  it('names its parameters like the reference module', () => {
    const names = new AdditiveScorer({ queryDim: 5, keyDim: 4, hiddenDim: 6 }).namedParameters().map(([n]) => n);
    expect(names.sort()).toEqual(['W1.weight', 'W2.weight', 'b', 'v.weight']);
  });
});
