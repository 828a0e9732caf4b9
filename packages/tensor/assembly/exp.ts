// Vectorized e^x for f32x4 (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-7
// polynomial (1 + r + r²·p(r), p of degree 5), 2^n built in the exponent bits. Only operations that
// map to one or two x86/ARM instructions: pseudo-min/max instead of min/max (which carry NaN and ±0
// fix-ups), and n rounded and converted with the 1.5·2²³ "magic number" instead of nearest and
// trunc_sat (a long sequence on x86).
import { madd } from './tile';

const LOG2E: f32 = 1.44269504088896341;
/** ln2 split in two: LN2_HI has few mantissa bits so n·LN2_HI is exact. */
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
/** Above this e^x overflows float32. */
const EXP_HI: f32 = 88.72283935546875;
/** Below this e^x is under the smallest normal float32: flushed to 0 (so is −∞). */
const EXP_LO: f32 = -87.33654022216797;
/** 1.5·2²³: adding it rounds |y| < 2²² to an integer, left in the low mantissa bits. */
const MAGIC: f32 = 12582912.0;

/**
 * e^xc for xc in [EXP_LO, EXP_HI] (NaN in gives NaN out). With `split`, 2^n is built as 2^(n−1)·2 in
 * lanes with n > 0, so the exponent field does not overflow at n = 128 (x close to EXP_HI).
 */
// @ts-ignore: decorator
@inline function expCore(xc: v128, split: bool): v128 {
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(MAGIC));
  const n = f32x4.sub(t, f32x4.splat(MAGIC)); // round(xc·log2 e)
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const er = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1)); // e^r
  // The low 9 bits of t's pattern are n (two's complement): shifted into the exponent field, + bias.
  if (!split) return f32x4.mul(er, i32x4.add(i32x4.shl(t, 23), i32x4.splat(127 << 23)));
  const positive = f32x4.gt(n, f32x4.splat(0));
  const scale = i32x4.add(i32x4.shl(i32x4.sub(t, v128.and(positive, i32x4.splat(1))), 23), i32x4.splat(127 << 23));
  return f32x4.mul(f32x4.mul(er, scale), v128.bitselect(f32x4.splat(2), f32x4.splat(1), positive));
}

/** e^x lane-wise: relative error ≤ 1.2e-7 where e^x is a normal float32; −∞ and x < −87.34 → 0, x > 88.72 → +∞, NaN → NaN. */
// @ts-ignore: decorator
@inline export function expF32x4(x: v128): v128 {
  const xc = f32x4.pmax(f32x4.pmin(x, f32x4.splat(EXP_HI)), f32x4.splat(EXP_LO)); // NaN stays NaN
  let y = expCore(xc, true);
  y = v128.bitselect(f32x4.splat(Infinity), y, f32x4.gt(x, f32x4.splat(EXP_HI)));
  return v128.andnot(y, f32x4.lt(x, f32x4.splat(EXP_LO)));
}

/** 1.5·2²³ + 127: adding it rounds |y| < 2²² to an integer and leaves n + 127 (the biased exponent of 2^n) in the low bits. */
const MAGIC_BIASED: f32 = 12583039.0;
/** Below this, n = round(x·log2 e) = −127: 2^n has exponent field 0 and the result is exactly 0. */
const EXP_FLUSH: f32 = -88.0;

/** Softmax weights below e^this (2^−100) are flushed to 0 (see softmaxWeightF32x4). */
const WEIGHT_FLUSH: f32 = -69.31471824645996;

/**
 * The constants of expNonPositiveF32x4, each in four lanes, in memory: inside a busy loop V8 rebuilds a
 * v128 constant at every use (three instructions: a move to a general register, to a vector register, a
 * shuffle), where a value loaded from memory costs one load.
 */
