import { ConfigError, mul, randn, Rng, ShapeError, sum, Tensor } from '@heed/tensor';
import { ScaledDotScorer } from '@heed/scorers';
import { describe, expect, it } from 'vitest';
import {
  assertClose,
  backwardFromFixture,
  checkGrads,
  checkOutput,
  loadVariantFixture,
  toHeed,
  torchMaskToKeep,
} from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { causalMask, combineMasks, keyPaddingToMask } from '../masks';
import { SoftmaxWithSinks } from './softmax-with-sinks';

describe('SoftmaxWithSinks against attention_sinks_gptoss', () => {
  it('weights, sink weights, output and the gradients of q, k, v and sinks (causal + key padding)', () => {
    const fixture = loadVariantFixture('attention_sinks_gptoss');
    const q = toHeed(fixture.inputs.q!, true);
    const k = toHeed(fixture.inputs.k!, true);
    const v = toHeed(fixture.inputs.v!, true);
    const keyPaddingMask = torchMaskToKeep(fixture.inputs.key_padding_mask!); // [B, L], 1 = real key
    const H = q.shape[1]!;
    const normalizer = new SoftmaxWithSinks({ numHeads: H });
    normalizer.loadStateDict({ sinks: toHeed(fixture.params.sinks!) });
    const causal = fixture.config.causal === true;
    const { context, weights } = attend({ query: q, keys: k, values: v, normalizer, causal, keyPaddingMask });
    checkOutput(fixture, 'attn_weights', weights);
    checkOutput(fixture, 'output', context);
    const [B, , L] = q.shape as [number, number, number];
    const keep = combineMasks(causal ? causalMask(L, L) : null, keyPaddingToMask(keyPaddingMask).reshape([B, 1, 1, L])); // [B, 1, L, L]
    const { sinkWeight } = normalizer.normalizeWithSink(new ScaledDotScorer().score(q, k), keep);
    checkOutput(fixture, 'sink_weight', sinkWeight.reshape(fixture.outputs.sink_weight!.shape));
    backwardFromFixture(fixture, 'output', context);
    checkGrads(fixture, 'inputs', { q, k, v });
    checkGrads(fixture, 'params', { sinks: normalizer.sinks });
  });
});

describe('SoftmaxWithSinks as a part', () => {
  it('a fully masked row gives zero weights, zero output and zero, finite gradients', () => {
    const rng = new Rng(8);
    const [B, H, L, d] = [2, 2, 3, 4];
    const q = randn([B, H, L, d], rng, { requiresGrad: true });
    const k = randn([B, H, L, d], rng, { requiresGrad: true });
    const v = randn([B, H, L, 2], rng, { requiresGrad: true });
    const normalizer = new SoftmaxWithSinks({ numHeads: H, init: 'normal', rng });
    const keyPaddingMask = new Tensor(Float32Array.from([1, 1, 1, 0, 0, 0]), [B, L]); // batch 1: every key is padding
    const { context, weights } = attend({ query: q, keys: k, values: v, normalizer, keyPaddingMask });
    expect(Array.from(weights.data.subarray(H * L * L))).toEqual(new Array(H * L * L).fill(0));
    expect(Array.from(context.data.subarray(H * L * 2))).toEqual(new Array(H * L * 2).fill(0));
    sum(mul(context, randn(context.shape, rng))).backward();
    for (const t of [q, k, v, normalizer.sinks]) expect(t.grad!.data.every(Number.isFinite)).toBe(true);
    expect(Array.from(q.grad!.data.subarray(H * L * d))).toEqual(new Array(H * L * d).fill(0));
  });

  it('with the sink at −∞ in effect (very negative) it is plain softmax; rows sum to 1 − sink weight', () => {
    const rng = new Rng(9);
    const scores = randn([1, 2, 3, 4], rng);
    const normalizer = new SoftmaxWithSinks({ numHeads: 2 });
    normalizer.sinks.data.fill(-1e4);
    assertClose('≈ softmax', normalizer.normalize(scores), scores.softmax(-1), { rtol: 1e-6, atol: 1e-7 });
    normalizer.sinks.data.set([0.5, -0.5]);
    const { weights, sinkWeight } = normalizer.normalizeWithSink(scores);
    const total = sum(weights, -1, true).add(sinkWeight);
    total.data.forEach((t) => expect(t).toBeCloseTo(1, 6));
  });

  it('refuses a bad head count at construction and scores with the wrong heads at the call', () => {
    expect(() => new SoftmaxWithSinks({ numHeads: 0 })).toThrow(ConfigError);
    expect(() => new SoftmaxWithSinks({ numHeads: 3 }).normalize(randn([1, 2, 3, 3], new Rng(1)))).toThrow(ShapeError);
  });
});
