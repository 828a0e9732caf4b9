// A user-defined score modifier written outside heed: scores that fall off with distance and are then
// clipped smoothly, s' = 4·tanh((s − 0.1·|i − j|) / 4) — a function of the score and the indices.
import { ConfigError, div, gradcheck, matmul, mul, randn, Rng, sub, tanh, Tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { assertClose } from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { ModifiedScorer, type ScoreModifier, type ScorePositions } from './modified-scorer';
import { SlidingWindowRule } from './sliding-window';

const fallOff: ScoreModifier = {
  kind: 'fall-off',
  modify(scores: Tensor, { queryLength, keyLength, queryOffset }: ScorePositions): Tensor {
    const distance = new Float32Array(queryLength * keyLength);
    for (let i = 0; i < queryLength; i++)
      for (let j = 0; j < keyLength; j++) distance[i * keyLength + j] = 0.1 * Math.abs(i + queryOffset - j);
    return mul(tanh(div(sub(scores, new Tensor(distance, [queryLength, keyLength])), 4)), 4); // [..., Lq, Lk]
  },
};

describe('ModifiedScorer with a user-defined ScoreModifier', () => {
  it('modifies the inner scores like a naive loop, at a query offset too', () => {
    const rng = new Rng(71);
    const [q, k] = [randn([2, 3, 4], rng).mul(3), randn([2, 5, 4], rng).mul(3)];
    const scores = new ModifiedScorer(fallOff, { inner: { kind: 'dot' }, queryPositionOffset: 'bottom-right' }).score(q, k); // [2, 3, 5]
    const raw = matmul(q, k, { transposeB: true });
    const expected = Array.from(raw.data, (s, n) => {
      const [i, j] = [Math.floor(n / 5) % 3, n % 5];
      return 4 * Math.tanh((s - 0.1 * Math.abs(i + 2 - j)) / 4);
    });
    assertClose('modified', scores, { shape: [2, 3, 5], data: expected }, { rtol: 1e-5, atol: 1e-6 });
  });

  it('works in attend with a keep rule, with gradients matching finite differences', () => {
    const rng = new Rng(72);
    const scorer = new ModifiedScorer(fallOff);
    const mask = new SlidingWindowRule(2).toMask([4, 4]);
    const v = randn([1, 2, 4, 2], rng);
    const check = gradcheck(
      (qq, kk) => attend({ query: qq!, keys: kk!, values: v, scorer, attentionMask: mask }).context,
      [randn([1, 2, 4, 3], rng), randn([1, 2, 4, 3], rng)],
    );
    expect(check.ok, JSON.stringify(check)).toBe(true);
    expect(scorer.kind).toBe('fall-off+scaled-dot');
  });

  it('refuses something that is not a modifier, and a modifier that changes the shape', () => {
    expect(() => new ModifiedScorer({} as ScoreModifier)).toThrow(ConfigError);
    const rowSums: ScoreModifier = { kind: 'row-sums', modify: (s) => s.sum(-1) };
    expect(() => new ModifiedScorer(rowSums).score(randn([1, 2, 3], new Rng(1)), randn([1, 4, 3], new Rng(2)))).toThrow(
      /row-sums modifier returned \[1, 2\] for scores \[1, 2, 4\]/,
    );
  });
});
