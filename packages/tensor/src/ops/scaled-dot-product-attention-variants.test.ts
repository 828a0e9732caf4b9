import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../errors/argument-error';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { naiveAttention } from '../testing/naive-attention';
import { attentionWeights } from './attention-weights';
import { mul } from './binary';
import { sum } from './reduce';
import { scaledDotProductAttentionWithLogSumExp } from './scaled-dot-product-attention';
import type { ScaledDotProductAttentionOptions } from './scaled-dot-product-attention-problem';

// The variant options of the fused op (ALiBi, relative bias, softcap, sinks, segments) against the naive float64
// reference of @heed/tensor/testing: outputs, the gradients of q, k, v, the bias table and the sinks, and the
// weights on request. Shape letters: B batch, H heads, Lq queries, Lk keys, d features, dv value features.

const FORWARD = { atol: 1e-5, rtol: 1e-4 };
const GRADIENT = { atol: 1e-4, rtol: 1e-3 };
const [B, H, Lq, Lk, d, dv] = [2, 3, 6, 9, 4, 5];

function random(shape: number[], rng: Rng, low = -1, high = 1, requiresGrad = true): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float32Array.from({ length: size }, () => low + (high - low) * rng.uniform()),
    shape,
    requiresGrad,
  );
}

describe('scaledDotProductAttention with the variants', () => {
  it('ALiBi + relative bias + softcap + sinks + segments, causal: output, gradients (bias table and sinks too) and weights', () => {
    const rng = new Rng(21);
    const q = random([B, H, Lq, d], rng, -2, 2);
    const k = random([B, H, Lk, d], rng, -2, 2);
    const v = random([B, H, Lk, dv], rng);
    const positionBias = random([H, Lq + Lk - 1], rng);
    const sinks = random([H], rng);
    const querySegments = Int32Array.from({ length: B * Lq }, (_, x) => (x % Lq < 4 ? 0 : 1)); // [B, Lq]
    const keySegments = Int32Array.from({ length: B * Lk }, (_, x) => (x % Lk < 6 ? 0 : 1)); // [B, Lk]
    const options: ScaledDotProductAttentionOptions = {
      causal: { offset: Lk - Lq },
      alibiSlopes: [0.5, 0.25, 0.125],
      queryPositionOffset: Lk - Lq,
      positionBias,
      softcap: 2,
      sinks,
      querySegments,
      keySegments,
    };
    const { output, logSumExp } = scaledDotProductAttentionWithLogSumExp(q, k, v, options); // [B, H, Lq, dv], [B, H, Lq]
    const dOut = random([B, H, Lq, dv], rng, -1, 1, false);
    sum(mul(output, dOut)).backward();
    const ref = naiveAttention(
      {
        n: B * H,
        queryLength: Lq,
        keyLength: Lk,
        headDim: d,
        valueDim: dv,
        scale: 1 / Math.sqrt(d),
        causalOffset: Lk - Lq,
        attentionMask: null,
        attentionMaskStrides: [0, 0, 0],
        groupSize: 1,
        heads: H,
        alibiSlopes: Float32Array.from([0.5, 0.25, 0.125]),
        queryPositionOffset: Lk - Lq,
        positionBias: positionBias.data,
        softcap: 2,
        sinks: sinks.data,
        querySegments,
        keySegments,
      },
      { q: q.data, k: k.data, v: v.data, dOut: dOut.data },
    );
    expectClose(output.data, ref.out, FORWARD, 'output');
    expectClose(logSumExp.data, ref.lse, FORWARD, 'logSumExp');
    expectClose(q.grad!.data, ref.dq, GRADIENT, 'dq');
    expectClose(k.grad!.data, ref.dk, GRADIENT, 'dk');
    expectClose(v.grad!.data, ref.dv, GRADIENT, 'dv');
    expectClose(positionBias.grad!.data, ref.dPositionBias, GRADIENT, 'dPositionBias');
    expectClose(sinks.grad!.data, ref.dSinks, GRADIENT, 'dSinks');
    const weights = attentionWeights(q, k, logSumExp, options); // [B, H, Lq, Lk]
    expectClose(weights.data, ref.weights, FORWARD, 'weights');
    // The weights' gradient reaches the bias table and the sinks too (a softmax row over the keys and the sink).
    for (const t of [q, k, positionBias, sinks]) t.grad = null;
    sum(weights).backward(); // Σ_j w_ij = 1 − sink weight: only the sinks (and through them nothing else) move it
    expect(sinks.grad!.data.every((g) => g < 0)).toBe(true);
  });

  it('refuses variant options that do not fit the scores, naming the argument', () => {
    const rng = new Rng(22);
    const q = random([B, H, Lq, d], rng);
    const k = random([B, H, Lk, d], rng);
    const v = random([B, H, Lk, dv], rng);
    const call = (options: ScaledDotProductAttentionOptions) => () => scaledDotProductAttentionWithLogSumExp(q, k, v, options);
    expect(expectThrows(call({ alibiSlopes: [1, 2] }), ShapeError).argument).toBe('alibiSlopes');
    expect(expectThrows(call({ alibiSlopes: [1, 2, Number.NaN] }), ArgumentError).argument).toBe('alibiSlopes');
    expect(expectThrows(call({ alibiSlopes: [1, 2, 3], queryPositionOffset: 0.5 }), ArgumentError).argument).toBe('queryPositionOffset');
    expect(expectThrows(call({ positionBias: random([H, Lq + Lk], rng) }), ShapeError).argument).toBe('positionBias');
    expect(expectThrows(call({ softcap: 0 }), ArgumentError).argument).toBe('softcap');
    expect(expectThrows(call({ sinks: random([H + 1], rng) }), ShapeError).argument).toBe('sinks');
    expect(expectThrows(call({ querySegments: new Int32Array(B * Lq) }), ArgumentError).argument).toBe('keySegments');
    expect(expectThrows(call({ querySegments: new Int32Array(B * Lq), keySegments: new Int32Array(Lk) }), ShapeError).argument).toBe(
      'keySegments',
    );
    const unbatched = () =>
      scaledDotProductAttentionWithLogSumExp(random([H, Lq, d], rng), random([H, Lk, d], rng), random([H, Lk, dv], rng), {
        sinks: random([H], rng),
        querySegments: new Int32Array(Lq),
        keySegments: new Int32Array(Lk),
      });
    expect(expectThrows(unbatched, ShapeError).argument).toBe('querySegments');
  });
});
