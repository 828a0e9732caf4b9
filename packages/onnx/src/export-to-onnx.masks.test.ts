import { afterAll, describe, expect, it } from 'vitest';
import { Rng, randn, Tensor } from '@heed/tensor';
import { createScorer, type Scorer } from '@heed/scorers';
import {
  attend,
  CausalRule,
  createNormalizer,
  keepRule,
  LocalWindowRule,
  SegmentRule,
  SlidingWindowRule,
  type KeepRule,
  type Normalizer,
} from '@heed/soft-attention';
import { exportToOnnx } from './export-to-onnx';
import { B, expectAgreement, float, int64, LENGTHS, reportWorst } from './testing/agreement';

// The mask forms beyond the boolean masks: additive float masks, causal with an offset and the keep
// rules built from heed's rules, as graph inputs or index rules, on every target. Each exported model
// runs in onnxruntime-node and onnxruntime-web at two lengths and is compared with heed's plain path.

afterAll(reportWorst);

/** A float mask [B, (1,) Lq, Lk]: N(0, 2²) biases, a few −∞, and row 0 of batch 0 all −∞ (fully masked: zero context). */
function additiveMaskFor(Lq: number, Lk: number, heads: boolean, rng: Rng): Tensor {
  const mask = randn(heads ? [B, 1, Lq, Lk] : [B, Lq, Lk], rng);
  for (let i = 0; i < mask.data.length; i++) mask.data[i] = rng.uniform() < 0.2 ? -Infinity : 2 * mask.data[i]!;
  for (let j = 0; j < Lk; j++) mask.data[j] = -Infinity;
  return mask;
}

/** Segment ids [B, L]: two or three packed documents per row. */
function segmentsFor(L: number): number[][] {
  return [Array.from({ length: L }, (_, i) => (i < 2 ? 0 : i < L - 2 ? 1 : 2)), Array.from({ length: L }, (_, i) => (i < L / 2 ? 4 : 5))];
}

interface MaskCase {
  label: string;
  options: { additiveMask?: boolean; causal?: boolean | { offset: number }; keepRule?: (Lq: number) => KeepRule; segments?: boolean };
}

const CASES: MaskCase[] = [
  { label: 'additive mask', options: { additiveMask: true } },
  { label: 'additive mask, causal', options: { additiveMask: true, causal: true } },
  { label: 'causal offset 2', options: { causal: { offset: 2 } } },
  { label: 'causal offset −1', options: { causal: { offset: -1 } } },
  { label: 'sliding window 3', options: { keepRule: () => new SlidingWindowRule(3) } },
  { label: 'sliding window 2, offset 1', options: { keepRule: () => new SlidingWindowRule(2, 1) } },
  { label: 'local window 1, offset 1, or causal', options: { keepRule: () => new LocalWindowRule(1, 1).or(new CausalRule(-2)) } },
  {
    label: 'segments and causal',
    options: { segments: true, keepRule: () => new SegmentRule(segmentsFor(9)).and(new CausalRule()) },
  },
];

/** The export options and heed's call options of a case at [Lq, Lk]; the keep rule of a segment case is rebuilt with the case's ids. */
function caseInputs(c: MaskCase, Lq: number, Lk: number, heads: boolean, rng: Rng) {
  const additiveMask = c.options.additiveMask ? additiveMaskFor(Lq, Lk, heads, rng) : undefined;
  const querySegments = segmentsFor(Lq);
  const keySegments = segmentsFor(Lk);
  const rule = c.options.segments ? new SegmentRule(querySegments, keySegments).and(new CausalRule()) : c.options.keepRule?.(Lq);
  const feeds = {
    ...(additiveMask ? { additiveMask: float(additiveMask) } : {}),
    ...(c.options.segments
      ? {
          querySegments: int64(new Tensor(Float32Array.from(querySegments.flat()), [B, Lq])),
          keySegments: int64(new Tensor(Float32Array.from(keySegments.flat()), [B, Lk])),
        }
      : {}),
  };
  return { heedOptions: { additiveMask, causal: c.options.causal, keepRule: rule }, feeds };
}

