import { afterAll, describe, it } from 'vitest';
import { Rng, randn } from '@heed/tensor';
import { createScorer } from '@heed/scorers';
import {
  alibiScorer,
  attend,
  BiasedScorer,
  createNormalizer,
  ModifiedScorer,
  RelativePositionBias,
  RotaryScorer,
  SoftcapScorer,
  SoftmaxWithSinks,
} from '@heed/soft-attention';
import { mul } from '@heed/tensor';
import { expect } from 'vitest';
import { LlamaAttention, MultiHeadAttention } from '@heed/multi-head';
import { exportToOnnx } from './export-to-onnx';
import { B, expectAgreement, exportOptionsFor, float, LENGTHS, maskFeeds, masksFor, reportWorst } from './testing/agreement';

// The variant scorers exported and run in both runtimes at two lengths, against heed's output.

afterAll(reportWorst);

describe('variants: RoPE and soft-capping', () => {
  it('RoPE (both styles, query offsets) and softcap around dot, scaled-dot and general scorers', async () => {
    const rng = new Rng(4);
    const d = 6;
    const scorers = [
      new RotaryScorer(),
      new RotaryScorer({ style: 'interleaved', base: 500, inner: createScorer({ kind: 'dot' }) }),
      new RotaryScorer({ queryPositionOffset: 'bottom-right' }),
      new RotaryScorer({ queryPositionOffset: 3, inner: createScorer({ kind: 'general', queryDim: d, keyDim: d, rng }) }),
      new SoftcapScorer(2),
      new SoftcapScorer(1.5, { inner: new RotaryScorer() }),
    ];
    for (const scorer of scorers) {
      for (const normalizer of [createNormalizer({ kind: 'softmax' }), createNormalizer({ kind: 'entmax15' })]) {
        for (const form of ['none', 'all'] as const) {
          const { bytes } = exportToOnnx({ scorer, normalizer }, { dims: { queryDim: d, valueDim: 3 }, ...exportOptionsFor(form) });
          const cases = LENGTHS.map(([Lq, Lk]) => {
            const [query, keys, values] = [randn([B, Lq, d], rng), randn([B, Lk, d], rng), randn([B, Lk, 3], rng)];
            const masks = masksFor(form, Lq, Lk, false, rng);
            const expected = attend({
              query,
              keys,
              values,
              scorer,
              normalizer,
              attentionMask: masks.attentionMask,
              keyPaddingMask: masks.keyPaddingMask,
              causal: masks.causal,
              implementation: 'plain',
            }).context;
            return { feeds: { query: float(query), keys: float(keys), values: float(values), ...maskFeeds(masks) }, expected };
          });
          await expectAgreement(`${scorer.kind} ${normalizer.kind}`, bytes, cases, normalizer.kind === 'softmax' ? 1e-5 : 1e-4);
        }
      }
    }
  }, 60_000);

  it('a MultiHeadAttention with a rotary scorer in every head (GQA)', async () => {
    const rng = new Rng(9);
    const module = new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2, scorer: new RotaryScorer(), rng });
    for (const target of ['standard', 'decomposed'] as const) {
      const { bytes } = exportToOnnx(module, { target, causal: true });
      const cases = LENGTHS.map(([L]) => {
        const x = randn([B, L, 8], rng);
        return {
          feeds: { query: float(x), key: float(x), value: float(x) },
          expected: module.forward(x, x, x, { causal: true, needWeights: false }).output,
        };
      });
      await expectAgreement(`MultiHeadAttention rotary ${target}`, bytes, cases, 1e-5);
    }
  }, 60_000);

  it('ALiBi and attention sinks on heads: attend (GQA) and MultiHeadAttention', async () => {
    const rng = new Rng(12);
    const d = 4;
    const [numHeads, numKeyValueHeads] = [4, 2];
    const configs = [
      { scorer: alibiScorer(numHeads), normalizer: createNormalizer({ kind: 'softmax' }) },
      {
        scorer: alibiScorer(numHeads, createScorer({ kind: 'dot' }), { queryPositionOffset: 'bottom-right' }),
        normalizer: createNormalizer({ kind: 'sparsemax' }),
      },
      { scorer: createScorer({ kind: 'scaled-dot' }), normalizer: new SoftmaxWithSinks({ numHeads, init: 'normal', rng }) },
      { scorer: alibiScorer(numHeads), normalizer: new SoftmaxWithSinks({ numHeads, init: 'normal', rng }) },
    ];
    for (const { scorer, normalizer } of configs) {
      for (const form of ['none', 'all'] as const) {
        const { bytes } = exportToOnnx(
          { scorer, normalizer },
          { dims: { queryDim: d, numHeads, numKeyValueHeads }, ...exportOptionsFor(form) },
        );
        const cases = LENGTHS.map(([Lq, Lk]) => {
          const [query, keys, values] = [
            randn([B, numHeads, Lq, d], rng),
            randn([B, numKeyValueHeads, Lk, d], rng),
            randn([B, numKeyValueHeads, Lk, d], rng),
          ];
          const masks = masksFor(form, Lq, Lk, true, rng);
          const expected = attend({
            query,
            keys,
            values,
            scorer,
            normalizer,
            groupSize: 2,
            attentionMask: masks.attentionMask,
            keyPaddingMask: masks.keyPaddingMask,
            causal: masks.causal,
            implementation: 'plain',
          }).context;
          return { feeds: { query: float(query), keys: float(keys), values: float(values), ...maskFeeds(masks) }, expected };
        });
        await expectAgreement(`${scorer.kind} ${normalizer.kind} heads`, bytes, cases, normalizer.kind === 'sparsemax' ? 1e-4 : 1e-5);
      }
      const module = new MultiHeadAttention({ embedDim: 8, numHeads, numKeyValueHeads, scorer, normalizer, rng });
      const { bytes } = exportToOnnx(module, { causal: true, keyPaddingMask: true });
      const cases = LENGTHS.map(([L]) => {
        const x = randn([B, L, 8], rng);
        const { keyPaddingMask } = masksFor('keyPaddingMask', L, L, true, rng);
        const expected = module.forward(x, x, x, { causal: true, keyPaddingMask, needWeights: false }).output;
        return { feeds: { query: float(x), key: float(x), value: float(x), ...maskFeeds({ keyPaddingMask }) }, expected };
      });
      await expectAgreement(
        `MultiHeadAttention ${scorer.kind} ${normalizer.kind}`,
        bytes,
        cases,
        normalizer.kind === 'sparsemax' ? 1e-4 : 1e-5,
      );
    }
  }, 60_000);

  it('LlamaAttention: RoPE, GQA, sliding window, softcap, sinks, biases, a head size of its own', async () => {
    const rng = new Rng(31);
    const configs = [
      { embedDim: 8, numHeads: 4, numKeyValueHeads: 2 },
      { embedDim: 8, numHeads: 2, numKeyValueHeads: 1, headDim: 6, ropeBase: 500, ropeStyle: 'interleaved', attentionBias: true },
      { embedDim: 8, numHeads: 4, numKeyValueHeads: 2, slidingWindow: 3, softcap: 5, sinks: true, queryPreAttentionScalar: 3 },
    ] as const;
    for (const config of configs) {
      const module = new LlamaAttention({ ...config, rng });
      if (module.normalizer instanceof SoftmaxWithSinks) module.normalizer.sinks.data.set([0.5, -1, 2, 0]);
      for (const target of ['standard', 'decomposed'] as const) {
        const { bytes, attentionOp } = exportToOnnx(module, { target });
        const cases = LENGTHS.map(([L]) => {
          const x = randn([B, L, 8], rng);
          return { feeds: { x: float(x) }, expected: module.forward(x, { needWeights: false }).output };
        });
        await expectAgreement(`LlamaAttention ${target} ${attentionOp}`, bytes, cases, 1e-5);
      }
    }
  }, 60_000);
});

