// Fused scaled-dot-product attention, backward (FlashAttention-2, Dao 2023), on the matmul micro-kernels.
// Shape letters: n slices, Lq queries, Lk keys, d query/key features, dv value features, R rows of a
// query block (≤ BQ), C keys of a key block (≤ BC).
// Per k/v slice, Kᵀ and Vᵀ are packed once as the B operands of S = Q·Kᵀ and dP = dOut·Vᵀ, and K as
// the B operand of dQ = dS·K; dK and dV accumulate in place while the query rows of every slice that
// shares these keys pass by in blocks of BQ. Per query block: D = rowsum(dOut ⊙ out), Q and dOut packed
// as A (pre-splatted, scale folded into Q) and as B; then per key block of BC keys (skipping blocks
// causality hides from every row of the query block):
//   S  = (scale·Q)·Kᵀ                  [R, d] x [d, C] -> [R, C]
//   dP = dOut·Vᵀ                       [R, dv] x [dv, C] -> [R, C]
//   P  = e^(S − m) / l (masked → 0);  dS = scale · P ⊙ (dP − D)
//   dV += Pᵀ·dOut                      [C, R] x [R, dv] -> [C, dv]
//   dK += dSᵀ·Q                        [C, R] x [R, d] -> [C, d]
//   dQ += dS·K                         [R, C] x [C, d] -> [R, d]
// A row with logSumExp = −∞ (no visible key) contributes nothing and gets dQ = 0.
// m and l are the row's softmax max and sum: (lse, 1) where the forward's float32 logSumExp is small
// enough to trust (|lse| < TRUSTED_LOG_SUM_EXP); for the rows of a block with larger ones (logits of
// 1e4 and beyond, tiny temperatures, +∞ scores) they are first recomputed over the row's keys
// (`rowStatistics`), since e^(S − lse) with an lse of 1e6 rounded to float32 is off by up to e^(±0.03).
// A row with +∞ scores is uniform over them, as in the forward. D = dOut·out is summed in the order
// (and with the multiply-add) of the micro-kernel's dP, so a row with one visible key (P = 1, out = v)
// has dP − D = 0 exactly: no noise where the gradient is exactly 0.
import { align64 } from './attention';
import { addBiasGradientRow, BIAS_GRADIENTS, capOf, modifiesScores, modifyScoreRow, sinkOf } from './attention-variants';
import { expF32x4, expNonPositiveF32x4, softmaxWeightF32x4 } from './exp';
import { MR, NR, microKernel } from './matmul';
import { pack, packSplat } from './pack';
import { sliceAddress, zeroRows } from './slices';
import { madd, setTileScratch, TILE_SCRATCH_BYTES } from './tile';

/** Query rows per block (a multiple of MR): the depth of the dK and dV products. */
const BQ: i32 = 16 * MR;
/** Keys per block (a multiple of NR): the depth of the dQ product. P and dS [BQ][BC] stay in L1/L2. */
const BC: i32 = 64;
/** The float32 logSumExp is trusted below this magnitude: its rounding scales P by less than 1 + 2⁻²⁰. */
const TRUSTED_LOG_SUM_EXP: f32 = 16;

// @ts-ignore: decorator
@inline function roundUp(x: i32, to: i32): usize {
  return <usize>(((x + to - 1) / to) * to);
}

/** Bytes of scratch `attentionBackward` needs at `work`. */
export function attentionBackwardWorkBytes(Lk: i32, d: i32, dv: i32): usize {
  const keys = roundUp(Lk, NR);
  return (keys * <usize>d + keys * <usize>dv + roundUp(d, NR) * <usize>Lk) * 4 // packed Kᵀ, Vᵀ, K
    + <usize>BQ * <usize>(d + dv) * 16 // pre-splatted Q and dOut blocks
    + (roundUp(d, NR) + roundUp(dv, NR)) * <usize>BQ * 4 // Q and dOut blocks packed as B
    + 2 * <usize>(BQ * BC) * 4 // P and dS
    + <usize>(max(BQ, BC) * MR) * 16 // one pre-splatted panel of Pᵀ, dSᵀ or dS
    + <usize>BQ * 4 // D
    + 2 * <usize>BQ * 4 // m and l
    + TILE_SCRATCH_BYTES
    + 14 * 64; // cache-line alignment of each part
}

