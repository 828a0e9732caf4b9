import { afterAll, describe, expect, it } from 'vitest';
import { Rng, randn } from '@heed/tensor';
import { createScorer } from '@heed/scorers';
import { SoftAttention } from '@heed/soft-attention';
import { SelfAttention } from '@heed/self-attention';
import { MultiHeadAttention } from '@heed/multi-head';
import { exportToOnnx } from './export-to-onnx';
import {
  B,
  expectAgreement,
  exportOptionsFor,
  float,
  LENGTHS,
  MASK_FORMS,
  maskFeeds,
  masksFor,
  reportWorst,
  SCORERS,
  toleranceFor,
} from './testing/agreement';

// Every configuration is exported once, run in onnxruntime-node and onnxruntime-web at two sequence
// lengths (the same model: its batch and length axes are dynamic), and compared with heed's own output
// on the same inputs: max |onnx − heed| / max |heed| ≤ 1e-5 (1e-4 for sparsemax and entmax).

afterAll(reportWorst);

describe('SoftAttention and SelfAttention modules', () => {
  it('SoftAttention: weights as initializers under heed names', async () => {
    const rng = new Rng(3);
    const module = new SoftAttention({
      scorer: createScorer({ kind: 'additive', queryDim: 4, keyDim: 4, hiddenDim: 5, rng }),
      normalizer: { kind: 'entmax15' },
    });
    const { bytes } = exportToOnnx(module, { dims: { queryDim: 4, valueDim: 2 }, causal: true });
    const text = new TextDecoder().decode(bytes);
    for (const [name] of module.namedParameters()) expect(text).toContain(name);
    const cases = LENGTHS.map(([Lq, Lk]) => {
      const [query, keys, values] = [randn([B, Lq, 4], rng), randn([B, Lk, 4], rng), randn([B, Lk, 2], rng)];
      return {
        feeds: { query: float(query), keys: float(keys), values: float(values) },
        expected: module.forward(query, keys, values, { causal: true }).context,
      };
    });
    await expectAgreement('SoftAttention', bytes, cases, 1e-4);
  }, 60_000);

  for (const target of ['standard', 'contrib', 'decomposed'] as const) {
    it(`SelfAttention, ${target}: every scorer, softmax and sparsemax, masks, an output projection`, async () => {
      const rng = new Rng(8);
      for (const scorerKind of SCORERS) {
        for (const normalizer of [{ kind: 'softmax', temperature: 1.5 }, { kind: 'sparsemax' }] as const) {
          const module = new SelfAttention({
            inputDim: 6,
            keyDim: 4,
            valueDim: 4,
            outputDim: 5,
            scorer: { kind: scorerKind },
            normalizer,
            rng,
          });
          for (const form of ['none', 'all'] as const) {
            const { bytes } = exportToOnnx(module, { target, ...exportOptionsFor(form) });
            const cases = LENGTHS.map(([L]) => {
              const x = randn([B, L, 6], rng);
              const masks = masksFor(form, L, L, false, rng);
              const expected = module.forward(x, {
                attentionMask: masks.attentionMask,
                keyPaddingMask: masks.keyPaddingMask,
                causal: masks.causal,
              }).output;
              return { feeds: { x: float(x), ...maskFeeds(masks) }, expected };
            });
            await expectAgreement(`SelfAttention ${target} ${normalizer.kind}`, bytes, cases, toleranceFor(normalizer));
          }
        }
      }
    }, 60_000);
  }
});

describe('MultiHeadAttention', () => {
  for (const target of ['standard', 'contrib', 'decomposed'] as const) {
    it(`${target}: MHA, GQA and MQA, cross-attention sizes, per-head scorers, every mask form`, async () => {
      const rng = new Rng(21);
      const configs = [
        { embedDim: 8, numHeads: 2 },
        { embedDim: 8, numHeads: 4, numKeyValueHeads: 2, keyDim: 6, valueDim: 5 },
        { embedDim: 8, numHeads: 4, numKeyValueHeads: 1 },
        { embedDim: 8, numHeads: 2, scorer: { kind: 'general' } },
        { embedDim: 8, numHeads: 4, numKeyValueHeads: 2, scorer: { kind: 'additive' }, normalizer: { kind: 'entmax15' } },
        { embedDim: 8, numHeads: 2, scorer: { kind: 'cosine', temperature: 0.2 }, normalizer: { kind: 'sparsemax' } },
      ] as const;
      for (const config of configs) {
        const module = new MultiHeadAttention({ ...config, rng } as never);
        const kdim = module.keyDim;
        const vdim = module.valueDim;
        for (const form of MASK_FORMS) {
          const { bytes, attentionOp } = exportToOnnx(module, { target, ...exportOptionsFor(form) });
          if (!('scorer' in config))
            expect(attentionOp).toBe(target === 'standard' ? 'Attention' : target === 'contrib' ? 'MultiHeadAttention' : 'decomposed');
          const cases = LENGTHS.map(([Lq, Lk]) => {
            const [query, key, value] = [randn([B, Lq, 8], rng), randn([B, Lk, kdim], rng), randn([B, Lk, vdim], rng)];
            const masks = masksFor(form, Lq, Lk, true, rng);
            const expected = module.forward(query, key, value, {
              attentionMask: masks.attentionMask,
              keyPaddingMask: masks.keyPaddingMask,
              causal: masks.causal,
              needWeights: false,
            }).output;
            return { feeds: { query: float(query), key: float(key), value: float(value), ...maskFeeds(masks) }, expected };
          });
          const tolerance = 'normalizer' in config ? 1e-4 : 1e-5;
          await expectAgreement(`MultiHeadAttention ${target}`, bytes, cases, tolerance);
        }
      }
    }, 60_000);
  }
});
