import { describe, expect, it } from 'vitest';
import { Rng } from '../rng';
import { expectClose } from '../testing/expect-close';
import { attentionProblemOf, naiveAttention, randomAttentionInputs, stridedKeepMasks, type AttentionCase, type AttentionInputs } from '../testing/naive-attention';
import type { AttentionProblem } from './attention';
import { attentionBackwardJs, attentionForwardJs } from './js/attention';
import { getKernels, plainKernels } from './registry';

// Shape letters: n slices, nKv key/value slices (n / groupSize), Lq queries, Lk keys, d features, dv value features.

/** Runs both kernels on outputs pre-filled with NaN (so every element must be written). */
function fused(p: AttentionProblem, { q, k, v, dOut }: AttentionInputs) {
  const nKv = p.n / p.groupSize;
  const out = new Float32Array(p.n * p.queryLength * p.valueDim).fill(NaN);
  const lse = new Float32Array(p.n * p.queryLength).fill(NaN);
  attentionForwardJs(p, q, k, v, out, lse);
  const dq = new Float32Array(q.length).fill(NaN);
  const dk = new Float32Array(nKv * p.keyLength * p.headDim).fill(NaN);
  const dv = new Float32Array(nKv * p.keyLength * p.valueDim).fill(NaN);
  attentionBackwardJs(p, q, k, v, out, lse, dOut, dq, dk, dv);
  return { out, lse, dq, dk, dv };
}

const FORWARD = { atol: 1e-5, rtol: 1e-4 };
const GRADIENT = { atol: 1e-4, rtol: 1e-3 };

function check(c: AttentionCase, seed = 1, tol = { forward: FORWARD, gradient: GRADIENT }) {
  const p = attentionProblemOf(c);
  const inputs = randomAttentionInputs(p, seed);
  const got = fused(p, inputs);
  const ref = naiveAttention(p, inputs);
  const label = `n=${p.n} Lq=${p.queryLength} Lk=${p.keyLength} d=${p.headDim} dv=${p.valueDim} causal=${p.causalOffset} g=${p.groupSize}`;
  expectClose(got.out, ref.out, tol.forward, `${label} out`);
  expectClose(got.lse, ref.lse, tol.forward, `${label} logSumExp`);
  expectClose(got.dq, ref.dq, tol.gradient, `${label} dq`);
  expectClose(got.dk, ref.dk, tol.gradient, `${label} dk`);
  expectClose(got.dv, ref.dv, tol.gradient, `${label} dv`);
  return { got, ref, p, inputs };
}

