/**
 * Byte address of row 0 of slice s of an operand with `width` floats per row, stored [B, L, heads, width]
 * with s = b·heads + h: its rows are heads·width floats apart. heads = 1 is the plain [n, L, width]
 * layout (slice after slice); heads = H is the layout a projection produces before its heads are split off.
 */
// @ts-ignore: decorator
@inline export function sliceAddress(base: usize, s: i32, L: i32, heads: i32, width: i32): usize {
  return base + (<usize>(s / heads) * <usize>L * <usize>heads + <usize>(s % heads)) * <usize>width * 4;
}

/** Zeroes `rows` rows of `width` floats, `pitch` bytes apart, from `at`. */
export function zeroRows(at: usize, rows: i32, width: i32, pitch: usize): void {
  const bytes = <usize>width * 4;
  if (pitch == bytes) {
    memory.fill(at, 0, <usize>rows * bytes);
    return;
  }
  for (let r = 0; r < rows; r++) {
    memory.fill(at, 0, bytes);
    at += pitch;
  }
}
