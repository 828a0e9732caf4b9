import { randn, Rng, ShapeError } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { checkScorerFixture } from '../../../fixtures/check-scorer-fixture';
import { loadFixture } from '../../../fixtures/load-fixture';
import { DotScorer } from './dot';

describe('DotScorer', () => {
  it('matches PyTorch (luong_dot): scores, weights, context and gradients', () => {
    checkScorerFixture(loadFixture('luong_dot'), new DotScorer());
  });

  it('equals a naive qᵀk loop, with extra leading dims', () => {
    const rng = new Rng(3);
    const q = randn([2, 3, 4, 5], rng);
    const k = randn([2, 3, 6, 5], rng);
    const s = new DotScorer().score(q, k);
    expect(s.shape).toEqual([2, 3, 4, 6]);
    for (let b = 0; b < 6; b++)
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 6; j++) {
          let ref = 0;
          for (let d = 0; d < 5; d++) ref += q.data[(b * 4 + i) * 5 + d]! * k.data[(b * 6 + j) * 5 + d]!;
          expect(s.data[(b * 4 + i) * 6 + j]).toBeCloseTo(ref, 4);
        }
  });

  it('refuses dq ≠ dk, naming both shapes', () => {
    const rng = new Rng(1);
    const call = () => new DotScorer().score(randn([2, 3, 4], rng), randn([2, 5, 3], rng));
    expect(call).toThrow(ShapeError);
    expect(call).toThrow(/query \[2, 3, 4\].*keys \[2, 5, 3\]/);
  });

  it('refuses different batch sizes', () => {
    const rng = new Rng(1);
    expect(() => new DotScorer().score(randn([2, 3, 4], rng), randn([3, 5, 4], rng))).toThrow(/same leading/);
  });
});
