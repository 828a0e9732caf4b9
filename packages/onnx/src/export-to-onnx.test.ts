import { afterAll, describe, it } from 'vitest';
import { Rng, randn } from '@heed/tensor';
import { createScorer, type Scorer } from '@heed/scorers';
import { attend, createNormalizer, type Normalizer } from '@heed/soft-attention';
import { exportToOnnx } from './export-to-onnx';
import {
  B,
  expectAgreement,
  exportOptionsFor,
  LENGTHS,
  MASK_FORMS,
  maskFeeds,
  masksFor,
  NORMALIZERS,
  reportWorst,
  SCORERS,
  toleranceFor,
} from './testing/agreement';

// Every configuration is exported once, run in onnxruntime-node and onnxruntime-web at two sequence
// lengths (the same model: its batch and length axes are dynamic), and compared with heed's own output
// on the same inputs: max |onnx − heed| / max |heed| ≤ 1e-5 (1e-4 for sparsemax and entmax).

afterAll(reportWorst);

describe('attend configurations: every scorer × normalizer × mask form, decomposed ops', () => {
  const d = 6;
  for (const scorerKind of SCORERS) {
    it(`${scorerKind}`, async () => {
      const rng = new Rng(11);
      const scorer = createScorer({ kind: scorerKind, queryDim: d, keyDim: d, rng } as never) as Scorer;
      for (const normalizerSpec of NORMALIZERS) {
        const normalizer = createNormalizer(normalizerSpec as never) as Normalizer;
        for (const form of MASK_FORMS) {
          const { bytes } = exportToOnnx(
            { scorer, normalizer },
            { target: 'decomposed', dims: { queryDim: d, valueDim: 3 }, ...exportOptionsFor(form) },
          );
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
            return {
              feeds: {
                query: { tensor: query, type: 'float' as const },
                keys: { tensor: keys, type: 'float' as const },
                values: { tensor: values, type: 'float' as const },
                ...maskFeeds(masks),
              },
              expected,
            };
          });
          await expectAgreement(`attend ${normalizerSpec.kind}`, bytes, cases, toleranceFor(normalizerSpec));
        }
      }
    }, 60_000);
  }
});
