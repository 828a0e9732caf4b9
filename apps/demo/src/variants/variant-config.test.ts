import { noGrad, Tensor } from '@heed/tensor';
import { attend } from '@heed/soft-attention';
import { describe, expect, it } from 'vitest';
import { DEFAULT_VARIANT, sentenceSegments, type VariantConfig, variantParts, variantProblem, variantRule } from './variant-config';

// The panel's choices against the formulas its rule writes out, computed here by loops. H heads, L tokens, d size.

const [H, L, d] = [2, 5, 4];
const values = (seed: number) => Float32Array.from({ length: H * L * d }, (_, n) => Math.sin(seed * 7.3 + n * 1.7) * 1.5);
const query = new Tensor(values(1), [1, H, L, d]);
const keys = new Tensor(values(2), [1, H, L, d]);

/** The page's parts through attend() -> weights [H][L][L]. */
function pageWeights(config: VariantConfig, tokens: string[] = []): number[][][] {
  const { scorer, normalizer, causal, keepRule } = variantParts(config, H, tokens);
  const { weights } = noGrad(() => attend({ query, keys, values: keys, scorer, normalizer, causal, keepRule, implementation: 'plain' }));
  return Array.from({ length: H }, (_, h) =>
    Array.from({ length: L }, (_, i) => Array.from(weights.data.subarray((h * L + i) * L, (h * L + i + 1) * L))),
  );
}

/** s_ij = q_i·k_j/√d + bias(h, i, j), kept by keep(i, j), then softmax with an optional sink logit. */
function naive(
  bias: (h: number, i: number, j: number) => number,
  keep: (i: number, j: number) => boolean,
  sink: number | null = null,
): number[][][] {
  return Array.from({ length: H }, (_, h) =>
    Array.from({ length: L }, (_, i) => {
      const s = Array.from({ length: L }, (_, j) => {
        let dot = 0;
        for (let f = 0; f < d; f++) dot += query.data[(h * L + i) * d + f]! * keys.data[(h * L + j) * d + f]!;
        return keep(i, j) ? dot / Math.sqrt(d) + bias(h, i, j) : Number.NEGATIVE_INFINITY;
      });
      const top = Math.max(...s, sink ?? Number.NEGATIVE_INFINITY);
      const e = s.map((x) => Math.exp(x - top));
      const total = e.reduce((a, b) => a + b, 0) + (sink === null ? 0 : Math.exp(sink - top));
      return e.map((x) => x / total);
    }),
  );
}

function expectClose(actual: number[][][], expected: number[][][]): void {
  actual.flat(2).forEach((a, n) => expect(a).toBeCloseTo(expected.flat(2)[n]!, 5));
}

