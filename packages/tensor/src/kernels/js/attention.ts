import type { AttentionBackwardKernel, AttentionForwardKernel, AttentionProblem, AttentionVariantGradients } from '../attention';
import { interleavedHeads, toHeadsFirst, toSequenceFirst } from '../attention-layout';
import { addBiasGradientRow, modifyScoreRow, scoreVariantsOf, withSink } from './attention-variants';

// Plain TypeScript kernels for the fused attention seam (FlashAttention-2 loop order, Dao 2023).
// Shape letters: n slices (batch·heads), Lq queries, Lk keys, d query/key features, dv value features,
// R rows of a query block (≤ BLOCK_Q), C keys of a key tile (≤ BLOCK_K).
// Extra memory is a few tiles, allocated once per call: never anything of size Lq×Lk.
// Tile products use 2×4 register blocks (two rows against four rows) over contiguous memory.

/** Query rows processed together, so one key/value tile is reused from cache by all of them. */
const BLOCK_Q = 32;
/** Keys per tile. */
const BLOCK_K = 64;
/** |x| at and past which float32 rounds to ±∞: scores are float32 values, so larger ones count as ±∞. */
const FLOAT32_OVERFLOW = 3.4028235677973366e38;
/**
 * The backward trusts the forward's float32 log-sum-exp below this magnitude: its rounding, at most
 * |lse|·2⁻²⁴ < 2⁻²⁰, scales a row's weights by less than 1 + 2⁻²⁰. Rows past it (large logits, tiny
 * temperatures, +∞) recompute their max and sum exactly in float64 first.
 */
const TRUSTED_LOG_SUM_EXP = 16;

/**
 * out[c] = scale · a[aOffset : aOffset + len] · b[bOffset + c·len : ...] for c < count:
 * one row against `count` contiguous rows, four rows at a time.  [len] x [count, len] -> [count]
 */
export function dotRows(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  len: number,
  count: number,
  scale: number,
  out: Float64Array,
  outOffset = 0,
): void {
  let c = 0;
  for (; c + 3 < count; c += 4) {
    const b0 = bOffset + c * len;
    const b1 = b0 + len;
    const b2 = b1 + len;
    const b3 = b2 + len;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let x = 0; x < len; x++) {
      const ax = a[aOffset + x]!;
      s0 += ax * b[b0 + x]!;
      s1 += ax * b[b1 + x]!;
      s2 += ax * b[b2 + x]!;
      s3 += ax * b[b3 + x]!;
    }
    out[outOffset + c] = s0 * scale;
    out[outOffset + c + 1] = s1 * scale;
    out[outOffset + c + 2] = s2 * scale;
    out[outOffset + c + 3] = s3 * scale;
  }
  for (; c < count; c++) {
    const bRow = bOffset + c * len;
    let s = 0;
    for (let x = 0; x < len; x++) s += a[aOffset + x]! * b[bRow + x]!;
    out[outOffset + c] = s * scale;
  }
}

/**
 * out[r·BLOCK_K + c] = scale · a_r · b_c for r < rows, c < cols, with a_r = a[aOffset + r·len ...]
 * and b_c = b[bOffset + c·len ...]: a tile of A Bᵀ.  [rows, len] x [cols, len] -> [rows, cols]
 */