const EXP_TABLE: usize = memory.data<f32>(
  [
    EXP_FLUSH, EXP_FLUSH, EXP_FLUSH, EXP_FLUSH,
    LOG2E, LOG2E, LOG2E, LOG2E,
    MAGIC_BIASED, MAGIC_BIASED, MAGIC_BIASED, MAGIC_BIASED,
    -LN2_HI, -LN2_HI, -LN2_HI, -LN2_HI,
    -LN2_LO, -LN2_LO, -LN2_LO, -LN2_LO,
    // e^r = 1 + r·(1 + r·P(r)): P's coefficients from r⁴ down, a minimax fit of relative error 3.5e-9 on |r| ≤ 0.354
    1.3811627869e-3, 1.3811627869e-3, 1.3811627869e-3, 1.3811627869e-3,
    8.3701349795e-3, 8.3701349795e-3, 8.3701349795e-3, 8.3701349795e-3,
    4.1668530554e-2, 4.1668530554e-2, 4.1668530554e-2, 4.1668530554e-2,
    1.6666509211e-1, 1.6666509211e-1, 1.6666509211e-1, 1.6666509211e-1,
    4.9999994040e-1, 4.9999994040e-1, 4.9999994040e-1, 4.9999994040e-1,
    1, 1, 1, 1,
    WEIGHT_FLUSH, WEIGHT_FLUSH, WEIGHT_FLUSH, WEIGHT_FLUSH,
  ],
  16,
);

/** Row i of EXP_TABLE. */
// @ts-ignore: decorator
@inline function expConstant(i: i32): v128 {
  return v128.load(EXP_TABLE + <usize>(i << 4));
}

/**
 * e^x lane-wise for x ≤ 0 (softmax weights, the hot loop of the attention kernels): relative error
 * ≤ 1.2e-7 where e^x is a normal float32; x < −87.68 and −∞ → 0; NaN → NaN; 0 → 1 exactly.
 * Fewer operations than expF32x4: the clamp to [−88, 0] does the flushing (n = −127 builds 2^n = 0),
 * the exponent bias rides in the rounding constant, e^r is one Horner chain of degree 6 and every step
 * is a multiply-add (fused in the relaxed-SIMD build).
 */
// @ts-ignore: decorator
@inline export function expNonPositiveF32x4(x: v128): v128 {
  const xc = f32x4.pmax(x, expConstant(0)); // NaN stays NaN
  const magic = expConstant(2);
  const t = madd(xc, expConstant(1), magic);
  const n = f32x4.sub(t, magic); // round(xc·log2 e) ∈ [−127, 0]
  let r = madd(n, expConstant(3), xc); // exact: n·LN2_HI has few bits
  r = madd(n, expConstant(4), r); // |r| ≤ ln2/2 (a little more where the rounding is not nearest)
  let p = madd(expConstant(5), r, expConstant(6));
  p = madd(p, r, expConstant(7));
  p = madd(p, r, expConstant(8));
  p = madd(p, r, expConstant(9));
  const one = expConstant(10);
  p = madd(p, r, one);
  p = madd(p, r, one);
  return f32x4.mul(p, i32x4.shl(t, 23)); // ·2^n: the low 9 bits of t are n + 127 (0 → the float 0)
}

/**
 * A softmax weight e^(s − m) for s − m ≤ 0 in the fused attention kernels: expNonPositiveF32x4, with weights under
 * 2^−100 (x < −69.3) flushed to 0. Such a weight is below 2^−100 of the row's largest (which is 1), far under
 * float32's resolution of the row's sum, but it times a value can be a subnormal float32, and x86 multiplies and
 * adds subnormals through a microcode assist (~100 cycles an instruction): peaked rows (ALiBi's far keys, large
 * scores) ran the P·V product up to 20 % slower. The flush keeps every product of P normal or 0.
 */
// @ts-ignore: decorator
@inline export function softmaxWeightF32x4(x: v128): v128 {
  return v128.and(expNonPositiveF32x4(x), f32x4.ge(x, expConstant(11)));
}

/** data[i] = e^data[i] for i < len (any alignment and length). */
export function expInPlace(data: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const at = data + (<usize>i << 2);
    v128.store(at, expF32x4(v128.load(at)));
  }
  for (; i < len; i++) {
    const at = data + (<usize>i << 2);
    store<f32>(at, f32x4.extract_lane(expF32x4(f32x4.splat(load<f32>(at))), 0));
  }
}

/** data[i] = e^data[i] for i < len through expNonPositiveF32x4 (the softmax weights' exp; x ≤ 0), any alignment and length. */
export function expNonPositiveInPlace(data: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const at = data + (<usize>i << 2);
    v128.store(at, expNonPositiveF32x4(v128.load(at)));
  }
  for (; i < len; i++) {
    const at = data + (<usize>i << 2);
    store<f32>(at, f32x4.extract_lane(expNonPositiveF32x4(f32x4.splat(load<f32>(at))), 0));
  }
}
