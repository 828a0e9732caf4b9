// Fused scaled-dot-product attention, forward (FlashAttention-2 loop order, Dao 2023), on the matmul
// micro-kernels. Shape letters: n slices, Lq queries, Lk keys, d query/key features, dv value features.
// Per k/v slice, K is packed once as the B operand of S = Q·Kᵀ and V as the B operand of O = P·V;
// then per panel of MR query rows and per block of BK keys:
//   s = (scale·Q_panel)·K_blockᵀ      [MR, d] x [d, BK] -> [MR, BK]
//   s masked → −∞;  m' = max(m, max s);  O ← O·e^(m−m');  P = e^(s−m');  l ← l·e^(m−m') + ΣP
//   O += P·V_block                   [MR, BK] x [BK, dv] -> [MR, dv]   (P a plain [MR][BK] tile: microKernelRows)
// and finally O /= l, logSumExp = m + ln l (a row with no visible key: O = 0, logSumExp = −∞).
// Scores that overflow float32 are ±∞: a row with +∞ scores is uniform over them (P = 1 there, 0
// elsewhere; softmax's limit). Values so large that O = Σ P·v could overflow (|v| > FLT_MAX / Lk) are
// packed times 2^−e (exact) and out is scaled back by 2^e after O /= l, so out stays finite.
import { modifiesScores, modifyScoreRow, sinkOf } from './attention-variants';
import { expF32x4, softmaxWeightF32x4 } from './exp';
import { MR, NR, ROW_FLOATS, microKernel, microKernelRows } from './matmul';
import { pack, packSplat } from './pack';
import { sliceAddress, zeroRows } from './slices';
import { setTileScratch, TILE_SCRATCH_BYTES } from './tile';

/** Keys per block: the score tile MR×BK and the P tile MR×BK stay in L1 (P is microKernelRows' A: BK = ROW_FLOATS). */
const BK: i32 = ROW_FLOATS;

/** Bytes of scratch `attentionForward` needs at `work`. */
export function attentionWorkBytes(Lk: i32, d: i32, dv: i32): usize {
  const keys = <usize>((Lk + NR - 1) / NR) * NR;
  const values = <usize>((dv + NR - 1) / NR) * NR;
  return (keys * <usize>d + values * <usize>Lk) * 4 // packed K, packed V
    + <usize>(d * MR) * 16 // pre-splatted Q panel
    + <usize>(MR * BK) * 4 // score tile
    + <usize>(MR * BK) * 4 // P tile
    + 2 * <usize>MR * 4 // row max and row sum
    + TILE_SCRATCH_BYTES
    + 8 * 64; // cache-line alignment of each part
}

/** ln x for x ≥ 1 (a softmax denominator): x = 2^e·f with f ∈ [√½, √2), ln f = 2·atanh((f − 1)/(f + 1)). */
function logOfSum(x: f32): f32 {
  const bits = reinterpret<i32>(x);
  let e = (bits >> 23) - 127;
  let f = <f64>reinterpret<f32>((bits & 0x007fffff) | 0x3f800000); // [1, 2)
  if (f > 1.4142135623730951) {
    f *= 0.5;
    e += 1;
  }
  const s = (f - 1) / (f + 1); // |s| ≤ 0.172
  const s2 = s * s;
  const series = s * (2 + s2 * (2.0 / 3 + s2 * (2.0 / 5 + s2 * (2.0 / 7 + s2 * (2.0 / 9 + s2 * (2.0 / 11))))));
  return <f32>(<f64>e * 0.6931471805599453 + series);
}

/**
 * When the packed values (`count` floats at `at`) are large enough that a sum of Lk of them weighted by
 * P ≤ 1 could overflow float32 (max |v| > FLT_MAX / 2^e with 2^e ≥ Lk), multiplies them by 2^−e in
 * place (exact: a power of two) and returns 2^e, the factor that scales the output back; else 1.
 */