function dotTile(
  a: Float32Array,
  aOffset: number,
  rows: number,
  b: Float32Array,
  bOffset: number,
  cols: number,
  len: number,
  scale: number,
  out: Float64Array,
): void {
  let r = 0;
  for (; r + 1 < rows; r += 2) {
    const a0 = aOffset + r * len;
    const a1 = a0 + len;
    const o0 = r * BLOCK_K;
    const o1 = o0 + BLOCK_K;
    let c = 0;
    for (; c + 3 < cols; c += 4) {
      const b0 = bOffset + c * len;
      const b1 = b0 + len;
      const b2 = b1 + len;
      const b3 = b2 + len;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      for (let x = 0; x < len; x++) {
        const x0 = a[a0 + x]!;
        const x1 = a[a1 + x]!;
        const y0 = b[b0 + x]!;
        const y1 = b[b1 + x]!;
        const y2 = b[b2 + x]!;
        const y3 = b[b3 + x]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      out[o0 + c] = s00 * scale;
      out[o0 + c + 1] = s01 * scale;
      out[o0 + c + 2] = s02 * scale;
      out[o0 + c + 3] = s03 * scale;
      out[o1 + c] = s10 * scale;
      out[o1 + c + 1] = s11 * scale;
      out[o1 + c + 2] = s12 * scale;
      out[o1 + c + 3] = s13 * scale;
    }
    for (; c < cols; c++) {
      const bRow = bOffset + c * len;
      let s0 = 0;
      let s1 = 0;
      for (let x = 0; x < len; x++) {
        const y = b[bRow + x]!;
        s0 += a[a0 + x]! * y;
        s1 += a[a1 + x]! * y;
      }
      out[o0 + c] = s0 * scale;
      out[o1 + c] = s1 * scale;
    }
  }
  if (r < rows) dotRows(a, aOffset + r * len, b, bOffset, len, cols, scale, out, r * BLOCK_K);
}

/**
 * acc row r += Σ_c w[r·BLOCK_K + c] · b_c for r < rows, with b_c = b[bOffset + c·len ...] and acc
 * row r at acc[r·len ...]: a tile of W B accumulated.  [rows, cols] x [cols, len] -> [rows, len]
 */
function accumulateProduct(
  w: Float64Array,
  rows: number,
  cols: number,
  b: Float32Array,
  bOffset: number,
  len: number,
  acc: Float64Array,
): void {
  let r = 0;
  for (; r + 1 < rows; r += 2) {
    const w0 = r * BLOCK_K;
    const w1 = w0 + BLOCK_K;
    const o0 = r * len;
    const o1 = o0 + len;
    let c = 0;
    for (; c + 3 < cols; c += 4) {
      const p00 = w[w0 + c]!;
      const p01 = w[w0 + c + 1]!;
      const p02 = w[w0 + c + 2]!;
      const p03 = w[w0 + c + 3]!;
      const p10 = w[w1 + c]!;
      const p11 = w[w1 + c + 1]!;
      const p12 = w[w1 + c + 2]!;
      const p13 = w[w1 + c + 3]!;
      const b0 = bOffset + c * len;
      const b1 = b0 + len;
      const b2 = b1 + len;
      const b3 = b2 + len;
      for (let x = 0; x < len; x++) {
        const y0 = b[b0 + x]!;
        const y1 = b[b1 + x]!;
        const y2 = b[b2 + x]!;
        const y3 = b[b3 + x]!;
        acc[o0 + x]! += p00 * y0 + p01 * y1 + p02 * y2 + p03 * y3;
        acc[o1 + x]! += p10 * y0 + p11 * y1 + p12 * y2 + p13 * y3;
      }
    }
    for (; c < cols; c++) {
      const p0 = w[w0 + c]!;
      const p1 = w[w1 + c]!;
      const bRow = bOffset + c * len;
      for (let x = 0; x < len; x++) {
        const y = b[bRow + x]!;
        acc[o0 + x]! += p0 * y;
        acc[o1 + x]! += p1 * y;
      }
    }
  }
  if (r < rows) addWeightedRows(w, b, bOffset, len, cols, acc, r * len, r * BLOCK_K);
}

/**
 * acc row c += Σ_r w[r·BLOCK_K + c] · a_r, with a_r = a[aOffset + r·len ...] and acc row c at
 * acc[c·len ...]: a tile of Wᵀ A accumulated.  [rows, cols]ᵀ x [rows, len] -> [cols, len]
 */
function accumulateTransposedProduct(
  w: Float64Array,
  rows: number,
  cols: number,
  a: Float32Array,
  aOffset: number,
  len: number,
  acc: Float64Array,
): void {
  let c = 0;
  for (; c + 1 < cols; c += 2) {
    const o0 = c * len;
    const o1 = o0 + len;
    let r = 0;
    for (; r + 3 < rows; r += 4) {
      const w0 = r * BLOCK_K + c;
      const p00 = w[w0]!;
      const p01 = w[w0 + 1]!;
      const p10 = w[w0 + BLOCK_K]!;
      const p11 = w[w0 + BLOCK_K + 1]!;
      const p20 = w[w0 + 2 * BLOCK_K]!;
      const p21 = w[w0 + 2 * BLOCK_K + 1]!;
      const p30 = w[w0 + 3 * BLOCK_K]!;
      const p31 = w[w0 + 3 * BLOCK_K + 1]!;
      const a0 = aOffset + r * len;
      const a1 = a0 + len;
      const a2 = a1 + len;
      const a3 = a2 + len;
      for (let x = 0; x < len; x++) {
        const y0 = a[a0 + x]!;
        const y1 = a[a1 + x]!;
        const y2 = a[a2 + x]!;
        const y3 = a[a3 + x]!;
        acc[o0 + x]! += p00 * y0 + p10 * y1 + p20 * y2 + p30 * y3;
        acc[o1 + x]! += p01 * y0 + p11 * y1 + p21 * y2 + p31 * y3;
      }
    }
    for (; r < rows; r++) {
      const p0 = w[r * BLOCK_K + c]!;
      const p1 = w[r * BLOCK_K + c + 1]!;
      const aRow = aOffset + r * len;
      for (let x = 0; x < len; x++) {
        const y = a[aRow + x]!;
        acc[o0 + x]! += p0 * y;
        acc[o1 + x]! += p1 * y;
      }
    }
  }
  for (; c < cols; c++) {
    const o = c * len;
    for (let r = 0; r < rows; r++) {
      const p = w[r * BLOCK_K + c]!;
      if (p === 0) continue;
      const aRow = aOffset + r * len;
      for (let x = 0; x < len; x++) acc[o + x]! += p * a[aRow + x]!;
    }
  }
}

/**
 * acc[accOffset : accOffset + len] += Σ_c w[wOffset + c] · b[bOffset + c·len : ...] for c < count:
 * a weighted sum of `count` contiguous rows, four rows at a time.  [count] x [count, len] -> [len]
 */
export function addWeightedRows(
  w: Float64Array,
  b: Float32Array,
  bOffset: number,
  len: number,
  count: number,
  acc: Float64Array,
  accOffset: number,
  wOffset = 0,
): void {
  let c = 0;
  for (; c + 3 < count; c += 4) {
    const w0 = w[wOffset + c]!;
    const w1 = w[wOffset + c + 1]!;
    const w2 = w[wOffset + c + 2]!;
    const w3 = w[wOffset + c + 3]!;
    if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0) continue;
    const b0 = bOffset + c * len;
    const b1 = b0 + len;
    const b2 = b1 + len;
    const b3 = b2 + len;
    for (let x = 0; x < len; x++) acc[accOffset + x]! += w0 * b[b0 + x]! + w1 * b[b1 + x]! + w2 * b[b2 + x]! + w3 * b[b3 + x]!;
  }
  for (; c < count; c++) {
    const wc = w[wOffset + c]!;
    if (wc === 0) continue;
    const bRow = bOffset + c * len;
    for (let x = 0; x < len; x++) acc[accOffset + x]! += wc * b[bRow + x]!;
  }
}