describe('additive masks, causal offsets and keep rules', () => {
  for (const target of ['standard', 'contrib', 'decomposed'] as const) {
    it(`${target}: heads (GQA), scaled-dot and dot with softmax temperatures`, async () => {
      const rng = new Rng(17);
      const d = 4;
      const [numHeads, numKeyValueHeads] = [4, 2];
      for (const c of CASES) {
        for (const [scorer, normalizer] of [
          [createScorer({ kind: 'scaled-dot' }), createNormalizer({ kind: 'softmax' })],
          [createScorer({ kind: 'dot' }), createNormalizer({ kind: 'softmax', temperature: 1.7 })],
        ] as [Scorer, Normalizer][]) {
          const { bytes, attentionOp } = exportToOnnx(
            { scorer, normalizer },
            {
              target,
              dims: { queryDim: d, numHeads, numKeyValueHeads },
              additiveMask: c.options.additiveMask,
              causal: c.options.causal,
              keepRule: c.options.keepRule?.(9),
            },
          );
          expect(attentionOp).toBe(target === 'standard' ? 'Attention' : target === 'contrib' ? 'MultiHeadAttention' : 'decomposed');
          const cases = LENGTHS.map(([Lq, Lk]) => {
            const [query, keys, values] = [
              randn([B, numHeads, Lq, d], rng),
              randn([B, numKeyValueHeads, Lk, d], rng),
              randn([B, numKeyValueHeads, Lk, d], rng),
            ];
            const { heedOptions, feeds } = caseInputs(c, Lq, Lk, true, rng);
            const expected = attend({
              query,
              keys,
              values,
              scorer,
              normalizer,
              groupSize: 2,
              ...heedOptions,
              implementation: 'plain',
            }).context;
            return { feeds: { query: float(query), keys: float(keys), values: float(values), ...feeds }, expected };
          });
          await expectAgreement(`masks ${target}: ${c.label}`, bytes, cases, 1e-5);
        }
      }
    }, 60_000);
  }

  it('decomposed, no heads: every scorer kind with sparsemax and entmax under each mask form', async () => {
    const rng = new Rng(19);
    const d = 5;
    for (const c of CASES) {
      for (const kind of ['general', 'additive', 'cosine'] as const) {
        const scorer = createScorer({ kind, queryDim: d, keyDim: d, rng } as never) as Scorer;
        for (const normalizer of [createNormalizer({ kind: 'sparsemax' }), createNormalizer({ kind: 'entmax15', temperature: 0.8 })]) {
          const { bytes } = exportToOnnx(
            { scorer, normalizer },
            {
              dims: { queryDim: d, valueDim: 3 },
              additiveMask: c.options.additiveMask,
              causal: c.options.causal,
              keepRule: c.options.keepRule?.(9),
            },
          );
          const cases = LENGTHS.map(([Lq, Lk]) => {
            const [query, keys, values] = [randn([B, Lq, d], rng), randn([B, Lk, d], rng), randn([B, Lk, 3], rng)];
            const { heedOptions, feeds } = caseInputs(c, Lq, Lk, false, rng);
            const expected = attend({ query, keys, values, scorer, normalizer, ...heedOptions, implementation: 'plain' }).context;
            return { feeds: { query: float(query), keys: float(keys), values: float(values), ...feeds }, expected };
          });
          await expectAgreement(`masks decomposed ${normalizer.kind}: ${c.label}`, bytes, cases, 1e-4);
        }
      }
    }
  }, 60_000);
});

describe('keep rules and causal options that cannot be exported fail at the call', () => {
  it('a user rule, a rule that is not one, two segment rules, a fractional offset', () => {
    const attendConfig = { scorer: { kind: 'dot' } } as const;
    const dims = { queryDim: 4 };
    const evenKeys = keepRule('even-keys', (_b, _h, _i, j) => j % 2 === 0);
    expect(() => exportToOnnx(attendConfig, { dims, keepRule: evenKeys.and(new CausalRule()) })).toThrow(
      /exportToOnnx: keepRule 'even-keys' is a user rule \(a JavaScript function of the indices\) and has no ONNX export; exportable rules: CausalRule/,
    );
    expect(() => exportToOnnx(attendConfig, { dims, keepRule: { kind: 'causal' } as never })).toThrow(/keepRule must be a KeepRule/);
    const segments = new SegmentRule([[0, 1]]);
    expect(() => exportToOnnx(attendConfig, { dims, keepRule: segments.or(new SegmentRule([[1, 1]])) })).toThrow(
      /keepRule holds 2 SegmentRules; an export takes one/,
    );
    expect(() => exportToOnnx(attendConfig, { dims, causal: { offset: 1.5 } })).toThrow(
      /causal must be true, false or \{ offset: integer \}, got \{"offset":1.5\}/,
    );
  });
});
