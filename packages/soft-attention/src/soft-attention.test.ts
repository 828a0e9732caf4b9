import { Adam, mul, randn, Rng, sum, tensor } from '@heed/tensor';
import { AdditiveScorer } from '@heed/scorers';
import { describe, expect, it } from 'vitest';
import { SoftAttention } from './soft-attention';
import { Sparsemax } from './sparsemax-normalizer';

describe('SoftAttention', () => {
  it('holds a scorer whose parameters train: an additive scorer learns to point at a target key', () => {
    const rng = new Rng(3);
    const layer = new SoftAttention({ scorer: new AdditiveScorer({ queryDim: 4, keyDim: 4, hiddenDim: 8, rng }) });
    expect(layer.parameters().length).toBe(4);
    const keys = randn([1, 5, 4], rng);
    const values = tensor([[[1], [0], [0], [0], [0]]]); // context = weight on key 0
    const query = randn([1, 1, 4], rng);
    const optimizer = new Adam(layer.parameters(), { lr: 0.05 });
    const before = layer.forward(query, keys, values).context.item();
    for (let step = 0; step < 100; step++) {
      optimizer.zeroGrad();
      const { context } = layer.forward(query, keys, values);
      mul(sum(context), -1).backward(); // maximize the weight on key 0
      optimizer.step();
    }
    const after = layer.forward(query, keys, values).context.item();
    expect(before).toBeLessThan(0.5);
    expect(after).toBeGreaterThan(0.95);
  });

  it('takes a normalizer spec and passes masks', () => {
    const rng = new Rng(0);
    const layer = new SoftAttention({ normalizer: new Sparsemax() });
    const { weights } = layer.forward(randn([1, 2, 4], rng), randn([1, 3, 4], rng), randn([1, 3, 2], rng), { causal: true });
    expect(weights!.toArray()).toEqual([[[1, 0, 0], expect.any(Array)]]);
  });

  it('passes needWeights through: no weights, the same context', () => {
    const rng = new Rng(5);
    const [q, k, v] = [randn([1, 2, 3, 4], rng), randn([1, 2, 5, 4], rng), randn([1, 2, 5, 2], rng)];
    const layer = new SoftAttention();
    const full = layer.forward(q, k, v, { causal: true });
    const lean = layer.forward(q, k, v, { causal: true, needWeights: false });
    expect(lean.weights).toBeNull();
    full.context.data.forEach((x, i) => expect(lean.context.data[i]).toBeCloseTo(x, 5));
  });
});