/**
 * max of s[row : row + count] (the visible scores of one row of a tile), first rounding scores past
 * float32's range to ±∞ in place, as the plain path's float32 scores are: [count] -> scalar.
 */
function rowMaxOf(s: Float64Array, row: number, count: number): number {
  let max = -Infinity;
  for (let c = 0; c < count; c++) {
    let x = s[row + c]!;
    if (x >= FLOAT32_OVERFLOW) s[row + c] = x = Infinity;
    else if (x <= -FLOAT32_OVERFLOW) s[row + c] = x = -Infinity;
    if (x > max) max = x;
  }
  return max;
}

/**
 * s[row + c] ← e^(s[row + c] − m) / l for c < count; returns the sum of e^(s − m) (before / l).
 * Masked entries (−∞) give 0. With m = +∞ (scores that overflowed) the +∞ entries give 1 / l and
 * the rest 0: softmax's limit, uniform over the +∞ entries.  [count] -> [count]
 */
function exponentiate(s: Float64Array, row: number, count: number, m: number, l: number): number {
  let total = 0;
  if (m === Infinity) {
    for (let c = 0; c < count; c++) {
      const e = s[row + c] === Infinity ? 1 : 0;
      s[row + c] = e / l;
      total += e;
    }
    return total;
  }
  const inv = 1 / l;
  for (let c = 0; c < count; c++) {
    const e = Math.exp(s[row + c]! - m); // masked: e^(−∞) = 0
    s[row + c] = e * inv;
    total += e;
  }
  return total;
}