function packedValueScale(at: usize, count: i32, Lk: i32): f32 {
  let e = 0;
  while ((1 << e) < Lk) e++;
  const up = reinterpret<f32>((127 + e) << 23); // 2^e
  const limit = f32x4.splat(3.4028234663852886e38 / <f32>up);
  let over = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) over = v128.or(over, f32x4.gt(f32x4.abs(v128.load(at + (<usize>i << 2))), limit));
  let any = v128.any_true(over);
  for (; i < count; i++) if (abs(load<f32>(at + (<usize>i << 2))) > f32x4.extract_lane(limit, 0)) any = true;
  if (!any) return 1;
  const down = f32x4.splat(reinterpret<f32>((127 - e) << 23)); // 2^−e
  i = 0;
  for (; i + 4 <= count; i += 4) v128.store(at + (<usize>i << 2), f32x4.mul(v128.load(at + (<usize>i << 2)), down));
  for (; i < count; i++) store<f32>(at + (<usize>i << 2), load<f32>(at + (<usize>i << 2)) * f32x4.extract_lane(down, 0));
  return up;
}

// @ts-ignore: decorator
@inline export function align64(x: usize): usize {
  return (x + 63) & ~63;
}

/** Largest lane of v. */
// @ts-ignore: decorator
@inline function hmax(v: v128): f32 {
  const w = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(w, 0), f32x4.extract_lane(w, 1));
}

/** Sum of the lanes of v. */
// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  const w = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(w, 0) + f32x4.extract_lane(w, 1);
}

/**
 * out [n, Lq, dv] and logSumExp [n, Lq] from q [n, Lq, d], k [nKv, Lk, d], v [nKv, Lk, dv]
 * (nKv = n / groupSize). Key j is visible to query i of slice s when (!causal || j ≤ i + causalOffset)
 * and (!windowed || j ≥ i + windowStart) and (keep == 0 || keep[s·ks0 + i·ks1 + j·ks2] != 0). `work` holds attentionWorkBytes(Lk, d, dv).
 * q and out interleave qHeads slices per row block, k and v kvHeads (see `sliceAddress`; 1, 1: [n, L, ·]).
 * Only the panels of MR query rows numbered panelFirst, panelFirst + panelStep, … of every slice are
 * computed (0, 1: all): threads with different panelFirst and their own `work` may run at once.
 * `variants` (0: none) is the header of the score variants (see attention-variants.ts): biases and the
 * cap change each score before masking, segments mask, and the sink joins each row's m and l at the end.
 */
