import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClose } from '../testing/expect-close';
import { attentionProblemOf, naiveAttention, type AttentionCase, type AttentionInputs } from '../testing/naive-attention';
import type { AttentionProblem } from './attention';
import { mul } from '../ops/binary';
import { matmul } from '../ops/matmul';
import { scaledDotProductAttention } from '../ops/scaled-dot-product-attention';
import { softmax } from '../ops/softmax';
import { Tensor } from '../tensor';
// The kernel switches through the barrel, wherever the kernel files live.
import { getKernels, plainKernels, setKernels, useJsKernels, useWasmKernels } from '../index';

// The fused attention kernels at the edges of float32, on every kernel set: logits of 1e4–1e7 (the
// backward must not trust a float32 log-sum-exp), tiny temperatures, scores that overflow float32
// (the rule: a row with +∞ scores is uniform over them, −∞ is masked), values near float32's maximum,
// and gradients that are exactly 0.
// Shape letters: n slices, Lq queries, Lk keys, d features, dv value features.

const F32_EPS = 2 ** -23;

/** Forward then backward with the active kernels, on outputs pre-filled with NaN (every element must be written). */
function run(p: AttentionProblem, { q, k, v, dOut }: AttentionInputs) {
  const nKv = p.n / p.groupSize;
  const out = new Float32Array(p.n * p.queryLength * p.valueDim).fill(NaN); // [n, Lq, dv]
  const lse = new Float32Array(p.n * p.queryLength).fill(NaN); // [n, Lq]
  getKernels().attentionForward(p, q, k, v, out, lse);
  const dq = new Float32Array(q.length).fill(NaN); // [n, Lq, d]
  const dk = new Float32Array(nKv * p.keyLength * p.headDim).fill(NaN); // [nKv, Lk, d]
  const dv = new Float32Array(nKv * p.keyLength * p.valueDim).fill(NaN); // [nKv, Lk, dv]
  getKernels().attentionBackward(p, q, k, v, out, lse, dOut, dq, dk, dv);
  return { out, lse, dq, dk, dv };
}

/** The repro: query [1], keys offset + [0, .5, −.25, .25] ([1, 4, 1]), values the identity, loss Σ out·[−1, 0, 1, −1]. */
function largeLogitCase(offset: number): { p: AttentionProblem; inputs: AttentionInputs } {
  const c: AttentionCase = { n: 1, queryLength: 1, keyLength: 4, headDim: 1, valueDim: 4, scale: 1 };
  const identity = Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0));
  return {
    p: attentionProblemOf(c),
    inputs: {
      q: Float32Array.of(1),
      k: Float32Array.from([0, 0.5, -0.25, 0.25], (x) => offset + x),
      v: identity,
      dOut: Float32Array.of(-1, 0, 1, -1),
    },
  };
}

const kernelSets = [
  ['JS', () => useJsKernels()],
  ['WASM', async () => expect(await useWasmKernels({ relaxedSimd: false })).toEqual({ simd: 'plain', threads: 1 })], // Node runs WebAssembly SIMD: never a skip
] as const;

afterAll(() => {
  useJsKernels();
  setKernels(plainKernels());
});