describe('variantParts: the choices are the rule the page writes', () => {
  it('ALiBi, causal: q·k/√d + m_h (j − i) with m = 1/16, 1/256, j ≤ i', () => {
    const slopes = [1 / 16, 1 / 256];
    expectClose(
      pageWeights({ ...DEFAULT_VARIANT, position: 'alibi', window: 'causal' }),
      naive(
        (h, i, j) => slopes[h]! * (j - i),
        (i, j) => j <= i,
      ),
    );
  });

  it('causal sliding window W = 2: i − 2 < j ≤ i; local window W = 1: |i − j| ≤ 1', () => {
    expectClose(
      pageWeights({ ...DEFAULT_VARIANT, window: 'sliding', windowSize: 2 }),
      naive(
        () => 0,
        (i, j) => j <= i && j > i - 2,
      ),
    );
    expectClose(
      pageWeights({ ...DEFAULT_VARIANT, window: 'local', windowSize: 1 }),
      naive(
        () => 0,
        (i, j) => Math.abs(i - j) <= 1,
      ),
    );
  });

  it('segments: a sentence ends after . ! or ?, and each token sees only the tokens before it in its sentence', () => {
    const tokens = ['Hi', '.', 'It', 'ran', '!'];
    expect(sentenceSegments(tokens)).toEqual([0, 0, 1, 1, 1]);
    const segment = sentenceSegments(tokens);
    expectClose(
      pageWeights({ ...DEFAULT_VARIANT, window: 'segments' }, tokens),
      naive(
        () => 0,
        (i, j) => j <= i && segment[i] === segment[j],
      ),
    );
  });

  it('hard attention: every row one-hot, on a kept key, the same picks every time (seeded noise)', () => {
    const config = { ...DEFAULT_VARIANT, window: 'causal', normalizer: 'gumbel' } as const;
    const weights = pageWeights(config);
    weights.flat().forEach((row, r) => {
      const i = r % L;
      expect(row.filter((w) => w === 1)).toHaveLength(1);
      expect(row.indexOf(1)).toBeLessThanOrEqual(i);
      expect(row.reduce((a, b) => a + b, 0)).toBe(1);
    });
    expect(pageWeights(config)).toEqual(weights);
  });

  it('sinks: exp(s) / (exp(sink) + Σ exp(s)), rows summing to less than 1', () => {
    const weights = pageWeights({ ...DEFAULT_VARIANT, window: 'none', normalizer: 'sinks', sink: 0.5 });
    expectClose(
      weights,
      naive(
        () => 0,
        () => true,
        0.5,
      ),
    );
    for (const row of weights.flat()) expect(row.reduce((a, b) => a + b, 0)).toBeLessThan(1);
  });

  it('soft-cap c = 0.5: c · tanh(s / c) before the softmax', () => {
    const capped = pageWeights({ ...DEFAULT_VARIANT, window: 'none', softcap: 0.5 });
    const plain = naive(
      () => 0,
      () => true,
    );
    // undo the softmax row by row: log w_ij − log w_i0 = t_ij − t_i0, where t = c·tanh(s/c)
    const scores = (h: number, i: number, j: number): number => {
      let dot = 0;
      for (let f = 0; f < d; f++) dot += query.data[(h * L + i) * d + f]! * keys.data[(h * L + j) * d + f]!;
      return 0.5 * Math.tanh(dot / Math.sqrt(d) / 0.5);
    };
    capped.forEach((head, h) =>
      head.forEach((row, i) =>
        row.forEach((w, j) => expect(Math.log(w) - Math.log(row[0]!)).toBeCloseTo(scores(h, i, j) - scores(h, i, 0), 4)),
      ),
    );
    expect(capped.flat(2)).not.toEqual(plain.flat(2));
  });

  it('the rule names the parts chosen', () => {
    expect(variantRule({ ...DEFAULT_VARIANT, position: 'rope', softcap: 2, window: 'local', windowSize: 3 })).toEqual([
      expect.stringContaining('c = 2'),
      'keep |i − j| ≤ 3 (3 keys each side)',
      expect.stringContaining('exp(s_ij)'),
    ]);
    expect(variantRule({ ...DEFAULT_VARIANT, normalizer: 'linear' })[0]).toContain('elu(x) + 1');
  });
});

describe('variantProblem: what the page refuses, in words', () => {
  it.each([
    [{ window: 'sliding', windowSize: 0 }, 'sliding window W'],
    [{ window: 'local', windowSize: 1.5 }, 'local window W'],
    [{ softcap: 0 }, 'soft-cap'],
    [{ normalizer: 'alpha-entmax', alpha: 1 }, 'α must be'],
    [{ normalizer: 'sinks', sink: Number.NaN }, 'sink logit'],
    [{ normalizer: 'linear', window: 'local' }, 'Linear attention'],
  ] as const)('%o', (change, words) => {
    expect(variantProblem({ ...DEFAULT_VARIANT, ...change })).toContain(words);
  });
  it('and accepts the defaults', () => {
    expect(variantProblem(DEFAULT_VARIANT)).toBeNull();
  });
});
