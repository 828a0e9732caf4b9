// Test-only helper (exported from @heed/tensor/testing): fused-attention problems, random inputs and a naive float64
// reference for the attention kernels (forward and backward), heads-first layout.
// Shape letters: n slices, nKv key/value slices (n / groupSize), Lq queries, Lk keys, d features, dv value features.
import type { AttentionProblem } from '../kernels/attention';
import { Rng } from '../rng';

/** The sizes a case must give; everything else has a default (n 2, dv = d + 2, scale 1/√d, no mask, groupSize 1). */
export type AttentionCase = Partial<AttentionProblem> & Pick<AttentionProblem, 'queryLength' | 'keyLength' | 'headDim'>;

/** A complete problem from a case. */
export function attentionProblemOf(c: AttentionCase): AttentionProblem {
  return {
    n: c.n ?? 2,
    queryLength: c.queryLength,
    keyLength: c.keyLength,
    headDim: c.headDim,
    valueDim: c.valueDim ?? c.headDim + 2,
    scale: c.scale ?? 1 / Math.sqrt(Math.max(c.headDim, 1)),
    causalOffset: c.causalOffset ?? null,
    attentionMask: c.attentionMask ?? null,
    attentionMaskStrides: c.attentionMaskStrides ?? [0, 0, 0],
    groupSize: c.groupSize ?? 1,
    ...(c.windowStart != null ? { windowStart: c.windowStart } : {}),
    ...(c.layout ? { layout: c.layout } : {}),
    ...(c.heads ? { heads: c.heads } : {}),
    ...(c.alibiSlopes ? { alibiSlopes: c.alibiSlopes, queryPositionOffset: c.queryPositionOffset ?? 0 } : {}),
    ...(c.positionBias ? { positionBias: c.positionBias } : {}),
    ...(c.softcap != null ? { softcap: c.softcap } : {}),
    ...(c.sinks ? { sinks: c.sinks } : {}),
    ...(c.querySegments && c.keySegments ? { querySegments: c.querySegments, keySegments: c.keySegments } : {}),
  };
}

export interface AttentionInputs {
  q: Float32Array; // [n, Lq, d]
  k: Float32Array; // [nKv, Lk, d]
  v: Float32Array; // [nKv, Lk, dv]
  dOut: Float32Array; // [n, Lq, dv]
}

/** Standard normal q, k, v and dOut of the problem's sizes. */
export function randomAttentionInputs(p: AttentionProblem, seed: number): AttentionInputs {
  const rng = new Rng(seed);
  const nKv = p.n / p.groupSize;
  const random = (size: number) => Float32Array.from({ length: size }, () => rng.normal());
  return {
    q: random(p.n * p.queryLength * p.headDim),
    k: random(nKv * p.keyLength * p.headDim),
    v: random(nKv * p.keyLength * p.valueDim),
    dOut: random(p.n * p.queryLength * p.valueDim),
  };
}

export interface NaiveAttention {
  out: Float64Array; // [n, Lq, dv]
  lse: Float64Array; // [n, Lq]
  dq: Float64Array; // [n, Lq, d]
  dk: Float64Array; // [nKv, Lk, d]
  dv: Float64Array; // [nKv, Lk, dv]
  weights: Float64Array; // [n, Lq, Lk]: the softmax weights P (0 where masked, and for a fully masked row)
  dPositionBias: Float64Array; // [H, Lq + Lk − 1] (empty without positionBias)
  dSinks: Float64Array; // [H] (empty without sinks)
}

/**
 * Naive float64 reference (heads-first layout): the full Lq×Lk scores of every slice, a softmax,
 * products, and the gradients through the softmax Jacobian (dS = P ⊙ (dP − rowsum(P ⊙ dP))).
 * A row with no allowed key has out = 0, lse = −∞ (the sink's logit with sinks) and passes no gradient.
 * Variants as `AttentionProblem` states them, written out per entry: x = scale·q·k + m_h (j − i − offset)
 * + bias[h, j − i + Lq − 1], s = cap·tanh(x / cap), masked by the band, the mask and the segments; the
 * sink joins each row's denominator. slice s is head s mod H of batch element ⌊s / H⌋.
 */
