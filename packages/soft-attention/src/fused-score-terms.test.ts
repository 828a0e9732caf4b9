import { mul, randn, Rng, sum, Tensor, useJsKernels, useWasmKernels } from '@heed/tensor';
import { spyOnFused } from '@heed/tensor/testing';
import { DotScorer, ScaledDotScorer } from '@heed/scorers';
import { describe, expect, it } from 'vitest';
import { assertClose } from '../../../fixtures/load-fixture';
import {
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  loadVariantFixture,
  toHeed,
  torchMaskToKeep,
  type VariantFixture,
} from '../../../fixtures/variants/load-variant-fixture';
import { attend, type AttendOptions } from './attend';
import { planAttention } from './plan-attention';
import { Softmax } from './softmax';
import { AlibiBias } from './variants/alibi-bias';
import { BiasedScorer, type ScoreBias } from './variants/biased-scorer';
import { CausalRule } from './variants/causal-rule';
import { RelativePositionBias } from './variants/relative-position-bias';
import { RotaryScorer } from './variants/rotary-scorer';
import { SegmentRule } from './variants/segment-mask';
import { SlidingWindowRule } from './variants/sliding-window';
import { SoftcapScorer } from './variants/softcap-scorer';
import { SoftmaxWithSinks } from './variants/softmax-with-sinks';

// The attention variants on the fused path (RoPE, ALiBi, T5 bias, softcap, sinks, segments), against the
// PyTorch fixtures on both paths and against the plain path for combinations: outputs, weights on request,
// and the gradients of q, k, v and every parameter. Dims come from each fixture's config and inputs.
// Shape letters: B batch, H heads, Lq queries, Lk keys, d features, dv value features.

const FORWARD = { rtol: 1e-4, atol: 1e-5 };
const GRADIENT = { rtol: 1e-3, atol: 1e-4 };

/** What a fixture's call is: the parts and options built from its config, and the parameters to check. */
interface FixtureCall {
  options: Omit<AttendOptions, 'query' | 'keys' | 'values'>;
  params: Record<string, Tensor>;
}

const styleOf = (convention: unknown) => (convention === 'interleaved' ? 'interleaved' : 'rotate-half');

const fixtureCalls: Record<string, (f: VariantFixture, H: number, Lq: number, Lk: number) => FixtureCall> = {
  rope_rotate_half: (f) => ropeCall(f),
  rope_interleaved: (f) => ropeCall(f),
  rope_decode_offset: (f) => ropeCall(f),
  alibi_causal: (f, H) => ({ options: { scorer: new BiasedScorer(new AlibiBias(H)), causal: f.config.causal === true }, params: {} }),
  alibi_non_power_of_two: (f, H) => ({
    options: { scorer: new BiasedScorer(new AlibiBias(H)), causal: f.config.causal === true },
    params: {},
  }),
  t5_relative_bias_bidirectional: (f, H) => t5Call(f, H),
  t5_relative_bias_causal: (f, H) => t5Call(f, H),
  softcap_gemma2: (f) => ({
    options: { scorer: new SoftcapScorer(configNumber(f, 'cap'), { inner: new ScaledDotScorer() }), causal: f.config.causal === true },
    params: {},
  }),
  attention_sinks_gptoss: (f, H) => {
    const normalizer = new SoftmaxWithSinks({ numHeads: H });
    normalizer.loadStateDict({ sinks: toHeed(f.params.sinks!) });
    const keyPaddingMask = torchMaskToKeep(f.inputs.key_padding_mask!); // [B, L], 1 = real key
    return { options: { normalizer, causal: f.config.causal === true, keyPaddingMask }, params: { sinks: normalizer.sinks } };
  },
  document_mask_causal: (f) => {
    const segments = new SegmentRule(f.config.segment_ids as number[][]);
    return { options: { keepRule: f.config.causal === true ? segments.and(new CausalRule()) : segments }, params: {} };
  },
};

