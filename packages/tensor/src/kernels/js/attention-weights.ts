import type { AttentionWeightsBackwardKernel, AttentionWeightsKernel } from '../attention';
import { addWeightedRows, dotRows } from './attention';
import { modifyScoreRow, scoreVariantsOf } from './attention-variants';

// Exact attention weights of chosen query rows, rebuilt from the fused forward's log-sum-exp.
// Shape letters: n slices, R chosen rows, Lq queries, Lk keys, d features.

/**
 * out[s, r, j] = exp(scale · q[s, rows[r]] · k[s / groupSize, j] − logSumExp[s, rows[r]]) where key j
 * is allowed, 0 elsewhere (and for a fully masked row): the same scores the fused kernel used, each row
 * divided by its sum (1 up to the float32 rounding of logSumExp; with sinks, that sum plus the sink's e^(sink − logSumExp)).
 * q [n, Lq, d], k [nKv, Lk, d], logSumExp [n, Lq] -> out [n, R, Lk]
 */
export const attentionWeightsJs: AttentionWeightsKernel = (problem, q, k, logSumExp, rows, out) => {
  const {
    n,
    queryLength: Lq,
    keyLength: Lk,
    headDim: d,
    scale,
    causalOffset,
    windowStart,
    attentionMask,
    attentionMaskStrides,
    groupSize,
  } = problem;
  const [maskSlice, maskQuery, maskKey] = attentionMaskStrides;
  const R = rows.length;
  const variants = scoreVariantsOf(problem);
  const s = new Float64Array(Lk); // one row of scores   [Lk]
  for (let slice = 0; slice < n; slice++) {
    const kBase = Math.floor(slice / groupSize) * Lk * d;
    for (let r = 0; r < R; r++) {
      const i = rows[r]!;
      const o = (slice * R + r) * Lk;
      const lse = logSumExp[slice * Lq + i]!;
      const visible = causalOffset === null ? Lk : Math.max(0, Math.min(Lk, i + causalOffset + 1)); // keys [first, visible)
      const first = Math.max(0, Math.min(visible, i + (windowStart ?? -Infinity)));
      out.fill(0, o, o + Lk);
      if (lse === -Infinity || visible === first) continue;
      dotRows(q, (slice * Lq + i) * d, k, kBase + first * d, d, visible - first, scale, s, first); // [d] x [visible − first, d] -> [visible − first]
      if (variants !== null) modifyScoreRow(variants, s, 0, slice, i, 0, first, visible); // biases, cap, segments
      const maskRow = slice * maskSlice + i * maskQuery;
      let total = variants?.sinks ? Math.exp(variants.sinks[slice % variants.heads]! - lse) : 0; // the sink's share
      for (let j = first; j < visible; j++) {
        if (attentionMask !== null && attentionMask[maskRow + j * maskKey] === 0) s[j] = 0;
        else {
          const p = Math.exp(s[j]! - lse);
          s[j] = p;
          total += p;
        }
      }
      // Σ_j p_ij is 1 but for the float32 rounding of logSumExp (~3e-5 relative at logits near 1e3): divide it out.
      const inv = total > 0 ? 1 / total : 0;
      for (let j = first; j < visible; j++) out[o + j] = s[j]! * inv;
    }
  }
};

/**
 * Gradient of the weights as a softmax of complete rows: dS = P ⊙ (G − rowsum(G ⊙ P)), then
 * dq[s, rows[r]] += scale · dS K and dk += scale · dSᵀ q (both accumulated; zero them first).
 * Variants: dS goes back through the cap (⊙ 1 − tanh², from the rebuilt scores), d positionBias sums it
 * along its diagonals, and d sinks_h −= (1 − Σ_j P_ij) · rowsum(G ⊙ P) (the sink's weight times its dS).
 * weights, dWeights [n, R, Lk] -> dq [n, Lq, d], dk [nKv, Lk, d]
 */
export const attentionWeightsBackwardJs: AttentionWeightsBackwardKernel = (
  problem,
  q,
  k,
  rows,
  weights,
  dWeights,
  dq,
  dk,
  variantGradients,
) => {
  const { n, queryLength: Lq, keyLength: Lk, headDim: d, scale, groupSize } = problem;
  const R = rows.length;
  const variants = scoreVariantsOf(problem);
  const dS = new Float64Array(Lk); // one row of dS   [Lk]
  const dqRow = new Float64Array(d); // [d]
  const s = variants?.softcap != null ? new Float64Array(Lk) : null; // one row of rebuilt scores   [Lk]
  const slope = s !== null ? new Float64Array(Lk) : null; // ds/dx through the cap   [Lk]
  const dPositionBias = variants?.positionBias && variantGradients?.positionBias ? variantGradients.positionBias : null; // [H, Lq + Lk − 1]
  const dSinks = variants?.sinks && variantGradients?.sinks ? variantGradients.sinks : null; // [H]
  for (let slice = 0; slice < n; slice++) {
    const kBase = Math.floor(slice / groupSize) * Lk * d;
    for (let r = 0; r < R; r++) {
      const o = (slice * R + r) * Lk;
      let dot = 0;
      let kept = 0;
      for (let j = 0; j < Lk; j++) {
        dot += dWeights[o + j]! * weights[o + j]!;
        kept += weights[o + j]!;
      }
      if (dSinks !== null) dSinks[slice % variants!.heads]! -= (1 - kept) * dot; // the sink's dS: P_sink · (0 − rowsum(G ⊙ P))
      let any = false;
      for (let j = 0; j < Lk; j++) {
        const p = weights[o + j]!;
        dS[j] = p === 0 ? 0 : p * (dWeights[o + j]! - dot);
        if (p !== 0) any = true;
      }
      if (!any) continue;
      const qRow = (slice * Lq + rows[r]!) * d;
      if (s !== null && slope !== null) {
        dotRows(q, qRow, k, kBase, d, Lk, scale, s); // [d] x [Lk, d] -> [Lk]
        modifyScoreRow(variants!, s, 0, slice, rows[r]!, 0, 0, Lk, slope);
        for (let j = 0; j < Lk; j++) dS[j]! *= slope[j]!; // dX = dS ⊙ (1 − tanh²)
      }
      if (dPositionBias !== null) {
        const diagonal = (slice % variants!.heads) * (Lq + Lk - 1) - rows[r]! + Lq - 1; // j − i + Lq − 1 at j = 0
        for (let j = 0; j < Lk; j++) dPositionBias[diagonal + j]! += dS[j]!;
      }
      dqRow.fill(0);
      addWeightedRows(dS, k, kBase, d, Lk, dqRow, 0); // [Lk] x [Lk, d] -> [d]
      for (let x = 0; x < d; x++) dq[qRow + x]! += scale * dqRow[x]!;
      for (let j = 0; j < Lk; j++) {
        const g = dS[j]!;
        if (g === 0) continue;
        const kRow = kBase + j * d;
        for (let x = 0; x < d; x++) dk[kRow + x]! += scale * g * q[qRow + x]!; // [Lk] x [d] -> [Lk, d]
      }
    }
  }
};