describe('variants: T5 relative position bias', () => {
  it('bidirectional and causal buckets, saturating past maxDistance, offsets: attend (GQA) and MultiHeadAttention, every target', async () => {
    const rng = new Rng(23);
    const d = 4;
    const [numHeads, numKeyValueHeads] = [2, 1];
    const biases = [
      { bias: new RelativePositionBias({ numHeads, numBuckets: 8, maxDistance: 6, rng }), queryPositionOffset: 0 as const },
      {
        bias: new RelativePositionBias({ numHeads, bidirectional: false, numBuckets: 6, maxDistance: 5.5, rng }),
        queryPositionOffset: 'bottom-right' as const,
      },
      { bias: new RelativePositionBias({ numHeads, numBuckets: 32, maxDistance: 128, rng }), queryPositionOffset: 2 },
    ];
    for (const { bias, queryPositionOffset } of biases) {
      const scorer = new BiasedScorer(bias, { inner: createScorer({ kind: 'dot' }), queryPositionOffset });
      for (const normalizer of [createNormalizer({ kind: 'softmax' }), createNormalizer({ kind: 'entmax15' })]) {
        const { bytes } = exportToOnnx(
          { scorer, normalizer },
          { dims: { queryDim: d, numHeads, numKeyValueHeads }, ...exportOptionsFor('all') },
        );
        const cases = LENGTHS.map(([Lq, Lk]) => {
          const [query, keys, values] = [
            randn([B, numHeads, Lq, d], rng),
            randn([B, numKeyValueHeads, Lk, d], rng),
            randn([B, numKeyValueHeads, Lk, d], rng),
          ];
          const masks = masksFor('all', Lq, Lk, true, rng);
          const expected = attend({ query, keys, values, scorer, normalizer, groupSize: 2, ...masks, implementation: 'plain' }).context;
          return { feeds: { query: float(query), keys: float(keys), values: float(values), ...maskFeeds(masks) }, expected };
        });
        await expectAgreement(`${scorer.kind} ${normalizer.kind} heads`, bytes, cases, normalizer.kind === 'softmax' ? 1e-5 : 1e-4);
      }
      const module = new MultiHeadAttention({ embedDim: 8, numHeads, numKeyValueHeads, scorer, rng });
      for (const target of ['standard', 'contrib', 'decomposed'] as const) {
        const { bytes, attentionOp } = exportToOnnx(module, { target, causal: true });
        expect(attentionOp).toBe('decomposed');
        const cases = LENGTHS.map(([L]) => {
          const x = randn([B, L, 8], rng);
          return {
            feeds: { query: float(x), key: float(x), value: float(x) },
            expected: module.forward(x, x, x, { causal: true, needWeights: false }).output,
          };
        });
        await expectAgreement(`MultiHeadAttention ${scorer.kind} ${target}`, bytes, cases, 1e-5);
      }
    }
  }, 60_000);

  it('a ModifiedScorer (a JavaScript function of the scores) fails with a named error, even under a built-in kind', () => {
    const doubled = new ModifiedScorer({ kind: 'doubled', modify: (scores) => mul(scores, 2) });
    expect(() => exportToOnnx({ scorer: doubled }, { dims: { queryDim: 4 } })).toThrow(
      /the ModifiedScorer 'doubled\+scaled-dot' applies a JavaScript function \(its 'doubled' modifier\) to the scores, which has no ONNX form; teach the exporter its graph with registerScorerExport\('doubled\+scaled-dot'/,
    );
    const disguised = new ModifiedScorer({ kind: 'alibi', modify: (scores) => mul(scores, 2) });
    expect(() => exportToOnnx({ scorer: disguised }, { dims: { queryDim: 4 } })).toThrow(
      /the scorer 'alibi\+scaled-dot' is ModifiedScorer, not heed's AlibiBias: it has no ONNX export/,
    );
    const ownBias = new BiasedScorer({
      kind: 'relative-position',
      bias: () => {
        throw new Error('never called');
      },
    } as never);
    expect(() => exportToOnnx({ scorer: ownBias }, { dims: { queryDim: 4 } })).toThrow(
      /the scorer 'relative-position\+scaled-dot' is a 'relative-position' position bias of its own, not heed's RelativePositionBias/,
    );
  });
});