function ropeCall(f: VariantFixture): FixtureCall {
  const queryPositions = f.config.q_positions as number[];
  const keyPositions = f.config.k_positions as number[];
  const offset = queryPositions[0]! - keyPositions[0]!; // queries at offset.., keys at 0..
  const scorer = new RotaryScorer({ base: configNumber(f, 'base'), style: styleOf(f.config.rope_convention), queryPositionOffset: offset });
  return { options: { scorer, causal: f.config.causal === false ? false : { offset } }, params: {} };
}

function t5Call(f: VariantFixture, H: number): FixtureCall {
  const bias = new RelativePositionBias({
    numHeads: H,
    bidirectional: f.config.bidirectional === true,
    numBuckets: configNumber(f, 'num_buckets'),
    maxDistance: configNumber(f, 'max_distance'),
  });
  bias.loadStateDict({ relative_attention_bias: toHeed(f.params.relative_attention_bias!) });
  return {
    options: { scorer: new BiasedScorer(bias, { inner: new DotScorer() }), causal: f.config.causal === true },
    params: { relative_attention_bias: bias.relative_attention_bias },
  };
}

describe('variant fixtures on the fused path and the plain path', () => {
  for (const [name, build] of Object.entries(fixtureCalls)) {
    for (const implementation of ['fused', 'plain'] as const) {
      it(`${name} (${implementation}): weights, output, grads of every input and parameter`, () => {
        const fixture = loadVariantFixture(name);
        const q = toHeed(fixture.inputs.q!, true);
        const k = toHeed(fixture.inputs.k!, true);
        const v = toHeed(fixture.inputs.v!, true);
        const [H, Lq] = [q.shape[q.rank - 3]!, q.shape[q.rank - 2]!];
        const { options, params } = build(fixture, H, Lq, k.shape[k.rank - 2]!);
        const spy = spyOnFused();
        const { context, weights } = attend({ query: q, keys: k, values: v, ...options, implementation });
        spy.restore();
        expect(spy.problems.length > 0).toBe(implementation === 'fused');
        for (const p of spy.problems) expect(p.attentionMask === null || p.attentionMask.length < p.queryLength * p.keyLength).toBe(true); // never [Lq, Lk]
        checkOutput(fixture, 'attn_weights', weights!);
        checkOutput(fixture, 'output', context);
        backwardFromFixture(fixture, 'output', context);
        checkGrads(fixture, 'inputs', { q, k, v });
        checkGrads(fixture, 'params', params);
      });
    }
  }
});