/**
 * Forward, tile by tile with an online softmax. For each slice and block of BLOCK_Q query rows,
 * walk the key tiles (skipping those causality or the window hides entirely):
 *   S = scale · Q_block K_tileᵀ (+ biases, soft-capped; masked → −∞);  per row  m' = max(m, max S),  P = e^(S − m'),
 *   l ← l·e^(m−m') + Σ P,  acc ← acc·e^(m−m') + P V_tile;   finally (the sink joining m and l) out = acc / l,  logSumExp = m + log l.
 */
const forwardHeadsFirst: AttentionForwardKernel = (problem, q, k, v, out, logSumExp) => {
  const {
    n,
    queryLength: Lq,
    keyLength: Lk,
    headDim: d,
    valueDim: dv,
    scale,
    causalOffset,
    attentionMask: keep,
    attentionMaskStrides: keepStrides,
    groupSize,
  } = problem;
  const [keepSlice, keepQuery, keepKey] = keepStrides;
  const causal = causalOffset !== null;
  const offset = causalOffset ?? 0;
  const start = problem.windowStart ?? -Infinity; // key j ≥ i + start
  const variants = scoreVariantsOf(problem);
  const s = new Float64Array(BLOCK_Q * BLOCK_K); // the score tile, then its weights P   [R, C]
  const acc = new Float64Array(BLOCK_Q * dv); // unnormalized output rows                [R, dv]
  const rowMax = new Float64Array(BLOCK_Q); // running max m                              [R]
  const rowSum = new Float64Array(BLOCK_Q); // running sum l                              [R]

  for (let slice = 0; slice < n; slice++) {
    const kvSlice = Math.floor(slice / groupSize);
    const qBase = slice * Lq * d;
    const kBase = kvSlice * Lk * d;
    const vBase = kvSlice * Lk * dv;
    const outBase = slice * Lq * dv;
    const keepBase = slice * keepSlice;
    for (let i0 = 0; i0 < Lq; i0 += BLOCK_Q) {
      const rows = Math.min(BLOCK_Q, Lq - i0);
      rowMax.fill(-Infinity, 0, rows);
      rowSum.fill(0, 0, rows);
      acc.fill(0, 0, rows * dv);
      // Keys any row of this block may see: causality hides every key tile past the last row's limit,
      // a window every key before the first row's first key.
      const keyEnd = causal ? Math.max(0, Math.min(Lk, i0 + rows + offset)) : Lk;
      const keyStart = Math.max(0, i0 + start);
      for (let j0 = keyStart; j0 < keyEnd; j0 += BLOCK_K) {
        const cols = Math.min(BLOCK_K, keyEnd - j0);
        dotTile(q, qBase + i0 * d, rows, k, kBase + j0 * d, cols, d, scale, s); // [R, d] x [C, d] -> [R, C]
        for (let r = 0; r < rows; r++) {
          const i = i0 + r;
          const row = r * BLOCK_K;
          const visible = causal ? Math.max(0, Math.min(cols, i + offset + 1 - j0)) : cols; // keys [j0 + first, j0 + visible)
          const first = Math.max(0, Math.min(visible, i + start - j0));
          for (let c = 0; c < first; c++) s[row + c] = -Infinity;
          for (let c = visible; c < cols; c++) s[row + c] = -Infinity;
          if (variants !== null) modifyScoreRow(variants, s, row, slice, i, j0, first, visible); // biases, cap, segments
          if (keep !== null) {
            const keepRow = keepBase + i * keepQuery + j0 * keepKey;
            for (let c = first; c < visible; c++) if (keep[keepRow + c * keepKey] === 0) s[row + c] = -Infinity;
          }
          const tileMax = rowMaxOf(s, row, visible);
          if (tileMax === -Infinity) {
            s.fill(0, row, row + cols); // nothing visible in this tile: P = 0
            continue;
          }
          const previousMax = rowMax[r]!;
          if (tileMax > previousMax) {
            // Rescale what was accumulated against the old max (e^(−∞) = 0 on the first visible tile).
            const alpha = Math.exp(previousMax - tileMax);
            rowSum[r] = rowSum[r]! * alpha;
            const accRow = r * dv;
            for (let x = 0; x < dv; x++) acc[accRow + x]! *= alpha;
            rowMax[r] = tileMax;
          }
          rowSum[r] = rowSum[r]! + exponentiate(s, row, cols, rowMax[r]!, 1);
        }
        accumulateProduct(s, rows, cols, v, vBase + j0 * dv, dv, acc); // acc += P V_tile   [R, C] x [C, dv] -> [R, dv]
      }
      for (let r = 0; r < rows; r++) {
        const o = outBase + (i0 + r) * dv;
        const lseIndex = slice * Lq + i0 + r;
        const [m, l] = variants === null ? [rowMax[r]!, rowSum[r]!] : withSink(variants, slice, rowMax[r]!, rowSum[r]!); // the sink joins m and l
        if (rowMax[r] === -Infinity) {
          // Fully masked row: zero output, −∞ log-sum-exp (the sink's logit with one), never NaN.
          out.fill(0, o, o + dv);
          logSumExp[lseIndex] = m === -Infinity ? -Infinity : m + Math.log(l);
          continue;
        }
        const inv = (m === rowMax[r] ? 1 : Math.exp(rowMax[r]! - m)) / l; // acc is relative to the keys' max (+∞ rows: the same max)
        const accRow = r * dv;
        for (let x = 0; x < dv; x++) out[o + x] = acc[accRow + x]! * inv;
        logSumExp[lseIndex] = m + Math.log(l); // +∞ for a row with +∞ scores
      }
    }
  }
};

