// Vectorized e^x for f32x4 (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-7
// polynomial (1 + r + r²·p(r), p of degree 5), 2^n built in the exponent bits. Only operations that
// map to one or two x86/ARM instructions: pseudo-min/max instead of min/max (which carry NaN and ±0
// fix-ups), and n rounded and converted with the 1.5·2²³ "magic number" instead of nearest and
// trunc_sat (a long sequence on x86).

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

/** e^x lane-wise for x ≤ 0 (softmax weights): as expF32x4 there, in fewer instructions. */
// @ts-ignore: decorator
@inline export function expNonPositiveF32x4(x: v128): v128 {
  const y = expCore(f32x4.pmax(x, f32x4.splat(EXP_LO)), false);
  return v128.andnot(y, f32x4.lt(x, f32x4.splat(EXP_LO)));
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