/**
 * dq [n, Lq, d], dk [nKv, Lk, d], dv [nKv, Lk, dv] (overwritten) from q, k, v, the forward's out
 * [n, Lq, dv] and logSumExp [n, Lq], and dOut [n, Lq, dv]; masking, groups and layouts as
 * `attentionForward` (q, out, dOut, dq interleave qHeads slices per row block, k, v, dk, dv kvHeads).
 * `work` holds attentionBackwardWorkBytes(Lk, d, dv). Only the k/v slices first, first + step, … are
 * computed (0, 1: all), with every query slice that reads them: threads with different `first` and
 * their own `work` may run at once (they write disjoint parts of dq, dk and dv).
 * `variants` (0: none) is the header of the score variants (see attention-variants.ts): S carries the
 * biases and the cap, dS goes back through the cap (⊙ 1 − (s / cap)²), and thread `first` adds
 * ∂L/∂x along the diagonals into its own block of position-bias gradients (the caller sums the blocks).
 */
export function attentionBackward(
  q: usize, k: usize, v: usize, out: usize, logSumExp: usize, dOut: usize, dq: usize, dk: usize, dv: usize, keep: usize, variants: usize,
  n: i32, Lq: i32, Lk: i32, d: i32, dvSize: i32, scale: f32, causal: bool, causalOffset: i32, windowed: bool, windowStart: i32,
  ks0: i32, ks1: i32, ks2: i32, groupSize: i32, qHeads: i32, kvHeads: i32, work: usize, first: i32, step: i32,
): void {
  const packedKT = work; // panels of NR keys, [d][NR] each
  const packedVT = align64(packedKT + roundUp(Lk, NR) * <usize>d * 4); // panels of NR keys, [dv][NR] each
  const packedK = align64(packedVT + roundUp(Lk, NR) * <usize>dvSize * 4); // panels of NR features, [Lk][NR] each
  const qSplat = align64(packedK + roundUp(d, NR) * <usize>Lk * 4); // BQ / MR panels of [d][MR][4]
  const oSplat = align64(qSplat + <usize>(BQ * d) * 16); // BQ / MR panels of [dv][MR][4]
  const qB = align64(oSplat + <usize>(BQ * dvSize) * 16); // panels of NR features, [R][NR] each
  const oB = align64(qB + roundUp(d, NR) * <usize>BQ * 4); // panels of NR value features, [R][NR] each
  const P = align64(oB + roundUp(dvSize, NR) * <usize>BQ * 4); // [BQ][BC]: S, then P
  const dS = align64(P + <usize>(BQ * BC) * 4); // [BQ][BC]: dP, then dS
  const aPanel = align64(dS + <usize>(BQ * BC) * 4); // [depth][MR][4]
  const delta = align64(aPanel + <usize>(max(BQ, BC) * MR) * 16); // [BQ]
  const rowMax = align64(delta + <usize>BQ * 4); // [BQ] m
  const rowSum = align64(rowMax + <usize>BQ * 4); // [BQ] l
  setTileScratch(align64(rowSum + <usize>BQ * 4));
  const ldP = <usize>BC * 4;
  const qLd = qHeads * d; // row pitches in floats
  const oLd = qHeads * dvSize;
  const kLd = kvHeads * d;
  const vLd = kvHeads * dvSize;
  const qPanelBytes = <usize>(d * MR) * 16;
  const oPanelBytes = <usize>(dvSize * MR) * 16;
  const nKv = n / groupSize;
  const zero = f32x4.splat(0);
  const scaleV = f32x4.splat(scale);
  const modifies = modifiesScores(variants);
  const cap = capOf(variants);
  const invCap = f32x4.splat(cap == 0 ? 0 : 1 / cap);
  const biasGradients = variants != 0 && load<i32>(variants + BIAS_GRADIENTS) != 0;
  const one = f32x4.splat(1);

  for (let g = first; g < nKv; g += step) {
    const kSlice = sliceAddress(k, g, Lk, kvHeads, d);
    const vSlice = sliceAddress(v, g, Lk, kvHeads, dvSize);
    const dkSlice = sliceAddress(dk, g, Lk, kvHeads, d);
    const dvSlice = sliceAddress(dv, g, Lk, kvHeads, dvSize);
    zeroRows(dkSlice, Lk, d, <usize>kLd * 4);
    zeroRows(dvSlice, Lk, dvSize, <usize>vLd * 4);
    if (Lk > 0) {
      pack(kSlice, kLd, true, 0, 0, Lk, d, NR, packedKT); // Kᵀ as B: [d] x [Lk]
      pack(vSlice, vLd, true, 0, 0, Lk, dvSize, NR, packedVT); // Vᵀ as B: [dv] x [Lk]
      pack(kSlice, kLd, false, 0, 0, d, Lk, NR, packedK); // K as B: [Lk] x [d]
    }
    for (let member = 0; member < groupSize; member++) {
      const slice = g * groupSize + member;
      const qSlice = sliceAddress(q, slice, Lq, qHeads, d);
      const oSlice = sliceAddress(out, slice, Lq, qHeads, dvSize);
      const doSlice = sliceAddress(dOut, slice, Lq, qHeads, dvSize);
      const dqSlice = sliceAddress(dq, slice, Lq, qHeads, d);
      const lseSlice = logSumExp + <usize>slice * <usize>Lq * 4;
      for (let i0 = 0; i0 < Lq; i0 += BQ) {
        const bq = min(BQ, Lq - i0);
        zeroRows(dqSlice + <usize>i0 * <usize>qLd * 4, bq, d, <usize>qLd * 4);
        // Keys any row of this block may see.
        let keyEnd = Lk;
        if (causal) keyEnd = max(0, min(Lk, i0 + bq + causalOffset));
        // A window hides the key blocks before the first row's first key (blocks stay aligned to panels of keys).
        const keyStart = windowed ? (max(0, min(keyEnd, i0 + windowStart)) / NR) * NR : 0;
        if (keyEnd <= keyStart) continue;
        // D = rowsum(dOut ⊙ out), one multiply-add at a time in x order, as the micro-kernel sums dP.   [R, dv] -> [R]
        for (let r = 0; r < bq; r++) {
          const oRow = oSlice + <usize>(i0 + r) * <usize>oLd * 4;
          const gRow = doSlice + <usize>(i0 + r) * <usize>oLd * 4;
          let acc = zero;
          for (let x = 0; x < dvSize; x++) acc = madd(f32x4.splat(load<f32>(gRow + (<usize>x << 2))), f32x4.splat(load<f32>(oRow + (<usize>x << 2))), acc);
          store<f32>(delta + (<usize>r << 2), f32x4.extract_lane(acc, 0));
        }
        // The block of Q (scaled) and dOut as A panels; Q and dOut as B.
        for (let r0 = 0; r0 < bq; r0 += MR) {
          const panel = <usize>(r0 / MR);
          packSplat(qSlice, qLd, true, i0 + r0, 0, min(MR, bq - r0), d, MR, scale, qSplat + panel * qPanelBytes);
          packSplat(doSlice, oLd, true, i0 + r0, 0, min(MR, bq - r0), dvSize, MR, 1, oSplat + panel * oPanelBytes);
        }
        pack(qSlice, qLd, false, 0, i0, d, bq, NR, qB); // [R] x [d]
        pack(doSlice, oLd, false, 0, i0, dvSize, bq, NR, oB); // [R] x [dv]
        // m and l of each row: (lse, 1) where lse can be trusted, else recomputed for the whole block.
        let recompute = false;
        for (let r = 0; r < bq; r++) {
          const lse = load<f32>(lseSlice + (<usize>(i0 + r) << 2));
          store<f32>(rowMax + (<usize>r << 2), lse);
          store<f32>(rowSum + (<usize>r << 2), 1);
          if (lse != -Infinity && !(abs(lse) < TRUSTED_LOG_SUM_EXP)) recompute = true;
        }
        if (recompute) {
          rowStatistics(qSplat, qPanelBytes, packedKT, d, P, keep, variants, slice, i0, bq, keyStart, keyEnd, causal, causalOffset, windowed, windowStart, ks0, ks1, ks2, rowMax, rowSum);
        }

        for (let j0 = keyStart; j0 < keyEnd; j0 += BC) {
          const bc = min(BC, keyEnd - j0);
          const bc4 = (bc + 3) & ~3;
          // S = (scale·Q)·Kᵀ and dP = dOut·Vᵀ, NR keys per tile.   [R, d] x [d, C], [R, dv] x [dv, C] -> [R, C]
          for (let r0 = 0; r0 < bq; r0 += MR) {
            const mr = min(MR, bq - r0);
            const panel = <usize>(r0 / MR);
            let kPanel = packedKT + <usize>j0 * <usize>d * 4;
            let vPanel = packedVT + <usize>j0 * <usize>dvSize * 4;
            for (let c0 = 0; c0 < bc; c0 += NR) {
              const at = <usize>r0 * ldP + (<usize>c0 << 2);
              const nr = min(NR, bc - c0);
              microKernel(qSplat + panel * qPanelBytes, kPanel, d, P + at, ldP, false, mr, nr);
              microKernel(oSplat + panel * oPanelBytes, vPanel, dvSize, dS + at, ldP, false, mr, nr);
              kPanel += <usize>(d * NR) * 4;
              vPanel += <usize>(dvSize * NR) * 4;
            }
          }
          // P = e^(S − lse) where visible, else 0;  dS = scale · P ⊙ (dP − D).
          let anyVisible = false;
          for (let r = 0; r < bq; r++) {
            const i = i0 + r;
            const pRow = P + <usize>r * ldP;
            const sRow = dS + <usize>r * ldP;
            const m = load<f32>(rowMax + (<usize>r << 2));
            let visible = bc; // keys [j0, j0 + visible)
            if (causal) visible = max(0, min(bc, i + causalOffset + 1 - j0));
            if (m == -Infinity) visible = 0; // fully masked row: passes nothing
            if (modifies && visible > 0) modifyScoreRow(variants, pRow, visible, slice, i, j0); // biases, cap, segments
            if (windowed) {
              const hidden = max(0, min(visible, i + windowStart - j0)); // keys [j0, j0 + hidden) precede the window
              for (let c = 0; c < hidden; c++) store<f32>(pRow + (<usize>c << 2), -Infinity);
            }
            if (keep != 0) {
              let at = keep + (<usize>slice * <usize>ks0 + <usize>i * <usize>ks1 + <usize>j0 * <usize>ks2) * 4;
              const stride = <usize>ks2 * 4;
              for (let c = 0; c < visible; c++) {
                if (load<f32>(at) == 0) store<f32>(pRow + (<usize>c << 2), -Infinity);
                at += stride;
              }
            }
            const visible4 = (visible + 3) & ~3;
            for (let c = visible; c < visible4; c++) store<f32>(pRow + (<usize>c << 2), -Infinity);
            const mV = f32x4.splat(m);
            const invL = f32x4.splat(1 / load<f32>(rowSum + (<usize>r << 2)));
            const infinite = m == Infinity; // +∞ scores: P = 1 / l on them, 0 elsewhere
            const DV = f32x4.splat(load<f32>(delta + (<usize>r << 2)));
            for (let c = 0; c < visible4; c += 4) {
              const at = <usize>c << 2;
              const sc = v128.load(pRow + at);
              const p = infinite
                ? v128.and(f32x4.eq(sc, mV), invL)
                : f32x4.mul(softmaxWeightF32x4(f32x4.pmin(f32x4.sub(sc, mV), zero)), invL); // masked: e^(−∞) = 0; as the forward's P
              let dx = f32x4.mul(p, f32x4.sub(v128.load(sRow + at), DV)); // ∂L/∂s = P ⊙ (dP − D)
              if (cap != 0) {
                const t = f32x4.mul(sc, invCap); // s / cap = tanh(x / cap)
                dx = f32x4.mul(dx, f32x4.sub(one, f32x4.mul(t, t))); // ∂L/∂x through the cap
              }
              const ds = biasGradients ? dx : f32x4.mul(dx, scaleV); // scaled below when the bias needs ∂L/∂x first
              v128.store(pRow + at, p);
              v128.store(sRow + at, v128.and(ds, f32x4.ne(p, zero))); // exactly 0 where P is
            }
            if (biasGradients && visible > 0) {
              addBiasGradientRow(variants, first, sRow, visible, slice, i, j0);
              for (let c = 0; c < visible4; c += 4) v128.store(sRow + (<usize>c << 2), f32x4.mul(v128.load(sRow + (<usize>c << 2)), scaleV));
            }
            for (let c = visible4; c < bc4; c += 4) {
              v128.store(pRow + (<usize>c << 2), zero);
              v128.store(sRow + (<usize>c << 2), zero);
            }
            if (visible > 0) anyVisible = true;
          }
          if (!anyVisible) continue;
          // dV += Pᵀ·dOut and dK += dSᵀ·Q, MR keys per panel.   [C, R] x [R, dv] -> [C, dv];  [C, R] x [R, d] -> [C, d]
          for (let c0 = 0; c0 < bc; c0 += MR) {
            const mr = min(MR, bc - c0);
            packSplat(P, BC, false, c0, 0, mr, bq, MR, 1, aPanel);
            let bPanel = oB;
            let target = dvSlice + <usize>(j0 + c0) * <usize>vLd * 4;
            for (let x0 = 0; x0 < dvSize; x0 += NR) {
              microKernel(aPanel, bPanel, bq, target, <usize>vLd * 4, true, mr, min(NR, dvSize - x0));
              bPanel += <usize>(NR * bq) * 4;
              target += <usize>NR * 4;
            }
            packSplat(dS, BC, false, c0, 0, mr, bq, MR, 1, aPanel);
            bPanel = qB;
            target = dkSlice + <usize>(j0 + c0) * <usize>kLd * 4;
            for (let x0 = 0; x0 < d; x0 += NR) {
              microKernel(aPanel, bPanel, bq, target, <usize>kLd * 4, true, mr, min(NR, d - x0));
              bPanel += <usize>(NR * bq) * 4;
              target += <usize>NR * 4;
            }
          }
          // dQ += dS·K, MR query rows per panel.   [R, C] x [C, d] -> [R, d]
          for (let r0 = 0; r0 < bq; r0 += MR) {
            const mr = min(MR, bq - r0);
            packSplat(dS, BC, true, r0, 0, mr, bc, MR, 1, aPanel);
            let bPanel = packedK + <usize>j0 * <usize>NR * 4;
            let target = dqSlice + <usize>(i0 + r0) * <usize>qLd * 4;
            for (let x0 = 0; x0 < d; x0 += NR) {
              microKernel(aPanel, bPanel, bc, target, <usize>qLd * 4, true, mr, min(NR, d - x0));
              bPanel += <usize>Lk * <usize>NR * 4;
              target += <usize>NR * 4;
            }
          }
        }
      }
    }
  }
}