export function naiveAttention(p: AttentionProblem, { q, k, v, dOut }: AttentionInputs): NaiveAttention {
  const {
    n,
    queryLength: Lq,
    keyLength: Lk,
    headDim: d,
    valueDim: dv,
    scale,
    causalOffset,
    attentionMask,
    attentionMaskStrides,
    groupSize,
  } = p;
  const nKv = n / groupSize;
  const out = new Float64Array(n * Lq * dv);
  const lse = new Float64Array(n * Lq);
  const dq = new Float64Array(n * Lq * d);
  const dk = new Float64Array(nKv * Lk * d);
  const dvGrad = new Float64Array(nKv * Lk * dv);
  const weights = new Float64Array(n * Lq * Lk);
  const H = p.heads ?? 1;
  const dPositionBias = new Float64Array(p.positionBias ? H * (Lq + Lk - 1) : 0);
  const dSinks = new Float64Array(p.sinks ? H : 0);
  for (let s = 0; s < n; s++) {
    const g = Math.floor(s / groupSize);
    const [h, b] = [s % H, Math.floor(s / H)];
    for (let i = 0; i < Lq; i++) {
      const scores = new Float64Array(Lk); // [Lk]
      const slope = new Float64Array(Lk).fill(1); // ds/dx   [Lk]
      let max = -Infinity;
      for (let j = 0; j < Lk; j++) {
        const visible =
          (causalOffset === null || j <= i + causalOffset) &&
          (p.windowStart == null || j >= i + p.windowStart) &&
          (attentionMask === null ||
            attentionMask[s * attentionMaskStrides[0] + i * attentionMaskStrides[1] + j * attentionMaskStrides[2]] !== 0) &&
          (!p.querySegments || !p.keySegments || p.querySegments[b * Lq + i] === p.keySegments[b * Lk + j]);
        let dot = 0;
        for (let x = 0; x < d; x++) dot += q[(s * Lq + i) * d + x]! * k[(g * Lk + j) * d + x]!;
        let score = scale * dot;
        if (p.alibiSlopes) score += p.alibiSlopes[h]! * (j - i - (p.queryPositionOffset ?? 0));
        if (p.positionBias) score += p.positionBias[h * (Lq + Lk - 1) + j - i + Lq - 1]!;
        if (p.softcap != null) {
          const t = Math.tanh(score / p.softcap);
          score = p.softcap * t;
          slope[j] = 1 - t * t;
        }
        scores[j] = visible ? score : -Infinity;
        max = Math.max(max, scores[j]!);
      }
      const sink = p.sinks ? p.sinks[h]! : -Infinity;
      if (max === -Infinity) {
        lse[s * Lq + i] = sink;
        continue; // out row 0, no gradient
      }
      max = Math.max(max, sink);
      let total = Math.exp(sink - max);
      for (let j = 0; j < Lk; j++) total += Math.exp(scores[j]! - max);
      lse[s * Lq + i] = max + Math.log(total);
      const P = scores.map((x) => Math.exp(x - max) / total); // [Lk]
      weights.set(P, (s * Lq + i) * Lk);
      const dP = new Float64Array(Lk); // [Lk]
      let rowDot = 0;
      for (let j = 0; j < Lk; j++) {
        for (let x = 0; x < dv; x++) {
          out[(s * Lq + i) * dv + x]! += P[j]! * v[(g * Lk + j) * dv + x]!;
          dP[j]! += dOut[(s * Lq + i) * dv + x]! * v[(g * Lk + j) * dv + x]!;
        }
        rowDot += P[j]! * dP[j]!;
      }
      if (p.sinks) dSinks[h]! -= (Math.exp(sink - max) / total) * rowDot; // the sink's dS: P_sink · (0 − rowDot)
      for (let j = 0; j < Lk; j++) {
        const dS = P[j]! * (dP[j]! - rowDot) * slope[j]!; // through the cap
        if (p.positionBias) dPositionBias[h * (Lq + Lk - 1) + j - i + Lq - 1]! += dS;
        for (let x = 0; x < dv; x++) dvGrad[(g * Lk + j) * dv + x]! += P[j]! * dOut[(s * Lq + i) * dv + x]!;
        for (let x = 0; x < d; x++) {
          dq[(s * Lq + i) * d + x]! += scale * dS * k[(g * Lk + j) * d + x]!;
          dk[(g * Lk + j) * d + x]! += scale * dS * q[(s * Lq + i) * d + x]!;
        }
      }
    }
  }
  return { out, lse, dq, dk, dv: dvGrad, weights, dPositionBias, dSinks };
}

/**
 * Random keep-masks for n slices of [Lq, Lk] scores, each stored differently and read through strides:
 * [Lq, Lk] shared by the slices, [n, 1, Lk] shared by the queries, a full [n, Lq, Lk], and one stored
 * transposed ([Lk, Lq]). Every row keeps key 0, so no row is fully masked. Test-only.
 */
export function stridedKeepMasks(rng: Rng, n: number, Lq: number, Lk: number): [Float32Array, readonly [number, number, number]][] {
  const bits = (size: number) => Float32Array.from({ length: size }, () => (rng.uniform() < 0.7 ? 1 : 0));
  const perRow = bits(Lq * Lk).map((x, idx) => (idx % Lk === 0 ? 1 : x)); // [Lq, Lk]
  const perKey = bits(n * Lk).map((x, idx) => (idx % Lk === 0 ? 1 : x)); // [n, 1, Lk]
  const full = bits(n * Lq * Lk).map((x, idx) => (idx % Lk === 0 ? 1 : x)); // [n, Lq, Lk]
  const transposed = bits(Lk * Lq).map((x, idx) => (idx < Lq ? 1 : x)); // stored [Lk, Lq], read as [Lq, Lk]
  return [
    [perRow, [0, Lk, 1]],
    [perKey, [Lk, 0, 1]],
    [full, [Lq * Lk, Lk, 1]],
    [transposed, [0, 1, Lq]],
  ];
}
