import { randn, Rng } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { checkScorerFixture } from '../../../fixtures/check-scorer-fixture';
import { loadFixture } from '../../../fixtures/load-fixture';
import { ConcatScorer } from './concat';

describe('ConcatScorer', () => {
  it('matches PyTorch (luong_concat): outputs and gradients incl. W.weight, v.weight', () => {
    checkScorerFixture(loadFixture('luong_concat'), new ConcatScorer({ queryDim: 5, keyDim: 4, hiddenDim: 6 }));
  });

  it('equals a naive vᵀ tanh(W[q; k]) built by concatenation', () => {
    const rng = new Rng(5);
    const scorer = new ConcatScorer({ queryDim: 2, keyDim: 3, hiddenDim: 4, rng });
    const q = randn([1, 2, 2], rng);
    const k = randn([1, 3, 3], rng);
    const s = scorer.score(q, k);
    const W = scorer.W.weight.data; // [4, 5]
    const v = scorer.v.weight.data; // [1, 4]
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) {
        const cat = [q.data[i * 2]!, q.data[i * 2 + 1]!, k.data[j * 3]!, k.data[j * 3 + 1]!, k.data[j * 3 + 2]!];
        let ref = 0;
        for (let a = 0; a < 4; a++) {
          let h = 0;
          for (let c = 0; c < 5; c++) h += W[a * 5 + c]! * cat[c]!;
          ref += v[a]! * Math.tanh(h);
        }
        expect(s.data[i * 3 + j]).toBeCloseTo(ref, 5);
      }
  });

  it('names its parameters like the reference module', () => {
    const names = new ConcatScorer({ queryDim: 5, keyDim: 4, hiddenDim: 6 }).namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`);
    expect(names).toEqual(['W.weight:6x9', 'v.weight:1x6']);
  });
});
