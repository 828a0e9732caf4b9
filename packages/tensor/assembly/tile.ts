/** Bytes of scratch for one edge tile of accumulators (at most 8 rows × 24 columns of f32). */
export const TILE_SCRATCH_BYTES: usize = 8 * 24 * 4;

/**
 * Where edge tiles go: set by every entry point to a part of its `work` area. A global is per
 * instance, and with shared memory (threads) every thread has its own work area, so no two threads
 * ever share this scratch.
 */
export let tileScratch: usize = 0;

/** Points the edge-tile scratch at `at` (TILE_SCRATCH_BYTES, 16-byte aligned). */
export function setTileScratch(at: usize): void {
  tileScratch = at;
}

/** Writes (or adds) the top-left mr×nr corner of a tile stored row-major with `width` columns. */
export function storeTile(t: usize, width: i32, c: usize, ldc: usize, accumulate: bool, mr: i32, nr: i32): void {
  for (let r = 0; r < mr; r++) {
    const src = t + <usize>(r * width) * 4;
    const dst = c + <usize>r * ldc;
    if (accumulate) {
      for (let j = 0; j < nr; j++) store<f32>(dst + (<usize>j << 2), load<f32>(dst + (<usize>j << 2)) + load<f32>(src + (<usize>j << 2)));
    } else {
      for (let j = 0; j < nr; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
    }
  }
}

/** c + a·b, fused where the relaxed-SIMD build allows it. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
