import { kernel4x8, kernel4x8Rows, kernel6x8, kernel6x8Rows } from './microkernels';
import { pack, packSplat } from './pack';
import { setTileScratch, TILE_SCRATCH_BYTES } from './tile';

/** Micro-tile rows: 6 with fused multiply-add (relaxed SIMD), else 4 (no spills with 16 xmm registers). */
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;
/** Micro-tile columns (two f32x4 vectors). */
export const NR: i32 = 8;
/** Depth of one packed block: a B panel (KC·NR floats, 8 KB) stays in L1 across a row of tiles. */
export const KC: i32 = 256;
/** Width of one packed B block: KC·NC floats ≤ 1 MB stays in L2 while every row panel of A passes. */
export const NC: i32 = 1024;

/**
 * One micro-tile: C[mr×nr] (+)= bias + A·B over kc steps (A pre-splatted panel, B packed panel; bias:
 * NR floats added to every row, read whole even for an edge tile, or 0 for none).
 */
// @ts-ignore: decorator
@inline export function microKernel(a: usize, b: usize, kc: i32, c: usize, ldc: usize, accumulate: bool, mr: i32, nr: i32, bias: usize = 0): void {
  if (ASC_FEATURE_RELAXED_SIMD) kernel6x8(a, b, kc, c, ldc, accumulate, mr, nr, bias);
  else kernel4x8(a, b, kc, c, ldc, accumulate, mr, nr, bias);
}

/**
 * `microKernel` with A as MR plain rows of ROW_FLOATS floats (row r at a + r·ROW_FLOATS·4, step p at + 4p),
 * each element broadcast as it is read: for an A written just before the product (the attention kernels' P).
 */
// @ts-ignore: decorator
@inline export function microKernelRows(a: usize, b: usize, kc: i32, c: usize, ldc: usize, accumulate: bool, mr: i32, nr: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) kernel6x8Rows(a, b, kc, c, ldc, accumulate, mr, nr, 0);
  else kernel4x8Rows(a, b, kc, c, ldc, accumulate, mr, nr, 0);
}

/** Floats per A row of `microKernelRows` (fixed: the row offsets are immediates of its loads). */
export const ROW_FLOATS: i32 = 256;

/** Bytes of scratch `matmul` needs at `work`. */
export function matmulWorkBytes(): usize {
  return <usize>(KC * NC) * 4 + <usize>(KC * MR) * 16 + TILE_SCRATCH_BYTES;
}

/**
 * out[m, n] = op(A)·op(B) (+ bias), all in this module's memory (byte addresses). A is [m, k] row-major
 * or, with transA, stored [k, m]; B is [k, n] or, with transB, stored [n, k]; bias [n] is added to
 * every row in the epilogue (the first k block's sums start from it), or 0 for none. The bias is read
 * NR floats at a time: the 28 bytes after it must be memory (any values). `work` holds
 * `matmulWorkBytes()`: the packed B block, one pre-splatted A panel, the edge-tile scratch.
 * Loops (BLIS order): n blocks of NC → k blocks of KC (pack B) → row panels of MR (pack A) → tiles.
 */
export function matmul(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool, bias: usize, work: usize): void {
  matmulRows(a, b, c, m, n, k, transA, transB, bias, work, 0, m);
}

/**
 * Rows [rowStart, rowEnd) of `matmul`'s product (rowStart a multiple of MR): the share of one thread.
 * Threads with disjoint row ranges and their own `work` may run at once on shared memory.
 */
export function matmulRows(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  transA: bool,
  transB: bool,
  bias: usize,
  work: usize,
  rowStart: i32,
  rowEnd: i32,
): void {
  if (rowEnd <= rowStart || n <= 0) return;
  if (k <= 0) {
    const rowBytes = <usize>n * 4;
    for (let i = rowStart; i < rowEnd; i++) {
      const row = c + <usize>i * rowBytes;
      if (bias != 0) memory.copy(row, bias, rowBytes);
      else memory.fill(row, 0, rowBytes);
    }
    return;
  }
  const ldc = <usize>n * 4;
  const packedA = work + <usize>(KC * NC) * 4;
  setTileScratch(packedA + <usize>(KC * MR) * 16);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      pack(b, transB ? k : n, transB, jc, pc, nc, kc, NR, work);
      const panelBytes = <usize>(kc * NR) * 4;
      for (let i0 = rowStart; i0 < rowEnd; i0 += MR) {
        const mr = min(MR, rowEnd - i0);
        packSplat(a, transA ? m : k, !transA, i0, pc, mr, kc, MR, 1, packedA);
        let cTile = c + (<usize>i0 * <usize>n + <usize>jc) * 4;
        let panel = work;
        for (let j0 = 0; j0 < nc; j0 += NR) {
          microKernel(packedA, panel, kc, cTile, ldc, pc > 0, mr, min(NR, nc - j0), pc == 0 && bias != 0 ? bias + (<usize>(jc + j0) << 2) : 0);
          panel += panelBytes;
          cTile += <usize>NR * 4;
        }
      }
    }
  }
}

/** First 64-byte-aligned byte past the module's static data: callers lay out operands from here. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~63;
}

/** Rows of the micro-tile (MR): thread shares of `matmulRows` start at multiples of it. */
export function tileRows(): i32 {
  return MR;
}
