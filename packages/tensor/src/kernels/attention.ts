/**
 * The fused attention kernel seam: scaled-dot-product attention with softmax, computed tile by
 * tile with an online softmax so the Lq×Lk matrix is never stored (O(L) memory, as FlashAttention).
 *
 * Layout: q [n, Lq, d], k [nKv, Lk, d], v [nKv, Lk, dv], out [n, Lq, dv], logSumExp [n, Lq],
 * where n = batch·heads and nKv = n / groupSize (grouped-query attention: slice s of q reads
 * slice ⌊s / groupSize⌋ of k and v; groupSize 1 is plain multi-head attention).
 *
 * Masking (1 = may attend): key j is allowed for query i of slice s when
 *   (causalOffset === null || j ≤ i + causalOffset)  and  (windowStart == null || j ≥ i + windowStart)  and
 *   (attentionMask === null || attentionMask[s·attentionMaskStrides[0] + i·attentionMaskStrides[1] + j·attentionMaskStrides[2]] !== 0).
 * causalOffset and windowStart together are a band of keys per query: a causal sliding window of W keys is
 * (causalOffset o, windowStart o − W + 1), a local window of w keys each side (o + w, o − w). Key tiles
 * outside the band of every row of a query block are skipped, so a window costs O(L·W), not O(L²).
 * A query row with no allowed key gets out = 0 and logSumExp = −∞ (never NaN), and passes no gradient.
 *
 * Layout 'sequence-first' (optional): q, out (and dOut, dq) are stored [B, Lq, H, ·] and k, v (and dk, dv)
 * [B, Lk, H / groupSize, ·], with n = B·H and slice s = b·H + h — the layout a projection produces
 * before its heads are split off, so no permute is needed. logSumExp stays [n, Lq].
 *
 * Variants (all optional; absent or null = off). Slice s is batch element b = ⌊s / H⌋ and query head
 * h = s mod H in either layout, H = `heads` (default 1). The score of query i and key j is, in this order:
 *   x_ij = scale · q_i·k_j                                          (scale)
 *        + alibiSlopes[h] · (j − i − queryPositionOffset)          (ALiBi)
 *        + positionBias[h·(Lq + Lk − 1) + (j − i + Lq − 1)]        (relative position bias by offset j − i)
 *   s_ij = softcap · tanh(x_ij / softcap)                           (logit soft-capping; s_ij = x_ij without it)
 * then masked (−∞) where any keep rule fails: causal / window band, attentionMask, and segments
 * (querySegments[b·Lq + i] === keySegments[b·Lk + j]). The softmax runs over the kept keys and, with
 * `sinks`, one more logit sinks[h] that carries no value:
 *   logSumExp_i = log(e^{sinks[h]} + Σ_j e^{s_ij}),  out_i = Σ_j e^{s_ij − logSumExp_i} v_j.
 * With sinks a fully masked row has out = 0 and logSumExp = sinks[h] (the sink takes all the mass).
 * Gradients: the backward writes d positionBias (Σ over b and i of ∂L/∂x_ij on the diagonal j − i) and
 * d sinks (−Σ_{b,i} e^{sinks[h] − logSumExp_i} · (dOut_i · out_i)) into `AttentionVariantGradients`;
 * alibiSlopes, softcap and the segments are constants. RoPE is not a kernel field: it rotates q and k
 * (O(L·d)) before the kernel, and their gradients rotate back after it.
 */