/**
 * The softmax max m and sum l of the bq rows of a query block (rowMax, rowSum [bq]), recomputed from
 * S = (scale·Q)·Kᵀ over the visible keys [keyStart, keyEnd) (keyStart a multiple of NR) with the forward's online rule (−∞ for a row that
 * sees nothing; with +∞ scores, m = +∞ and l their count). S is recomputed into `scores` [BQ][BC]
 * by the same micro-kernel products the gradient pass uses, so P = e^(S − m) / l ≤ 1 is exact.
 */
function rowStatistics(
  qSplat: usize, qPanelBytes: usize, packedKT: usize, d: i32, scores: usize, keep: usize, variants: usize, slice: i32, i0: i32, bq: i32, keyStart: i32, keyEnd: i32,
  causal: bool, causalOffset: i32, windowed: bool, windowStart: i32, ks0: i32, ks1: i32, ks2: i32, rowMax: usize, rowSum: usize,
): void {
  const ldP = <usize>BC * 4;
  for (let r = 0; r < bq; r++) {
    store<f32>(rowMax + (<usize>r << 2), -Infinity);
    store<f32>(rowSum + (<usize>r << 2), 0);
  }
  for (let j0 = keyStart; j0 < keyEnd; j0 += BC) {
    const bc = min(BC, keyEnd - j0);
    for (let r0 = 0; r0 < bq; r0 += MR) {
      let kPanel = packedKT + <usize>j0 * <usize>d * 4;
      for (let c0 = 0; c0 < bc; c0 += NR) {
        microKernel(qSplat + <usize>(r0 / MR) * qPanelBytes, kPanel, d, scores + <usize>r0 * ldP + (<usize>c0 << 2), ldP, false, min(MR, bq - r0), min(NR, bc - c0));
        kPanel += <usize>(d * NR) * 4;
      }
    }
    for (let r = 0; r < bq; r++) {
      const i = i0 + r;
      const row = scores + <usize>r * ldP;
      let visible = bc;
      if (causal) visible = max(0, min(bc, i + causalOffset + 1 - j0));
      if (modifiesScores(variants) && visible > 0) modifyScoreRow(variants, row, visible, slice, i, j0); // biases, cap, segments
      if (windowed) {
        const hidden = max(0, min(visible, i + windowStart - j0)); // keys [j0, j0 + hidden) precede the window
        for (let c = 0; c < hidden; c++) store<f32>(row + (<usize>c << 2), -Infinity);
      }
      if (keep != 0) {
        let at = keep + (<usize>slice * <usize>ks0 + <usize>i * <usize>ks1 + <usize>j0 * <usize>ks2) * 4;
        for (let c = 0; c < visible; c++) {
          if (load<f32>(at) == 0) store<f32>(row + (<usize>c << 2), -Infinity);
          at += <usize>ks2 * 4;
        }
      }
      let blockMax: f32 = -Infinity;
      for (let c = 0; c < visible; c++) {
        const sc = load<f32>(row + (<usize>c << 2));
        if (sc > blockMax) blockMax = sc; // NaN scores are skipped, as in the forward
      }
      if (blockMax == -Infinity) continue;
      let m = load<f32>(rowMax + (<usize>r << 2));
      let l = load<f32>(rowSum + (<usize>r << 2));
      if (blockMax > m) {
        l *= f32x4.extract_lane(expNonPositiveF32x4(f32x4.splat(m - blockMax)), 0);
        m = blockMax;
      }
      const mV = f32x4.splat(m);
      let sum = f32x4.splat(0);
      let c = 0;
      for (; c + 4 <= visible; c += 4) {
        const sc = v128.load(row + (<usize>c << 2));
        sum = f32x4.add(sum, m == Infinity ? v128.and(f32x4.eq(sc, mV), f32x4.splat(1)) : softmaxWeightF32x4(f32x4.sub(sc, mV)));
      }
      const w = f32x4.add(sum, v128.shuffle<f32>(sum, sum, 2, 3, 0, 1));
      l += f32x4.extract_lane(w, 0) + f32x4.extract_lane(w, 1);
      for (; c < visible; c++) {
        const sc = load<f32>(row + (<usize>c << 2));
        l += m == Infinity ? (sc == Infinity ? 1 : 0) : f32x4.extract_lane(softmaxWeightF32x4(f32x4.splat(sc - m)), 0);
      }
      store<f32>(rowMax + (<usize>r << 2), m);
      store<f32>(rowSum + (<usize>r << 2), l);
    }
  }
  // The sink joins m and l: l' = l·e^(m − m') + e^(sink − m') (a row that sees nothing: (sink, 1); +∞ rows ignore it).
  const sink = sinkOf(variants, slice);
  if (sink == -Infinity) return;
  for (let r = 0; r < bq; r++) {
    const m = load<f32>(rowMax + (<usize>r << 2));
    if (m == Infinity) continue;
    const top = max(m, sink);
    const l = load<f32>(rowSum + (<usize>r << 2));
    const kept: f32 = m == -Infinity ? <f32>0 : l * f32x4.extract_lane(expF32x4(f32x4.splat(m - top)), 0);
    store<f32>(rowMax + (<usize>r << 2), top);
    store<f32>(rowSum + (<usize>r << 2), kept + f32x4.extract_lane(expF32x4(f32x4.splat(sink - top)), 0));
  }
}