/**
 * The softmax max m and sum l of the rows of one q slice, at rowMax/rowSum[at : at + Lq]: (lse, 1) for
 * rows whose float32 log-sum-exp can be trusted (|lse| < TRUSTED_LOG_SUM_EXP) and fully masked rows
 * (−∞, 1); the others are recomputed in float64 over their visible keys, a block of rows at a time,
 * with the forward's online rule, so P = e^(S − m) / l is exact for logits of any size.
 * s is a scratch tile [BLOCK_Q, BLOCK_K].  q [n, Lq, d] x k [nKv, Lk, d] -> rowMax, rowSum [Lq]
 */
function rowStatistics(
  problem: AttentionProblem,
  q: Float32Array,
  k: Float32Array,
  slice: number,
  kBase: number,
  logSumExp: Float32Array,
  rowMax: Float64Array,
  rowSum: Float64Array,
  at: number,
  s: Float64Array,
): void {
  const {
    queryLength: Lq,
    keyLength: Lk,
    headDim: d,
    scale,
    causalOffset,
    attentionMask: keep,
    attentionMaskStrides: keepStrides,
  } = problem;
  const [keepSlice, keepQuery, keepKey] = keepStrides;
  const causal = causalOffset !== null;
  const offset = causalOffset ?? 0;
  const start = problem.windowStart ?? -Infinity; // key j ≥ i + start
  const variants = scoreVariantsOf(problem);
  for (let i0 = 0; i0 < Lq; i0 += BLOCK_Q) {
    const rows = Math.min(BLOCK_Q, Lq - i0);
    let recompute = false;
    for (let r = 0; r < rows; r++) {
      const lse = logSumExp[slice * Lq + i0 + r]!;
      rowMax[at + i0 + r] = lse;
      rowSum[at + i0 + r] = 1;
      if (lse !== -Infinity && !(Math.abs(lse) < TRUSTED_LOG_SUM_EXP)) recompute = true;
    }
    if (!recompute) continue;
    for (let r = 0; r < rows; r++) {
      rowMax[at + i0 + r] = -Infinity;
      rowSum[at + i0 + r] = 0;
    }
    const keyEnd = causal ? Math.max(0, Math.min(Lk, i0 + rows + offset)) : Lk;
    for (let j0 = Math.max(0, i0 + start); j0 < keyEnd; j0 += BLOCK_K) {
      const cols = Math.min(BLOCK_K, keyEnd - j0);
      dotTile(q, (slice * Lq + i0) * d, rows, k, kBase + j0 * d, cols, d, scale, s); // [R, d] x [C, d] -> [R, C]
      for (let r = 0; r < rows; r++) {
        const i = i0 + r;
        const row = r * BLOCK_K;
        const visible = causal ? Math.max(0, Math.min(cols, i + offset + 1 - j0)) : cols;
        const first = Math.max(0, Math.min(visible, i + start - j0));
        for (let c = 0; c < first; c++) s[row + c] = -Infinity;
        if (variants !== null) modifyScoreRow(variants, s, row, slice, i, j0, first, visible); // biases, cap, segments
        if (keep !== null) {
          const keepRow = slice * keepSlice + i * keepQuery + j0 * keepKey;
          for (let c = first; c < visible; c++) if (keep[keepRow + c * keepKey] === 0) s[row + c] = -Infinity;
        }
        const tileMax = rowMaxOf(s, row, visible);
        if (tileMax === -Infinity) continue;
        const previousMax = rowMax[at + i]!;
        if (tileMax > previousMax) {
          rowSum[at + i] = rowSum[at + i]! * Math.exp(previousMax - tileMax);
          rowMax[at + i] = tileMax;
        }
        rowSum[at + i] = rowSum[at + i]! + exponentiate(s, row, visible, rowMax[at + i]!, 1);
      }
    }
    if (variants !== null) {
      for (let r = 0; r < rows; r++) {
        const [m, l] = withSink(variants, slice, rowMax[at + i0 + r]!, rowSum[at + i0 + r]!); // the sink joins m and l
        rowMax[at + i0 + r] = m;
        rowSum[at + i0 + r] = l;
      }
    }
  }
}

