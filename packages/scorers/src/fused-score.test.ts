import { Module, matmul, Rng, randn, type Tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { AdditiveScorer } from './additive';
import { CosineScorer } from './cosine';
import { DotScorer } from './dot';
import { GeneralScorer } from './general';
import { ScaledDotScorer } from './scaled-dot';
import { isScorer, scorerBrand } from './scorer';

describe('fusedScore: what the fused kernel can compute for a scorer', () => {
  it('dot is q·k with scale 1; scaled-dot is q·k with 1/√dk, or its own scale', () => {
    expect(new DotScorer().fusedScore()).toEqual({ kind: 'dot', scale: 1 });
    expect(new ScaledDotScorer().fusedScore(16)).toEqual({ kind: 'dot', scale: 1 / 4 });
    expect(new ScaledDotScorer({ scale: 0.3 }).fusedScore(16)).toEqual({ kind: 'dot', scale: 0.3 });
  });

  it('a subclass that changes score no longer claims the capability', () => {
    class Doubled extends DotScorer {
      override score(query: Tensor, keys: Tensor): Tensor {
        return matmul(query, keys, { transposeB: true }).mul(2); // [..., Lq, Lk]
      }
    }
    class Halved extends ScaledDotScorer {
      override score(query: Tensor, keys: Tensor): Tensor {
        return matmul(query, keys, { transposeB: true }).mul(0.5); // [..., Lq, Lk]
      }
    }
    expect(new Doubled().fusedScore()).toBeNull();
    expect(new Halved().fusedScore(4)).toBeNull();
  });

  it('the parametric scorers do not declare it (their scores are not a multiple of q·k)', () => {
    const rng = new Rng(1);
    expect((new GeneralScorer({ queryDim: 3, rng }) as { fusedScore?: unknown }).fusedScore).toBeUndefined();
    expect((new AdditiveScorer({ queryDim: 3, rng }) as { fusedScore?: unknown }).fusedScore).toBeUndefined();
    expect((new CosineScorer() as { fusedScore?: unknown }).fusedScore).toBeUndefined();
  });
});

describe('isScorer reads the brand, or the shape of a scorer, never instanceof', () => {
  it('recognises heed scorers, a branded object from another copy, and an unbranded scorer of your own', () => {
    expect(isScorer(new DotScorer())).toBe(true);
    const foreign = { [Symbol.for('heed.scorer')]: true, kind: 'dot', score: () => randn([1, 1, 1], new Rng(2)) };
    expect(foreign[scorerBrand]).toBe(true);
    expect(isScorer(foreign)).toBe(true);
    class Mine extends Module {
      readonly kind = 'mine';
      score(query: Tensor, keys: Tensor): Tensor {
        return matmul(query, keys, { transposeB: true }); // [..., Lq, Lk]
      }
    }
    expect(isScorer(new Mine())).toBe(true);
  });

  it('refuses what is not a scorer', () => {
    for (const value of [null, undefined, 3, 'dot', { kind: 'dot' }, { score: () => null }, { kind: 1, score: () => null }]) {
      expect(isScorer(value), String(value)).toBe(false);
    }
  });
});