describe('attentionForwardJs / attentionBackwardJs against a naive float64 reference', () => {
  it('are the plain kernels of the registry', () => {
    expect(plainKernels().attentionForward).toBe(attentionForwardJs);
    expect(plainKernels().attentionBackward).toBe(attentionBackwardJs);
    expect(getKernels().attentionForward).toBe(attentionForwardJs);
  });

  it('sizes that are not multiples of the tiles: Lq, Lk ∈ {1, 3, 17, 65, 130}, d ∈ {1, 5, 8, 64}', () => {
    const lengths = [1, 3, 17, 65, 130];
    let seed = 0;
    for (const d of [1, 5, 8, 64])
      for (const Lq of lengths)
        for (const Lk of lengths) check({ queryLength: Lq, keyLength: Lk, headDim: d, valueDim: d === 64 ? 33 : d + 2, n: 2 }, seed++);
  });

  it('causal, top-left (offset 0) and bottom-right (offset Lk − Lq), across tile edges', () => {
    const pairs: [number, number][] = [
      [1, 1],
      [3, 5],
      [17, 17],
      [65, 130],
      [130, 65],
      [33, 100],
      [100, 33],
    ];
    for (const [Lq, Lk] of pairs) {
      for (const offset of [0, Lk - Lq]) check({ queryLength: Lq, keyLength: Lk, headDim: 8, causalOffset: offset }, Lq * 1000 + Lk);
    }
  });

  it('causal with Lq > Lk bottom-right: the first Lq − Lk rows see nothing (zero output, −∞, no gradient)', () => {
    const { got } = check({ queryLength: 70, keyLength: 20, headDim: 4, n: 1, causalOffset: -50 });
    for (let i = 0; i < 50; i++) {
      expect(got.lse[i]).toBe(-Infinity);
      expect(Array.from(got.out.subarray(i * 6, i * 6 + 6))).toEqual([0, 0, 0, 0, 0, 0]);
      expect(Array.from(got.dq.subarray(i * 4, i * 4 + 4))).toEqual([0, 0, 0, 0]);
    }
  });

  it('keep masks read through broadcast strides: [Lq, Lk], [n, 1, Lk], [n, Lq, Lk], transposed storage', () => {
    const rng = new Rng(11);
    const n = 3;
    const Lq = 40;
    const Lk = 70;
    const masks = stridedKeepMasks(rng, n, Lq, Lk); // [Lq, Lk], [n, 1, Lk], [n, Lq, Lk], transposed
    for (const [keep, keepStrides] of masks) {
      check({ n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask: keep, attentionMaskStrides: keepStrides });
      check({ n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask: keep, attentionMaskStrides: keepStrides, causalOffset: Lk - Lq });
    }
  });

  it('grouped-query attention: groupSize 2, and 4 with one key/value slice (MQA)', () => {
    check({ n: 4, groupSize: 2, queryLength: 19, keyLength: 70, headDim: 8 });
    check({ n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, causalOffset: 51 });
    const keep = Float32Array.from({ length: 4 * 70 }, (_, idx) => (idx % 3 === 0 ? 1 : 0)); // [n, 1, Lk] over query slices
    check({ n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, attentionMask: keep, attentionMaskStrides: [70, 0, 1] });
  });

  it('fully masked rows: zero output, −∞ log-sum-exp, zero gradients, no NaN anywhere', () => {
    const n = 2;
    const Lq = 37;
    const Lk = 70;
    // Rows 3 and 36 of slice 0 and row 0 of slice 1 keep nothing; key 69 is kept only by masked rows.
    const keep = new Float32Array(n * Lq * Lk).fill(1); // [n, Lq, Lk]
    for (let s = 0; s < n; s++) for (let i = 0; i < Lq; i++) keep[(s * Lq + i) * Lk + 69] = 0;
    for (const [s, i] of [[0, 3], [0, 36], [1, 0]] as const) keep.fill(0, (s * Lq + i) * Lk, (s * Lq + i + 1) * Lk);
    const { got } = check({ n, queryLength: Lq, keyLength: Lk, headDim: 6, attentionMask: keep, attentionMaskStrides: [Lq * Lk, Lk, 1] });
    for (const [s, i] of [[0, 3], [0, 36], [1, 0]] as const) {
      expect(got.lse[s * Lq + i]).toBe(-Infinity);
      expect(Array.from(got.out.subarray((s * Lq + i) * 8, (s * Lq + i + 1) * 8)).every((x) => x === 0)).toBe(true);
      expect(Array.from(got.dq.subarray((s * Lq + i) * 6, (s * Lq + i + 1) * 6)).every((x) => x === 0)).toBe(true);
    }
    for (let s = 0; s < n; s++) {
      expect(Array.from(got.dk.subarray((s * Lk + 69) * 6, (s * Lk + 70) * 6)).every((x) => x === 0)).toBe(true);
      expect(Array.from(got.dv.subarray((s * Lk + 69) * 8, (s * Lk + 70) * 8)).every((x) => x === 0)).toBe(true);
    }
    for (const a of [got.out, got.dq, got.dk, got.dv]) expect(a.some(Number.isNaN)).toBe(false);
  });

  it('nothing to attend at all (Lk = 0): zeros and −∞, no NaN', () => {
    const p = attentionProblemOf({ n: 1, queryLength: 3, keyLength: 0, headDim: 2 });
    const inputs = randomAttentionInputs(p, 3);
    const got = fused(p, inputs);
    expect(Array.from(got.out)).toEqual(new Array(12).fill(0));
    expect(Array.from(got.lse)).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(Array.from(got.dq)).toEqual(new Array(6).fill(0));
  });

  it('large logits (scores ≈ ±1e4, spread O(1)): finite and correct', () => {
    for (const sign of [1, -1]) {
      const p = attentionProblemOf({ n: 2, queryLength: 20, keyLength: 90, headDim: 8, scale: 1 });
      const inputs = randomAttentionInputs(p, 5);
      // A shared first feature of size 100 puts every score at sign·1e4 + O(1), like sdpa_large_logits_offset.
      for (let r = 0; r < inputs.q.length / 8; r++) inputs.q[r * 8] = 100;
      for (let r = 0; r < inputs.k.length / 8; r++) inputs.k[r * 8] = sign * 100;
      const got = fused(p, inputs);
      const ref = naiveAttention(p, inputs);
      for (const a of [got.out, got.lse, got.dq, got.dk, got.dv]) expect(a.every(Number.isFinite)).toBe(true);
      expectClose(got.out, ref.out, FORWARD, `sign ${sign} out`);
      expectClose(got.lse, ref.lse, { atol: 0, rtol: 1e-7 }, `sign ${sign} logSumExp`);
      // The weights are recomputed from a float32 log-sum-exp (ulp(1e4) ≈ 1e-3), so gradients are ~5e-4 relative.
      const maxAbs = (a: Float64Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expectClose(got.dq, ref.dq, { atol: 2e-3 * maxAbs(ref.dq), rtol: 2e-3 }, `sign ${sign} dq`);
      expectClose(got.dk, ref.dk, { atol: 2e-3 * maxAbs(ref.dk), rtol: 2e-3 }, `sign ${sign} dk`);
      expectClose(got.dv, ref.dv, { atol: 2e-3 * maxAbs(ref.dv), rtol: 2e-3 }, `sign ${sign} dv`);
    }
  });

  it('large logits with a wide spread (near one-hot rows, |scores| up to ~1e4)', () => {
    const p = attentionProblemOf({ n: 1, queryLength: 9, keyLength: 70, headDim: 8, scale: 1500 });
    const inputs = randomAttentionInputs(p, 8);
    const got = fused(p, inputs);
    const ref = naiveAttention(p, inputs);
    expect(ref.lse.some((x) => Math.abs(x) > 5e3)).toBe(true);
    expectClose(got.out, ref.out, FORWARD, 'out');
    expectClose(got.lse, ref.lse, { atol: 0, rtol: 1e-7 }, 'logSumExp');
    for (const a of [got.dq, got.dk, got.dv]) expect(a.every(Number.isFinite)).toBe(true);
  });
});
