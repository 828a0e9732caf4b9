import { ConfigError, matmul, randn, Rng, ShapeError, sum, Tensor } from '@heed/tensor';
import { ScaledDotScorer } from '@heed/scorers';
import { describe, expect, it } from 'vitest';
import {
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  integers,
  loadVariantFixture,
  toHeed,
} from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { straightThroughGumbelSoftmax } from './gumbel-softmax';
import { GumbelSoftmax } from './gumbel-softmax-normalizer';

describe('straight-through Gumbel-softmax against gumbel_softmax_straight_through', () => {
  it('one-hot weights, the picked index, context and the surrogate gradients of query, key, value, noise', () => {
    const fixture = loadVariantFixture('gumbel_softmax_straight_through');
    const query = toHeed(fixture.inputs.query!, true);
    const key = toHeed(fixture.inputs.key!, true);
    const value = toHeed(fixture.inputs.value!, true);
    const noise = toHeed(fixture.inputs.gumbel_noise!, true);
    const temperature = configNumber(fixture, 'tau');
    const scores = new ScaledDotScorer().score(query, key); // [B, Lq, Lk]
    checkOutput(fixture, 'scores', scores);
    const weights = straightThroughGumbelSoftmax(scores, { temperature, noise });
    checkOutput(fixture, 'attn_weights', weights);
    const Lk = key.shape[1]!;
    const picked = Array.from({ length: weights.size / Lk }, (_, r) => weights.data.subarray(r * Lk, (r + 1) * Lk).indexOf(1));
    expect(picked).toEqual(integers(fixture.outputs.index!));
    checkOutput(fixture, 'soft_weights', scores.add(noise).div(temperature).softmax(-1));
    const context = matmul(weights, value); // [B, Lq, dv]
    checkOutput(fixture, 'context', context);
    backwardFromFixture(fixture, 'context', context);
    checkGrads(fixture, 'inputs', { query, key, value, gumbel_noise: noise });
  });
});

describe('GumbelSoftmax as a normalizer', () => {
  it('seeded: the same seed picks the same keys; every row is one-hot on an allowed key; masked rows are 0', () => {
    const rng = new Rng(41);
    const [q, k, v] = [randn([2, 3, 4], rng), randn([2, 6, 4], rng), randn([2, 6, 2], rng)];
    const run = () =>
      attend({ query: q, keys: k, values: v, normalizer: new GumbelSoftmax({ temperature: 0.5, rng: new Rng(7) }), causal: true }).weights;
    const [a, b] = [run(), run()];
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    sum(a, -1).data.forEach((s) => expect(s).toBe(1));
    for (let r = 0; r < 6; r++) for (let j = (r % 3) + 1; j < 6; j++) expect(a.data[r * 6 + j]).toBe(0); // causal: never a future key
    const masked = straightThroughGumbelSoftmax(new Tensor(Float32Array.from([-Infinity, -Infinity]), [1, 2]), { rng });
    expect(Array.from(masked.data)).toEqual([0, 0]);
  });

  it('the picks follow softmax(scores) in distribution (Gumbel-max trick)', () => {
    const logits = new Tensor(Float32Array.from([Math.log(0.6), Math.log(0.3), Math.log(0.1)]), [1, 3]);
    const rng = new Rng(42);
    const counts = [0, 0, 0];
    for (let t = 0; t < 4000; t++) counts[straightThroughGumbelSoftmax(logits, { rng }).data.indexOf(1)]! += 1;
    counts.forEach((c, i) => expect(c / 4000).toBeCloseTo([0.6, 0.3, 0.1][i]!, 1));
  });

  it('refuses a bad temperature and noise of the wrong shape', () => {
    expect(() => new GumbelSoftmax({ temperature: 0 })).toThrow(ConfigError);
    expect(() => straightThroughGumbelSoftmax(randn([2, 3], new Rng(1)), { noise: randn([3, 2], new Rng(2)) })).toThrow(ShapeError);
    expect(() => straightThroughGumbelSoftmax(randn([2, 3], new Rng(1)), { temperature: -1 })).toThrow(/temperature/);
  });
});
