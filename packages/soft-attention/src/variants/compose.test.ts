// The variants are parts: RoPE, a soft-cap, a sliding window, grouped-query heads and sinks in one
// attend call, checked against a naive loop that writes the whole equation out by hand.
import { gradcheck, randn, Rng, slice, type Tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { assertClose } from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { alibiScorer } from './alibi-bias';
import { RotaryScorer } from './rotary-scorer';
import { SlidingWindowRule } from './sliding-window';
import { SoftcapScorer } from './softcap-scorer';
import { SoftmaxWithSinks } from './softmax-with-sinks';

/** Naive RoPE (rotate-half) + scaled dot + cap + window + GQA + sinks, one (b, h, i) at a time. */
function naive(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: { groupSize: number; cap: number; window: number; sinks: Float32Array },
): { context: number[]; weights: number[] } {
  const [B, H, L, d] = q.shape as [number, number, number, number];
  const [Hkv, dv] = [k.shape[1]!, v.shape[3]!];
  const rotate = (x: Tensor, heads: number, b: number, h: number, p: number): number[] => {
    const row = Array.from(x.data.subarray(((b * heads + h) * L + p) * d, ((b * heads + h) * L + p + 1) * d));
    return row.map((value, i) => {
      const pair = i % (d / 2);
      const theta = p * 10000 ** ((-2 * pair) / d);
      return i < d / 2
        ? value * Math.cos(theta) - row[i + d / 2]! * Math.sin(theta)
        : value * Math.cos(theta) + row[i - d / 2]! * Math.sin(theta);
    });
  };
  const context: number[] = [];
  const weights: number[] = [];
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / o.groupSize);
      for (let i = 0; i < L; i++) {
        const qi = rotate(q, H, b, h, i);
        const logits = Array.from({ length: L }, (_, j) => {
          if (!(j <= i && j > i - o.window)) return -Infinity;
          const kj = rotate(k, Hkv, b, g, j);
          const raw = qi.reduce((s, x, c) => s + x * kj[c]!, 0) / Math.sqrt(d);
          return o.cap * Math.tanh(raw / o.cap);
        });
        const top = Math.max(o.sinks[h]!, ...logits);
        const denominator = Math.exp(o.sinks[h]! - top) + logits.reduce((s, x) => s + Math.exp(x - top), 0);
        const w = logits.map((x) => Math.exp(x - top) / denominator);
        weights.push(...w);
        for (let c = 0; c < dv; c++) context.push(w.reduce((s, wj, j) => s + wj * v.data[((b * Hkv + g) * L + j) * dv + c]!, 0));
      }
    }
  return { context, weights };
}

describe('variants compose', () => {
  it('RoPE + soft-cap + sliding window + GQA + sinks in one attend call equal the naive equation', () => {
    const rng = new Rng(51);
    const [B, H, Hkv, L, d, dv] = [2, 4, 2, 6, 4, 3];
    const q = randn([B, H, L, d], rng).mul(2);
    const k = randn([B, Hkv, L, d], rng).mul(2);
    const v = randn([B, Hkv, L, dv], rng);
    const sinks = new SoftmaxWithSinks({ numHeads: H });
    sinks.sinks.data.set([0.3, -0.2, 1.1, 0]);
    const scorer = new RotaryScorer({ inner: new SoftcapScorer(2) });
    const mask = new SlidingWindowRule(3).toMask([L, L]);
    const { context, weights } = attend({
      query: q,
      keys: k,
      values: v,
      scorer,
      normalizer: sinks,
      attentionMask: mask,
      groupSize: H / Hkv,
    });
    const reference = naive(q, k, v, { groupSize: H / Hkv, cap: 2, window: 3, sinks: sinks.sinks.data });
    assertClose('weights', weights, { shape: [B, H, L, L], data: reference.weights }, { rtol: 1e-4, atol: 1e-6 });
    assertClose('context', context, { shape: [B, H, L, dv], data: reference.context }, { rtol: 1e-4, atol: 1e-6 });
    // gradients by finite differences, on one batch row and four positions (to stay quick)
    const small = (t: Tensor) => slice(slice(t, 0, 0, 1), 2, 0, 4); // [1, ·, 4, ·]
    const smallMask = new SlidingWindowRule(3).toMask([4, 4]);
    const check = gradcheck(
      (qq, kk, vv) =>
        attend({ query: qq!, keys: kk!, values: vv!, scorer, normalizer: sinks, attentionMask: smallMask, groupSize: 2 }).context,
      [small(q), small(k), small(v)],
    );
    expect(check.ok, JSON.stringify(check)).toBe(true);
  });

  it('ALiBi with the window and sparsemax, and RoPE with ALiBi, run through attend with finite gradients', () => {
    const rng = new Rng(52);
    const [q, k, v] = [
      randn([1, 2, 5, 4], rng, { requiresGrad: true }),
      randn([1, 2, 5, 4], rng, { requiresGrad: true }),
      randn([1, 2, 5, 2], rng),
    ];
    const mask = new SlidingWindowRule(2).toMask([5, 5]);
    const sparse = attend({ query: q, keys: k, values: v, scorer: alibiScorer(2), normalizer: { kind: 'sparsemax' }, attentionMask: mask });
    for (let n = 0; n < mask.size * 2; n++) if (mask.data[n % mask.size] === 0) expect(sparse.weights.data[n]).toBe(0);
    const both = attend({ query: q, keys: k, values: v, scorer: new RotaryScorer({ inner: alibiScorer(2) }), causal: true });
    both.context.sum().backward();
    expect(q.grad!.data.every(Number.isFinite) && k.grad!.data.every(Number.isFinite)).toBe(true);
  });
});
