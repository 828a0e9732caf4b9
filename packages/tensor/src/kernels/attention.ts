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
  /** H, the query heads per batch element, with layout 'sequence-first' (n and H multiples of H and groupSize). */
  heads?: number;
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
 * dk [nKv, Lk, d], dv [nKv, Lk, dv] (overwritten, not accumulated), recomputing the weights tile by tile.
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
) => void;

/**
 * Exact attention weights of chosen query rows, rebuilt from the fused forward's log-sum-exp (heads-first):
 * q [n, Lq, d], k [nKv, Lk, d], logSumExp [n, Lq], rows [R] -> out [n, R, Lk] (overwritten; 0 where masked).
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
 * dq [n, Lq, d], dk [nKv, Lk, d] (accumulated into: zero them first).
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
) => void;
