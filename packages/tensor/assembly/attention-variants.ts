// The score variants of the fused attention kernels (see `AttentionProblem` in src/kernels/attention.ts),
// applied to one row of a score tile: ALiBi m_h·(j − i − offset), a relative bias by offset j − i, the
// soft-cap c·tanh(x / c), and the segment keep rule; plus the sink folded into a row's softmax statistics.
// The JS side writes a header at `variants` (0 = no variants), 4-byte words:
//   0 heads H   1 Lq   2 Lk   3 queryPositionOffset   4 alibi slopes [H] (address or 0)
//   5 position bias [H, Lq + Lk − 1] (or 0)   6 softcap (float32, 0 = none)   7 sinks [H] (or 0)
//   8 query segments [B, Lq] (int32, or 0)   9 key segments [B, Lk] (int32, or 0)
//   10 the backward's position-bias gradients: one [H, Lq + Lk − 1] float32 block per thread (or 0)
// Slice s is head s mod H of batch element ⌊s / H⌋.
import { expNonPositiveF32x4 } from './exp';

export const HEADS: usize = 0;
export const QUERY_LENGTH: usize = 4;
export const KEY_LENGTH: usize = 8;
export const QUERY_OFFSET: usize = 12;
export const ALIBI: usize = 16;
export const BIAS: usize = 20;
export const SOFTCAP: usize = 24;
export const SINKS: usize = 28;
export const QUERY_SEGMENTS: usize = 32;
export const KEY_SEGMENTS: usize = 36;
export const BIAS_GRADIENTS: usize = 40;

/**
 * The constants of capF32x4, each in four lanes, in memory: inside a busy loop V8 rebuilds a v128 constant at every
 * use (three instructions), where a value loaded from memory costs one load (as exp.ts's EXP_TABLE).
 */
const CAP_TABLE: usize = memory.data<f32>(
  [
    0.25, 0.25, 0.25, 0.25,
    // tanh y = y − y³/3 + 2y⁵/15 − 17y⁷/315 + 62y⁹/2835: the coefficients of y², from y⁸ down
    62.0 / 2835, 62.0 / 2835, 62.0 / 2835, 62.0 / 2835,
    -17.0 / 315, -17.0 / 315, -17.0 / 315, -17.0 / 315,
    2.0 / 15, 2.0 / 15, 2.0 / 15, 2.0 / 15,
    -1.0 / 3, -1.0 / 3, -1.0 / 3, -1.0 / 3,
    1, 1, 1, 1,
    -0.0, -0.0, -0.0, -0.0,
  ],
  16,
);

/** Row i of CAP_TABLE. */
// @ts-ignore: decorator
@inline function capConstant(i: i32): v128 {
  return v128.load(CAP_TABLE + <usize>(i << 4));
}

/**
 * cap·tanh(x / cap) lane-wise. When every |x| < cap / 4 (most scores, for a cap well above them): the odd
 * Taylor polynomial of tanh to degree 9 (remainder < 0.0089·(1/4)¹¹ < 3e-9). Otherwise cap·(1 − e) / (1 + e) with
 * e = e^(−2|x| / cap) ∈ (0, 1] and x's sign, whose absolute error is a few float32 ulp of cap (the cancellation
 * in 1 − e near 0 costs relative, not absolute, accuracy), which is what a softmax of the capped scores sees.
 * `invCap` = 1 / cap, `minusTwoOverCap` = −2 / cap.
 */
// @ts-ignore: decorator
@inline export function capF32x4(x: v128, capV: v128, invCap: v128, minusTwoOverCap: v128): v128 {
  const y = f32x4.mul(x, invCap);
  if (!v128.any_true(f32x4.ge(f32x4.abs(y), capConstant(0)))) {
    const y2 = f32x4.mul(y, y);
    let p = capConstant(1);
    p = f32x4.add(f32x4.mul(p, y2), capConstant(2));
    p = f32x4.add(f32x4.mul(p, y2), capConstant(3));
    p = f32x4.add(f32x4.mul(p, y2), capConstant(4));
    return f32x4.add(x, f32x4.mul(f32x4.mul(p, y2), x)); // cap·tanh(y) = x + x·y²·p
  }
  const e = expNonPositiveF32x4(f32x4.mul(f32x4.abs(x), minusTwoOverCap)); // e^(−2|x|/cap)
  const one = capConstant(5);
  const magnitude = f32x4.div(f32x4.mul(capV, f32x4.sub(one, e)), f32x4.add(one, e));
  return v128.or(magnitude, v128.and(x, capConstant(6))); // with x's sign
}

/**
 * Scores of query i of `slice` against keys j0 + c, c ∈ [0, count), at row[c] (already scale·q·k):
 *   x += m_h·(j − i − offset) + bias[h, j − i + Lq − 1];  s = cap·tanh(x / cap);  −∞ where the segments differ.
 */
