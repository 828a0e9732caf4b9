import { afterAll, describe, expect, it } from 'vitest';
import { noGrad, Rng, randn, Tensor } from '@heed/tensor';
import { SoftmaxWithSinks } from '@heed/soft-attention';
import { LlamaAttention, MultiHeadAttention, type KeyValueCache } from '@heed/multi-head';
import { exportToOnnx } from './export-to-onnx';
import { B, expectAgreement, expectOutputsAgreement, float, LENGTHS, maskFeeds, masksFor, reportWorst } from './testing/agreement';
import type { Feed } from './testing/runtimes';

// Cached decoding: the exported graph takes past_key / past_value and returns present_key / present_value;
// fed what heed's KeyValueCache held before each call, it must give heed's output and what the cache holds
// after it. A prompt of 3 positions, then 1, then 2 (so the past length is 0, 3 and 4), on every target,
// in onnxruntime-node and onnxruntime-web.

afterAll(reportWorst);

const CHUNKS = [3, 1, 2];

/** The cache's tensors before a call, as feeds: [B, Hkv, P, d] (P = 0 while empty). */
function pastFeeds(cache: KeyValueCache): Record<string, Feed> {
  const empty = new Tensor(new Float32Array(0), [B, cache.numKeyValueHeads, 0, cache.headDim]);
  return { past_key: float(cache.keys ?? empty), past_value: float(cache.values ?? empty) };
}

describe('MultiHeadAttention with a key/value cache', () => {
  for (const target of ['standard', 'contrib', 'decomposed'] as const) {
    it(`${target}: MHA and GQA, causal (offset = past length) and a key padding mask over every key seen`, async () => {
      const rng = new Rng(41);
      for (const config of [
        { embedDim: 8, numHeads: 2 },
        { embedDim: 16, numHeads: 4, numKeyValueHeads: 2 },
      ]) {
        const layer = new MultiHeadAttention({ ...config, rng });
        for (const padded of [false, true]) {
          const exported = exportToOnnx(layer, { target, causal: true, cache: true, keyPaddingMask: padded });
          expect(exported.outputs.map((o) => o.name)).toEqual(['output', 'present_key', 'present_value']);
          expect(exported.inputs.find((i) => i.name === 'past_key')?.shape).toEqual([
            'batch',
            layer.numKeyValueHeads,
            'past_length',
            layer.headDim,
          ]);
          const cache = layer.createCache();
          const cases = noGrad(() =>
            CHUNKS.map((L) => {
              const past = pastFeeds(cache);
              const x = randn([B, L, config.embedDim], rng);
              const { keyPaddingMask } = padded
                ? masksFor('keyPaddingMask', L, cache.length + L, true, rng)
                : { keyPaddingMask: undefined };
              const output = layer.forward(x, x, x, { causal: true, cache, keyPaddingMask, needWeights: false }).output;
              return {
                feeds: { query: float(x), key: float(x), value: float(x), ...past, ...maskFeeds({ keyPaddingMask }) },
                expected: [output, cache.keys!, cache.values!],
              };
            }),
          );
          await expectOutputsAgreement(`MultiHeadAttention cache ${target}`, exported.bytes, cases, 1e-5);
        }
      }
    }, 60_000);
  }
});

describe('LlamaAttention on the contrib target: GroupQueryAttention where it expresses the block', () => {
  const configs = [
    { embedDim: 16, numHeads: 4, numKeyValueHeads: 2, headDim: 8 },
    { embedDim: 16, numHeads: 4, numKeyValueHeads: 1, headDim: 8, slidingWindow: 3, softcap: 5, sinks: true },
    { embedDim: 16, numHeads: 2, numKeyValueHeads: 2, headDim: 8, ropeStyle: 'interleaved', queryPreAttentionScalar: 3 },
    { embedDim: 8, numHeads: 2, numKeyValueHeads: 1, headDim: 6 }, // a head size ONNX Runtime's GQA refuses: MultiHeadAttention
  ] as const;

  const build = (config: (typeof configs)[number], rng: Rng): LlamaAttention => {
    const layer = new LlamaAttention({ ...config, rng });
    if (layer.normalizer instanceof SoftmaxWithSinks) layer.normalizer.sinks.data.set([0.5, -1, 2, 0]);
    return layer;
  };

  it('without a cache, at two lengths', async () => {
    const rng = new Rng(43);
    for (const config of configs) {
      const layer = build(config, rng);
      const { bytes, attentionOp } = exportToOnnx(layer, { target: 'contrib' });
      const softcapped = 'softcap' in config;
      expect(attentionOp).toBe(config.headDim % 8 === 0 ? 'GroupQueryAttention' : softcapped ? 'decomposed' : 'MultiHeadAttention');
      const cases = LENGTHS.map(([L]) => {
        const x = randn([B, L, config.embedDim], rng);
        return { feeds: { x: float(x) }, expected: layer.forward(x, { needWeights: false }).output };
      });
      await expectAgreement(`LlamaAttention contrib ${attentionOp}`, bytes, cases, 1e-5);
    }
  }, 60_000);

  for (const target of ['standard', 'contrib', 'decomposed'] as const) {
    it(`${target}: cached decoding, RoPE at the past length`, async () => {
      const rng = new Rng(47);
      for (const config of configs) {
        const layer = build(config, rng);
        const exported = exportToOnnx(layer, { target, cache: true });
        const cache = layer.createCache();
        const cases = noGrad(() =>
          CHUNKS.map((L) => {
            const past = pastFeeds(cache);
            const x = randn([B, L, config.embedDim], rng);
            const output = layer.forward(x, { cache, needWeights: false }).output;
            return { feeds: { x: float(x), ...past }, expected: [output, cache.keys!, cache.values!] };
          }),
        );
        await expectOutputsAgreement(`LlamaAttention cache ${target} ${exported.attentionOp}`, exported.bytes, cases, 1e-5);
      }
    }, 60_000);
  }
});

describe('cache and mask options a source cannot take fail at the call', () => {
  it('names the option and the source', () => {
    expect(() => exportToOnnx({ scorer: { kind: 'dot' } }, { dims: { queryDim: 4 }, cache: true })).toThrow(
      /cache: a key\/value cache belongs to MultiHeadAttention and LlamaAttention, not to a attend export/,
    );
    const llama = new LlamaAttention({ embedDim: 8, numHeads: 2 });
    expect(() => exportToOnnx(llama, { causal: true, keyPaddingMask: true })).toThrow(
      /LlamaAttention is causal \(or its sliding window\) by construction and its forward takes no masks; got keyPaddingMask, causal/,
    );
  });
});
