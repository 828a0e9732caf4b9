import { randn, Rng, ShapeError, slice } from '@heed/tensor';
import { GeneralScorer } from '@heed/scorers';
import { describe, expect, it } from 'vitest';
import { assertClose } from '../../../fixtures/load-fixture';
import { PerHeadScorer } from './per-head-scorer';

// Shape letters: B batch, H heads, Lq queries, Lk keys, d head size.

describe('PerHeadScorer', () => {
  it('scores head h with scorers[h]: [B, H, Lq, d] x [B, H, Lk, d] -> [B, H, Lq, Lk]', () => {
    const rng = new Rng(0);
    const scorers = [0, 1, 2].map(() => new GeneralScorer({ queryDim: 4, keyDim: 4, rng }));
    const perHead = new PerHeadScorer(scorers);
    const q = randn([2, 3, 5, 4], rng); // [B, H, Lq, d]
    const k = randn([2, 3, 6, 4], rng); // [B, H, Lk, d]
    const scores = perHead.score(q, k);
    expect(scores.shape).toEqual([2, 3, 5, 6]);
    for (let h = 0; h < 3; h++) {
      const want = scorers[h]!.score(slice(q, 1, h, h + 1), slice(k, 1, h, h + 1)); // [B, 1, Lq, Lk]
      assertClose(`head ${h}`, slice(scores, 1, h, h + 1), want, { rtol: 0, atol: 0 });
    }
    expect(perHead.kind).toBe('general');
    expect(perHead.namedParameters().map(([n]) => n)).toEqual(['scorers.0.W.weight', 'scorers.1.W.weight', 'scorers.2.W.weight']);
  });

  it('refuses inputs whose head axis does not match the number of scorers', () => {
    const perHead = new PerHeadScorer([new GeneralScorer({ queryDim: 2 }), new GeneralScorer({ queryDim: 2 })]);
    const rng = new Rng(1);
    const call = () => perHead.score(randn([1, 3, 2, 2], rng), randn([1, 3, 2, 2], rng));
    expect(call).toThrow(ShapeError);
    expect(call).toThrow('PerHeadScorer.score: holds 2 scorers, so query [1, 3, 2, 2] and keys [1, 3, 2, 2] must be [..., H = 2, L, d]');
  });
});
