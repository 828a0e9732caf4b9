import { ConfigError, randn, Rng } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import {
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  loadVariantFixture,
  toHeed,
  torchMaskToKeep,
} from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { causalMask } from '../masks';
import { CausalRule } from './causal-rule';
import { keepRule } from './keep-rule';
import { LocalWindowRule, localWindowMask } from './local-window';
import { SegmentRule, segmentMask } from './segment-mask';
import { SlidingWindowRule, slidingWindowMask } from './sliding-window';

describe('windows and segments against the PyTorch fixtures', () => {
  const cases = {
    sliding_window_causal: (f: ReturnType<typeof loadVariantFixture>, L: number) => slidingWindowMask(L, L, configNumber(f, 'W')),
    local_window_bidirectional: (f: ReturnType<typeof loadVariantFixture>, L: number) => localWindowMask(L, L, configNumber(f, 'w')),
    document_mask_causal: (f: ReturnType<typeof loadVariantFixture>) =>
      segmentMask(f.config.segment_ids as number[][], undefined, { causal: f.config.causal === true }),
  };
  for (const [name, build] of Object.entries(cases)) {
    it(`${name}: the mask built from the config equals the stored one; weights, output, grads of q, k, v`, () => {
      const fixture = loadVariantFixture(name);
      const q = toHeed(fixture.inputs.q!, true);
      const k = toHeed(fixture.inputs.k!, true);
      const v = toHeed(fixture.inputs.v!, true);
      const L = q.shape[2]!;
      const mask = build(fixture, L);
      const stored = torchMaskToKeep(fixture.inputs.attn_mask!);
      expect(Array.from(mask.data)).toEqual(Array.from(stored.data));
      const { context, weights } = attend({ query: q, keys: k, values: v, attentionMask: mask });
      checkOutput(fixture, 'attn_weights', weights);
      checkOutput(fixture, 'output', context);
      backwardFromFixture(fixture, 'output', context);
      checkGrads(fixture, 'inputs', { q, k, v });
    });
  }

  it('allowed_keys_per_query of the window files is what the rules allow', () => {
    for (const [name, rule] of [
      ['sliding_window_causal', (f: ReturnType<typeof loadVariantFixture>) => new SlidingWindowRule(configNumber(f, 'W'))],
      ['local_window_bidirectional', (f: ReturnType<typeof loadVariantFixture>) => new LocalWindowRule(configNumber(f, 'w'))],
    ] as const) {
      const fixture = loadVariantFixture(name);
      const allowed = fixture.config.allowed_keys_per_query as number[][];
      const r = rule(fixture);
      allowed.forEach((keys, i) =>
        expect(Array.from({ length: allowed.length }, (_, j) => j).filter((j) => r.allows(0, 0, i, j))).toEqual(keys),
      );
    }
  });
});

describe('KeepRule', () => {
  it('combines with and / or: sliding window W = causal AND local window W − 1', () => {
    for (const W of [1, 2, 3, 5]) {
      const combined = new CausalRule().and(new LocalWindowRule(W - 1)).toMask([9, 9]);
      expect(Array.from(combined.data)).toEqual(Array.from(new SlidingWindowRule(W).toMask([9, 9]).data));
    }
    const either = new SlidingWindowRule(1).or(new LocalWindowRule(0)).toMask([4, 4]); // both are the diagonal
    expect(Array.from(either.data)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('a causal rule with a query offset is the bottom-right causal mask (cached decoding)', () => {
    expect(Array.from(new CausalRule().toMask([3, 8], { queryOffset: 5 }).data)).toEqual(
      Array.from(causalMask(3, 8, { align: 'bottom-right' }).data),
    );
    const decoding = slidingWindowMask(2, 6, 3, { queryOffset: 4 });
    expect(Array.from(decoding.data)).toEqual([0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1]);
  });

  it('a user-defined rule works the same way: per (batch, head) rules, in attend', () => {
    // head h sees only keys j ≡ h (mod 2), batch 1 additionally only j ≤ i
    const strided = keepRule('strided-heads', (b, h, i, j) => j % 2 === h % 2 && (b === 0 || j <= i));
    const mask = strided.toMask([2, 2, 4, 4]);
    expect(Array.from(mask.data.subarray(0, 16))).toEqual([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    expect(Array.from(mask.data.subarray(48, 64))).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1]);
    const rng = new Rng(4);
    const { weights } = attend({
      query: randn([2, 2, 4, 3], rng),
      keys: randn([2, 2, 4, 3], rng),
      values: randn([2, 2, 4, 2], rng),
      attentionMask: mask,
    });
    for (let n = 0; n < mask.size; n++) if (mask.data[n] === 0) expect(weights.data[n]).toBe(0);
    const rowOfNothing = weights.data.subarray(48, 52); // batch 1, head 1, query 0: no key allowed -> zeros, not NaN
    expect(Array.from(rowOfNothing)).toEqual([0, 0, 0, 0]);
  });

  it('refuses bad windows, segments and rules, naming the argument', () => {
    expect(() => new SlidingWindowRule(0)).toThrow(expect.objectContaining({ op: 'SlidingWindowRule', argument: 'window' }));
    expect(() => new SlidingWindowRule(0)).toThrow(ConfigError);
    expect(() => slidingWindowMask(3, 3, 1.5)).toThrow(/window must be an integer ≥ 1/);
    expect(() => new LocalWindowRule(-1)).toThrow(ConfigError);
    expect(() =>
      segmentMask(
        [[0, 1]],
        [
          [0, 1],
          [1, 1],
        ],
      ),
    ).toThrow(/batch rows/);
    expect(() => new SegmentRule([[0, 1], [0]])).toThrow(/same length/);
    expect(() =>
      new SegmentRule([
        [0, 1],
        [1, 1],
      ]).toMask([2, 2]),
    ).toThrow(/B = 2 rows/);
    expect(() => new SegmentRule([[0, 1]]).toMask([1, 1, 3, 2])).toThrow(/does not fit the segment ids/);
    expect(Array.from(new SegmentRule([[0, 1, 1]]).toMask([1, 3], { queryOffset: 2 }).data)).toEqual([0, 1, 1]); // B = 1 may omit the batch axis; the last query
    expect(() => new CausalRule().and({} as CausalRule)).toThrow(ConfigError);
    expect(() => new CausalRule().toMask([2])).toThrow(/must be \[Lq, Lk\]/);
  });
});
