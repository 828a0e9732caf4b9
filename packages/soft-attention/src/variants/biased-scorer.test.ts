// A user-defined score modifier, written outside heed: a learned per-head distance penalty
// −w_h·|i − j| (a symmetric cousin of ALiBi). One class implementing ScoreBias; BiasedScorer adds it
// to any scorer, and its parameter trains. This is the recipe of CONTRIBUTING.md, "Add a variant".
import { abs, ConfigError, gradcheck, matmul, Module, mul, neg, Parameter, randn, reshape, Rng, sum, Tensor } from '@heed/tensor';
import { DotScorer } from '@heed/scorers';
import { describe, expect, it } from 'vitest';
import { assertClose } from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { BiasedScorer, type ScoreBias } from './biased-scorer';

/** bias[h, i, j] = −w_h · |j − (i + offset)| with w [H] learned. -> [H, Lq, Lk] */
class DistancePenalty extends Module implements ScoreBias {
  readonly kind = 'distance-penalty';
  readonly weight: Parameter;

  constructor(numHeads: number) {
    super();
    this.weight = new Parameter(
      Float32Array.from({ length: numHeads }, (_, h) => 0.5 * (h + 1)),
      [numHeads],
    );
  }

  bias(queryLength: number, keyLength: number, queryOffset: number): Tensor {
    const distance = new Float32Array(queryLength * keyLength);
    for (let i = 0; i < queryLength; i++) for (let j = 0; j < keyLength; j++) distance[i * keyLength + j] = j - (i + queryOffset);
    const H = this.weight.size;
    return neg(mul(reshape(this.weight, [H, 1, 1]), abs(new Tensor(distance, [queryLength, keyLength])))); // [H, 1, 1] x [Lq, Lk] -> [H, Lq, Lk]
  }
}

describe('BiasedScorer with a user-defined ScoreBias', () => {
  it('adds −w_h·|i − j| to the inner scores exactly like a naive loop', () => {
    const rng = new Rng(11);
    const [B, H, L, d] = [2, 3, 4, 5];
    const q = randn([B, H, L, d], rng);
    const k = randn([B, H, L, d], rng);
    const penalty = new DistancePenalty(H);
    const scores = new BiasedScorer(penalty, { inner: new DotScorer() }).score(q, k); // [B, H, L, L]
    const raw = matmul(q, k, { transposeB: true });
    const expected = new Float64Array(B * H * L * L);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < L; i++)
          for (let j = 0; j < L; j++) {
            const at = ((b * H + h) * L + i) * L + j;
            expected[at] = raw.data[at]! - 0.5 * (h + 1) * Math.abs(i - j);
          }
    assertClose('scores', scores, { shape: [B, H, L, L], data: expected }, { rtol: 1e-6, atol: 1e-6 });
  });

  it('trains its parameter: gradients of q, k and w match finite differences through attend', () => {
    const rng = new Rng(12);
    const q = randn([1, 2, 3, 4], rng);
    const k = randn([1, 2, 3, 4], rng);
    const v = randn([1, 2, 3, 2], rng);
    const penalty = new DistancePenalty(2);
    const scorer = new BiasedScorer(penalty);
    expect(scorer.namedParameters().map(([name]) => name)).toEqual(['positionBias.weight']);
    const check = gradcheck((qq, kk) => attend({ query: qq!, keys: kk!, values: v, scorer, causal: true }).context, [q, k]);
    expect(check.ok, JSON.stringify(check)).toBe(true);
    // d loss / d w by central differences of loss = Σ context (float32: a coarse step, a loose tolerance)
    const loss = () => sum(attend({ query: q, keys: k, values: v, scorer, causal: true }).context);
    scorer.zeroGrad(); // gradcheck above backpropagated into w too
    loss().backward();
    const analytic = Array.from(penalty.weight.grad!.data);
    const step = 1e-2;
    analytic.forEach((g, h) => {
      const w = penalty.weight.data[h]!;
      penalty.weight.data[h] = w + step;
      const up = loss().item();
      penalty.weight.data[h] = w - step;
      const down = loss().item();
      penalty.weight.data[h] = w;
      expect(Math.abs(g - (up - down) / (2 * step))).toBeLessThan(2e-3 + 1e-2 * Math.abs(g));
    });
  });

  it('refuses something that is not a ScoreBias, and a bad offset, at construction', () => {
    expect(() => new BiasedScorer({} as ScoreBias)).toThrow(ConfigError);
    expect(() => new BiasedScorer(new DistancePenalty(2), { queryPositionOffset: 0.5 })).toThrow(/queryPositionOffset/);
  });
});