describe.each(kernelSets)('fused attention at the edges of float32 (%s kernels)', (name, install) => {
  beforeAll(async () => {
    await install();
  });

  it('is exact at large logits: keys 1e4…1e7 + [0, .5, −.25, .25] give the float64 reference gradients (issue #1)', () => {
    for (const offset of [1e4, 1e5, 1e6, 1e7]) {
      const { p, inputs } = largeLogitCase(offset);
      const got = run(p, inputs);
      const ref = naiveAttention(p, inputs); // float64 on the float32 keys as stored
      const label = `${name} offset ${offset}`;
      expectClose(got.out, ref.out, { atol: 1e-6, rtol: 1e-5 }, `${label} out`);
      expectClose(got.dk, ref.dk, { atol: 1e-6, rtol: 1e-5 }, `${label} dk`);
      expectClose(got.dv, ref.dv, { atol: 1e-6, rtol: 1e-5 }, `${label} dv`);
      // dq = Σ_j dS_j k_j cancels to ~0.1 out of terms of size |k| ≈ offset: float32 products bound it
      // by c·eps32·max|logit|·Σ|dS| (the conditioning of the problem, not of the kernel).
      const sumAbsDs = ref.dk.reduce((a, b) => a + Math.abs(b), 0);
      expectClose(got.dq, ref.dq, { atol: 8 * F32_EPS * offset * sumAbsDs, rtol: 1e-5 }, `${label} dq`);
    }
  });

  it('has no NaN at temperature 1e-20 (scale 1e20): one-hot weights, zero gradients (issue #2)', () => {
    const c: AttentionCase = { n: 1, queryLength: 1, keyLength: 4, headDim: 1, valueDim: 2, scale: 1e20 };
    const p = attentionProblemOf(c);
    const inputs = {
      q: Float32Array.of(1),
      k: Float32Array.of(0.3, 0.1, -0.2, 0.29),
      v: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8),
      dOut: Float32Array.of(0.5, -1),
    };
    const got = run(p, inputs);
    expect(Array.from(got.out)).toEqual([1, 2]); // one-hot on key 0
    expect(Array.from(got.dq)).toEqual([0]);
    expect(Array.from(got.dk)).toEqual([0, 0, 0, 0]);
    expect(Array.from(got.dv)).toEqual([0.5, -1, 0, 0, 0, 0, 0, 0]);
  });

  it('treats scores past float32 as ±∞: q·k ≈ 4e40 is uniform over the +∞ keys, like the plain path (issue #4)', () => {
    const c: AttentionCase = { n: 1, queryLength: 1, keyLength: 4, headDim: 2, valueDim: 2, scale: 1 };
    const p = attentionProblemOf(c);
    // scores: 2e40 → +∞, 2e-20·1e20 = 2 (finite), −2e40 → −∞ (weight 0), 1.3e40 → +∞
    const inputs = {
      q: Float32Array.of(1e20, 1e20),
      k: Float32Array.of(1e20, 1e20, 1e-20, 1e-20, -1e20, -1e20, 3e19, 1e20),
      v: Float32Array.of(1, 2, 30, 40, 500, 600, 3, 6),
      dOut: Float32Array.of(1, -1),
    };
    const got = run(p, inputs);
    expect(Array.from(got.out)).toEqual([2, 4]); // (v0 + v3) / 2
    expect(Array.from(got.lse)).toEqual([Infinity]);
    // By hand: P = [½, 0, 0, ½]; dP_j = dOut·v_j = [−1, −10, −100, −3]; D = P·dP = −2; dS = P ⊙ (dP − D) = [½, 0, 0, −½].
    expect(Array.from(got.dv)).toEqual([0.5, -0.5, 0, 0, 0, 0, 0.5, -0.5]);
    expectClose(got.dk, [0.5e20, 0.5e20, 0, 0, 0, 0, -0.5e20, -0.5e20], { atol: 0, rtol: 1e-6 }, `${name} dk`);
    expectClose(got.dq, [0.5 * (1e20 - 3e19), 0], { atol: 1e14, rtol: 1e-6 }, `${name} dq`); // ½ k0 − ½ k3
  });

  it('keeps values near float32’s maximum finite: uniform weights over 3e38 give 3e38 (issue #7)', () => {
    const c: AttentionCase = { n: 1, queryLength: 2, keyLength: 5, headDim: 3, valueDim: 2, scale: 1 };
    const p = attentionProblemOf(c);
    const inputs = {
      q: new Float32Array(6),
      k: Float32Array.from({ length: 15 }, (_, i) => i / 7),
      v: new Float32Array(10).fill(3e38),
      dOut: new Float32Array(4).fill(1),
    };
    const got = run(p, inputs);
    expectClose(got.out, [3e38, 3e38, 3e38, 3e38], { atol: 0, rtol: 1e-6 }, `${name} out`);
  });

  it('leaves exact zeros where the gradient is exactly 0: one visible key gives dq = 0, dk = 0 (issue #7)', () => {
    for (const [Lk, d, dv] of [
      [1, 4, 3],
      [1, 16, 37],
      [1, 64, 64],
    ] as const) {
      const p = attentionProblemOf({ n: 2, queryLength: 5, keyLength: Lk, headDim: d, valueDim: dv, scale: 1 / Math.sqrt(d) });
      const random = (size: number, seed: number) => Float32Array.from({ length: size }, (_, i) => Math.sin(seed * 1000 + i * 1.7) * 3);
      const inputs = { q: random(2 * 5 * d, 1), k: random(2 * Lk * d, 2), v: random(2 * Lk * dv, 3), dOut: random(2 * 5 * dv, 4) };
      const got = run(p, inputs);
      expect(
        got.dq.every((x) => x === 0),
        `${name} Lk=${Lk} d=${d} dq`,
      ).toBe(true);
      expect(
        got.dk.every((x) => x === 0),
        `${name} Lk=${Lk} d=${d} dk`,
      ).toBe(true);
      // dv of the single key is the sum of dOut over the rows that see it.
      const ref = naiveAttention(p, inputs);
      expectClose(got.dv, ref.dv, { atol: 1e-5, rtol: 1e-5 }, `${name} dv`);
    }
  });

  it('is exact on peaked rows whose weights fall to e^−150 (ALiBi-like; the kernels flush weights under 2^−100 to 0)', () => {
    // Query i against keys spread 0.5 apart: each row's weights run from 1 down to ~e^−150, through the subnormal
    // range, times values as small as 1e-3 (products under float32's smallest normal where not flushed).
    const c: AttentionCase = { n: 2, queryLength: 5, keyLength: 300, headDim: 2, valueDim: 6, scale: 1 };
    const p = attentionProblemOf(c);
    const q = Float32Array.from({ length: 2 * 5 * 2 }, (_, x) => (x % 2 === 0 ? 1 : 0.01 * x)); // [n, Lq, d]
    const k = Float32Array.from({ length: 2 * 300 * 2 }, (_, x) => (x % 2 === 0 ? -0.5 * ((x >> 1) % 300) : Math.sin(x))); // [n, Lk, d]
    const v = Float32Array.from({ length: 2 * 300 * 6 }, (_, x) => 1e-3 * Math.cos(x)); // [n, Lk, dv]
    const dOut = Float32Array.from({ length: 2 * 5 * 6 }, (_, x) => Math.sin(3 * x)); // [n, Lq, dv]
    const inputs = { q, k, v, dOut };
    const got = run(p, inputs);
    const ref = naiveAttention(p, inputs); // float64
    for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
      expect(got[key].some(Number.isNaN), `${name} ${key} has NaN`).toBe(false);
      expectClose(got[key], ref[key], { atol: 1e-7, rtol: 1e-5 }, `${name} ${key}`);
    }
  });

  it('agrees with the plain path (softmax(scale·Q Kᵀ) V) when q·k overflows float32 (issue #4)', () => {
    const q = new Tensor(Float32Array.of(1e20, 1e20, 1, -1), [1, 2, 2]); // [B, Lq, d]
    const k = new Tensor(Float32Array.of(1e20, 1e20, 1e-20, 1e-20, -1e20, -1e20, 3e19, 1e20), [1, 4, 2]); // [B, Lk, d]
    const v = new Tensor(Float32Array.of(1, 2, 30, 40, 500, 600, 3, 6), [1, 4, 2]); // [B, Lk, dv]
    for (const scale of [1, 0.5]) {
      const plain = matmul(softmax(mul(matmul(q, k, { transposeB: true }), scale)), v); // [1, 2, 4] x [1, 4, 2] -> [1, 2, 2]
      const fused = scaledDotProductAttention(q, k, v, { scale });
      expect(Array.from(plain.data).some(Number.isNaN)).toBe(false);
      expectClose(fused.data, plain.data, { atol: 1e-5, rtol: 1e-5 }, `${name} scale ${scale}`);
      expect(Array.from(fused.data.subarray(0, 2))).toEqual([2, 4]); // row 0: uniform over the two +∞ keys
    }
  });
});
