import { afterAll, describe, expect, it } from 'vitest';
import { Rng, randn } from '@heed/tensor';
import { createScorer, type Scorer } from '@heed/scorers';
import { attend, createNormalizer } from '@heed/soft-attention';
import { exportToOnnx } from './export-to-onnx';
import { B, expectAgreement, exportOptionsFor, float, LENGTHS, MASK_FORMS, maskFeeds, masksFor, reportWorst } from './testing/agreement';

// Every configuration is exported once, run in onnxruntime-node and onnxruntime-web at two sequence
// lengths (the same model: its batch and length axes are dynamic), and compared with heed's own output
// on the same inputs: max |onnx − heed| / max |heed| ≤ 1e-5 (1e-4 for sparsemax and entmax).

afterAll(reportWorst);

describe('attend with heads: the standard Attention op, the contrib op and plain ops agree with heed', () => {
  const d = 4;
  for (const target of ['standard', 'contrib', 'decomposed'] as const) {
    it(`${target}: dot and scaled-dot, softmax with temperatures, grouped-query heads, every mask form`, async () => {
      const rng = new Rng(5);
      for (const [scorerSpec, temperature] of [
        [{ kind: 'scaled-dot' }, 1],
        [{ kind: 'dot' }, 0.5],
        [{ kind: 'scaled-dot', scale: 0.3 }, 2],
      ] as const) {
        const scorer = createScorer(scorerSpec as never) as Scorer;
        {
          const normalizer = createNormalizer({ kind: 'softmax', temperature });
          for (const [numHeads, numKeyValueHeads] of [
            [2, 2],
            [4, 2],
            [4, 1],
          ] as const) {
            for (const form of MASK_FORMS) {
              const exported = exportToOnnx(
                { scorer, normalizer },
                { target, dims: { queryDim: d, numHeads, numKeyValueHeads }, ...exportOptionsFor(form) },
              );
              expect(exported.attentionOp).toBe(
                target === 'standard' ? 'Attention' : target === 'contrib' ? 'MultiHeadAttention' : 'decomposed',
              );
              const cases = LENGTHS.map(([Lq, Lk]) => {
                const [query, keys, values] = [
                  randn([B, numHeads, Lq, d], rng),
                  randn([B, numKeyValueHeads, Lk, d], rng),
                  randn([B, numKeyValueHeads, Lk, d], rng),
                ];
                const masks = masksFor(form, Lq, Lk, true, rng);
                const groupSize = numHeads / numKeyValueHeads;
                const expected = attend({
                  query,
                  keys,
                  values,
                  scorer,
                  normalizer,
                  groupSize,
                  attentionMask: masks.attentionMask,
                  keyPaddingMask: masks.keyPaddingMask,
                  causal: masks.causal,
                  implementation: 'plain',
                }).context;
                return { feeds: { query: float(query), keys: float(keys), values: float(values), ...maskFeeds(masks) }, expected };
              });
              await expectAgreement(`attend heads ${target}`, exported.bytes, cases, 1e-5);
            }
          }
        }
      }
    }, 60_000);
  }
});