export function modifyScoreRow(variants: usize, row: usize, count: i32, slice: i32, i: i32, j0: i32): void {
  const H = load<i32>(variants + HEADS);
  const Lq = load<i32>(variants + QUERY_LENGTH);
  const Lk = load<i32>(variants + KEY_LENGTH);
  const h = slice % H;
  const alibi = <usize>load<i32>(variants + ALIBI);
  const bias = <usize>load<i32>(variants + BIAS);
  const cap = load<f32>(variants + SOFTCAP);
  const count4 = count & ~3;
  if (alibi != 0) {
    const m = load<f32>(alibi + (<usize>h << 2));
    const distance = <f32>(j0 - i - load<i32>(variants + QUERY_OFFSET)); // j − i − offset at c = 0
    const step = f32x4.splat(4 * m);
    let term = f32x4.mul(f32x4.add(f32x4.splat(distance), f32x4(0, 1, 2, 3)), f32x4.splat(m));
    let c = 0;
    for (; c < count4; c += 4) {
      const at = row + (<usize>c << 2);
      v128.store(at, f32x4.add(v128.load(at), term));
      term = f32x4.add(term, step);
    }
    for (; c < count; c++) store<f32>(row + (<usize>c << 2), load<f32>(row + (<usize>c << 2)) + m * (distance + <f32>c));
  }
  if (bias != 0) {
    const diagonal = bias + (<usize>(h * (Lq + Lk - 1) + j0 - i + Lq - 1) << 2); // bias[h, j − i + Lq − 1] at c = 0
    let c = 0;
    for (; c < count4; c += 4) {
      const at = row + (<usize>c << 2);
      v128.store(at, f32x4.add(v128.load(at), v128.load(diagonal + (<usize>c << 2))));
    }
    for (; c < count; c++) store<f32>(row + (<usize>c << 2), load<f32>(row + (<usize>c << 2)) + load<f32>(diagonal + (<usize>c << 2)));
  }
  if (cap != 0) {
    const capV = f32x4.splat(cap);
    const invCap = f32x4.splat(1 / cap);
    const minusTwoOverCap = f32x4.splat(-2 / cap);
    let c = 0;
    for (; c < count4; c += 4) {
      const at = row + (<usize>c << 2);
      v128.store(at, capF32x4(v128.load(at), capV, invCap, minusTwoOverCap));
    }
    for (; c < count; c++) {
      const at = row + (<usize>c << 2);
      store<f32>(at, f32x4.extract_lane(capF32x4(f32x4.splat(load<f32>(at)), capV, invCap, minusTwoOverCap), 0));
    }
  }
  const querySegments = <usize>load<i32>(variants + QUERY_SEGMENTS);
  if (querySegments != 0) {
    const b = slice / H;
    const keySegments = <usize>load<i32>(variants + KEY_SEGMENTS);
    const segment = load<i32>(querySegments + (<usize>(b * Lq + i) << 2));
    const keyRow = keySegments + (<usize>(b * Lk + j0) << 2);
    for (let c = 0; c < count; c++) if (load<i32>(keyRow + (<usize>c << 2)) != segment) store<f32>(row + (<usize>c << 2), -Infinity);
  }
}

/** Whether the scores need `modifyScoreRow` (any bias, cap or segments). */
export function modifiesScores(variants: usize): bool {
  return variants != 0
    && (load<i32>(variants + ALIBI) != 0 || load<i32>(variants + BIAS) != 0 || load<f32>(variants + SOFTCAP) != 0
      || load<i32>(variants + QUERY_SEGMENTS) != 0);
}

/** The sink logit of `slice`'s head, or −∞ without sinks. */
export function sinkOf(variants: usize, slice: i32): f32 {
  if (variants == 0) return -Infinity;
  const sinks = <usize>load<i32>(variants + SINKS);
  return sinks == 0 ? -Infinity : load<f32>(sinks + (<usize>(slice % load<i32>(variants + HEADS)) << 2));
}

/** The soft-cap, or 0 for none. */
export function capOf(variants: usize): f32 {
  return variants == 0 ? 0 : load<f32>(variants + SOFTCAP);
}

/**
 * Adds one row of ∂L/∂x (the gradient before the cap, without the scale) to thread `thread`'s position-bias
 * gradient along its diagonals: dBias[h, j − i + Lq − 1] += g[c] for c ∈ [0, count).
 */
export function addBiasGradientRow(variants: usize, thread: i32, g: usize, count: i32, slice: i32, i: i32, j0: i32): void {
  const gradients = <usize>load<i32>(variants + BIAS_GRADIENTS);
  if (gradients == 0) return;
  const H = load<i32>(variants + HEADS);
  const Lq = load<i32>(variants + QUERY_LENGTH);
  const Lk = load<i32>(variants + KEY_LENGTH);
  const block = <usize>(H * (Lq + Lk - 1)) << 2;
  const diagonal = gradients + <usize>thread * block + (<usize>((slice % H) * (Lq + Lk - 1) + j0 - i + Lq - 1) << 2);
  for (let c = 0; c < count; c++) {
    const at = diagonal + (<usize>c << 2);
    store<f32>(at, load<f32>(at) + load<f32>(g + (<usize>c << 2)));
  }
}