/**
 * Backward, one key tile at a time: its dK, dV accumulate in scratch while the query rows of every
 * slice sharing these keys pass by in blocks, recomputing the weights from each row's max m and sum l:
 *   D_i = dOut_i · out_i,  P = e^(S − m) / l,  dP = dOut V_tileᵀ,  dS = P ⊙ (dP − D),
 *   dV_tile += Pᵀ dOut,   dK_tile += scale · dSᵀ Q,   dQ += scale · dS K_tile.
 * (m, l) = (lse, 1) where the forward's float32 log-sum-exp is small enough to trust; other rows
 * (logits of 1e4 and beyond, tiny temperatures, +∞ scores) get m and l recomputed exactly in float64
 * by `rowStatistics`, since e^(S − lse) with a float32 lse of 1e6 is off by up to e^(±0.03).
 * Variants: S carries the biases and the cap, dS is taken back through the cap (dX = dS ⊙ (1 − tanh²)),
 * d positionBias sums dX along its diagonals, and d sinks_h = −Σ_i e^(sink_h − m_i) / l_i · D_i.
 */
const backwardHeadsFirst: AttentionBackwardKernel = (problem, q, k, v, out, logSumExp, dOut, dq, dk, dv, variantGradients) => {
  const {
    n,
    queryLength: Lq,
    keyLength: Lk,
    headDim: d,
    valueDim: dvSize,
    scale,
    causalOffset,
    attentionMask: keep,
    attentionMaskStrides: keepStrides,
    groupSize,
  } = problem;
  const [keepSlice, keepQuery, keepKey] = keepStrides;
  const causal = causalOffset !== null;
  const offset = causalOffset ?? 0;
  const start = problem.windowStart ?? -Infinity; // key j ≥ i + start
  const nKv = Math.floor(n / groupSize);
  const delta = new Float64Array(groupSize * Lq); // D for the query rows of one k/v slice   [groupSize, Lq]
  const rowMax = new Float64Array(groupSize * Lq); // m for the same rows                    [groupSize, Lq]
  const rowSum = new Float64Array(groupSize * Lq); // l for the same rows                    [groupSize, Lq]
  const p = new Float64Array(BLOCK_Q * BLOCK_K); // S, then P                              [R, C]
  const dS = new Float64Array(BLOCK_Q * BLOCK_K); // dP, then dS                           [R, C]
  const dkTile = new Float64Array(BLOCK_K * d); // Σ_i dS_ij q_i for the tile's keys        [C, d]
  const dvTile = new Float64Array(BLOCK_K * dvSize); // Σ_i P_ij dOut_i                     [C, dv]
  const dqBlock = new Float64Array(BLOCK_Q * d); // dS K_tile for a block of rows           [R, d]
  const variants = scoreVariantsOf(problem);
  const slope = variants?.softcap != null ? new Float64Array(BLOCK_Q * BLOCK_K) : null; // ds/dx through the cap   [R, C]
  const dPositionBias = variants?.positionBias ? new Float64Array(variants.positionBias.length) : null; // [H, Lq + Lk − 1]
  const dSinks = variants?.sinks ? new Float64Array(variants.sinks.length) : null; // [H]
  dq.fill(0);

  for (let g = 0; g < nKv; g++) {
    const kBase = g * Lk * d;
    const vBase = g * Lk * dvSize;
    for (let member = 0; member < groupSize; member++) {
      const slice = g * groupSize + member;
      for (let i = 0; i < Lq; i++) {
        const o = (slice * Lq + i) * dvSize;
        let D = 0;
        for (let x = 0; x < dvSize; x++) D += dOut[o + x]! * out[o + x]!;
        delta[member * Lq + i] = D;
      }
      rowStatistics(problem, q, k, slice, kBase, logSumExp, rowMax, rowSum, member * Lq, p);
      if (dSinks !== null) {
        const h = slice % variants!.heads;
        const sink = variants!.sinks![h]!;
        for (let i = 0; i < Lq; i++) {
          const at = member * Lq + i;
          if (rowMax[at] !== Infinity) dSinks[h]! -= (Math.exp(sink - rowMax[at]!) / rowSum[at]!) * delta[at]!; // −P_sink · D
        }
      }
    }
    for (let j0 = 0; j0 < Lk; j0 += BLOCK_K) {
      const cols = Math.min(BLOCK_K, Lk - j0);
      const kTile = kBase + j0 * d;
      const vTile = vBase + j0 * dvSize;
      dkTile.fill(0, 0, cols * d);
      dvTile.fill(0, 0, cols * dvSize);
      const firstRow = causal ? Math.max(0, j0 - offset) : 0; // earlier rows see none of these keys
      const rowEnd = Math.min(Lq, j0 + cols - start); // nor do later rows, past a window
      for (let member = 0; member < groupSize; member++) {
        const slice = g * groupSize + member;
        const keepBase = slice * keepSlice;
        for (let i0 = firstRow; i0 < rowEnd; i0 += BLOCK_Q) {
          const rows = Math.min(BLOCK_Q, rowEnd - i0);
          const qBlock = (slice * Lq + i0) * d;
          const oBlock = (slice * Lq + i0) * dvSize;
          dotTile(q, qBlock, rows, k, kTile, cols, d, scale, p); // S = scale · Q K_tileᵀ   [R, d] x [C, d] -> [R, C]
          dotTile(dOut, oBlock, rows, v, vTile, cols, dvSize, 1, dS); // dP = dOut V_tileᵀ   [R, dv] x [C, dv] -> [R, C]
          let any = false;
          for (let r = 0; r < rows; r++) {
            const i = i0 + r;
            const row = r * BLOCK_K;
            const m = rowMax[member * Lq + i]!;
            const visible = m === -Infinity ? 0 : causal ? Math.max(0, Math.min(cols, i + offset + 1 - j0)) : cols; // fully masked rows pass nothing
            const D = delta[member * Lq + i]!;
            const first = Math.max(0, Math.min(visible, i + start - j0));
            for (let c = 0; c < first; c++) p[row + c] = -Infinity;
            if (variants !== null) modifyScoreRow(variants, p, row, slice, i, j0, first, visible, slope); // biases, cap, segments
            if (keep !== null) {
              const keepRow = keepBase + i * keepQuery + j0 * keepKey;
              for (let c = first; c < visible; c++) if (keep[keepRow + c * keepKey] === 0) p[row + c] = -Infinity;
            }
            rowMaxOf(p, row, visible); // scores past float32's range → ±∞, as in the forward
            exponentiate(p, row, visible, m, rowSum[member * Lq + i]!); // P = e^(S − m) / l
            for (let c = 0; c < visible; c++) {
              const pc = p[row + c]!;
              dS[row + c] = pc === 0 ? 0 : pc * (dS[row + c]! - D); // dS = P ⊙ (dP − D_i)
              if (pc !== 0) any = true;
            }
            p.fill(0, row + visible, row + cols);
            dS.fill(0, row + visible, row + cols);
            if (slope !== null) for (let c = 0; c < visible; c++) dS[row + c]! *= slope[row + c]!; // dX = dS ⊙ (1 − tanh²)
            if (dPositionBias !== null) addBiasGradientRow(variants!, dPositionBias, dS, row, slice, i, j0, visible);
          }
          if (!any) continue;
          accumulateTransposedProduct(p, rows, cols, dOut, oBlock, dvSize, dvTile); // dV_tile += Pᵀ dOut   [R, C]ᵀ x [R, dv] -> [C, dv]
          accumulateTransposedProduct(dS, rows, cols, q, qBlock, d, dkTile); // dK_tile += dSᵀ Q   [R, C]ᵀ x [R, d] -> [C, d]
          dqBlock.fill(0, 0, rows * d);
          accumulateProduct(dS, rows, cols, k, kTile, d, dqBlock); // dS K_tile   [R, C] x [C, d] -> [R, d]
          for (let x = 0; x < rows * d; x++) dq[qBlock + x]! += scale * dqBlock[x]!;
        }
      }
      for (let x = 0; x < cols * d; x++) dk[kTile + x] = scale * dkTile[x]!;
      for (let x = 0; x < cols * dvSize; x++) dv[vTile + x] = dvTile[x]!;
    }
  }
  writeVariantGradients(variantGradients, dPositionBias, dSinks);
};

