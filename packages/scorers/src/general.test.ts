import { ConfigError, randn, Rng } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { checkScorerFixture } from '../../../fixtures/check-scorer-fixture';
import { loadFixture } from '../../../fixtures/load-fixture';
import { GeneralScorer } from './general';

describe('GeneralScorer', () => {
  it('matches PyTorch with dq ≠ dk (luong_general): outputs and gradients incl. W.weight', () => {
    checkScorerFixture(loadFixture('luong_general'), new GeneralScorer({ queryDim: 5, keyDim: 4, rng: new Rng(0) }));
  });

  it('equals a naive qᵀWk', () => {
    const rng = new Rng(2);
    const scorer = new GeneralScorer({ queryDim: 3, keyDim: 2, rng });
    const q = randn([1, 2, 3], rng);
    const k = randn([1, 4, 2], rng);
    const s = scorer.score(q, k);
    const W = scorer.W.weight.data; // [3, 2]
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 4; j++) {
        let ref = 0;
        for (let a = 0; a < 3; a++) for (let c = 0; c < 2; c++) ref += q.data[i * 3 + a]! * W[a * 2 + c]! * k.data[j * 2 + c]!;
        expect(s.data[i * 4 + j]).toBeCloseTo(ref, 5);
      }
  });

  it('is parameterized by W.weight [dq, dk], the PyTorch name', () => {
    const scorer = new GeneralScorer({ queryDim: 5, keyDim: 4 });
    expect(scorer.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['W.weight', [5, 4]]]);
  });

  it('refuses inputs of other sizes than it was built for, and bad dims', () => {
    const rng = new Rng(0);
    const scorer = new GeneralScorer({ queryDim: 5, keyDim: 4, rng });
    expect(() => scorer.score(randn([1, 2, 4], rng), randn([1, 3, 4], rng))).toThrow(/built for queryDim 5, got query \[1, 2, 4\]/);
    expect(() => new GeneralScorer({ queryDim: 0 })).toThrow(ConfigError);
  });
});