export interface AttentionProblem {
  /** Number of (batch·head) slices of q. */
  n: number;
  /** Lq */
  queryLength: number;
  /** Lk */
  keyLength: number;
  /** d, the query/key feature size. */
  headDim: number;
  /** dv, the value feature size. */
  valueDim: number;
  /** Multiplies q·k before the softmax (e.g. 1/√d). */
  scale: number;
  /** null: no causal mask; otherwise key j is allowed for query i iff j ≤ i + causalOffset (0 = top-left aligned). */
  causalOffset: number | null;
  /** null or absent: no lower bound; otherwise key j is allowed for query i only when j ≥ i + windowStart (a window's first key). */
  windowStart?: number | null;
  /** The attention mask (1 = may attend, 0 = may not) read through `attentionMaskStrides` (0 strides broadcast), or null. */
  attentionMask: Float32Array | null;
  /** Strides of the attention mask over (slice, query, key). */
  attentionMaskStrides: readonly [number, number, number];
  /** q slices per k/v slice (GQA); 1 for plain multi-head attention. */
  groupSize: number;
  /** How q, k, v, out and their gradients are stored: 'heads-first' (the default) [n, L, ·], or 'sequence-first' [B, L, H, ·]. */
  layout?: 'heads-first' | 'sequence-first';
  /**
   * H, the query heads per batch element (slice s is head s mod H of batch element ⌊s / H⌋, in either layout;
   * n a multiple of H, H a multiple of groupSize). Needed by 'sequence-first' and by the per-head and per-batch
   * variant fields below; default 1.
   */
  heads?: number;
  /** ALiBi slopes m_h [H]: adds m_h · (j − i − queryPositionOffset) to the scaled score (after scale, before softcap). Constant. */
  alibiSlopes?: Float32Array | null;
  /** Query row i sits at absolute position i + queryPositionOffset for the ALiBi bias (keys at 0..Lk−1); default 0. */
  queryPositionOffset?: number;
  /**
   * A relative position bias by offset, [H, Lq + Lk − 1]: adds positionBias[h·(Lq + Lk − 1) + (j − i + Lq − 1)]
   * to the scaled score (after ALiBi, before softcap). Its gradient is written to `AttentionVariantGradients.positionBias`.
   */
  positionBias?: Float32Array | null;
  /** Logit soft-cap c > 0: s = c · tanh(x / c), applied after scale and biases, before masking. null or absent: none. */
  softcap?: number | null;
  /** Sink logits [H]: one per query head, joining each row's softmax denominator with no value. Gradient: `AttentionVariantGradients.sinks`. */
  sinks?: Float32Array | null;
  /** Segment ids of the queries [B, Lq] (B = n / H): key j is kept for query i of batch b only when querySegments[b·Lq + i] === keySegments[b·Lk + j]. */
  querySegments?: Int32Array | null;
  /** Segment ids of the keys [B, Lk]; given together with querySegments. */
  keySegments?: Int32Array | null;
}

/**
 * Gradients of the variant parameters, written (overwritten, not accumulated) by the backward kernels
 * when the problem has the field: positionBias [H, Lq + Lk − 1] with `positionBias`, sinks [H] with `sinks`.
 */
export interface AttentionVariantGradients {
  positionBias?: Float32Array | null;
  sinks?: Float32Array | null;
}

/** Forward: writes out [n, Lq, dv] and the row log-sum-exp of the scaled, masked scores [n, Lq]. */
export type AttentionForwardKernel = (
  problem: AttentionProblem,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  logSumExp: Float32Array,
) => void;

/**
 * Backward: from dOut [n, Lq, dv] (and the forward's out and logSumExp) writes dq [n, Lq, d],
 * dk [nKv, Lk, d], dv [nKv, Lk, dv] (overwritten, not accumulated), recomputing the weights tile by tile,
 * and the gradients of the variant parameters the problem has into `variantGradients`.
 */
export type AttentionBackwardKernel = (
  problem: AttentionProblem,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  logSumExp: Float32Array,
  dOut: Float32Array,
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  variantGradients?: AttentionVariantGradients,
) => void;

/**
 * Exact attention weights of chosen query rows, rebuilt from the fused forward's log-sum-exp (heads-first):
 * q [n, Lq, d], k [nKv, Lk, d], logSumExp [n, Lq], rows [R] -> out [n, R, Lk] (overwritten; 0 where masked).
 * With the variants: the same scores s_ij; with sinks a row sums to 1 − e^{sinks[h] − logSumExp_i}.
 */
export type AttentionWeightsKernel = (
  problem: AttentionProblem,
  q: Float32Array,
  k: Float32Array,
  logSumExp: Float32Array,
  rows: Int32Array,
  out: Float32Array,
) => void;

/**
 * Gradient of those weights as a softmax of complete rows: weights, dWeights [n, R, Lk] ->
 * dq [n, Lq, d], dk [nKv, Lk, d] (accumulated into: zero them first), and the variant parameters'
 * gradients into `variantGradients` (accumulated into too), through the soft-cap's slope.
 */
export type AttentionWeightsBackwardKernel = (
  problem: AttentionProblem,
  q: Float32Array,
  k: Float32Array,
  rows: Int32Array,
  weights: Float32Array,
  dWeights: Float32Array,
  dq: Float32Array,
  dk: Float32Array,
  variantGradients?: AttentionVariantGradients,
) => void;