export function attentionForward(
  q: usize, k: usize, v: usize, out: usize, logSumExp: usize, keep: usize, variants: usize,
  n: i32, Lq: i32, Lk: i32, d: i32, dv: i32, scale: f32, causal: bool, causalOffset: i32, windowed: bool, windowStart: i32,
  ks0: i32, ks1: i32, ks2: i32, groupSize: i32, qHeads: i32, kvHeads: i32, work: usize, panelFirst: i32, panelStep: i32,
): void {
  const keysPadded = ((Lk + NR - 1) / NR) * NR;
  const valuesPadded = ((dv + NR - 1) / NR) * NR;
  const packedK = work; // panels of NR keys, [d][NR] each
  const packedV = align64(packedK + <usize>keysPadded * <usize>d * 4); // panels of NR value columns, [Lk][NR] each
  const qPanel = align64(packedV + <usize>valuesPadded * <usize>Lk * 4); // [d][MR][4]
  const scores = align64(qPanel + <usize>(d * MR) * 16); // [MR][BK]
  const pTile = align64(scores + <usize>(MR * BK) * 4); // [MR][BK]
  const rowMax = align64(pTile + <usize>(MR * BK) * 4); // [MR]
  const rowSum = rowMax + <usize>MR * 4; // [MR]
  setTileScratch(align64(rowSum + <usize>MR * 4));
  const ldS = <usize>BK * 4;
  const ldO = <usize>(qHeads * dv) * 4;
  const nKv = n / groupSize;
  const minusInf = f32x4.splat(-Infinity);
  const modifies = modifiesScores(variants);

  for (let g = 0; g < nKv; g++) {
    const kSlice = sliceAddress(k, g, Lk, kvHeads, d);
    const vSlice = sliceAddress(v, g, Lk, kvHeads, dv);
    if (Lk > 0) {
      pack(kSlice, kvHeads * d, true, 0, 0, Lk, d, NR, packedK); // Kᵀ as B: [d] x [Lk]
      pack(vSlice, kvHeads * dv, false, 0, 0, dv, Lk, NR, packedV); // V as B: [Lk] x [dv]
    }
    const valueScale = packedValueScale(packedV, valuesPadded * Lk, Lk); // 2^e: out = (O / l)·2^e
    for (let member = 0; member < groupSize; member++) {
      const slice = g * groupSize + member;
      const qSlice = sliceAddress(q, slice, Lq, qHeads, d);
      const oSlice = sliceAddress(out, slice, Lq, qHeads, dv);
      for (let i0 = panelFirst * MR; i0 < Lq; i0 += panelStep * MR) {
        const mr = min(MR, Lq - i0);
        const oPanel = oSlice + <usize>i0 * ldO;
        zeroRows(oPanel, mr, dv, ldO);
        for (let r = 0; r < MR; r++) {
          store<f32>(rowMax + (<usize>r << 2), -Infinity);
          store<f32>(rowSum + (<usize>r << 2), 0);
        }
        // Keys any row of this panel may see.
        let keyEnd = Lk;
        if (causal) keyEnd = max(0, min(Lk, i0 + mr + causalOffset));
        // A window hides the key blocks before the first row's first key (blocks stay aligned to panels of keys).
        const keyStart = windowed ? (max(0, min(keyEnd, i0 + windowStart)) / NR) * NR : 0;
        if (keyEnd > 0) packSplat(qSlice, qHeads * d, true, i0, 0, mr, d, MR, scale, qPanel); // scale folded into q
        // Rows past the panel's last query take no part in P · V: zero in the P tile throughout.
        if (mr < MR) memory.fill(pTile + <usize>(mr * BK) * 4, 0, <usize>((MR - mr) * BK) * 4);
        for (let j0 = keyStart; j0 < keyEnd; j0 += BK) {
          const bk = min(BK, keyEnd - j0);
          const bk4 = (bk + 3) & ~3;
          // s = (scale·Q_panel) · K_blockᵀ, NR keys per tile.   [MR, d] x [d, bk] -> [MR, bk]
          let kPanel = packedK + <usize>j0 * <usize>d * 4;
          for (let c0 = 0; c0 < bk; c0 += NR) {
            microKernel(qPanel, kPanel, d, scores + (<usize>c0 << 2), ldS, false, mr, min(NR, bk - c0));
            kPanel += <usize>(d * NR) * 4;
          }
          let anyVisible = false;
          for (let r = 0; r < mr; r++) {
            const i = i0 + r;
            const row = scores + <usize>r * ldS;
            for (let c = bk; c < bk4; c++) store<f32>(row + (<usize>c << 2), -Infinity); // pad to whole vectors
            if (modifies) modifyScoreRow(variants, row, bk, slice, i, j0); // biases, cap, segments
            if (causal) {
              const visible = max(0, min(bk, i + causalOffset + 1 - j0)); // keys [j0, j0 + visible)
              for (let c = visible; c < bk; c++) store<f32>(row + (<usize>c << 2), -Infinity);
            }
            if (windowed) {
              const hidden = max(0, min(bk, i + windowStart - j0)); // keys [j0, j0 + hidden) precede the window
              for (let c = 0; c < hidden; c++) store<f32>(row + (<usize>c << 2), -Infinity);
            }
            if (keep != 0) {
              let at = keep + (<usize>slice * <usize>ks0 + <usize>i * <usize>ks1 + <usize>j0 * <usize>ks2) * 4;
              const step = <usize>ks2 * 4;
              for (let c = 0; c < bk; c++) {
                if (load<f32>(at) == 0) store<f32>(row + (<usize>c << 2), -Infinity);
                at += step;
              }
            }
            let mv = minusInf;
            for (let c = 0; c < bk4; c += 4) mv = f32x4.pmax(mv, v128.load(row + (<usize>c << 2))); // NaN scores are skipped, as in JS
            const blockMax = hmax(mv);
            const oldMax = load<f32>(rowMax + (<usize>r << 2));
            const pRow = pTile + <usize>(r * BK) * 4; // P[r][c] at pRow + 4c
            if (blockMax == -Infinity) {
              // Nothing visible in this block: P row = 0.
              memory.fill(pRow, 0, <usize>bk4 * 4);
              continue;
            }
            anyVisible = true;
            let m = oldMax;
            let l = load<f32>(rowSum + (<usize>r << 2));
            if (blockMax > oldMax) {
              // Rescale what was accumulated against the old max (e^(−∞) = 0 on the first visible block).
              const alpha = f32x4.extract_lane(expF32x4(f32x4.splat(oldMax - blockMax)), 0);
              l *= alpha;
              const oRow = oPanel + <usize>r * ldO;
              const av = f32x4.splat(alpha);
              let x = 0;
              for (; x + 4 <= dv; x += 4) {
                const at = oRow + (<usize>x << 2);
                v128.store(at, f32x4.mul(v128.load(at), av));
              }
              for (; x < dv; x++) {
                const at = oRow + (<usize>x << 2);
                store<f32>(at, load<f32>(at) * alpha);
              }
              m = blockMax;
              store<f32>(rowMax + (<usize>r << 2), m);
            }
            const mV = f32x4.splat(m);
            const infinite = m == Infinity; // +∞ scores: P = 1 on them, 0 elsewhere (e^(∞ − ∞) would be NaN)
            let sv = f32x4.splat(0);
            for (let c = 0; c < bk4; c += 4) {
              const sc = v128.load(row + (<usize>c << 2));
              const p = infinite ? v128.and(f32x4.eq(sc, mV), f32x4.splat(1)) : softmaxWeightF32x4(f32x4.sub(sc, mV)); // masked: e^(−∞) = 0
              sv = f32x4.add(sv, p);
              v128.store(pRow + (<usize>c << 2), p);
            }
            store<f32>(rowSum + (<usize>r << 2), l + hsum(sv));
          }
          if (!anyVisible) continue;
          // O += P · V_block, NR value columns per tile.   [MR, bk] x [bk, dv] -> [MR, dv]
          let vPanel = packedV + <usize>j0 * <usize>NR * 4;
          for (let x0 = 0; x0 < dv; x0 += NR) {
            microKernelRows(pTile, vPanel, bk, oPanel + (<usize>x0 << 2), ldO, true, mr, min(NR, dv - x0));
            vPanel += <usize>Lk * <usize>NR * 4;
          }
        }
        // Normalize (the sink, if any, joins m and l first: l' = l·e^(m − m') + e^(sink − m'), O scaled by e^(m − m')).
        const sink = sinkOf(variants, slice);
        for (let r = 0; r < mr; r++) {
          const m = load<f32>(rowMax + (<usize>r << 2));
          const lseAt = logSumExp + (<usize>slice * <usize>Lq + <usize>(i0 + r)) * 4;
          if (m == -Infinity) {
            store<f32>(lseAt, sink); // fully masked row: O stays 0 (−∞, or the sink's logit with one)
            continue;
          }
          let l = load<f32>(rowSum + (<usize>r << 2));
          let rescale: f32 = 1;
          let top = m;
          if (sink != -Infinity && m != Infinity) {
            top = max(m, sink);
            rescale = f32x4.extract_lane(expF32x4(f32x4.splat(m - top)), 0);
            l = l * rescale + f32x4.extract_lane(expF32x4(f32x4.splat(sink - top)), 0);
          }
          store<f32>(lseAt, top + logOfSum(l)); // +∞ for a row with +∞ scores
          const inv: f32 = rescale / l;
          const oRow = oPanel + <usize>r * ldO;
          for (let x = 0; x < dv; x++) {
            const at = oRow + (<usize>x << 2);
            store<f32>(at, load<f32>(at) * inv * valueScale);
          }
        }
      }
    }
  }
}