/** Writes the variant parameters' gradients (float64 sums) into the caller's buffers, when both exist. */
export function writeVariantGradients(
  target: AttentionVariantGradients | undefined,
  dPositionBias: Float64Array | null,
  dSinks: Float64Array | null,
): void {
  if (dPositionBias !== null && target?.positionBias) target.positionBias.set(dPositionBias);
  if (dSinks !== null && target?.sinks) target.sinks.set(dSinks);
}

/**
 * The forward on the JS kernels, any layout: 'sequence-first' operands are copied to heads-first
 * [n, L, ·] order, computed there, and out is copied back.
 */
export const attentionForwardJs: AttentionForwardKernel = (problem, q, k, v, out, logSumExp) => {
  const { queryHeads: H, keyHeads: Hkv } = interleavedHeads(problem);
  if (H === 1 && Hkv === 1) {
    forwardHeadsFirst(problem, q, k, v, out, logSumExp);
    return;
  }
  const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv } = problem;
  const B = n / H;
  const plain = { ...problem, layout: 'heads-first' as const };
  const outHeadsFirst = new Float32Array(n * Lq * dv); // [n, Lq, dv]
  forwardHeadsFirst(
    plain,
    toHeadsFirst(q, B, H, Lq, d),
    toHeadsFirst(k, B, Hkv, Lk, d),
    toHeadsFirst(v, B, Hkv, Lk, dv),
    outHeadsFirst,
    logSumExp,
  );
  toSequenceFirst(outHeadsFirst, B, H, Lq, dv, out); // [n, Lq, dv] -> [B, Lq, H, dv]
};

