/**
 * The matrix-product kernel seam: out[m, n] = op(A) · op(B), where op(A) is A [m, k] or, with
 * `transposeA`, A stored as [k, m] (likewise B: [k, n] or stored [n, k]). Operands are read at
 * offsets into their arrays; nothing is transposed or copied. `out` is overwritten.
 */
export type MatmulKernel = (
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  out: Float32Array,
  outOffset: number,
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
) => void;

/** Plain TypeScript kernel: loop orders chosen so the innermost loop walks memory contiguously. */
export const matmulKernelJs: MatmulKernel = (a, aOffset, b, bOffset, out, outOffset, m, n, k, transposeA, transposeB) => {
  if (!transposeB) {
    // B is [k, n]: i-p-j order, rows of out accumulated in float64.
    const acc = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const aip = transposeA ? a[aOffset + p * m + i]! : a[aOffset + i * k + p]!;
        const bRow = bOffset + p * n;
        for (let j = 0; j < n; j++) acc[j]! += aip * b[bRow + j]!;
      }
      const oRow = outOffset + i * n;
      for (let j = 0; j < n; j++) out[oRow + j] = acc[j]!;
    }
    return;
  }
  if (!transposeA) {
    // A [m, k] times B stored [n, k]: dot products of two contiguous rows, four columns at a time.
    for (let i = 0; i < m; i++) {
      const aRow = aOffset + i * k;
      const oRow = outOffset + i * n;
      let j = 0;
      for (; j + 3 < n; j += 4) {
        const b0 = bOffset + j * k;
        const b1 = b0 + k;
        const b2 = b1 + k;
        const b3 = b2 + k;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let p = 0; p < k; p++) {
          const x = a[aRow + p]!;
          s0 += x * b[b0 + p]!;
          s1 += x * b[b1 + p]!;
          s2 += x * b[b2 + p]!;
          s3 += x * b[b3 + p]!;
        }
        out[oRow + j] = s0;
        out[oRow + j + 1] = s1;
        out[oRow + j + 2] = s2;
        out[oRow + j + 3] = s3;
      }
      for (; j < n; j++) {
        const bRow = bOffset + j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[aRow + p]! * b[bRow + p]!;
        out[oRow + j] = s;
      }
    }
    return;
  }
  // Both transposed (rare): A stored [k, m], B stored [n, k].
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[aOffset + p * m + i]! * b[bOffset + j * k + p]!;
      out[outOffset + i * n + j] = s;
    }
  }
};
