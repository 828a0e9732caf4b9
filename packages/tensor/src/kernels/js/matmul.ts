import type { MatmulKernel } from '../matmul';

/**
 * Plain TypeScript kernel: 4×4 register blocks of out, each a sum over p of 4 values of op(A) times 4 of
 * op(B) (16 products per 8 loads), accumulated in float64 from the bias (or 0) and written once. The
 * transposes only change the strides the blocks read with, so all four cases share one loop.
 */
export const matmulKernelJs: MatmulKernel = (a, aOffset, b, bOffset, out, outOffset, m, n, k, transposeA, transposeB, bias) => {
  const aRow = transposeA ? 1 : k; // step between rows i of op(A)
  const aStep = transposeA ? m : 1; // step along p in op(A)
  const bStep = transposeB ? 1 : n; // step along p in op(B)
  const bCol = transposeB ? k : 1; // step between columns j of op(B)
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m; i += 4) {
    const rows = Math.min(4, m - i);
    const a0 = aOffset + i * aRow;
    for (let j = 0; j < n; j += 4) {
      const b0 = bOffset + j * bCol;
      if (i < m4 && j < n4) {
        const [a1, a2, a3] = [a0 + aRow, a0 + 2 * aRow, a0 + 3 * aRow];
        const [b1, b2, b3] = [b0 + bCol, b0 + 2 * bCol, b0 + 3 * bCol];
        const z0 = bias ? bias[j]! : 0;
        const z1 = bias ? bias[j + 1]! : 0;
        const z2 = bias ? bias[j + 2]! : 0;
        const z3 = bias ? bias[j + 3]! : 0;
        let c00 = z0,
          c01 = z1,
          c02 = z2,
          c03 = z3,
          c10 = z0,
          c11 = z1,
          c12 = z2,
          c13 = z3;
        let c20 = z0,
          c21 = z1,
          c22 = z2,
          c23 = z3,
          c30 = z0,
          c31 = z1,
          c32 = z2,
          c33 = z3;
        for (let p = 0, pa = 0, pb = 0; p < k; p++, pa += aStep, pb += bStep) {
          const x0 = a[a0 + pa]!,
            x1 = a[a1 + pa]!,
            x2 = a[a2 + pa]!,
            x3 = a[a3 + pa]!;
          const y0 = b[b0 + pb]!,
            y1 = b[b1 + pb]!,
            y2 = b[b2 + pb]!,
            y3 = b[b3 + pb]!;
          c00 += x0 * y0;
          c01 += x0 * y1;
          c02 += x0 * y2;
          c03 += x0 * y3;
          c10 += x1 * y0;
          c11 += x1 * y1;
          c12 += x1 * y2;
          c13 += x1 * y3;
          c20 += x2 * y0;
          c21 += x2 * y1;
          c22 += x2 * y2;
          c23 += x2 * y3;
          c30 += x3 * y0;
          c31 += x3 * y1;
          c32 += x3 * y2;
          c33 += x3 * y3;
        }
        const o = outOffset + i * n + j;
        out[o] = c00;
        out[o + 1] = c01;
        out[o + 2] = c02;
        out[o + 3] = c03;
        out[o + n] = c10;
        out[o + n + 1] = c11;
        out[o + n + 2] = c12;
        out[o + n + 3] = c13;
        out[o + 2 * n] = c20;
        out[o + 2 * n + 1] = c21;
        out[o + 2 * n + 2] = c22;
        out[o + 2 * n + 3] = c23;
        out[o + 3 * n] = c30;
        out[o + 3 * n + 1] = c31;
        out[o + 3 * n + 2] = c32;
        out[o + 3 * n + 3] = c33;
        continue;
      }
      // Edge block (rows or columns left over): one dot product per element.
      const cols = Math.min(4, n - j);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          let s = bias ? bias[j + c]! : 0;
          const ar = a0 + r * aRow;
          const bc = b0 + c * bCol;
          for (let p = 0; p < k; p++) s += a[ar + p * aStep]! * b[bc + p * bStep]!;
          out[outOffset + (i + r) * n + j + c] = s;
        }
      }
    }
  }
};