/**
 * The backward on the JS kernels, any layout: 'sequence-first' operands are copied to heads-first
 * [n, L, ·] order, computed there, and dq, dk, dv are copied back.
 */
export const attentionBackwardJs: AttentionBackwardKernel = (problem, q, k, v, out, logSumExp, dOut, dq, dk, dv, variantGradients) => {
  const { queryHeads: H, keyHeads: Hkv } = interleavedHeads(problem);
  if (H === 1 && Hkv === 1) {
    backwardHeadsFirst(problem, q, k, v, out, logSumExp, dOut, dq, dk, dv, variantGradients);
    return;
  }
  const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dvSize } = problem;
  const B = n / H;
  const plain = { ...problem, layout: 'heads-first' as const };
  const dqHeadsFirst = new Float32Array(n * Lq * d); // [n, Lq, d]
  const dkHeadsFirst = new Float32Array(B * Hkv * Lk * d); // [nKv, Lk, d]
  const dvHeadsFirst = new Float32Array(B * Hkv * Lk * dvSize); // [nKv, Lk, dv]
  backwardHeadsFirst(
    plain,
    toHeadsFirst(q, B, H, Lq, d),
    toHeadsFirst(k, B, Hkv, Lk, d),
    toHeadsFirst(v, B, Hkv, Lk, dvSize),
    toHeadsFirst(out, B, H, Lq, dvSize),
    logSumExp,
    toHeadsFirst(dOut, B, H, Lq, dvSize),
    dqHeadsFirst,
    dkHeadsFirst,
    dvHeadsFirst,
    variantGradients,
  );
  toSequenceFirst(dqHeadsFirst, B, H, Lq, d, dq); // [n, Lq, d] -> [B, Lq, H, d]
  toSequenceFirst(dkHeadsFirst, B, Hkv, Lk, d, dk); // [nKv, Lk, d] -> [B, Lk, Hkv, d]
  toSequenceFirst(dvHeadsFirst, B, Hkv, Lk, dvSize, dv); // [nKv, Lk, dv] -> [B, Lk, Hkv, dv]
};