describe('variant fixtures on the fused path with the WebAssembly kernels (SIMD-128, 1 and 2 threads)', () => {
  for (const threads of [1, 2]) {
    it(`every fixture: weights, output, grads of every input and parameter (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      expect(await useWasmKernels({ relaxedSimd: false, threads })).toEqual({ simd: 'plain', threads });
      try {
        for (const [name, build] of Object.entries(fixtureCalls)) {
          const fixture = loadVariantFixture(name);
          const q = toHeed(fixture.inputs.q!, true);
          const k = toHeed(fixture.inputs.k!, true);
          const v = toHeed(fixture.inputs.v!, true);
          const { options, params } = build(fixture, q.shape[q.rank - 3]!, q.shape[q.rank - 2]!, k.shape[k.rank - 2]!);
          const { context, weights } = attend({ query: q, keys: k, values: v, ...options, implementation: 'fused' });
          checkOutput(fixture, 'attn_weights', weights!);
          checkOutput(fixture, 'output', context);
          backwardFromFixture(fixture, 'output', context);
          checkGrads(fixture, 'inputs', { q, k, v });
          checkGrads(fixture, 'params', params);
        }
      } finally {
        useJsKernels();
      }
    });
  }
});

/** attend on fresh leaf copies with loss Σ context ⊙ R (+ Σ weights ⊙ R'): the outputs and the gradients of q, k, v and `params`. */
function run(
  base: { query: Tensor; keys: Tensor; values: Tensor },
  options: Omit<AttendOptions, 'query' | 'keys' | 'values'>,
  params: Tensor[],
) {
  const [query, keys, values] = [base.query, base.keys, base.values].map((t) => new Tensor(t.data.slice(), t.shape, true)) as [
    Tensor,
    Tensor,
    Tensor,
  ];
  for (const p of params) p.grad = null;
  const { context, weights } = attend({ query, keys, values, ...options });
  const rng = new Rng(77);
  let loss = sum(mul(context, randn(context.shape, rng)));
  if (weights) loss = loss.add(sum(mul(weights, randn(weights.shape, rng))));
  loss.backward();
  return { context, weights, grads: [query.grad!, keys.grad!, values.grad!, ...params.map((p) => p.grad!)] };
}

/** The fused run equals the plain run: context, weights (when asked), the gradients of q, k, v and every parameter. */
function expectFusedEqualsPlain(
  base: { query: Tensor; keys: Tensor; values: Tensor },
  options: Omit<AttendOptions, 'query' | 'keys' | 'values'>,
  params: Tensor[],
  label: string,
) {
  for (const needWeights of [false, true]) {
    const spy = spyOnFused();
    const fused = run(base, { ...options, implementation: 'fused', needWeights }, params);
    spy.restore();
    expect(spy.problems.length, label).toBeGreaterThan(0);
    const plain = run(base, { ...options, implementation: 'plain', needWeights }, params);
    assertClose(`${label} context`, fused.context, plain.context, FORWARD);
    if (needWeights) assertClose(`${label} weights`, fused.weights!, plain.weights!, FORWARD);
    fused.grads.forEach((g, index) => assertClose(`${label} gradient ${index}`, g, plain.grads[index]!, GRADIENT));
  }
}

describe('fused ≡ plain for the variants and their combinations', () => {
  const rng = new Rng(11);
  const [B, H, Lq, Lk, d, dv] = [2, 4, 7, 11, 8, 5];
  const heads = { query: randn([B, H, Lq, d], rng), keys: randn([B, H, Lk, d], rng), values: randn([B, H, Lk, dv], rng) };
  const grouped = { query: heads.query, keys: randn([B, H / 2, Lk, d], rng), values: randn([B, H / 2, Lk, dv], rng) };
  const segments = new SegmentRule([
    [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2],
    [0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2],
  ]);

  it('each variant alone', () => {
    const t5 = new RelativePositionBias({ numHeads: H, rng: new Rng(3) });
    const sinks = new SoftmaxWithSinks({ numHeads: H, init: 'normal', rng: new Rng(4) });
    const cases: [string, Omit<AttendOptions, 'query' | 'keys' | 'values'>, Tensor[]][] = [
      ['rope', { scorer: new RotaryScorer({ queryPositionOffset: 'bottom-right' }), causal: { offset: Lk - Lq } }, []],
      ['rope interleaved', { scorer: new RotaryScorer({ style: 'interleaved', base: 500 }) }, []],
      ['alibi', { scorer: new BiasedScorer(new AlibiBias(H), { queryPositionOffset: 2 }), causal: true }, []],
      ['t5', { scorer: new BiasedScorer(t5, { inner: new DotScorer() }) }, [t5.relative_attention_bias]],
      ['softcap', { scorer: new SoftcapScorer(1.5, { inner: new DotScorer() }) }, []],
      ['sinks', { normalizer: sinks, causal: true }, [sinks.sinks]],
      ['segments', { keepRule: segments }, []],
      ['segments and causal', { keepRule: segments.and(new CausalRule(Lk - Lq)) }, []],
    ];
    for (const [label, options, params] of cases) expectFusedEqualsPlain(heads, options, params, label);
  });

  it('combinations: RoPE + sliding window + GQA + softcap + sinks; ALiBi + T5 + softcap + segments; sequence-first', () => {
    const t5 = new RelativePositionBias({ numHeads: H, bidirectional: false, rng: new Rng(5) });
    const sinks = new SoftmaxWithSinks({ numHeads: H, init: 'normal', rng: new Rng(6) });
    const llama = {
      scorer: new SoftcapScorer(2, { inner: new RotaryScorer({ queryPositionOffset: 'bottom-right' }) }),
      normalizer: sinks,
      keepRule: new SlidingWindowRule(4, Lk - Lq),
      groupSize: 2,
    };
    expectFusedEqualsPlain(grouped, llama, [sinks.sinks], 'rope + window + GQA + softcap + sinks');
    const biased = new SoftcapScorer(3, {
      inner: new BiasedScorer(new AlibiBias(H), { inner: new BiasedScorer(t5, { inner: new DotScorer() }) }),
    });
    expectFusedEqualsPlain(
      heads,
      { scorer: biased, keepRule: segments.and(new CausalRule(Lk - Lq)), normalizer: sinks },
      [t5.relative_attention_bias, sinks.sinks],
      'alibi + t5 + softcap + segments + sinks',
    );
    const swap = (t: Tensor) => t.permute([0, 2, 1, 3]); // [B, H, L, ·] -> [B, L, H, ·]
    const sequenceFirst = { query: swap(grouped.query), keys: swap(grouped.keys), values: swap(grouped.values) };
    expectFusedEqualsPlain(
      sequenceFirst,
      { ...llama, layout: 'sequence-first' },
      [sinks.sinks],
      'sequence-first rope + window + GQA + softcap + sinks',
    );
    expectFusedEqualsPlain(
      sequenceFirst,
      { scorer: biased, groupSize: 2, layout: 'sequence-first', causal: true },
      [t5.relative_attention_bias],
      'sequence-first alibi + t5 + softcap',
    );
  });

  it("what does not fuse runs on the plain path with a reason ('auto'), and 'fused' refuses it", () => {
    const call = { op: 'attend', ...heads, normalizer: new Softmax() };
    const reasonOf = (scorer: AttendOptions['scorer'] & object, options: Omit<AttendOptions, 'query' | 'keys' | 'values'> = {}) => {
      const { normalizer, ...callOptions } = options; // the normalizer is a part of the call, not one of its options
      return planAttention(
        { ...call, scorer: scorer as never, ...(normalizer ? { normalizer: normalizer as never } : {}) },
        { needWeights: false, ...callOptions },
      ).reason;
    };
    const own: ScoreBias = { kind: 'own-bias', bias: (Lq2, Lk2) => new Tensor(new Float32Array(Lq2 * Lk2), [1, Lq2, Lk2]) };
    expect(reasonOf(new BiasedScorer(own))).toMatch(/'own-bias' does not declare a fused bias/);
    expect(reasonOf(new BiasedScorer(new AlibiBias(H), { inner: new SoftcapScorer(2) }))).toMatch(/bias is added after the soft-cap/);
    expect(reasonOf(new BiasedScorer(new AlibiBias(H + 1)))).toMatch(/one entry per head/);
    expect(reasonOf(new SoftcapScorer(2), { normalizer: new Softmax({ temperature: 2 }) })).toMatch(
      /temperature 2 with biases or a soft-cap/,
    );
    expect(reasonOf(new RotaryScorer(), {})).toBeNull();
    expect(reasonOf(new RotaryScorer({ inner: new SoftcapScorer(2, { inner: new RotaryScorer() }) }))).toMatch(/RoPE is applied twice/);
    expect(reasonOf(new SoftcapScorer(2, { inner: new SoftcapScorer(3) }))).toMatch(/two soft-caps/);
    expect(reasonOf(new BiasedScorer(new AlibiBias(H), { inner: new BiasedScorer(new AlibiBias(H)) }))).toMatch(/two ALiBi biases/);
    const t5 = new RelativePositionBias({ numHeads: H });
    expect(reasonOf(new BiasedScorer(t5, { inner: new BiasedScorer(t5) }))).toMatch(/two relative position biases/);
    // Segment ids that do not cover the call are refused at the plan (the plain path could not run them either).
    expect(() => reasonOf(new DotScorer(), { keepRule: new SegmentRule([[0, 1]]) })).toThrow(/segment ids \[1, 2\] .* do not cover/);
    expect(
      reasonOf(new DotScorer(), {
        keepRule: new SegmentRule([
          [0, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1],
          [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ]),
      }),
    ).toMatch(/not all 32-bit integers/);
  });
});
