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
